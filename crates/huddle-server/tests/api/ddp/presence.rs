//! Presence from sockets: a user comes online with their first logged-in DDP socket and goes
//! offline when the last one closes; watchers of `stream-notify-logged` `user-status` hear both,
//! and `users.getPresence` says the same.

use serde_json::{json, Value};

use super::Ddp;
use crate::helpers::{Session, TestApp};

/// The next `user-status` frame about `who`: its status code (0 offline, 1 online).
async fn status_of(watcher: &mut Ddp, who: &Session) -> Value {
    let uid = json!(who.user_id);
    let v = watcher
        .next_where(|v| {
            v["fields"]["eventName"] == "user-status" && v["fields"]["args"][0][0] == uid
        })
        .await;
    assert_eq!(v["collection"], "stream-notify-logged");
    assert_eq!(v["fields"]["args"][0][1], json!(who.username));
    v["fields"]["args"][0][2].clone()
}

async fn presence(app: &TestApp, asker: &Session, who: &Session) -> Value {
    app.get_ok(asker, "users.getPresence", &[("userId", &who.user_id)])
        .await["presence"]
        .clone()
}

#[tokio::test]
async fn first_socket_brings_a_user_online_and_the_last_takes_them_offline() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut watcher = Ddp::resume(&app, &bob).await;
    watcher
        .sub_ready("stream-notify-logged", "user-status")
        .await;
    assert_eq!(presence(&app, &bob, &alice).await, "offline");

    let first = Ddp::resume(&app, &alice).await;
    assert_eq!(status_of(&mut watcher, &alice).await, 1);
    assert_eq!(presence(&app, &bob, &alice).await, "online");

    // A second socket changes nothing; closing it while the first lives changes nothing.
    let second = Ddp::resume(&app, &alice).await;
    drop(second);
    watcher
        .assert_none("a status change while a socket is open", |v| {
            v["fields"]["eventName"] == "user-status"
                && v["fields"]["args"][0][0] == json!(alice.user_id)
        })
        .await;
    assert_eq!(presence(&app, &bob, &alice).await, "online");

    // The last one closing: offline, on the stream and over REST.
    drop(first);
    assert_eq!(status_of(&mut watcher, &alice).await, 0);
    assert_eq!(presence(&app, &bob, &alice).await, "offline");

    // And back: a new socket brings her online again.
    let _again = Ddp::resume(&app, &alice).await;
    assert_eq!(status_of(&mut watcher, &alice).await, 1);
    assert_eq!(presence(&app, &bob, &alice).await, "online");
}
