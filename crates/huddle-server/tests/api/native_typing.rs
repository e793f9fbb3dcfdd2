//! Typing over the native socket: a participant's `typing` frame reaches the conversation's other
//! subscribers (guests included) but not its own connection; guests' typing is never shown;
//! read-only participants, strangers and malformed frames are refused.

use serde_json::json;

use crate::helpers::{unique, TestApp};
use crate::native::{conversation, Native};

#[tokio::test]
async fn typing_reaches_other_subscribers_and_guests_typing_is_not_shown() {
    let app = TestApp::spawn().await;
    let (a, b, reader) = (unique("a"), unique("b"), unique("r"));
    let cid = conversation(&app, &[&a, &b, &reader]).await;
    app.talk_ok(
        "PATCH",
        &format!("conversations/{cid}/participants/{reader}"),
        Some(json!({ "access": "Read" })),
    )
    .await;
    let guest = unique("g");
    app.talk_ok(
        "PUT",
        &format!("users/{guest}"),
        Some(json!({ "name": "G" })),
    )
    .await;

    let mut na = Native::user(&app, &a).await;
    let mut nb = Native::user(&app, &b).await;
    let mut ng = Native::user(&app, &guest).await;
    let mut nr = Native::user(&app, &reader).await;
    na.sub(json!({"v": 1, "type": "subscribe", "id": "c", "conversation": cid}))
        .await;
    nb.sub(json!({"v": 1, "type": "subscribe", "id": "c", "conversation": cid}))
        .await;
    ng.sub(json!({"v": 1, "type": "subscribe", "id": "c", "conversation": cid, "asGuest": true}))
        .await;

    na.send(json!({"v": 1, "type": "typing", "conversation": cid, "typing": true}))
        .await;
    let expect =
        json!({"v": 1, "type": "typing", "conversation": cid, "userId": a, "typing": true});
    assert_eq!(nb.recv().await, expect);
    assert_eq!(ng.recv().await, expect, "guests see others type");
    na.send(json!({"v": 1, "type": "typing", "conversation": cid, "typing": false}))
        .await;
    assert_eq!(nb.recv().await["typing"], false);
    assert_eq!(ng.recv().await["typing"], false);
    na.quiet().await;

    // A guest's typing is accepted and shown to no one.
    ng.send(json!({"v": 1, "type": "typing", "id": "t", "conversation": cid, "typing": true, "asGuest": true}))
        .await;
    nb.quiet().await;
    ng.quiet().await;

    // Refusals answer with the frame's id.
    nr.send(json!({"v": 1, "type": "typing", "id": "t1", "conversation": cid, "typing": true}))
        .await;
    let v = nr.recv().await;
    assert_eq!(
        (v["type"].clone(), v["id"].clone(), v["code"].clone()),
        (json!("error"), json!("t1"), json!("NO_WRITE_ACCESS")),
        "{v}"
    );
    ng.send(json!({"v": 1, "type": "typing", "id": "t2", "conversation": cid, "typing": true}))
        .await;
    assert_eq!(
        ng.recv().await["code"],
        "NOT_FOUND",
        "not a participant, not asking as a guest"
    );
    na.send(json!({"v": 1, "type": "typing", "id": "t3", "conversation": cid}))
        .await;
    assert_eq!(na.recv().await["code"], "INVALID_FRAME");
    na.send(json!({"v": 1, "type": "typing", "id": "t4", "conversation": "nope", "typing": true}))
        .await;
    assert_eq!(na.recv().await["code"], "NOT_FOUND");
    nb.quiet().await;
}
