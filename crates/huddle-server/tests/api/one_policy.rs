//! One authorization policy for both APIs: the holes found between them, each reproduced over
//! HTTP. A Rocket.Chat room reached through the browser API stays under Rocket.Chat's rules; a
//! TalkJS-style conversation under TalkJS's; nothing leaks past a revocation.

use huddle_core::services::sign_user_id;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{ClientAuth, Session, TestApp, SECRET};

fn signed(s: &Session) -> ClientAuth {
    ClientAuth::Signed(s.user_id.clone(), sign_user_id(SECRET, &s.user_id))
}

fn code(v: &Value) -> &str {
    v["errorCode"].as_str().unwrap_or_default()
}

/// The reported takeover: a plain user, with a valid browser session of their own, joins a
/// private group they were never invited to, removes its only owner and opens it to guests.
#[tokio::test]
async fn browser_sessions_follow_rocket_chat_rules_on_rocket_chat_rooms() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (gid, _) = app.room(&app.admin, "p", &[]).await;
    let participant = |uid: &str| format!("conversations/{gid}/participants/{uid}");

    let (status, v) = app
        .client_call(
            &signed(&bob),
            "PUT",
            &participant(&bob.user_id),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(!app.member_ids(&gid, "p").await.contains(&bob.user_id));
    let (status, _) = app
        .client_call(
            &signed(&bob),
            "PUT",
            &format!("conversations/{gid}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a PUT of the room must not add its caller"
    );
    let (status, _) = app
        .client_call(
            &signed(&bob),
            "GET",
            &format!("conversations/{gid}/messages"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a non-member reads nothing");

    // A member without Rocket.Chat's `remove-user` cannot remove anyone, least of all the
    // last owner; nor open the group to guests; nor add others.
    app.ok(
        &app.admin,
        "groups.invite",
        json!({ "roomId": gid, "userId": bob.user_id }),
    )
    .await;
    let (status, v) = app
        .client_call(
            &signed(&bob),
            "DELETE",
            &participant(&app.admin.user_id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(app.member_ids(&gid, "p").await.contains(&app.admin.user_id));
    let (status, v) = app
        .client_call(
            &signed(&bob),
            "PUT",
            &format!("conversations/{gid}"),
            Some(json!({ "guestAccess": true })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (_, conv) = app.talk("GET", &format!("conversations/{gid}"), None).await;
    assert_eq!(conv["guestAccess"], json!(false));
    let (status, _) = app
        .client_call(
            &signed(&bob),
            "PUT",
            &participant(&carol.user_id),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .client_call(
            &signed(&bob),
            "PATCH",
            &participant(&app.admin.user_id),
            Some(json!({ "access": "Read" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "muting needs mute-user");

    // The owner may, through either API; and still not leave as the last owner.
    let (status, v) = app
        .client_call(
            &signed(&app.admin),
            "PUT",
            &participant(&carol.user_id),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(app.member_ids(&gid, "p").await.contains(&carol.user_id));
    let (status, v) = app
        .client_call(
            &signed(&app.admin),
            "DELETE",
            &participant(&app.admin.user_id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(code(&v), "LAST_OWNER");
    let (status, v) = app
        .client_call(
            &signed(&app.admin),
            "PUT",
            &format!("conversations/{gid}"),
            Some(json!({ "guestAccess": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // A member may leave a group they belong to.
    let (status, v) = app
        .client_call(&signed(&bob), "DELETE", &participant(&bob.user_id), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(!app.member_ids(&gid, "p").await.contains(&bob.user_id));
}

/// With identity verification switched off (local development), a bare user id is no proof:
/// it never acts on a Rocket.Chat room, whoever it names.
#[tokio::test]
async fn unproven_browser_sessions_never_touch_rocket_chat_rooms() {
    let app = TestApp::spawn().await;
    let (gid, _) = app.room(&app.admin, "p", &[]).await;
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "identityVerification": false })),
    )
    .await;
    let as_admin = ClientAuth::Bare(app.admin.user_id.clone());
    for (method, path, body) in [
        ("GET", format!("conversations/{gid}/messages"), None),
        (
            "POST",
            format!("conversations/{gid}/messages"),
            Some(json!({ "text": "hi" })),
        ),
        ("GET", format!("conversations/{gid}"), None),
        (
            "PUT",
            format!("conversations/{gid}"),
            Some(json!({ "guestAccess": true })),
        ),
    ] {
        let (status, v) = app.client_call(&as_admin, method, &path, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(code(&v), "IDENTITY_NOT_VERIFIED", "{v}");
    }
    let (_, history) = app
        .get(
            Some(&app.admin),
            "groups.history",
            &[("roomId", gid.as_str())],
        )
        .await;
    assert!(
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["msg"] != json!("hi")),
        "nothing was posted: {history}"
    );
}

/// A participant set to `access: "None"` sees nothing newer than the cut-off in any field.
#[tokio::test]
async fn revoked_participants_see_nothing_past_the_cut_off() {
    let app = TestApp::spawn().await;
    for u in ["ann", "ben"] {
        app.talk_ok("PUT", &format!("users/{u}"), Some(json!({ "name": u })))
            .await;
    }
    app.talk_ok(
        "PUT",
        "conversations/cut",
        Some(json!({ "participants": ["ann", "ben"] })),
    )
    .await;
    let before = app
        .talk_ok(
            "POST",
            "conversations/cut/messages",
            Some(json!([{ "type": "UserMessage", "sender": "ann", "text": "before" }])),
        )
        .await;
    let before_id = before[0]["id"].as_str().unwrap().to_string();
    app.talk_ok(
        "PATCH",
        "conversations/cut/participants/ben",
        Some(json!({ "access": "None" })),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.talk_ok(
        "POST",
        "conversations/cut/messages",
        Some(json!([{ "type": "UserMessage", "sender": "ann", "text": "after" }])),
    )
    .await;
    let ben = ClientAuth::Signed("ben".into(), sign_user_id(SECRET, "ben"));
    let (status, inbox) = app.client_call(&ben, "GET", "conversations", None).await;
    assert_eq!(status, StatusCode::OK, "{inbox}");
    let entry = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!("cut"))
        .expect("the conversation stays in the list")
        .clone();
    // The last thing ben sees is the notice of his own revocation, at the cut-off.
    let notice = json!("ben's access changed to None");
    assert_eq!(entry["lastMessage"]["text"], notice, "{entry}");
    assert_eq!(entry["isUnread"], json!(false), "{entry}");
    let (status, conv) = app
        .client_call(&ben, "GET", "conversations/cut", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{conv}");
    assert_eq!(conv["lastMessage"]["text"], notice, "{conv}");
    let (_, listed) = app.talk("GET", "users/ben/conversations", None).await;
    let entry = &listed["data"][0];
    assert_eq!(entry["lastMessage"]["text"], notice, "{listed}");
    let (_, messages) = app
        .client_call(&ben, "GET", "conversations/cut/messages", None)
        .await;
    assert!(
        messages["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["text"] != json!("after")),
        "{messages}"
    );
    assert!(messages.to_string().contains(&before_id), "{messages}");
    // Others still see the newest message.
    let ann = ClientAuth::Signed("ann".into(), sign_user_id(SECRET, "ann"));
    let (_, conv) = app
        .client_call(&ann, "GET", "conversations/cut", None)
        .await;
    assert_eq!(conv["lastMessage"]["text"], json!("after"), "{conv}");
}

/// TalkJS refuses a backend user message whose sender is not a participant who may write.
#[tokio::test]
async fn backend_messages_need_a_sender_who_may_write() {
    let app = TestApp::spawn().await;
    for u in ["pat", "rea", "out"] {
        app.talk_ok("PUT", &format!("users/{u}"), Some(json!({ "name": u })))
            .await;
    }
    app.talk_ok(
        "PUT",
        "conversations/snd",
        Some(json!({ "participants": ["pat"] })),
    )
    .await;
    app.talk_ok(
        "PUT",
        "conversations/snd/participants/rea",
        Some(json!({ "access": "Read" })),
    )
    .await;
    for (sender, why) in [
        ("out", "is not a participant"),
        ("rea", "has no write access"),
    ] {
        let (status, v) = app
            .talk(
                "POST",
                "conversations/snd/messages",
                Some(json!([{ "type": "UserMessage", "sender": sender, "text": "x" }])),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sender}: {v}");
        assert_eq!(code(&v), "SENDER_NOT_ALLOWED");
        assert!(v["reason"].as_str().unwrap().contains(why), "{v}");
    }
    let (_, msgs) = app.talk("GET", "conversations/snd/messages", None).await;
    assert!(msgs["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["text"] != json!("x")));
    let (status, v) = app
        .talk(
            "POST",
            "conversations/snd/messages",
            Some(json!([{ "type": "UserMessage", "sender": "pat", "text": "ok" }])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

/// A user is a user whichever API made them: a Rocket.Chat invite adds users made through the
/// TalkJS-style API (they have no username) by id.
#[tokio::test]
async fn rocket_chat_invites_add_users_made_through_the_talkjs_api() {
    let app = TestApp::spawn().await;
    for u in ["pu0", "pu1"] {
        app.talk_ok("PUT", &format!("users/{u}"), Some(json!({ "name": u })))
            .await;
    }
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let v = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": rid, "userIds": ["pu0", "pu1"] }),
        )
        .await;
    let members = app.member_ids(&rid, "c").await;
    assert!(members.contains(&"pu0".to_string()), "{v} {members:?}");
    assert!(members.contains(&"pu1".to_string()), "{members:?}");
    assert_eq!(v["channel"]["usersCount"], json!(3), "{v}");
    let (_, participants) = app
        .talk("GET", &format!("conversations/{rid}/participants"), None)
        .await;
    assert!(participants.to_string().contains("pu0"), "{participants}");
    // Again: already members, nothing changes.
    let v = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": rid, "userIds": ["pu0"] }),
        )
        .await;
    assert_eq!(v["channel"]["usersCount"], json!(3), "{v}");
}

/// Through the Rocket.Chat API a TalkJS-style conversation is reachable by its members, with
/// their participant access: read-only participants read but cannot post.
#[tokio::test]
async fn rocket_chat_sessions_respect_participant_access() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita").await;
    app.talk_ok(
        "PUT",
        "conversations/acc",
        Some(json!({ "participants": [rita.user_id] })),
    )
    .await;
    app.talk_ok(
        "PATCH",
        &format!("conversations/acc/participants/{}", rita.user_id),
        Some(json!({ "access": "Read" })),
    )
    .await;
    let (status, v) = app
        .post(
            Some(&rita),
            "chat.postMessage",
            json!({ "roomId": "acc", "text": "no" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v, json!({ "success": false, "error": "error-not-allowed" }));
    let (status, v) = app
        .get(Some(&rita), "groups.history", &[("roomId", "acc")])
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}
