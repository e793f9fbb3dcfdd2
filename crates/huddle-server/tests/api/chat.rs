//! `chat.*`: posting keeps `msgs`/`lm` exact, edits and deletes follow ownership.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn post_updates_counters_and_autojoins_public_channels() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, name) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .ok(
            &bob,
            "chat.postMessage",
            json!({ "channel": format!("#{name}"), "text": "hello" }),
        )
        .await;
    assert_eq!(v["channel"], json!(format!("#{name}")));
    assert!(v["ts"].is_i64());
    assert_eq!(v["message"]["msg"], json!("hello"));
    assert_eq!(v["message"]["u"]["_id"], json!(bob.user_id));
    let info = app.room_info(&app.admin, &rid).await;
    assert_eq!(info["usersCount"], json!(2), "bob was joined");
    assert_eq!(info["msgs"], json!(2), "uj + the message");
    assert!(info["lm"].is_string());
}

#[tokio::test]
async fn private_rooms_refuse_outsiders_and_read_only_refuses_members() {
    let app = TestApp::spawn().await;
    let (bob, carol) = (app.user("bob").await, app.user("carol").await);
    let (rid, _) = app.room(&app.admin, "p", &[&carol.username]).await;
    let (status, v) = app
        .post(
            Some(&bob),
            "chat.postMessage",
            json!({ "roomId": rid, "text": "x" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v, json!({ "success": false, "error": "error-not-allowed" }));
    app.ok(
        &app.admin,
        "groups.setReadOnly",
        json!({ "roomId": rid, "readOnly": true }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&carol),
            "chat.sendMessage",
            json!({ "message": { "rid": rid, "msg": "x" } }),
        )
        .await;
    assert_eq!(
        v,
        json!({ "success": false, "error": "You can't send messages because the room is readonly." })
    );
    app.ok(
        &app.admin,
        "chat.sendMessage",
        json!({ "message": { "rid": rid, "msg": "owner may" } }),
    )
    .await;
}

#[tokio::test]
async fn update_delete_and_get() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[&bob.username]).await;
    let v = app
        .ok(
            &bob,
            "chat.postMessage",
            json!({ "roomId": rid, "text": "tpyo" }),
        )
        .await;
    let mid = v["message"]["_id"].as_str().unwrap().to_string();
    let v = app
        .ok(
            &bob,
            "chat.update",
            json!({ "roomId": rid, "msgId": mid, "text": "typo" }),
        )
        .await;
    assert_eq!(v["message"]["msg"], json!("typo"));
    assert!(v["message"]["editedAt"].is_string());
    let v = app
        .get_ok(&app.admin, "chat.getMessage", &[("msgId", &mid)])
        .await;
    assert_eq!(v["message"]["msg"], json!("typo"));
    let carol = app.user("carol").await;
    let (status, _) = app
        .post(
            Some(&carol),
            "chat.delete",
            json!({ "roomId": rid, "msgId": mid }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    app.ok(&bob, "chat.delete", json!({ "roomId": rid, "msgId": mid }))
        .await;
    let (status, _) = app
        .get(Some(&app.admin), "chat.getMessage", &[("msgId", &mid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
