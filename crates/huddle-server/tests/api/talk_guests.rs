//! Guests (seed 000): non-participants who read and write while guest access is on, never
//! listed, never counted, never removable one by one, and cut off at once when it is turned off.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{unique, ClientAuth, TestApp};

async fn setup(app: &TestApp) -> String {
    for id in ["host", "guest"] {
        app.talk_ok("PUT", &format!("users/{id}"), Some(json!({ "name": id })))
            .await;
    }
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": ["host"] })),
    )
    .await;
    cid
}

async fn settings(app: &TestApp, user_sync: bool, conv_sync: bool) {
    app.talk_ok(
        "PUT",
        "settings",
        Some(json!({ "browserUserSync": user_sync, "browserConversationSync": conv_sync })),
    )
    .await;
}

#[tokio::test]
async fn guest_access_in_every_setting_combination() {
    let app = TestApp::spawn().await;
    let guest = ClientAuth::signed("guest");
    for user_sync in [true, false] {
        for conv_sync in [true, false] {
            for room_flag in [true, false] {
                settings(&app, true, true).await;
                let cid = setup(&app).await;
                app.talk_ok(
                    "PUT",
                    &format!("conversations/{cid}"),
                    Some(json!({ "guestAccess": room_flag })),
                )
                .await;
                settings(&app, user_sync, conv_sync).await;
                let allowed = user_sync && conv_sync && room_flag;
                let (read, v) = app
                    .client_call(
                        &guest,
                        "GET",
                        &format!("conversations/{cid}/messages?asGuest=true"),
                        None,
                    )
                    .await;
                let (write, _) = app
                    .client_call(
                        &guest,
                        "POST",
                        &format!("conversations/{cid}/messages?asGuest=true"),
                        Some(json!({ "text": "hi" })),
                    )
                    .await;
                let case = format!("user_sync={user_sync} conv_sync={conv_sync} room={room_flag}");
                if allowed {
                    assert_eq!(read, StatusCode::OK, "{case}: {v}");
                    assert_eq!(v["guest"], json!(true), "{case}");
                    assert_eq!(write, StatusCode::OK, "{case}");
                } else {
                    assert_eq!(read, StatusCode::FORBIDDEN, "{case}: {v}");
                    assert_eq!(v["errorCode"], json!("GUEST_ACCESS_DISABLED"), "{case}");
                    assert_eq!(write, StatusCode::FORBIDDEN, "{case}");
                }
            }
        }
    }
}

#[tokio::test]
async fn guests_are_not_listed_counted_or_given_the_conversation() {
    let app = TestApp::spawn().await;
    let cid = setup(&app).await;
    let guest = ClientAuth::signed("guest");
    let (status, v) = app
        .client_call(
            &guest,
            "POST",
            &format!("conversations/{cid}/messages?asGuest=true"),
            Some(json!({ "text": "hello as guest" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["senderId"], json!("guest"));
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(
        c["participants"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["host"],
        "guests are never listed"
    );
    assert_eq!(
        app.talk_ok("GET", "users/guest/conversations", None).await["data"],
        json!([])
    );
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}/participants/{}", app.admin.user_id),
        Some(json!({})),
    )
    .await;
    let admin_view = app
        .get_ok(&app.admin, "rooms.info", &[("roomId", &cid)])
        .await;
    assert_eq!(
        admin_view["room"]["usersCount"],
        json!(2),
        "host and admin; guests are never counted"
    );
    // There is nobody to remove: deleting the guest as a participant changes nothing.
    app.talk_ok(
        "DELETE",
        &format!("conversations/{cid}/participants/guest"),
        None,
    )
    .await;
    let (status, _) = app
        .client_call(
            &guest,
            "GET",
            &format!("conversations/{cid}/messages?asGuest=true"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a guest cannot be removed one by one"
    );
    // Without asking to be a guest, a non-participant does not see the conversation.
    let (status, _) = app
        .client_call(&guest, "GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn participant_asking_as_guest_stays_participant() {
    let app = TestApp::spawn().await;
    let cid = setup(&app).await;
    let host = ClientAuth::signed("host");
    let (status, v) = app
        .client_call(
            &host,
            "GET",
            &format!("conversations/{cid}?asGuest=true"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["guest"], json!(false));
    settings(&app, false, false).await;
    let (status, v) = app
        .client_call(
            &host,
            "GET",
            &format!("conversations/{cid}/messages?asGuest=true"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "participants keep access when guests are off: {v}"
    );
}

#[tokio::test]
async fn turning_guest_access_off_cuts_guests_off_mid_session() {
    let app = TestApp::spawn().await;
    let cid = setup(&app).await;
    let guest = ClientAuth::signed("guest");
    let path = format!("conversations/{cid}/messages?asGuest=true");
    assert_eq!(
        app.client_call(&guest, "GET", &path, None).await.0,
        StatusCode::OK
    );
    settings(&app, false, false).await;
    assert_eq!(
        app.client_call(&guest, "GET", &path, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.client_call(&guest, "POST", &path, Some(json!({ "text": "x" })))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    settings(&app, true, true).await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "guestAccess": false })),
    )
    .await;
    assert_eq!(
        app.client_call(&guest, "GET", &path, None).await.0,
        StatusCode::FORBIDDEN,
        "per-conversation switch"
    );
}

#[tokio::test]
async fn revoked_participants_keep_only_what_they_saw() {
    let app = TestApp::spawn().await;
    let cid = setup(&app).await;
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}/participants/guest"),
        Some(json!({})),
    )
    .await;
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/messages"),
        Some(json!([{ "text": "before", "sender": "host", "type": "UserMessage" }])),
    )
    .await;
    app.talk_ok(
        "PATCH",
        &format!("conversations/{cid}/participants/guest"),
        Some(json!({ "access": "None" })),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/messages"),
        Some(json!([{ "text": "after", "sender": "host", "type": "UserMessage" }])),
    )
    .await;
    let me = ClientAuth::signed("guest");
    let (status, v) = app
        .client_call(
            &me,
            "GET",
            &format!("conversations/{cid}/messages?limit=50"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let texts: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert!(
        texts.contains(&"before") && !texts.contains(&"after"),
        "{texts:?}"
    );
    let (status, _) = app
        .client_call(
            &me,
            "POST",
            &format!("conversations/{cid}/messages"),
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no write access");
    let (status, _) = app
        .client_call(
            &me,
            "POST",
            &format!("conversations/{cid}/messages?asGuest=true"),
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a participant cannot dodge revocation by asking to be a guest"
    );
}
