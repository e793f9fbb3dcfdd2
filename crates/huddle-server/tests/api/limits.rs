//! Limits each API enforces with its own error: the maximum message length
//! (`Message_MaxAllowedSize`, 5000 characters by default) on every way a text enters.

use reqwest::StatusCode;
use serde_json::json;

use crate::ddp::Ddp;
use crate::helpers::{ClientAuth, TestApp};

const MAX: usize = 5000;

#[tokio::test]
async fn message_length_is_limited_on_every_api() {
    let app = TestApp::spawn().await;
    let at_limit = "a".repeat(MAX);
    let too_long = "a".repeat(MAX + 1);
    // Characters, not bytes: 5000 three-byte characters are allowed.
    let wide_at_limit = "€".repeat(MAX);

    // TalkJS-style backend: user and system messages, and edits.
    app.talk_ok("PUT", "users/alice", Some(json!({ "name": "Alice" })))
        .await;
    app.talk_ok(
        "PUT",
        "conversations/lim",
        Some(json!({ "participants": ["alice"] })),
    )
    .await;
    let user = json!([{ "text": too_long, "sender": "alice", "type": "UserMessage" }]);
    let system = json!([{ "text": too_long, "type": "SystemMessage" }]);
    for (kind, body) in [("user", user), ("system", system)] {
        let (status, v) = app
            .talk("POST", "conversations/lim/messages", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{kind}: {v}");
        assert_eq!(v["errorCode"], "MESSAGE_TOO_LONG", "{v}");
        assert!(v["reason"].as_str().unwrap().contains("5000"), "{v}");
    }
    let sent = app
        .talk_ok(
            "POST",
            "conversations/lim/messages",
            Some(json!([{ "text": wide_at_limit, "sender": "alice", "type": "UserMessage" }])),
        )
        .await;
    let mid = sent[0]["id"].as_str().expect("message id").to_string();
    let (status, v) = app
        .talk(
            "PUT",
            &format!("conversations/lim/messages/{mid}"),
            Some(json!({ "text": too_long })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorCode"], "MESSAGE_TOO_LONG");

    // TalkJS-style browser post.
    let alice = ClientAuth::Bare("alice".into());
    let (status, v) = app
        .client_call(
            &alice,
            "POST",
            "conversations/lim/messages",
            Some(json!({ "text": too_long })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorCode"], "MESSAGE_TOO_LONG");
    let (status, v) = app
        .client_call(
            &alice,
            "POST",
            "conversations/lim/messages",
            Some(json!({ "text": at_limit })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");

    // Rocket.Chat REST post and edit.
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "chat.postMessage",
            json!({ "roomId": rid, "text": too_long }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-message-size-exceeded");
    let posted = app
        .ok(
            &app.admin,
            "chat.postMessage",
            json!({ "roomId": rid, "text": at_limit }),
        )
        .await;
    let rc_mid = posted["message"]["_id"].as_str().unwrap().to_string();
    let (status, v) = app
        .post(
            Some(&app.admin),
            "chat.update",
            json!({ "roomId": rid, "msgId": rc_mid, "text": too_long }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-message-size-exceeded");

    // DDP sendMessage: as in Rocket.Chat, the refusal is swallowed (no result, an ephemeral note
    // to the sender) and nothing is stored; updateMessage refuses with the error.
    let mut d = Ddp::resume(&app, &app.admin).await;
    let r = d
        .ok("sendMessage", json!([{ "rid": rid, "msg": too_long }]))
        .await;
    assert_eq!(r, serde_json::Value::Null, "{r}");
    let stored = app
        .get_ok(
            &app.admin,
            "channels.messages",
            &[("roomId", rid.as_str()), ("count", "0")],
        )
        .await;
    let longest = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg"].as_str().unwrap_or_default().chars().count())
        .max()
        .unwrap_or(0);
    assert_eq!(longest, MAX, "nothing over the limit was stored");
    let e = d
        .err(
            "updateMessage",
            json!([{ "_id": rc_mid, "rid": rid, "msg": too_long }]),
        )
        .await;
    assert_eq!(e["error"], "error-message-size-exceeded", "{e}");
    d.ok("sendMessage", json!([{ "rid": rid, "msg": at_limit }]))
        .await;
    println!("figure: message length limit {MAX} characters refused at {} on 8 paths (TalkJS backend user/system post and edit, browser post, REST post and edit, DDP send and update)", MAX + 1);
}
