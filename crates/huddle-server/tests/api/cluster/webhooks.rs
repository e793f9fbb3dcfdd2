//! Webhook deliveries run once per event cluster-wide (outbox rows claimed by one sender).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{wait_for, Cluster};
use crate::native::{conversation, post};
use crate::talk_webhooks::receiver;

#[tokio::test]
async fn each_event_is_delivered_once_whichever_node_wrote_it() {
    let Some(c) = Cluster::start(3).await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let got = receiver(listener);
    // Made on A; every node writes deliveries for it once the call returned.
    c.nodes[0]
        .talk_ok(
            "POST",
            "webhooks",
            Some(json!({ "url": url, "events": ["message.sent"] })),
        )
        .await;
    let sender = crate::helpers::unique("s");
    let cid = conversation(&c.nodes[0], &[&sender]).await;
    const EACH: usize = 15;
    for i in 0..EACH {
        for (n, node) in c.nodes.iter().enumerate() {
            post(node, &cid, &sender, &format!("n{n}m{i}")).await;
        }
    }
    let total = EACH * c.nodes.len();
    let count = || {
        let bodies = got.lock().expect("lock");
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for (_, b) in bodies.iter() {
            let v: Value = serde_json::from_str(b).expect("json body");
            *by_id
                .entry(v["id"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        (by_id.len(), bodies.len())
    };
    wait_for("every message's webhook arrives", || count().0 == total).await;
    // Every row is recorded delivered (so no sender holds one back to send it again).
    let undelivered = || async {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(&c.database_url)
            .await
            .expect("connect");
        sqlx::query("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at IS NULL")
            .fetch_one(&mut conn)
            .await
            .expect("count")
            .get::<i64, _>(0)
    };
    let until = std::time::Instant::now() + super::DEADLINE;
    while undelivered().await > 0 {
        assert!(std::time::Instant::now() < until, "rows left undelivered");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count(), (total, total), "one delivery per event");
}
