//! Permissions, roles, settings, server info, directory and spotlight.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn info_is_public_and_has_a_version() {
    let app = TestApp::spawn().await;
    let (status, v) = app.get(None, "/api/info", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["version"].is_string());
    assert_eq!(v["success"], json!(true));
}

#[tokio::test]
async fn permissions_list_and_update() {
    let app = TestApp::spawn().await;
    let v = app.get_ok(&app.admin, "permissions.listAll", &[]).await;
    let invite = v["update"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_id"] == json!("add-user-to-joined-room"))
        .unwrap();
    assert_eq!(invite["roles"], json!(["admin", "owner", "moderator"]));
    assert_eq!(v["remove"], json!([]));
    let (status, v) = app
        .get(
            Some(&app.admin),
            "permissions.listAll",
            &[("updatedSince", "yesterday")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-roomId-param-invalid"));
    for (body, code) in [
        (
            json!({ "permissions": [{ "_id": "nope", "roles": ["admin"] }] }),
            "error-invalid-permission",
        ),
        (
            json!({ "permissions": [{ "_id": "create-c", "roles": ["nope"] }] }),
            "error-invalid-role",
        ),
        (json!({ "permissions": "x" }), "error-invalid-body-params"),
    ] {
        let (status, v) = app.post(Some(&app.admin), "permissions.update", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v["errorType"], json!(code));
    }
    let bob = app.user("bob").await;
    let (_, v) = app
        .post(
            Some(&bob),
            "permissions.update",
            json!({ "permissions": [] }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-edit-permissions-not-allowed"));
    // Granting add-user-to-any-p-room to admin lets the admin invite into groups they are not in.
    let (gid, _) = app.room(&bob, "p", &[]).await;
    let carol = app.user("carol").await;
    app.ok(
        &app.admin,
        "permissions.update",
        json!({ "permissions": [{ "_id": "add-user-to-any-p-room", "roles": ["admin"] }] }),
    )
    .await;
    app.ok(
        &app.admin,
        "groups.invite",
        json!({ "roomId": gid, "userId": carol.user_id }),
    )
    .await;
}

#[tokio::test]
async fn roles_list_add_remove_and_users_in_role() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let v = app.get_ok(&app.admin, "roles.list", &[]).await;
    let owner = v["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["_id"] == json!("owner"))
        .unwrap();
    assert_eq!(owner["scope"], json!("Subscriptions"));
    app.ok(
        &app.admin,
        "roles.addUserToRole",
        json!({ "roleName": "bot", "username": bob.username }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "roles.addUserToRole",
            json!({ "roleName": "bot", "username": bob.username }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-user-already-in-role"));
    let v = app
        .get_ok(&app.admin, "roles.getUsersInRole", &[("role", "bot")])
        .await;
    assert_eq!(v["total"], json!(1));
    assert_eq!(v["users"][0]["_id"], json!(bob.user_id));
    app.ok(
        &app.admin,
        "roles.removeUserFromRole",
        json!({ "roleName": "bot", "username": bob.username }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "roles.removeUserFromRole",
            json!({ "roleName": "admin", "username": "admin" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-admin-required"));
    let (_, v) = app
        .post(
            Some(&app.admin),
            "roles.addUserToRole",
            json!({ "roleName": "nope", "username": bob.username }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-role-not-found"));
}

#[tokio::test]
async fn settings_read_and_write() {
    let app = TestApp::spawn().await;
    let (status, v) = app.get(None, "settings/Site_Name", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v,
        json!({ "_id": "Site_Name", "value": "Huddle", "success": true })
    );
    let (status, _) = app.get(None, "settings/API_User_Limit", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "private settings are hidden");
    let v = app.get_ok(&app.admin, "settings/API_User_Limit", &[]).await;
    assert_eq!(v["value"], json!(500));
    app.ok(&app.admin, "settings/API_User_Limit", json!({ "value": 1 }))
        .await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    app.user("bob").await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "channels.addAll",
            json!({ "roomId": rid }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-user-limit-exceeded"));
    let (status, _) = app
        .post(
            Some(&app.admin),
            "settings/API_User_Limit",
            json!({ "value": "many" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bob = app.user("bob2").await;
    let (status, _) = app
        .post(Some(&bob), "settings/Site_Name", json!({ "value": "Mine" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let v = app.get_ok(&bob, "settings.public", &[]).await;
    assert!(v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["_id"] == json!("Site_Name")));
}

#[tokio::test]
async fn directory_and_spotlight() {
    let app = TestApp::spawn().await;
    let bob = app.user("findme").await;
    let (_, name) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .get_ok(&bob, "directory", &[("type", "users"), ("text", "findme")])
        .await;
    assert_eq!(v["total"], json!(1));
    let v = app
        .get_ok(
            &bob,
            "directory",
            &[(
                "query",
                &format!("{{\"type\":\"channels\",\"text\":\"{name}\"}}"),
            )],
        )
        .await;
    assert_eq!(v["result"][0]["name"], json!(name));
    let v = app
        .get_ok(&bob, "spotlight", &[("query", &format!("#{name}"))])
        .await;
    assert_eq!(v["rooms"][0]["name"], json!(name));
    let (status, _) = app
        .get(Some(&bob), "directory", &[("type", "planets")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
