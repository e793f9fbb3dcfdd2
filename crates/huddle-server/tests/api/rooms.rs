//! Room creation, info, lists and settings for `channels.*` and `groups.*`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{unique, TestApp};

#[tokio::test]
async fn fresh_server_has_general_and_new_users_join_it() {
    let app = TestApp::spawn().await;
    let v = app
        .get_ok(&app.admin, "channels.info", &[("roomName", "general")])
        .await;
    assert_eq!(v["channel"]["_id"], json!("GENERAL"));
    assert_eq!(v["channel"]["default"], json!(true));
    let bob = app.user("bob").await;
    assert!(app.member_ids("GENERAL", "c").await.contains(&bob.user_id));
    assert!(app
        .system_messages(&app.admin, "GENERAL")
        .await
        .contains(&("uj".to_string(), bob.username.clone())));
}

#[tokio::test]
async fn create_channel_shape_and_creator_is_owner() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let name = unique("team");
    let v = app
        .ok(
            &app.admin,
            "channels.create",
            json!({ "name": name, "members": [bob.username, "ghost"] }),
        )
        .await;
    let ch = &v["channel"];
    assert_eq!(ch["name"], json!(name));
    assert_eq!(ch["fname"], json!(name));
    assert_eq!(ch["t"], json!("c"));
    assert_eq!(ch["msgs"], json!(0), "creation writes no system messages");
    assert_eq!(ch["usersCount"], json!(2), "unknown members are ignored");
    assert_eq!(ch["ro"], json!(false));
    assert_eq!(ch["customFields"], json!({}));
    assert_eq!(ch["u"]["username"], json!("admin"));
    let roles = app
        .get_ok(
            &app.admin,
            "channels.roles",
            &[("roomId", ch["_id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(roles["roles"][0]["roles"], json!(["owner"]));
}

#[tokio::test]
async fn create_errors() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.create",
            json!({ "name": "general" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-duplicate-channel-name"));
    let (_, v) = app
        .post(Some(&app.admin), "channels.create", json!({}))
        .await;
    assert_eq!(
        v,
        json!({ "success": false, "error": "Param \"name\" is required" })
    );
    let (_, v) = app
        .post(
            Some(&app.admin),
            "groups.create",
            json!({ "name": "x", "members": "bob" }),
        )
        .await;
    assert_eq!(
        v,
        json!({ "success": false, "error": "Body param \"members\" must be an array if provided" })
    );
    let (_, v) = app
        .post(
            Some(&app.admin),
            "channels.create",
            json!({ "name": "bad name!" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-invalid-room-name"));
    // Without create-c: the bare 403 of Rocket.Chat.
    app.ok(
        &app.admin,
        "permissions.update",
        json!({ "permissions": [{ "_id": "create-c", "roles": ["admin"] }] }),
    )
    .await;
    let bob = app.user("bob").await;
    let (status, v) = app
        .post(
            Some(&bob),
            "channels.create",
            json!({ "name": unique("c") }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v, json!({ "success": false, "error": "unauthorized" }));
}

#[tokio::test]
async fn channels_info_of_a_group_is_not_found() {
    let app = TestApp::spawn().await;
    let (gid, _) = app.room(&app.admin, "p", &[]).await;
    let (status, v) = app
        .get(Some(&app.admin), "channels.info", &[("roomId", &gid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
    let v = app
        .get_ok(&app.admin, "groups.info", &[("roomId", &gid)])
        .await;
    assert_eq!(v["group"]["t"], json!("p"));
}

#[tokio::test]
async fn lists_paginate_and_filter_by_membership() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    for _ in 0..3 {
        app.room(&app.admin, "c", &[]).await;
    }
    let (gid, _) = app.room(&bob, "p", &[]).await;
    let v = app.get_ok(&bob, "channels.list", &[("count", "2")]).await;
    assert_eq!(v["count"], json!(2));
    assert_eq!(v["total"], json!(4), "3 new channels + general");
    let v = app.get_ok(&bob, "channels.list.joined", &[]).await;
    assert_eq!(v["total"], json!(1), "bob is only in general");
    let v = app.get_ok(&bob, "groups.list", &[]).await;
    assert_eq!(v["groups"][0]["_id"], json!(gid));
    let v = app.get_ok(&app.admin, "groups.listAll", &[]).await;
    assert_eq!(v["total"], json!(1));
    let (status, v) = app.get(Some(&bob), "groups.listAll", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        v,
        json!({ "success": false, "error": "User does not have the permissions required for this action [error-unauthorized]" })
    );
    let (status, v) = app
        .get(Some(&bob), "channels.list", &[("sort", "{\"name\":2}")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-invalid-sort"));
}

#[tokio::test]
async fn channels_list_needs_view_permissions() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    app.ok(
        &app.admin,
        "permissions.update",
        json!({ "permissions": [
        { "_id": "view-c-room", "roles": ["admin"] }, { "_id": "view-joined-room", "roles": [] }
    ] }),
    )
    .await;
    let (status, v) = app.get(Some(&bob), "channels.list", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        v["error"],
        json!("User does not have the permissions required for this action [error-unauthorized]")
    );
}

#[tokio::test]
async fn settings_changes_write_system_messages() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .ok(
            &app.admin,
            "channels.setTopic",
            json!({ "roomId": rid, "topic": "hello" }),
        )
        .await;
    assert_eq!(v["topic"], json!("hello"));
    app.ok(
        &app.admin,
        "channels.setDescription",
        json!({ "roomId": rid, "description": "d" }),
    )
    .await;
    app.ok(
        &app.admin,
        "channels.setAnnouncement",
        json!({ "roomId": rid, "announcement": "a" }),
    )
    .await;
    let before = app.room_info(&app.admin, &rid).await["msgs"]
        .as_i64()
        .unwrap();
    app.ok(
        &app.admin,
        "channels.setJoinCode",
        json!({ "roomId": rid, "joinCode": "x" }),
    )
    .await;
    assert_eq!(
        app.room_info(&app.admin, &rid).await["msgs"]
            .as_i64()
            .unwrap(),
        before,
        "join code writes no message"
    );
    let v = app
        .ok(
            &app.admin,
            "channels.setReadOnly",
            json!({ "roomId": rid, "readOnly": true }),
        )
        .await;
    assert_eq!(v["channel"]["ro"], json!(true));
    assert_eq!(v["channel"]["msgs"].as_i64().unwrap(), before + 1);
    let new_name = unique("renamed");
    let v = app
        .ok(
            &app.admin,
            "channels.rename",
            json!({ "roomId": rid, "name": new_name }),
        )
        .await;
    assert_eq!(v["channel"]["name"], json!(new_name));
    let v = app
        .get_ok(&app.admin, "channels.info", &[("roomName", &new_name)])
        .await;
    assert_eq!(v["channel"]["topic"], json!("hello"));
    assert_eq!(v["channel"]["description"], json!("d"));
    assert_eq!(v["channel"]["announcement"], json!("a"));
    let v = app
        .ok(
            &app.admin,
            "channels.setType",
            json!({ "roomId": rid, "type": "p" }),
        )
        .await;
    assert_eq!(v["channel"]["t"], json!("p"));
    let v = app
        .get_ok(&app.admin, "groups.info", &[("roomId", &rid)])
        .await;
    assert_eq!(v["group"]["name"], json!(new_name));
}

#[tokio::test]
async fn members_cannot_change_settings() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[&bob.username]).await;
    let (status, v) = app
        .post(
            Some(&bob),
            "channels.setTopic",
            json!({ "roomId": rid, "topic": "mine" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-not-allowed"));
}

#[tokio::test]
async fn archive_blocks_membership_changes_until_unarchived() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, name) = app.room(&app.admin, "c", &[]).await;
    app.ok(&app.admin, "channels.archive", json!({ "roomId": rid }))
        .await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-archived"));
    assert_eq!(
        v["error"],
        json!(format!(
            "The channel, {name}, is archived [error-room-archived]"
        ))
    );
    let v = app
        .get_ok(&app.admin, "channels.info", &[("roomId", &rid)])
        .await;
    assert_eq!(v["channel"]["archived"], json!(true));
    app.ok(&app.admin, "channels.unarchive", json!({ "roomId": rid }))
        .await;
    app.ok(
        &app.admin,
        "channels.invite",
        json!({ "roomId": rid, "userId": bob.user_id }),
    )
    .await;
}

#[tokio::test]
async fn delete_removes_room_and_memberships() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&bob, "p", &[]).await;
    let (status, _) = app
        .post(Some(&app.admin), "groups.delete", json!({ "roomId": rid }))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the admin cannot see bob's group"
    );
    app.ok(&bob, "groups.delete", json!({ "roomId": rid }))
        .await;
    let (_, v) = app
        .get(Some(&bob), "groups.info", &[("roomId", &rid)])
        .await;
    assert_eq!(v["errorType"], json!("error-room-not-found"));
    let v = app.get_ok(&bob, "subscriptions.get", &[]).await;
    assert!(v["update"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["rid"] != json!(rid)));
}

#[tokio::test]
async fn open_close_counters_and_subscriptions() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[&bob.username]).await;
    app.ok(&bob, "channels.close", json!({ "roomId": rid }))
        .await;
    let (_, v) = app
        .post(Some(&bob), "channels.close", json!({ "roomId": rid }))
        .await;
    assert_eq!(v["success"], json!(false));
    app.ok(&bob, "channels.open", json!({ "roomId": rid }))
        .await;
    app.ok(
        &app.admin,
        "chat.postMessage",
        json!({ "roomId": rid, "text": "hi" }),
    )
    .await;
    let c = app
        .get_ok(&bob, "channels.counters", &[("roomId", &rid)])
        .await;
    assert_eq!(c["joined"], json!(true));
    assert_eq!(c["members"], json!(2));
    assert_eq!(c["msgs"], json!(1));
    assert_eq!(c["unreads"], json!(1));
    for key in ["unreadsFrom", "latest", "userMentions"] {
        assert!(c.get(key).is_some(), "{key} in {c}");
    }
    let one = app
        .get_ok(&bob, "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    assert_eq!(one["subscription"]["rid"], json!(rid));
    assert_eq!(one["subscription"]["unread"], json!(1));
    app.ok(&bob, "subscriptions.read", json!({ "rid": rid }))
        .await;
    let one = app
        .get_ok(&bob, "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    assert_eq!(one["subscription"]["unread"], json!(0));
    app.ok(&bob, "subscriptions.unread", json!({ "roomId": rid }))
        .await;
    let one = app
        .get_ok(&bob, "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    assert_eq!(one["subscription"]["alert"], json!(true));
    let rooms = app.get_ok(&bob, "rooms.get", &[]).await;
    assert!(rooms["update"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["_id"] == json!(rid)));
}

#[tokio::test]
async fn history_and_messages() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    for i in 0..5 {
        app.ok(
            &app.admin,
            "chat.postMessage",
            json!({ "roomId": rid, "text": format!("m{i}") }),
        )
        .await;
    }
    let h = app
        .get_ok(
            &app.admin,
            "groups.history",
            &[("roomId", &rid), ("count", "2")],
        )
        .await;
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["m4", "m3"], "newest first");
    let m = app
        .get_ok(
            &app.admin,
            "groups.messages",
            &[("roomId", &rid), ("count", "2"), ("offset", "1")],
        )
        .await;
    assert_eq!(m["total"], json!(5));
    assert_eq!(m["count"], json!(2));
    let outsider = app.user("out").await;
    let (status, _) = app
        .get(Some(&outsider), "groups.history", &[("roomId", &rid)])
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "outsiders do not find the group"
    );
}
