//! Room settings scripts set beside the core ones, and the room views around them: who may,
//! what it changes, and the errors.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::ddp::Ddp;
use crate::helpers::{Session, TestApp};

/// A POST that must be refused with 400; its body.
async fn refused(app: &TestApp, who: &Session, path: &str, body: Value) -> Value {
    let (status, v) = app.post(Some(who), path, body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body} -> {v}");
    v
}

#[tokio::test]
async fn custom_fields_and_purpose_need_edit_room() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    for t in ["c", "p"] {
        let (rid, _) = app.room(&owner, t, &[&member.username]).await;
        let (family, key) = if t == "c" {
            ("channels", "channel")
        } else {
            ("groups", "group")
        };
        let path = format!("{family}.setCustomFields");
        let v = app
            .ok(
                &owner,
                &path,
                json!({"roomId": rid, "customFields": {"team": "blue"}}),
            )
            .await;
        assert_eq!(v[key]["customFields"], json!({"team": "blue"}));
        let info = app.room_info(&member, &rid).await;
        assert_eq!(info["customFields"], json!({"team": "blue"}));
        // A plain member may not; bad input changes nothing.
        let v = refused(
            &app,
            &member,
            &path,
            json!({"roomId": rid, "customFields": {"team": "red"}}),
        )
        .await;
        assert_eq!(v["errorType"], "error-not-allowed", "{v}");
        refused(&app, &owner, &path, json!({"roomId": rid})).await;
        refused(
            &app,
            &owner,
            &path,
            json!({"roomId": rid, "customFields": "nope"}),
        )
        .await;
        refused(
            &app,
            &owner,
            &path,
            json!({"roomId": rid, "customFields": {"n": 1}}),
        )
        .await;
        assert_eq!(
            app.room_info(&member, &rid).await["customFields"],
            json!({"team": "blue"})
        );

        let path = format!("{family}.setPurpose");
        let v = app
            .ok(&owner, &path, json!({"roomId": rid, "purpose": "plans"}))
            .await;
        assert_eq!(v["purpose"], "plans");
        assert_eq!(app.room_info(&member, &rid).await["description"], "plans");
        let v = refused(&app, &member, &path, json!({"roomId": rid, "purpose": "x"})).await;
        assert_eq!(v["errorType"], "error-not-allowed", "{v}");
        refused(&app, &owner, &path, json!({"roomId": rid})).await;
        let notes = app.system_messages(&owner, &rid).await;
        assert!(
            notes
                .iter()
                .any(|(t, m)| t == "room_changed_description" && m == "plans"),
            "{notes:?}"
        );
    }
}

#[tokio::test]
async fn default_channels_take_in_new_users_and_need_room_administration() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let (rid, _) = app.room(&owner, "c", &[]).await;
    // The owner may edit the room but not make it a default room.
    let v = refused(
        &app,
        &owner,
        "channels.setDefault",
        json!({"roomId": rid, "default": true}),
    )
    .await;
    assert_eq!(v["errorType"], "error-not-allowed", "{v}");
    refused(
        &app,
        &app.admin,
        "channels.setDefault",
        json!({"roomId": rid}),
    )
    .await;
    let v = app
        .ok(
            &app.admin,
            "channels.setDefault",
            json!({"roomId": rid, "default": true}),
        )
        .await;
    assert_eq!(v["channel"]["default"], true);
    let newcomer = app.user("newcomer").await;
    assert!(app.member_ids(&rid, "c").await.contains(&newcomer.user_id));
    app.ok(
        &app.admin,
        "channels.setDefault",
        json!({"roomId": rid, "default": "false"}),
    )
    .await;
    let later = app.user("later").await;
    assert!(!app.member_ids(&rid, "c").await.contains(&later.user_id));
}

#[tokio::test]
async fn encryption_flag_is_for_groups_and_room_editors() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let (gid, _) = app.room(&owner, "p", &[&member.username]).await;
    let v = app
        .ok(
            &owner,
            "groups.setEncrypted",
            json!({"roomId": gid, "encrypted": true}),
        )
        .await;
    assert_eq!(v["encrypted"], true);
    assert_eq!(app.room_info(&member, &gid).await["encrypted"], true);
    let notes = app.system_messages(&owner, &gid).await;
    assert!(
        notes.iter().any(|(t, _)| t == "room_e2e_enabled"),
        "{notes:?}"
    );
    let v = refused(
        &app,
        &member,
        "groups.setEncrypted",
        json!({"roomId": gid, "encrypted": false}),
    )
    .await;
    assert_eq!(v["errorType"], "error-not-allowed", "{v}");
    refused(&app, &owner, "groups.setEncrypted", json!({"roomId": gid})).await;
    app.ok(
        &owner,
        "groups.setEncrypted",
        json!({"roomId": gid, "encrypted": false}),
    )
    .await;
    assert!(app
        .room_info(&member, &gid)
        .await
        .get("encrypted")
        .is_none());
}

#[tokio::test]
async fn favorites_are_the_members_own_and_reach_their_sockets() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&owner, "p", &[&member.username]).await;
    let mut d = Ddp::resume(&app, &member).await;
    d.sub_ready(
        "stream-notify-user",
        &format!("{}/subscriptions-changed", member.user_id),
    )
    .await;
    app.ok(
        &member,
        "rooms.favorite",
        json!({"roomId": rid, "favorite": true}),
    )
    .await;
    let v = d
        .next_where(|v| v["fields"]["args"][1]["rid"] == json!(rid))
        .await;
    assert_eq!(v["fields"]["args"][1]["f"], true);
    let mine = app
        .get_ok(&member, "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    assert_eq!(mine["subscription"]["f"], true);
    let theirs = app
        .get_ok(&owner, "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    assert_eq!(theirs["subscription"]["f"], false);
    let v = refused(
        &app,
        &outsider,
        "rooms.favorite",
        json!({"roomId": rid, "favorite": true}),
    )
    .await;
    assert!(v["error"].as_str().is_some(), "{v}");
    refused(&app, &member, "rooms.favorite", json!({"roomId": rid})).await;
}

#[tokio::test]
async fn online_members_files_integrations_and_mentions() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let outsider = app.user("out").await;
    let (gid, _) = app.room(&owner, "p", &[&member.username]).await;
    let (cid, _) = app.room(&owner, "c", &[&member.username]).await;
    let online_of = |v: &Value| -> Vec<String> {
        v["online"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["_id"].as_str().unwrap().to_string())
            .collect()
    };
    let _socket = Ddp::resume(&app, &member).await;
    let v = app
        .get_ok(&owner, "groups.online", &[("roomId", &gid)])
        .await;
    assert_eq!(online_of(&v), vec![member.user_id.clone()]);
    let v = app
        .get_ok(
            &owner,
            "channels.online",
            &[("query", &json!({"_id": cid}).to_string())],
        )
        .await;
    assert_eq!(online_of(&v), vec![member.user_id.clone()]);
    let (status, _) = app
        .get(Some(&outsider), "groups.online", &[("roomId", &gid)])
        .await;
    assert_ne!(status, StatusCode::OK);

    for path in ["channels.files", "groups.files"] {
        let rid = if path.starts_with("channels") {
            &cid
        } else {
            &gid
        };
        let v = app.get_ok(&member, path, &[("roomId", rid)]).await;
        assert_eq!(v["files"], json!([]));
        assert_eq!(v["total"], 0);
    }
    let (status, _) = app
        .get(Some(&outsider), "groups.files", &[("roomId", &gid)])
        .await;
    assert_ne!(status, StatusCode::OK);
    let v = app
        .get_ok(&app.admin, "channels.getIntegrations", &[("roomId", &cid)])
        .await;
    assert_eq!(v["integrations"], json!([]));
    let (status, v) = app
        .get(Some(&owner), "groups.getIntegrations", &[("roomId", &gid)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");

    app.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": cid, "text": format!("ping @{}", member.username)}),
    )
    .await;
    let v = app
        .get_ok(
            &member,
            "channels.getAllUserMentionsByChannel",
            &[("roomId", &cid)],
        )
        .await;
    assert_eq!(v["total"], 1, "{v}");
    assert!(v["mentions"][0]["msg"]
        .as_str()
        .unwrap()
        .starts_with("ping"));
}
