//! The answers of issue 14's last part (discussions, `chat.ignoreUser`, unread threads and
//! rooms with `lastMessage`) against Rocket.Chat's OpenAPI schemas. Kept apart from
//! `parity.rs` so each list stays readable; the fixture holds every list.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{fixture, violations, Spec};
use crate::helpers::TestApp;

/// The responses these cases look up (added to the fixture with `fixture::OPERATIONS`).
pub const OPERATIONS: &[(&str, &str, u16)] = &[
    ("get", "/api/v1/channels.info", 200),
    ("get", "/api/v1/chat.getDiscussions", 200),
    ("get", "/api/v1/chat.getThreadsList", 200),
    ("get", "/api/v1/chat.ignoreUser", 200),
    ("get", "/api/v1/chat.ignoreUser", 400),
    ("get", "/api/v1/groups.list", 200),
    ("get", "/api/v1/rooms.get", 200),
    ("get", "/api/v1/rooms.getDiscussions", 200),
    ("get", "/api/v1/rooms.info", 200),
    ("post", "/api/v1/rooms.createDiscussion", 200),
];

type Case = (
    &'static str,
    (&'static str, &'static str, u16),
    (StatusCode, Value),
);

#[tokio::test]
async fn discussion_and_last_message_answers_match_rocket_chat_openapi_schemas() {
    let spec = Spec::load();
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (cid, _) = app.room(&alice, "c", &[&bob.username]).await;
    let (gid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let mut cases: Vec<Case> = vec![];

    // A last message with what Rocket.Chat's lastMessage carries: reactions, a pin, a thread.
    let posted = app
        .ok(
            &bob,
            "chat.postMessage",
            json!({ "roomId": cid, "text": "topic" }),
        )
        .await;
    let mid = posted["message"]["_id"].as_str().unwrap().to_string();
    app.ok(
        &alice,
        "chat.postMessage",
        json!({ "roomId": cid, "text": "reply", "tmid": mid }),
    )
    .await;
    let last = app
        .ok(
            &bob,
            "chat.postMessage",
            json!({ "roomId": cid, "text": "latest" }),
        )
        .await;
    let last_id = last["message"]["_id"].as_str().unwrap().to_string();
    app.ok(
        &alice,
        "chat.react",
        json!({ "messageId": last_id, "emoji": "smile" }),
    )
    .await;
    app.ok(&alice, "chat.pinMessage", json!({ "messageId": last_id }))
        .await;
    app.ok(
        &alice,
        "chat.postMessage",
        json!({ "roomId": gid, "text": "in the group" }),
    )
    .await;
    cases.push((
        "channels.info with lastMessage",
        ("get", "/api/v1/channels.info", 200),
        app.get(Some(&alice), "channels.info", &[("roomId", &cid)])
            .await,
    ));
    cases.push((
        "rooms.info with lastMessage",
        ("get", "/api/v1/rooms.info", 200),
        app.get(Some(&alice), "rooms.info", &[("roomId", &gid)])
            .await,
    ));
    cases.push((
        "groups.list with lastMessage",
        ("get", "/api/v1/groups.list", 200),
        app.get(Some(&alice), "groups.list", &[]).await,
    ));
    cases.push((
        "rooms.get with lastMessage",
        ("get", "/api/v1/rooms.get", 200),
        app.get(Some(&alice), "rooms.get", &[]).await,
    ));
    cases.push((
        "chat.getThreadsList unread",
        ("get", "/api/v1/chat.getThreadsList", 200),
        app.get(
            Some(&bob),
            "chat.getThreadsList",
            &[("rid", &cid), ("type", "unread")],
        )
        .await,
    ));

    let created = app
        .post(
            Some(&alice),
            "rooms.createDiscussion",
            json!({ "prid": cid, "pmid": mid, "t_name": "Plans", "reply": "first" }),
        )
        .await;
    cases.push((
        "rooms.createDiscussion",
        ("post", "/api/v1/rooms.createDiscussion", 200),
        created,
    ));
    cases.push((
        "rooms.getDiscussions",
        ("get", "/api/v1/rooms.getDiscussions", 200),
        app.get(Some(&bob), "rooms.getDiscussions", &[("roomId", &cid)])
            .await,
    ));
    cases.push((
        "chat.getDiscussions",
        ("get", "/api/v1/chat.getDiscussions", 200),
        app.get(Some(&bob), "chat.getDiscussions", &[("roomId", &cid)])
            .await,
    ));
    cases.push((
        "chat.ignoreUser",
        ("get", "/api/v1/chat.ignoreUser", 200),
        app.get(
            Some(&alice),
            "chat.ignoreUser",
            &[("rid", &cid), ("userId", &bob.user_id)],
        )
        .await,
    ));
    cases.push((
        "chat.ignoreUser of a non-member",
        ("get", "/api/v1/chat.ignoreUser", 400),
        app.get(
            Some(&alice),
            "chat.ignoreUser",
            &[("rid", &cid), ("userId", "nobody")],
        )
        .await,
    ));

    let used: BTreeSet<String> = cases
        .iter()
        .map(|(_, (m, p, s), _)| fixture::key(m, p, *s))
        .collect();
    let listed: BTreeSet<String> = OPERATIONS
        .iter()
        .map(|&(m, p, s)| fixture::key(m, p, s))
        .collect();
    assert_eq!(
        used, listed,
        "OPERATIONS must list exactly what these cases check"
    );
    let mut failures = vec![];
    for (label, (method, path, status), (got_status, body)) in &cases {
        if got_status.as_u16() != *status {
            failures.push(format!(
                "{label}: expected HTTP {status}, got {got_status}: {body}"
            ));
            continue;
        }
        let Some(schema) = spec.schema(method, path, *status) else {
            failures.push(format!("{label}: no schema for {method} {path} {status}"));
            continue;
        };
        for (at, message) in violations(&schema, body) {
            failures.push(format!("{label}: at {at}: {message}: {body}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
