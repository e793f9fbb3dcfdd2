//! SQLite group commit. With `synchronous=FULL` every `COMMIT` is an fsync, and one fsync per
//! write caps a SQLite file at ~1,000-3,000 writes/s whatever the CPU. So every write of a
//! SQLite store is a *job* sent to one writer task, which runs the queued jobs in one
//! `BEGIN IMMEDIATE ... COMMIT` (one fsync for up to `MAX_BATCH` jobs), each job inside its own
//! `SAVEPOINT` so that a failing job is undone alone (`ROLLBACK TO`) and the others still
//! commit. Every statement is a round trip to sqlx's SQLite worker thread (two thread wake-ups),
//! so the savepoint statements ride together: `BEGIN IMMEDIATE; SAVEPOINT job` opens a batch,
//! `RELEASE job; SAVEPOINT job` moves the savepoint past a job that succeeded, a failed job's
//! `ROLLBACK TO job` leaves the savepoint where it was for the next one, and `COMMIT` commits
//! the savepoint still open with the rest: one writer statement per job instead of two. A job's answer is sent only after `COMMIT` returned OK: an acknowledged write
//! is as durable as before. If the transaction itself fails (`COMMIT`, a savepoint statement,
//! or writing the rows the batch's jobs queued for its end, `BatchEnd`), every job of the batch
//! gets the error, none of them is committed.
//!
//! Jobs run on the writer task, not on the caller's, so a client that disconnects mid-write
//! cannot leave a half-run job inside a shared transaction: once queued, a job runs to its end.
//! PostgreSQL does not use this (`pool::Db::write` gives each job its own transaction; the
//! server groups concurrent commits' fsyncs itself).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use huddle_core::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::errors::db_err;

/// Most jobs per transaction: bounds how long the first job of a batch waits for its commit.
pub(crate) const MAX_BATCH: usize = 256;
/// Jobs waiting for the writer beyond this make their callers wait to enqueue (backpressure).
const QUEUE: usize = 4096;

/// What a write does with the writer's connection, inside the batch's transaction. Everything
/// it needs is moved in: it may outlive the request that queued it.
pub(crate) trait WriteFn<T>:
    for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static
{
}
impl<T, F> WriteFn<T> for F where
    F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T>> + Send + 'static
{
}

/// Work the writer does at the end of every batch, inside its transaction, just before
/// `COMMIT`: rows the batch's jobs queued instead of writing them one statement each
/// (`event_rows::EventQueue`), written in a few multi-row statements for the whole batch. Jobs
/// queue only as their last step, so what is queued belongs to jobs that succeeded.
pub(crate) trait BatchEnd: Send + Sync + 'static {
    /// Writes what the batch queued; an error fails the whole batch (nothing commits).
    fn flush<'c>(&'c self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Result<()>>;
    /// Forgets what a batch that did not commit queued.
    fn discard(&self);
}

/// A queued write with its answer channel, type-erased for the queue.
trait Job: Send {
    /// Runs the write; returns whether it succeeded (its answer is kept until the commit).
    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, bool>;
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
    fn run<'c>(&'c mut self, conn: &'c mut AnyConnection) -> BoxFuture<'c, bool> {
        Box::pin(async move {
            let out = match self.write.take() {
                // A panicking job must not take the writer (and every later write) down.
                Some(write) => AssertUnwindSafe(write(conn))
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

/// The handle the store keeps; dropping the last one stops the writer task once its queue is
/// drained.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer task on the current runtime. It takes the pool's (single) connection
    /// for each batch and gives it back after, so the migrations and the few single-statement
    /// writes that use the pool directly interleave between batches.
    pub(crate) fn spawn(pool: AnyPool, end: Option<Arc<dyn BatchEnd>>) -> Writer {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, jobs, end));
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

async fn run(
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
                let result = run_batch(&mut conn, &mut batch, &mut jobs, end.as_deref()).await;
                // After a failed batch the pool's test decides whether the connection is
                // still good.
                if result.is_ok() && !jobs.is_empty() {
                    held = Some(conn);
                }
                result
            }
            Err(e) => Err(e),
        };
        // Figures for /metrics (no-ops when no recorder is installed): the backlog left behind
        // this batch, its size, and whether it committed.
        metrics::gauge!("huddle_sqlite_writer_queue_depth").set(jobs.len() as f64);
        metrics::histogram!("huddle_sqlite_writer_batch_jobs").record(batch.len() as f64);
        if let Err(e) = &result {
            metrics::counter!("huddle_sqlite_writer_failed_batches_total").increment(1);
            tracing::warn!(error = %e, jobs = batch.len(), "write batch failed");
            if let Some(end) = &end {
                end.discard();
            }
        } else {
            metrics::counter!("huddle_sqlite_writer_commits_total").increment(1);
        }
        for job in batch {
            job.answer(&result);
        }
    }
}

/// Runs `batch[0]` and whatever else is queued (up to `MAX_BATCH`) in one transaction. `Err`
/// means the transaction did not commit.
async fn run_batch(
    conn: &mut AnyConnection,
    batch: &mut Vec<Box<dyn Job>>,
    jobs: &mut mpsc::Receiver<Box<dyn Job>>,
    end: Option<&dyn BatchEnd>,
) -> Result<()> {
    // IMMEDIATE: the write lock up front, so no job can fail half-way on a read-to-write
    // upgrade (another process, the CLI, may hold it for a moment: busy_timeout waits).
    cached(conn, "BEGIN IMMEDIATE; SAVEPOINT job").await?;
    let mut next = 0;
    loop {
        // The savepoint `job` is open here, at the end of the jobs that succeeded so far.
        let ok = batch[next].run(conn).await;
        if !ok {
            if let Err(e) = cached(conn, "ROLLBACK TO job").await {
                rollback(conn).await;
                return Err(e);
            }
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
        // A succeeded job's rows stay: the savepoint moves past them (a rolled-back one left
        // it where it was).
        if ok {
            if let Err(e) = cached(conn, "RELEASE job; SAVEPOINT job").await {
                rollback(conn).await;
                return Err(e);
            }
        }
    }
    if let Some(end) = end {
        if let Err(e) = end.flush(conn).await {
            rollback(conn).await;
            return Err(e);
        }
    }
    if let Err(e) = cached(conn, "COMMIT").await {
        rollback(conn).await;
        return Err(e);
    }
    Ok(())
}

/// Runs one of the writer's own statements (or two, in one round trip) through the
/// connection's statement cache: a plain `execute(&str)` is parsed again on every call, and
/// these run for every job (savepoint) and every batch (transaction).
async fn cached(conn: &mut AnyConnection, sql: &'static str) -> Result<()> {
    sqlx::query(sql)
        .persistent(true)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Ends a failed batch's transaction, if SQLite has not ended it already (it rolls back by
/// itself on some I/O errors, and then `ROLLBACK` fails harmlessly).
async fn rollback(conn: &mut AnyConnection) {
    if let Err(e) = conn.execute("ROLLBACK").await {
        tracing::debug!(error = %e, "rollback after a failed batch");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sqlx::any::AnyPoolOptions;
    use sqlx::Row;

    /// A writer on a fresh file, and a separate reader connection: what the reader sees is
    /// committed.
    async fn setup(dir: &tempfile::TempDir) -> (Writer, AnyPool) {
        sqlx::any::install_default_drivers();
        let url = format!("sqlite:{}/w.db?mode=rwc", dir.path().display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
                        .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .unwrap();
        pool.execute(
            "CREATE TABLE t (v INTEGER PRIMARY KEY); CREATE TABLE p (id INTEGER PRIMARY KEY); \
             CREATE TABLE c (pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .await
        .unwrap();
        let reader = AnyPoolOptions::new().connect(&url).await.unwrap();
        (Writer::spawn(pool, None), reader)
    }

    async fn values(reader: &AnyPool) -> Vec<i64> {
        sqlx::query("SELECT v FROM t ORDER BY v")
            .fetch_all(reader)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<i64, _>(0usize).unwrap())
            .collect()
    }

    /// Inserts `v` into `t`, then fails if `fail`: the insert must be undone alone.
    fn insert(v: i64, fail: bool) -> impl WriteFn<i64> {
        move |conn| inserting(conn, v, fail)
    }

    fn inserting(conn: &mut AnyConnection, v: i64, fail: bool) -> BoxFuture<'_, Result<i64>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO t (v) VALUES ($1)")
                .bind(v)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            if fail {
                return Err(Error::invalid("test-failure", "job failed"));
            }
            Ok(v)
        })
    }

    /// A row whose foreign key is only checked at COMMIT.
    fn dangling(conn: &mut AnyConnection) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO c (pid) VALUES (42)")
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn panics(_: &mut AnyConnection) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move { panic!("job bug") })
    }

    /// Jobs queued together run as one batch (the writer task only runs once they are all
    /// queued, on this single-threaded runtime); the failing ones are rolled back to their
    /// savepoints and the others commit.
    #[tokio::test(flavor = "current_thread")]
    async fn a_failing_job_leaves_the_rest_of_its_batch_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = setup(&dir).await;
        let answers =
            futures::future::join_all((1..=10).map(|v| writer.write(insert(v, v % 3 == 0)))).await;
        for (v, answer) in (1..=10).zip(answers) {
            match answer {
                Ok(got) => assert!(v % 3 != 0 && got == v),
                Err(Error::Invalid(f)) => assert!(v % 3 == 0 && f.code == "test-failure"),
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(values(&reader).await, vec![1, 2, 4, 5, 7, 8, 10]);
        // The same key again: the unique violation fails that job only.
        let (dup, fresh) = tokio::join!(
            writer.write(insert(1, false)),
            writer.write(insert(11, false))
        );
        assert!(dup.is_err());
        assert_eq!(fresh.unwrap(), 11);
        assert_eq!(values(&reader).await, vec![1, 2, 4, 5, 7, 8, 10, 11]);
        // The batch's last job fails, and its first: the savepoint each rolls back to is the
        // one the jobs before it left, and what they wrote commits.
        let (first, ok, last) = tokio::join!(
            writer.write(insert(20, true)),
            writer.write(insert(21, false)),
            writer.write(insert(22, true))
        );
        assert!(first.is_err() && last.is_err());
        assert_eq!(ok.unwrap(), 21);
        assert_eq!(values(&reader).await, vec![1, 2, 4, 5, 7, 8, 10, 11, 21]);
    }

    /// Answers come only after COMMIT: when COMMIT fails (here a deferred foreign key, checked
    /// at commit), every job of the batch gets the error and none of its writes is kept.
    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_commit_fails_every_job_of_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = setup(&dir).await;
        let (a, b, c) = tokio::join!(
            writer.write(insert(1, false)),
            writer.write(dangling),
            writer.write(insert(2, false)),
        );
        assert!(a.is_err() && b.is_err() && c.is_err(), "{a:?} {b:?} {c:?}");
        assert_eq!(values(&reader).await, Vec::<i64>::new());
        // The writer carries on with the next batch.
        assert_eq!(writer.write(insert(3, false)).await.unwrap(), 3);
        assert_eq!(values(&reader).await, vec![3]);
    }

    /// Inserts `v` into `t` at the end of each batch, or fails there.
    struct End {
        v: i64,
        fail: std::sync::atomic::AtomicBool,
        discarded: std::sync::atomic::AtomicUsize,
    }

    impl BatchEnd for End {
        fn flush<'c>(&'c self, conn: &'c mut AnyConnection) -> BoxFuture<'c, Result<()>> {
            let fail = self.fail.load(std::sync::atomic::Ordering::SeqCst);
            inserting(conn, self.v, fail).map(|r| r.map(|_| ())).boxed()
        }
        fn discard(&self) {
            self.discarded
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// The batch end runs inside the batch's transaction: its rows commit with the jobs', and
    /// when it fails every job of the batch fails with it and nothing is kept.
    #[tokio::test(flavor = "current_thread")]
    async fn the_batch_end_commits_or_fails_with_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (plain, reader) = setup(&dir).await;
        drop(plain);
        sqlx::query("DELETE FROM t").execute(&reader).await.unwrap();
        let end = Arc::new(End {
            v: 100,
            fail: true.into(),
            discarded: 0.into(),
        });
        let url = format!("sqlite:{}/w.db", dir.path().display());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let writer = Writer::spawn(pool, Some(end.clone()));
        let (a, b) = tokio::join!(
            writer.write(insert(1, false)),
            writer.write(insert(2, false))
        );
        assert!(a.is_err() && b.is_err(), "{a:?} {b:?}");
        assert_eq!(values(&reader).await, Vec::<i64>::new());
        assert_eq!(end.discarded.load(std::sync::atomic::Ordering::SeqCst), 1);
        end.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(writer.write(insert(3, false)).await.unwrap(), 3);
        assert_eq!(values(&reader).await, vec![3, 100]);
    }

    /// A panicking job is that job's error, not the writer's end.
    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_job_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = setup(&dir).await;
        let (a, b) = tokio::join!(writer.write(insert(1, false)), writer.write(panics));
        assert_eq!(a.unwrap(), 1);
        assert!(matches!(b, Err(Error::Internal(_))));
        assert_eq!(values(&reader).await, vec![1]);
    }
}
