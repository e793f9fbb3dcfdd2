//! SQLite reads on the calling thread. sqlx runs each SQLite connection on a worker thread of
//! its own, so every statement is a hand-off there and back: two thread wake-ups, which on a
//! small machine under load were half of a member page's CPU (the kernel's scheduler, not
//! SQLite). The hot reads (`SqlStore::fetch`) run instead on a plain `rusqlite` connection
//! taken from a free list, synchronously, with the connection's statement cache, and their
//! rows are decoded straight from SQLite's (`rows::RowSource`), without sqlx's `AnyRow` copy.
//!
//! A read of a few indexed rows takes tens of microseconds, less than the hand-off it
//! replaces, so it runs where it is asked, on the async runtime's thread, like the response's
//! JSON encoding after it. The connections are readers like sqlx's (WAL: they never wait for
//! the writer; `query_only`), opened when no idle one is left, so there are as many as reads
//! ever ran at once (about the runtime's threads). An in-memory database has no such readers:
//! a second connection would open another, empty database.

use std::path::PathBuf;
use std::sync::Mutex;

use huddle_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};

use crate::errors::db_err;
use crate::rows::RowSource;
use crate::tx::{bind_numbered, Value};
use crate::SqlStore;

/// Idle connections kept; beyond this a returned connection is closed.
const IDLE: usize = 16;
/// Longest a read waits for a lock on the runtime's thread before it goes to sqlx's readers.
const BUSY_WAIT_MS: u32 = 20;

pub(crate) struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl DirectReads {
    /// Readers of the SQLite file at `path`; the first is opened now, so a path that cannot be
    /// opened fails here (the store then reads through sqlx alone, `pool::Db::connect`).
    pub(crate) fn open(path: impl Into<PathBuf>) -> Result<DirectReads> {
        let reads = DirectReads {
            path: path.into(),
            idle: Mutex::new(vec![]),
        };
        let first = reads.connect()?;
        reads.give_back(first);
        Ok(reads)
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            // The file sqlx opened (never created here); a plain path, not a URI.
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        // Never write. A WAL reader meets a lock only in rare moments (a checkpoint truncating
        // the log, recovery after a crash); it waits a little here, on the runtime's thread,
        // and beyond that the read is handed to sqlx's readers, which wait on their own
        // threads (`SqlStore::fetch`).
        conn.execute_batch(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA query_only = ON;",
            BUSY_WAIT_MS
        ))
        .map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Only pushes and pops under the lock: a poisoned one is still a good list.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.lock();
        if idle.len() < IDLE {
            idle.push(conn);
        }
    }

    /// Every row of `sql` (written with `$N` parameters, as for sqlx) with `args`, decoded by
    /// `decode`; `Ok(None)` if the database stayed locked past [`BUSY_WAIT_MS`].
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let taken = self.lock().pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let out = read(&conn, sql, args, decode);
        // A connection whose statement failed is still usable (a read leaves no state behind).
        self.give_back(conn);
        out
    }
}

impl SqlStore {
    /// Every row of a read, decoded: on a SQLite file through the direct readers, else
    /// through sqlx's reader pool. `sql` is written for sqlx (`$N` parameters).
    pub(crate) async fn fetch<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        decode: impl Fn(&dyn RowSource) -> Result<T>,
    ) -> Result<Vec<T>> {
        if let Some(direct) = &self.db.direct {
            if let Some(found) = direct.rows(sql, args, |row| decode(row))? {
                return Ok(found);
            }
        }
        let mut query = sqlx::query(sql);
        for arg in args {
            query = arg.bind_to(query);
        }
        let found = query.fetch_all(self.db.reader()).await.map_err(db_err)?;
        found.iter().map(|row| decode(row)).collect()
    }

    /// The first row of a read, if any ([`SqlStore::fetch`]).
    pub(crate) async fn fetch_optional<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        decode: impl Fn(&dyn RowSource) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.fetch(sql, args, decode).await?.into_iter().next())
    }
}

fn read<T>(
    conn: &Connection,
    sql: &str,
    args: &[Value<'_>],
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Option<Vec<T>>> {
    let attempt = || -> std::result::Result<Vec<T>, Failed> {
        let mut statement = conn.prepare_cached(sql)?;
        bind_numbered(&mut statement, args)?;
        let mut found = statement.raw_query();
        let mut out = Vec::new();
        while let Some(row) = found.next()? {
            out.push(decode(row).map_err(Failed::Decode)?);
        }
        Ok(out)
    };
    match attempt() {
        Ok(out) => Ok(Some(out)),
        Err(Failed::Sqlite(e)) if is_locked(&e) => Ok(None),
        Err(Failed::Sqlite(e)) => Err(db_err(e)),
        Err(Failed::Decode(e)) => Err(e),
    }
}

/// Why a read stopped: SQLite refused it, or a row did not decode.
enum Failed {
    Sqlite(rusqlite::Error),
    Decode(Error),
}

impl From<rusqlite::Error> for Failed {
    fn from(e: rusqlite::Error) -> Failed {
        Failed::Sqlite(e)
    }
}

fn is_locked(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, DatabaseBusy | DatabaseLocked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_with_postgres_style_parameters_in_any_order() {
        let dir = std::env::temp_dir().join(format!("huddle-direct-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.db");
        let _ = std::fs::remove_file(&path);
        let setup = Connection::open(&path).unwrap();
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (a TEXT NOT NULL, b INTEGER); \
                 INSERT INTO t VALUES ('x', 1), ('y', NULL), ('z', 3);",
            )
            .unwrap();
        let reads = DirectReads::open(&path).unwrap();
        let got = reads
            .rows(
                "SELECT a, b FROM t WHERE b IS NULL OR (b >= $2 AND a <> $1) ORDER BY a",
                &[Value::from("z"), Value::Int(1)],
                |r| {
                    Ok((
                        r.get::<_, String>(0).unwrap(),
                        r.get::<_, Option<i64>>(1).unwrap(),
                    ))
                },
            )
            .unwrap();
        assert_eq!(got, Some(vec![("x".into(), Some(1)), ("y".into(), None)]));
        // A reader never writes, and a failed statement leaves the connection usable.
        let refused = reads.rows("INSERT INTO t VALUES ('w', 4) RETURNING a", &[], |_| Ok(()));
        assert!(matches!(refused, Err(Error::Internal(_))), "{refused:?}");
        let count = reads
            .rows("SELECT count(*) FROM t", &[], |r| {
                Ok(r.get::<_, i64>(0).unwrap())
            })
            .unwrap();
        assert_eq!(count, Some(vec![3]));

        // An idle reader holds no snapshot: a read that stopped early (its decoder failed) or
        // ran to its end leaves the writer free to checkpoint the whole log away. A reader that
        // kept a read transaction open would make the log grow for as long as it stays idle.
        let stopped = reads.rows("SELECT a FROM t", &[], |_| {
            Err::<(), _>(Error::Internal("stop".into()))
        });
        assert!(stopped.is_err());
        setup.execute("INSERT INTO t VALUES ('w', 4)", []).unwrap();
        let (busy, log, done): (i64, i64, i64) = setup
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((busy, log, done), (0, 0, 0), "a reader held the log");

        // A database locked against readers: the read says so after a short wait (the caller
        // then goes to sqlx's readers), instead of holding the runtime's thread for seconds.
        // (An exclusive lock on a WAL database needs every other connection closed first.)
        reads.lock().clear();
        setup
            .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM t;")
            .unwrap();
        let locked = reads
            .rows("SELECT count(*) FROM t", &[], |r| {
                Ok(r.get::<_, i64>(0).unwrap())
            })
            .unwrap();
        assert_eq!(locked, None);
        setup.execute_batch("ROLLBACK;").unwrap();
        drop(reads);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
