//! Operations: `huddle serve --otlp-endpoint` exports its request and write spans to an
//! OpenTelemetry collector over OTLP/HTTP. The collector here is a tiny receiver this test runs
//! (axum, decoding the protobuf bodies with opentelemetry-proto); with it down, requests still
//! succeed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use prost::Message;
use serde_json::{json, Value};

const ADMIN: &str = "otel-admin";
const PASSWORD: &str = "otel-pass-123";

/// A span as received: its name and its attributes as text.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Received {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Collector {
    posts: usize,
    spans: Vec<Received>,
}

async fn receive(State(c): State<Arc<Mutex<Collector>>>, body: Bytes) -> Vec<u8> {
    let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut c = c.lock().unwrap();
    c.posts += 1;
    for span in req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
    {
        let attrs = span
            .attributes
            .iter()
            .map(|kv| {
                let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(Any::StringValue(s)) => s.clone(),
                    Some(Any::IntValue(i)) => i.to_string(),
                    Some(Any::BoolValue(b)) => b.to_string(),
                    Some(Any::DoubleValue(d)) => d.to_string(),
                    other => format!("{other:?}"),
                };
                (kv.key.clone(), v)
            })
            .collect();
        c.spans.push(Received {
            name: span.name.clone(),
            attrs,
        });
    }
    ExportTraceServiceResponse::default().encode_to_vec()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// `huddle serve` on a fresh SQLite database, exporting to `endpoint`; ready when it answers.
async fn serve(dir: &std::path::Path, endpoint: &str, http: &reqwest::Client) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["--otlp-endpoint", endpoint])
        .env(
            "HUDDLE_DATABASE_URL",
            format!("sqlite://{}", dir.join("h.db").display()),
        )
        .env("HUDDLE_ADMIN_USERNAME", ADMIN)
        .env("HUDDLE_ADMIN_PASSWORD", PASSWORD)
        .env("HUDDLE_LOGIN_RATE_PER_MINUTE", "0")
        // Batches every 100 ms instead of 5 s, so the test does not wait long for them.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("HUDDLE_CONFIG")
        .env_remove("HUDDLE_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    // Readiness is polled a bounded number of times, never timed as an assertion.
    for _ in 0..600 {
        if http.get(format!("{base}/api/info")).send().await.is_ok() {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("huddle serve did not come up");
}

/// Logs the admin in and posts a message to #general (a write through the one write path).
async fn login_and_post(http: &reqwest::Client, base: &str, request_id: &str) -> Value {
    let login: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({ "user": ADMIN, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["data"]["authToken"].as_str().expect("logged in");
    let uid = login["data"]["userId"].as_str().unwrap();
    let res = http
        .post(format!("{base}/api/v1/chat.postMessage"))
        .header("X-Auth-Token", token)
        .header("X-User-Id", uid)
        .header("X-Request-Id", request_id)
        .json(&json!({ "channel": "#general", "text": "traced" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn request_and_write_spans_reach_the_collector() {
    let collector = Arc::new(Mutex::new(Collector::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .with_state(collector.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (server, base) = serve(dir.path(), &endpoint, &http).await;
    let info = http
        .get(format!("{base}/api/info"))
        .header("X-Request-Id", "otel-info-1")
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    login_and_post(&http, &base, "otel-post-1").await;

    // The spans arrive in batches; poll (a bounded number of times) until both are there.
    let found = |c: &Collector| {
        let info = c
            .spans
            .iter()
            .find(|s| s.attr("request_id") == Some("otel-info-1"))
            .cloned();
        let post = c
            .spans
            .iter()
            .find(|s| s.attr("request_id") == Some("otel-post-1"))
            .cloned();
        let write = c
            .spans
            .iter()
            .find(|s| s.name == "write" && s.attr("change").is_some())
            .cloned();
        (info, post, write)
    };
    let mut spans = (None, None, None);
    for _ in 0..300 {
        spans = found(&collector.lock().unwrap());
        if spans.0.is_some() && spans.1.is_some() && spans.2.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (info, post, write) = spans;
    let all = format!("{:#?}", collector.lock().unwrap().spans);
    let info = info.unwrap_or_else(|| panic!("no span for the info request in {all}"));
    assert_eq!(info.name, "GET /api/info");
    assert_eq!(info.attr("http.route"), Some("/api/info"));
    assert_eq!(info.attr("http.request.method"), Some("GET"));
    assert_eq!(info.attr("http.response.status_code"), Some("200"));
    let post = post.unwrap_or_else(|| panic!("no span for the post in {all}"));
    assert_eq!(post.attr("http.route"), Some("/api/v1/chat.postMessage"));
    assert_eq!(post.attr("http.response.status_code"), Some("200"));
    let write = write.unwrap_or_else(|| panic!("no write span in {all}"));
    assert_eq!(write.attr("room"), Some("GENERAL"), "{write:?}");
    assert!(write.attr("seq").is_some(), "{write:?}");
    drop(server);
    let c = collector.lock().unwrap();
    println!(
        "figure: {} spans in {} OTLP/HTTP exports (request spans with route, status and request id; the write span)",
        c.spans.len(),
        c.posts
    );
}

#[tokio::test]
async fn requests_succeed_with_the_collector_down() {
    // A port nothing listens on: every export fails, on the exporter's thread.
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (server, base) = serve(dir.path(), &endpoint, &http).await;
    let mut ok = 0;
    for i in 0..50 {
        let res = http
            .get(format!("{base}/api/info"))
            .header("X-Request-Id", format!("down-{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        ok += 1;
    }
    login_and_post(&http, &base, "down-post").await;
    drop(server);
    println!("figure: {ok} requests and a post answered 200 with the OTLP collector down");
}
