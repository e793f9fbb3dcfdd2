//! The browser API: identity (user token, signature; a bare id only while identity verification
//! is turned off), and the two browser-sync settings.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{unique, ClientAuth, TestApp, APP_ID, SECRET};
use crate::talk_backend::chrono_now;

pub fn user_token(sub: &str, exp_in: i64, secret: &str) -> String {
    encode(
        &Header::default(),
        &json!({ "tokenType": "user", "iss": APP_ID, "sub": sub, "exp": chrono_now() + exp_in }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn identity_by_token_or_signature() {
    let app = TestApp::spawn().await;
    app.talk_ok("PUT", "users/alice", Some(json!({ "name": "Alice" })))
        .await;
    let sig = huddle_core::services::sign_user_id(SECRET, "alice");
    for auth in [
        ClientAuth::Token(user_token("alice", 60, SECRET)),
        ClientAuth::Signed("alice".into(), sig.clone()),
        ClientAuth::Signed("alice".into(), sig.to_uppercase()),
    ] {
        let (status, v) = app.client_call(&auth, "GET", "me", None).await;
        assert_eq!(status, StatusCode::OK, "{auth:?}: {v}");
        assert_eq!(v["user"]["id"], json!("alice"));
    }
    for auth in [
        ClientAuth::Token(user_token("alice", -60, SECRET)),
        ClientAuth::Token(user_token("alice", 60, "sk_wrong")),
        ClientAuth::Signed("alice".into(), "deadbeef".into()),
        ClientAuth::Signed(
            "alice".into(),
            huddle_core::services::sign_user_id(SECRET, "bob"),
        ),
        ClientAuth::Bare("alice".into()),
    ] {
        let (status, _) = app.client_call(&auth, "GET", "me", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
    }
}

#[tokio::test]
async fn a_fresh_server_refuses_bare_user_ids() {
    let app = TestApp::spawn().await;
    app.talk_ok("PUT", "users/alice", Some(json!({ "name": "Alice" })))
        .await;
    assert_eq!(
        app.talk_ok("GET", "settings", None).await["identityVerification"],
        json!(true),
        "identity verification is on by default"
    );
    let (status, v) = app
        .client_call(&ClientAuth::Bare("alice".into()), "GET", "me", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v,
        json!({
            "errorCode": "UNAUTHENTICATED",
            "reason": "Identity verification is required: send a user token, or the user id with its signature"
        })
    );
}

#[tokio::test]
async fn bare_user_ids_work_only_while_verification_is_turned_off() {
    let mut app = TestApp::spawn().await;
    app.talk_ok("PUT", "users/alice", Some(json!({ "name": "Alice" })))
        .await;
    let bare = ClientAuth::Bare("alice".into());
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "identityVerification": false })),
    )
    .await;
    let (status, v) = app.client_call(&bare, "GET", "me", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["user"]["id"], json!("alice"));
    // The stored choice survives a restart: defaults never overwrite a stored setting.
    app.restart().await;
    assert_eq!(
        app.talk_ok("GET", "settings", None).await["identityVerification"],
        json!(false)
    );
    assert_eq!(
        app.client_call(&bare, "GET", "me", None).await.0,
        StatusCode::OK
    );
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "identityVerification": true })),
    )
    .await;
    let (status, v) = app.client_call(&bare, "GET", "me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(
        app.client_call(&ClientAuth::signed("alice"), "GET", "me", None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn insecure_browser_sessions_turns_verification_off_at_start() {
    let app = TestApp::spawn_with(|c| c.insecure_browser_sessions = true).await;
    app.talk_ok("PUT", "users/alice", Some(json!({ "name": "Alice" })))
        .await;
    assert_eq!(
        app.talk_ok("GET", "settings", None).await["identityVerification"],
        json!(false)
    );
    let (status, v) = app
        .client_call(&ClientAuth::Bare("alice".into()), "GET", "me", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn frontend_writes_follow_the_sync_settings_but_messaging_does_not() {
    let app = TestApp::spawn().await;
    let alice = ClientAuth::signed("alice");
    // User sync on: the browser may create its user and others.
    assert_eq!(
        app.client_call(
            &alice,
            "PUT",
            "users/alice",
            Some(json!({ "name": "Alice" }))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.client_call(&alice, "PUT", "users/bob", Some(json!({ "name": "Bob" })))
            .await
            .0,
        StatusCode::OK
    );
    let cid = unique("conv");
    assert_eq!(
        app.client_call(
            &alice,
            "PUT",
            &format!("conversations/{cid}"),
            Some(json!({ "subject": "s" }))
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.client_call(
            &alice,
            "PUT",
            &format!("conversations/{cid}/participants/bob"),
            Some(json!({}))
        )
        .await
        .0,
        StatusCode::OK
    );
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert!(
        c["participants"]["alice"].is_object(),
        "the creating browser user joins"
    );
    assert!(c["participants"]["bob"].is_object());

    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "browserUserSync": false, "browserConversationSync": false })),
    )
    .await;
    let (status, v) = app
        .client_call(
            &alice,
            "PUT",
            "users/alice",
            Some(json!({ "name": "Mallory" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["errorCode"], json!("BROWSER_SYNC_DISALLOWED"));
    for (method, path) in [
        ("PUT", format!("conversations/{cid}")),
        ("PUT", format!("conversations/{cid}/participants/alice")),
        ("DELETE", format!("conversations/{cid}/participants/bob")),
    ] {
        let (status, v) = app
            .client_call(&alice, method, &path, Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {v}");
    }
    let (status, _) = app
        .client_call(
            &alice,
            "PATCH",
            &format!("conversations/{cid}/participants/bob"),
            Some(json!({ "notify": false })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "someone else's settings");
    assert_eq!(
        app.client_call(
            &alice,
            "PATCH",
            &format!("conversations/{cid}/participants/alice"),
            Some(json!({ "notify": false }))
        )
        .await
        .0,
        StatusCode::OK,
        "own notify is allowed"
    );
    assert_eq!(
        app.client_call(
            &alice,
            "PATCH",
            &format!("conversations/{cid}/participants/alice"),
            Some(json!({ "access": "Read" }))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (status, v) = app
        .client_call(
            &alice,
            "POST",
            &format!("conversations/{cid}/messages"),
            Some(json!({ "text": "still works" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "sending is not affected: {v}");
    assert_eq!(
        app.client_call(
            &alice,
            "GET",
            &format!("conversations/{cid}/messages"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.client_call(&alice, "GET", "users/alice", None).await.0,
        StatusCode::OK,
        "reading users still works"
    );
    assert_eq!(
        app.client_call(&alice, "POST", &format!("conversations/{cid}/read"), None)
            .await
            .0,
        StatusCode::OK
    );
    let inbox = app
        .client_call(&alice, "GET", "conversations", None)
        .await
        .1;
    assert_eq!(inbox["data"][0]["id"], json!(cid));
    // Leaving oneself is allowed even with conversation sync off.
    assert_eq!(
        app.client_call(
            &alice,
            "DELETE",
            &format!("conversations/{cid}/participants/alice"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn read_only_participants_cannot_send() {
    let app = TestApp::spawn().await;
    app.talk_ok("PUT", "users/rita", Some(json!({ "name": "Rita" })))
        .await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": ["rita"] })),
    )
    .await;
    app.talk_ok(
        "PATCH",
        &format!("conversations/{cid}/participants/rita"),
        Some(json!({ "access": "Read" })),
    )
    .await;
    let (status, v) = app
        .client_call(
            &ClientAuth::signed("rita"),
            "POST",
            &format!("conversations/{cid}/messages"),
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["errorCode"], json!("NO_WRITE_ACCESS"));
}
