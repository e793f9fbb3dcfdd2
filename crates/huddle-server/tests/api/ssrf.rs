//! Webhook targets and SSRF: with `webhook_allow_private` off (the default), targets on loopback,
//! private, link-local and other non-public addresses are refused when registered (address
//! literals in every spelling, and names resolving there), and deliveries to such targets
//! already stored are refused at send time (literals before the request, names by the checking
//! resolver) and recorded as failed, the receiver seeing nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::Router;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{unique, TestApp};

#[tokio::test]
async fn private_webhook_targets_are_refused_unless_allowed() {
    let mut app = TestApp::spawn_with(|c| c.webhook_allow_private = false).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://172.20.0.1/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0:9/hook",
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
    ] {
        let (status, v) = app
            .talk("POST", "webhooks", Some(json!({ "url": url })))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {v}");
        assert_eq!(v["errorCode"], "INVALID_URL", "{url}: {v}");
        assert!(
            v["reason"]
                .as_str()
                .unwrap()
                .contains("webhook_allow_private"),
            "{v}"
        );
    }
    let listed = app.talk_ok("GET", "webhooks", None).await;
    assert_eq!(listed["data"], json!([]), "nothing was stored");

    // Endpoints stored while allowed (or by an older version) are refused at delivery.
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = got.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let receiver = Router::new().route(
        "/hook",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await });
    app.reconfigure(|c| c.webhook_allow_private = true);
    app.restart().await;
    let mut ids = vec![];
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
    ] {
        let v = app
            .talk_ok(
                "POST",
                "webhooks",
                Some(json!({ "url": url, "events": ["user.created"] })),
            )
            .await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // While allowed, a delivery arrives (the receiver works).
    app.talk_ok(
        "PUT",
        &format!("users/{}", unique("u")),
        Some(json!({"name": "U"})),
    )
    .await;
    for _ in 0..200 {
        if got.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "both endpoints reached while allowed"
    );
    app.reconfigure(|c| c.webhook_allow_private = false);
    app.restart().await;
    app.talk_ok(
        "PUT",
        &format!("users/{}", unique("v")),
        Some(json!({"name": "V"})),
    )
    .await;
    // Each endpoint's newest delivery records the refusal (literal and name alike).
    for wid in &ids {
        let mut last = Value::Null;
        for _ in 0..200 {
            let log = app
                .talk_ok("GET", &format!("webhooks/{wid}/deliveries"), None)
                .await;
            last = log["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["deliveredAt"].is_null() && d["lastError"].is_string())
                .cloned()
                .unwrap_or(Value::Null);
            if !last.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let err = last["lastError"].as_str().unwrap_or_default();
        assert!(err.contains("webhook_allow_private"), "{wid}: {last}");
    }
    assert_eq!(
        got.lock().unwrap().len(),
        2,
        "nothing more reached the receiver"
    );
    println!("figure: 14 private targets refused at registration; 2 stored ones (literal, name) refused at delivery");
}
