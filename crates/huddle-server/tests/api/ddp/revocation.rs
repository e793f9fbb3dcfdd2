//! Revocation is immediate: whoever loses a room stops hearing it before its next event, with a
//! frame that says so; and subscriptions made before a login are decided when it succeeds.

use serde_json::json;

use super::{message_text, Ddp};
use crate::helpers::TestApp;

#[tokio::test]
async fn kicked_user_hears_nothing_more_of_the_room() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let kicked = app.user("kicked").await;
    let stays = app.user("stays").await;
    let (gid, _) = app
        .room(&owner, "p", &[&kicked.username, &stays.username])
        .await;
    let mut k = Ddp::resume(&app, &kicked).await;
    let room_sub = k.sub_ready("stream-room-messages", &gid).await;
    k.sub_ready("stream-room-messages", "__my_messages__").await;
    k.sub_ready("stream-notify-room", &format!("{gid}/deleteMessage"))
        .await;
    let mut s = Ddp::resume(&app, &stays).await;
    s.sub_ready("stream-room-messages", &gid).await;
    app.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": gid, "text": "before"}),
    )
    .await;
    k.next_where(|v| message_text(v, "before")).await;

    app.ok(
        &owner,
        "groups.kick",
        json!({"roomId": gid, "username": kicked.username}),
    )
    .await;
    // Posted right after the kick, in a burst.
    for i in 0..20 {
        app.ok(
            &owner,
            "chat.postMessage",
            json!({"roomId": gid, "text": format!("after{i}")}),
        )
        .await;
    }
    let last = app
        .ok(
            &owner,
            "chat.postMessage",
            json!({"roomId": gid, "text": "last"}),
        )
        .await;
    app.ok(
        &owner,
        "chat.delete",
        json!({"roomId": gid, "msgId": last["message"]["_id"]}),
    )
    .await;
    s.next_where(|v| message_text(v, "last")).await;
    let frames = k.drain().await;
    let ended: Vec<_> = frames.iter().filter(|v| v["msg"] == "nosub").collect();
    assert!(
        ended.iter().any(|v| v["id"] == json!(room_sub)),
        "the room subscription ends with a frame: {frames:?}"
    );
    assert!(ended.iter().all(|v| v["error"]["error"] == "not-allowed"));
    let leaked: Vec<_> = frames
        .iter()
        .filter(|v| {
            v["msg"] == "changed"
                && !message_text(v, "before")
                && (v["fields"]["args"][0]["rid"] == json!(gid)
                    || v["fields"]["eventName"] == json!(format!("{gid}/deleteMessage")))
        })
        .collect();
    assert!(
        leaked.is_empty(),
        "kicked user still hears the room: {leaked:?}"
    );
    // Subscribing again is refused.
    let frames = k.sub("stream-room-messages", json!([gid, false])).await;
    assert_eq!(frames[0]["msg"], "nosub");
}

#[tokio::test]
async fn leave_and_delete_revoke_too() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let bob = app.user("bob").await;
    let (g1, _) = app.room(&owner, "p", &[&bob.username]).await;
    let (g2, _) = app.room(&owner, "p", &[&bob.username]).await;
    let mut b = Ddp::resume(&app, &bob).await;
    let s1 = b.sub_ready("stream-room-messages", &g1).await;
    let s2 = b.sub_ready("stream-room-messages", &g2).await;
    let mut o = Ddp::resume(&app, &owner).await;
    o.sub_ready("stream-room-messages", &g2).await;

    b.ok("leaveRoom", json!([g1])).await;
    let v = b.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(v["id"], json!(s1));
    app.ok(&owner, "groups.delete", json!({"roomId": g2})).await;
    let v = b.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(v["id"], json!(s2));
    assert_eq!(v["error"]["error"], "not-allowed");
    let v = o.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(
        v["error"]["error"], "not-allowed",
        "the owner's stream ends too"
    );
    app.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": g1, "text": "gone"}),
    )
    .await;
    b.assert_none("room left", |v| message_text(v, "gone"))
        .await;
}

#[tokio::test]
async fn subscriptions_before_login_are_decided_at_login() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (gid, _) = app.room(&alice, "p", &[]).await;
    // A bot reconnecting: it resubscribes first, then resumes.
    let mut d = Ddp::connect(&app).await;
    d.sub_ready("stream-room-messages", "__my_messages__").await;
    d.sub_ready("stream-room-messages", &gid).await;
    d.sub_ready(
        "stream-notify-user",
        &format!("{}/rooms-changed", alice.user_id),
    )
    .await;
    let foreign = d
        .sub_ready(
            "stream-notify-user",
            &format!("{}/rooms-changed", bob.user_id),
        )
        .await;
    // Nothing flows before the login.
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": gid, "text": "early"}),
    )
    .await;
    d.assert_none("before login", |v| message_text(v, "early"))
        .await;
    d.ok("login", json!([{"resume": alice.token}])).await;
    // The subscription on someone else's events ends; the others go live.
    let v = d.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(v["id"], json!(foreign));
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": gid, "text": "late"}),
    )
    .await;
    let mine = d
        .next_where(|v| message_text(v, "late") && v["fields"]["eventName"] == "__my_messages__")
        .await;
    assert_eq!(mine["fields"]["args"][1]["roomParticipant"], true);
    d.next_where(|v| message_text(v, "late") && v["fields"]["eventName"] == json!(gid))
        .await;
    app.ok(
        &alice,
        "groups.setTopic",
        json!({"roomId": gid, "topic": "t"}),
    )
    .await;
    d.event(&format!("{}/rooms-changed", alice.user_id)).await;
}

#[tokio::test]
async fn deactivation_ends_the_session_streams() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (cid, _) = app.room(&app.admin, "c", &[&alice.username]).await;
    let mut d = Ddp::resume(&app, &alice).await;
    let sub = d.sub_ready("stream-room-messages", "__my_messages__").await;
    app.ok(
        &app.admin,
        "users.setActiveStatus",
        json!({"userId": alice.user_id, "activeStatus": false}),
    )
    .await;
    let v = d.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(v["id"], json!(sub));
    app.ok(
        &app.admin,
        "chat.postMessage",
        json!({"roomId": cid, "text": "x"}),
    )
    .await;
    d.assert_none("after deactivation", |v| message_text(v, "x"))
        .await;
    let e = d.err("rooms/get", json!([])).await;
    assert_eq!(e["error"], "error-invalid-user");
}

#[tokio::test]
async fn deleting_a_user_ends_their_streams() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (gid, _) = app.room(&app.admin, "p", &[&alice.username]).await;
    let mut d = Ddp::resume(&app, &alice).await;
    let room_sub = d.sub_ready("stream-room-messages", &gid).await;
    app.ok(&app.admin, "users.delete", json!({"userId": alice.user_id}))
        .await;
    let v = d.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(v["id"], json!(room_sub));
    let e = d.err("rooms/get", json!([])).await;
    assert_eq!(e["error"], "error-invalid-user");
}

#[tokio::test]
async fn revoking_a_token_ends_only_the_sessions_using_it() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let other = app.login(&alice.username, "pw-123456").await;
    let mut revoked = Ddp::resume(&app, &alice).await;
    let mut kept = Ddp::resume(&app, &other).await;
    let sub = revoked
        .sub_ready("stream-room-messages", "__my_messages__")
        .await;
    kept.sub_ready("stream-room-messages", "__my_messages__")
        .await;
    let (status, _) = app.post(Some(&alice), "logout", json!({})).await;
    assert_eq!(status, 200);
    let v = revoked.next_where(|v| v["msg"] == "nosub").await;
    assert_eq!(v["id"], json!(sub));
    let e = revoked.err("rooms/get", json!([])).await;
    assert_eq!(e["error"], "error-invalid-user");
    app.ok(
        &other,
        "chat.postMessage",
        json!({"roomId": "GENERAL", "text": "still here"}),
    )
    .await;
    kept.next_where(|v| message_text(v, "still here")).await;
    assert!(kept.ok("rooms/get", json!([])).await.is_array());
}

/// A TalkJS-style participant set to `access: "None"` keeps the membership but may not read
/// live any more: the DDP subscription ends like a kick, and joining again is refused.
#[tokio::test]
async fn access_none_over_the_talkjs_api_revokes_live_reading() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let revoked = app.user("revoked").await;
    let (gid, _) = app.room(&owner, "p", &[&revoked.username]).await;
    let mut r = Ddp::resume(&app, &revoked).await;
    let room_sub = r.sub_ready("stream-room-messages", &gid).await;
    app.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": gid, "text": "before"}),
    )
    .await;
    r.next_where(|v| message_text(v, "before")).await;

    app.talk_ok(
        "PATCH",
        &format!("conversations/{gid}/participants/{}", revoked.user_id),
        Some(json!({ "access": "None" })),
    )
    .await;
    app.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": gid, "text": "after"}),
    )
    .await;
    let frames = r.drain().await;
    assert!(
        frames
            .iter()
            .any(|v| v["msg"] == "nosub" && v["id"] == json!(room_sub)),
        "the room subscription ends: {frames:?}"
    );
    assert!(
        !frames.iter().any(|v| message_text(v, "after")),
        "nothing posted after the revocation arrives: {frames:?}"
    );
    let frames = r.sub("stream-room-messages", json!([gid, false])).await;
    assert_eq!(frames[0]["msg"], "nosub", "subscribing again is refused");
}
