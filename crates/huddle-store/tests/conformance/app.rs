//! App keys, webhook endpoints and the webhook outbox.

#![allow(unused_imports)]

use super::*;

pub async fn app_keys_insert_revoke_list(store: Arc<dyn Store>) {
    assert!(store.app_keys().await.unwrap().is_empty());
    let key = |id: &str, created: i64, revoked: Option<i64>| AppKey {
        id: id.to_string(),
        secret: format!("sk_live_{id}"),
        created_at: Timestamp(created),
        revoked_at: revoked.map(Timestamp),
    };
    let k1 = key("k1", 1_000, None);
    let k2 = key("k2", 2_000, None);
    let k3 = key("k3", 1_500, None);
    let old = key("k0", 500, Some(600));
    for k in [&k1, &k2, &k3, &old] {
        store.insert_app_key(k).await.unwrap();
    }
    assert_eq!(
        store.app_keys().await.unwrap(),
        vec![old.clone(), k1.clone(), k3.clone(), k2.clone()],
        "oldest first, revoked ones included"
    );
    let mut dup = k1.clone();
    dup.secret = "other".into();
    assert!(matches!(
        store.insert_app_key(&dup).await,
        Err(Error::Conflict(_))
    ));

    assert!(store.revoke_app_key("k3", Timestamp(5_000)).await.unwrap());
    assert!(
        store.revoke_app_key("k3", Timestamp(6_000)).await.unwrap(),
        "revoking twice still finds the key"
    );
    assert!(!store
        .revoke_app_key("nope", Timestamp(5_000))
        .await
        .unwrap());
    let keys = store.app_keys().await.unwrap();
    let revoked: Vec<(String, Option<Timestamp>)> =
        keys.into_iter().map(|k| (k.id, k.revoked_at)).collect();
    assert_eq!(
        revoked,
        vec![
            ("k0".to_string(), Some(Timestamp(600))),
            ("k1".to_string(), None),
            ("k3".to_string(), Some(Timestamp(5_000))),
            ("k2".to_string(), None),
        ],
        "the first revocation time stays"
    );
}

pub fn outbox_item(id: &str, endpoint: &str, next: i64, created: i64, attempts: i64) -> OutboxItem {
    OutboxItem {
        id: id.to_string(),
        endpoint_id: endpoint.to_string(),
        event_type: "message.sent".into(),
        body: format!(r#"{{"id":"{id}","data":{{"text":"héllo"}}}}"#),
        attempts,
        next_attempt_at: Timestamp(next),
        delivered_at: None,
        last_error: None,
        created_at: Timestamp(created),
        rid: None,
        seq: None,
        item: None,
    }
}

pub async fn webhook_endpoints_and_outbox(store: Arc<dyn Store>) {
    let e1 = WebhookEndpoint {
        id: "e1".into(),
        url: "https://example.com/hook".into(),
        events: vec!["message.sent".into(), "user.updated".into()],
        enabled: true,
        created_at: Timestamp(1_000),
    };
    let e2 = WebhookEndpoint {
        id: "e2".into(),
        url: "https://example.org/all".into(),
        events: vec![],
        enabled: false,
        created_at: Timestamp(2_000),
    };
    store.insert_webhook_endpoint(&e2).await.unwrap();
    store.insert_webhook_endpoint(&e1).await.unwrap();
    assert_eq!(
        store.webhook_endpoints().await.unwrap(),
        vec![e1.clone(), e2.clone()]
    );
    assert!(matches!(
        store.insert_webhook_endpoint(&e1).await,
        Err(Error::Conflict(_))
    ));

    let due_now = outbox_item("o1", "e1", 1_000, 1_000, 0);
    let later = outbox_item("o2", "e1", 3_000, 1_100, 0);
    // "O-6" sorts before "o-3" bytewise: equal next_attempt_at falls back on id.
    let tie_a = outbox_item("o-3", "e2", 1_500, 1_200, 0);
    let tie_b = outbox_item("O-6", "e2", 1_500, 1_400, 1);
    let exhausted = outbox_item("o4", "e1", 500, 900, 5);
    let delivered = OutboxItem {
        delivered_at: Some(Timestamp(1_250)),
        attempts: 1,
        ..outbox_item("o5", "e1", 1_200, 1_300, 0)
    };
    store.enqueue_outbox(&[]).await.unwrap();
    store
        .enqueue_outbox(&[
            due_now.clone(),
            later.clone(),
            tie_a.clone(),
            tie_b.clone(),
            exhausted.clone(),
            delivered.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.outbox_item("o5").await.unwrap(),
        Some(delivered.clone())
    );
    assert!(store.outbox_item("nope").await.unwrap().is_none());

    let due = |now: i64, max: i64, limit: i64| {
        let store = store.clone();
        async move {
            store
                .due_outbox(Timestamp(now), max, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(2_000, 5, 10).await, vec!["o1", "O-6", "o-3"]);
    assert_eq!(due(2_000, 5, 2).await, vec!["o1", "O-6"]);
    assert_eq!(
        due(2_000, 6, 10).await,
        vec!["o4", "o1", "O-6", "o-3"],
        "attempts below the maximum"
    );
    assert_eq!(due(1_500, 1, 10).await, vec!["o1", "o-3"]);
    // The outbox's depth: undelivered items still to be attempted, due or not.
    assert_eq!(store.pending_outbox(5).await.unwrap(), 4);
    assert_eq!(
        store.pending_outbox(6).await.unwrap(),
        5,
        "o4 has 5 attempts"
    );
    assert_eq!(due(3_000, 5, 10).await, vec!["o1", "O-6", "o-3", "o2"]);
    assert!(due(999, 5, 10).await.is_empty());
    assert_eq!(
        store.due_outbox(Timestamp(2_000), 5, 1).await.unwrap(),
        vec![due_now.clone()]
    );

    // A failed attempt is retried later; a delivered item is never due again.
    let failed = OutboxItem {
        attempts: 1,
        next_attempt_at: Timestamp(2_500),
        last_error: Some("HTTP 500".into()),
        ..due_now.clone()
    };
    store.record_attempt(&failed).await.unwrap();
    assert_eq!(store.outbox_item("o1").await.unwrap(), Some(failed.clone()));
    assert_eq!(due(2_000, 5, 10).await, vec!["O-6", "o-3"]);
    assert_eq!(due(2_600, 5, 10).await, vec!["O-6", "o-3", "o1"]);
    let done = OutboxItem {
        attempts: 2,
        delivered_at: Some(Timestamp(2_600)),
        last_error: None,
        ..failed.clone()
    };
    store.record_attempt(&done).await.unwrap();
    assert_eq!(store.outbox_item("o1").await.unwrap(), Some(done.clone()));
    assert_eq!(due(10_000, 5, 10).await, vec!["O-6", "o-3", "o2"]);
    assert_eq!(store.pending_outbox(5).await.unwrap(), 3, "o1 delivered");
    store
        .record_attempt(&outbox_item("gone", "e1", 0, 0, 1))
        .await
        .unwrap();

    // The delivery log of an endpoint, newest first.
    let log = |endpoint: &'static str, limit: i64| {
        let store = store.clone();
        async move {
            store
                .outbox_of_endpoint(endpoint, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(log("e1", 10).await, vec!["o5", "o2", "o1", "o4"]);
    assert_eq!(log("e1", 2).await, vec!["o5", "o2"]);
    assert_eq!(log("e2", 10).await, vec!["O-6", "o-3"]);
    assert!(log("nope", 10).await.is_empty());
    assert_eq!(
        store.outbox_of_endpoint("e1", 1).await.unwrap(),
        vec![delivered.clone()]
    );

    // Enqueueing for an unknown endpoint fails the whole batch.
    let orphan = outbox_item("o7", "nope", 1_000, 1_000, 0);
    let fine = outbox_item("o8", "e1", 1_000, 1_000, 0);
    assert!(matches!(
        store.enqueue_outbox(&[fine.clone(), orphan]).await,
        Err(Error::NotFound(_))
    ));
    assert!(store.outbox_item("o8").await.unwrap().is_none());

    // Deleting an endpoint deletes its outbox, and nothing else.
    assert!(store.delete_webhook_endpoint("e1").await.unwrap());
    assert!(!store.delete_webhook_endpoint("e1").await.unwrap());
    assert_eq!(store.webhook_endpoints().await.unwrap(), vec![e2]);
    for id in ["o1", "o2", "o4", "o5"] {
        assert!(store.outbox_item(id).await.unwrap().is_none(), "{id} gone");
    }
    assert!(log("e1", 10).await.is_empty());
    assert_eq!(log("e2", 10).await, vec!["O-6", "o-3"]);
    assert_eq!(due(10_000, 5, 10).await, vec!["O-6", "o-3"]);
    assert!(matches!(
        store.enqueue_outbox(&[fine]).await,
        Err(Error::NotFound(_))
    ));

    // A room event's delivery: its event and item, no body until the sender stores one, once.
    let pending = OutboxItem {
        body: String::new(),
        rid: Some("r1".into()),
        seq: Some(3),
        item: Some(1),
        ..outbox_item("o9", "e2", 1_000, 1_000, 0)
    };
    store
        .enqueue_outbox(std::slice::from_ref(&pending))
        .await
        .unwrap();
    assert_eq!(
        store.outbox_item("o9").await.unwrap(),
        Some(pending.clone())
    );
    assert!(store
        .set_outbox_body("o9", r#"{"id":"evt"}"#)
        .await
        .unwrap());
    assert!(
        !store.set_outbox_body("o9", "other").await.unwrap(),
        "a stored body stays"
    );
    assert!(!store.set_outbox_body("nope", "x").await.unwrap());
    assert_eq!(
        store.outbox_item("o9").await.unwrap(),
        Some(OutboxItem {
            body: r#"{"id":"evt"}"#.into(),
            ..pending
        })
    );
}

/// Senders of several servers claim due rows: on PostgreSQL each row goes to one claimer (and
/// is not due again until its lease ends), shown with the time it was due; SQLite (one server)
/// reads them plainly.
pub async fn claimed_outbox_rows_go_to_one_sender(store: Arc<dyn Store>) {
    let e = WebhookEndpoint {
        id: "ce".into(),
        url: "https://example.com/hook".into(),
        events: vec![],
        enabled: true,
        created_at: Timestamp(1_000),
    };
    store.insert_webhook_endpoint(&e).await.unwrap();
    let items: Vec<OutboxItem> = (0..40)
        .map(|i| outbox_item(&format!("c{i:02}"), "ce", 1_000 + i, 900, 0))
        .collect();
    store.enqueue_outbox(&items).await.unwrap();
    let claim = || {
        let store = store.clone();
        async move { store.claim_outbox(Timestamp(5_000), 5, 30).await.unwrap() }
    };
    let (a, b) = tokio::join!(claim(), claim());
    if store.backend() == "postgres" {
        let mut ids: Vec<String> = a.iter().chain(&b).map(|i| i.id.clone()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "a row went to two senders");
        assert_eq!(n, 40, "every due row was claimed");
        for got in a.iter().chain(&b) {
            let want = items.iter().find(|i| i.id == got.id).unwrap();
            assert_eq!(got, want, "shown as it was due");
        }
        let sorted = |v: &Vec<OutboxItem>| {
            v.windows(2)
                .all(|w| w[0].next_attempt_at <= w[1].next_attempt_at)
        };
        assert!(sorted(&a) && sorted(&b), "longest due first");
        assert!(claim().await.is_empty(), "claimed rows are not due again");
    } else {
        assert_eq!(a, b, "one server: a plain read");
        assert_eq!(a, items[..30].to_vec());
    }
}

/// Cluster presence (PostgreSQL only): a user is online while any node has a connection of
/// theirs; the rows of a node that stopped beating are reaped, and only users with no other
/// node are reported offline.
pub async fn cluster_presence_rows_and_reaping(store: Arc<dyn Store>) {
    let Some(cs) = store.cluster() else {
        assert_eq!(
            store.backend(),
            "sqlite",
            "only SQLite has no cluster tables"
        );
        return;
    };
    cs.heartbeat("n1", 1).await.unwrap();
    cs.presence_join("n1", "u1").await.unwrap();
    cs.presence_join("n1", "u1").await.unwrap();
    cs.presence_join("n2", "u1").await.unwrap();
    cs.presence_join("n2", "u2").await.unwrap();
    assert!(cs.presence_leave("n1", "u1").await.unwrap(), "still on n2");
    cs.presence_join("n1", "u1").await.unwrap();
    // n2 never beat: it is not live.
    assert_eq!(
        cs.reap_presence(60_000).await.unwrap(),
        vec!["u2".to_string()]
    );
    assert!(cs.reap_presence(60_000).await.unwrap().is_empty());
    assert!(
        !cs.presence_leave("n1", "u1").await.unwrap(),
        "last connection"
    );
    let live: Vec<String> = cs
        .live_nodes(60_000)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.node_id)
        .collect();
    assert_eq!(live, vec!["n1".to_string()]);
    cs.forget_node("n1").await.unwrap();
    assert!(cs.live_nodes(60_000).await.unwrap().is_empty());
}
