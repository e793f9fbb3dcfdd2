//! Abuse limits, each answered in its API's own shape: the message rate of Rocket.Chat's
//! `sendMessage` / `chat.postMessage`, per-connection frame rates on DDP (methods, subscriptions)
//! and the native socket (typing, subscribe), frame nesting depth, WebSocket message size.
//! Every limit here is set low (or long) by the test, so no assertion depends on timing.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::ddp::Ddp;
use crate::helpers::{unique, TestApp};
use crate::native::{conversation, Native};

/// `depth` nested arrays around a number.
fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

const RC_WAIT_REST: &str = "Error, too many requests. Please slow down. You must wait ";

#[tokio::test]
async fn message_rate_is_rocket_chats_send_message_rule() {
    // A window long enough that it cannot end during the test.
    let app = TestApp::spawn_with(|c| {
        c.message_rate_limit_calls = 3;
        c.message_rate_limit_interval = Duration::from_secs(120);
    })
    .await;
    let alice = app.user("alice").await;
    let (rid, _) = app.room(&app.admin, "c", &[&alice.username]).await;
    for i in 0..3 {
        app.ok(
            &alice,
            "chat.postMessage",
            json!({"roomId": rid, "text": format!("m{i}")}),
        )
        .await;
    }
    // REST: Rocket.Chat's 429 and text, with Retry-After.
    let rb = app
        .client
        .post(app.url("chat.postMessage"))
        .header("X-User-Id", &alice.user_id)
        .header("X-Auth-Token", &alice.token)
        .json(&json!({"roomId": rid, "text": "too many"}));
    let res = rb.send().await.expect("request");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=120).contains(&retry), "{retry}");
    let v: Value = res.json().await.expect("json");
    let text = v["error"].as_str().expect("error text");
    assert_eq!(v["success"], false);
    assert!(
        text.starts_with(RC_WAIT_REST)
            && text
                .ends_with(" seconds before trying this endpoint again. [error-too-many-requests]"),
        "{v}"
    );
    // chat.sendMessage shares the budget.
    let (status, _) = app
        .post(
            Some(&alice),
            "chat.sendMessage",
            json!({"message": {"rid": rid, "msg": "also"}}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // DDP sendMessage: Rocket.Chat's RateLimiter error, with timeToReset and seconds.
    let mut d = Ddp::resume(&app, &alice).await;
    let e = d
        .err("sendMessage", json!([{"rid": rid, "msg": "ddp"}]))
        .await;
    assert_eq!(e["error"], "error-too-many-requests", "{e}");
    let secs = e["details"]["seconds"].as_u64().expect("seconds");
    assert!((1..=120).contains(&secs), "{e}");
    assert_eq!(
        e["reason"],
        format!("Error, too many requests. Please slow down. You must wait {secs} seconds before trying again.")
    );
    assert_eq!(e["details"]["timeToReset"], secs * 1000);
    // Nothing refused was stored: three messages of alice's.
    let hist = app
        .get_ok(
            &alice,
            "channels.history",
            &[("roomId", &rid), ("count", "50")],
        )
        .await;
    let mine = hist["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["u"]["_id"] == alice.user_id.as_str() && m["t"].is_null())
        .count();
    assert_eq!(mine, 3, "{hist}");
    // Users holding send-many-messages (admin, bot) are not limited; others have their own budget.
    for i in 0..5 {
        app.ok(
            &app.admin,
            "chat.postMessage",
            json!({"roomId": rid, "text": format!("admin {i}")}),
        )
        .await;
    }
    let bob = app.user("bob").await;
    app.ok(
        &bob,
        "chat.postMessage",
        json!({"roomId": rid, "text": "hi"}),
    )
    .await;
    println!("figure: 3 messages per 120 s allowed, the 4th answered 429 (REST, Retry-After {retry} s) and error-too-many-requests (DDP, {secs} s)");
}

#[tokio::test]
async fn ddp_method_and_subscription_rates_per_connection() {
    let app = TestApp::spawn_with(|c| {
        c.realtime.ddp_methods_per_minute = 4;
        c.realtime.ddp_subs_per_minute = 2;
    })
    .await;
    let mut d = Ddp::resume(&app, &app.admin).await; // the login was method 1
    for _ in 0..3 {
        d.ok("getRoomIdByNameOrId", json!(["GENERAL"])).await;
    }
    let e = d.err("getRoomIdByNameOrId", json!(["GENERAL"])).await;
    assert_eq!(e["error"], "too-many-requests", "{e}");
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("Error, too many requests. Please slow down. You must wait "),
        "{e}"
    );
    assert!(e["details"]["timeToReset"].as_u64().unwrap() > 0, "{e}");
    for i in 0..2 {
        let frames = d
            .sub("stream-room-messages", json!(["GENERAL", false]))
            .await;
        assert_eq!(
            frames.last().unwrap()["msg"],
            "ready",
            "sub {i}: {frames:?}"
        );
        d.send(json!({"msg": "unsub", "id": frames.last().unwrap()["subs"][0]}))
            .await;
        d.drain().await;
    }
    let frames = d
        .sub("stream-room-messages", json!(["GENERAL", false]))
        .await;
    let last = frames.last().unwrap();
    assert_eq!(last["msg"], "nosub", "{frames:?}");
    assert_eq!(last["error"]["error"], "too-many-requests", "{last}");
    // The connection stays usable for what is not limited, and another connection has its own
    // budget.
    d.send(json!({"msg": "ping", "id": "p"})).await;
    assert_eq!(d.recv().await["msg"], "pong");
    let mut other = Ddp::resume(&app, &app.admin).await;
    other.ok("getRoomIdByNameOrId", json!(["GENERAL"])).await;
}

#[tokio::test]
async fn frames_nested_too_deeply_are_refused_on_both_sockets() {
    let app = TestApp::spawn_with(|c| c.realtime.max_depth = 8).await;
    let mut d = Ddp::resume(&app, &app.admin).await;
    // Within the limit: an ordinary answer (the method's own refusal of odd params).
    let ok = d.call("getRoomIdByNameOrId", json!([nested(3)])).await;
    assert_ne!(
        ok["error"]["reason"], "Nesting too deep (at most 8 levels)",
        "{ok}"
    );
    let deep = nested(40);
    let r = d.call("getRoomIdByNameOrId", json!([deep])).await;
    assert_eq!(r["error"]["error"], 400, "{r}");
    assert_eq!(r["error"]["reason"], "Nesting too deep (at most 8 levels)");
    let frames = d.sub("stream-room-messages", json!([deep])).await;
    assert_eq!(frames.last().unwrap()["msg"], "nosub", "{frames:?}");
    d.send(json!({"msg": "ping", "x": deep})).await;
    let v = d.recv().await;
    assert_eq!(
        (v["msg"].as_str(), v["reason"].as_str()),
        (Some("error"), Some("Nesting too deep"))
    );
    assert!(v.get("offendingMessage").is_none(), "not echoed: {v}");
    // serde_json's own 128-level limit: a parse error, never a crash.
    d.send_text(format!("{}1{}", "[".repeat(5000), "]".repeat(5000)))
        .await;
    assert_eq!(d.recv().await["reason"], "Parse error");
    d.ok("getRoomIdByNameOrId", json!(["GENERAL"])).await;

    let uid = unique("u");
    let cid = conversation(&app, &[&uid]).await;
    let mut n = Native::user(&app, &uid).await;
    n.send(json!({"v": 1, "type": "typing", "id": "t", "conversation": cid, "typing": true, "x": deep}))
        .await;
    let v = n.recv().await;
    assert_eq!(
        (v["code"].as_str(), v["id"].as_str()),
        (Some("INVALID_FRAME"), Some("t")),
        "{v}"
    );
    n.sub(json!({"v": 1, "type": "subscribe", "id": "c", "conversation": cid}))
        .await;
}

#[tokio::test]
async fn native_typing_and_subscribe_rates_per_connection() {
    let app = TestApp::spawn_with(|c| {
        c.realtime.native_typing_per_minute = 3;
        c.realtime.native_subscribes_per_minute = 2;
    })
    .await;
    let (a, b) = (unique("a"), unique("b"));
    let cid = conversation(&app, &[&a, &b]).await;
    let mut na = Native::user(&app, &a).await;
    let mut nb = Native::user(&app, &b).await;
    nb.sub(json!({"v": 1, "type": "subscribe", "id": "c", "conversation": cid}))
        .await;
    for i in 0..3 {
        na.send(json!({"v": 1, "type": "typing", "id": format!("t{i}"), "conversation": cid, "typing": i % 2 == 0}))
            .await;
        assert_eq!(nb.recv().await["type"], "typing");
    }
    na.send(json!({"v": 1, "type": "typing", "id": "t3", "conversation": cid, "typing": true}))
        .await;
    let v = na.recv().await;
    assert_eq!(
        (v["code"].as_str(), v["id"].as_str()),
        (Some("RATE_LIMITED"), Some("t3")),
        "{v}"
    );
    assert!(v["reason"].as_str().unwrap().contains("retry in"), "{v}");
    nb.quiet().await;
    // Subscribes: two allowed, the third refused with nothing subscribed.
    na.sub(json!({"v": 1, "type": "subscribe", "id": "s1", "conversation": cid}))
        .await;
    na.sub(json!({"v": 1, "type": "subscribe", "id": "s2", "inbox": true}))
        .await;
    na.send(json!({"v": 1, "type": "subscribe", "id": "s3", "conversation": cid}))
        .await;
    let v = na.recv().await;
    assert_eq!(
        (v["code"].as_str(), v["id"].as_str()),
        (Some("RATE_LIMITED"), Some("s3")),
        "{v}"
    );
    na.send(json!({"v": 1, "type": "unsubscribe", "id": "s3"}))
        .await;
    assert_eq!(na.recv().await["code"], "NOT_FOUND", "s3 was never made");
    // Pings are not limited; the other connection keeps its own budget.
    na.send(json!({"v": 1, "type": "ping", "id": "p"})).await;
    assert_eq!(na.recv().await["type"], "pong");
    nb.send(json!({"v": 1, "type": "typing", "conversation": cid, "typing": true}))
        .await;
    nb.quiet().await;
}

#[tokio::test]
async fn native_messages_over_the_size_limit_close_only_that_socket() {
    let app = TestApp::spawn_with(|c| c.realtime.max_message = 16 * 1024).await;
    let (a, b) = (unique("a"), unique("b"));
    let cid = conversation(&app, &[&a, &b]).await;
    let mut na = Native::user(&app, &a).await;
    let mut nb = Native::user(&app, &b).await;
    // Just under the limit is an ordinary (refused) frame.
    na.send(json!({"v": 1, "type": "nope", "id": "x", "pad": "a".repeat(15 * 1024)}))
        .await;
    assert_eq!(na.recv().await["code"], "INVALID_FRAME");
    na.send(json!({"v": 1, "type": "nope", "pad": "a".repeat(20 * 1024)}))
        .await;
    assert!(na.next(Duration::from_secs(10)).await.is_none(), "closed");
    nb.sub(json!({"v": 1, "type": "subscribe", "id": "c", "conversation": cid}))
        .await;
}

/// Per-address login limits behind a reverse proxy: with the proxy trusted, each client named
/// in `X-Forwarded-For` has its own budget; without, the header is ignored (a client cannot
/// dodge the limit by sending one).
#[tokio::test]
async fn login_limits_key_on_forwarded_for_only_behind_trusted_proxies() {
    async fn login(app: &TestApp, forwarded: &str) -> StatusCode {
        app.client
            .post(app.url("login"))
            .header("X-Forwarded-For", forwarded)
            .json(
                &json!({"user": crate::helpers::ADMIN, "password": crate::helpers::ADMIN_PASSWORD}),
            )
            .send()
            .await
            .expect("request")
            .status()
    }
    // The harness's own admin login used one attempt of 127.0.0.1's budget.
    let app = TestApp::spawn_with(|c| {
        c.login_rate_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    for _ in 0..3 {
        assert_eq!(login(&app, "203.0.113.1").await, StatusCode::OK);
    }
    assert_eq!(
        login(&app, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy, and a chain through a second trusted hop.
    assert_eq!(login(&app, "203.0.113.2").await, StatusCode::OK);
    assert_eq!(login(&app, "203.0.113.3, 127.0.0.1").await, StatusCode::OK);

    let app = TestApp::spawn_with(|c| c.login_rate_per_minute = 3).await;
    assert_eq!(login(&app, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(login(&app, "198.51.100.2").await, StatusCode::OK);
    assert_eq!(
        login(&app, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "an untrusted peer's X-Forwarded-For is ignored"
    );
}
