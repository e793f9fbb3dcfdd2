//! A client whose node went away resumes on another one (issue 13, test 6, in process; the
//! real-process variant with `kill -9` and a Rocket.Chat client is tests/client's
//! `test_zz_a_killed_node_loses_nothing`). The native socket's `since` is served from the room's
//! log in the shared database, so the node it comes back to never needs to have seen the events.

use serde_json::{json, Value};

use super::delivery::texts_by_seq;
use super::Cluster;
use crate::helpers::unique;
use crate::native::{conversation, post, Native};

/// The `message.created` frames of `n` until `want` texts arrived (other events skipped).
async fn created(n: &mut Native, want: usize) -> Vec<Value> {
    let mut out = vec![];
    while out.len() < want {
        let v = n.recv().await;
        assert_ne!(v["type"], "resync", "{v}");
        if v["type"] == "event" && v["event"] == "message.created" {
            out.push(v);
        }
    }
    out
}

fn text(v: &Value) -> String {
    v["data"]["text"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_native_socket_resumes_on_another_node_with_what_its_stopped_node_committed() {
    let Some(mut c) = Cluster::start(2).await else {
        return;
    };
    let (reader, writer) = (unique("reader"), unique("writer"));
    let cid = conversation(&c.nodes[0], &[&reader, &writer]).await;
    let mut on_b = Native::user(&c.nodes[1], &reader).await;
    on_b.sub(json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid}))
        .await;

    // Written through B; the reader on B sees the first ten, then B stops with the rest
    // committed (and maybe never sent on the bus).
    const ON_B: usize = 30;
    for i in 0..ON_B {
        post(&c.nodes[1], &cid, &writer, &format!("b{i}")).await;
    }
    let seen = created(&mut on_b, 10).await;
    let last = seen[9]["eventId"].as_u64().expect("an event id");
    drop(on_b);
    let mut b = c.nodes.remove(1);
    let _ = b.begin_shutdown().await;
    drop(b);

    // Back on A with the last id seen, while A goes on writing: the replay and the live
    // events meet without a gap or a repeat.
    const ON_A: usize = 40;
    let a = &c.nodes[0];
    let writing = async {
        for i in 0..ON_A {
            post(a, &cid, &writer, &format!("a{i}")).await;
        }
    };
    let reading = async {
        let mut on_a = Native::user(a, &reader).await;
        let since =
            json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid, "since": last});
        on_a.sub(since).await;
        let rest = created(&mut on_a, ON_B + ON_A - 10).await;
        (on_a, rest)
    };
    let ((), (mut on_a, rest)) = tokio::join!(writing, reading);
    on_a.quiet().await;

    let got: Vec<String> = seen.iter().chain(&rest).map(text).collect();
    assert_eq!(got, texts_by_seq(&c.database_url, &cid).await);
    let ids: Vec<u64> = seen
        .iter()
        .chain(&rest)
        .map(|v| v["eventId"].as_u64().expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
}
