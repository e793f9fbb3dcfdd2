//! Fan-out: many sockets in one room each get one copy of one message, byte for byte the same.

use futures::future::join_all;
use serde_json::json;

use super::{message_text, Ddp};
use crate::helpers::TestApp;

#[tokio::test]
async fn two_hundred_sockets_in_one_room_all_get_the_message_once() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let (cid, _) = app.room(&alice, "c", &[]).await;
    let sockets = join_all((0..200).map(|i| {
        let app = &app;
        let alice = &alice;
        let rid = cid.clone();
        async move {
            let mut d = Ddp::resume(app, alice).await;
            if i % 2 == 0 {
                d.sub_ready("stream-room-messages", &rid).await;
            } else {
                d.sub_ready("stream-room-messages", "__my_messages__").await;
            }
            d
        }
    }))
    .await;
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": cid, "text": "to all"}),
    )
    .await;
    let frames = join_all(sockets.into_iter().map(|mut d| async move {
        let v = d.next_where(|v| message_text(v, "to all")).await;
        d.assert_none("a second copy", |v| message_text(v, "to all"))
            .await;
        v
    }))
    .await;
    assert_eq!(frames.len(), 200);
    let room_copies = frames
        .iter()
        .filter(|v| v["fields"]["eventName"] == json!(cid))
        .count();
    assert_eq!(room_copies, 100);
    assert!(frames
        .iter()
        .all(|v| v["fields"]["args"][0] == frames[0]["fields"]["args"][0]));
}

/// Enough large messages to fill the kernel's socket buffers (up to 4 MiB of send buffer).
const N: usize = 1200;

// Two workers: the reading socket's reader and writer tasks run beside the posting loop instead
// of waiting for it to yield; on one thread a loaded machine let 64 posts pile up before the
// reading socket's writer ran, and it was (rightly, by the rule) cut off as slow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_socket_is_closed_and_others_keep_up() {
    // A queue far below what the silent socket is sent (N large messages beyond its TCP
    // buffers), and far above what a reading socket's writer falls behind by when the machine
    // is busy (a queue of 4 was overrun under load, and 64 on a machine with load 14 on 2 cores).
    let app = TestApp::spawn_with(|c| c.realtime.queue = 256).await;
    let alice = app.user("alice").await;
    let (cid, _) = app.room(&alice, "c", &[]).await;
    // Each message is large, so the silent socket's TCP buffers fill and its queue overflows.
    let text = "x".repeat(4900);
    let mut slow = Ddp::open_tiny_buffer(&app).await;
    slow.ok("login", json!([{"resume": alice.token}])).await;
    slow.sub_ready("stream-room-messages", &cid).await;
    let mut fast = Ddp::resume(&app, &alice).await;
    fast.sub_ready("stream-room-messages", &cid).await;
    // The fast socket reads all the time, on a task of its own: a reader that only looked in
    // between posts fell behind on a loaded machine and was (rightly) cut off as slow.
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < N {
            let Some(v) = fast.recv_within(std::time::Duration::from_secs(30)).await else {
                return Err(format!("seen {seen} closed {}", fast.closed));
            };
            if v["msg"] == "changed" {
                seen += 1;
            }
        }
        Ok(seen)
    });
    for i in 0..N {
        app.ok(
            &alice,
            "chat.postMessage",
            json!({"roomId": cid, "text": format!("{i}{text}")}),
        )
        .await;
    }
    let seen = reader
        .await
        .expect("reader task")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen, N);
    // The slow one was cut off: reading what it has, it ends closed, having missed messages.
    let mut got = 0;
    while let Some(v) = slow.recv_within(std::time::Duration::from_secs(2)).await {
        if v["msg"] == "changed" {
            got += 1;
        }
    }
    assert!(slow.closed, "slow consumer closed after {got} messages");
    assert!(got < N);
}
