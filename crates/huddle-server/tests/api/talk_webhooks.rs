//! Webhooks: signed deliveries to a local receiver, retries, and delivery after a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{unique, TestApp, SECRET};

pub(crate) type Received = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A webhook receiver on `listener`, recording every request.
pub(crate) fn receiver(listener: tokio::net::TcpListener) -> Received {
    let got: Received = Arc::default();
    let store = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                store.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    got
}

async fn wait_until(got: &Received, pred: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        if let Some(v) = got
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, b)| serde_json::from_str::<Value>(b).ok())
            .find(|v| pred(v))
        {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the expected webhook never arrived");
}

async fn wait_for(got: &Received, kind: &str) -> (HeaderMap, Value) {
    for _ in 0..200 {
        if let Some((h, b)) = got.lock().unwrap().iter().find(|(_, b)| {
            serde_json::from_str::<Value>(b)
                .map(|v| v["type"] == json!(kind))
                .unwrap_or(false)
        }) {
            return (h.clone(), serde_json::from_str(b).unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "no {kind} webhook arrived; got {:?}",
        got.lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect::<Vec<_>>()
    );
}

fn verify(headers: &HeaderMap, body: &str) {
    let ts = headers["x-huddle-timestamp"].to_str().unwrap();
    let sig = headers["x-huddle-signature"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    assert_eq!(
        sig,
        hex::encode_upper(mac.finalize().into_bytes()),
        "signature verifies"
    );
}

#[tokio::test]
async fn signed_deliveries_for_messages_and_participants() {
    let app = TestApp::spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = receiver(listener);
    let (status, v) = app.talk("POST", "webhooks", Some(json!({ "url": url, "events": ["message.sent", "participant.joined", "participant.left", "guestAccess.changed"] }))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let wid = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.talk("POST", "webhooks", Some(json!({ "url": "ftp://x" })))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.talk(
            "POST",
            "webhooks",
            Some(json!({ "url": url, "events": ["nope"] }))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );

    app.talk_ok("PUT", "users/ann", Some(json!({ "name": "Ann" })))
        .await;
    let cid = unique("conv");
    app.talk_ok("PUT", &format!("conversations/{cid}"), Some(json!({})))
        .await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}/participants/ann"),
        Some(json!({})),
    )
    .await;
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/messages"),
        Some(json!([{ "text": "hi", "sender": "ann", "type": "UserMessage" }])),
    )
    .await;
    app.talk_ok("PUT", "settings", Some(json!({ "browserUserSync": false })))
        .await;

    let (h, joined) = wait_for(&got, "participant.joined").await;
    assert_eq!(joined["data"]["conversationId"], json!(cid));
    assert_eq!(joined["data"]["userId"], json!("ann"));
    // The join wrote a system message too; wait for the user's own message.
    let sent = wait_until(&got, |v| {
        v["type"] == json!("message.sent") && v["data"]["message"]["type"] == json!("UserMessage")
    })
    .await;
    assert_eq!(sent["data"]["sender"]["id"], json!("ann"));
    assert_eq!(sent["data"]["message"]["text"], json!("hi"));
    assert_eq!(sent["data"]["conversation"]["id"], json!(cid));
    let (_, guest) = wait_for(&got, "guestAccess.changed").await;
    assert_eq!(guest["data"]["allowed"], json!(false));
    let raw = got
        .lock()
        .unwrap()
        .iter()
        .find(|(_, b)| b.contains("participant.joined"))
        .map(|(_, b)| b.clone())
        .unwrap();
    verify(&h, &raw);

    // The receiver has the request before the sender has recorded its answer: poll the log
    // until the delivery is marked (a loaded machine can take a moment between the two).
    let mut log = Value::Null;
    for _ in 0..200 {
        log = app
            .talk_ok("GET", &format!("webhooks/{wid}/deliveries"), None)
            .await;
        if log["data"][0]["deliveredAt"].is_i64() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = &log["data"].as_array().unwrap()[0];
    assert!(first["deliveredAt"].is_i64(), "{log}");
    let before = got.lock().unwrap().len();
    app.talk_ok(
        "POST",
        &format!(
            "webhooks/{wid}/deliveries/{}/redeliver",
            first["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    for _ in 0..100 {
        if got.lock().unwrap().len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(got.lock().unwrap().len(), before + 1, "redelivered once");
    app.talk_ok("DELETE", &format!("webhooks/{wid}"), None)
        .await;
    assert_eq!(
        app.talk_ok("GET", "webhooks", None).await["data"],
        json!([])
    );
}

#[tokio::test]
async fn queued_deliveries_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    // A port nobody listens on yet.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    app.talk_ok(
        "POST",
        "webhooks",
        Some(json!({ "url": format!("http://{addr}/hook"), "events": ["user.created"] })),
    )
    .await;
    app.talk_ok("PUT", "users/late", Some(json!({ "name": "Late" })))
        .await;
    // Let the first attempt fail.
    let wid = app.talk_ok("GET", "webhooks", None).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..100 {
        let log = app
            .talk_ok("GET", &format!("webhooks/{wid}/deliveries"), None)
            .await;
        if log["data"][0]["attempts"].as_i64().unwrap_or(0) >= 1 {
            assert!(log["data"][0]["lastError"].is_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.restart().await;
    let got = receiver(tokio::net::TcpListener::bind(addr).await.unwrap());
    let (h, v) = wait_for(&got, "user.created").await;
    assert_eq!(v["data"]["user"]["id"], json!("late"));
    let raw = got.lock().unwrap()[0].1.clone();
    verify(&h, &raw);
}

/// A room change committed by the write path with its deliveries (as the services do) reaches
/// every endpoint as one event: the same id (derived from the room event), the event's time,
/// and the body stored on the delivery before its first attempt is the one signed and sent.
#[tokio::test]
async fn room_event_deliveries_get_their_body_when_first_sent() {
    use huddle_core::store::{RoomChange, RoomWrite};

    let app = TestApp::spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = receiver(listener);
    let sent_only = app
        .talk_ok(
            "POST",
            "webhooks",
            Some(json!({ "url": url, "events": ["message.sent"] })),
        )
        .await;
    let every = app
        .talk_ok("POST", "webhooks", Some(json!({ "url": url })))
        .await;
    app.talk_ok("PUT", "users/ann", Some(json!({ "name": "Ann" })))
        .await;
    let cid = unique("conv");
    app.talk_ok("PUT", &format!("conversations/{cid}"), Some(json!({})))
        .await;

    // A second store on the server's database: the server's sender finds the rows by polling.
    let store = huddle_store::open(app.database_url(), crate::helpers::store_options())
        .await
        .unwrap();
    let ann = store.user_by_id("ann").await.unwrap().unwrap();
    let message = huddle_core::Message::new(&cid, ann.to_ref(), "from the log".into(), None);
    let written = store
        .write_room(RoomWrite {
            rid: cid.clone(),
            change: RoomChange::PostMessage(message),
            webhooks: store.webhook_endpoints().await.unwrap(),
            notify: None,
        })
        .await
        .unwrap();
    let seq = written.seq.unwrap();
    let event = store.room_events(&cid, seq - 1, 1).await.unwrap().remove(0);

    let ours = |b: &String| b.contains("from the log");
    for _ in 0..200 {
        if got.lock().unwrap().iter().filter(|(_, b)| ours(b)).count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered: Vec<(HeaderMap, String)> = got
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| ours(b))
        .cloned()
        .collect();
    assert_eq!(delivered.len(), 2, "one delivery per endpoint");
    let bodies: Vec<Value> = delivered
        .iter()
        .map(|(h, b)| {
            verify(h, b);
            serde_json::from_str(b).unwrap()
        })
        .collect();
    let id = bodies[0]["id"].as_str().unwrap();
    assert!(id.starts_with("evt_") && id.len() == 28, "{id}");
    assert_eq!(
        bodies[1]["id"],
        json!(id),
        "the same event for every endpoint"
    );
    for b in &bodies {
        assert_eq!(b["type"], json!("message.sent"));
        assert_eq!(b["createdAt"], json!(event.created_at.millis()));
        assert_eq!(b["data"]["message"]["text"], json!("from the log"));
        assert_eq!(b["data"]["sender"]["id"], json!("ann"));
        assert_eq!(b["data"]["conversation"]["id"], json!(cid));
    }
    // What was sent is what the deliveries keep, for retries and redeliveries.
    for endpoint in [&sent_only, &every] {
        let rows = store
            .outbox_of_endpoint(endpoint["id"].as_str().unwrap(), 100)
            .await
            .unwrap();
        let row = rows
            .iter()
            .find(|r| r.seq == Some(seq) && r.rid.as_deref() == Some(cid.as_str()))
            .expect("the event's delivery");
        assert!(
            delivered.iter().any(|(_, b)| *b == row.body),
            "{}",
            row.body
        );
    }
}
