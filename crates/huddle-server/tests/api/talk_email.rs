//! E-mail notifications through a real SMTP exchange with a receiver the test starts: one
//! e-mail per recipient and conversation for the messages of a batching window, none for
//! `notify: false`, none without an address (the webhook still fires), and the next window's
//! messages in the next e-mail.

use std::time::Duration;

use huddle_server::mailer::{SmtpConfig, SmtpTls};
use serde_json::json;

use crate::helpers::{unique, TestApp};
use crate::smtp::{Mail, SmtpReceiver};
use crate::talk_notify::{endpoint, settled};

/// Waits (20 s at most) until `address` has received `n` e-mails, and returns them.
async fn mails_to(rx: &SmtpReceiver, address: &str, n: usize) -> Vec<Mail> {
    for _ in 0..400 {
        let got = rx.to(address);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{address} got {} e-mail(s), expected {n}; all: {:#?}",
        rx.to(address).len(),
        rx.mails()
    );
}

#[tokio::test]
async fn one_email_per_conversation_and_window() {
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
            // Long enough that one request's messages fall into one window.
            batch_window: Duration::from_millis(1500),
        })
    })
    .await;
    let (wid, got) = endpoint(&app, &["notification.triggered"]).await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "subject": "Trip" })),
    )
    .await;
    let people = [
        ("ann", Some("ann@example.com"), json!(true)),
        ("bob", Some("bob@example.com"), json!(true)),
        ("cid", Some("cid@example.com"), json!(false)),
        ("dan", None, json!(true)),
    ];
    for (id, email, notify) in &people {
        let mut user = json!({ "name": id.to_uppercase() });
        if let Some(e) = email {
            user["email"] = json!([e]);
        }
        app.talk_ok("PUT", &format!("users/{id}"), Some(user)).await;
        app.talk_ok(
            "PUT",
            &format!("conversations/{cid}/participants/{id}"),
            Some(json!({ "notify": notify })),
        )
        .await;
    }
    let say = |texts: &[&str]| {
        let batch: Vec<_> = texts
            .iter()
            .map(|t| json!({ "text": t, "sender": "ann", "type": "UserMessage" }))
            .collect();
        let (app, cid) = (&app, cid.clone());
        async move {
            app.talk_ok(
                "POST",
                &format!("conversations/{cid}/messages"),
                Some(json!(batch)),
            )
            .await;
        }
    };
    say(&["one", "two", "three"]).await;

    let first = mails_to(&rx, "bob@example.com", 1).await;
    let mail = &first[0];
    assert_eq!(mail.from, "chat@example.com");
    assert_eq!(mail.to, vec!["bob@example.com".to_string()]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("3 new messages in Trip")
    );
    let body = mail.body();
    let (one, two, three) = (
        body.find("one").unwrap(),
        body.find("two").unwrap(),
        body.find("three").unwrap(),
    );
    assert!(one < two && two < three, "oldest first: {body}");
    assert!(body.contains("ANN"), "the sender's name: {body}");

    // dan has no address: no e-mail, but the webhook fired for him too.
    let bodies = settled(&app, &wid, &got).await;
    let for_dan = bodies
        .iter()
        .filter(|b| b["data"]["recipient"]["id"] == "dan")
        .count();
    assert_eq!(for_dan, 3, "one notification.triggered per message");

    // The next message is a new window: its own e-mail, with only itself.
    say(&["four"]).await;
    let both = mails_to(&rx, "bob@example.com", 2).await;
    assert_eq!(both.len(), 2);
    let second = &both[1];
    assert_eq!(
        second.header("Subject").as_deref(),
        Some("New message from ANN in Trip")
    );
    assert!(second.body().contains("four") && !second.body().contains("three"));
    // Nobody else was written to: ann sent, cid turned notifications off, dan has no address.
    assert!(
        rx.mails()
            .iter()
            .all(|m| m.to == vec!["bob@example.com".to_string()]),
        "{:#?}",
        rx.mails()
    );
}

#[tokio::test]
async fn a_bad_smtp_configuration_is_refused_at_start() {
    let config = |from: &str, window: Duration| {
        let mut c = huddle_server::ServerConfig {
            listen: "127.0.0.1".into(),
            port: 0,
            database_url: "sqlite::memory:".into(),
            ..Default::default()
        };
        c.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port: 25,
            from: from.into(),
            username: None,
            password: None,
            tls: SmtpTls::None,
            batch_window: window,
        });
        c
    };
    for (from, window, why) in [
        ("not an address", Duration::from_secs(1), "smtp.from"),
        ("chat@example.com", Duration::ZERO, "batch_window"),
    ] {
        let err = match huddle_server::Application::build(config(from, window)).await {
            Ok(_) => panic!("{why}: a bad configuration was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(why), "{why}: {err}");
    }
}

/// What a recipient read before the e-mail went out is left out, and an e-mail with nothing
/// left is not sent. The test writes an already-due notification of a message older than the
/// reader's read position straight into the server's database (as another node's post would),
/// so nothing depends on how fast it reads.
#[tokio::test]
async fn messages_read_before_the_email_leaves_are_left_out() {
    let rx = SmtpReceiver::start().await;
    let port = rx.addr.port();
    let app = TestApp::spawn_with(|c| {
        c.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            from: "chat@example.com".into(),
            username: None,
            password: None,
            tls: SmtpTls::None,
            // The API's own posts are not due during the test.
            batch_window: Duration::from_secs(3600),
        })
    })
    .await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "subject": "Read" })),
    )
    .await;
    for id in ["ann", "bob", "eve"] {
        app.talk_ok(
            "PUT",
            &format!("users/{id}"),
            Some(json!({ "name": id, "email": [format!("{id}@example.com")] })),
        )
        .await;
        app.talk_ok(
            "PUT",
            &format!("conversations/{cid}/participants/{id}"),
            Some(json!({})),
        )
        .await;
    }
    // bob has read everything up to now.
    app.talk_ok(
        "POST",
        &format!("conversations/{cid}/readBy/bob"),
        Some(json!({})),
    )
    .await;
    let store = huddle_store::open(app.database_url(), crate::helpers::store_options())
        .await
        .unwrap();
    let ann = store.user_by_id("ann").await.unwrap().unwrap();
    let mut old = huddle_core::Message::new(&cid, ann.to_ref(), "before bob read".into(), None);
    old.ts = huddle_core::Timestamp(huddle_core::Timestamp::now().millis() - 60_000);
    store
        .write_room(huddle_core::store::RoomWrite {
            rid: cid.clone(),
            change: huddle_core::store::RoomChange::PostMessage(old),
            webhooks: vec![],
            notify: Some(huddle_core::notify::NotifyFacts {
                live: Default::default(),
                email_window_ms: Some(0),
            }),
        })
        .await
        .unwrap();
    // eve had not read it: her e-mail comes. bob's group was due at the same moment and comes
    // first in the mailer's order, so by now it has been settled: skipped, nothing sent.
    let eve = mails_to(&rx, "eve@example.com", 1).await;
    assert!(
        eve[0].body().contains("before bob read"),
        "{}",
        eve[0].body()
    );
    assert!(rx.to("bob@example.com").is_empty(), "{:#?}", rx.mails());
}
