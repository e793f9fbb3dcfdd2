//! Revocations are in force on every node before the call returns (issue 13, tests 3 and 8).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{hub, Cluster};
use crate::ddp::Ddp;
use crate::helpers::{unique, TestApp};
use crate::native::{conversation, post, Native};

/// The room's latest event number in the shared database.
async fn db_seq(database_url: &str, rid: &str) -> i64 {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(database_url)
        .await
        .expect("connect");
    sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM room_events WHERE rid = $1")
        .bind(rid)
        .fetch_one(&mut conn)
        .await
        .expect("seq")
        .get::<i64, _>(0)
}

async fn me(app: &TestApp, who: &crate::helpers::Session) -> StatusCode {
    app.get(Some(who), "me", &[]).await.0
}

#[tokio::test]
async fn logout_key_revocation_and_guest_access_off_hold_on_every_node_at_once() {
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let (a, b) = (&c.nodes[0], &c.nodes[1]);

    // A logout on A: B refuses the token as soon as the call returned, though B had it cached.
    let u = a.user("leaver").await;
    assert_eq!(me(b, &u).await, StatusCode::OK);
    assert_eq!(me(b, &u).await, StatusCode::OK, "now cached on B");
    let (status, _) = a.post(Some(&u), "logout", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me(b, &u).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&c.nodes[2], &u).await, StatusCode::UNAUTHORIZED);

    // A secret key revoked on A: refused on B at once (B re-reads keys before A answers).
    let new = a.talk_ok("POST", "keys", None).await;
    let secret = new["secret"].as_str().expect("secret").to_string();
    let id = new["id"].as_str().expect("id").to_string();
    let on_b = |s: String| async move { b.talk_with(Some(&s), "GET", "users", None).await.0 };
    assert_eq!(on_b(secret.clone()).await, StatusCode::OK, "created on A");
    a.talk_ok("DELETE", &format!("keys/{id}"), None).await;
    assert_eq!(on_b(secret.clone()).await, StatusCode::UNAUTHORIZED);

    // Guest access switched off on A (the conversation's switch, then the app's): the guest
    // subscription on B has ended before the call returns.
    let owner = unique("owner");
    let guest = unique("guest");
    let cid = conversation(a, &[&owner]).await;
    a.talk_ok(
        "PUT",
        &format!("users/{guest}"),
        Some(json!({ "name": "g" })),
    )
    .await;
    let mut g = Native::user(b, &guest).await;
    let sub =
        json!({"v": 1, "type": "subscribe", "id": "g1", "conversation": cid, "asGuest": true});
    g.sub(sub.clone()).await;
    post(a, &cid, &owner, "hello guest").await;
    assert_eq!(
        g.event("message.created").await["data"]["text"],
        "hello guest"
    );
    a.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "guestAccess": false })),
    )
    .await;
    let seq = db_seq(&c.database_url, &cid).await;
    let applied = hub(b).applied(&cid).expect("B follows the conversation");
    assert!(
        applied >= seq,
        "B applied {applied} < {seq} when the call returned"
    );
    post(a, &cid, &owner, "secret").await;
    let v = g.recv().await;
    assert_eq!(v["type"], "revoked", "{v}");
    assert_eq!(v["reason"], "guest-access-off", "{v}");
    g.quiet().await;

    a.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "guestAccess": true })),
    )
    .await;
    g.sub(sub.clone()).await;
    a.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "browserConversationSync": false })),
    )
    .await;
    // B re-read the settings before A answered: a new guest subscription there is refused.
    g.send(json!({"v": 1, "type": "subscribe", "id": "g2", "conversation": cid, "asGuest": true}))
        .await;
    let mut saw_revoked = false;
    let mut refused = false;
    while !(saw_revoked && refused) {
        let v = g.recv().await;
        if v["type"] == "revoked" {
            assert_eq!(v["reason"], "guest-access-off", "{v}");
            saw_revoked = true;
        } else if v["id"] == "g2" {
            assert_eq!(v["code"], "GUEST_ACCESS_DISABLED", "{v}");
            refused = true;
        }
    }
    for node in &c.nodes {
        assert_eq!(hub(node).stats.ack_timeouts.load(Ordering::Relaxed), 0);
    }
}

/// Membership of `uid` after each event of the room, from the log: seq -> member.
async fn membership_by_seq(
    database_url: &str,
    rid: &str,
    uid: &str,
) -> (Vec<bool>, HashMap<String, i64>) {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(database_url)
        .await
        .expect("connect");
    let rows = sqlx::query("SELECT seq, payload FROM room_events WHERE rid = $1 ORDER BY seq")
        .bind(rid)
        .fetch_all(&mut conn)
        .await
        .expect("room_events");
    let mut member = vec![false];
    let mut seq_of = HashMap::new();
    let mut now = false;
    for r in rows {
        let seq: i64 = r.get(0);
        assert_eq!(seq as usize, member.len(), "no gap in the log");
        let items: Vec<Value> = serde_json::from_str(&r.get::<String, _>(1)).expect("payload");
        for i in &items {
            match i["type"].as_str() {
                Some("memberAdded")
                    if i["subscription"]["u"]["_id"] == uid
                        || i["subscription"]["u"]["id"] == uid =>
                {
                    now = true
                }
                Some("memberRemoved") if i["uid"] == uid => now = false,
                Some("messageCreated") => {
                    seq_of.insert(
                        i["message"]["id"].as_str().unwrap_or_default().to_string(),
                        seq,
                    );
                }
                _ => {}
            }
        }
        member.push(now);
    }
    (member, seq_of)
}

#[tokio::test]
async fn no_message_committed_after_a_kick_reaches_the_kicked_user_on_any_node() {
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let (a, b, cn) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);
    let owner = a.user("owner").await;
    let poster = a.user("poster").await;
    let kicked = a.user("kicked").await;
    let (gid, _) = a.room(&owner, "p", &[&poster.username]).await;
    // The kicked user listens on B and C to every message they may read.
    let mut socks = vec![];
    for node in [b, cn] {
        let mut d = Ddp::resume(node, &kicked).await;
        d.sub_ready("stream-room-messages", "__my_messages__").await;
        socks.push(read_until_the_end(d));
    }
    // A member who stays, on B and C, so both nodes follow the room throughout.
    let mut keepers = vec![];
    for node in [b, cn] {
        let mut d = Ddp::resume(node, &owner).await;
        d.sub_ready("stream-room-messages", &gid).await;
        keepers.push(read_until_the_end(d));
    }
    let pairs: usize = std::env::var("HUDDLE_TEST_KICK_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // B floods the room with posts for as long as the kicks go on.
    let flood = {
        let (client, base, poster, gid, stop) = (
            b.client.clone(),
            b.base.clone(),
            poster.clone(),
            gid.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let res = client
                    .post(format!("{base}/api/v1/chat.postMessage"))
                    .header("X-User-Id", &poster.user_id)
                    .header("X-Auth-Token", &poster.token)
                    .json(&json!({"roomId": gid, "text": format!("flood{n}")}))
                    .send()
                    .await
                    .expect("post");
                assert!(res.status().is_success());
                n += 1;
            }
            n
        })
    };
    let (hb, hc) = (hub(b), hub(cn));
    let mut db = {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&c.database_url)
            .await
            .expect("connect")
    };
    for _ in 0..pairs {
        a.ok(
            &owner,
            "groups.invite",
            json!({"roomId": gid, "userId": kicked.user_id}),
        )
        .await;
        a.ok(
            &owner,
            "groups.kick",
            json!({"roomId": gid, "userId": kicked.user_id}),
        )
        .await;
        // Returned only after B and C acknowledged: both applied the kick already.
        let kick_seq = {
            use sqlx::Row;
            sqlx::query(
                "SELECT MAX(seq) FROM room_events WHERE rid = $1 AND kind = 'member.removed'",
            )
            .bind(&gid)
            .fetch_one(&mut db)
            .await
            .expect("kick seq")
            .get::<i64, _>(0)
        };
        for h in [&hb, &hc] {
            let applied = h.applied(&gid).expect("followed");
            assert!(applied >= kick_seq, "{applied} < kick {kick_seq}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let posted = flood.await.expect("flood");
    assert!(posted > 0);
    // A last message while the user is out, then back in and one more, so each socket has
    // provably received everything routed before it.
    a.ok(
        &owner,
        "groups.invite",
        json!({"roomId": gid, "userId": kicked.user_id}),
    )
    .await;
    a.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": gid, "text": "the end"}),
    )
    .await;
    let (member, seq_of) = membership_by_seq(&c.database_url, &gid, &kicked.user_id).await;
    for (i, d) in socks.into_iter().enumerate() {
        let frames = d.await.expect("reader");
        let mut seen = HashSet::new();
        for f in frames.iter().filter(|f| f["msg"] == "changed") {
            let id = f["fields"]["args"][0]["_id"].as_str().unwrap_or_default();
            let Some(&seq) = seq_of.get(id) else { continue };
            assert!(
                seen.insert(id.to_string()),
                "delivered twice on socket {i}: {f}"
            );
            assert!(
                member[seq as usize],
                "socket {i} got seq {seq}, committed while the user was out: {f}"
            );
        }
    }
    for node in &c.nodes {
        assert_eq!(hub(node).stats.ack_timeouts.load(Ordering::Relaxed), 0);
    }
    for k in keepers {
        k.await.expect("the keepers heard everything up to the end");
    }
}

/// Reads a socket (so it never falls behind and is closed as too slow) until the message
/// "the end"; returns every frame read.
fn read_until_the_end(mut d: Ddp) -> tokio::task::JoinHandle<Vec<Value>> {
    tokio::spawn(async move {
        let mut frames = vec![];
        loop {
            let v = d.recv().await;
            if v["msg"] == "ping" {
                // Answered, or the server's heartbeat would close a long test's socket.
                d.send(json!({"msg": "pong"})).await;
                continue;
            }
            let end = crate::ddp::message_text(&v, "the end");
            frames.push(v);
            if end {
                return frames;
            }
        }
    })
}
