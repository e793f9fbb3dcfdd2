//! Rocket.Chat parity of the workspace's rules: the whole default permission table and
//! `permissions.update` over it, roles CRUD with its protected-role rules, settings (ids,
//! types, admin-only writes, unknown ids, what they change), and the shapes issue 14 lists.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{unique, TestApp};

const NO_PERMISSION: &str =
    "User does not have the permissions required for this action [error-unauthorized]";

#[tokio::test]
async fn the_whole_default_permission_table_is_there_and_editable() {
    let app = TestApp::spawn().await;
    let v = app.get_ok(&app.admin, "permissions.listAll", &[]).await;
    let perms = v["update"].as_array().expect("update");
    let roles_of = |id: &str| -> Value {
        perms
            .iter()
            .find(|p| p["_id"] == json!(id))
            .map(|p| p["roles"].clone())
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert!(perms.len() >= 170, "{} permissions", perms.len());
    assert_eq!(roles_of("message-impersonate"), json!(["bot", "app"]));
    assert_eq!(
        roles_of("create-invite-links"),
        json!(["admin", "owner", "moderator"])
    );
    assert_eq!(roles_of("ban-user"), json!(["admin", "owner", "moderator"]));
    assert_eq!(roles_of("view-l-room").as_array().unwrap().len(), 4);
    // The script from the issue.
    let v = app
        .ok(
            &app.admin,
            "permissions.update",
            json!({ "permissions": [{ "_id": "message-impersonate", "roles": ["admin", "bot", "app"] }] }),
        )
        .await;
    let updated = v["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_id"] == json!("message-impersonate"))
        .unwrap()
        .clone();
    assert_eq!(updated["roles"], json!(["admin", "bot", "app"]));
    // Unknown ids and roles are still refused, all or nothing.
    let (_, v) = app
        .post(
            Some(&app.admin),
            "permissions.update",
            json!({ "permissions": [{ "_id": "mention-all", "roles": [] }, { "_id": "no-such", "roles": [] }] }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-invalid-permission"));
    let v = app.get_ok(&app.admin, "permissions.listAll", &[]).await;
    let mention_all = v["update"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_id"] == json!("mention-all"))
        .unwrap()
        .clone();
    assert_eq!(mention_all["roles"].as_array().unwrap().len(), 4);
    let bob = app.user("bob").await;
    let (_, v) = app
        .post(
            Some(&bob),
            "permissions.update",
            json!({ "permissions": [{ "_id": "mention-all", "roles": [] }] }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-edit-permissions-not-allowed"));
}

#[tokio::test]
async fn roles_crud_with_protected_roles() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let name = unique("support");
    let v = app
        .ok(
            &app.admin,
            "roles.create",
            json!({ "name": name, "scope": "Subscriptions", "description": "Tier 1" }),
        )
        .await;
    let role = v["role"].clone();
    let id = role["_id"].as_str().unwrap().to_string();
    assert_ne!(id, name, "a new role gets an id of its own");
    assert_eq!(role["protected"], json!(false));
    assert_eq!(role["scope"], json!("Subscriptions"));
    assert_eq!(role["mandatory2fa"], json!(false));
    assert!(role["_updatedAt"].is_string());
    // Duplicates, bad bodies, 2FA Huddle does not have, and callers without the permission.
    for (who, body, code) in [
        (
            &app.admin,
            json!({ "name": name }),
            "error-duplicate-role-names-not-allowed",
        ),
        (
            &app.admin,
            json!({ "name": "admin" }),
            "error-duplicate-role-names-not-allowed",
        ),
        (&app.admin, json!({}), "error-invalid-role-properties"),
        (
            &app.admin,
            json!({ "name": "x", "scope": "Rooms" }),
            "error-invalid-role-properties",
        ),
        (
            &app.admin,
            json!({ "name": "x", "extra": 1 }),
            "error-invalid-role-properties",
        ),
        (
            &app.admin,
            json!({ "name": "x", "mandatory2fa": true }),
            "error-invalid-role-properties",
        ),
        (&bob, json!({ "name": "x" }), "error-action-not-allowed"),
    ] {
        let (status, v) = app.post(Some(who), "roles.create", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {v}");
        assert_eq!(v["errorType"], json!(code), "{body} -> {v}");
    }
    // A Subscriptions-scoped custom role is not held in a room (refused, not made global).
    let (rid, _) = app.room(&app.admin, "c", &[bob.username.as_str()]).await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "roles.addUserToRole",
            json!({ "roleId": id, "username": bob.username, "roomId": rid }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-action-not-allowed"), "{v}");
    // It can be granted and used in permissions, by id.
    app.ok(
        &app.admin,
        "roles.addUserToRole",
        json!({ "roleId": id, "username": bob.username }),
    )
    .await;
    app.ok(
        &app.admin,
        "permissions.update",
        json!({ "permissions": [{ "_id": "view-logs", "roles": ["admin", id] }] }),
    )
    .await;
    let v = app
        .get_ok(&app.admin, "roles.getUsersInRole", &[("role", &id)])
        .await;
    assert_eq!(v["total"], json!(1));
    assert_eq!(v["users"][0]["_id"], json!(bob.user_id));
    assert_eq!(v["users"][0]["active"], json!(true));
    let v = app.get_ok(&bob, "roles.getUsersInPublicRoles", &[]).await;
    let users = v["users"].as_array().unwrap();
    let entry = users
        .iter()
        .find(|u| u["_id"] == json!(bob.user_id))
        .expect("bob holds a role other than user");
    assert_eq!(entry["roles"], json!([id]));
    assert!(users.iter().any(|u| u["_id"] == json!(app.admin.user_id)));
    // Renamed: grants stay (they hold the id).
    let renamed = unique("support2");
    let v = app
        .ok(
            &app.admin,
            "roles.update",
            json!({ "roleId": id, "name": renamed, "description": "Tier 2" }),
        )
        .await;
    assert_eq!(v["role"]["name"], json!(renamed));
    assert_eq!(v["role"]["scope"], json!("Subscriptions"));
    let v = app
        .get_ok(&app.admin, "roles.getUsersInRole", &[("role", &renamed)])
        .await;
    assert_eq!(v["total"], json!(1));
    // Protected roles: their description may change, not their name or scope; never deleted.
    let v = app
        .ok(
            &app.admin,
            "roles.update",
            json!({ "roleId": "moderator", "name": "moderator", "description": "Mods" }),
        )
        .await;
    assert_eq!(v["role"]["description"], json!("Mods"));
    for body in [
        json!({ "roleId": "moderator", "name": "mods" }),
        json!({ "roleId": "moderator", "name": "moderator", "scope": "Users" }),
    ] {
        let (_, v) = app.post(Some(&app.admin), "roles.update", body).await;
        assert_eq!(v["errorType"], json!("error-role-protected"), "{v}");
    }
    let (_, v) = app
        .post(
            Some(&app.admin),
            "roles.update",
            json!({ "roleId": "nope", "name": "x" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-invalid-roleId"));
    let (_, v) = app
        .post(
            Some(&app.admin),
            "roles.delete",
            json!({ "roleId": "user" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-role-protected"));
    // In use: refused until nobody holds it.
    let (_, v) = app
        .post(Some(&app.admin), "roles.delete", json!({ "roleId": id }))
        .await;
    assert_eq!(v["errorType"], json!("error-role-in-use"));
    let (_, v) = app
        .post(Some(&bob), "roles.delete", json!({ "roleId": id }))
        .await;
    assert_eq!(v["errorType"], json!("error-action-not-allowed"));
    let before = huddle_core::Timestamp::now().to_iso();
    app.ok(
        &app.admin,
        "roles.removeUserFromRole",
        json!({ "roleId": id, "username": bob.username }),
    )
    .await;
    app.ok(&app.admin, "roles.delete", json!({ "roleId": id }))
        .await;
    let v = app.get_ok(&app.admin, "roles.list", &[]).await;
    assert!(!v["roles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["_id"] == json!(id)));
    // Permissions that listed it drop it.
    let v = app.get_ok(&app.admin, "permissions.listAll", &[]).await;
    let logs = v["update"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["_id"] == json!("view-logs"))
        .unwrap()
        .clone();
    assert_eq!(logs["roles"], json!(["admin"]));
    // roles.sync reports the removal and the protected role's edit.
    let v = app
        .get_ok(&app.admin, "roles.sync", &[("updatedSince", &before)])
        .await;
    let removed = v["roles"]["remove"].as_array().unwrap();
    assert!(removed.iter().any(|r| r["_id"] == json!(id)), "{v}");
    let (status, v) = app.get(Some(&app.admin), "roles.sync", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("invalid-params"));
    let (_, v) = app
        .get(
            Some(&app.admin),
            "roles.getUsersInRole",
            &[("role", "nope")],
        )
        .await;
    assert_eq!(v["errorType"], json!("error-invalid-roleId"));
}

#[tokio::test]
async fn settings_have_rocketchats_ids_and_answers() {
    let app = TestApp::spawn().await;
    let bob = app.user("searchme").await;
    // The setup step from the issue.
    app.ok(
        &app.admin,
        "settings/Accounts_SearchFields",
        json!({ "value": "username, name, emails.address" }),
    )
    .await;
    let v = app
        .get_ok(&app.admin, "settings/Accounts_SearchFields", &[])
        .await;
    assert_eq!(v["value"], json!("username, name, emails.address"));
    // Honoured: the directory now finds users by e-mail, and by username only once told so.
    let email = format!("{}@example.com", bob.username);
    let found = |v: &Value| v["total"].as_i64().unwrap();
    let v = app
        .get_ok(
            &app.admin,
            "directory",
            &[("type", "users"), ("text", &email)],
        )
        .await;
    assert_eq!(found(&v), 1, "{v}");
    app.ok(
        &app.admin,
        "settings/Accounts_SearchFields",
        json!({ "value": "name, bio" }),
    )
    .await;
    let v = app
        .get_ok(
            &app.admin,
            "directory",
            &[("type", "users"), ("text", &email)],
        )
        .await;
    assert_eq!(found(&v), 0, "{v}");
    // Types are kept, writes are the admin's, unknown ids answer as Rocket.Chat does.
    let (status, _) = app
        .post(
            Some(&app.admin),
            "settings/Accounts_AllowUserProfileChange",
            json!({ "value": "no" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, v) = app
        .post(
            Some(&bob),
            "settings/Accounts_SearchFields",
            json!({ "value": "name" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v, json!({ "success": false, "error": NO_PERMISSION }));
    let (status, v) = app
        .post(
            Some(&app.admin),
            "settings/No_Such_Setting",
            json!({ "value": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({ "success": false }));
    let (status, v) = app
        .get(Some(&app.admin), "settings/No_Such_Setting", &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({ "success": false }));
    let v = app.get_ok(&app.admin, "settings/API_User_Limit", &[]).await;
    assert_eq!(v["value"], json!(500));
}

#[tokio::test]
async fn profile_change_settings_are_honoured() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    // `users.update` on oneself, without `edit-other-user-info`.
    let update = |data: Value| json!({ "userId": bob.user_id, "data": data });
    for (setting, data, reason) in [
        (
            "Accounts_AllowRealNameChange",
            json!({ "name": "Bobby" }),
            "Edit user real name is not allowed",
        ),
        (
            "Accounts_AllowUsernameChange",
            json!({ "username": unique("bobby") }),
            "Edit username is not allowed",
        ),
        (
            "Accounts_AllowEmailChange",
            json!({ "email": "new@example.com" }),
            "Edit user email is not allowed",
        ),
        (
            "Accounts_AllowUserProfileChange",
            json!({ "name": "Bobby" }),
            "Edit user profile is not allowed",
        ),
    ] {
        app.ok(
            &app.admin,
            &format!("settings/{setting}"),
            json!({ "value": false }),
        )
        .await;
        let (status, v) = app
            .post(Some(&bob), "users.update", update(data.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{setting}: {v}");
        assert_eq!(
            v["errorType"],
            json!("error-action-not-allowed"),
            "{setting}: {v}"
        );
        assert_eq!(
            v["error"],
            json!(format!("{reason} [error-action-not-allowed]"))
        );
        // The admin still edits others.
        app.ok(
            &app.admin,
            "users.update",
            json!({ "userId": bob.user_id, "data": { "name": "Set By Admin" } }),
        )
        .await;
        app.ok(
            &app.admin,
            &format!("settings/{setting}"),
            json!({ "value": true }),
        )
        .await;
        app.ok(&bob, "users.update", update(data)).await;
    }
}

#[tokio::test]
async fn shapes_issue_14_lists() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[bob.username.as_str()]).await;
    let v = app
        .ok(
            &bob,
            "chat.postMessage",
            json!({ "roomId": rid, "text": "hi" }),
        )
        .await;
    assert_eq!(v["message"]["u"]["name"], json!(bob.username), "{v}");
    let id = v["message"]["_id"].as_str().unwrap().to_string();
    let v = app
        .get_ok(&bob, "channels.messages", &[("roomId", &rid)])
        .await;
    for m in v["messages"].as_array().unwrap() {
        assert!(m["u"]["name"].is_string(), "{m}");
    }
    let v = app
        .ok(&bob, "chat.delete", json!({ "roomId": rid, "msgId": id }))
        .await;
    assert!(v["ts"].is_string(), "{v}");
    assert!(huddle_core::Timestamp::parse_iso(v["ts"].as_str().unwrap()).is_some());
    // dm.counters: `latest` is a date string even before any message.
    let dm = app
        .ok(&bob, "im.create", json!({ "username": app.admin.username }))
        .await;
    let dm_id = dm["room"]["rid"]
        .as_str()
        .or(dm["room"]["_id"].as_str())
        .unwrap()
        .to_string();
    let v = app.get_ok(&bob, "dm.counters", &[("roomId", &dm_id)]).await;
    assert!(v["latest"].is_string(), "{v}");
    // A route's missing permission: Rocket.Chat's wording.
    let (status, v) = app.get(Some(&bob), "groups.listAll", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v, json!({ "success": false, "error": NO_PERMISSION }));
}

#[tokio::test]
async fn message_editing_and_deleting_settings_are_honoured() {
    let clock = std::sync::Arc::new(huddle_core::ShiftedClock::default());
    let shared = clock.clone();
    let app = TestApp::spawn_with(move |c| c.clock = shared).await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[bob.username.as_str()]).await;
    let post = |text: &'static str| {
        let (app, bob, rid) = (&app, &bob, rid.clone());
        async move {
            let v = app
                .ok(
                    bob,
                    "chat.postMessage",
                    json!({ "roomId": rid, "text": text }),
                )
                .await;
            v["message"]["_id"].as_str().unwrap().to_string()
        }
    };
    let id = post("one").await;
    app.ok(
        &app.admin,
        "settings/Message_AllowEditing",
        json!({ "value": false }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&bob),
            "chat.update",
            json!({ "roomId": rid, "msgId": id, "text": "edited" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-not-allowed"), "{v}");
    // The admin holds edit-message: the switch binds authors only.
    app.ok(
        &app.admin,
        "chat.update",
        json!({ "roomId": rid, "msgId": id, "text": "by admin" }),
    )
    .await;
    app.ok(
        &app.admin,
        "settings/Message_AllowEditing",
        json!({ "value": true }),
    )
    .await;
    app.ok(
        &bob,
        "chat.update",
        json!({ "roomId": rid, "msgId": id, "text": "edited" }),
    )
    .await;
    // Deleting one's own message is up to Message_AllowDeleting.
    let fresh = post("two").await;
    app.ok(
        &app.admin,
        "settings/Message_AllowDeleting",
        json!({ "value": false }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&bob),
            "chat.delete",
            json!({ "roomId": rid, "msgId": fresh }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-not-allowed"), "{v}");
    app.ok(
        &app.admin,
        "settings/Message_AllowDeleting",
        json!({ "value": true }),
    )
    .await;
    app.ok(
        &bob,
        "chat.delete",
        json!({ "roomId": rid, "msgId": fresh }),
    )
    .await;
    // A 5-minute limit: 6 minutes later the message is blocked for everyone without the bypass.
    app.ok(
        &app.admin,
        "settings/Message_AllowEditing_BlockEditInMinutes",
        json!({ "value": 5 }),
    )
    .await;
    app.ok(
        &app.admin,
        "settings/Message_AllowDeleting_BlockDeleteInMinutes",
        json!({ "value": 5 }),
    )
    .await;
    clock.advance(std::time::Duration::from_secs(6 * 60));
    let (_, v) = app
        .post(
            Some(&bob),
            "chat.update",
            json!({ "roomId": rid, "msgId": id, "text": "late" }),
        )
        .await;
    assert_eq!(
        v["errorType"],
        json!("error-message-editing-blocked"),
        "{v}"
    );
    let (_, v) = app
        .post(
            Some(&bob),
            "chat.delete",
            json!({ "roomId": rid, "msgId": id }),
        )
        .await;
    assert_eq!(
        v["errorType"],
        json!("error-message-deleting-blocked"),
        "{v}"
    );
    // The admin (force-delete-message) deletes the old one.
    app.ok(
        &app.admin,
        "chat.delete",
        json!({ "roomId": rid, "msgId": id }),
    )
    .await;
}

#[tokio::test]
async fn name_validation_settings_are_honoured() {
    let app = TestApp::spawn().await;
    app.ok(
        &app.admin,
        "settings/UTF8_Channel_Names_Validation",
        json!({ "value": "[a-z]+" }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "channels.create",
            json!({ "name": "abc1" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-invalid-room-name"), "{v}");
    app.ok(&app.admin, "channels.create", json!({ "name": "abcxyz" }))
        .await;
    let accented = unique("jöhn");
    let user = |name: &str| json!({ "username": name, "name": "J", "email": format!("{}@example.com", name.replace('ö', "o")), "password": "pw-123456" });
    let (_, v) = app
        .post(Some(&app.admin), "users.create", user(&accented))
        .await;
    assert_eq!(
        v["errorType"],
        json!("error-input-is-not-a-valid-field"),
        "{v}"
    );
    app.ok(
        &app.admin,
        "settings/UTF8_User_Names_Validation",
        json!({ "value": "[\\p{L}0-9-_.]+" }),
    )
    .await;
    app.ok(&app.admin, "users.create", user(&accented)).await;
}
