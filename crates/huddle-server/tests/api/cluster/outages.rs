//! The bus may lose messages; clients must not (issue 13, test 5).

use std::time::Duration;

use serde_json::json;

use super::delivery::{read_texts, texts_by_seq};
use super::{hub, wait_for, Cluster};
use crate::ddp::Ddp;

#[tokio::test]
async fn a_nats_restart_mid_stream_loses_and_repeats_nothing() {
    // Not fenced while the server is away: this test is about catching up.
    let Some(mut c) = Cluster::start_with(2, |o| o.fence_after = Duration::from_secs(60)).await
    else {
        return;
    };
    let (a, b) = (&c.nodes[0], &c.nodes[1]);
    let owner = a.user("owner").await;
    let near = a.user("near").await;
    let far = a.user("far").await;
    let (gid, _) = a.room(&owner, "p", &[&near.username, &far.username]).await;
    let mut on_a = Ddp::resume(a, &near).await;
    on_a.sub_ready("stream-room-messages", &gid).await;
    let mut on_b = Ddp::resume(b, &far).await;
    on_b.sub_ready("stream-room-messages", &gid).await;

    const TOTAL: usize = 200;
    const KILL_AT: usize = 60;
    let mut restarted = None;
    for i in 0..TOTAL {
        if i == KILL_AT {
            c.nats.kill();
            // Back after a second, while the posts go on.
            let mut nats = std::mem::replace(&mut c.nats, super::NatsServer::placeholder());
            restarted = Some(tokio::task::spawn_blocking(move || {
                std::thread::sleep(Duration::from_secs(1));
                nats.restart();
                nats
            }));
        }
        a.ok(
            &owner,
            "chat.postMessage",
            json!({"roomId": gid, "text": format!("m{i}")}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(r) = restarted {
        c.nats = r.await.expect("restart");
    }
    let hb = hub(b);
    wait_for("B reconnects to the bus", || hb.bus_connected()).await;
    let expected = texts_by_seq(&c.database_url, &gid).await;
    assert_eq!(expected.len(), TOTAL);
    assert_eq!(read_texts(&mut on_a, TOTAL).await, expected, "socket on A");
    assert_eq!(read_texts(&mut on_b, TOTAL).await, expected, "socket on B");
    // Exactly once: nothing more arrives.
    on_b.assert_none("a repeated message", |v| v["msg"] == "changed")
        .await;
}

#[tokio::test]
async fn a_node_cut_off_from_nats_closes_its_sockets_with_the_fenced_code() {
    let Some(mut c) = Cluster::start_with(2, |o| o.fence_after = Duration::from_millis(500)).await
    else {
        return;
    };
    let u = c.nodes[1].user("u").await;
    let d = Ddp::resume(&c.nodes[1], &u).await;
    let mut ws = d.into_socket();
    c.nats.kill();
    let code = loop {
        match tokio::time::timeout(super::DEADLINE, futures::StreamExt::next(&mut ws)).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f))))) => {
                break u16::from(f.code)
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, huddle_core::cluster::FENCED_CLOSE_CODE);
    assert_eq!(
        hub(&c.nodes[1])
            .stats
            .fenced
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn a_membership_the_bus_never_carried_reaches_the_members_socket_after_a_reconnect() {
    let Some(mut c) = Cluster::start_with(2, |o| o.fence_after = Duration::from_secs(60)).await
    else {
        return;
    };
    let owner = c.nodes[0].user("owner").await;
    let away = c.nodes[0].user("away").await;
    let mut on_b = Ddp::resume(&c.nodes[1], &away).await;
    on_b.sub_ready(
        "stream-notify-user",
        &format!("{}/subscriptions-changed", away.user_id),
    )
    .await;

    // A membership the bus never carried: written by a process outside the cluster on the same
    // database, as a message lost in a NATS restart would be for B. Only a reconnect of B's
    // bus makes B read its users' memberships again.
    let db = c.database_url.clone();
    let outsider = crate::helpers::TestApp::spawn_with(move |cfg| {
        cfg.database_url = db;
        cfg.db_max_connections = 2;
    })
    .await;
    let (gid, _) = outsider.room(&owner, "p", &[&away.username]).await;
    let hb = hub(&c.nodes[1]);
    on_b.assert_none("news of a room no bus carried", |v| {
        v["msg"] == "changed" && v["fields"]["args"][1]["rid"] == json!(gid)
    })
    .await;
    c.nats.kill();
    wait_for("B notices the bus is gone", || !hb.bus_connected()).await;
    c.nats.restart();
    wait_for("B reconnects to the bus", || hb.bus_connected()).await;

    let v = on_b
        .next_where(|v| {
            v["msg"] == "changed"
                && v["fields"]["args"][0] == "inserted"
                && v["fields"]["args"][1]["rid"] == json!(gid)
        })
        .await;
    assert_eq!(v["collection"], "stream-notify-user", "{v}");
    // And B follows the room from then on.
    c.nodes[0]
        .ok(
            &owner,
            "chat.postMessage",
            json!({"roomId": gid, "text": "after"}),
        )
        .await;
    wait_for("B follows the new room", || hb.applied(&gid).is_some()).await;
}
