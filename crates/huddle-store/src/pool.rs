//! Connecting: which backend a URL names, the pools, the per-connection SQLite pragmas, the
//! migrations, and how a write transaction begins. Everything backend-specific about connections
//! lives here; the aggregate modules only ask for "the reader", "the writer" or "a transaction".

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use huddle_core::{Error, Result};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Connection, Executor};

use crate::direct::DirectReads;
use crate::errors::{db_err, migrate_err};
use crate::event_rows::EventQueue;
use crate::tx::Tx;
use crate::writer::{BatchEnd, WriteFn, Writer};

/// Longest a write waits for SQLite's single writer connection.
const SQLITE_WRITER_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// How to size and bound the connection pools.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections to PostgreSQL, or most SQLite reader connections (SQLite always has
    /// exactly one writer connection besides).
    pub max_connections: u32,
    /// The key that seals the app's secret keys at rest. Without one the store refuses to store
    /// or read a sealed secret key (with `Error::Unavailable`), rather than keep it in clear.
    pub secrets_key: Option<crate::SecretsKey>,
    /// How long a request waits for a connection before failing with `Error::Unavailable`. Short
    /// on purpose: a database outage should answer fast instead of piling up requests.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            secrets_key: None,
        }
    }
}

/// The SQL dialect behind the pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Row lock taken by `SELECT ... FROM rooms` at the start of a write transaction. PostgreSQL
    /// needs it so that every transaction touching a room's counters queues on the room row
    /// first (one lock order, no deadlocks); SQLite serialises writers anyway (one writer
    /// connection, `BEGIN IMMEDIATE`) and has no `FOR UPDATE`.
    pub(crate) fn lock_rows(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR NO KEY UPDATE",
        }
    }

    /// Stronger lock for a row about to be deleted (blocks inserts referencing it).
    pub(crate) fn lock_for_delete(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Collation clause for a text column that orders a listing or a cursor (ids): bytewise on
    /// both backends, as the migrations' sorted columns are. SQLite compares bytes anyway;
    /// PostgreSQL's database collation may not, so the clause (and the index it walks, declared
    /// with the same collation) says "C". Put it after the column in `ORDER BY` and in the
    /// cursor comparison alike, or the index cannot serve them.
    pub(crate) fn bytewise(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " COLLATE \"C\"",
        }
    }

    /// One row, one column: every membership key of room `$1` in index order, packed as
    /// `member_pages::unpack_member_keys` reads them (each field's length in bytes, `:`, the
    /// field), NULL for an empty room. SQLite's `group_concat` takes the rows in the order the
    /// subquery walks the covering index; PostgreSQL's `string_agg` is told the order.
    pub(crate) fn packed_member_keys(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT group_concat(length(CAST(u_username AS BLOB)) || ':' || u_username \
                 || length(CAST(uid AS BLOB)) || ':' || uid, '') \
                 FROM (SELECT u_username, uid FROM subscriptions WHERE rid = $1 \
                 ORDER BY u_username, uid)"
            }
            Backend::Postgres => {
                "SELECT string_agg(octet_length(u_username) || ':' || u_username \
                 || octet_length(uid) || ':' || uid, '' ORDER BY u_username, uid) \
                 FROM subscriptions WHERE rid = $1"
            }
        }
    }

    /// The statement as this backend should see it. Statements are written with PostgreSQL's
    /// `$N`, which SQLite also accepts, but as *named* parameters: SQLite finds a name by a
    /// linear scan of those seen so far, both when parsing and when sqlx asks each parameter's
    /// name to bind it, so a multi-row insert with thousands of them is quadratic (10,000
    /// memberships took seconds). Statements with long parameter lists are therefore rewritten
    /// whole (never mixed): to anonymous `?` when the parameters appear exactly as `$1, $2, ...`
    /// in order, which costs nothing, else to numbered `?N`.
    pub(crate) fn sql(self, sql: String) -> String {
        if self == Backend::Postgres || !sql.contains('$') {
            return sql;
        }
        let mut out = String::with_capacity(sql.len());
        let mut numbers = vec![];
        let mut rest = sql.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if digits == 0 {
                out.push('$');
            } else {
                numbers.push(rest[at + 1..at + 1 + digits].parse::<usize>().unwrap_or(0));
                out.push('\u{0}');
            }
            rest = &rest[at + 1 + digits..];
        }
        out.push_str(rest);
        let in_order = numbers.iter().enumerate().all(|(i, n)| *n == i + 1);
        let mut numbers = numbers.into_iter();
        out.split('\u{0}')
            .enumerate()
            .map(|(i, part)| match (i, in_order) {
                (0, _) => part.to_string(),
                (_, true) => format!("?{part}"),
                (_, false) => format!("?{}{part}", numbers.next().unwrap_or(0)),
            })
            .collect()
    }

    /// `LIMIT/OFFSET` for a page; `count == None` means no limit, which SQLite spells `LIMIT -1`
    /// (it has no `OFFSET` without `LIMIT`).
    pub(crate) fn page(self, paging: &huddle_core::Paging) -> String {
        let offset = paging.offset.max(0);
        match (paging.count, self) {
            (Some(c), _) => format!(" LIMIT {} OFFSET {offset}", c.max(0)),
            (None, Backend::Sqlite) => format!(" LIMIT -1 OFFSET {offset}"),
            (None, Backend::Postgres) => format!(" OFFSET {offset}"),
        }
    }
}

/// Attempts, 10 ms apart, at the checkpoint that overwrites rows sealed at start-up.
const SCRUB_TRIES: usize = 500;
/// A pooled PostgreSQL connection idle this long is tested before it is handed out.
const PG_TEST_IF_IDLE_FOR: Duration = Duration::from_secs(5);

/// Every connection to a SQLite file that may write. WAL lets readers run beside the writer;
/// `synchronous=FULL` makes an acknowledged commit survive a crash or kill -9; the busy timeout
/// covers another process (the CLI) holding the write lock for a moment.
pub(crate) const SQLITE_WRITER_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";
/// Reader connections refuse writes, so a write sent to the wrong pool fails loudly in tests
/// instead of racing the writer.
const SQLITE_READER_PRAGMAS: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA query_only = ON;";

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A normalised `sqlite:` URL, and whether it is an in-memory database.
    Sqlite {
        url: String,
        path: Option<String>,
        memory: bool,
    },
    Postgres {
        url: String,
    },
}

pub(crate) fn parse_url(url: &str) -> Result<Target> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres {
            url: url.to_string(),
        });
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| {
            Error::Internal(format!(
                "unsupported database URL (want sqlite:// or postgres://): {url}"
            ))
        })?;
    let (path, params) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut params: Vec<String> = params
        .map(|q| {
            q.split('&')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let memory = path == ":memory:" || params.iter().any(|p| p == "mode=memory");
    if !memory && !params.iter().any(|p| p.starts_with("mode=")) {
        params.push("mode=rwc".into());
    }
    // Rebuilt as `sqlite:<path>` rather than `sqlite://<path>`: in the latter a relative path's
    // first segment is parsed as a host name and lower-cased by the URL parser.
    let mut out = format!("sqlite:{}", encode_path(path));
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    let path = (!memory && !path.is_empty()).then(|| path.to_string());
    Ok(Target::Sqlite {
        url: out,
        path,
        memory,
    })
}

/// Percent-encodes the few characters that would end a path inside a URL; sqlx decodes them.
fn encode_path(path: &str) -> Cow<'_, str> {
    if !path.contains(['%', '?', '#', ' ']) {
        return Cow::Borrowed(path);
    }
    Cow::Owned(
        path.replace('%', "%25")
            .replace('?', "%3F")
            .replace('#', "%23")
            .replace(' ', "%20"),
    )
}

/// The pools of one store. For SQLite, `writer` has exactly one connection and every write goes
/// through it (SQLite allows one writer; a second writer would wait or fail with SQLITE_BUSY on
/// a read-to-write upgrade), while `reader` serves plain reads concurrently. For PostgreSQL both
/// are the same pool.
pub(crate) struct Db {
    pub(crate) backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    /// SQLite's group-commit writer (`None` on PostgreSQL).
    group: Option<Writer>,
    /// Where SQLite's write jobs queue their room event and outbox rows, written by `group`
    /// at the end of each batch (`None` on PostgreSQL, whose jobs write them themselves).
    pub(crate) events: Option<Arc<EventQueue>>,
    /// Reads on the calling thread for a SQLite file (`direct.rs`); `None` on PostgreSQL and
    /// for an in-memory SQLite database.
    pub(crate) direct: Option<DirectReads>,
}

impl Db {
    /// Opens the pools and applies pending migrations.
    pub(crate) async fn connect(url: &str, opts: &StoreOptions) -> Result<Db> {
        sqlx::any::install_default_drivers();
        match parse_url(url)? {
            Target::Postgres { url } => {
                let pool = AnyPoolOptions::new()
                    .max_connections(opts.max_connections.max(1))
                    .acquire_timeout(opts.acquire_timeout)
                    // sqlx tests every connection it takes back (a round trip: a broken one is
                    // closed there), and by default every connection it hands out too, which
                    // made each statement three round trips. Only a connection that sat idle,
                    // and may have been cut meanwhile (a restart, a proxy's idle timeout), is
                    // tested before use; a recently used one that broke fails its statement
                    // (an outage answer) and is closed when it comes back.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for < PG_TEST_IF_IDLE_FOR {
                                return Ok(true);
                            }
                            Ok(conn.ping().await.is_ok())
                        })
                    })
                    .connect(&url)
                    .await
                    .map_err(db_err)?;
                run_migrations(Backend::Postgres, &pool).await?;
                Ok(Db {
                    backend: Backend::Postgres,
                    writer: pool.clone(),
                    reader: pool,
                    group: None,
                    events: None,
                    direct: None,
                })
            }
            Target::Sqlite { url, path, memory } => {
                if let Some(path) = &path {
                    create_parent_dir(path)?;
                }
                // Writes queue for SQLite's one writer by design: a burst of writers waits its
                // turn rather than failing after the short outage timeout meant for a database
                // that is down (a local file does not go down that way).
                let writer_wait = opts.acquire_timeout.max(SQLITE_WRITER_QUEUE_WAIT);
                let writer = sqlite_pool(SQLITE_WRITER_PRAGMAS, writer_wait, 1, memory)
                    .connect(&url)
                    .await
                    .map_err(db_err)?;
                run_migrations(Backend::Sqlite, &writer).await?;
                // An in-memory database lives and dies with its one connection, and a second
                // connection would open a different, empty database: reads share the writer.
                let reader = if memory {
                    writer.clone()
                } else {
                    sqlite_pool(
                        SQLITE_READER_PRAGMAS,
                        opts.acquire_timeout,
                        opts.max_connections.max(1),
                        false,
                    )
                    .connect(&url)
                    .await
                    .map_err(db_err)?
                };
                // Without them every read still works, through sqlx's readers.
                let direct = match (&path, memory) {
                    (Some(path), false) => DirectReads::open(path)
                        .inspect_err(|e| {
                            tracing::warn!(error = %e, "direct SQLite readers not opened");
                        })
                        .ok(),
                    _ => None,
                };
                let events = Arc::new(EventQueue::default());
                let end: Arc<dyn BatchEnd> = events.clone();
                // A file gets the writer thread with its own connection; should that connection
                // not open, or for an in-memory database, the writer runs the same jobs on the
                // pool's connection.
                let group = match (&path, memory) {
                    (Some(path), false) => {
                        Writer::spawn_on_file(Path::new(path), Some(end.clone()))
                            .inspect_err(|e| {
                                tracing::warn!(error = %e, "SQLite writer thread not started");
                            })
                            .ok()
                    }
                    _ => None,
                };
                let group =
                    group.unwrap_or_else(|| Writer::spawn_on_pool(writer.clone(), Some(end)));
                Ok(Db {
                    backend: Backend::Sqlite,
                    group: Some(group),
                    events: Some(events),
                    direct,
                    writer,
                    reader,
                })
            }
        }
    }

    /// Opens one connection, applies pending migrations and closes it.
    pub(crate) async fn migrate_only(url: &str) -> Result<()> {
        let opts = StoreOptions {
            max_connections: 1,
            ..StoreOptions::default()
        };
        let db = Db::connect(url, &opts).await?;
        db.close().await;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// Overwrites the old versions of `table`'s rows that an update leaves on disk, after
    /// secrets in clear were sealed: SQLite's WAL is checkpointed into the file (whose pages the
    /// update rewrote with their freed space zeroed) and truncated; PostgreSQL rewrites the
    /// table (`VACUUM FULL`, a brief exclusive lock on a small table). PostgreSQL's own WAL
    /// archives, if any, are the operator's to expire.
    pub(crate) async fn scrub_old_rows(&self, table: &'static str) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query(&format!("VACUUM FULL {table}"))
                .execute(&self.writer)
                .await
                .map_err(db_err)?;
            return Ok(());
        }
        // A checkpoint already running (the checkpointer thread's, after the sealing write's
        // commit) makes this one answer busy at once, not wait: it is tried again until it
        // ran whole, or the store refuses to start.
        for _ in 0..SCRUB_TRIES {
            let (busy,): (i64,) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.writer)
                .await
                .map_err(db_err)?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(Error::Unavailable(
            "the log could not be checkpointed to overwrite secrets stored in clear".into(),
        ))
    }

    /// The pool for plain reads.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The writer pool itself (tests of its pragmas); writes go through `write`.
    #[cfg(test)]
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Runs a write in a transaction of its own (PostgreSQL) or as a job of SQLite's
    /// group-commit writer (`writer.rs`: one transaction and one fsync for a batch of jobs, each
    /// job in its own savepoint). Either way the write commits or rolls back as a whole, and the
    /// answer comes back only once it is committed. On SQLite the transaction is `IMMEDIATE`,
    /// taking the write lock up front, so it can never fail half-way on a read-to-write upgrade.
    pub(crate) async fn write<T: Send + 'static>(&self, write: impl WriteFn<T>) -> Result<T> {
        if let Some(group) = &self.group {
            return group.write(write).await;
        }
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        match write(&mut Tx::Sqlx(&mut tx)).await {
            Ok(value) => {
                tx.commit().await.map_err(db_err)?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rb) = tx.rollback().await {
                    tracing::debug!(error = %rb, "rollback after a failed write");
                }
                Err(e)
            }
        }
    }
}

fn sqlite_pool(
    pragmas: &'static str,
    acquire_timeout: Duration,
    max: u32,
    memory: bool,
) -> AnyPoolOptions {
    let mut options = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire_timeout)
        // A connection to a local file does not go stale the way a network one does, and sqlx's
        // health check is a round trip to the connection's worker thread on every acquire: one
        // more hand-off for every batch of the writer and every pooled read.
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(pragmas).await?;
                Ok(())
            })
        });
    if memory {
        // Never let the only connection go: the database would vanish with it.
        options = options
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    }
    options
}

fn create_parent_dir(path: &str) -> Result<()> {
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

async fn run_migrations(backend: Backend, pool: &AnyPool) -> Result<()> {
    let migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator.run(pool).await.map_err(migrate_err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sqlite(url: &str) -> (String, bool) {
        match parse_url(url) {
            Ok(Target::Sqlite { url, memory, .. }) => (url, memory),
            other => panic!("not sqlite: {other:?}"),
        }
    }

    #[test]
    fn sqlite_urls_are_normalised_and_created_if_missing() {
        assert_eq!(
            sqlite("sqlite://huddle.db"),
            ("sqlite:huddle.db?mode=rwc".into(), false)
        );
        assert_eq!(
            sqlite("sqlite:Data/Huddle.db"),
            ("sqlite:Data/Huddle.db?mode=rwc".into(), false)
        );
        assert_eq!(
            sqlite("sqlite:///var/lib/h.db"),
            ("sqlite:/var/lib/h.db?mode=rwc".into(), false)
        );
        assert_eq!(
            sqlite("sqlite:/tmp/a b.db?mode=ro"),
            ("sqlite:/tmp/a%20b.db?mode=ro".into(), false)
        );
        assert_eq!(sqlite("sqlite::memory:"), ("sqlite::memory:".into(), true));
    }

    #[test]
    fn sqlite_gets_numbered_placeholders() {
        let sql = "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $10) -- '$x'".to_string();
        assert_eq!(
            Backend::Sqlite.sql(sql.clone()),
            "INSERT INTO t (a, b) VALUES (?1, ?2), (?3, ?10) -- '$x'"
        );
        assert_eq!(Backend::Postgres.sql(sql.clone()), sql);
    }

    /// Durability and safety settings are in force on every SQLite connection.
    #[tokio::test]
    async fn sqlite_connections_get_their_pragmas() {
        use crate::tx::GetRow;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/p.db", dir.path().display());
        let db = Db::connect(&url, &StoreOptions::default()).await.unwrap();
        let pragma = |pool: &AnyPool, name: &'static str| {
            let pool = pool.clone();
            async move {
                let row = sqlx::query(&format!("PRAGMA {name}"))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                row.try_get::<String, _>(0usize)
                    .or_else(|_| row.try_get::<i64, _>(0usize).map(|n| n.to_string()))
                    .unwrap()
            }
        };
        assert_eq!(pragma(db.writer(), "journal_mode").await, "wal");
        assert_eq!(pragma(db.writer(), "synchronous").await, "2", "FULL");
        assert_eq!(pragma(db.writer(), "foreign_keys").await, "1");
        assert_eq!(pragma(db.writer(), "busy_timeout").await, "5000");
        assert_eq!(pragma(db.reader(), "query_only").await, "1");
        assert_eq!(pragma(db.reader(), "journal_mode").await, "wal");
        assert!(
            sqlx::query("DELETE FROM settings")
                .execute(db.reader())
                .await
                .is_err(),
            "readers cannot write"
        );
        db.close().await;
    }

    #[test]
    fn postgres_and_unknown_urls() {
        assert!(
            matches!(parse_url("postgresql://u@h/db"), Ok(Target::Postgres { url }) if url == "postgresql://u@h/db")
        );
        assert!(matches!(
            parse_url("postgres://u@h/db"),
            Ok(Target::Postgres { .. })
        ));
        assert!(matches!(
            parse_url("mysql://u@h/db"),
            Err(Error::Internal(_))
        ));
    }
}
