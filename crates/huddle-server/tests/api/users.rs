//! `users.*`: registration, creation, info, list, update, delete, activation, presence.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{unique, TestApp};

#[tokio::test]
async fn register_then_login_and_registration_switch() {
    let app = TestApp::spawn().await;
    let name = unique("reg");
    let v = app
        .post(None, "users.register", json!({ "username": name, "email": format!("{name}@example.com"), "pass": "pw-123456", "name": "Reg" }))
        .await
        .1;
    assert_eq!(v["success"], json!(true), "{v}");
    assert_eq!(
        v["user"]["roles"],
        json!(["user"]),
        "an admin exists, so no admin role"
    );
    app.login(&name, "pw-123456").await;
    app.ok(
        &app.admin,
        "settings/Accounts_RegistrationForm",
        json!({ "value": "Disabled" }),
    )
    .await;
    let (status, v) = app
        .post(
            None,
            "users.register",
            json!({ "username": unique("r"), "email": "r@example.com", "pass": "p", "name": "R" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-user-registration-disabled"));
}

#[tokio::test]
async fn first_account_of_a_workspace_without_admin_becomes_admin() {
    let app = TestApp::spawn_with(|c| c.admin = None).await;
    let name = unique("first");
    let (_, v) = app
        .post(
            None,
            "users.register",
            json!({ "username": name, "email": "f@example.com", "pass": "pw", "name": "F" }),
        )
        .await;
    assert!(
        v["user"]["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("admin")),
        "{v}"
    );
    let (_, v) = app.post(None, "users.register", json!({ "username": unique("second"), "email": "s@example.com", "pass": "pw", "name": "S" })).await;
    assert_eq!(v["user"]["roles"], json!(["user"]));
}

#[tokio::test]
async fn create_needs_permission_and_rejects_duplicates() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let body =
        json!({ "username": unique("c"), "name": "C", "email": "c@example.com", "password": "pw" });
    let (status, v) = app.post(Some(&bob), "users.create", body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-action-not-allowed"));
    app.ok(&app.admin, "users.create", body.clone()).await;
    let (_, v) = app.post(Some(&app.admin), "users.create", body).await;
    assert_eq!(v["errorType"], json!("error-field-unavailable"));
    let (_, v) = app
        .post(Some(&app.admin), "users.create", json!({ "username": "x" }))
        .await;
    assert_eq!(v["errorType"], json!("invalid-params"));
    let (_, v) = app.post(Some(&app.admin), "users.create", json!({ "username": "bad name", "name": "n", "email": "b@example.com", "password": "p" })).await;
    assert_eq!(v["errorType"], json!("error-input-is-not-a-valid-field"));
}

#[tokio::test]
async fn info_shows_full_fields_only_to_self_and_admins() {
    let app = TestApp::spawn().await;
    let (bob, carol) = (app.user("bob").await, app.user("carol").await);
    let v = app
        .get_ok(&carol, "users.info", &[("userId", &bob.user_id)])
        .await;
    assert_eq!(v["user"]["username"], json!(bob.username));
    assert!(v["user"].get("emails").is_none());
    assert_eq!(v["user"]["canViewAllInfo"], json!(false));
    let v = app
        .get_ok(&app.admin, "users.info", &[("username", &bob.username)])
        .await;
    assert!(v["user"]["emails"].is_array());
    let v = app
        .get_ok(
            &bob,
            "users.info",
            &[("userId", &bob.user_id), ("fields", "{\"userRooms\":1}")],
        )
        .await;
    assert!(v["user"]["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rid"] == json!("GENERAL")));
    let (status, v) = app.get(Some(&bob), "users.info", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({ "success": false, "error": "Invalid search query." })
    );
    let (_, v) = app
        .get(Some(&bob), "users.info", &[("userId", "nope")])
        .await;
    assert_eq!(v, json!({ "success": false, "error": "User not found." }));
}

#[tokio::test]
async fn list_update_status_presence_delete() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let v = app
        .get_ok(&app.admin, "users.list", &[("count", "1")])
        .await;
    assert_eq!(v["count"], json!(1));
    assert_eq!(v["total"], json!(2));
    let v = app
        .ok(
            &app.admin,
            "users.update",
            json!({ "userId": bob.user_id, "data": { "name": "Bobby" } }),
        )
        .await;
    assert_eq!(v["user"]["name"], json!("Bobby"));
    let (_, v) = app
        .post(
            Some(&bob),
            "users.update",
            json!({ "userId": app.admin.user_id, "data": { "name": "X" } }),
        )
        .await;
    assert_eq!(v["success"], json!(false));
    app.ok(
        &bob,
        "users.setStatus",
        json!({ "status": "away", "message": "lunch" }),
    )
    .await;
    let v = app
        .get_ok(&bob, "users.getPresence", &[("userId", &bob.user_id)])
        .await;
    assert_eq!(v["presence"], json!("away"));
    let (_, v) = app
        .post(
            Some(&bob),
            "users.setStatus",
            json!({ "status": "dancing" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-invalid-status"));
    let before = app.room_info(&app.admin, "GENERAL").await["usersCount"]
        .as_i64()
        .unwrap();
    app.ok(&app.admin, "users.delete", json!({ "userId": bob.user_id }))
        .await;
    assert_eq!(
        app.room_info(&app.admin, "GENERAL").await["usersCount"]
            .as_i64()
            .unwrap(),
        before - 1
    );
    let (status, _) = app.get(Some(&bob), "me", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deactivation_ends_sessions() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let v = app
        .ok(
            &app.admin,
            "users.setActiveStatus",
            json!({ "userId": bob.user_id, "activeStatus": false }),
        )
        .await;
    assert_eq!(v["user"]["active"], json!(false));
    let (status, _) = app.get(Some(&bob), "me", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .post(
            None,
            "login",
            json!({ "user": bob.username, "password": "pw-123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, v) = app
        .post(
            Some(&bob),
            "users.setActiveStatus",
            json!({ "userId": app.admin.user_id, "activeStatus": false }),
        )
        .await;
    assert!(v.get("success").is_none() || v["success"] == json!(false));
}
