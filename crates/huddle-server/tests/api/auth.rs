//! Login, logout, `me`, the 401 body, personal access tokens.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, ADMIN, ADMIN_PASSWORD};

#[tokio::test]
async fn login_accepts_user_username_email_and_digest() {
    let app = TestApp::spawn().await;
    for body in [
        json!({ "user": ADMIN, "password": ADMIN_PASSWORD }),
        json!({ "username": ADMIN, "password": ADMIN_PASSWORD }),
        json!({ "user": "admin@example.com", "password": ADMIN_PASSWORD }),
        json!({ "email": "ADMIN@example.com", "password": ADMIN_PASSWORD }),
        json!({ "user": ADMIN, "password": { "digest": huddle_core::ids::sha256_hex(ADMIN_PASSWORD), "algorithm": "sha-256" } }),
    ] {
        let (status, v) = app.post(None, "login", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body} -> {v}");
        assert_eq!(v["status"], json!("success"));
        assert_eq!(v["data"]["userId"], json!(app.admin.user_id));
        assert_eq!(v["data"]["me"]["username"], json!(ADMIN));
        assert!(v["data"]["me"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("admin")));
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_401() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(None, "login", json!({ "user": ADMIN, "password": "nope" }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["status"], json!("error"));
    assert_eq!(v["message"], json!("Incorrect password"));
    let (status, v) = app
        .post(
            None,
            "login",
            json!({ "user": "ghost", "password": "nope" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v,
        json!({ "status": "error", "error": "Unauthorized", "message": "Unauthorized" })
    );
}

#[tokio::test]
async fn resume_logout_and_the_401_body() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(None, "login", json!({ "resume": app.admin.token }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["data"]["authToken"], json!(app.admin.token));
    let me = app.get_ok(&app.admin, "me", &[]).await;
    assert_eq!(me["_id"], json!(app.admin.user_id));
    assert_eq!(me["success"], json!(true));
    let v = app.ok(&app.admin, "logout", json!({})).await;
    assert_eq!(v["data"]["message"], json!("You've been logged out!"));
    let (status, v) = app.get(Some(&app.admin), "me", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        v,
        json!({ "status": "error", "message": "You must be logged in to do this." })
    );
}

#[tokio::test]
async fn token_of_another_user_is_rejected() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let mut forged = bob.clone();
    forged.user_id = app.admin.user_id.clone();
    let (status, _) = app.get(Some(&forged), "me", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn personal_access_tokens_work_like_sessions() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let v = app
        .ok(
            &bob,
            "users.generatePersonalAccessToken",
            json!({ "tokenName": "ci" }),
        )
        .await;
    let token = v["token"].as_str().unwrap().to_string();
    let pat = crate::helpers::Session {
        token: token.clone(),
        ..bob.clone()
    };
    assert_eq!(
        app.get_ok(&pat, "me", &[]).await["username"],
        json!(bob.username)
    );
    let (status, v) = app
        .post(
            Some(&bob),
            "users.generatePersonalAccessToken",
            json!({ "tokenName": "ci" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let list = app.get_ok(&bob, "users.getPersonalAccessTokens", &[]).await;
    assert_eq!(list["tokens"][0]["name"], json!("ci"));
    assert_eq!(
        list["tokens"][0]["lastTokenPart"],
        json!(&token[token.len() - 6..])
    );
    app.ok(
        &bob,
        "users.removePersonalAccessToken",
        json!({ "tokenName": "ci" }),
    )
    .await;
    let (status, _) = app.get(Some(&pat), "me", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_rate_limit_applies_when_configured() {
    let app = TestApp::spawn_with(|c| c.login_rate_per_minute = 3).await;
    // The harness's own admin login used one attempt.
    let mut last = StatusCode::OK;
    for _ in 0..4 {
        let (status, v) = app
            .post(None, "login", json!({ "user": ADMIN, "password": "wrong" }))
            .await;
        last = status;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                v["error"]
                    .as_str()
                    .unwrap()
                    .ends_with("[error-too-many-requests]"),
                "{v}"
            );
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}
