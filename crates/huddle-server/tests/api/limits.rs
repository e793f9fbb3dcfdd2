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
    let alice = ClientAuth::signed("alice");
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

    // REST chat.sendMessage, and the unit of length: UTF-16 code units, as Rocket.Chat's
    // `msg.length`, so an emoji beyond the Basic Multilingual Plane counts 2 on both APIs.
    let (status, v) = app
        .post(
            Some(&app.admin),
            "chat.sendMessage",
            json!({ "message": { "rid": rid, "msg": too_long } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-message-size-exceeded", "{v}");
    let emoji_at_limit = "😀".repeat(MAX / 2);
    let emoji_over = "😀".repeat(MAX / 2 + 1);
    app.ok(
        &app.admin,
        "chat.sendMessage",
        json!({ "message": { "rid": rid, "msg": emoji_at_limit } }),
    )
    .await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "chat.postMessage",
            json!({ "roomId": rid, "text": emoji_over }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let talk = |text: &str| json!([{ "text": text, "sender": "alice", "type": "UserMessage" }]);
    app.talk_ok(
        "POST",
        "conversations/lim/messages",
        Some(talk(&emoji_at_limit)),
    )
    .await;
    let (status, v) = app
        .talk(
            "POST",
            "conversations/lim/messages",
            Some(talk(&emoji_over)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorCode"], "MESSAGE_TOO_LONG", "{v}");
    println!("figure: message length limit {MAX} characters refused at {} on 9 paths (TalkJS backend user/system post and edit, browser post, REST post, send and edit, DDP send and update), in UTF-16 code units", MAX + 1);
}

/// Resume logins (REST and DDP) are counted apart from password attempts: bots behind one
/// address resuming do not use up the password budget, and each kind has its own 429.
#[tokio::test]
async fn resume_logins_are_limited_apart_from_passwords() {
    const PASSWORDS: u32 = 3;
    const RESUMES: u32 = 10;
    let app = TestApp::spawn_with(|c| {
        c.login_rate_per_minute = PASSWORDS;
        c.resume_login_rate_per_minute = RESUMES;
    })
    .await;
    // The admin's login at start-up was one password attempt.
    let token = app.admin.token.clone();
    let resume = || app.post(None, "login", json!({ "resume": token }));
    // Most of the resume budget, over REST and DDP alike.
    for _ in 0..RESUMES / 2 {
        let (status, v) = resume().await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let mut d = Ddp::connect(&app).await;
        d.ok("login", json!([{ "resume": token }])).await;
    }
    // Password logins still have their own budget (2 left of 3).
    for _ in 1..PASSWORDS {
        app.login(crate::helpers::ADMIN, crate::helpers::ADMIN_PASSWORD)
            .await;
    }
    let (status, _) = app
        .post(
            None,
            "login",
            json!({ "user": "admin", "password": crate::helpers::ADMIN_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ... which does not touch resumes; nor does the spent resume budget touch passwords.
    let (status, v) = resume().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    let mut d = Ddp::connect(&app).await;
    let e = d.err("login", json!([{ "resume": token }])).await;
    assert_eq!(e["error"], "too-many-requests", "{e}");
    println!("figure: per-IP budgets of {PASSWORDS} password and {RESUMES} resume logins a minute are spent independently (REST and DDP share each)");
}
