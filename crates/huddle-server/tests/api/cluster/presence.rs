//! Presence across nodes: online while any node has a socket of the user; a stopped node's
//! users go offline; status changes reach watchers on other nodes.

use serde_json::{json, Value};

use super::Cluster;
use crate::ddp::Ddp;
use crate::helpers::{Session, TestApp};

async fn presence(app: &TestApp, asker: &Session, who: &Session) -> Value {
    app.get_ok(asker, "users.getPresence", &[("userId", &who.user_id)])
        .await["presence"]
        .clone()
}

/// The next `user-status` code about `who` (0 offline, 1 online) a watcher hears.
async fn status_of(watcher: &mut Ddp, who: &Session) -> Value {
    let uid = json!(who.user_id);
    let v = watcher
        .next_where(|v| {
            v["fields"]["eventName"] == "user-status" && v["fields"]["args"][0][0] == uid
        })
        .await;
    v["fields"]["args"][0][2].clone()
}

#[tokio::test]
async fn a_user_is_online_while_any_node_has_a_socket_and_a_stopped_nodes_users_go_offline() {
    let Some(mut c) = Cluster::start(3).await else {
        return;
    };
    let alice = c.nodes[0].user("alice").await;
    let bob = c.nodes[0].user("bob").await;
    let mut watcher = Ddp::resume(&c.nodes[2], &bob).await;
    watcher
        .sub_ready("stream-notify-logged", "user-status")
        .await;

    let on_a = Ddp::resume(&c.nodes[0], &alice).await;
    assert_eq!(status_of(&mut watcher, &alice).await, 1, "heard on C");
    let on_b = Ddp::resume(&c.nodes[1], &alice).await;
    // Closing the socket on B while A's lives changes nothing.
    drop(on_b);
    watcher
        .assert_none("a status change while a socket is open", |v| {
            v["fields"]["eventName"] == "user-status"
                && v["fields"]["args"][0][0] == json!(alice.user_id)
        })
        .await;
    assert_eq!(presence(&c.nodes[2], &bob, &alice).await, "online");

    // A stops (its heartbeat row goes): alice, connected only there, goes offline.
    let stopping = c.nodes[0].begin_shutdown();
    assert_eq!(status_of(&mut watcher, &alice).await, 0, "heard on C");
    assert_eq!(presence(&c.nodes[2], &bob, &alice).await, "offline");
    drop(on_a);
    let _ = stopping.await;
}
