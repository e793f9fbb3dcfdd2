//! Invite links end to end: create with `maxUses` until used up, expiry on a moved clock,
//! removal, who may make and manage them, a banned user refused until unbanned, and the
//! shapes and errors of every route.

use std::sync::Arc;
use std::time::Duration;

use huddle_core::ShiftedClock;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{read, Session, TestApp};

async fn invite(app: &TestApp, who: &Session, rid: &str, days: i64, max_uses: i64) -> Value {
    app.ok(
        who,
        "findOrCreateInvite",
        json!({ "rid": rid, "days": days, "maxUses": max_uses }),
    )
    .await
}

async fn use_token(app: &TestApp, who: &Session, token: &str) -> (StatusCode, Value) {
    app.post(Some(who), "useInviteToken", json!({ "token": token }))
        .await
}

async fn valid(app: &TestApp, token: &str) -> bool {
    let (status, v) = app
        .post(None, "validateInviteToken", json!({ "token": token }))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["success"], json!(true));
    v["valid"].as_bool().expect("valid")
}

async fn remove(app: &TestApp, who: &Session, id: &str) -> (StatusCode, Value) {
    let res = app
        .client
        .delete(app.url(&format!("removeInvite/{id}")))
        .header("X-User-Id", &who.user_id)
        .header("X-Auth-Token", &who.token)
        .send()
        .await
        .expect("request");
    read(res).await
}

#[tokio::test]
async fn a_link_lets_people_in_until_it_is_used_up() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    let v = invite(&app, &app.admin, &rid, 1, 1).await;
    let token = v["inviteToken"].as_str().expect("token").to_string();
    let id = v["_id"].as_str().expect("id").to_string();
    assert_ne!(token, id, "the token is not the id");
    assert_eq!(v["maxUses"], json!(1));
    assert_eq!(v["uses"], json!(0));
    assert_eq!(v["rid"], json!(rid));
    assert_eq!(v["userId"], json!(app.admin.user_id));
    assert!(v["expires"].is_string(), "{v}");
    // The same settings again: the same link.
    let again = invite(&app, &app.admin, &rid, 1, 1).await;
    assert_eq!(again["_id"], json!(id));
    assert_eq!(again["inviteToken"], json!(token));

    assert!(valid(&app, &token).await);
    assert!(!valid(&app, &id).await, "an id is no token");
    let bob = app.user("bob").await;
    let (status, v) = use_token(&app, &bob, &id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-invalid-token"));

    let (status, v) = use_token(&app, &bob, &token).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["room"]["rid"], json!(rid));
    assert_eq!(v["room"]["t"], json!("p"));
    assert!(app.member_ids(&rid, "p").await.contains(&bob.user_id));
    // Rocket.Chat's join message, by the joiner.
    let sys = app.system_messages(&app.admin, &rid).await;
    assert!(
        sys.contains(&("uj".to_string(), bob.username.clone())),
        "{sys:?}"
    );
    // Using it again as a member changes nothing and spends nothing... but it is used up now.
    let carol = app.user("carol").await;
    let (status, v) = use_token(&app, &carol, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-invite-expired"));
    assert_eq!(
        v["error"],
        json!("The invite token has expired. [error-invite-expired]")
    );
    assert!(!valid(&app, &token).await);
    assert!(!app.member_ids(&rid, "p").await.contains(&carol.user_id));
    // A new link is made once the old one is used up.
    let fresh = invite(&app, &app.admin, &rid, 1, 1).await;
    assert_ne!(fresh["_id"], json!(id));
}

#[tokio::test]
async fn uses_are_counted_and_members_spend_none() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let made = invite(&app, &app.admin, &rid, 0, 5).await;
    assert_eq!(made["expires"], Value::Null, "days 0 never expires");
    let token = made["inviteToken"].as_str().unwrap().to_string();
    let mut joined = vec![];
    for i in 0..4 {
        let u = app.user(&format!("u{i}")).await;
        let (status, v) = use_token(&app, &u, &token).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        joined.push(u);
    }
    // A member using it again: success, nothing counted (else the next one would be refused).
    let (status, _) = use_token(&app, &joined[0], &token).await;
    assert_eq!(status, StatusCode::OK);
    let fifth = app.user("u4").await;
    let (status, v) = use_token(&app, &fifth, &token).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let list = app.get_ok(&app.admin, "listInvites", &[]).await;
    let listed = list
        .as_array()
        .expect("a bare array")
        .iter()
        .find(|i| i["_id"] == made["_id"])
        .expect("listed")
        .clone();
    assert_eq!(listed["uses"], json!(5));
    assert!(
        listed.get("inviteToken").is_none(),
        "lists never show tokens"
    );
    let late = app.user("late").await;
    let (_, v) = use_token(&app, &late, &token).await;
    assert_eq!(v["errorType"], json!("error-invite-expired"));
}

#[tokio::test]
async fn a_link_expires_when_the_clock_passes_its_days() {
    let clock = Arc::new(ShiftedClock::default());
    let shared = clock.clone();
    let app = TestApp::spawn_with(move |c| c.clock = shared).await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    let v = invite(&app, &app.admin, &rid, 7, 0).await;
    let token = v["inviteToken"].as_str().unwrap().to_string();
    clock.advance(Duration::from_secs(6 * 24 * 3600));
    assert!(valid(&app, &token).await, "6 days in: still valid");
    clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert!(!valid(&app, &token).await, "7 days and a second: expired");
    let bob = app.user("bob").await;
    let (status, v) = use_token(&app, &bob, &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("error-invite-expired"));
    assert!(!app.member_ids(&rid, "p").await.contains(&bob.user_id));
    // An expired link is not handed out again.
    let fresh = invite(&app, &app.admin, &rid, 7, 0).await;
    assert_ne!(fresh["_id"], v["_id"]);
    assert!(valid(&app, fresh["inviteToken"].as_str().unwrap()).await);
}

#[tokio::test]
async fn a_removed_link_lets_nobody_in() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    let v = invite(&app, &app.admin, &rid, 1, 0).await;
    let (id, token) = (
        v["_id"].as_str().unwrap().to_string(),
        v["inviteToken"].as_str().unwrap().to_string(),
    );
    let (status, body) = remove(&app, &app.admin, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!(true), "Rocket.Chat answers the bare `true`");
    let (status, body) = remove(&app, &app.admin, &id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "success": false, "error": "Invalid Invitation _id [invalid-invitation-id]",
                "errorType": "invalid-invitation-id", "details": { "method": "removeInvite" } })
    );
    assert!(!valid(&app, &token).await);
    let bob = app.user("bob").await;
    let (_, v) = use_token(&app, &bob, &token).await;
    assert_eq!(v["errorType"], json!("error-invalid-token"));
}

/// Who may make, list and remove links, as a table: admin, owner, moderator, plain member,
/// non-member.
#[tokio::test]
async fn who_may_make_and_manage_links() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let moderator = app.user("mod").await;
    let member = app.user("member").await;
    let outsider = app.user("outsider").await;
    let (rid, _) = app
        .room(
            &owner,
            "p",
            &[moderator.username.as_str(), member.username.as_str()],
        )
        .await;
    app.ok(
        &owner,
        "groups.addModerator",
        json!({ "roomId": rid, "userId": moderator.user_id }),
    )
    .await;
    // The admin is no member of this group: Rocket.Chat refuses (`error-invalid-room`).
    let rows: [(&Session, Result<(), &str>); 5] = [
        (&owner, Ok(())),
        (&moderator, Ok(())),
        (&member, Err("not_authorized")),
        (&outsider, Err("not_authorized")),
        (&app.admin, Err("error-invalid-room")),
    ];
    for (who, expect) in rows {
        let (status, v) = app
            .post(
                Some(who),
                "findOrCreateInvite",
                json!({ "rid": rid, "days": 1, "maxUses": 10 }),
            )
            .await;
        match expect {
            Ok(()) => assert_eq!(status, StatusCode::OK, "{} {v}", who.username),
            Err(code) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{} {v}", who.username);
                assert_eq!(v["errorType"], json!(code), "{} {v}", who.username);
            }
        }
    }
    let (_, v) = app
        .post(
            Some(&member),
            "findOrCreateInvite",
            json!({ "rid": rid, "days": 1, "maxUses": 10 }),
        )
        .await;
    assert_eq!(
        v,
        json!({ "success": false, "error": "[not_authorized]", "errorType": "not_authorized" })
    );
    // Listing and removing are workspace-wide: global `create-invite-links` only (the admin).
    let made = invite(&app, &owner, &rid, 1, 10).await;
    let id = made["_id"].as_str().unwrap();
    for who in [&owner, &moderator, &member] {
        let (status, v) = app.get(Some(who), "listInvites", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["errorType"], json!("not_authorized"));
        let (status, v) = remove(&app, who, id).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    }
    let (status, _) = remove(&app, &app.admin, id).await;
    assert_eq!(status, StatusCode::OK);
    // Without the permission (taken from the moderator role), a moderator can make none.
    app.ok(
        &app.admin,
        "permissions.update",
        json!({ "permissions": [{ "_id": "create-invite-links", "roles": ["admin", "owner"] }] }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&moderator),
            "findOrCreateInvite",
            json!({ "rid": rid, "days": 1, "maxUses": 10 }),
        )
        .await;
    assert_eq!(v["errorType"], json!("not_authorized"));
}

#[tokio::test]
async fn bad_input_is_refused_with_rocketchats_errors() {
    let app = TestApp::spawn().await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let cases = [
        (
            json!({ "rid": rid, "days": 2, "maxUses": 0 }),
            "invalid-number-of-days",
        ),
        (
            json!({ "rid": rid, "days": 1, "maxUses": 3 }),
            "invalid-number-of-uses",
        ),
        (
            json!({ "rid": "nope", "days": 1, "maxUses": 0 }),
            "error-invalid-room",
        ),
        (json!({ "days": 1, "maxUses": 0 }), "invalid-params"),
        (json!({ "rid": rid, "maxUses": 0 }), "invalid-params"),
        (
            json!({ "rid": rid, "days": "x", "maxUses": 0 }),
            "invalid-params",
        ),
    ];
    for (body, code) in cases {
        let (status, v) = app
            .post(Some(&app.admin), "findOrCreateInvite", body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {v}");
        assert_eq!(v["errorType"], json!(code), "{body} -> {v}");
    }
    // Every allowed value is accepted.
    for days in [0, 1, 7, 15, 30] {
        for max_uses in [0, 1, 5, 10, 25, 50, 100] {
            invite(&app, &app.admin, &rid, days, max_uses).await;
        }
    }
    // A direct message has no links.
    let bob = app.user("bob").await;
    let dm = app
        .ok(&app.admin, "im.create", json!({ "username": bob.username }))
        .await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "findOrCreateInvite",
            json!({ "rid": dm["room"]["_id"], "days": 1, "maxUses": 0 }),
        )
        .await;
    assert_eq!(v["errorType"], json!("error-room-type-not-allowed"));
    // No token: the body is invalid; logged out: 401.
    let (status, v) = app.post(Some(&bob), "useInviteToken", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], json!("invalid-params"));
    let (status, v) = app
        .post(None, "useInviteToken", json!({ "token": "x" }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["status"], json!("error"));
    let (status, _) = app.get(None, "listInvites", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn invitation_emails_need_a_mail_server() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (status, v) = app
        .post(
            Some(&bob),
            "sendInvitationEmail",
            json!({ "emails": ["a@example.com"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({ "success": false, "error": "Not allowed [error-not-allowed]" })
    );
    let (_, v) = app
        .post(
            Some(&app.admin),
            "sendInvitationEmail",
            json!({ "emails": ["not an address"] }),
        )
        .await;
    assert_eq!(
        v,
        json!({ "success": false, "error": "No valid email addresses [error-email-send-failed]" })
    );
    let (status, v) = app
        .post(
            Some(&app.admin),
            "sendInvitationEmail",
            json!({ "emails": ["a@example.com"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({ "success": false, "error": "SMTP is not configured [error-email-send-failed]" })
    );
}

#[tokio::test]
async fn invitation_emails_go_out_through_the_mail_server() {
    use crate::smtp::SmtpReceiver;
    use huddle_server::mailer::{SmtpConfig, SmtpTls};
    let rx = SmtpReceiver::start().await;
    let port = rx.addr.port();
    let app = TestApp::spawn_with(|c| {
        c.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "Huddle <chat@example.com>".into(),
            username: None,
            password: None,
            tls: SmtpTls::None,
            batch_window: Duration::from_secs(1),
        })
    })
    .await;
    app.ok(
        &app.admin,
        "settings/Site_Name",
        json!({ "value": "Acme Chat" }),
    )
    .await;
    // Only with bulk-register-user; nothing is sent otherwise.
    let bob = app.user("bob").await;
    let (status, v) = app
        .post(
            Some(&bob),
            "sendInvitationEmail",
            json!({ "emails": ["x@example.com"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        v,
        json!({ "success": false, "error": "Not allowed [error-not-allowed]" })
    );
    // The valid addresses get one e-mail each; the invalid one is skipped.
    let v = app
        .ok(
            &app.admin,
            "sendInvitationEmail",
            json!({ "emails": ["ann@example.com", "not an address", "cid@example.com"] }),
        )
        .await;
    assert_eq!(v, json!({ "success": true }));
    let mails = rx.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    for (mail, to) in mails.iter().zip(["ann@example.com", "cid@example.com"]) {
        assert_eq!(mail.to, vec![to.to_string()], "{mail:#?}");
        assert_eq!(
            mail.header("Subject").as_deref(),
            Some("You have been invited to Acme Chat")
        );
        assert!(mail.body().contains("Acme Chat"), "{}", mail.body());
        assert!(!mail.body().contains("[Site_URL]"), "{}", mail.body());
    }
    assert!(rx
        .mails()
        .iter()
        .all(|m| !m.to.contains(&"x@example.com".into())));
    // DDP's method: the same, answering the addresses sent to.
    let mut d = crate::ddp::Ddp::resume(&app, &app.admin).await;
    let sent = d
        .ok("sendInvitationEmail", json!([["eve@example.com", "nope"]]))
        .await;
    assert_eq!(sent, json!(["eve@example.com"]));
    assert_eq!(rx.to("eve@example.com").len(), 1);
    let e = d
        .err("sendInvitationEmail", json!(["eve@example.com"]))
        .await;
    assert_eq!(e["reason"], "Match failed", "{e}");
    // A subject emptied by the administrator: Rocket.Chat's refusal, nothing sent.
    app.ok(
        &app.admin,
        "settings/Invitation_Subject",
        json!({ "value": "" }),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&app.admin),
            "sendInvitationEmail",
            json!({ "emails": ["dan@example.com"] }),
        )
        .await;
    assert_eq!(
        v,
        json!({ "success": false, "error": "No subject [error-email-send-failed]" })
    );
    assert_eq!(rx.mails().len(), 3);
}
