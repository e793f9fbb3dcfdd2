//! Events cross nodes in `seq` order (issue 13, tests 1, 2 and 7).

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::{hub, wait_for, Cluster};
use crate::ddp::Ddp;
use crate::helpers::TestApp;
use crate::native::Native;

/// The texts of the room's messages in `seq` order, from the shared database's event log.
pub(super) async fn texts_by_seq(database_url: &str, rid: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(database_url)
        .await
        .expect("connect");
    let rows = sqlx::query("SELECT payload FROM room_events WHERE rid = $1 ORDER BY seq")
        .bind(rid)
        .fetch_all(&mut conn)
        .await
        .expect("room_events");
    let mut out = vec![];
    for r in rows {
        let payload: String = r.get(0);
        let items: Vec<Value> = serde_json::from_str(&payload).expect("payload");
        for i in items {
            if i["type"] == "messageCreated" && i["message"]["t"].is_null() {
                out.push(i["message"]["msg"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    out
}

/// The texts of user messages a DDP room subscription received, in arrival order, until `n`.
pub(super) async fn read_texts(d: &mut Ddp, n: usize) -> Vec<String> {
    let mut out = vec![];
    while out.len() < n {
        let v = d.next_where(|v| v["msg"] == "changed").await;
        let m = &v["fields"]["args"][0];
        if m["t"].is_null() {
            out.push(m["msg"].as_str().unwrap_or_default().to_string());
        }
    }
    out
}

#[tokio::test]
async fn sqlite_refuses_cluster_mode_with_a_clear_message() {
    if super::on_postgres() {
        return;
    }
    let nats = super::NatsServer::start();
    let bus = huddle_cluster::NatsBus::connect(&nats.url, "refused")
        .await
        .expect("connect");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = huddle_server::ServerConfig {
        listen: "127.0.0.1".into(),
        port: 0,
        database_url: format!("sqlite://{}", dir.path().join("h.db").display()),
        cluster: Some(huddle_server::ClusterConfig {
            bus,
            options: huddle_core::cluster::ClusterOptions::new("n1".into()),
        }),
        ..huddle_server::ServerConfig::default()
    };
    let err = match huddle_server::Application::build(config).await {
        Ok(_) => panic!("SQLite must refuse cluster mode"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("needs PostgreSQL"), "{err}");
}

#[tokio::test]
async fn an_invite_on_one_node_reaches_ddp_and_native_sockets_on_others() {
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let (a, b, cn) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);
    let owner = a.user("owner").await;
    let invitee = a.user("invitee").await;
    let watcher = a.user("watcher").await;
    let (gid, _) = a.room(&owner, "p", &[&watcher.username]).await;
    for node in &c.nodes {
        let res = node
            .client
            .get(format!("{}/api/info", node.base))
            .send()
            .await
            .expect("info");
        let info: Value = res.json().await.expect("json");
        assert_eq!(info["info"]["node"], json!(hub(node).id()), "{info}");
    }

    // The invitee on B, listening to their memberships and to every room they may read.
    let mut d = Ddp::resume(b, &invitee).await;
    d.sub_ready(
        "stream-notify-user",
        &format!("{}/subscriptions-changed", invitee.user_id),
    )
    .await;
    d.sub_ready("stream-room-messages", "__my_messages__").await;
    // A member of the room on C, on the native socket.
    let mut n = Native::user(cn, &watcher.user_id).await;
    n.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": gid}))
        .await;

    a.ok(
        &owner,
        "groups.invite",
        json!({"roomId": gid, "userId": invitee.user_id}),
    )
    .await;

    let changed = d
        .next_where(|v| v["msg"] == "changed" && v["collection"] == "stream-notify-user")
        .await;
    assert_eq!(changed["fields"]["args"][0], "inserted", "{changed}");
    assert_eq!(changed["fields"]["args"][1]["rid"], json!(gid), "{changed}");
    let au = d
        .next_where(|v| v["msg"] == "changed" && v["collection"] == "stream-room-messages")
        .await;
    assert_eq!(au["fields"]["args"][0]["t"], "au", "{au}");
    assert_eq!(au["fields"]["args"][0]["rid"], json!(gid), "{au}");

    let joined = loop {
        let v = n.recv().await;
        if v["event"] == "participant.joined" {
            break v;
        }
    };
    assert_eq!(joined["conversation"], json!(gid), "{joined}");
    assert_eq!(joined["data"]["userId"], json!(invitee.user_id), "{joined}");

    // The invitee now hears the room's messages on B, posted on C.
    cn.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": gid, "text": "welcome"}),
    )
    .await;
    d.next_where(|v| crate::ddp::message_text(v, "welcome"))
        .await;
}

#[tokio::test]
async fn concurrent_posts_from_two_nodes_reach_every_socket_in_seq_order() {
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let a = &c.nodes[0];
    let owner = a.user("owner").await;
    let readers = [a.user("r0").await, a.user("r1").await, a.user("r2").await];
    let names: Vec<&str> = readers.iter().map(|r| r.username.as_str()).collect();
    let (gid, _) = a.room(&owner, "p", &names).await;
    let mut socks = vec![];
    for (node, reader) in c.nodes.iter().zip(&readers) {
        let mut d = Ddp::resume(node, reader).await;
        d.sub_ready("stream-room-messages", &gid).await;
        socks.push(d);
    }
    const EACH: usize = 60;
    let post_all = |node: &'static str, app: &TestApp| {
        let owner = owner.clone();
        let gid = gid.clone();
        let (client, base) = (app.client.clone(), app.base.clone());
        async move {
            for i in 0..EACH {
                let res = client
                    .post(format!("{base}/api/v1/chat.postMessage"))
                    .header("X-User-Id", &owner.user_id)
                    .header("X-Auth-Token", &owner.token)
                    .json(&json!({"roomId": gid, "text": format!("{node}{i}")}))
                    .send()
                    .await
                    .expect("post");
                assert!(res.status().is_success());
            }
        }
    };
    tokio::join!(post_all("a", &c.nodes[0]), post_all("b", &c.nodes[1]));
    let expected = texts_by_seq(&c.database_url, &gid).await;
    assert_eq!(expected.len(), 2 * EACH);
    for (i, d) in socks.iter_mut().enumerate() {
        let got = read_texts(d, 2 * EACH).await;
        assert_eq!(got, expected, "socket on node {i}");
    }
}

#[tokio::test]
async fn a_node_without_local_interest_receives_nothing_of_a_room() {
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let (a, b, idle) = (&c.nodes[0], &c.nodes[1], &c.nodes[2]);
    let owner = a.user("owner").await;
    let reader = a.user("reader").await;
    let (gid, _) = a.room(&owner, "p", &[&reader.username]).await;
    let mut d = Ddp::resume(b, &reader).await;
    d.sub_ready("stream-room-messages", &gid).await;
    for i in 0..20 {
        a.ok(
            &owner,
            "chat.postMessage",
            json!({"roomId": gid, "text": format!("m{i}")}),
        )
        .await;
    }
    read_texts(&mut d, 20).await;
    let (hb, hi) = (hub(b), hub(idle));
    assert!(hb.stats.room_messages.load(Ordering::Relaxed) > 0);
    assert!(hb.followed_rooms().contains(&gid));
    assert_eq!(hi.stats.room_messages.load(Ordering::Relaxed), 0);
    assert!(hi.followed_rooms().is_empty(), "{:?}", hi.followed_rooms());

    // Interest ends with the last local socket: B stops following the room.
    drop(d);
    wait_for("B drops the room", || !hb.followed_rooms().contains(&gid)).await;
    let before = hb.stats.room_messages.load(Ordering::Relaxed);
    for i in 0..5 {
        a.ok(
            &owner,
            "chat.postMessage",
            json!({"roomId": gid, "text": format!("late{i}")}),
        )
        .await;
    }
    // A later event of another room B follows proves the bus delivered everything before it.
    let other_reader = a.user("other").await;
    let (other, _) = a.room(&owner, "p", &[&other_reader.username]).await;
    let mut o = Ddp::resume(b, &other_reader).await;
    o.sub_ready("stream-room-messages", &other).await;
    a.ok(
        &owner,
        "chat.postMessage",
        json!({"roomId": other, "text": "probe"}),
    )
    .await;
    o.next_where(|v| crate::ddp::message_text(v, "probe")).await;
    let after = hb.stats.room_messages.load(Ordering::Relaxed);
    assert_eq!(after - before, 1, "only the probe reached B");
}
