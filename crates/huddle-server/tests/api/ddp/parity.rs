//! Realtime parity with Rocket.Chat: `rooms-changed` per message, removals reported to "since"
//! queries, `stream-user-presence`, and a chosen status kept across disconnects.

use serde_json::{json, Value};

use super::Ddp;
use crate::helpers::{Session, TestApp};

fn rooms_changed(v: &Value, uid: &str, rid: &str) -> bool {
    v["msg"] == "changed"
        && v["fields"]["eventName"] == json!(format!("{uid}/rooms-changed"))
        && v["fields"]["args"][1]["_id"] == json!(rid)
}

#[tokio::test]
async fn every_message_updates_the_members_room_lists() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let mut b = Ddp::resume(&app, &bob).await;
    let mut c = Ddp::resume(&app, &carol).await;
    b.sub_ready(
        "stream-notify-user",
        &format!("{}/rooms-changed", bob.user_id),
    )
    .await;
    c.sub_ready(
        "stream-notify-user",
        &format!("{}/rooms-changed", carol.user_id),
    )
    .await;
    for text in ["one", "two"] {
        app.ok(
            &alice,
            "chat.postMessage",
            json!({"roomId": rid, "text": text}),
        )
        .await;
    }
    let mut msgs = vec![];
    let mut last = vec![];
    for _ in 0..2 {
        let v = b.next_where(|v| rooms_changed(v, &bob.user_id, &rid)).await;
        assert_eq!(v["fields"]["args"][0], "updated");
        assert!(v["fields"]["args"][1]["lm"]["$date"].is_i64(), "{v}");
        msgs.push(v["fields"]["args"][1]["msgs"].as_i64().unwrap_or(0));
        // Rocket.Chat's room lists show the message that moved the room.
        let m = &v["fields"]["args"][1]["lastMessage"];
        assert_eq!(m["u"]["_id"], json!(alice.user_id), "{v}");
        assert!(m["ts"]["$date"].is_i64(), "{v}");
        last.push(m["msg"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(msgs, [1, 2], "one update per message, with the new count");
    assert_eq!(last, ["one", "two"]);
    // Not a member: nothing about the room.
    c.assert_none("a room the user is not in", |v| {
        rooms_changed(v, &carol.user_id, &rid)
    })
    .await;
}

/// `subscriptions/get` / `rooms/get` with a date, as a reconnecting client calls them.
async fn since(d: &mut Ddp, method: &str, ms: i64) -> Value {
    d.ok(method, json!([{ "$date": ms }])).await
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn since_queries_report_removed_memberships_and_deleted_rooms() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (kicked, _) = app.room(&alice, "p", &[&bob.username]).await;
    let (deleted, _) = app.room(&alice, "c", &[&bob.username]).await;
    let (kept, _) = app.room(&alice, "p", &[&bob.username]).await;
    let mut b = Ddp::resume(&app, &bob).await;
    let all = b.ok("subscriptions/get", json!([])).await;
    let sub_of = |rid: &str| -> String {
        all.as_array()
            .and_then(|a| a.iter().find(|s| s["rid"] == json!(rid)))
            .and_then(|s| s["_id"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    let (kicked_sub, deleted_sub) = (sub_of(&kicked), sub_of(&deleted));
    let before = b.ok("subscriptions/get", json!([])).await;
    assert_eq!(before.as_array().map(Vec::len), Some(3 + 1), "{before}"); // + GENERAL
                                                                          // The moment the client last synced.
    let t0 = chrono_now_ms() - 1;
    app.ok(
        &alice,
        "groups.kick",
        json!({"roomId": kicked, "userId": bob.user_id}),
    )
    .await;
    app.ok(&alice, "channels.delete", json!({"roomId": deleted}))
        .await;

    let subs = since(&mut b, "subscriptions/get", t0).await;
    let mut removed = ids(&subs["remove"], "_id");
    removed.sort();
    let mut want = vec![kicked_sub, deleted_sub];
    want.sort();
    assert_eq!(removed, want, "{subs}");
    assert!(subs["remove"][0]["_deletedAt"]["$date"].is_i64(), "{subs}");
    assert!(!ids(&subs["update"], "rid").contains(&kept));

    let rooms = since(&mut b, "rooms/get", t0).await;
    let mut removed = ids(&rooms["remove"], "_id");
    removed.sort();
    let mut want = vec![kicked.clone(), deleted.clone()];
    want.sort();
    assert_eq!(removed, want, "{rooms}");

    // A later date: nothing removed since.
    let later = chrono_now_ms() + 1;
    let subs = since(&mut b, "subscriptions/get", later).await;
    assert_eq!(subs["remove"], json!([]));
    // Invited back: the room is no removal any more (its new membership is an update).
    app.ok(
        &alice,
        "groups.invite",
        json!({"roomId": kicked, "userId": bob.user_id}),
    )
    .await;
    let rooms = since(&mut b, "rooms/get", t0).await;
    assert_eq!(
        ids(&rooms["remove"], "_id"),
        vec![deleted.clone()],
        "{rooms}"
    );
    assert!(ids(&rooms["update"], "_id").contains(&kicked), "{rooms}");
    // Someone else's removals are not reported to alice.
    let mut a = Ddp::resume(&app, &alice).await;
    let subs = since(&mut a, "subscriptions/get", t0).await;
    assert!(!ids(&subs["remove"], "_id").contains(&want[0]), "{subs}");
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The next `stream-user-presence` frame about `who`: `[username, status, statusText]`.
async fn presence_of(watcher: &mut Ddp, who: &Session) -> Value {
    let uid = json!(who.user_id);
    let v = watcher
        .next_where(|v| v["collection"] == "stream-user-presence" && v["id"] == uid)
        .await;
    assert_eq!(v["msg"], "changed");
    assert_eq!(v["fields"]["eventName"], uid);
    assert_eq!(v["fields"]["uid"], uid);
    assert_eq!(v["fields"]["args"][0][0], json!(who.username));
    v["fields"]["args"][0].clone()
}

#[tokio::test]
async fn user_presence_streams_the_watched_users_only() {
    let app = TestApp::spawn().await;
    let watcher = app.user("watcher").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let mut w = Ddp::resume(&app, &watcher).await;
    let first = w
        .sub(
            "stream-user-presence",
            json!(["", {"added": [bob.user_id], "removed": []}]),
        )
        .await;
    assert_eq!(first.last().map(|f| f["msg"].clone()), Some(json!("ready")));

    let b = Ddp::resume(&app, &bob).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 1);
    // Carol is not watched.
    app.ok(&carol, "users.setStatus", json!({"status": "away"}))
        .await;
    w.assert_none("an unwatched user", |v| {
        v["collection"] == "stream-user-presence" && v["id"] == json!(carol.user_id)
    })
    .await;
    // A later sub only adjusts the list, and ends at once (Rocket.Chat's Presence.ts).
    let later = w
        .sub(
            "stream-user-presence",
            json!(["", {"added": [carol.user_id], "removed": [bob.user_id]}]),
        )
        .await;
    assert_eq!(later.last().map(|f| f["msg"].clone()), Some(json!("nosub")));
    assert!(later.last().is_some_and(|f| f.get("error").is_none()));
    app.ok(&bob, "users.setStatus", json!({"status": "busy"}))
        .await;
    app.ok(&carol, "users.setStatus", json!({"status": "online"}))
        .await;
    assert_eq!(presence_of(&mut w, &carol).await[1], 1);
    w.assert_none("bob, no longer watched", |v| {
        v["collection"] == "stream-user-presence" && v["id"] == json!(bob.user_id)
    })
    .await;
    drop(b);

    // Not logged in: the subscription waits for a login (nothing delivered).
    let mut anon = Ddp::connect(&app).await;
    let frames = anon
        .sub(
            "stream-user-presence",
            json!(["", {"added": [carol.user_id]}]),
        )
        .await;
    assert_eq!(
        frames.last().map(|f| f["msg"].clone()),
        Some(json!("ready"))
    );
    app.ok(&carol, "users.setStatus", json!({"status": "busy"}))
        .await;
    anon.assert_none("an anonymous watcher", |v| {
        v["collection"] == "stream-user-presence"
    })
    .await;
}

async fn presence(app: &TestApp, who: &Session) -> Value {
    app.get_ok(who, "users.getPresence", &[("userId", &who.user_id)])
        .await["presence"]
        .clone()
}

#[tokio::test]
async fn a_chosen_status_survives_disconnects() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let watcher = app.user("watcher").await;
    let mut w = Ddp::resume(&app, &watcher).await;
    w.sub(
        "stream-user-presence",
        json!(["", {"added": [bob.user_id]}]),
    )
    .await;
    let b = Ddp::resume(&app, &bob).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 1);
    app.ok(
        &bob,
        "users.setStatus",
        json!({"status": "busy", "message": "in a meeting"}),
    )
    .await;
    assert_eq!(
        presence_of(&mut w, &bob).await,
        json!([bob.username, 3, "in a meeting"])
    );
    drop(b);
    assert_eq!(presence_of(&mut w, &bob).await[1], 0);
    assert_eq!(presence(&app, &bob).await, "offline");
    // Back: busy again, not online.
    let mut b = Ddp::resume(&app, &bob).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 3);
    assert_eq!(presence(&app, &bob).await, "busy");
    // Idle/back from the connection never overrides a chosen busy.
    b.ok("UserPresence:away", json!([])).await;
    assert_eq!(presence(&app, &bob).await, "busy");
    // setDefaultStatus online: then idle shows as away, and back as online.
    b.ok("UserPresence:setDefaultStatus", json!(["online"]))
        .await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 1);
    b.ok("UserPresence:away", json!([])).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 2);
    b.ok("UserPresence:online", json!([])).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 1);
    // Away by idleness is not a choice: the next connection comes back online.
    b.ok("UserPresence:away", json!([])).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 2);
    drop(b);
    assert_eq!(presence_of(&mut w, &bob).await[1], 0);
    let _b = Ddp::resume(&app, &bob).await;
    assert_eq!(presence_of(&mut w, &bob).await[1], 1);
}
