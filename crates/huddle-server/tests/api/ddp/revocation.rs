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

/// Kicks interleaved with a stream of posts: once a user's kick is answered, nothing posted
/// afterwards reaches that user's socket; the users who stay get every message exactly once.
#[tokio::test]
async fn kicks_interleaved_with_posts_leak_nothing_posted_after_the_answer() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use futures::future::join_all;

    const USERS: usize = 20;
    const MESSAGES: u64 = 100;
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let poster = app.user("poster").await;
    let mut users = vec![];
    for _ in 0..USERS {
        users.push(app.user("member").await);
    }
    let mut names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    names.push(&poster.username);
    let (gid, _) = app.room(&owner, "p", &names).await;
    let sockets = join_all(users.iter().map(|u| {
        let (app, gid) = (&app, gid.clone());
        async move {
            let mut d = Ddp::resume(app, u).await;
            let sub = d.sub_ready("stream-room-messages", &gid).await;
            (d, sub)
        }
    }))
    .await;

    // One logical clock orders "kick answered" against "post started".
    let clock = AtomicU64::new(1);
    let posted = AtomicU64::new(0);
    // Message i's post started at post_start[i]; user k's kick was answered at kick_done[k].
    let post_start = Mutex::new(vec![0u64; MESSAGES as usize]);
    let kick_done = Mutex::new(vec![u64::MAX; USERS]);
    let kicked: Vec<usize> = (0..USERS).filter(|i| i % 2 == 0).collect();

    let posting = async {
        for i in 0..MESSAGES {
            post_start.lock().unwrap()[i as usize] = clock.fetch_add(1, Ordering::SeqCst);
            app.ok(
                &poster,
                "chat.postMessage",
                json!({"roomId": gid, "text": format!("m{i}")}),
            )
            .await;
            posted.fetch_add(1, Ordering::SeqCst);
        }
    };
    let kicking = join_all(kicked.iter().enumerate().map(|(n, &k)| {
        let (app, owner, gid, users) = (&app, &owner, &gid, &users);
        let (clock, posted, kick_done) = (&clock, &posted, &kick_done);
        async move {
            // Spread the kicks over the stream of posts, two at a time: kicks 2j and 2j+1 wait
            // for 12j posts.
            let deadline = tokio::time::Instant::now() + super::WAIT;
            while posted.load(Ordering::SeqCst) < 12 * (n / 2) as u64 {
                assert!(tokio::time::Instant::now() < deadline, "posts stalled");
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            app.ok(
                owner,
                "groups.kick",
                json!({"roomId": gid, "username": users[k].username}),
            )
            .await;
            kick_done.lock().unwrap()[k] = clock.fetch_add(1, Ordering::SeqCst);
        }
    }));
    tokio::join!(posting, kicking);
    let last_at = clock.fetch_add(1, Ordering::SeqCst);
    app.ok(
        &poster,
        "chat.postMessage",
        json!({"roomId": gid, "text": "last"}),
    )
    .await;

    let post_start = post_start.into_inner().unwrap();
    let kick_done = kick_done.into_inner().unwrap();
    let mut checked_after = 0;
    let results = join_all(sockets.into_iter().enumerate().map(|(k, (mut d, sub))| {
        let gid = gid.clone();
        async move {
            if k % 2 == 1 {
                d.next_where(|v| message_text(v, "last")).await;
            }
            (k, sub, d.drain().await, gid)
        }
    }))
    .await;
    for (k, sub, frames, gid) in results {
        let texts: Vec<String> = frames
            .iter()
            // User messages only: the kicks' own "ru" system messages are not in this count.
            .filter(|v| {
                v["msg"] == "changed"
                    && v["fields"]["args"][0]["rid"] == json!(gid)
                    && v["fields"]["args"][0]["t"].is_null()
            })
            .map(|v| {
                v["fields"]["args"][0]["msg"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        if k % 2 == 1 {
            // Stays: every message once ("last" was taken by next_where), in order.
            let want: Vec<String> = (0..MESSAGES).map(|i| format!("m{i}")).collect();
            let got: Vec<String> = texts.into_iter().filter(|t| t.starts_with('m')).collect();
            assert_eq!(got, want, "user {k} (stays) missed or repeated messages");
            continue;
        }
        let done = kick_done[k];
        assert_ne!(done, u64::MAX, "kick {k} answered");
        let leaked: Vec<&String> = texts
            .iter()
            .filter(|t| {
                let started = match t.strip_prefix('m').and_then(|i| i.parse::<usize>().ok()) {
                    Some(i) => post_start[i],
                    None => last_at,
                };
                started > done
            })
            .collect();
        checked_after += post_start.iter().filter(|&&s| s > done).count() + 1;
        assert!(
            leaked.is_empty(),
            "user {k} (kicked at {done}) got messages posted after the kick's answer: {leaked:?}"
        );
        assert!(
            frames
                .iter()
                .any(|v| v["msg"] == "nosub" && v["id"] == json!(sub)),
            "user {k}: the room subscription ends with nosub: {frames:?}"
        );
    }
    assert!(
        checked_after >= kicked.len(),
        "posts after kicks were checked"
    );
}
