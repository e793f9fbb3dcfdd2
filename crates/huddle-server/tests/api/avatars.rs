//! Avatars, preferences and the password-reset request (`users.*`).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89";

/// `users.setAvatar` with a multipart upload (fields: `image`, and `userId` if given).
async fn upload(
    app: &TestApp,
    who: &Session,
    bytes: &[u8],
    user_id: Option<&str>,
) -> (StatusCode, Value) {
    let boundary = "huddleboundary42";
    let mut body = vec![];
    if let Some(id) = user_id {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"userId\"\r\n\r\n{id}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = app
        .client
        .post(app.url("users.setAvatar"))
        .header("X-User-Id", &who.user_id)
        .header("X-Auth-Token", &who.token)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("request");
    crate::helpers::read(res).await
}

/// `GET /avatar/{name}` without following redirects: status, content type, location, bytes.
async fn avatar(app: &TestApp, name: &str) -> (StatusCode, String, String, Vec<u8>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/avatar/{name}", app.base))
        .send()
        .await
        .unwrap();
    let h = |k: &str| {
        res.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (status, ct, loc) = (res.status(), h("content-type"), h("location"));
    (status, ct, loc, res.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn avatars_upload_url_reset_and_the_default_image() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;

    // Default: the generated initial, for anyone, and for names nobody has.
    let (status, ct, _, body) = avatar(&app, &alice.username).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "image/svg+xml");
    let svg = String::from_utf8(body).unwrap();
    assert!(svg.contains(">A</text>"), "{svg}");
    let (status, ct, _, _) = avatar(&app, "nobody-has-this-name").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/svg+xml"));

    let (status, v) = upload(&app, &alice, PNG, None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, ct, _, body) = avatar(&app, &alice.username).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(body, PNG);

    // Not an image (an SVG could carry script): refused, nothing changes.
    let (status, v) = upload(&app, &alice, b"<svg onload=alert(1)>", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-avatar-invalid-type");
    assert_eq!(avatar(&app, &alice.username).await.1, "image/png");
    // Someone else's avatar needs edit-other-user-avatar.
    let (status, v) = upload(&app, &bob, PNG, Some(&alice.user_id)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = app
        .post(
            Some(&bob),
            "users.resetAvatar",
            json!({"userId": alice.user_id}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = upload(&app, &app.admin, PNG, Some(&bob.user_id)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(avatar(&app, &bob.username).await.1, "image/png");

    // A URL is stored and redirected to, never fetched.
    app.ok(
        &alice,
        "users.setAvatar",
        json!({"avatarUrl": "https://example.com/me.png"}),
    )
    .await;
    let (status, _, location, _) = avatar(&app, &alice.username).await;
    assert_eq!(status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(location, "https://example.com/me.png");
    for bad in ["file:///etc/passwd", "javascript:alert(1)", ""] {
        let (status, _) = app
            .post(Some(&alice), "users.setAvatar", json!({"avatarUrl": bad}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = app.post(Some(&alice), "users.setAvatar", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // users.getAvatar redirects to the image route.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(app.url("users.getAvatar"))
        .query(&[("username", &bob.username)])
        .header("X-User-Id", &alice.user_id)
        .header("X-Auth-Token", &alice.token)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection());
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/avatar/{}", bob.username)
    );

    app.ok(&alice, "users.resetAvatar", json!({})).await;
    assert_eq!(avatar(&app, &alice.username).await.1, "image/svg+xml");
    let (status, _) = app.post(None, "users.resetAvatar", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn preferences_are_kept_and_merged() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let v = app.get_ok(&alice, "users.getPreferences", &[]).await;
    assert_eq!(v["preferences"], json!({}));
    let v = app
        .ok(
            &alice,
            "users.setPreferences",
            json!({"data": {"sidebarViewMode": "condensed", "useEmojis": false}}),
        )
        .await;
    assert_eq!(v["user"]["_id"], json!(alice.user_id));
    assert_eq!(v["user"]["settings"]["preferences"]["useEmojis"], false);
    app.ok(
        &alice,
        "users.setPreferences",
        json!({"data": {"useEmojis": null, "language": "de"}}),
    )
    .await;
    let v = app.get_ok(&alice, "users.getPreferences", &[]).await;
    assert_eq!(
        v["preferences"],
        json!({"sidebarViewMode": "condensed", "language": "de"})
    );
    // Bob's are his own; another's need edit-other-user-info.
    assert_eq!(
        app.get_ok(&bob, "users.getPreferences", &[]).await["preferences"],
        json!({})
    );
    let (status, _) = app
        .post(
            Some(&bob),
            "users.setPreferences",
            json!({"userId": alice.user_id, "data": {"language": "fr"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.ok(
        &app.admin,
        "users.setPreferences",
        json!({"userId": bob.user_id, "data": {"language": "fr"}}),
    )
    .await;
    for bad in [json!({}), json!({"data": "x"})] {
        let (status, _) = app.post(Some(&alice), "users.setPreferences", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let huge = "x".repeat(70_000);
    let (status, _) = app
        .post(
            Some(&alice),
            "users.setPreferences",
            json!({"data": {"big": huge}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn forgot_password_answers_alike_for_every_address() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let known = format!("{}@example.com", alice.username);
    let (s1, known_body) = app
        .post(None, "users.forgotPassword", json!({"email": known}))
        .await;
    let (s2, unknown_body) = app
        .post(
            None,
            "users.forgotPassword",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(known_body, unknown_body);
    assert_eq!(known_body, json!({"success": true}));
    let (status, v) = app.post(None, "users.forgotPassword", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    // The account is untouched: the password still works.
    app.login(&alice.username, "pw-123456").await;
}
