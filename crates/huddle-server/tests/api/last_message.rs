//! Rocket.Chat's room `lastMessage` on the REST and DDP room answers: the newest message as it
//! is now (edits, reactions), the one before it once it is deleted, none in an empty room.

use serde_json::{json, Value};

use crate::ddp::Ddp;
use crate::helpers::{Session, TestApp};

async fn post(app: &TestApp, who: &Session, rid: &str, text: &str) -> String {
    let v = app
        .ok(
            who,
            "chat.postMessage",
            json!({"roomId": rid, "text": text}),
        )
        .await;
    v["message"]["_id"].as_str().expect("id").to_string()
}

/// The room of `rid` in a list answer.
fn find<'a>(list: &'a Value, rid: &str) -> &'a Value {
    list.as_array()
        .expect("list")
        .iter()
        .find(|r| r["_id"] == json!(rid))
        .unwrap_or_else(|| panic!("{rid} in {list}"))
}

#[tokio::test]
async fn rooms_carry_their_newest_message() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let (cid, _) = app.room(&alice, "c", &[]).await;
    // Nothing posted yet in the channel: no lastMessage.
    let info = app
        .get_ok(&alice, "channels.info", &[("roomId", &cid)])
        .await;
    assert!(info["channel"].get("lastMessage").is_none(), "{info}");

    post(&app, &alice, &rid, "first").await;
    let second = post(&app, &bob, &rid, "second").await;
    let info = app.get_ok(&alice, "groups.info", &[("roomId", &rid)]).await;
    let last = &info["group"]["lastMessage"];
    assert_eq!(last["_id"], json!(second), "{info}");
    assert_eq!(last["msg"], "second");
    assert_eq!(last["u"]["username"], json!(bob.username));
    assert_eq!(
        last["u"]["name"],
        json!(bob.username),
        "u carries name: {last}"
    );
    assert_eq!(last["ts"], info["group"]["lm"], "{info}");

    // Edits and reactions show: it is the message as it is now.
    app.ok(
        &bob,
        "chat.update",
        json!({"roomId": rid, "msgId": second, "text": "second, edited"}),
    )
    .await;
    app.ok(
        &alice,
        "chat.react",
        json!({"messageId": second, "emoji": "tada"}),
    )
    .await;
    let room = app.room_info(&alice, &rid).await;
    assert_eq!(room["lastMessage"]["msg"], "second, edited", "{room}");
    assert!(
        room["lastMessage"]["reactions"][":tada:"].is_object(),
        "{room}"
    );

    // Every list that shows the room shows it too.
    for (path, key) in [("groups.list", "groups"), ("rooms.get", "update")] {
        let v = app.get_ok(&alice, path, &[]).await;
        assert_eq!(
            find(&v[key], &rid)["lastMessage"]["_id"],
            json!(second),
            "{path}: {v}"
        );
    }
    post(&app, &alice, &cid, "in the channel").await;
    for (path, key) in [
        ("channels.list", "channels"),
        ("channels.list.joined", "channels"),
    ] {
        let v = app.get_ok(&alice, path, &[]).await;
        assert_eq!(
            find(&v[key], &cid)["lastMessage"]["msg"],
            "in the channel",
            "{path}: {v}"
        );
    }
    let dm = app
        .ok(&alice, "im.create", json!({"username": bob.username}))
        .await["room"]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    post(&app, &bob, &dm, "psst").await;
    let ims = app.get_ok(&alice, "im.list", &[]).await;
    assert_eq!(find(&ims["ims"], &dm)["lastMessage"]["msg"], "psst");

    // A reply shown only in its thread is not the room's last message; one also shown in the
    // room is.
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "thread only", "tmid": second}),
    )
    .await;
    assert_eq!(
        app.room_info(&bob, &rid).await["lastMessage"]["_id"],
        json!(second)
    );
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "shown too", "tmid": second, "tshow": true}),
    )
    .await;
    assert_eq!(
        app.room_info(&bob, &rid).await["lastMessage"]["msg"],
        "shown too"
    );
    let shown = app.room_info(&bob, &rid).await["lastMessage"]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        &alice,
        "chat.delete",
        json!({"roomId": rid, "msgId": shown}),
    )
    .await;
    // Deleting the newest makes the one before it that shows in the room the last (the
    // thread-only reply is skipped).
    app.ok(&bob, "chat.delete", json!({"roomId": rid, "msgId": second}))
        .await;
    let room = app.room_info(&bob, &rid).await;
    assert_eq!(room["lastMessage"]["msg"], "first", "{room}");

    // DDP rooms/get: the same, with EJSON dates.
    let mut d = Ddp::resume(&app, &alice).await;
    let rooms = d.ok("rooms/get", json!([])).await;
    let r = find(&rooms, &rid);
    assert_eq!(r["lastMessage"]["msg"], "first", "{r}");
    assert!(r["lastMessage"]["ts"]["$date"].is_i64(), "{r}");
}
