//! Checkpoints of a SQLite file's write-ahead log, off the writer thread. By default SQLite
//! checkpoints inside the `COMMIT` that takes the log past 1,000 pages: the connection that
//! committed copies the log's pages into the database file and fsyncs it, and on the writer
//! that is time no write job runs (measured under an invite storm: a quarter of the writer's
//! time went to commits that checkpointed). Here the writer only appends to the log and tells
//! this thread after each commit; the thread runs a `PASSIVE` checkpoint on its own connection,
//! which copies what no reader still needs without blocking the writer or the readers. The
//! writer keeps SQLite's own checkpoint as a backstop, at [`BACKSTOP_PAGES`], should this
//! thread fall that far behind (or be gone). Under a steady stream of commits the log never
//! starts over on this thread's checkpoints alone (new pages arrive while it copies); the
//! writer's backstop checkpoint, run between two commits, then finds nearly everything copied
//! already and lets the log start over from its beginning.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use huddle_core::{Error, Result};
use rusqlite::{Connection, OpenFlags};

use crate::errors::db_err;

/// Log pages past which the writer checkpoints by itself (64 MiB of 4 KiB pages).
pub(crate) const BACKSTOP_PAGES: u32 = 16_384;
/// Least time between two checkpoints: a burst of commits makes one checkpoint, not one each.
const EVERY: Duration = Duration::from_millis(20);
/// The log file is cut back to this size when it starts over (`PRAGMA journal_size_limit`, on
/// the writer and here), so one burst does not leave a large file behind.
pub(crate) const LOG_LIMIT_BYTES: u64 = 16 << 20;

/// The writer's side: a nudge after each commit (never waits).
pub(crate) struct Checkpointer {
    nudge: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread on its own connection to the file at `path`; it ends when every
    /// `Checkpointer` is gone (the writer stopped).
    pub(crate) fn spawn(path: &Path) -> Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        conn.execute_batch(&format!(
            "PRAGMA busy_timeout = 5000; PRAGMA journal_size_limit = {LOG_LIMIT_BYTES};"
        ))
        .map_err(db_err)?;
        let (nudge, nudged) = sync_channel(1);
        std::thread::Builder::new()
            .name("huddle-sqlite-checkpoint".into())
            .spawn(move || run(conn, nudged))
            .map_err(|e| Error::Internal(format!("starting the SQLite checkpointer: {e}")))?;
        Ok(Checkpointer { nudge })
    }

    /// After a commit: a checkpoint is due. Nudges that come while one is pending are one.
    pub(crate) fn committed(&self) {
        match self.nudge.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::debug!("the SQLite checkpointer has stopped; the writer checkpoints");
            }
        }
    }
}

fn run(conn: Connection, nudged: Receiver<()>) {
    while nudged.recv().is_ok() {
        // (busy, log pages, pages checkpointed): busy when another checkpoint ran meanwhile.
        let outcome = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        });
        match outcome {
            Ok((_, log, copied)) => {
                metrics::counter!("huddle_sqlite_checkpoints_total").increment(1);
                metrics::gauge!("huddle_sqlite_wal_pages").set(log as f64);
                metrics::gauge!("huddle_sqlite_wal_pages_checkpointed").set(copied as f64);
            }
            Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed"),
        }
        std::thread::sleep(EVERY);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Writes on a connection that never checkpoints by itself stay in the log until the
    /// checkpointer, nudged, copies them into the database file.
    #[test]
    fn a_nudge_copies_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        // The table is in the database file, the log empty: only the marker will be new.
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (v TEXT); PRAGMA wal_checkpoint(TRUNCATE);",
            )
            .unwrap();
        let checkpointer = Checkpointer::spawn(&path).unwrap();
        let marker = "marker-5f1c2a7e";
        writer
            .execute("INSERT INTO t (v) VALUES (?1)", [marker])
            .unwrap();
        let in_file = || {
            let bytes = std::fs::read(&path).unwrap();
            bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
        };
        assert!(!in_file(), "the write is in the log only");
        checkpointer.committed();
        wait_for(in_file);
    }

    fn wait_for(mut ok: impl FnMut() -> bool) {
        for _ in 0..500 {
            if ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("not within 5 s");
    }
}
