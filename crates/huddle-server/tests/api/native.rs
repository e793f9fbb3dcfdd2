//! The native event socket of the TalkJS-style API (`/v1/{appId}/realtime`), over real sockets.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{unique, TestApp, APP_ID, SECRET};
use crate::talk_client::user_token;

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(400);

pub(crate) struct Native {
    pub(crate) ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Native {
    pub(crate) async fn open(app: &TestApp, query: &str) -> Native {
        let url = format!(
            "{}/v1/{APP_ID}/realtime?{query}",
            app.base.replacen("http://", "ws://", 1)
        );
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        Native { ws }
    }

    /// Opens as `uid` (signed with the app's secret) and reads the welcome.
    pub(crate) async fn user(app: &TestApp, uid: &str) -> Native {
        let mut n = Native::open(app, &signed_query(uid)).await;
        assert_eq!(n.recv().await["type"], "welcome");
        n
    }

    pub(crate) async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    pub(crate) async fn next(&mut self, wait: Duration) -> Option<Value> {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).ok(),
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => {
                    return None
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    pub(crate) async fn recv(&mut self) -> Value {
        self.next(WAIT).await.expect("a frame")
    }

    pub(crate) async fn quiet(&mut self) {
        if let Some(v) = self.next(QUIET).await {
            panic!("unexpected frame {v}");
        }
    }

    /// Subscribes and expects `ready`.
    pub(crate) async fn sub(&mut self, frame: Value) {
        let id = frame["id"].clone();
        self.send(frame).await;
        let v = self.recv().await;
        assert_eq!(v["type"], "ready", "{v}");
        assert_eq!(v["id"], id);
    }

    /// The next event frame, skipping nothing.
    pub(crate) async fn event(&mut self, name: &str) -> Value {
        let v = self.recv().await;
        assert_eq!(v["type"], "event", "{v}");
        assert_eq!(v["event"], name, "{v}");
        v
    }
}

/// The query of a socket signed in as `uid` by signature.
pub(crate) fn signed_query(uid: &str) -> String {
    let sig = huddle_core::services::sign_user_id(SECRET, uid);
    format!("userId={uid}&signature={sig}")
}

pub(crate) async fn conversation(app: &TestApp, participants: &[&str]) -> String {
    for u in participants {
        app.talk_ok("PUT", &format!("users/{u}"), Some(json!({ "name": u })))
            .await;
    }
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": participants })),
    )
    .await;
    cid
}

pub(crate) async fn post(app: &TestApp, cid: &str, sender: &str, text: &str) {
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/messages"),
        Some(json!([{ "text": text, "sender": sender, "type": "UserMessage" }])),
    )
    .await;
}

#[tokio::test]
async fn authentication_by_token_and_signature_and_bare_id_only_when_allowed() {
    let app = TestApp::spawn().await;
    let uid = unique("u");
    app.talk_ok("PUT", &format!("users/{uid}"), Some(json!({ "name": "U" })))
        .await;
    let sig = huddle_core::services::sign_user_id(SECRET, &uid);
    for q in [
        format!("token={}", user_token(&uid, 60, SECRET)),
        format!("userId={uid}&signature={sig}"),
    ] {
        let mut n = Native::open(&app, &q).await;
        let v = n.recv().await;
        assert_eq!(v["type"], "welcome", "{q}: {v}");
        assert_eq!(v["userId"], json!(uid));
    }
    // First-frame auth.
    let mut n = Native::open(&app, "").await;
    n.send(json!({"v": 1, "type": "auth", "userId": uid, "signature": sig}))
        .await;
    assert_eq!(n.recv().await["type"], "welcome");
    // A bad token.
    let mut n = Native::open(&app, "token=nope").await;
    let v = n.recv().await;
    assert_eq!(v["code"], "UNAUTHENTICATED", "{v}");
    assert!(n.next(WAIT).await.is_none(), "closed");
    // Bare ids are refused by default (identity verification is on), in the query or the first
    // frame.
    let mut n = Native::open(&app, &format!("userId={uid}")).await;
    assert_eq!(n.recv().await["code"], "UNAUTHENTICATED");
    let mut n = Native::open(&app, "").await;
    n.send(json!({"v": 1, "type": "auth", "userId": uid})).await;
    assert_eq!(n.recv().await["code"], "UNAUTHENTICATED");
    // ... and accepted once it is turned off.
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "identityVerification": false })),
    )
    .await;
    let mut n = Native::open(&app, &format!("userId={uid}")).await;
    assert_eq!(n.recv().await["type"], "welcome");
}

#[tokio::test]
async fn participant_events_and_refusals_and_bad_frames() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (unique("a"), unique("b"), unique("c"));
    let cid = conversation(&app, &[&a, &b]).await;
    app.talk_ok("PUT", &format!("users/{c}"), Some(json!({ "name": "c" })))
        .await;
    let mut n = Native::user(&app, &a).await;
    // Invalid frames: typed errors, the connection lives on.
    n.ws.send(Message::Text("not json".into()))
        .await
        .expect("send");
    assert_eq!(n.recv().await["code"], "INVALID_FRAME");
    n.send(json!({"v": 2, "type": "ping"})).await;
    assert_eq!(n.recv().await["code"], "UNSUPPORTED_VERSION");
    n.send(json!({"v": 1, "type": "subscribe", "id": "x"}))
        .await;
    assert_eq!(n.recv().await["code"], "INVALID_FRAME");
    n.send(json!({"v": 1, "type": "nope"})).await;
    assert_eq!(n.recv().await["code"], "INVALID_FRAME");
    n.send(json!({"v": 1, "type": "ping", "id": "p"})).await;
    assert_eq!(n.recv().await["type"], "pong");

    n.sub(json!({"v": 1, "type": "subscribe", "id": "c1", "conversation": cid}))
        .await;
    post(&app, &cid, &b, "hello").await;
    let v = n.event("message.created").await;
    assert_eq!(v["conversation"], json!(cid));
    assert!(v["eventId"].as_u64().is_some());
    assert_eq!(v["data"]["text"], "hello");
    assert_eq!(v["data"]["senderId"], json!(b));
    assert_eq!(v["data"]["type"], "UserMessage");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}/participants/{c}"),
        Some(json!({})),
    )
    .await;
    let mut saw_join = false;
    for _ in 0..2 {
        let v = n.recv().await;
        if v["event"] == "participant.joined" {
            assert_eq!(v["data"]["userId"], json!(c));
            assert_eq!(v["data"]["participant"]["access"], "ReadWrite");
            saw_join = true;
        }
    }
    assert!(saw_join);

    // A non-participant without asGuest: NOT_FOUND, as on REST.
    let d = unique("d");
    app.talk_ok("PUT", &format!("users/{d}"), Some(json!({ "name": "d" })))
        .await;
    let mut m = Native::user(&app, &d).await;
    m.send(json!({"v": 1, "type": "subscribe", "id": "c1", "conversation": cid}))
        .await;
    let v = m.recv().await;
    assert_eq!(v["code"], "NOT_FOUND", "{v}");
    assert_eq!(v["id"], "c1");
}

#[tokio::test]
async fn removed_and_access_none_participants_are_revoked() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (unique("a"), unique("b"), unique("c"));
    let cid = conversation(&app, &[&a, &b, &c]).await;
    let mut nb = Native::user(&app, &b).await;
    nb.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid}))
        .await;
    let mut nc = Native::user(&app, &c).await;
    nc.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid}))
        .await;
    app.talk_ok(
        "DELETE",
        &format!("conversations/{cid}/participants/{b}"),
        None,
    )
    .await;
    let v = nb.recv().await;
    assert_eq!(v["type"], "revoked", "{v}");
    assert_eq!(v["reason"], "removed");
    app.talk_ok(
        "PATCH",
        &format!("conversations/{cid}/participants/{c}"),
        Some(json!({ "access": "None" })),
    )
    .await;
    // c may first hear b leave; then their own revocation.
    let mut revoked = None;
    for _ in 0..4 {
        let v = nc.recv().await;
        if v["type"] == "revoked" {
            revoked = Some(v);
            break;
        }
    }
    assert_eq!(revoked.expect("revoked")["reason"], "access-none");
    post(&app, &cid, &a, "after").await;
    nb.quiet().await;
    nc.quiet().await;
}

#[tokio::test]
async fn guests_are_admitted_and_cut_off_at_once() {
    let app = TestApp::spawn().await;
    let (a, g) = (unique("a"), unique("g"));
    let cid = conversation(&app, &[&a]).await;
    app.talk_ok("PUT", &format!("users/{g}"), Some(json!({ "name": "g" })))
        .await;
    let mut n = Native::user(&app, &g).await;
    let sub =
        json!({"v": 1, "type": "subscribe", "id": "g1", "conversation": cid, "asGuest": true});
    n.sub(sub.clone()).await;
    post(&app, &cid, &a, "hi guest").await;
    assert_eq!(n.event("message.created").await["data"]["text"], "hi guest");

    // The conversation's switch.
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "guestAccess": false })),
    )
    .await;
    post(&app, &cid, &a, "secret").await;
    let v = n.recv().await;
    assert_eq!(v["type"], "revoked", "{v}");
    assert_eq!(v["reason"], "guest-access-off");
    n.quiet().await;
    n.send(sub.clone()).await;
    assert_eq!(n.recv().await["code"], "GUEST_ACCESS_DISABLED");

    // The app's settings.
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "guestAccess": true })),
    )
    .await;
    n.sub(sub.clone()).await;
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "browserConversationSync": false })),
    )
    .await;
    post(&app, &cid, &a, "secret 2").await;
    let v = n.recv().await;
    assert_eq!(v["reason"], "guest-access-off", "{v}");
    n.quiet().await;
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "browserConversationSync": true })),
    )
    .await;
}

#[tokio::test]
async fn inbox_hears_every_conversation_and_new_ones() {
    let app = TestApp::spawn().await;
    let (a, b) = (unique("a"), unique("b"));
    let c1 = conversation(&app, &[&a, &b]).await;
    let mut n = Native::user(&app, &a).await;
    n.sub(json!({"v": 1, "type": "subscribe", "id": "i", "inbox": true}))
        .await;
    post(&app, &c1, &b, "one").await;
    assert_eq!(n.event("message.created").await["conversation"], json!(c1));
    let c2 = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{c2}"),
        Some(json!({ "participants": [&b] })),
    )
    .await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{c2}/participants/{a}"),
        Some(json!({})),
    )
    .await;
    let mut got = false;
    for _ in 0..4 {
        let v = n.recv().await;
        if v["event"] == "participant.joined" {
            assert_eq!(v["conversation"], json!(c2));
            got = true;
            break;
        }
    }
    assert!(got);
    post(&app, &c2, &b, "two").await;
    loop {
        let v = n.recv().await;
        if v["event"] == "message.created" && v["data"]["text"] == "two" {
            break;
        }
    }
}

#[tokio::test]
async fn resume_replays_missed_events_or_asks_for_resync() {
    let app = TestApp::spawn().await;
    let (a, b) = (unique("a"), unique("b"));
    let cid = conversation(&app, &[&a, &b]).await;
    let mut n = Native::user(&app, &a).await;
    n.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid}))
        .await;
    post(&app, &cid, &b, "seen").await;
    let last = n.event("message.created").await["eventId"]
        .as_u64()
        .expect("id");
    drop(n);
    post(&app, &cid, &b, "missed 1").await;
    post(&app, &cid, &b, "missed 2").await;
    let mut n = Native::user(&app, &a).await;
    n.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid, "since": last}))
        .await;
    let e1 = n.event("message.created").await;
    let e2 = n.event("message.created").await;
    assert_eq!(e1["data"]["text"], "missed 1");
    assert_eq!(e2["data"]["text"], "missed 2");
    assert!(e2["eventId"].as_u64() > e1["eventId"].as_u64());
    n.quiet().await;
    // Too old: resync.
    n.sub(json!({"v": 1, "type": "subscribe", "id": "t", "conversation": cid, "since": 1}))
        .await;
    assert_eq!(n.recv().await["type"], "resync");
}

#[tokio::test]
async fn resume_during_a_stream_of_posts_gets_each_event_once_in_order() {
    let app = TestApp::spawn().await;
    let (a, b) = (unique("a"), unique("b"));
    let cid = conversation(&app, &[&a, &b]).await;
    let mut n = Native::user(&app, &a).await;
    n.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid}))
        .await;
    post(&app, &cid, &b, "seen").await;
    let last = n.event("message.created").await["eventId"]
        .as_u64()
        .expect("id");
    drop(n);
    // A participant joins while the reader is away: replayed as the live path numbered it.
    let c = unique("c");
    app.talk_ok("PUT", &format!("users/{c}"), Some(json!({ "name": c })))
        .await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}/participants/{c}"),
        Some(json!({})),
    )
    .await;
    const N: usize = 60;
    let writing = async {
        for i in 0..N {
            post(&app, &cid, &b, &format!("m{i}")).await;
        }
    };
    let reading = async {
        let mut n = Native::user(&app, &a).await;
        n.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid, "since": last}))
            .await;
        let mut frames = vec![];
        let mut texts = 0;
        while texts < N {
            let v = n.recv().await;
            assert_eq!(v["type"], "event", "{v}");
            if v["event"] == "message.created" && v["data"]["type"] == "UserMessage" {
                texts += 1;
            }
            frames.push(v);
        }
        n.quiet().await;
        frames
    };
    let ((), frames) = tokio::join!(writing, reading);
    assert_eq!(frames[0]["event"], "participant.joined", "{}", frames[0]);
    assert_eq!(frames[0]["data"]["userId"], json!(c));
    let texts: Vec<&str> = frames
        .iter()
        .filter(|v| v["event"] == "message.created" && v["data"]["type"] == "UserMessage")
        .filter_map(|v| v["data"]["text"].as_str())
        .collect();
    let want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(texts, want);
    let ids: Vec<u64> = frames
        .iter()
        .filter_map(|v| v["eventId"].as_u64())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}
