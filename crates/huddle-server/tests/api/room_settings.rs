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

#[tokio::test]
async fn direct_message_topic_delete_lists_and_files() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let eve = app.user("eve").await;
    let v = app
        .ok(&alice, "dm.create", json!({"username": bob.username}))
        .await;
    let rid = v["room"]["_id"].as_str().unwrap().to_string();
    let v = app
        .ok(
            &bob,
            "dm.setTopic",
            json!({"roomId": rid, "topic": "lunch"}),
        )
        .await;
    assert_eq!(v["topic"], "lunch");
    let v = app.get_ok(&alice, "dm.counters", &[("roomId", &rid)]).await;
    assert_eq!(v["success"], true);
    let (status, _) = app
        .post(
            Some(&eve),
            "dm.setTopic",
            json!({"roomId": rid, "topic": "mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    refused(&app, &bob, "dm.setTopic", json!({"roomId": rid})).await;

    let v = app.get_ok(&bob, "dm.files", &[("roomId", &rid)]).await;
    assert_eq!(
        (v["files"].clone(), v["total"].clone()),
        (json!([]), json!(0))
    );
    let (status, _) = app.get(Some(&eve), "dm.files", &[("roomId", &rid)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "private"}),
    )
    .await;
    // dm.messages.others: off by default; then for room administrators only.
    let (status, v) = app
        .get(Some(&app.admin), "dm.messages.others", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-endpoint-disabled");
    app.ok(
        &app.admin,
        "settings/API_Enable_Direct_Message_History_EndPoint",
        json!({"value": true}),
    )
    .await;
    let v = app
        .get_ok(&app.admin, "dm.messages.others", &[("roomId", &rid)])
        .await;
    assert_eq!(v["messages"][0]["msg"], "private", "{v}");
    let (status, v) = app
        .get(Some(&eve), "dm.messages.others", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");

    let v = app.get_ok(&app.admin, "dm.list.everyone", &[]).await;
    assert!(v["ims"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["_id"] == json!(rid)));
    let (status, _) = app.get(Some(&alice), "dm.list.everyone", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Only delete-d (admins) deletes a direct message; its members may not.
    let (status, v) = app
        .post(Some(&alice), "dm.delete", json!({"roomId": rid}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    app.ok(&app.admin, "dm.delete", json!({"roomId": rid}))
        .await;
    let (status, _) = app
        .get(Some(&alice), "dm.history", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_rooms_and_clean_history() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let (rid, name) = app.room(&owner, "p", &[&member.username]).await;
    let v = app
        .get_ok(&app.admin, "rooms.adminRooms", &[("filter", &name)])
        .await;
    assert_eq!(v["rooms"][0]["_id"], json!(rid), "{v}");
    assert_eq!(v["total"], 1);
    let v = app
        .get_ok(
            &app.admin,
            "rooms.adminRooms",
            &[("filter", &name), ("types[]", "c")],
        )
        .await;
    assert_eq!(v["total"], 0, "{v}");
    let (status, _) = app.get(Some(&owner), "rooms.adminRooms", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut ids = vec![];
    for text in ["one", "two", "three"] {
        let v = app
            .ok(
                &member,
                "chat.postMessage",
                json!({"roomId": rid, "text": text}),
            )
            .await;
        ids.push(v["message"]["_id"].as_str().unwrap().to_string());
    }
    app.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": rid, "text": "owner's"}),
    )
    .await;
    app.ok(&owner, "chat.pinMessage", json!({"messageId": ids[1]}))
        .await;
    let body = json!({
        "roomId": rid, "oldest": "2000-01-01T00:00:00.000Z", "latest": "2100-01-01T00:00:00.000Z",
        "excludePinned": true, "users": [member.username],
    });
    // The room's owner may not (clean-channel-history is the admins'), nor bad dates.
    let v = refused(&app, &owner, "rooms.cleanHistory", body.clone()).await;
    assert_eq!(v["errorType"], "error-not-allowed", "{v}");
    refused(
        &app,
        &app.admin,
        "rooms.cleanHistory",
        json!({"roomId": rid, "latest": "2100-01-01T00:00:00.000Z"}),
    )
    .await;
    let v = app.ok(&app.admin, "rooms.cleanHistory", body).await;
    assert_eq!(v["count"], 2, "{v}");
    let history = app
        .get_ok(
            &owner,
            "groups.history",
            &[("roomId", &rid), ("count", "100")],
        )
        .await;
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m.get("t").is_none())
        .filter_map(|m| m["msg"].as_str())
        .collect();
    assert_eq!(texts, ["owner's", "two"]);
    let info = app.room_info(&owner, &rid).await;
    assert_eq!(info["msgs"], history["messages"].as_array().unwrap().len());
    let d = app
        .get_ok(
            &owner,
            "chat.getDeletedMessages",
            &[("roomId", &rid), ("since", "2000-01-01T00:00:00.000Z")],
        )
        .await;
    assert_eq!(d["total"], 2);
}
