//! What another process writes to the store (`huddle admin ...` beside a running server, another
//! server on the same database) reaches this server within 5 s, live sessions included: the
//! tests write through a second store opened on the same database, as the CLI does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_core::settings::BROWSER_USER_SYNC;
use huddle_core::store::Store;
use reqwest::StatusCode;
use serde_json::json;

use crate::ddp::Ddp;
use crate::helpers::{unique, TestApp};
use crate::native::{conversation, post, Native};

/// The bound README promises for changes made by another process.
const BOUND: Duration = Duration::from_secs(5);

async fn other_process(app: &TestApp) -> Arc<dyn Store> {
    huddle_store::open(app.database_url(), crate::helpers::store_options())
        .await
        .expect("second store on the same database")
}

#[tokio::test]
async fn guests_are_cut_off_when_another_process_turns_browser_sync_off() {
    let app = TestApp::spawn().await;
    let (a, g) = (unique("a"), unique("g"));
    let cid = conversation(&app, &[&a]).await;
    app.talk_ok("PUT", &format!("users/{g}"), Some(json!({ "name": "g" })))
        .await;
    let mut n = Native::user(&app, &g).await;
    let sub =
        json!({"v": 1, "type": "subscribe", "id": "g1", "conversation": cid, "asGuest": true});
    n.sub(sub.clone()).await;

    let other = other_process(&app).await;
    other
        .set_setting(BROWSER_USER_SYNC, &json!(false))
        .await
        .expect("write the setting");
    let start = Instant::now();
    let v = n.recv().await;
    let took = start.elapsed();
    assert_eq!(v["type"], "revoked", "{v}");
    assert_eq!(v["reason"], "guest-access-off", "{v}");
    assert!(took < BOUND, "guests cut off after {took:?}");
    post(&app, &cid, &a, "secret").await;
    n.quiet().await;
    n.send(sub).await;
    assert_eq!(n.recv().await["code"], "GUEST_ACCESS_DISABLED");
    let settings = app.talk_ok("GET", "settings", None).await;
    assert_eq!(settings["guestsAllowed"], false, "{settings}");
}

#[tokio::test]
async fn a_permission_changed_by_another_process_is_applied_to_rest_and_live_subscriptions() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    // A public channel bob is not in.
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let mut d = Ddp::resume(&app, &bob).await;
    d.sub_ready("stream-room-messages", &rid).await;
    app.get_ok(&bob, "channels.list", &[]).await;

    // Reading a public channel's messages takes `view-c-room` or `preview-c-room`.
    let other = other_process(&app).await;
    for (permission, roles) in [
        ("view-c-room", vec!["admin".to_string()]),
        ("preview-c-room", vec!["admin".to_string()]),
        ("view-joined-room", vec![]),
    ] {
        other
            .set_permission_roles(permission, &roles)
            .await
            .expect("write the permission");
    }
    let start = Instant::now();
    let v = d.next_where(|v| v["msg"] == "nosub").await;
    let took = start.elapsed();
    assert_eq!(v["error"]["error"], "not-allowed", "{v}");
    assert!(took < BOUND, "subscription ended after {took:?}");
    let (status, _) = app.get(Some(&bob), "channels.list", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
