//! Bad input gets a clear error in Rocket.Chat's shape and changes nothing; never a 500.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn malformed_bodies_and_wrong_types_are_400() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, &str, &str)> = vec![
        ("channels.invite", "application/json", "{not json"),
        ("channels.invite", "application/json", "[1,2,3]"),
        (
            "channels.invite",
            "application/json",
            "{\"roomId\": 5, \"userIds\": \"x\"}",
        ),
        (
            "channels.invite",
            "application/json",
            "{\"roomId\": {\"$ne\": 1}, \"userId\": \"x\"}",
        ),
        (
            "groups.invite",
            "application/json",
            "{\"roomId\": \"GENERAL\", \"username\": [\"a\", \"b\"]}",
        ),
        ("channels.create", "application/json", "{\"name\": [1]}"),
        (
            "users.create",
            "application/json",
            "{\"username\": 1, \"name\": null}",
        ),
        (
            "login",
            "application/json",
            "{\"user\": {\"a\": 1}, \"password\": 3}",
        ),
        (
            "permissions.update",
            "application/json",
            "{\"permissions\": [{\"_id\": 1}]}",
        ),
        (
            "chat.postMessage",
            "application/json",
            "{\"roomId\": \"GENERAL\", \"text\": {\"x\": 1}}",
        ),
    ];
    for (path, ct, body) in cases {
        let (status, v) = app.post_raw(Some(&app.admin), path, ct, body).await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
            "{path} {body} -> {status} {v}"
        );
        assert!(
            v["success"] == json!(false) || v["status"] == json!("error"),
            "{path} {body} -> {v}"
        );
    }
}

#[tokio::test]
async fn odd_ids_and_huge_lists_are_refused_cleanly() {
    let app = TestApp::spawn().await;
    for id in [
        "'; DROP TABLE rooms; --",
        "%00",
        "ünïcödé",
        "a/b/../c",
        &"x".repeat(5000),
    ] {
        let (status, v) = app
            .post(
                Some(&app.admin),
                "channels.invite",
                json!({ "roomId": id, "userId": app.admin.user_id }),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {v}");
        assert_eq!(v["errorType"], json!("error-room-not-found"));
        let (status, v) = app
            .get(Some(&app.admin), "users.info", &[("userId", id)])
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{id}: {v}");
    }
    let ids: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": "GENERAL", "userIds": ids }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-too-many-users"));
}

#[tokio::test]
async fn unknown_endpoints_are_404_json() {
    let app = TestApp::spawn().await;
    let (status, v) = app.get(Some(&app.admin), "channels.nope", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["status"], json!("error"));
}

#[tokio::test]
async fn bad_pagination_and_query_params() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .get(
            Some(&app.admin),
            "channels.members",
            &[("roomId", "GENERAL"), ("count", "lots")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = app
        .get(Some(&app.admin), "channels.list", &[("query", "{broken")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], json!("error-invalid-query"));
    let v = app
        .get_ok(
            &app.admin,
            "channels.members",
            &[("roomId", "GENERAL"), ("count", "100000"), ("offset", "-5")],
        )
        .await;
    assert_eq!(v["offset"], json!(0));
}
