//! Scale check, not part of the default run (`cargo test -p huddle-store --release --test scale
//! -- --ignored --nocapture`): a room of `HUDDLE_SCALE_MEMBERS` (default 1,000,000) members,
//! seeded with plain SQL, must still answer a page of members, a bulk invite of 10,000 and the
//! counters quickly. Runs on SQLite, and on PostgreSQL when `HUDDLE_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_core::store::{NewMember, Store};
use huddle_core::{MemberQuery, Paging, RoomType};
use sqlx::Connection;
use support::*;

fn members() -> i64 {
    std::env::var("HUDDLE_SCALE_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// Users `s0000001`.. and their memberships of room `BIG`, written set-wise in SQL (the store's
/// API would take minutes to seed this and is not what is measured).
fn seed_sql(n: i64, postgres: bool) -> Vec<String> {
    let series = if postgres {
        format!("SELECT g AS x FROM generate_series(1, {n}) g")
    } else {
        format!("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x FROM c")
    };
    let pad = if postgres {
        "lpad(x::text, 7, '0')"
    } else {
        "printf('%07d', x)"
    };
    vec![
        "INSERT INTO rooms (id, t, name, fname, created_at, updated_at) VALUES ('BIG', 'c', 'big', 'big', 0, 0)".into(),
        format!(
            "INSERT INTO users (id, username, username_lower, name, email, email_lower, roles, active, kind, status, status_text, custom, created_at, updated_at) \
             SELECT 'id' || {pad}, 's' || {pad}, 's' || {pad}, 'Seeded ' || {pad}, NULL, NULL, '[\"user\"]', \
             CASE WHEN x % 1000 = 0 THEN 0 ELSE 1 END, 'user', 'offline', '', '{{}}', 0, 0 FROM ({series}) q"
        ),
        format!(
            "INSERT INTO subscriptions (id, rid, uid, u_username, u_name, t, name, fname, ts, updated_at) \
             SELECT 'sub' || {pad}, 'BIG', 'id' || {pad}, 's' || {pad}, 'Seeded ' || {pad}, 'c', 'big', 'big', 0, 0 FROM ({series}) q"
        ),
        format!("UPDATE rooms SET users_count = {n} WHERE id = 'BIG'"),
        "ANALYZE".into(),
    ]
}

async fn measure(store: Arc<dyn Store>, n: i64) {
    let timed = |what: &str, started: Instant, limit: Duration| {
        let took = started.elapsed();
        println!("{what}: {took:?}");
        assert!(took < limit, "{what} took {took:?}");
    };
    let q = MemberQuery {
        paging: Paging {
            offset: 0,
            count: Some(50),
        },
        ..Default::default()
    };
    let started = Instant::now();
    let first = store.list_members("BIG", &q).await.unwrap();
    timed("first page of members", started, Duration::from_millis(500));
    assert_eq!(first.items.len(), 50);
    assert_eq!(first.total, n - n / 1000, "inactive members excluded");
    assert_eq!(first.items[0].user.username.as_deref(), Some("s0000001"));

    let started = Instant::now();
    let last = store
        .list_members(
            "BIG",
            &MemberQuery {
                sort_desc: true,
                ..q.clone()
            },
        )
        .await
        .unwrap();
    timed(
        "first page, descending",
        started,
        Duration::from_millis(500),
    );
    assert_eq!(
        last.items[0].user.username.as_deref(),
        Some(format!("s{:07}", n - 1).as_str())
    );

    let admin = insert_user(&store, "admin").await;
    let room = store.room_by_id("BIG").await.unwrap().unwrap();
    let mut newcomers = vec![];
    for i in 0..10_000 {
        let mut u = user(&format!("new{i:05}"));
        u.email = None;
        newcomers.push(u);
    }
    let started = Instant::now();
    for chunk in newcomers.chunks(200) {
        futures::future::join_all(chunk.iter().map(|u| store.insert_user(u)))
            .await
            .into_iter()
            .for_each(|r| r.unwrap());
    }
    println!("10,000 insert_user calls: {:?}", started.elapsed());
    let ids: Vec<String> = newcomers.iter().map(|u| u.id.clone()).collect();
    let started = Instant::now();
    let users = store.users_by_ids(&ids).await.unwrap();
    timed("users_by_ids(10,000)", started, Duration::from_secs(3));
    assert_eq!(users.len(), 10_000);
    let invites: Vec<NewMember> = users
        .iter()
        .map(|u| member(&room, u, &admin.to_ref()))
        .collect();
    let started = Instant::now();
    let added = store.add_members("BIG", &invites).await.unwrap();
    timed(
        "add_members(10,000) to the big room",
        started,
        Duration::from_secs(10),
    );
    assert_eq!(added.len(), 10_000);
    let r = store.room_by_id("BIG").await.unwrap().unwrap();
    assert_eq!((r.users_count, r.msgs), (n + 10_000, 10_000));

    let started = Instant::now();
    let again = store.add_members("BIG", &invites[..1]).await.unwrap();
    timed(
        "add_members of an existing member",
        started,
        Duration::from_millis(500),
    );
    assert!(again.is_empty());

    let started = Instant::now();
    let found = store
        .list_members(
            "BIG",
            &MemberQuery {
                text: Some("NEW0999".into()),
                ..q.clone()
            },
        )
        .await
        .unwrap();
    println!(
        "text filter over the whole room: {:?} ({} found)",
        started.elapsed(),
        found.total
    );
    assert_eq!(found.total, 10);

    let started = Instant::now();
    let all_users = huddle_core::UserQuery {
        paging: Paging {
            offset: 0,
            count: Some(50),
        },
        ..Default::default()
    };
    let listed = store.list_users(&all_users).await.unwrap();
    timed(
        "first page of all users, with total",
        started,
        Duration::from_secs(2),
    );
    assert_eq!((listed.items.len(), listed.total), (50, n + 10_001));

    let started = Instant::now();
    assert!(store
        .remove_member("BIG", &users[0].id, None)
        .await
        .unwrap());
    timed("remove_member", started, Duration::from_millis(500));

    let started = Instant::now();
    let msg = huddle_core::Message::new("BIG", admin.to_ref(), "hello everyone".into(), None);
    store.insert_message(&msg).await.unwrap();
    println!(
        "insert_message (unread for every member): {:?}",
        started.elapsed()
    );
    let _ = create_room(&store, "small", RoomType::Channel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn million_member_room_sqlite() {
    let n = members();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huddle.db");
    let url = format!("sqlite://{}", path.display());
    huddle_store::migrate(&url).await.unwrap();
    let started = Instant::now();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    for sql in seed_sql(n, false) {
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    println!("seeded {n} members in {:?}", started.elapsed());
    let store = huddle_store::open(&url, Default::default()).await.unwrap();
    measure(store, n).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn million_member_room_postgres() {
    let Ok(base) = std::env::var(PG_ENV) else {
        eprintln!("{PG_ENV} not set: skipped");
        return;
    };
    let n = members();
    let schema = format!("scale_{}", huddle_core::ids::new_id().to_lowercase());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    huddle_store::migrate(&url).await.unwrap();
    let started = Instant::now();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    for sql in seed_sql(n, true) {
        sqlx::query(&sql).execute(&mut conn).await.unwrap();
    }
    println!("seeded {n} members in {:?}", started.elapsed());
    let store = huddle_store::open(&url, Default::default()).await.unwrap();
    let outcome = tokio::spawn(measure(store, n)).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
