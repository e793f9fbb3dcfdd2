//! A participant looking at a conversation on any node is not notified of its messages
//! (`cluster_viewers`, written by each node about once a second).

use serde_json::{json, Value};

use super::{wait_for_async, Cluster};
use crate::helpers::{unique, TestApp};
use crate::native::Native;
use crate::talk_notify::{endpoint, settled};

/// Whether node-independent row (rid, uid) says `uid` views `rid` somewhere.
async fn viewing(database_url: &str, rid: &str, uid: &str) -> bool {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(database_url)
        .await
        .expect("connect");
    let row = sqlx::query("SELECT COUNT(*) FROM cluster_viewers WHERE rid = $1 AND user_id = $2")
        .bind(rid)
        .bind(uid)
        .fetch_one(&mut conn)
        .await
        .expect("cluster_viewers");
    row.get::<i64, _>(0) > 0
}

async fn user(app: &TestApp, uid: &str) {
    app.talk_ok(
        "PUT",
        &format!("users/{uid}"),
        Some(json!({ "name": uid, "email": [format!("{uid}@example.com")] })),
    )
    .await;
}

fn recipients(bodies: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = bodies
        .iter()
        .filter(|b| b["type"] == "notification.triggered")
        .filter_map(|b| b["data"]["recipient"]["id"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_viewer_on_another_node_is_not_notified_until_they_stop_looking() {
    let Some(c) = Cluster::start(2).await else {
        return;
    };
    let (a, b) = (&c.nodes[0], &c.nodes[1]);
    let (wid, got) = endpoint(a, &["notification.triggered"]).await;
    let (ann, bob, cat) = (unique("ann"), unique("bob"), unique("cat"));
    for u in [&ann, &bob, &cat] {
        user(a, u).await;
    }
    let cid = unique("conv");
    a.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": [&ann, &bob, &cat] })),
    )
    .await;
    let mut on_b = Native::user(b, &bob).await;
    on_b.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid}))
        .await;
    let db = c.database_url.clone();
    wait_for_async("B writes bob's view", || viewing(&db, &cid, &bob)).await;

    let path = format!("conversations/{cid}/messages");
    let post = |text: &'static str| {
        a.talk_ok(
            "POST",
            &path,
            Some(json!([{ "text": text, "sender": &ann, "type": "UserMessage" }])),
        )
    };
    post("while bob looks").await;
    assert_eq!(recipients(&settled(a, &wid, &got).await), vec![cat.clone()]);

    drop(on_b);
    wait_for_async("B removes bob's view", || async {
        !viewing(&db, &cid, &bob).await
    })
    .await;
    post("after bob left").await;
    let mut want = vec![bob.clone(), cat.clone(), cat.clone()];
    want.sort();
    assert_eq!(recipients(&settled(a, &wid, &got).await), want);
}
