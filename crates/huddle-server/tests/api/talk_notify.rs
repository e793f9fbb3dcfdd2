//! Notifications of new messages (TalkJS's `notify`): `notification.triggered` webhooks to the
//! participants who should hear, and no one else. The deliveries are outbox rows committed
//! with the post, so once a post has answered, the endpoint's delivery list is final: the test
//! waits until every listed delivery has arrived, then compares what arrived.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{unique, ClientAuth, TestApp};
use crate::native::Native;
use crate::talk_webhooks::{receiver, Received};

/// A webhook endpoint for `events` on a fresh receiver: (endpoint id, what it receives).
pub(crate) async fn endpoint(app: &TestApp, events: &[&str]) -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = receiver(listener);
    let v = app
        .talk_ok(
            "POST",
            "webhooks",
            Some(json!({ "url": url, "events": events })),
        )
        .await;
    (v["id"].as_str().unwrap().to_string(), got)
}

/// Waits (10 s at most) until every delivery the endpoint's log lists has been delivered, then
/// returns the bodies the receiver got.
pub(crate) async fn settled(app: &TestApp, wid: &str, got: &Received) -> Vec<Value> {
    for _ in 0..200 {
        let log = app
            .talk_ok("GET", &format!("webhooks/{wid}/deliveries"), None)
            .await;
        let rows = log["data"].as_array().unwrap();
        let all_done = rows.iter().all(|r| !r["deliveredAt"].is_null());
        let bodies: Vec<Value> = got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect();
        if all_done && bodies.len() == rows.len() {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the endpoint's deliveries did not all arrive");
}

/// How many notifications each recipient got.
fn per_recipient(bodies: &[Value]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for b in bodies
        .iter()
        .filter(|b| b["type"] == "notification.triggered")
    {
        *out.entry(b["data"]["recipient"]["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

async fn participant(app: &TestApp, cid: &str, uid: &str, notify: Value) {
    app.talk_ok(
        "PUT",
        &format!("users/{uid}"),
        Some(json!({ "name": uid.to_uppercase(), "email": [format!("{uid}@example.com")] })),
    )
    .await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}/participants/{uid}"),
        Some(json!({ "notify": notify })),
    )
    .await;
}

#[tokio::test]
async fn the_right_participants_get_exactly_one_notification_each() {
    let app = TestApp::spawn().await;
    let (wid, got) = endpoint(&app, &["notification.triggered"]).await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "subject": "Plans", "guestAccess": true })),
    )
    .await;
    // ann writes; bob hears everything, cid nothing, dan and eve only mentions, fay is looking
    // at the conversation, gus reads it as a guest.
    participant(&app, &cid, "ann", json!(true)).await;
    participant(&app, &cid, "bob", json!(true)).await;
    participant(&app, &cid, "cid", json!(false)).await;
    participant(&app, &cid, "dan", json!("MentionsOnly")).await;
    participant(&app, &cid, "eve", json!("MentionsOnly")).await;
    participant(&app, &cid, "fay", json!(true)).await;
    app.talk_ok("PUT", "users/gus", Some(json!({ "name": "Gus" })))
        .await;
    let mut fay = Native::user(&app, "fay").await;
    fay.sub(json!({ "v": 1, "type": "subscribe", "id": "f", "conversation": cid }))
        .await;
    let mut gus = Native::user(&app, "gus").await;
    gus.sub(
        json!({ "v": 1, "type": "subscribe", "id": "g", "conversation": cid, "asGuest": true }),
    )
    .await;

    let sent = app
        .talk_ok(
            "POST",
            &format!("conversations/{cid}/messages"),
            Some(json!([
                { "text": "dinner at 8, @eve?", "sender": "ann", "type": "UserMessage" },
                { "text": "Ann changed the subject", "type": "SystemMessage" },
            ])),
        )
        .await;
    let bodies = settled(&app, &wid, &got).await;
    let want: BTreeMap<String, usize> = [("bob".to_string(), 1), ("eve".to_string(), 1)].into();
    assert_eq!(per_recipient(&bodies), want, "{bodies:#?}");

    // TalkJS's shape: recipient (with e-mail), sender, conversation, the messages.
    let eve = bodies
        .iter()
        .find(|b| b["data"]["recipient"]["id"] == "eve")
        .unwrap();
    assert!(eve["id"].as_str().unwrap().starts_with("evt_"), "{eve}");
    assert!(eve["createdAt"].is_i64(), "{eve}");
    let data = &eve["data"];
    assert_eq!(data["recipient"]["email"], json!(["eve@example.com"]));
    assert_eq!(data["sender"]["id"], "ann");
    assert_eq!(data["conversation"]["id"], json!(cid));
    assert_eq!(data["conversation"]["subject"], "Plans");
    assert_eq!(data["messages"].as_array().unwrap().len(), 1);
    assert_eq!(data["messages"][0]["id"], sent[0]["id"]);
    assert_eq!(data["messages"][0]["text"], "dinner at 8, @eve?");
    assert!(data["notificationId"].as_str().unwrap().starts_with("ntf_"));

    // A guest's message notifies the participants (never the guest: not a participant); fay
    // stops looking and is told of the next message, once.
    drop(fay);
    let guest = ClientAuth::signed("gus");
    let mut posts = 1;
    let mut left = false;
    for _ in 0..100 {
        let (status, v) = app
            .client_call(
                &guest,
                "POST",
                &format!("conversations/{cid}/messages?asGuest=true"),
                Some(json!({ "text": "hello from a guest" })),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{v}");
        posts += 1;
        let counts = per_recipient(&settled(&app, &wid, &got).await);
        assert_eq!(counts.get("bob"), Some(&posts), "{counts:?}");
        assert_eq!(counts.get("gus"), None, "guests are never notified");
        assert_eq!(counts.get("cid"), None, "notify false never");
        match counts.get("fay") {
            Some(1) => {
                left = true;
                break;
            }
            None => {
                // Her socket's close was not read yet, so she was rightly still looking.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Some(n) => panic!("fay got {n} notifications of one message"),
        }
    }
    assert!(left, "fay was never notified after closing her socket");
    drop(gus);
}

#[tokio::test]
async fn notify_changes_take_effect_and_rocket_chat_rooms_notify_nobody() {
    let app = TestApp::spawn().await;
    let (wid, got) = endpoint(&app, &["notification.triggered"]).await;
    let cid = unique("conv");
    app.talk_ok("PUT", &format!("conversations/{cid}"), Some(json!({})))
        .await;
    participant(&app, &cid, "ann", json!(true)).await;
    participant(&app, &cid, "bob", json!(false)).await;
    let post = |text: &'static str| {
        let (app, cid) = (&app, cid.clone());
        async move {
            app.talk_ok(
                "POST",
                &format!("conversations/{cid}/messages"),
                Some(json!([{ "text": text, "sender": "ann", "type": "UserMessage" }])),
            )
            .await;
        }
    };
    post("while bob is muted").await;
    assert!(per_recipient(&settled(&app, &wid, &got).await).is_empty());
    app.talk_ok(
        "PATCH",
        &format!("conversations/{cid}/participants/bob"),
        Some(json!({ "notify": true })),
    )
    .await;
    post("bob hears this").await;
    let bodies = settled(&app, &wid, &got).await;
    assert_eq!(per_recipient(&bodies).get("bob"), Some(&1));
    assert!(bodies
        .iter()
        .any(|b| b["data"]["messages"][0]["text"] == "bob hears this"));

    // Rocket.Chat users in the conversation: one watching it over DDP (stream-room-messages)
    // is looking at it; the other, logged in over DDP but not watching, is notified.
    let watcher = app.user("rcw").await;
    let idle = app.user("rci").await;
    for u in [&watcher, &idle] {
        app.talk_ok(
            "PUT",
            &format!("conversations/{cid}/participants/{}", u.user_id),
            Some(json!({})),
        )
        .await;
    }
    let mut watching = crate::ddp::Ddp::resume(&app, &watcher).await;
    watching.sub_ready("stream-room-messages", &cid).await;
    let _idle_session = crate::ddp::Ddp::resume(&app, &idle).await;
    post("the Rocket.Chat side").await;
    let counts = per_recipient(&settled(&app, &wid, &got).await);
    assert_eq!(
        counts.get(&watcher.user_id),
        None,
        "a DDP viewer is looking"
    );
    assert_eq!(counts.get(&idle.user_id), Some(&1), "{counts:?}");
    assert_eq!(counts.get("bob"), Some(&2));

    // A Rocket.Chat channel: its members have Rocket.Chat's own notification preferences,
    // which Huddle does not implement; nobody gets a TalkJS-style notification.
    let other = app.user("rcn").await;
    let (rid, _) = app.room(&app.admin, "c", &[&other.username]).await;
    app.ok(
        &app.admin,
        "chat.postMessage",
        json!({ "roomId": rid, "text": "hi all" }),
    )
    .await;
    let bodies = settled(&app, &wid, &got).await;
    assert_eq!(per_recipient(&bodies).get(&other.user_id), None);
}

#[tokio::test]
async fn a_member_who_ignores_the_sender_is_not_notified() {
    let app = TestApp::spawn().await;
    let (wid, got) = endpoint(&app, &["notification.triggered"]).await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    let cid = unique("conv");
    app.talk_ok("PUT", &format!("conversations/{cid}"), Some(json!({})))
        .await;
    for who in [&ann, &bob] {
        app.talk_ok(
            "PUT",
            &format!("conversations/{cid}/participants/{}", who.user_id),
            Some(json!({ "notify": true })),
        )
        .await;
    }
    let say = |text: &str| json!([{ "text": text, "sender": ann.user_id, "type": "UserMessage" }]);
    let path = format!("conversations/{cid}/messages");
    app.talk_ok("POST", &path, Some(say("first"))).await;
    let bodies = settled(&app, &wid, &got).await;
    let want: BTreeMap<String, usize> = [(bob.user_id.clone(), 1)].into();
    assert_eq!(per_recipient(&bodies), want, "{bodies:#?}");
    // Bob ignores Ann (Rocket.Chat's chat.ignoreUser, on the same conversation): her next
    // message notifies nobody; once he stops ignoring her, he hears again.
    app.get_ok(
        &bob,
        "chat.ignoreUser",
        &[("rid", &cid), ("userId", &ann.user_id), ("ignore", "true")],
    )
    .await;
    app.talk_ok("POST", &path, Some(say("second"))).await;
    let bodies = settled(&app, &wid, &got).await;
    assert_eq!(per_recipient(&bodies), want, "{bodies:#?}");
    app.get_ok(
        &bob,
        "chat.ignoreUser",
        &[("rid", &cid), ("userId", &ann.user_id), ("ignore", "false")],
    )
    .await;
    app.talk_ok("POST", &path, Some(say("third"))).await;
    let bodies = settled(&app, &wid, &got).await;
    let want: BTreeMap<String, usize> = [(bob.user_id.clone(), 2)].into();
    assert_eq!(per_recipient(&bodies), want, "{bodies:#?}");
}
