//! Unread state as Rocket.Chat shows it, pinned across posts, reads, joins mid-stream, kicks,
//! edits and deletions: `unread`, `alert`, `ls` and `_updatedAt` of `subscriptions.getOne`,
//! `subscriptions.get?updatedSince=`, `channels.counters`, DDP `subscriptions/get` with a date
//! and the `subscriptions-changed` / `rooms-changed` frames. These hold whatever the store
//! derives them from (a per-member row update on every post, or room counters and per-member
//! read positions).

use std::time::Duration;

use serde_json::{json, Value};

use crate::ddp::{message_text, Ddp};
use crate::helpers::{Session, TestApp};

/// The server's clock moves on between two steps whose times a test compares: timestamps are
/// milliseconds, and two requests can land in the same one.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

async fn sub(app: &TestApp, who: &Session, rid: &str) -> Value {
    app.get_ok(who, "subscriptions.getOne", &[("roomId", rid)])
        .await["subscription"]
        .clone()
}

fn state(s: &Value) -> (Value, Value) {
    (s["unread"].clone(), s["alert"].clone())
}

/// The rooms `subscriptions.get?updatedSince=` returns for `who`.
async fn updated_since(app: &TestApp, who: &Session, since: &Value) -> Vec<Value> {
    let since = since.as_str().expect("an ISO date");
    let v = app
        .get_ok(who, "subscriptions.get", &[("updatedSince", since)])
        .await;
    assert_eq!(v["remove"], json!([]), "{v}");
    v["update"].as_array().expect("update").clone()
}

fn has_room(subs: &[Value], rid: &str) -> bool {
    subs.iter().any(|s| s["rid"] == json!(rid))
}

async fn post(app: &TestApp, who: &Session, rid: &str, text: &str) -> Value {
    app.ok(
        who,
        "chat.postMessage",
        json!({ "roomId": rid, "text": text }),
    )
    .await["message"]
        .clone()
}

#[tokio::test]
async fn unread_alert_and_updated_since_across_posts_reads_joins_and_kicks() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let (rid, _) = app
        .room(&alice, "c", &[&bob.username, &carol.username])
        .await;

    // Members named at creation start with nothing unread.
    let b0 = sub(&app, &bob, &rid).await;
    assert_eq!(state(&b0), (json!(0), json!(false)));
    let a0 = sub(&app, &alice, &rid).await;
    assert_eq!(state(&a0), (json!(0), json!(false)));

    tick().await;
    post(&app, &alice, &rid, "one").await;
    tick().await;
    let two = post(&app, &alice, &rid, "two").await;

    // Every other member has both unread, with the alert on and the membership updated at
    // (or after) the last post; the sender's own membership did not move.
    for who in [&bob, &carol] {
        let s = sub(&app, who, &rid).await;
        assert_eq!(state(&s), (json!(2), json!(true)), "{s}");
        assert!(
            s["_updatedAt"].as_str() >= two["ts"].as_str(),
            "{s} vs {two}"
        );
        assert!(s["_updatedAt"].as_str() > b0["_updatedAt"].as_str());
    }
    let a1 = sub(&app, &alice, &rid).await;
    assert_eq!(state(&a1), (json!(0), json!(false)));
    assert_eq!(a1["_updatedAt"], a0["_updatedAt"]);
    assert_eq!(a1["ls"], a0["ls"]);
    let counters = app
        .get_ok(&carol, "channels.counters", &[("roomId", &rid)])
        .await;
    assert_eq!(counters["unreads"], json!(2), "{counters}");
    assert_eq!(counters["msgs"], json!(2), "{counters}");

    // updatedSince: the sender's view has not changed since before the posts; the others'
    // has, and not since their own last update.
    assert!(!has_room(
        &updated_since(&app, &alice, &a0["_updatedAt"]).await,
        &rid
    ));
    let since_b0 = updated_since(&app, &bob, &b0["_updatedAt"]).await;
    assert!(has_room(&since_b0, &rid));
    let listed = since_b0.iter().find(|s| s["rid"] == json!(rid)).unwrap();
    assert_eq!(state(listed), (json!(2), json!(true)), "{listed}");
    let b1 = sub(&app, &bob, &rid).await;
    assert!(!has_room(
        &updated_since(&app, &bob, &b1["_updatedAt"]).await,
        &rid
    ));

    // Bob posts: the others get it; his own unread count and time stay as they were.
    tick().await;
    let three = post(&app, &bob, &rid, "three").await;
    let b2 = sub(&app, &bob, &rid).await;
    assert_eq!(state(&b2), (json!(2), json!(true)), "{b2}");
    assert_eq!(b2["_updatedAt"], b1["_updatedAt"]);
    assert!(!has_room(
        &updated_since(&app, &bob, &b1["_updatedAt"]).await,
        &rid
    ));
    let a2 = sub(&app, &alice, &rid).await;
    assert_eq!(state(&a2), (json!(1), json!(true)), "{a2}");
    assert!(a2["_updatedAt"].as_str() >= three["ts"].as_str());
    assert!(has_room(
        &updated_since(&app, &alice, &a0["_updatedAt"]).await,
        &rid
    ));
    assert_eq!(
        state(&sub(&app, &carol, &rid).await),
        (json!(3), json!(true))
    );

    // Reading clears unread and alert, sets ls, and moves the membership's time.
    tick().await;
    app.ok(&bob, "subscriptions.read", json!({ "rid": rid }))
        .await;
    let b3 = sub(&app, &bob, &rid).await;
    assert_eq!(state(&b3), (json!(0), json!(false)), "{b3}");
    assert!(b3["ls"].is_string(), "{b3}");
    assert!(b3["_updatedAt"].as_str() > b2["_updatedAt"].as_str());
    assert!(has_room(
        &updated_since(&app, &bob, &b2["_updatedAt"]).await,
        &rid
    ));
    assert!(!has_room(
        &updated_since(&app, &bob, &b3["_updatedAt"]).await,
        &rid
    ));

    // A join mid-stream: the joiner starts with the join's own marker, not the history; the
    // join's system message is nobody's unread.
    tick().await;
    app.ok(&dave, "channels.join", json!({ "roomId": rid }))
        .await;
    let d0 = sub(&app, &dave, &rid).await;
    assert_eq!(state(&d0), (json!(1), json!(true)), "{d0}");
    let b4 = sub(&app, &bob, &rid).await;
    assert_eq!(state(&b4), (json!(0), json!(false)));
    assert_eq!(
        b4["_updatedAt"], b3["_updatedAt"],
        "a system message is not news"
    );
    assert_eq!(
        state(&sub(&app, &carol, &rid).await),
        (json!(3), json!(true))
    );

    tick().await;
    let four = post(&app, &alice, &rid, "four").await;
    assert_eq!(
        state(&sub(&app, &dave, &rid).await),
        (json!(2), json!(true))
    );
    assert_eq!(state(&sub(&app, &bob, &rid).await), (json!(1), json!(true)));
    assert_eq!(
        state(&sub(&app, &carol, &rid).await),
        (json!(4), json!(true))
    );
    assert_eq!(
        state(&sub(&app, &alice, &rid).await),
        (json!(1), json!(true))
    );

    // Edits and deletions leave unread counts alone.
    let four_id = four["_id"].as_str().unwrap();
    app.ok(
        &alice,
        "chat.update",
        json!({ "roomId": rid, "msgId": four_id, "text": "four!" }),
    )
    .await;
    app.ok(
        &alice,
        "chat.delete",
        json!({ "roomId": rid, "msgId": four_id }),
    )
    .await;
    assert_eq!(state(&sub(&app, &bob, &rid).await), (json!(1), json!(true)));
    assert_eq!(
        state(&sub(&app, &carol, &rid).await),
        (json!(4), json!(true))
    );

    // A kick ends the membership; coming back starts a fresh one.
    app.ok(
        &alice,
        "channels.kick",
        json!({ "roomId": rid, "userId": carol.user_id }),
    )
    .await;
    let (status, _) = app
        .get(Some(&carol), "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    let gone = app.get_ok(&carol, "subscriptions.get", &[]).await;
    assert!(
        !has_room(gone["update"].as_array().unwrap(), &rid),
        "{status} {gone}"
    );
    tick().await;
    post(&app, &alice, &rid, "five").await;
    app.ok(
        &alice,
        "channels.invite",
        json!({ "roomId": rid, "userId": carol.user_id }),
    )
    .await;
    let c1 = sub(&app, &carol, &rid).await;
    assert_eq!(state(&c1), (json!(1), json!(true)), "{c1}");
    tick().await;
    post(&app, &bob, &rid, "six").await;
    assert_eq!(
        state(&sub(&app, &carol, &rid).await),
        (json!(2), json!(true))
    );
    assert_eq!(state(&sub(&app, &bob, &rid).await), (json!(2), json!(true)));
    // Alice's own posts ("four", "five") added nothing to her count.
    assert_eq!(
        state(&sub(&app, &alice, &rid).await),
        (json!(2), json!(true))
    );

    // subscriptions.unread on a read room: one unread, alert on.
    app.ok(&bob, "subscriptions.read", json!({ "rid": rid }))
        .await;
    app.ok(&bob, "subscriptions.unread", json!({ "roomId": rid }))
        .await;
    assert_eq!(state(&sub(&app, &bob, &rid).await), (json!(1), json!(true)));
    tick().await;
    post(&app, &alice, &rid, "seven").await;
    assert_eq!(state(&sub(&app, &bob, &rid).await), (json!(2), json!(true)));
}

#[tokio::test]
async fn rooms_with_new_posts_come_back_from_updated_since_on_every_listing() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (quiet, _) = app.room(&alice, "c", &[&bob.username]).await;
    let (busy, _) = app.room(&alice, "p", &[&bob.username]).await;
    let before = sub(&app, &bob, &busy).await["_updatedAt"].clone();
    let before_quiet = sub(&app, &bob, &quiet).await["_updatedAt"].clone();
    let since = std::cmp::max(before.as_str(), before_quiet.as_str())
        .unwrap()
        .to_string();
    tick().await;
    post(&app, &alice, &busy, "news").await;

    let listed = updated_since(&app, &bob, &json!(since)).await;
    assert!(has_room(&listed, &busy));
    assert!(!has_room(&listed, &quiet));

    // DDP `subscriptions/get` with a date answers the same rooms.
    let millis = chrono::DateTime::parse_from_rfc3339(&since)
        .unwrap()
        .timestamp_millis();
    let mut d = Ddp::resume(&app, &bob).await;
    let v = d
        .ok("subscriptions/get", json!([{ "$date": millis }]))
        .await;
    let update = v["update"].as_array().unwrap();
    let s = update
        .iter()
        .find(|s| s["rid"] == json!(busy))
        .expect("busy room");
    assert_eq!(state(s), (json!(1), json!(true)), "{s}");
    assert!(!update.iter().any(|s| s["rid"] == json!(quiet)), "{v}");

    // The TalkJS-style listing of unread conversations sees the same state.
    let path = format!("users/{}/conversations?unreadsOnly=true", bob.user_id);
    let unread = app.talk_ok("GET", &path, None).await;
    let ids: Vec<&Value> = unread["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(ids.contains(&&json!(busy)), "{unread}");
    assert!(!ids.contains(&&json!(quiet)), "{unread}");
    app.ok(&bob, "subscriptions.read", json!({ "rid": busy }))
        .await;
    let unread = app.talk_ok("GET", &path, None).await;
    let ids: Vec<&Value> = unread["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(!ids.contains(&&json!(busy)), "{unread}");
}

#[tokio::test]
async fn a_post_sends_no_membership_frames_and_a_read_sends_one() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let uid = bob.user_id.clone();
    let mut b = Ddp::resume(&app, &bob).await;
    b.sub_ready("stream-room-messages", &rid).await;
    b.sub_ready(
        "stream-notify-user",
        &format!("{uid}/subscriptions-changed"),
    )
    .await;
    b.sub_ready("stream-notify-user", &format!("{uid}/rooms-changed"))
        .await;

    post(&app, &alice, &rid, "hello").await;
    b.next_where(|v| message_text(v, "hello")).await;
    post(&app, &alice, &rid, "again").await;
    b.next_where(|v| message_text(v, "again")).await;
    // Rocket.Chat tells members of a new message through the room's stream and with
    // `rooms-changed` (the room's new `lm` and `msgs`, one per post); the membership's unread
    // count is read, not pushed, per post: no `subscriptions-changed`.
    for msgs in [1, 2] {
        let v = b.event(&format!("{uid}/rooms-changed")).await;
        assert_eq!(v["fields"]["args"][0], "updated");
        let room = &v["fields"]["args"][1];
        assert_eq!(room["_id"], json!(rid));
        assert_eq!(room["msgs"], msgs, "{v}");
        assert!(room["lm"]["$date"].is_i64(), "{v}");
    }
    b.assert_none("frames per post", |v| {
        let name = v["fields"]["eventName"].as_str().unwrap_or_default();
        name.ends_with("/subscriptions-changed") || name.ends_with("/rooms-changed")
    })
    .await;

    let mut calls = Ddp::resume(&app, &bob).await;
    calls.ok("readMessages", json!([rid])).await;
    let v = b.event(&format!("{uid}/subscriptions-changed")).await;
    assert_eq!(v["fields"]["args"][0], "updated");
    let s = &v["fields"]["args"][1];
    assert_eq!(s["rid"], json!(rid));
    assert_eq!(
        (s["unread"].clone(), s["alert"].clone()),
        (json!(0), json!(false))
    );
    assert!(s["ls"]["$date"].is_i64(), "{s}");

    // Marked unread again: the frame carries the marker.
    app.ok(&bob, "subscriptions.unread", json!({ "roomId": rid }))
        .await;
    let v = b.event(&format!("{uid}/subscriptions-changed")).await;
    let s = &v["fields"]["args"][1];
    assert_eq!(
        (s["unread"].clone(), s["alert"].clone()),
        (json!(1), json!(true))
    );

    // After more posts, a DDP read's frame says zero again, and getOne agrees.
    post(&app, &alice, &rid, "more").await;
    calls.ok("readMessages", json!([rid])).await;
    let v = b.event(&format!("{uid}/subscriptions-changed")).await;
    assert_eq!(v["fields"]["args"][1]["unread"], 0);
    assert_eq!(
        state(&sub(&app, &bob, &rid).await),
        (json!(0), json!(false))
    );
}
