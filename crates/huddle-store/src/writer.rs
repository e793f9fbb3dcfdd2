//! SQLite group commit. With `synchronous=FULL` every `COMMIT` is an fsync, and one fsync per
//! write caps a SQLite file at ~1,000-3,000 writes/s whatever the CPU. So every write of a
//! SQLite store is a *job* sent to one writer, which runs the queued jobs in one
//! `BEGIN IMMEDIATE ... COMMIT` (one fsync for up to `MAX_BATCH` jobs), so that a failing job
//! is undone alone and the others still commit: the first job runs bare (if it fails, the
//! transaction, empty but for it, is rolled back and the next job begins another), each later
//! one inside a `SAVEPOINT`: `SAVEPOINT job` after the first job that succeeded, `RELEASE job;
//! SAVEPOINT job` moves it past each job that succeeded, a failed job's `ROLLBACK TO job`
//! leaves it where it was for the next one, and `COMMIT` commits the savepoint still open with
//! the rest. A job's answer is sent only after `COMMIT` returned OK: an acknowledged write is
//! durable. If the transaction itself fails (`COMMIT`, a savepoint statement, or writing the
//! rows the batch's jobs queued for its end, `BatchEnd`), every job of the batch gets the
//! error, none of them is committed.
//!
//! On a SQLite file the writer is a thread of its own that owns a `rusqlite` connection: the
//! jobs' statements run on it synchronously, prepared once and kept in the connection's cache,
//! and a batch is driven by a plain `block_on` (the jobs' futures are ready at once, `tx.rs`).
//! sqlx ran each statement on its connection's worker thread, so every statement of every job
//! was a hand-off there and back (two thread wake-ups): under load that hand-off, not SQLite,
//! was most of a write's cost. An in-memory database keeps its one connection in sqlx's pool
//! (a second connection would open another, empty database) and its writer is a task running
//! the same batches on it.
//!
//! Jobs run on the writer, not on the caller's task, so a client that disconnects mid-write
//! cannot leave a half-run job inside a shared transaction: once queued, a job runs to its end.
//! PostgreSQL does not use this (`pool::Db::write` gives each job its own transaction; the
//! server groups concurrent commits' fsyncs itself).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use huddle_core::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{Checkpointer, BACKSTOP_PAGES, LOG_LIMIT_BYTES};
use crate::errors::db_err;
use crate::tx::Tx;

/// Most jobs per transaction: bounds how long the first job of a batch waits for its commit.
pub(crate) const MAX_BATCH: usize = 256;
/// Jobs waiting for the writer beyond this make their callers wait to enqueue (backpressure).
const QUEUE: usize = 4096;
/// Prepared statements the writer's own connection keeps (every job kind's statements, the
/// chunked inserts' full and single-row forms).
const STATEMENTS: usize = 256;

/// What a write does with the writer's connection, inside the batch's transaction. Everything
/// it needs is moved in: it may outlive the request that queued it.
pub(crate) trait WriteFn<T>:
    for<'c, 't> FnOnce(&'c mut Tx<'t>) -> BoxFuture<'c, Result<T>> + Send + 'static
{
}
impl<T, F> WriteFn<T> for F where
    F: for<'c, 't> FnOnce(&'c mut Tx<'t>) -> BoxFuture<'c, Result<T>> + Send + 'static
{
}

/// Work the writer does at the end of every batch, inside its transaction, just before
/// `COMMIT`: rows the batch's jobs queued instead of writing them one statement each
/// (`event_rows::EventQueue`), written in a few multi-row statements for the whole batch. Jobs
/// queue only as their last step, so what is queued belongs to jobs that succeeded.
pub(crate) trait BatchEnd: Send + Sync + 'static {
    /// Writes what the batch queued; an error fails the whole batch (nothing commits).
    fn flush<'c>(&'c self, tx: &'c mut Tx<'_>) -> BoxFuture<'c, Result<()>>;
    /// Forgets what a batch that did not commit queued.
    fn discard(&self);
}

/// A queued write with its answer channel, type-erased for the queue.
trait Job: Send {
    /// Runs the write; returns whether it succeeded (its answer is kept until the commit).
    fn run<'c>(&'c mut self, tx: &'c mut Tx<'_>) -> BoxFuture<'c, bool>;
    /// Sends the answer: the job's own result if it failed or the batch committed, else the
    /// batch's error.
    fn answer(self: Box<Self>, batch: &Result<()>);
}

struct Typed<T, F> {
    write: Option<F>,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T: Send + 'static, F: WriteFn<T>> Job for Typed<T, F> {
    fn run<'c>(&'c mut self, tx: &'c mut Tx<'_>) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let out = match self.write.take() {
                // A panicking job must not take the writer (and every later write) down.
                Some(write) => AssertUnwindSafe(write(tx))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(Error::Internal("write job panicked".into()))),
                None => Err(Error::Internal("write job ran twice".into())),
            };
            let ok = out.is_ok();
            self.out = Some(out);
            ok
        })
    }

    fn answer(self: Box<Self>, batch: &Result<()>) {
        let out = match (self.out, batch) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(e)) => Err(same_error(e)),
            (None, Ok(())) => Err(Error::Internal("write job never ran".into())),
        };
        // The caller may have gone away (client disconnected); the write stands regardless.
        let _ = self.reply.send(out);
    }
}

/// The batch's error again, for each job of the batch (`Error` is not `Clone`: it may carry
/// sources in other layers). Only outage and internal errors fail a whole batch.
fn same_error(e: &Error) -> Error {
    match e {
        Error::Unavailable(m) => Error::Unavailable(m.clone()),
        other => Error::Internal(other.to_string()),
    }
}

/// The handle the store keeps; dropping the last one stops the writer once its queue is
/// drained.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on its own connection to the SQLite file at `path` (already
    /// migrated). Jobs' futures run on that thread inside the current runtime's context.
    pub(crate) fn spawn_on_file(path: &Path, end: Option<Arc<dyn BatchEnd>>) -> Result<Writer> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        conn.execute_batch(crate::pool::SQLITE_WRITER_PRAGMAS)
            .map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        // 64 MiB of pages (the default is 2): a bulk write does not read back from the file the
        // index pages it has just changed; savepoint journals stay in memory, not temp files.
        conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;")
            .map_err(db_err)?;
        // Checkpoints run on a thread of their own (`checkpoint.rs`); without it the writer
        // keeps SQLite's default, checkpointing inside its own commits.
        let checkpointer = match Checkpointer::spawn(path) {
            Ok(checkpointer) => {
                conn.execute_batch(&format!(
                    "PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}; \
                     PRAGMA journal_size_limit = {LOG_LIMIT_BYTES};"
                ))
                .map_err(db_err)?;
                Some(checkpointer)
            }
            Err(e) => {
                tracing::warn!(error = %e, "SQLite checkpointer not started");
                None
            }
        };
        let (queue, jobs) = mpsc::channel(QUEUE);
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("huddle-sqlite-writer".into())
            .spawn(move || {
                let _runtime = runtime.enter();
                run_on_thread(conn, jobs, end, checkpointer);
            })
            .map_err(|e| Error::Internal(format!("starting the SQLite writer: {e}")))?;
        Ok(Writer { queue })
    }

    /// Starts the writer as a task on the current runtime, on the pool's (single) connection,
    /// taken for each burst of batches and given back after, so the migrations and the few
    /// single-statement writes that use the pool directly interleave between them.
    pub(crate) fn spawn_on_pool(pool: AnyPool, end: Option<Arc<dyn BatchEnd>>) -> Writer {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run_on_pool(pool, jobs, end));
        Writer { queue }
    }

    /// Queues a write and waits for its committed answer.
    pub(crate) async fn write<T: Send + 'static>(&self, write: impl WriteFn<T>) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Typed {
            write: Some(write),
            out: None,
            reply,
        });
        self.queue.send(job).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Error::Unavailable("the database writer has stopped".into())
}

fn run_on_thread(
    mut conn: rusqlite::Connection,
    mut jobs: mpsc::Receiver<Box<dyn Job>>,
    end: Option<Arc<dyn BatchEnd>>,
    checkpointer: Option<Checkpointer>,
) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        let mut tx = Tx::Sqlite(&mut conn);
        let result =
            futures::executor::block_on(run_batch(&mut tx, &mut batch, &mut jobs, end.as_deref()));
        if let (Ok(()), Some(checkpointer)) = (&result, &checkpointer) {
            checkpointer.committed();
        }
        finish(result, batch, &jobs, end.as_deref());
    }
}

async fn run_on_pool(
    pool: AnyPool,
    mut jobs: mpsc::Receiver<Box<dyn Job>>,
    end: Option<Arc<dyn BatchEnd>>,
) {
    // The connection stays with the writer from batch to batch while jobs keep coming, and
    // goes back to the pool once the queue is empty: sqlx tests a connection it takes back
    // (a round trip to its worker thread), which under load would be one more hand-off per
    // batch for nothing; between bursts the pool has it, for what uses it directly.
    let mut held: Option<PoolConnection<Any>> = None;
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        let conn = match held.take() {
            Some(conn) => Ok(conn),
            None => pool.acquire().await.map_err(db_err),
        };
        let result = match conn {
            Ok(mut conn) => {
                let mut tx = Tx::Sqlx(&mut conn);
                let result = run_batch(&mut tx, &mut batch, &mut jobs, end.as_deref()).await;
                // After a failed batch the pool's test decides whether the connection is
                // still good.
                if result.is_ok() && !jobs.is_empty() {
                    held = Some(conn);
                }
                result
            }
            Err(e) => Err(e),
        };
        finish(result, batch, &jobs, end.as_deref());
    }
}

/// Figures for /metrics (no-ops when no recorder is installed): the backlog left behind the
/// batch, its size, and whether it committed; then every job's answer.
fn finish(
    result: Result<()>,
    batch: Vec<Box<dyn Job>>,
    jobs: &mpsc::Receiver<Box<dyn Job>>,
    end: Option<&dyn BatchEnd>,
) {
    metrics::gauge!("huddle_sqlite_writer_queue_depth").set(jobs.len() as f64);
    metrics::histogram!("huddle_sqlite_writer_batch_jobs").record(batch.len() as f64);
    if let Err(e) = &result {
        metrics::counter!("huddle_sqlite_writer_failed_batches_total").increment(1);
        tracing::warn!(error = %e, jobs = batch.len(), "write batch failed");
        if let Some(end) = end {
            end.discard();
        }
    } else {
        metrics::counter!("huddle_sqlite_writer_commits_total").increment(1);
    }
    for job in batch {
        job.answer(&result);
    }
}

/// Runs `batch[0]` and whatever else is queued (up to `MAX_BATCH`) in one transaction. `Err`
/// means the transaction did not commit.
async fn run_batch(
    tx: &mut Tx<'_>,
    batch: &mut Vec<Box<dyn Job>>,
    jobs: &mut mpsc::Receiver<Box<dyn Job>>,
    end: Option<&dyn BatchEnd>,
) -> Result<()> {
    // Where the transaction stands before the next job.
    #[derive(PartialEq)]
    enum At {
        /// No transaction: the one before held only a failed job and was rolled back.
        Closed,
        /// A transaction with nothing in it yet: the job runs bare, and if it fails the whole
        /// transaction is rolled back. A savepoint would cost more: while one is open SQLite
        /// copies every page a statement changes into the savepoint's journal first (for a
        /// 10,000-user invite, alone in its batch, that is most of the file's pages it writes).
        Empty,
        /// The savepoint `job` is open at the end of the jobs that succeeded so far.
        Saved,
    }
    let mut at = At::Closed;
    let mut next = 0;
    loop {
        if at == At::Closed {
            // IMMEDIATE: the write lock up front, so no job can fail half-way on a
            // read-to-write upgrade (another process, the CLI, may hold it for a moment:
            // busy_timeout waits).
            tx.script("BEGIN IMMEDIATE").await?;
            at = At::Empty;
        }
        let ok = batch[next].run(tx).await;
        let undone = match (ok, &at) {
            (true, _) => Ok(()),
            (false, At::Saved) => tx.script("ROLLBACK TO job").await,
            (false, _) => {
                at = At::Closed;
                tx.script("ROLLBACK").await
            }
        };
        if let Err(e) = undone {
            tx.rollback().await;
            return Err(e);
        }
        next += 1;
        if next == MAX_BATCH {
            break;
        }
        // Jobs queued while this batch ran join it: the busier the writer, the bigger the
        // batches, the fewer fsyncs per write.
        let Ok(job) = jobs.try_recv() else {
            break;
        };
        batch.push(job);
        // A succeeded job's rows stay: the savepoint opens (or moves) past them; a rolled-back
        // one left it where it was.
        let saved = match (ok, &at) {
            (true, At::Empty) => tx.script("SAVEPOINT job").await,
            (true, At::Saved) => tx.script("RELEASE job; SAVEPOINT job").await,
            _ => Ok(()),
        };
        if let Err(e) = saved {
            tx.rollback().await;
            return Err(e);
        }
        if ok {
            at = At::Saved;
        }
    }
    if at == At::Closed {
        // Every job failed on its own and was rolled back: nothing to commit.
        return Ok(());
    }
    if let Some(end) = end {
        if let Err(e) = end.flush(tx).await {
            tx.rollback().await;
            return Err(e);
        }
    }
    if let Err(e) = tx.script("COMMIT").await {
        tx.rollback().await;
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
