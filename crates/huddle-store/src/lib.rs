//! Huddle's storage: one implementation of `huddle_core::store::Store` over sqlx's Any driver,
//! for SQLite (a file, for one node) and PostgreSQL. The URL picks the backend; the few dialect
//! differences live in `pool::Backend`. Every change to a room goes through `room_writes` (one
//! transaction: the rows, the room's numbered event, its webhook outbox rows), which runs the
//! per-kind changes of `rooms`, `membership` and `messages`. Each aggregate has its module:
//! `users` (and tokens), `rooms`, `membership`, `messages`, `settings` (with permissions and
//! roles), `conversations`
//! (the TalkJS-style listings, batch user upserts and idempotent messages), `app` (secret keys,
//! webhook endpoints and their outbox); `rows` maps rows to the model, `sql` builds statements,
//! `errors` maps failures, `pool` connects and migrates, `backup` copies a SQLite file
//! (`huddle backup` / `huddle restore`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), huddle_core::Error> {
//! let store = huddle_store::open("sqlite://huddle.db", huddle_store::StoreOptions::default()).await?;
//! assert_eq!(store.backend(), "sqlite");
//! # Ok(()) }
//! ```

mod app;
mod backup;
mod bans;
mod cache;
mod checkpoint;
mod cluster;
mod conversations;
mod direct;
mod errors;
mod event_rows;
mod invites;
mod member_index;
mod member_lists;
mod member_pages;
mod membership;
mod messages;
mod notifications;
mod pool;
mod room_writes;
mod rooms;
mod rows;
mod settings;
mod sql;
mod thread_unreads;
mod tx;
mod users;
mod writer;

use std::sync::Arc;

use huddle_core::store::Store;
use huddle_core::Error;

pub use backup::{backup, restore, CopySummary};
pub use huddle_core::sealed::SecretsKey;
pub use pool::StoreOptions;

/// A write job's statement, as the modules build and bind them (`tx.rs`).
pub(crate) type Q<'q> = tx::Query<'q>;
/// A read's statement on sqlx's reader pool.
pub(crate) type ReadQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Opens the store a URL names and applies pending migrations.
///
/// `sqlite://PATH` or `sqlite:PATH` (the file and its directory are created if missing;
/// `sqlite::memory:` is a private in-memory database), or `postgres://...` /
/// `postgresql://...`. Fails with `Error::Unavailable` when the database cannot be reached
/// within `opts.acquire_timeout`.
pub async fn open(url: &str, opts: StoreOptions) -> Result<Arc<dyn Store>, Error> {
    let db = pool::Db::connect(url, &opts).await?;
    tracing::info!(backend = db.backend.name(), "store open");
    let store = SqlStore {
        db,
        caches: cache::Caches::new(),
        members: Arc::new(member_index::MemberIndexes::default()),
        bytewise: tokio::sync::OnceCell::new(),
        secrets: opts.secrets_key,
    };
    store.seal_clear_secrets().await?;
    Ok(Arc::new(store))
}

/// Applies pending migrations to the database a URL names, then disconnects.
pub async fn migrate(url: &str) -> Result<(), Error> {
    pool::Db::migrate_only(url).await
}

/// The store; its trait implementations are spread over the aggregate modules.
pub(crate) struct SqlStore {
    db: pool::Db,
    /// Token and room reads kept in memory; the write methods invalidate them (`cache.rs`).
    caches: cache::Caches,
    /// Order-statistic indexes of large rooms' members, for deep member pages (shared with
    /// the write jobs that stage changes to them).
    members: Arc<member_index::MemberIndexes>,
    /// Whether the database compares ids bytewise (`member_pages::bytewise_ids`).
    bytewise: tokio::sync::OnceCell<bool>,
    /// Seals the app's secret keys at rest; `None`: they can be neither stored nor read.
    secrets: Option<SecretsKey>,
}

impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.db.backend.name()
    }
    fn cluster(&self) -> Option<&dyn huddle_core::store::ClusterStore> {
        match self.db.backend {
            pool::Backend::Postgres => Some(self),
            pool::Backend::Sqlite => None,
        }
    }
}
