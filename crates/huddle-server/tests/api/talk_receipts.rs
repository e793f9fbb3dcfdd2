//! Read receipts from the members' read state: TalkJS's `readBy` and `message.read` after reads
//! from every path (browser, backend, Rocket.Chat's `subscriptions.read`), and Rocket.Chat's
//! `chat.getMessageReadReceipts`.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{unique, ClientAuth, TestApp};
use crate::talk_notify::{endpoint, settled};

/// (reader, message text) of every `message.read` received, with how many times each came.
fn reads(bodies: &[Value]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for b in bodies.iter().filter(|b| b["type"] == "message.read") {
        let key = (
            b["data"]["recipient"]["id"].as_str().unwrap().to_string(),
            b["data"]["message"]["text"].as_str().unwrap().to_string(),
        );
        *out.entry(key).or_default() += 1;
    }
    out
}

/// `message.read` webhooks are queued from the event hub after the read answered: every read
/// before the sentinel (dan reading a message of its own) is queued by the time the sentinel's
/// webhook arrives, since the hub's writer queues in publish order; then the endpoint's log is
/// final and `settled` waits for all of it.
async fn after_sentinel(
    app: &TestApp,
    cid: &str,
    wid: &str,
    got: &crate::talk_webhooks::Received,
    text: &str,
) -> Vec<Value> {
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/messages"),
        Some(json!([{ "text": text, "sender": "ann", "type": "UserMessage" }])),
    )
    .await;
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/readBy/dan"),
        Some(json!({})),
    )
    .await;
    for _ in 0..200 {
        if reads(&settled(app, wid, got).await).contains_key(&key("dan", text)) {
            return settled(app, wid, got).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sentinel's message.read never arrived");
}

fn key(reader: &str, text: &str) -> (String, String) {
    (reader.to_string(), text.to_string())
}

fn read_by(v: &Value) -> BTreeSet<String> {
    v["readBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn read_by_and_message_read_follow_reads_from_every_api() {
    let app = TestApp::spawn().await;
    let (wid, got) = endpoint(&app, &["message.read"]).await;
    let cal = app.user("cal").await;
    let cid = unique("conv");
    app.talk_ok("PUT", &format!("conversations/{cid}"), Some(json!({})))
        .await;
    for u in ["ann", "bob", "dan"] {
        app.talk_ok("PUT", &format!("users/{u}"), Some(json!({ "name": u })))
            .await;
    }
    for u in ["ann", "bob", "dan", cal.user_id.as_str()] {
        app.talk_ok(
            "PUT",
            &format!("conversations/{cid}/participants/{u}"),
            Some(json!({})),
        )
        .await;
    }
    let post = |text: &'static str| {
        let (app, cid) = (&app, cid.clone());
        async move {
            app.talk_ok(
                "POST",
                &format!("conversations/{cid}/messages"),
                Some(json!([{ "text": text, "sender": "ann", "type": "UserMessage" }])),
            )
            .await[0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let first = post("first").await;
    let messages = app
        .talk_ok("GET", &format!("conversations/{cid}/messages"), None)
        .await;
    assert_eq!(
        messages["data"][0]["readBy"],
        json!([]),
        "nobody read it yet"
    );

    // bob in his browser, cal through Rocket.Chat, dan by the backend on his behalf.
    let bob = ClientAuth::signed("bob");
    let (status, v) = app
        .client_call(&bob, "POST", &format!("conversations/{cid}/read"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    app.ok(&cal, "subscriptions.read", json!({ "rid": cid }))
        .await;
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/readBy/dan"),
        Some(json!({})),
    )
    .await;
    // The sender reading her own message reports nothing; reading twice reports once.
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/readBy/ann"),
        Some(json!({})),
    )
    .await;
    app.client_call(&bob, "POST", &format!("conversations/{cid}/read"), None)
        .await;

    let bodies = after_sentinel(&app, &cid, &wid, &got, "sentinel 1").await;
    let want: BTreeMap<_, _> = [
        (key("bob", "first"), 1),
        (key(&cal.user_id, "first"), 1),
        (key("dan", "first"), 1),
        (key("dan", "sentinel 1"), 1),
    ]
    .into();
    assert_eq!(reads(&bodies), want, "{bodies:#?}");
    let dan_read = bodies
        .iter()
        .find(|b| b["data"]["recipient"]["id"] == "dan")
        .unwrap();
    assert_eq!(dan_read["data"]["message"]["id"], json!(first));
    assert_eq!(dan_read["data"]["sender"]["id"], "ann");
    assert_eq!(dan_read["data"]["conversation"]["id"], json!(cid));
    assert!(read_by(&dan_read["data"]["message"]).contains("dan"));

    // readBy: the three readers, never the sender; the same for the backend, the message alone
    // and the browser.
    let everyone: BTreeSet<String> = ["bob", "dan", cal.user_id.as_str()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let listed = app
        .talk_ok("GET", &format!("conversations/{cid}/messages"), None)
        .await;
    assert_eq!(listed["data"][1]["text"], "first");
    assert_eq!(read_by(&listed["data"][1]), everyone, "{listed}");
    let one = app
        .talk_ok(
            "GET",
            &format!("conversations/{cid}/messages/{first}"),
            None,
        )
        .await;
    assert_eq!(read_by(&one), everyone);
    let (_, browser) = app
        .client_call(&bob, "GET", &format!("conversations/{cid}/messages"), None)
        .await;
    assert_eq!(read_by(&browser["data"][1]), everyone);

    // A new message: read by bob only, reported once, and readBy tells the two apart.
    post("second").await;
    app.client_call(&bob, "POST", &format!("conversations/{cid}/read"), None)
        .await;
    let bodies = after_sentinel(&app, &cid, &wid, &got, "sentinel 2").await;
    let counts = reads(&bodies);
    assert_eq!(counts.get(&key("bob", "second")), Some(&1));
    // bob's read also covers the first sentinel, dan's sentinel read also "second": once each.
    assert_eq!(counts.get(&key("bob", "sentinel 1")), Some(&1));
    assert_eq!(counts.get(&key("dan", "second")), Some(&1));
    assert_eq!(counts.len(), 8, "{counts:?}");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let listed = app
        .talk_ok("GET", &format!("conversations/{cid}/messages"), None)
        .await;
    assert_eq!(listed["data"][1]["text"], "second");
    assert_eq!(
        read_by(&listed["data"][1]),
        BTreeSet::from(["bob".to_string(), "dan".to_string()])
    );

    // Rocket.Chat's receipts of the first message, as cal (a member) asks.
    let r = app
        .get_ok(
            &cal,
            "chat.getMessageReadReceipts",
            &[("messageId", &first)],
        )
        .await;
    let receipts = r["receipts"].as_array().unwrap();
    let users: BTreeSet<String> = receipts
        .iter()
        .map(|x| x["userId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(users, everyone, "{r}");
    let cals = receipts
        .iter()
        .find(|x| x["userId"] == json!(cal.user_id))
        .unwrap();
    assert_eq!(cals["messageId"], json!(first));
    assert_eq!(cals["roomId"], json!(cid));
    assert_eq!(cals["user"]["username"], json!(cal.username));
    assert!(cals["ts"].as_str().unwrap().ends_with('Z'), "{cals}");
}

#[tokio::test]
async fn read_receipts_are_refused_where_the_message_is_not_visible() {
    let app = TestApp::spawn().await;
    let member = app.user("mem").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&app.admin, "p", &[&member.username]).await;
    let posted = app
        .ok(
            &app.admin,
            "chat.postMessage",
            json!({ "roomId": rid, "text": "secret" }),
        )
        .await;
    let mid = posted["message"]["_id"].as_str().unwrap().to_string();
    app.ok(&member, "subscriptions.read", json!({ "rid": rid }))
        .await;
    // (who, messageId, expected status)
    let cases: Vec<(&str, &crate::helpers::Session, &str, StatusCode)> = vec![
        ("member", &member, mid.as_str(), StatusCode::OK),
        (
            "outsider of a private group",
            &outsider,
            mid.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        ("unknown message", &member, "nope", StatusCode::BAD_REQUEST),
        ("empty id", &member, "", StatusCode::BAD_REQUEST),
    ];
    for (name, who, id, want) in cases {
        let (status, v) = app
            .get(
                Some(who),
                "chat.getMessageReadReceipts",
                &[("messageId", id)],
            )
            .await;
        assert_eq!(status, want, "{name}: {v}");
        if want != StatusCode::OK {
            assert_eq!(v["success"], json!(false), "{name}: {v}");
            assert!(v.get("receipts").is_none(), "{name} leaks receipts: {v}");
        }
    }
    let (status, _) = app
        .get(None, "chat.getMessageReadReceipts", &[("messageId", &mid)])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn backend_mark_read_refusals() {
    let app = TestApp::spawn().await;
    let cid = unique("conv");
    app.talk_ok("PUT", "users/pam", Some(json!({ "name": "Pam" })))
        .await;
    app.talk_ok("PUT", "users/stranger", Some(json!({ "name": "S" })))
        .await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": ["pam"] })),
    )
    .await;
    // (case, bearer, path, expected status, expected errorCode)
    let cases: Vec<(&str, Option<&str>, String, StatusCode, &str)> = vec![
        (
            "participant",
            Some(crate::helpers::SECRET),
            format!("conversations/{cid}/readBy/pam"),
            StatusCode::OK,
            "",
        ),
        (
            "not a participant",
            Some(crate::helpers::SECRET),
            format!("conversations/{cid}/readBy/stranger"),
            StatusCode::NOT_FOUND,
            "PARTICIPANT_NOT_FOUND",
        ),
        (
            "unknown conversation",
            Some(crate::helpers::SECRET),
            "conversations/nope/readBy/pam".into(),
            StatusCode::NOT_FOUND,
            "CONVERSATION_NOT_FOUND",
        ),
        (
            "no credentials",
            None,
            format!("conversations/{cid}/readBy/pam"),
            StatusCode::UNAUTHORIZED,
            "",
        ),
        (
            "wrong secret",
            Some("sk_test_wrong"),
            format!("conversations/{cid}/readBy/pam"),
            StatusCode::UNAUTHORIZED,
            "",
        ),
    ];
    for (name, bearer, path, want, code) in cases {
        let (status, v) = app.talk_with(bearer, "POST", &path, Some(json!({}))).await;
        assert_eq!(status, want, "{name}: {v}");
        if !code.is_empty() {
            assert_eq!(v["errorCode"], code, "{name}: {v}");
        }
    }
    // Only the participant's read state moved.
    let conv = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(
        conv["participants"]["pam"]["isUnread"],
        json!(false),
        "{conv}"
    );
}
