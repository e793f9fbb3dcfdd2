//! Direct messages: `im.*` and the `dm.*` aliases.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn create_is_idempotent_and_lists() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let v = app
        .ok(&app.admin, "im.create", json!({ "username": bob.username }))
        .await;
    let room = &v["room"];
    assert_eq!(room["t"], json!("d"));
    let mut expected_id = [app.admin.user_id.clone(), bob.user_id.clone()];
    expected_id.sort();
    assert_eq!(room["_id"], json!(expected_id.concat()));
    assert_eq!(room["rid"], room["_id"]);
    let mut names = vec!["admin".to_string(), bob.username.clone()];
    names.sort();
    assert_eq!(room["usernames"], json!(names));
    let again = app
        .ok(&bob, "dm.create", json!({ "username": "admin" }))
        .await;
    assert_eq!(again["room"]["_id"], room["_id"]);
    let list = app.get_ok(&bob, "im.list", &[]).await;
    assert_eq!(list["total"], json!(1));
    assert_eq!(list["ims"][0]["_id"], room["_id"]);
    let members = app
        .get_ok(
            &bob,
            "im.members",
            &[("roomId", room["_id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(members["total"], json!(2));
}

#[tokio::test]
async fn group_dm_and_errors() {
    let app = TestApp::spawn().await;
    let (bob, carol) = (app.user("bob").await, app.user("carol").await);
    let v = app
        .ok(
            &app.admin,
            "im.create",
            json!({ "usernames": format!("{},{}", bob.username, carol.username) }),
        )
        .await;
    assert_eq!(v["room"]["usersCount"], json!(3));
    let (status, v) = app
        .post(
            Some(&app.admin),
            "im.create",
            json!({ "username": "ghost" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-invalid-user"));
    assert_eq!(v["details"], json!({ "method": "createDirectMessage" }));
}

#[tokio::test]
async fn messages_history_counters_open_close() {
    let app = TestApp::spawn().await;
    let (bob, carol) = (app.user("bob").await, app.user("carol").await);
    let v = app
        .ok(&app.admin, "im.create", json!({ "username": bob.username }))
        .await;
    let rid = v["room"]["_id"].as_str().unwrap().to_string();
    let v = app
        .ok(
            &app.admin,
            "chat.postMessage",
            json!({ "channel": format!("@{}", bob.username), "text": "psst" }),
        )
        .await;
    assert_eq!(v["message"]["rid"], json!(rid));
    let h = app.get_ok(&bob, "im.history", &[("roomId", &rid)]).await;
    assert_eq!(h["messages"][0]["msg"], json!("psst"));
    let m = app
        .get_ok(&bob, "im.messages", &[("username", "admin")])
        .await;
    assert_eq!(m["total"], json!(1));
    let c = app.get_ok(&bob, "im.counters", &[("roomId", &rid)]).await;
    assert_eq!(c["unreads"], json!(1));
    app.ok(&bob, "im.close", json!({ "roomId": rid })).await;
    app.ok(&bob, "im.open", json!({ "roomId": rid })).await;
    let (status, v) = app
        .get(Some(&carol), "im.history", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], json!("error-room-not-found"));
}
