//! The transport: handshake (both versions, the failed answer), heartbeats both ways, protocol
//! errors, unknown methods and publications, and bad input that must not hurt the server.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Ddp, QUIET};
use crate::helpers::TestApp;

#[tokio::test]
async fn handshake_version_1_and_pre2() {
    let app = TestApp::spawn().await;
    for (version, support) in [
        ("1", json!(["1", "pre2", "pre1"])),
        ("pre2", json!(["pre2"])),
    ] {
        let mut d = Ddp::open(&app).await;
        d.send(json!({"msg": "connect", "version": version, "support": support}))
            .await;
        let v = d.recv().await;
        assert_eq!(v["msg"], "connected", "{version}: {v}");
        let session = v["session"].as_str().unwrap_or_default();
        assert_eq!(session.len(), 17, "Meteor-style session id: {v}");
        // The session answers pings with the client's id.
        d.send(json!({"msg": "ping", "id": "7"})).await;
        assert_eq!(d.recv().await, json!({"msg": "pong", "id": "7"}));
        d.send(json!({"msg": "ping"})).await;
        assert_eq!(d.recv().await, json!({"msg": "pong"}));
    }
}

#[tokio::test]
async fn unsupported_version_gets_failed_and_close() {
    let app = TestApp::spawn().await;
    let mut d = Ddp::open(&app).await;
    d.send(json!({"msg": "connect", "version": "pre1", "support": ["pre1"]}))
        .await;
    assert_eq!(d.recv().await, json!({"msg": "failed", "version": "1"}));
    assert!(d.recv_within(Duration::from_secs(5)).await.is_none());
    assert!(d.closed, "the server closes after failed");
    // A client asking for a version it does not list first is told the best one.
    let mut d = Ddp::open(&app).await;
    d.send(json!({"msg": "connect", "version": "pre2", "support": ["1", "pre2"]}))
        .await;
    assert_eq!(d.recv().await, json!({"msg": "failed", "version": "1"}));
}

#[tokio::test]
async fn protocol_errors_keep_the_connection() {
    let app = TestApp::spawn().await;
    let mut d = Ddp::open(&app).await;
    d.send(json!({"msg": "method", "id": "1", "method": "login", "params": []}))
        .await;
    let v = d.recv().await;
    assert_eq!(
        (v["msg"].clone(), v["reason"].clone()),
        (json!("error"), json!("Must connect first"))
    );
    d.send(json!({"msg": "connect", "version": "1", "support": ["1"]}))
        .await;
    assert_eq!(d.recv().await["msg"], "connected");
    d.send(json!({"msg": "connect", "version": "1", "support": ["1"]}))
        .await;
    assert_eq!(d.recv().await["reason"], "Already connected");
    d.send_text("not json".into()).await;
    assert_eq!(
        d.recv().await,
        json!({"msg": "error", "reason": "Parse error"})
    );
    d.send(json!({"msg": "method", "id": 5, "method": "x"}))
        .await;
    let v = d.recv().await;
    assert_eq!(v["reason"], "Malformed method invocation", "{v}");
    assert_eq!(v["offendingMessage"]["id"], 5);
    d.send(json!({"msg": "sub", "id": "s", "name": "x", "params": {}}))
        .await;
    assert_eq!(d.recv().await["reason"], "Malformed subscription");
    d.send(json!({"msg": "nonsense"})).await;
    assert_eq!(d.recv().await["reason"], "Bad request");
    d.send(json!([1, 2])).await;
    assert_eq!(d.recv().await["reason"], "Bad request");
    // Still alive.
    d.send(json!({"msg": "ping", "id": "x"})).await;
    assert_eq!(d.recv().await, json!({"msg": "pong", "id": "x"}));
}

#[tokio::test]
async fn unknown_method_and_publication_answer_like_rocket_chat() {
    let app = TestApp::spawn().await;
    let mut d = Ddp::connect(&app).await;
    let e = d.err("noSuchMethod", json!([])).await;
    assert_eq!(
        e,
        json!({"isClientSafe": true, "error": 404, "reason": "Method 'noSuchMethod' not found",
               "message": "Method 'noSuchMethod' not found [404]", "errorType": "Meteor.Error"})
    );
    let frames = d.sub("noSuchPublication", json!([])).await;
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["msg"], "nosub");
    assert_eq!(frames[0]["error"]["error"], 404);
    assert_eq!(
        frames[0]["error"]["reason"],
        "Subscription 'noSuchPublication' not found"
    );
    // asteroid subscribes to this first, always, and waits for ready.
    let frames = d.sub("meteor.loginServiceConfiguration", json!([])).await;
    assert_eq!(frames.last().unwrap()["msg"], "ready");
    // unsub is acknowledged with nosub, known or not.
    d.send(json!({"msg": "unsub", "id": "zzz"})).await;
    assert_eq!(d.recv().await, json!({"msg": "nosub", "id": "zzz"}));
}

#[tokio::test]
async fn server_pings_when_idle_and_closes_the_silent() {
    let app = TestApp::spawn_with(|c| {
        c.realtime.heartbeat_interval = Duration::from_millis(300);
        c.realtime.heartbeat_timeout = Duration::from_millis(600);
    })
    .await;
    let mut d = Ddp::connect(&app).await;
    let v = d.recv_within(Duration::from_secs(3)).await;
    assert_eq!(v, Some(json!({"msg": "ping"})));
    // Answering keeps the connection: the next ping comes after another idle period.
    d.send(json!({"msg": "pong"})).await;
    assert_eq!(
        d.recv_within(Duration::from_secs(3)).await,
        Some(json!({"msg": "ping"}))
    );
    // Silence past the timeout closes it.
    assert_eq!(d.recv_within(Duration::from_secs(5)).await, None);
    assert!(d.closed);
}

#[tokio::test]
async fn hostile_input_does_not_hurt_other_connections() {
    let app = TestApp::spawn_with(|c| c.realtime.max_message = 64 * 1024).await;
    let mut bystander = Ddp::resume(&app, &app.admin).await;
    let mut d = Ddp::connect(&app).await;
    // Wrong types everywhere.
    for (method, params) in [
        ("login", json!([5])),
        ("login", json!([{"user": {"username": 1}, "password": []}])),
        (
            "login",
            json!([{"user": "x", "password": {"digest": "zz", "algorithm": "sha-256"}}]),
        ),
        ("sendMessage", json!([{"rid": 1}])),
        ("loadHistory", json!([{}, "x", "y"])),
        ("rooms/get", json!([{"$date": "soon"}])),
        ("stream-notify-room", json!([null])),
        ("createDirectMessage", json!([{}])),
        ("addUsersToRoom", json!([{"rid": "GENERAL", "users": [1]}])),
    ] {
        let r = d.call(method, params.clone()).await;
        assert!(r.get("error").is_some(), "{method} {params}: {r}");
    }
    let frames = d.sub("stream-room-messages", json!([{"a": 1}, "x"])).await;
    assert_eq!(frames.last().unwrap()["msg"], "nosub");
    // A message over the size limit closes only that socket.
    d.send_text(format!(
        r#"{{"msg":"method","id":"1","method":"x","params":["{}"]}}"#,
        "a".repeat(100 * 1024)
    ))
    .await;
    assert!(d.recv_within(Duration::from_secs(5)).await.is_none());
    bystander.send(json!({"msg": "ping", "id": "1"})).await;
    let pong: Value = bystander.recv().await;
    assert_eq!(pong["msg"], "pong");
    assert!(bystander.recv_within(QUIET).await.is_none());
}
