//! The admin dashboard: its pages are served with the right types and a strict CSP, the backend
//! API accepts an admin's Rocket.Chat session (and nothing weaker), and the endpoints the
//! dashboard added (participants listing, key rotation).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{read, unique, Session, TestApp, APP_ID, SECRET};
use crate::talk_backend::chrono_now;

/// A backend call with Rocket.Chat session headers (`X-User-Id`, `X-Auth-Token`).
async fn as_session(
    app: &TestApp,
    app_id: &str,
    who: &Session,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let url = format!("{}/v1/{app_id}/{path}", app.base);
    let mut rb = app
        .client
        .request(method.parse().unwrap(), url)
        .header("X-User-Id", &who.user_id)
        .header("X-Auth-Token", &who.token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    read(rb.send().await.unwrap()).await
}

fn app_jwt() -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "tokenType": "app", "iss": APP_ID, "exp": chrono_now() + 30 }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// A second admin, logged in.
async fn another_admin(app: &TestApp) -> Session {
    let name = unique("adm");
    app.ok(
        &app.admin,
        "users.create",
        json!({ "username": name, "name": name, "email": format!("{name}@example.com"),
                "password": "pw-123456", "roles": ["admin", "user"] }),
    )
    .await;
    app.login(&name, "pw-123456").await
}

#[tokio::test]
async fn backend_auth_table_secret_jwt_and_sessions() {
    let app = TestApp::spawn().await;
    let user = app.user("plain").await;
    let deactivated = another_admin(&app).await;
    app.ok(
        &app.admin,
        "users.setActiveStatus",
        json!({ "userId": deactivated.user_id, "activeStatus": false }),
    )
    .await;
    let logged_out = another_admin(&app).await;
    app.ok(&logged_out, "logout", json!({})).await;
    let forged = Session {
        token: "not-a-token".into(),
        ..app.admin.clone()
    };

    enum Who<'a> {
        Bearer(&'a str),
        Session(&'a Session),
        Nobody,
    }
    let jwt = app_jwt();
    let cases: Vec<(&str, &str, Who, StatusCode, &str)> = vec![
        (
            "secret key",
            APP_ID,
            Who::Bearer(SECRET),
            StatusCode::OK,
            "",
        ),
        ("app JWT", APP_ID, Who::Bearer(&jwt), StatusCode::OK, ""),
        (
            "admin session",
            APP_ID,
            Who::Session(&app.admin),
            StatusCode::OK,
            "",
        ),
        (
            "non-admin session",
            APP_ID,
            Who::Session(&user),
            StatusCode::FORBIDDEN,
            "NOT_ADMIN",
        ),
        (
            "deactivated admin",
            APP_ID,
            Who::Session(&deactivated),
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "logged-out token",
            APP_ID,
            Who::Session(&logged_out),
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "wrong token",
            APP_ID,
            Who::Session(&forged),
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "no credentials",
            APP_ID,
            Who::Nobody,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "admin, foreign app id",
            "other-app",
            Who::Session(&app.admin),
            StatusCode::NOT_FOUND,
            "APP_NOT_FOUND",
        ),
        (
            "secret, foreign app id",
            "other-app",
            Who::Bearer(SECRET),
            StatusCode::NOT_FOUND,
            "APP_NOT_FOUND",
        ),
    ];
    for (name, app_id, who, want, code) in cases {
        let url = format!("{}/v1/{app_id}/settings", app.base);
        let rb = app.client.get(url);
        let rb = match who {
            Who::Bearer(b) => rb.bearer_auth(b),
            Who::Session(s) => rb
                .header("X-User-Id", &s.user_id)
                .header("X-Auth-Token", &s.token),
            Who::Nobody => rb,
        };
        let (status, v) = read(rb.send().await.unwrap()).await;
        assert_eq!(status, want, "{name}: {v}");
        if want == StatusCode::OK {
            assert_eq!(v["browserUserSync"], json!(true), "{name}: {v}");
        } else {
            // The backend API's own error shape.
            assert_eq!(v["errorCode"], json!(code), "{name}: {v}");
            assert!(v["reason"].is_string(), "{name}: {v}");
        }
    }
}

#[tokio::test]
async fn a_non_admin_session_changes_nothing_and_an_admin_session_writes() {
    let app = TestApp::spawn().await;
    let user = app.user("plain").await;
    let (status, _) = as_session(
        &app,
        APP_ID,
        &user,
        "PUT",
        "settings",
        Some(json!({ "browserUserSync": false })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.talk_ok("GET", "settings", None).await["browserUserSync"],
        json!(true)
    );
    let (status, v) = as_session(
        &app,
        APP_ID,
        &app.admin,
        "PUT",
        "settings",
        Some(json!({ "browserUserSync": false, "browserConversationSync": false })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let now = app.talk_ok("GET", "settings", None).await;
    assert_eq!(now["browserUserSync"], json!(false));
    assert_eq!(now["guestsAllowed"], json!(false));
    // A bearer that is wrong is refused even when a valid admin session comes along: the bearer
    // is what the request claims to be.
    let url = format!("{}/v1/{APP_ID}/settings", app.base);
    let (status, _) = read(
        app.client
            .get(url)
            .bearer_auth("sk_wrong")
            .header("X-User-Id", &app.admin.user_id)
            .header("X-Auth-Token", &app.admin.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn participants_listing_includes_access_none_with_names() {
    let app = TestApp::spawn().await;
    for (id, name) in [("pa", "Pat A"), ("pb", "Pat B")] {
        app.talk_ok("PUT", &format!("users/{id}"), Some(json!({ "name": name })))
            .await;
    }
    app.talk_ok(
        "PUT",
        "conversations/c1",
        Some(json!({ "participants": ["pa", "pb"] })),
    )
    .await;
    app.talk_ok(
        "PATCH",
        "conversations/c1/participants/pb",
        Some(json!({ "access": "None", "notify": "MentionsOnly" })),
    )
    .await;
    let v = app
        .talk_ok("GET", "conversations/c1/participants", None)
        .await;
    let mut data = v["data"].as_array().unwrap().clone();
    data.sort_by_key(|p| p["id"].as_str().unwrap().to_string());
    assert_eq!(data.len(), 2, "{v}");
    assert_eq!(data[0]["id"], json!("pa"));
    assert_eq!(data[0]["name"], json!("Pat A"));
    assert_eq!(data[0]["access"], json!("ReadWrite"));
    assert_eq!(data[1]["access"], json!("None"));
    assert_eq!(data[1]["notify"], json!("MentionsOnly"));
    // The conversation resource itself still leaves access `None` out.
    let c = app.talk_ok("GET", "conversations/c1", None).await;
    assert!(c["participants"].get("pb").is_none(), "{c}");
    let (status, v) = app
        .talk("GET", "conversations/missing/participants", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, _) = app
        .talk_with(None, "GET", "conversations/c1/participants", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn rotating_a_key_makes_a_new_one_and_revokes_the_old() {
    let app = TestApp::spawn().await;
    let created = app.talk_ok("POST", "keys", None).await;
    let old_id = created["id"].as_str().unwrap().to_string();
    let old_secret = created["secret"].as_str().unwrap().to_string();
    assert_eq!(
        app.talk_with(Some(&old_secret), "GET", "settings", None)
            .await
            .0,
        StatusCode::OK
    );
    let rotated = app
        .talk_ok("POST", &format!("keys/{old_id}/rotate"), None)
        .await;
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_ne!(rotated["id"], json!(old_id));
    assert_eq!(rotated["replaced"], json!(old_id));
    assert_eq!(
        app.talk_with(Some(&old_secret), "GET", "settings", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.talk_with(Some(new_secret), "GET", "settings", None)
            .await
            .0,
        StatusCode::OK
    );
    let keys = app.talk_ok("GET", "keys", None).await;
    let old = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == json!(old_id))
        .unwrap()
        .clone();
    assert!(old["revokedAt"].is_number(), "{keys}");
    assert!(
        keys.to_string().find(new_secret).is_none(),
        "secrets are shown once"
    );
    // A revoked or unknown key cannot be rotated, and nothing is created then.
    let before = keys["data"].as_array().unwrap().len();
    for id in [old_id.as_str(), "no-such-key"] {
        let (status, v) = app.talk("POST", &format!("keys/{id}/rotate"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    }
    let after = app.talk_ok("GET", "keys", None).await["data"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn dashboard_pages_have_types_csp_and_caching() {
    let app = TestApp::spawn().await;
    for (path, ty) in [
        ("/admin", "text/html; charset=utf-8"),
        ("/admin/", "text/html; charset=utf-8"),
        ("/admin/app.js", "text/javascript; charset=utf-8"),
        ("/admin/app.css", "text/css; charset=utf-8"),
    ] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let h = res.headers().clone();
        assert_eq!(h["content-type"], ty, "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["cache-control"], "no-cache");
        let etag = h["etag"].to_str().unwrap().to_string();
        let body = res.text().await.unwrap();
        assert!(!body.is_empty());
        if path.starts_with("/admin/app") {
            // Unchanged since the browser's copy: 304 without a body.
            let again = app
                .client
                .get(app.url(path))
                .header("If-None-Match", &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
            assert!(again.text().await.unwrap().is_empty());
        } else {
            assert!(
                body.contains(&format!(
                    "<meta name=\"huddle-app-id\" content=\"{APP_ID}\">"
                )),
                "the page carries the app id"
            );
            assert!(!body.contains("{{APP_ID}}"));
        }
    }
    let res = app
        .client
        .get(app.url("/admin/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
