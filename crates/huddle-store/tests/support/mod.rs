//! Harness for the conformance suite: every test body runs against a fresh SQLite file, and
//! against a fresh PostgreSQL schema when `HUDDLE_TEST_POSTGRES_URL` is set (failing, not
//! skipping, when that database cannot be reached). Plus the fixtures the bodies share.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use huddle_core::ids::new_id;
use huddle_core::store::{NewMember, Store};
use huddle_core::{Access, Message, Room, RoomType, Subscription, Timestamp, User, UserRef};
use huddle_store::StoreOptions;
use sqlx::Connection;

pub type Body = fn(Arc<dyn Store>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

pub const PG_ENV: &str = "HUDDLE_TEST_POSTGRES_URL";

/// One key per test process, so stores reopened on a database read what they sealed.
static SECRETS_KEY: std::sync::LazyLock<huddle_store::SecretsKey> =
    std::sync::LazyLock::new(huddle_store::SecretsKey::generate);

fn options() -> StoreOptions {
    // Tests run in parallel against one PostgreSQL server: keep each store's share small.
    StoreOptions {
        max_connections: 5,
        secrets_key: Some(SECRETS_KEY.clone()),
        ..StoreOptions::default()
    }
}

/// Runs `body` on a store, then cleans up whether it passed or panicked, then re-raises.
async fn run_body(store: Arc<dyn Store>, body: Body) -> Result<(), Box<dyn std::any::Any + Send>> {
    match tokio::spawn(body(store)).await {
        Ok(()) => Ok(()),
        Err(e) => Err(e
            .try_into_panic()
            .unwrap_or_else(|e| Box::new(format!("test task failed: {e}")))),
    }
}

pub async fn run_sqlite(body: Body) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("huddle.db").display());
    let store = huddle_store::open(&url, options())
        .await
        .expect("open sqlite store");
    assert_eq!(store.backend(), "sqlite");
    let outcome = run_body(store, body).await;
    drop(dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

pub async fn run_postgres(name: &str, body: Body) {
    let Ok(base) = std::env::var(PG_ENV) else {
        eprintln!("{PG_ENV} not set: PostgreSQL run of {name} skipped");
        return;
    };
    // A fresh schema per test: the store's tables and its migration history live in it.
    let schema = format!(
        "t_{}_{}",
        name.chars().take(30).collect::<String>(),
        new_id().to_lowercase()
    );
    let mut admin = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("{PG_ENV} is set but PostgreSQL at {base} is unreachable: {e}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let store = huddle_store::open(&url, options())
        .await
        .expect("open postgres store");
    assert_eq!(store.backend(), "postgres");
    let outcome = run_body(store, body).await;
    if let Err(e) = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
    {
        eprintln!("could not drop schema {schema}: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each listed `async fn(Arc<dyn Store>)` as two tests, `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::support::run_sqlite(|s| Box::pin(super::$name(s))).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::support::run_postgres(stringify!($name), |s| Box::pin(super::$name(s))).await
                }
            )*
        }
    };
}

// ---- fixtures

pub fn user(username: &str) -> User {
    let mut u = User::new(
        new_id(),
        Some(username.to_string()),
        format!("Name of {username}"),
    );
    u.email = Some(format!("{username}@example.com"));
    u
}

pub async fn insert_user(store: &Arc<dyn Store>, username: impl Into<String>) -> User {
    let u = user(&username.into());
    store.insert_user(&u).await.expect("insert user");
    u
}

pub fn room(name: &str, t: RoomType) -> Room {
    Room::new(new_id(), t, Some(name.to_string()), None)
}

pub async fn create_room(store: &Arc<dyn Store>, name: &str, t: RoomType) -> Room {
    let r = room(name, t);
    store.create_room(&r, &[]).await.expect("create room");
    r
}

pub fn sub(room: &Room, user: &User) -> Subscription {
    let now = Timestamp::now();
    Subscription {
        id: new_id(),
        rid: room.id.clone(),
        u: user.to_ref(),
        t: room.t,
        name: room.name.clone().unwrap_or_default(),
        fname: room.fname.clone(),
        ts: now,
        ls: None,
        open: true,
        alert: true,
        unread: 1,
        user_mentions: 1,
        group_mentions: 0,
        roles: vec![],
        access: Access::ReadWrite,
        notify: "true".into(),
        revoked_at: None,
        favorite: false,
        ignored: vec![],
        updated_at: now,
    }
}

/// An invite of `user` by `actor`, with its `au` system message.
pub fn member(room: &Room, user: &User, actor: &UserRef) -> NewMember {
    NewMember {
        subscription: sub(room, user),
        message: Some(Message::system(
            &room.id,
            "au",
            actor.clone(),
            user.username_or_id(),
        )),
    }
}

pub fn message_at(room: &Room, author: &User, text: &str, ts: i64) -> Message {
    let mut m = Message::new(&room.id, author.to_ref(), text.to_string(), None);
    m.ts = Timestamp(ts);
    m.updated_at = Timestamp(ts);
    m
}

pub async fn room_now(store: &Arc<dyn Store>, id: &str) -> Room {
    store
        .room_by_id(id)
        .await
        .expect("room_by_id")
        .expect("room exists")
}
