//! Room bans: who may ban (a table of actors), the system messages, and a banned user kept out
//! of every way back in — join, invite, invite link, a browser adding them — until unbanned,
//! while the backend stays trusted.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{ClientAuth, Session, TestApp};

async fn ban(app: &TestApp, who: &Session, rid: &str, target: &Session) -> (StatusCode, Value) {
    app.post(
        Some(who),
        "rooms.banUser",
        json!({ "roomId": rid, "userId": target.user_id }),
    )
    .await
}

async fn unban(app: &TestApp, who: &Session, rid: &str, target: &Session) -> (StatusCode, Value) {
    app.post(
        Some(who),
        "rooms.unbanUser",
        json!({ "roomId": rid, "username": target.username }),
    )
    .await
}

#[tokio::test]
async fn a_banned_user_stays_out_until_unbanned() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[bob.username.as_str()]).await;
    let before = app.room_info(&app.admin, &rid).await["usersCount"].clone();
    let (status, v) = ban(&app, &app.admin, &rid, &bob).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v, json!({ "success": true }));
    assert!(!app.member_ids(&rid, "c").await.contains(&bob.user_id));
    let after = app.room_info(&app.admin, &rid).await["usersCount"].clone();
    assert_eq!(after.as_i64().unwrap(), before.as_i64().unwrap() - 1);
    let sys = app.system_messages(&app.admin, &rid).await;
    assert!(
        sys.contains(&("user-banned".to_string(), bob.username.clone())),
        "{sys:?}"
    );
    let list = app
        .get_ok(&app.admin, "rooms.bannedUsers", &[("roomId", &rid)])
        .await;
    assert_eq!(list["total"], json!(1));
    assert_eq!(list["bannedUsers"][0]["_id"], json!(bob.user_id));
    assert_eq!(list["bannedUsers"][0]["username"], json!(bob.username));
    // Every way back in is refused.
    let (status, v) = app
        .post(Some(&bob), "channels.join", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], json!("error-user-is-banned"));
    let (_, v) = app
        .post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-user-is-banned"), "{v}");
    let link = app
        .ok(
            &app.admin,
            "findOrCreateInvite",
            json!({ "rid": rid, "days": 1, "maxUses": 10 }),
        )
        .await;
    let token = link["inviteToken"].as_str().unwrap().to_string();
    let (status, v) = app
        .post(Some(&bob), "useInviteToken", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-user-is-banned"));
    assert_eq!(
        v["error"],
        json!("User is banned from this room [error-user-is-banned]")
    );
    // Nothing was spent by the refused use.
    let listed = app.get_ok(&app.admin, "listInvites", &[]).await;
    assert_eq!(listed[0]["uses"], json!(0));
    // Banning again: already banned.
    let (_, v) = ban(&app, &app.admin, &rid, &bob).await;
    assert_eq!(v["errorType"], json!("error-user-already-banned"));
    // Unbanned: not a member again, but the link works now.
    let (status, v) = unban(&app, &app.admin, &rid, &bob).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(!app.member_ids(&rid, "c").await.contains(&bob.user_id));
    let sys = app.system_messages(&app.admin, &rid).await;
    assert!(
        sys.contains(&("user-unbanned".to_string(), bob.username.clone())),
        "{sys:?}"
    );
    let (_, v) = unban(&app, &app.admin, &rid, &bob).await;
    assert_eq!(v["errorType"], json!("error-user-not-banned"));
    let (status, v) = app
        .post(Some(&bob), "useInviteToken", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(app.member_ids(&rid, "c").await.contains(&bob.user_id));
    let list = app
        .get_ok(&app.admin, "rooms.bannedUsers", &[("roomId", &rid)])
        .await;
    assert_eq!(list["total"], json!(0));
}

/// `rooms.banUser` by actor: admin, owner, moderator may; a plain member, a non-member and a
/// guest may not; nobody bans the last owner; nobody bans in a direct message.
#[tokio::test]
async fn who_may_ban() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let moderator = app.user("mod").await;
    let member = app.user("member").await;
    let outsider = app.user("outsider").await;
    let mut targets = vec![];
    for i in 0..4 {
        targets.push(app.user(&format!("t{i}")).await);
    }
    let mut names: Vec<&str> = vec![&moderator.username, &member.username];
    names.extend(targets.iter().map(|t| t.username.as_str()));
    let (rid, _) = app.room(&owner, "p", &names).await;
    app.ok(
        &owner,
        "groups.addModerator",
        json!({ "roomId": rid, "userId": moderator.user_id }),
    )
    .await;
    // The admin holds `ban-user` but is no member of this private group, so cannot see it
    // (Rocket.Chat's `canAccessRoom`): the room is "not found" to them.
    let rows: [(&Session, Option<&str>); 5] = [
        (&member, Some("error-not-allowed")),
        (&outsider, Some("error-not-allowed")),
        (&app.admin, Some("error-room-not-found")),
        (&owner, None),
        (&moderator, None),
    ];
    let mut t = targets.iter();
    for (who, refusal) in rows {
        let target = match refusal {
            Some(_) => &targets[3],
            None => t.next().unwrap(),
        };
        let (status, v) = ban(&app, who, &rid, target).await;
        match refusal {
            None => assert_eq!(status, StatusCode::OK, "{} {v}", who.username),
            Some(code) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{} {v}", who.username);
                assert_eq!(v["errorType"], json!(code), "{} {v}", who.username);
            }
        }
    }
    let members = app
        .get_ok(
            &owner,
            "groups.members",
            &[("roomId", &rid), ("count", "0")],
        )
        .await;
    let ids: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["_id"].as_str())
        .collect();
    assert!(
        ids.contains(&targets[3].user_id.as_str()),
        "refused bans changed nothing"
    );
    assert!(!ids.contains(&targets[0].user_id.as_str()));
    // In a public channel the admin, no member, may ban.
    let (cid, _) = app.room(&owner, "c", &[targets[2].username.as_str()]).await;
    let (status, v) = ban(&app, &app.admin, &cid, &targets[2]).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // The last owner cannot be banned.
    let (_, v) = ban(&app, &moderator, &rid, &owner).await;
    assert_eq!(v["errorType"], json!("error-you-are-last-owner"));
    // A non-member cannot be banned.
    let (_, v) = ban(&app, &owner, &rid, &outsider).await;
    assert_eq!(v["errorType"], json!("error-user-not-in-room"));
    // Unbanning needs the same permission.
    let (_, v) = unban(&app, &member, &rid, &targets[0]).await;
    assert_eq!(v["errorType"], json!("error-not-allowed"));
    // Who cannot see the room cannot list its bans.
    let (status, v) = app
        .get(Some(&outsider), "rooms.bannedUsers", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v, json!({ "success": false, "error": "unauthorized" }));
    let v = app
        .get_ok(&member, "rooms.bannedUsers", &[("roomId", &rid)])
        .await;
    assert_eq!(v["total"], json!(2));
    // Bad input.
    let (status, v) = app
        .post(Some(&owner), "rooms.banUser", json!({ "roomId": rid }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("invalid-params"));
    let (_, v) = app
        .post(
            Some(&owner),
            "rooms.banUser",
            json!({ "roomId": rid, "userId": "nobody" }),
        )
        .await;
    assert_eq!(v["success"], json!(false));
    // A direct message: no bans.
    let dm = app
        .ok(&owner, "im.create", json!({ "username": member.username }))
        .await;
    let dm_id = dm["room"]["rid"]
        .as_str()
        .or(dm["room"]["_id"].as_str())
        .unwrap()
        .to_string();
    let (_, v) = ban(&app, &app.admin, &dm_id, &member).await;
    assert_eq!(v["success"], json!(false), "{v}");
}

/// The TalkJS-style side: a browser session cannot add a banned user; the backend (trusted)
/// can, and that lifts the ban.
#[tokio::test]
async fn browsers_cannot_add_a_banned_user_and_the_backend_can() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "p", &[bob.username.as_str()]).await;
    let (status, _) = ban(&app, &app.admin, &rid, &bob).await;
    assert_eq!(status, StatusCode::OK);
    // The admin in a browser, verified, would be allowed to add anyone else.
    let (status, v) = app
        .client_call(
            &ClientAuth::signed(&app.admin.user_id),
            "PUT",
            &format!("conversations/{rid}/participants/{}", bob.user_id),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["errorCode"], json!("USER_BANNED"));
    assert!(!app.member_ids(&rid, "p").await.contains(&bob.user_id));
    // The backend is trusted: it adds them, and the ban goes.
    app.talk_ok(
        "PUT",
        &format!("conversations/{rid}/participants/{}", bob.user_id),
        Some(json!({})),
    )
    .await;
    assert!(app.member_ids(&rid, "p").await.contains(&bob.user_id));
    let list = app
        .get_ok(&app.admin, "rooms.bannedUsers", &[("roomId", &rid)])
        .await;
    assert_eq!(list["total"], json!(0));
    // The lift is recorded before the join, as an unban of its own.
    let sys = app.system_messages(&app.admin, &rid).await;
    let at = |kind: &str| {
        sys.iter()
            .rposition(|(t, m)| t == kind && m == &bob.username)
    };
    assert!(at("user-unbanned") < at("uj"), "{sys:?}");
    assert!(at("user-unbanned").is_some());
}
