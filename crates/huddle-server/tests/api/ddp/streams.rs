//! Each stream: what it carries, with which arguments, and who may read it.

use serde_json::json;

use super::{message_text, Ddp};
use crate::helpers::TestApp;

#[tokio::test]
async fn room_stream_sends_added_before_ready_and_ejson_messages() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (rid, _) = app.room(&alice, "c", &[]).await;
    let mut d = Ddp::resume(&app, &alice).await;
    let frames = d.sub("stream-room-messages", json!([rid, true])).await;
    assert_eq!(
        frames[0],
        json!({"msg": "added", "collection": "stream-room-messages", "id": "id",
               "fields": {"eventName": rid}})
    );
    assert_eq!(frames[1]["msg"], "ready");
    // Without the compatibility flag there is no stream document.
    let frames = d
        .sub(
            "stream-room-messages",
            json!([rid, {"useCollection": false, "args": []}]),
        )
        .await;
    assert_eq!(frames.len(), 1);
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "hi"}),
    )
    .await;
    let v = d.event(&rid).await;
    assert_eq!(v["collection"], "stream-room-messages");
    assert_eq!(v["id"], "id");
    let m = &v["fields"]["args"][0];
    assert_eq!(m["msg"], "hi");
    assert!(
        m["ts"]["$date"].is_i64() && m["_updatedAt"]["$date"].is_i64(),
        "{m}"
    );
    // Two subscriptions on one room stream still hear each event once.
    d.assert_none("a second copy", |v| message_text(v, "hi"))
        .await;
}

#[tokio::test]
async fn my_messages_carries_meta_and_reaches_public_readers() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (cid, cname) = app.room(&alice, "c", &[]).await;
    let (gid, _) = app.room(&alice, "p", &[]).await;
    let mut a = Ddp::resume(&app, &alice).await;
    let mut b = Ddp::resume(&app, &bob).await;
    let frames = a
        .sub("stream-room-messages", json!(["__my_messages__", true]))
        .await;
    assert_eq!(frames[0]["fields"]["eventName"], "__my_messages__");
    b.sub_ready("stream-room-messages", "__my_messages__").await;
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": cid, "text": "public"}),
    )
    .await;
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": gid, "text": "secret"}),
    )
    .await;
    let v = a.next_where(|v| message_text(v, "public")).await;
    assert_eq!(v["fields"]["eventName"], "__my_messages__");
    assert_eq!(
        v["fields"]["args"][1],
        json!({"roomParticipant": true, "roomType": "c", "roomName": cname})
    );
    let v = a.next_where(|v| message_text(v, "secret")).await;
    assert_eq!(v["fields"]["args"][1]["roomType"], "p");
    // Bob is no member: he reads the public channel as a non-participant, never the group.
    let v = b.next_where(|v| message_text(v, "public")).await;
    assert_eq!(v["fields"]["args"][1]["roomParticipant"], false);
    b.assert_none("private message", |v| message_text(v, "secret"))
        .await;
}

#[tokio::test]
async fn notify_user_streams() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (gid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let mut b = Ddp::resume(&app, &bob).await;
    let uid = bob.user_id.clone();
    for ev in [
        "subscriptions-changed",
        "rooms-changed",
        "message",
        "notification",
        "otr",
    ] {
        b.sub_ready("stream-notify-user", &format!("{uid}/{ev}"))
            .await;
    }
    // Someone else's events are not readable.
    let frames = b
        .sub(
            "stream-notify-user",
            json!([format!("{}/message", alice.user_id), false]),
        )
        .await;
    assert_eq!(frames[0]["msg"], "nosub");
    assert_eq!(frames[0]["error"]["error"], "not-allowed");

    // rooms-changed: a topic change reaches members.
    app.ok(
        &alice,
        "groups.setTopic",
        json!({"roomId": gid, "topic": "news"}),
    )
    .await;
    let v = b.event(&format!("{uid}/rooms-changed")).await;
    assert_eq!(v["collection"], "stream-notify-user");
    assert_eq!(v["fields"]["args"][0], "updated");
    assert_eq!(v["fields"]["args"][1]["topic"], "news");
    assert!(v["fields"]["args"][1]["_updatedAt"]["$date"].is_i64());

    // subscriptions-changed: reading the room updates the membership.
    let mut bob_ddp_calls = Ddp::resume(&app, &bob).await;
    bob_ddp_calls.ok("readMessages", json!([gid])).await;
    let v = b.event(&format!("{uid}/subscriptions-changed")).await;
    assert_eq!(v["fields"]["args"][0], "updated");
    assert_eq!(v["fields"]["args"][1]["rid"], json!(gid));
    assert_eq!(v["fields"]["args"][1]["unread"], 0);

    // message: inviting someone already there tells the inviter, ephemerally.
    let mut a = Ddp::resume(&app, &alice).await;
    a.sub_ready("stream-notify-user", &format!("{}/message", alice.user_id))
        .await;
    a.ok(
        "addUsersToRoom",
        json!([{"rid": gid, "users": [bob.username]}]),
    )
    .await;
    let v = a.event(&format!("{}/message", alice.user_id)).await;
    let m = &v["fields"]["args"][0];
    assert_eq!(m["msg"], format!("`@{}` is already in here.", bob.username));
    assert_eq!(m["u"]["username"], "rocket.cat");
    assert_eq!(m["private"], true);

    // notification: a direct message to bob, and a mention of bob.
    let dm = a.ok("createDirectMessage", json!([bob.username])).await;
    let dm_rid = dm["rid"].as_str().unwrap().to_string();
    a.ok("sendMessage", json!([{"rid": dm_rid, "msg": "psst"}]))
        .await;
    let v = b.event(&format!("{uid}/notification")).await;
    let n = &v["fields"]["args"][0];
    assert_eq!(n["text"], "psst");
    assert_eq!(n["payload"]["rid"], json!(dm_rid));
    assert_eq!(n["payload"]["type"], "d");
    assert_eq!(n["payload"]["sender"]["_id"], json!(alice.user_id));
    a.ok(
        "sendMessage",
        json!([{"rid": gid, "msg": format!("hey @{}", bob.username)}]),
    )
    .await;
    let v = b.event(&format!("{uid}/notification")).await;
    assert_eq!(v["fields"]["args"][0]["payload"]["rid"], json!(gid));
    // The sender is not notified of their own message.
    let mut a2 = Ddp::resume(&app, &alice).await;
    a2.sub_ready(
        "stream-notify-user",
        &format!("{}/notification", alice.user_id),
    )
    .await;
    a.ok("sendMessage", json!([{"rid": dm_rid, "msg": "again"}]))
        .await;
    a2.assert_none("self notification", |v| {
        v["fields"]["eventName"] == json!(format!("{}/notification", alice.user_id))
    })
    .await;
}

#[tokio::test]
async fn notify_room_deletions_and_typing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (gid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let mut a = Ddp::resume(&app, &alice).await;
    let mut b = Ddp::resume(&app, &bob).await;
    b.sub_ready("stream-notify-room", &format!("{gid}/deleteMessage"))
        .await;
    b.sub_ready("stream-notify-room", &format!("{gid}/user-activity"))
        .await;
    a.sub_ready("stream-notify-room", &format!("{gid}/user-activity"))
        .await;
    let m = a
        .ok("sendMessage", json!([{"rid": gid, "msg": "oops"}]))
        .await;
    let mid = m["_id"].as_str().unwrap().to_string();
    app.ok(&alice, "chat.delete", json!({"roomId": gid, "msgId": mid}))
        .await;
    let v = b.event(&format!("{gid}/deleteMessage")).await;
    assert_eq!(v["collection"], "stream-notify-room");
    assert_eq!(v["fields"]["args"], json!([{"_id": mid}]));

    a.ok(
        "stream-notify-room",
        json!([
            format!("{gid}/user-activity"),
            alice.username,
            ["user-typing"],
            {}
        ]),
    )
    .await;
    let v = b.event(&format!("{gid}/user-activity")).await;
    assert_eq!(
        v["fields"]["args"],
        json!([alice.username, ["user-typing"]])
    );
    // Not echoed to the connection it came from.
    a.assert_none("own typing echo", |v| {
        v["fields"]["eventName"] == json!(format!("{gid}/user-activity"))
    })
    .await;
    // Typing as someone else, or on another event, is refused.
    let e = a
        .err(
            "stream-notify-room",
            json!([
                format!("{gid}/user-activity"),
                bob.username,
                ["user-typing"],
                {}
            ]),
        )
        .await;
    assert_eq!(e["error"], "not-allowed");
    // A stranger cannot read the room's notifications.
    let carol = app.user("carol").await;
    let mut c = Ddp::resume(&app, &carol).await;
    let frames = c
        .sub(
            "stream-notify-room",
            json!([format!("{gid}/deleteMessage"), false]),
        )
        .await;
    assert_eq!(frames[0]["msg"], "nosub");
    assert_eq!(frames[0]["error"]["error"], "not-allowed");
}

#[tokio::test]
async fn notify_logged_user_status() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut b = Ddp::resume(&app, &bob).await;
    b.sub_ready("stream-notify-logged", "user-status").await;
    let mut a = Ddp::resume(&app, &alice).await;
    a.ok("UserPresence:setDefaultStatus", json!(["busy"])).await;
    let v = b
        .next_where(|v| {
            v["fields"]["eventName"] == "user-status"
                && v["fields"]["args"][0][0] == json!(alice.user_id)
                && v["fields"]["args"][0][2] == 3
        })
        .await;
    assert_eq!(v["collection"], "stream-notify-logged");
    assert_eq!(v["fields"]["args"][0][1], json!(alice.username));
}

#[tokio::test]
async fn invite_and_kick_produce_the_reference_frames_in_order() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let guest = app.user("invitee").await;
    let (gid, _) = app.room(&owner, "p", &[&member.username]).await;
    let uid = guest.user_id.clone();
    let mut inv = Ddp::resume(&app, &guest).await;
    inv.sub_ready("stream-room-messages", "__my_messages__")
        .await;
    inv.sub_ready(
        "stream-notify-user",
        &format!("{uid}/subscriptions-changed"),
    )
    .await;
    inv.sub_ready("stream-notify-user", &format!("{uid}/rooms-changed"))
        .await;
    let mut mem = Ddp::resume(&app, &member).await;
    mem.sub_ready("stream-room-messages", &gid).await;
    mem.sub_ready(
        "stream-notify-user",
        &format!("{}/rooms-changed", member.user_id),
    )
    .await;
    let mut own = Ddp::resume(&app, &owner).await;

    own.ok(
        "addUsersToRoom",
        json!([{"rid": gid, "users": [guest.username]}]),
    )
    .await;
    // Invitee: subscription inserted, room inserted, the `au` message (as participant), then
    // the room's update.
    let mut seen = vec![];
    while seen.len() < 4 {
        seen.push(inv.next_where(|v| v["msg"] == "changed").await);
    }
    assert_eq!(seen[0]["fields"]["args"][0], "inserted");
    let sub = &seen[0]["fields"]["args"][1];
    assert_eq!(
        (
            sub["rid"].clone(),
            sub["open"].clone(),
            sub["alert"].clone(),
            sub["unread"].clone()
        ),
        (json!(gid), json!(true), json!(true), json!(1))
    );
    assert_eq!(seen[1]["fields"]["args"][0], "inserted");
    assert_eq!(seen[1]["fields"]["args"][1]["_id"], json!(gid));
    let au = &seen[2]["fields"]["args"];
    assert_eq!(
        (au[0]["t"].clone(), au[0]["msg"].clone()),
        (json!("au"), json!(guest.username))
    );
    assert_eq!(au[0]["u"]["_id"], json!(owner.user_id), "u is the inviter");
    assert_eq!(au[1]["roomParticipant"], true);
    assert_eq!(seen[3]["fields"]["args"][0], "updated");
    // The frames came in exactly that order.
    let order: Vec<String> = seen
        .iter()
        .map(|v| v["fields"]["eventName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        order,
        vec![
            format!("{uid}/subscriptions-changed"),
            format!("{uid}/rooms-changed"),
            "__my_messages__".to_string(),
            format!("{uid}/rooms-changed"),
        ]
    );
    // Members: the `au` message, then the room's update.
    let v = mem.event(&gid).await;
    assert_eq!(v["fields"]["args"][0]["t"], "au");
    let v = mem
        .event(&format!("{}/rooms-changed", member.user_id))
        .await;
    assert_eq!(v["fields"]["args"][0], "updated");
    assert_eq!(v["fields"]["args"][1]["usersCount"], 3);

    // Kick: the invitee hears the removal and nothing more of the room, not even the `ru`.
    inv.sub_ready("stream-room-messages", &gid).await;
    inv.drain().await;
    own.ok(
        "removeUserFromRoom",
        json!([{"rid": gid, "username": guest.username}]),
    )
    .await;
    let v = inv.event(&format!("{uid}/subscriptions-changed")).await;
    assert_eq!(v["fields"]["args"][0], "removed");
    let removed = &v["fields"]["args"][1];
    assert_eq!(removed["rid"], json!(gid));
    assert_eq!(removed["u"]["_id"], json!(uid));
    assert_eq!(removed["t"], "p");
    assert_eq!(removed["_id"], sub["_id"]);
    let nosub = inv.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(
        nosub["error"]["error"], "not-allowed",
        "a frame says so: {nosub}"
    );
    inv.assert_none("room events after the kick", |v| {
        v["msg"] == "changed" && v["fields"]["args"][0]["rid"] == json!(gid)
    })
    .await;
    let v = mem.event(&gid).await;
    assert_eq!(
        (
            v["fields"]["args"][0]["t"].clone(),
            v["fields"]["args"][0]["msg"].clone()
        ),
        (json!("ru"), json!(guest.username))
    );
}
