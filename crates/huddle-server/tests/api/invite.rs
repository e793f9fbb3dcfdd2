//! `channels.invite` and `groups.invite`: seeds 001–003, to the letter.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn channel_invite_single_user_answers_the_seed_shape() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, name) = app.room(&app.admin, "c", &[]).await;
    let before = app.room_info(&app.admin, &rid).await;

    let v = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    let ch = &v["channel"];
    assert_eq!(ch["_id"], json!(rid));
    assert_eq!(ch["t"], json!("c"));
    assert_eq!(ch["name"], json!(name));
    assert_eq!(ch["msgs"], json!(before["msgs"].as_i64().unwrap() + 1));
    assert_eq!(
        ch["usersCount"],
        json!(before["usersCount"].as_i64().unwrap() + 1)
    );
    assert_eq!(ch["usernames"], json!([bob.username]));
    for key in ["ts", "_updatedAt", "lm"] {
        let s = ch[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing in {ch}"));
        assert!(
            s.ends_with('Z') && s.len() == 24,
            "{key} = {s} is not ISO-8601 with millis"
        );
    }
    assert_eq!(
        v.as_object().unwrap().len(),
        2,
        "only channel and success: {v}"
    );
    assert_eq!(
        app.system_messages(&app.admin, &rid).await,
        vec![("au".to_string(), bob.username.clone())]
    );
}

#[tokio::test]
async fn channel_invite_bulk_and_again_changes_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.user("a").await, app.user("b").await);
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": rid, "userIds": [a.user_id, b.user_id] }),
        )
        .await;
    assert_eq!(v["channel"]["msgs"], json!(2));
    assert_eq!(v["channel"]["usersCount"], json!(3));
    let again = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": rid, "userIds": [a.user_id, b.user_id] }),
        )
        .await;
    assert_eq!(
        again["channel"]["msgs"],
        json!(2),
        "re-invite must not write messages"
    );
    assert_eq!(again["channel"]["usersCount"], json!(3));
    let mut members = app.member_ids(&rid, "c").await;
    members.sort();
    let mut expected = vec![
        app.admin.user_id.clone(),
        a.user_id.clone(),
        b.user_id.clone(),
    ];
    expected.sort();
    assert_eq!(members, expected);
}

#[tokio::test]
async fn group_invite_by_room_name_and_usernames() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.user("a").await, app.user("b").await);
    let (rid, name) = app.room(&app.admin, "p", &[]).await;
    let v = app
        .ok(
            &app.admin,
            "groups.invite",
            json!({ "roomName": name, "username": a.username }),
        )
        .await;
    assert_eq!(v["group"]["_id"], json!(rid));
    assert_eq!(v["group"]["t"], json!("p"));
    assert_eq!(v["group"]["u"]["username"], json!("admin"));
    let v = app
        .ok(
            &app.admin,
            "groups.invite",
            json!({ "roomName": name, "usernames": [a.username, b.username.to_uppercase()] }),
        )
        .await;
    assert_eq!(v["group"]["usersCount"], json!(3));
    assert_eq!(v["group"]["msgs"], json!(2));
}

#[tokio::test]
async fn invite_without_room_is_error_room_param_not_provided() {
    let app = TestApp::spawn().await;
    for path in ["groups.invite", "channels.invite"] {
        let (status, v) = app
            .post(Some(&app.admin), path, json!({ "userId": "x" }))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            v,
            json!({
                "success": false,
                "error": "The parameter \"roomId\" or \"roomName\" is required [error-room-param-not-provided]",
                "errorType": "error-room-param-not-provided"
            })
        );
    }
}

#[tokio::test]
async fn invite_without_users_is_error_users_params_not_provided() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    let (status, v) = app
        .post(Some(&app.admin), "groups.invite", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({
            "success": false,
            "error": "Please provide \"userId\" or \"username\" or \"userIds\" or \"usernames\" as param [error-users-params-not-provided]",
            "errorType": "error-users-params-not-provided"
        })
    );
}

#[tokio::test]
async fn invite_without_permission_is_not_allowed_with_method() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let (rid, _) = app.room(&alice, "p", &[]).await;
    // The admin is not a member of alice's group and add-user-to-any-p-room has no roles.
    let (status, v) = app
        .post(
            Some(&app.admin),
            "groups.invite",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({
            "success": false,
            "error": "Not allowed [error-not-allowed]",
            "errorType": "error-not-allowed",
            "details": { "method": "addUsersToRoom" }
        })
    );
    assert_eq!(
        app.room_info(&alice, &rid).await["usersCount"],
        json!(1),
        "nothing changed"
    );
}

#[tokio::test]
async fn invite_without_login_is_401() {
    let app = TestApp::spawn().await;
    for path in ["groups.invite", "channels.invite"] {
        let (status, v) = app
            .post(None, path, json!({ "roomId": "GENERAL", "userId": "x" }))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            v,
            json!({ "status": "error", "message": "You must be logged in to do this." })
        );
    }
}

#[tokio::test]
async fn invite_of_unknown_users_only_is_refused_without_change() {
    let app = TestApp::spawn().await;
    let (cid, _) = app.room(&app.admin, "c", &[]).await;
    let (gid, _) = app.room(&app.admin, "p", &[]).await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": cid, "userIds": ["nope1", "nope2"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({ "success": false, "error": "invalid-user-invite-list", "errorType": "Cannot invite if no users are provided" })
    );
    let (status, v) = app
        .post(
            Some(&app.admin),
            "groups.invite",
            json!({ "roomId": gid, "usernames": ["ghost"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-empty-invite-list"));
    assert_eq!(
        v["error"],
        json!("Cannot invite if no valid users are provided [error-empty-invite-list]")
    );
}

#[tokio::test]
async fn unknown_users_in_a_list_are_skipped() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": rid, "userIds": [bob.user_id, "ghost-id"] }),
        )
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(2));
}

#[tokio::test]
async fn unknown_room_is_room_not_found() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": "nope", "userId": app.admin.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
    assert_eq!(
        v["error"],
        json!("The required \"roomId\" or \"roomName\" param provided does not match any channel [error-room-not-found]")
    );
    let (_, v) = app
        .post(
            Some(&app.admin),
            "groups.invite",
            json!({ "roomId": "GENERAL", "userId": app.admin.user_id }),
        )
        .await;
    assert_eq!(
        v["errorType"],
        json!("error-room-not-found"),
        "a channel is not a group"
    );
}

#[tokio::test]
async fn direct_rooms_cannot_be_invited_to() {
    let app = TestApp::spawn().await;
    let (bob, carol) = (app.user("bob").await, app.user("carol").await);
    let dm = app
        .ok(&app.admin, "im.create", json!({ "username": bob.username }))
        .await;
    let rid = dm["room"]["_id"].as_str().unwrap().to_string();
    // Through the DDP-style room-agnostic path (rooms by id): the service refuses DMs.
    let (status, v) = app
        .post(
            Some(&app.admin),
            "groups.invite",
            json!({ "roomId": rid, "userId": carol.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-room-not-found"));
}

#[tokio::test]
async fn member_without_role_cannot_invite_but_owner_and_moderator_can() {
    let app = TestApp::spawn().await;
    let (owner, member, moderator, x, y) = (
        app.user("own").await,
        app.user("mem").await,
        app.user("mod").await,
        app.user("x").await,
        app.user("y").await,
    );
    let (rid, _) = app
        .room(&owner, "p", &[&member.username, &moderator.username])
        .await;
    let (status, v) = app
        .post(
            Some(&member),
            "groups.invite",
            json!({ "roomId": rid, "userId": x.user_id }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], json!("error-not-allowed"));
    app.ok(
        &owner,
        "groups.addModerator",
        json!({ "roomId": rid, "userId": moderator.user_id }),
    )
    .await;
    app.ok(
        &moderator,
        "groups.invite",
        json!({ "roomId": rid, "userId": x.user_id }),
    )
    .await;
    app.ok(
        &owner,
        "groups.invite",
        json!({ "roomId": rid, "userId": y.user_id }),
    )
    .await;
    assert_eq!(app.room_info(&owner, &rid).await["usersCount"], json!(5));
}

#[tokio::test]
async fn form_encoded_invite_works() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let (status, v) = app
        .post_raw(
            Some(&app.admin),
            "channels.invite",
            "application/x-www-form-urlencoded",
            &format!("roomId={rid}&userIds[]={}", bob.user_id),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["channel"]["usersCount"], json!(2));
}
