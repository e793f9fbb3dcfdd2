//! The native socket's transport: the server's heartbeat (a WebSocket ping after the heartbeat
//! interval, close 4000 after the timeout), the slow consumer (closed with 1013, its queue never
//! longer than `RealtimeConfig::queue`), and the events a guest subscription carries.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

use crate::helpers::{unique, TestApp, APP_ID};
use crate::native::signed_query;
use crate::native::{conversation, post, Native};

/// What a socket read before it ended: text frames, pings, and the close code if a close frame
/// came.
#[derive(Default)]
struct Ending {
    texts: usize,
    pings: usize,
    close: Option<u16>,
    ended: bool,
}

/// Reads for `wait` at most (tungstenite answers each ping with a pong as it reads).
async fn read_for(n: &mut Native, wait: Duration) -> Ending {
    let mut e = Ending::default();
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, n.ws.next()).await {
            Err(_) => return e,
            Ok(Some(Ok(Message::Text(_)))) => e.texts += 1,
            Ok(Some(Ok(Message::Ping(_)))) => e.pings += 1,
            Ok(Some(Ok(Message::Close(c)))) => {
                e.close = c.map(|c| u16::from(c.code));
                e.ended = true;
                return e;
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => {
                e.ended = true;
                return e;
            }
        }
    }
}

#[tokio::test]
async fn server_pings_an_idle_socket_and_closes_a_silent_one() {
    let app = TestApp::spawn_with(|c| {
        c.realtime.heartbeat_interval = Duration::from_millis(300);
        c.realtime.heartbeat_timeout = Duration::from_millis(600);
    })
    .await;
    let uid = unique("u");
    app.talk_ok("PUT", &format!("users/{uid}"), Some(json!({ "name": "U" })))
        .await;
    let mut n = Native::user(&app, &uid).await;
    // A client that reads answers every ping (its WebSocket stack does): pinged, never closed,
    // for well over the interval plus the timeout.
    let e = read_for(&mut n, Duration::from_secs(3)).await;
    assert!(!e.ended, "an answering client was closed ({:?})", e.close);
    assert!(e.pings >= 2, "{} pings in 3 s", e.pings);
    // A client that stops reading answers nothing: closed with 4000.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let e = read_for(&mut n, Duration::from_secs(5)).await;
    assert!(e.ended);
    assert_eq!(e.close, Some(4000));
}

/// Large messages, enough to fill the kernel's buffers on both sides of the silent socket.
const N: usize = 1200;

#[tokio::test]
async fn a_socket_that_never_reads_is_closed_as_too_slow() {
    let app = TestApp::spawn_with(|c| c.realtime.queue = 4).await;
    let (a, b) = (unique("a"), unique("b"));
    let cid = conversation(&app, &[&a, &b]).await;
    // The silent client: a 4 KiB receive buffer, and it reads nothing after `ready`.
    let addr: std::net::SocketAddr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("tcp connect");
    let url = format!("ws://{addr}/v1/{APP_ID}/realtime?{}", signed_query(&a));
    let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
        .await
        .expect("handshake");
    let mut slow = Native { ws };
    assert_eq!(slow.recv().await["type"], "welcome");
    let sub = json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid});
    slow.sub(sub.clone()).await;
    let mut fast = Native::user(&app, &b).await;
    fast.sub(sub).await;

    let text = "x".repeat(4900);
    let mut seen = 0;
    // The API takes up to 10 messages a request.
    for batch in 0..N / 10 {
        let msgs: Vec<_> = (0..10)
            .map(|i| json!({ "text": format!("{}{text}", batch * 10 + i), "sender": b, "type": "UserMessage" }))
            .collect();
        app.talk_ok(
            "POST",
            &format!("conversations/{cid}/messages"),
            Some(json!(msgs)),
        )
        .await;
        // The reading socket keeps up as it goes.
        while let Some(v) = fast.next(Duration::from_millis(1)).await {
            if v["event"] == "message.created" {
                seen += 1;
            }
        }
    }
    while seen < N {
        let v = fast.recv().await;
        if v["event"] == "message.created" {
            seen += 1;
        }
    }
    // The silent one was cut off: what it has is short of N, then the socket ends, and if the
    // close frame got through before the writer's grace ran out it says "too slow".
    let e = read_for(&mut slow, Duration::from_secs(20)).await;
    assert!(
        e.ended,
        "the silent socket is still open after {} frames",
        e.texts
    );
    assert!(
        e.texts < N,
        "{} of {N} frames: nothing was dropped",
        e.texts
    );
    if let Some(code) = e.close {
        assert_eq!(code, u16::from(CloseCode::Again), "close code");
    }
    // The reader goes on: the server still serves the conversation to everyone else.
    post(&app, &cid, &a, "after").await;
    loop {
        let v = fast.recv().await;
        if v["data"]["text"] == "after" {
            break;
        }
    }
}

#[tokio::test]
async fn a_guest_subscription_hears_participants_and_conversation_changes() {
    let app = TestApp::spawn().await;
    let (a, c, g) = (unique("a"), unique("c"), unique("g"));
    let cid = conversation(&app, &[&a]).await;
    for u in [&c, &g] {
        app.talk_ok("PUT", &format!("users/{u}"), Some(json!({ "name": u })))
            .await;
    }
    let mut n = Native::user(&app, &g).await;
    n.sub(json!({"v": 1, "type": "subscribe", "id": "g", "conversation": cid, "asGuest": true}))
        .await;

    // Each change, and the event it must yield (other events of the room may come between).
    let path = format!("conversations/{cid}/participants/{c}");
    app.talk_ok("PUT", &path, Some(json!({}))).await;
    let v = next_event(&mut n, "participant.joined").await;
    assert_eq!(v["data"]["userId"], json!(c));
    assert_eq!(v["conversation"], json!(cid));

    app.talk_ok("PATCH", &path, Some(json!({ "access": "Read" })))
        .await;
    let v = next_event(&mut n, "participant.updated").await;
    assert_eq!(v["data"]["userId"], json!(c));
    assert_eq!(v["data"]["participant"]["access"], "Read");

    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "subject": "Guests welcome" })),
    )
    .await;
    let v = next_event(&mut n, "conversation.updated").await;
    assert_eq!(v["data"]["subject"], "Guests welcome");

    app.talk_ok("DELETE", &path, None).await;
    let v = next_event(&mut n, "participant.left").await;
    assert_eq!(v["data"]["userId"], json!(c));

    // Still a guest, still hearing messages.
    post(&app, &cid, &a, "hello guest").await;
    // (System messages about the joins and leaves come first.)
    loop {
        let v = next_event(&mut n, "message.created").await;
        if v["data"]["text"] == "hello guest" {
            break;
        }
    }
}

/// The next event frame named `name`, skipping other events; anything else fails the test.
async fn next_event(n: &mut Native, name: &str) -> serde_json::Value {
    loop {
        let v = n.recv().await;
        assert_eq!(v["type"], "event", "{v}");
        if v["event"] == name {
            return v;
        }
    }
}
