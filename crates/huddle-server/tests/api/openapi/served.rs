//! The served OpenAPI descriptions (`/api/openapi.json`, `/v1/openapi.json`) against the server
//! that serves them: public and cacheable; every described operation is routed (never the
//! not-found fallback, never 405); what each says about auth is what the server does (an
//! operation that needs credentials answers 401 without them, in the described error shape; a
//! public one does not); and every Rocket.Chat operation the committed fixture knows is described.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{fixture, resolve};
use crate::helpers::{TestApp, APP_ID};

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

async fn description(app: &TestApp, path: &str) -> Value {
    let res = app.client.get(app.url(path)).send().await.expect("request");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        header("content-type").starts_with("application/json"),
        "{path}"
    );
    assert!(header("cache-control").starts_with("public"), "{path}");
    let doc: Value = res.json().await.expect("JSON");
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3."),
        "{path}: {}",
        doc["openapi"]
    );
    doc
}

/// `(method, path)` of every operation of a description.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if item.get(*m).is_some() {
                ops.push((m.to_string(), path.clone()));
            }
        }
    }
    ops
}

/// A concrete URL path: the test app's id for `{app}`, a made-up id for the others.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{app}" => APP_ID.to_string(),
            s if s.starts_with('{') => "no-such-id".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether an operation's `security` lets an anonymous caller in (none, or an empty
/// requirement among the alternatives).
fn anonymous_allowed(op: &Value) -> bool {
    match op.get("security").and_then(Value::as_array) {
        None => true,
        Some(reqs) => reqs
            .iter()
            .any(|r| r.as_object().is_some_and(|o| o.is_empty())),
    }
}

/// Calls every operation without credentials; checks routing and the described auth.
async fn check_against_server(app: &TestApp, doc: &Value) -> usize {
    let mut checked = 0;
    for (method, path) in operations(doc) {
        let op = &doc["paths"][&path][&method];
        let mut rb = app.client.request(
            method.to_uppercase().parse().expect("method"),
            app.url(&concrete(&path)),
        );
        if method != "get" && method != "delete" {
            rb = rb.json(&json!({}));
        }
        let res = rb.send().await.expect("request");
        let status = res.status();
        // Images (avatars) are not JSON; every other answer is.
        let body: Value =
            serde_json::from_slice(&res.bytes().await.expect("body")).unwrap_or(Value::Null);
        let label = format!("{} {path}", method.to_uppercase());
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{label} is described but not routed"
        );
        assert!(
            !(status == StatusCode::NOT_FOUND && body["message"] == "API endpoint not found"),
            "{label} is described but not routed: {body}"
        );
        assert!(
            status.as_u16() < 500,
            "{label} answered {status} without credentials: {body}"
        );
        if anonymous_allowed(op) {
            // A public operation answers 401 only when it checks credentials of its own
            // (`login`), and then says so.
            assert!(
                status != StatusCode::UNAUTHORIZED || op["responses"].get("401").is_some(),
                "{label} is described as public: {body}"
            );
        } else {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{label} needs credentials: {body}"
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            let schema = resolve(
                doc,
                &op["responses"]["401"]["content"]["application/json"]["schema"],
                0,
            );
            let validator = jsonschema::validator_for(&schema).expect("401 schema compiles");
            let errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{label}: 401 body {body} is not the described shape: {errors:?}"
            );
        }
        checked += 1;
    }
    checked
}

#[tokio::test]
async fn rocketchat_description_matches_the_router() {
    let app = TestApp::spawn().await;
    let doc = description(&app, "/api/openapi.json").await;
    let ops = operations(&doc);
    for (_, path) in &ops {
        assert!(
            path == "/api/info" || path.starts_with("/api/v1/") || path.starts_with("/avatar/"),
            "{path} is not a Rocket.Chat API path"
        );
    }
    // Rocket.Chat's own description names these paths (the fixture lists the ones Huddle
    // implements): each must be described, with Rocket.Chat's spelling of its parameters.
    let text = std::fs::read_to_string(fixture::fixture_path()).expect("fixture");
    let fixture: Value = serde_json::from_str(&text).expect("fixture JSON");
    let described: BTreeSet<(String, String)> = ops.iter().cloned().collect();
    for key in fixture["responses"].as_object().expect("responses").keys() {
        let mut parts = key.split(' ');
        let (m, p) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        assert!(
            described.contains(&(m.to_string(), p.to_string())),
            "{m} {p} (in Rocket.Chat's description) is not described"
        );
    }
    let checked = check_against_server(&app, &doc).await;
    println!(
        "figure: /api/openapi.json: {checked} operations, each routed and with the described auth"
    );
    assert!(checked > 150, "only {checked} operations described");
}

#[tokio::test]
async fn talkjs_description_matches_the_router() {
    let app = TestApp::spawn().await;
    let doc = description(&app, "/v1/openapi.json").await;
    let ops = operations(&doc);
    for (_, path) in &ops {
        assert!(
            path.starts_with("/v1/{app}/"),
            "{path} is not a TalkJS-style path"
        );
    }
    let checked = check_against_server(&app, &doc).await;
    println!(
        "figure: /v1/openapi.json: {checked} operations, each routed and with the described auth"
    );
    assert!(checked > 35, "only {checked} operations described");
}

/// The request fields the handlers read are described, with the types they read (a sample:
/// one field of each kind, both APIs).
#[tokio::test]
async fn request_fields_are_described() {
    let app = TestApp::spawn().await;
    let rc = description(&app, "/api/openapi.json").await;
    let body = |doc: &Value, m: &str, p: &str| {
        resolve(
            doc,
            &doc["paths"][p][m]["requestBody"]["content"]["application/json"]["schema"],
            0,
        )
    };
    let update = body(&rc, "post", "/api/v1/chat.update");
    assert_eq!(update["properties"]["text"]["type"], "string");
    let required: BTreeSet<&str> = update["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, BTreeSet::from(["roomId", "msgId", "text"]));
    let query: Vec<&str> = rc["paths"]["/api/v1/channels.history"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in ["roomId", "roomName", "latest", "oldest", "count"] {
        assert!(
            query.contains(&name),
            "channels.history lacks {name}: {query:?}"
        );
    }
    assert_eq!(
        rc["paths"]["/api/v1/chat.update"]["post"]["security"],
        json!([{ "authToken": [], "userId": [] }])
    );
    let talk = description(&app, "/v1/openapi.json").await;
    let messages = body(&talk, "post", "/v1/{app}/conversations/{cid}/messages");
    assert_eq!(messages["type"], "array");
    assert_eq!(messages["items"]["properties"]["sender"]["type"], "string");
    let schemes = &talk["components"]["securitySchemes"]["secretKey"];
    assert_eq!(
        (schemes["type"].as_str(), schemes["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    let error = &talk["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["errorCode"]));
}
