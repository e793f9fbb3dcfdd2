//! Backend-specific behaviour, outside the matrix.

#![allow(unused_imports)]

use super::*;

// ---- backend-specific behaviour, outside the matrix

#[tokio::test]
async fn sqlite_data_survives_reopen_and_migrate_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}/nested/dir/huddle.db", dir.path().display());
    huddle_store::migrate(&url).await.unwrap();
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    let u = insert_user(&store, "alice").await;
    drop(store);
    huddle_store::migrate(&url).await.unwrap();
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.user_by_id(&u.id).await.unwrap(), Some(u));
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = huddle_store::open("sqlite::memory:", huddle_store::StoreOptions::default())
        .await
        .unwrap();
    let u = insert_user(&store, "alice").await;
    let room = create_room(&store, "x", RoomType::Channel).await;
    store
        .add_members(&room.id, &[member(&room, &u, &u.to_ref())])
        .await
        .unwrap();
    assert_eq!(room_now(&store, &room.id).await.users_count, 1);
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_fast() {
    let opts = huddle_store::StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
        secrets_key: None,
    };
    let started = Instant::now();
    let result = huddle_store::open("postgres://postgres@127.0.0.1:1/none", opts).await;
    assert!(
        matches!(result, Err(Error::Unavailable(_))),
        "got {:?}",
        result.err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unknown_scheme_is_refused() {
    assert!(matches!(
        huddle_store::open("mysql://x", Default::default()).await,
        Err(Error::Internal(_))
    ));
}

#[tokio::test]
async fn sqlite_upgrade_from_0001_fills_the_new_columns() {
    // A database made by the first migration alone, with a row in every changed table.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("migrations");
    std::fs::create_dir(&first).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_init.sql"
        ),
        first.join("0001_init.sql"),
    )
    .unwrap();
    let url = format!("sqlite:{}/huddle.db?mode=rwc", dir.path().display());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(first.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO users (id, username, username_lower, name, kind, status, status_text, created_at, updated_at) \
             VALUES ('u1', 'old', 'old', 'Old', 'user', 'offline', '', 1, 1)",
            "INSERT INTO rooms (id, t, name, created_at, updated_at) VALUES ('r1', 'p', 'old-room', 1, 1)",
            "INSERT INTO subscriptions (id, rid, uid, u_username, t, name, ts, updated_at) \
             VALUES ('s1', 'r1', 'u1', 'old', 'p', 'old-room', 1, 1)",
            "INSERT INTO messages (id, rid, msg, ts, u_id, u_username, updated_at) \
             VALUES ('m1', 'r1', 'hi', 5, 'u1', 'old', 5)",
            "UPDATE rooms SET lm = 5, msgs = 1, users_count = 1 WHERE id = 'r1'",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    let user = store.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!(user.profile, Profile::default());
    let sub = store.subscription("r1", "u1").await.unwrap().unwrap();
    assert_eq!(sub.revoked_at, None);
    // Migration 0013 moved memberships into a table keyed by (room, user): rows and ids kept.
    assert_eq!(sub.id, "s1");
    let listed = store.subscriptions_of_user("u1", None).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["s1"]
    );
    let message = store.message_by_id("m1").await.unwrap().unwrap();
    assert_eq!(message.idempotency_key, None);
    let listed = store
        .list_conversations(&ConversationQuery {
            member: Some("u1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.last_message_at, Some(Timestamp(5)));
}

#[tokio::test]
async fn sqlite_upgrade_from_0002_sets_origins_and_numbers_events_from_1() {
    // A database made by the first two migrations, with rooms of each API and an outbox row.
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("migrations");
    std::fs::create_dir(&before).unwrap();
    for file in ["0001_init.sql", "0002_talk.sql"] {
        let from = format!("{}/migrations/sqlite/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(from, before.join(file)).unwrap();
    }
    let url = format!("sqlite:{}/huddle.db?mode=rwc", dir.path().display());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(before.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO users (id, username, username_lower, name, kind, status, status_text, created_at, updated_at) \
             VALUES ('u1', 'old', 'old', 'Old', 'user', 'offline', '', 1, 1)",
            // A TalkJS-style conversation (private, nameless), a Rocket.Chat group, a direct
            // message and a channel.
            "INSERT INTO rooms (id, t, name, created_at, updated_at) VALUES ('conv', 'p', NULL, 1, 1)",
            "INSERT INTO rooms (id, t, name, created_at, updated_at) VALUES ('grp', 'p', 'team', 1, 1)",
            "INSERT INTO rooms (id, t, name, created_at, updated_at) VALUES ('dm', 'd', NULL, 1, 1)",
            "INSERT INTO rooms (id, t, name, created_at, updated_at) VALUES ('chan', 'c', 'general', 1, 1)",
            "INSERT INTO webhook_endpoints (id, url, created_at) VALUES ('e1', 'https://example.com', 1)",
            "INSERT INTO webhook_outbox (id, endpoint_id, event_type, body, next_attempt_at, created_at) \
             VALUES ('o1', 'e1', 'user.created', '{}', 1, 1)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    for (id, origin) in [
        ("conv", huddle_core::Origin::TalkJs),
        ("grp", huddle_core::Origin::RocketChat),
        ("dm", huddle_core::Origin::RocketChat),
        ("chan", huddle_core::Origin::RocketChat),
    ] {
        assert_eq!(room_now(&store, id).await.origin, origin, "{id}");
    }
    let old = store.outbox_item("o1").await.unwrap().unwrap();
    assert_eq!(
        (old.body.as_str(), old.rid, old.seq, old.item),
        ("{}", None, None, None)
    );
    // An existing room's first event is number 1.
    let conv = room_now(&store, "conv").await;
    let user = store.user_by_id("u1").await.unwrap().unwrap();
    let (added, _) = store
        .add_members_counted("conv", &[member(&conv, &user, &user.to_ref())])
        .await
        .unwrap();
    assert_eq!(added, vec!["u1".to_string()]);
    let log = store.room_events("conv", 0, 10).await.unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1]);
}
