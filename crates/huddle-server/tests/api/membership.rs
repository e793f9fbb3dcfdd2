//! Kick, join, leave, addAll and room roles (reference §5.3–§5.12).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn kick_removes_the_member_and_writes_ru() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[&bob.username]).await;
    let v = app
        .ok(
            &app.admin,
            "channels.kick",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(1));
    assert_eq!(v["channel"]["msgs"], json!(1));
    assert_eq!(
        app.system_messages(&app.admin, &rid).await,
        vec![("ru".to_string(), bob.username.clone())]
    );
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.kick",
            json!({ "roomId": rid, "username": bob.username }),
        )
        .await;
    // The admin holds kick-user-from-any-c-room: kicking a non-member succeeds and changes nothing.
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["channel"]["msgs"], json!(1));
}

#[tokio::test]
async fn groups_kick_answers_success_only_and_refuses_non_members() {
    let app = TestApp::spawn().await;
    let (owner, bob, carol) = (
        app.user("own").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let (rid, _) = app.room(&owner, "p", &[&bob.username]).await;
    let v = app
        .ok(
            &owner,
            "groups.kick",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(v, json!({ "success": true }));
    let (status, v) = app
        .post(
            Some(&owner),
            "groups.kick",
            json!({ "roomId": rid, "userId": carol.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-user-not-in-room"));
    // The admin is not in the group and kick-user-from-any-p-room has no roles.
    let (status, v) = app
        .post(
            Some(&app.admin),
            "groups.kick",
            json!({ "roomId": rid, "userId": owner.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
}

#[tokio::test]
async fn kick_needs_remove_user_and_spares_the_last_owner() {
    let app = TestApp::spawn().await;
    let (owner, bob) = (app.user("own").await, app.user("bob").await);
    let (rid, _) = app.room(&owner, "c", &[&bob.username]).await;
    let (status, v) = app
        .post(
            Some(&bob),
            "channels.kick",
            json!({ "roomId": rid, "userId": owner.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["details"], json!({ "method": "removeUserFromRoom" }));
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.kick",
            json!({ "roomId": rid, "userId": owner.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-you-are-last-owner"));
}

#[tokio::test]
async fn kick_with_missing_user_param() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.kick",
            json!({ "roomId": "GENERAL" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-user-param-not-provided"));
}

#[tokio::test]
async fn join_public_channel_with_and_without_code() {
    let app = TestApp::spawn().await;
    let (owner, bob) = (app.user("own").await, app.user("bob").await);
    let (rid, _) = app.room(&owner, "c", &[]).await;
    app.ok(
        &owner,
        "channels.setJoinCode",
        json!({ "roomId": rid, "joinCode": "s3cret" }),
    )
    .await;
    let (status, v) = app
        .post(Some(&bob), "channels.join", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-code-required"));
    let (_, v) = app
        .post(
            Some(&bob),
            "channels.join",
            json!({ "roomId": rid, "joinCode": "wrong" }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-code-invalid"));
    let v = app
        .ok(
            &bob,
            "channels.join",
            json!({ "roomId": rid, "joinCode": "s3cret" }),
        )
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(2));
    assert_eq!(v["channel"]["joinCodeRequired"], json!(true));
    assert!(
        v["channel"].get("joinCode").is_none(),
        "the code itself is never sent"
    );
    // Joining again is a no-op success.
    let v = app
        .ok(
            &bob,
            "channels.join",
            json!({ "roomId": rid, "joinCode": "s3cret" }),
        )
        .await;
    assert_eq!(v["channel"]["msgs"], json!(1));
    assert_eq!(
        app.system_messages(&owner, &rid).await,
        vec![("uj".to_string(), bob.username.clone())]
    );
    let (status, v) = app
        .post(Some(&bob), "channels.join", json!({ "roomId": "invalid" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
}

#[tokio::test]
async fn private_groups_cannot_be_joined_through_channels_join() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    let (status, v) = app
        .post(Some(&bob), "channels.join", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
}

#[tokio::test]
async fn leave_writes_ul_and_refuses_last_owner_and_non_members() {
    let app = TestApp::spawn().await;
    let (owner, bob, carol) = (
        app.user("own").await,
        app.user("bob").await,
        app.user("carol").await,
    );
    let (rid, _) = app.room(&owner, "c", &[&bob.username]).await;
    let v = app
        .ok(&bob, "channels.leave", json!({ "roomId": rid }))
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(1));
    assert_eq!(v["channel"]["t"], json!("c"));
    let (status, v) = app
        .post(Some(&owner), "channels.leave", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-you-are-last-owner"));
    assert_eq!(v["error"], json!("You are the last owner. Please set new owner before leaving the room. [error-you-are-last-owner]"));
    let (_, v) = app
        .post(Some(&carol), "channels.leave", json!({ "roomId": rid }))
        .await;
    assert_eq!(v["errorType"], json!("error-user-not-in-room"));
    assert_eq!(
        app.system_messages(&owner, &rid).await,
        vec![("ul".to_string(), bob.username.clone())]
    );
}

#[tokio::test]
async fn owner_can_leave_once_another_owner_exists() {
    let app = TestApp::spawn().await;
    let (owner, bob) = (app.user("own").await, app.user("bob").await);
    let (rid, _) = app.room(&owner, "p", &[&bob.username]).await;
    app.ok(
        &owner,
        "groups.addOwner",
        json!({ "roomId": rid, "userId": bob.user_id }),
    )
    .await;
    let v = app
        .ok(&owner, "groups.leave", json!({ "roomId": rid }))
        .await;
    assert_eq!(v, json!({ "success": true }));
    // Bob is now the only owner: even alone in the room he may not leave it ownerless.
    let (status, v) = app
        .post(Some(&bob), "rooms.leave", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-you-are-last-owner"));
}

#[tokio::test]
async fn rooms_leave_of_a_dm_is_not_allowed() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let dm = app
        .ok(&app.admin, "im.create", json!({ "username": bob.username }))
        .await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "rooms.leave",
            json!({ "roomId": dm["room"]["_id"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-not-allowed"));
}

#[tokio::test]
async fn room_roles_add_remove_and_list() {
    let app = TestApp::spawn().await;
    let (owner, bob) = (app.user("own").await, app.user("bob").await);
    let (rid, _) = app.room(&owner, "c", &[&bob.username]).await;
    for path in [
        "channels.addModerator",
        "channels.addLeader",
        "channels.addOwner",
    ] {
        app.ok(
            &owner,
            path,
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    }
    let (status, v) = app
        .post(
            Some(&owner),
            "channels.addModerator",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-user-already-moderator"));
    assert_eq!(
        v["error"],
        json!("User is already a moderator [error-user-already-moderator]")
    );
    let mods = app
        .get_ok(&owner, "channels.moderators", &[("roomId", &rid)])
        .await;
    assert_eq!(mods["moderators"][0]["_id"], json!(bob.user_id));
    let roles = app
        .get_ok(&owner, "channels.roles", &[("roomId", &rid)])
        .await;
    let bob_roles = roles["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["u"]["_id"] == json!(bob.user_id))
        .unwrap();
    assert_eq!(bob_roles["roles"], json!(["moderator", "leader", "owner"]));
    for path in [
        "channels.removeModerator",
        "channels.removeLeader",
        "channels.removeOwner",
    ] {
        app.ok(
            &owner,
            path,
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    }
    let (_, v) = app
        .post(
            Some(&owner),
            "channels.removeOwner",
            json!({ "roomId": rid, "userId": owner.user_id }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-remove-last-owner"));
    let (_, v) = app
        .post(
            Some(&bob),
            "channels.addOwner",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-not-allowed"));
    assert_eq!(v["details"], json!({ "method": "addRoomOwner" }));
    let (_, v) = app
        .post(
            Some(&owner),
            "channels.addModerator",
            json!({ "userId": bob.user_id }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-room-param-not-provided"));
    let (_, v) = app
        .post(
            Some(&owner),
            "channels.addModerator",
            json!({ "roomId": rid }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-user-param-not-provided"));
    let kinds: Vec<String> = app
        .system_messages(&owner, &rid)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|t| *t == "subscription-role-added")
            .count(),
        3
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|t| *t == "subscription-role-removed")
            .count(),
        3
    );
}

#[tokio::test]
async fn add_all_adds_every_user_once() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.user("a").await, app.user("b").await);
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .ok(&app.admin, "channels.addAll", json!({ "roomId": rid }))
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(3));
    let v = app
        .ok(&app.admin, "channels.addAll", json!({ "roomId": rid }))
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(3));
    assert_eq!(v["channel"]["msgs"], json!(2));
    let (status, v) = app
        .post(Some(&a), "channels.addAll", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"], json!("Access to Method Forbidden [403]"));
    let _ = b;
}

#[tokio::test]
async fn members_are_paginated_filtered_and_exclude_inactive_users() {
    let app = TestApp::spawn().await;
    let users = futures::future::join_all(
        (0..5).map(|i| app.user(if i % 2 == 0 { "even" } else { "odd" })),
    )
    .await;
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    let (rid, _) = app.room(&app.admin, "c", &names).await;
    let v = app
        .get_ok(
            &app.admin,
            "channels.members",
            &[("roomId", &rid), ("count", "2"), ("offset", "1")],
        )
        .await;
    assert_eq!(v["count"], json!(2));
    assert_eq!(v["offset"], json!(1));
    assert_eq!(v["total"], json!(6));
    let v = app
        .get_ok(
            &app.admin,
            "channels.members",
            &[("roomId", &rid), ("filter", "ODD")],
        )
        .await;
    assert_eq!(v["total"], json!(2));
    app.ok(
        &app.admin,
        "users.setActiveStatus",
        json!({ "userId": users[0].user_id, "activeStatus": false }),
    )
    .await;
    let v = app
        .get_ok(&app.admin, "channels.members", &[("roomId", &rid)])
        .await;
    assert_eq!(v["total"], json!(5), "deactivated members are not listed");
    assert_eq!(
        app.room_info(&app.admin, &rid).await["usersCount"],
        json!(6),
        "but still counted in usersCount"
    );
    let v = app
        .get_ok(
            &app.admin,
            "channels.members",
            &[("roomId", &rid), ("sort", "{\"username\":-1}")],
        )
        .await;
    let listed: Vec<&str> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, sorted);
}

#[tokio::test]
async fn group_members_are_hidden_from_outsiders() {
    let app = TestApp::spawn().await;
    let (owner, outsider) = (app.user("own").await, app.user("out").await);
    let (rid, _) = app.room(&owner, "p", &[]).await;
    let (status, v) = app
        .get(Some(&outsider), "groups.members", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
    let (status, v) = app
        .get(Some(&outsider), "groups.info", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
}
