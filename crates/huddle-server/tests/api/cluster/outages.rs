//! The bus may lose messages; clients must not (issue 13, test 5).

use std::time::Duration;

use serde_json::json;

use super::delivery::{read_texts, texts_by_seq};
use super::{hub, wait_for, Cluster};
use crate::ddp::Ddp;

#[tokio::test]
async fn a_nats_restart_mid_stream_loses_and_repeats_nothing() {
    let Some(mut c) = Cluster::start(2).await else {
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
