//! The writer's batches, run on both writers: the thread with its own connection and the task
//! on the pool's.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::tx;
use sqlx::any::AnyPoolOptions;
use sqlx::{Executor, Row};

/// The two writers: the thread with its own connection to the file, and the task on the
/// pool's connection.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Thread,
    Pool,
}
const KINDS: [Kind; 2] = [Kind::Thread, Kind::Pool];

/// A writer of `kind` on a fresh file (with `end` at each batch's end), and a separate
/// reader connection: what the reader sees is committed.
async fn setup(
    dir: &tempfile::TempDir,
    kind: Kind,
    end: Option<Arc<dyn BatchEnd>>,
) -> (Writer, AnyPool) {
    sqlx::any::install_default_drivers();
    let path = dir.path().join(format!("{kind:?}.db"));
    let url = format!("sqlite:{}?mode=rwc", path.display());
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
    let writer = match kind {
        Kind::Thread => Writer::spawn_on_file(&path, end).unwrap(),
        Kind::Pool => Writer::spawn_on_pool(pool, end),
    };
    (writer, reader)
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
    move |tx| inserting(tx, v, fail)
}

fn inserting<'c>(tx: &'c mut Tx<'_>, v: i64, fail: bool) -> BoxFuture<'c, Result<i64>> {
    Box::pin(async move {
        tx::query("INSERT INTO t (v) VALUES ($1)")
            .bind(v)
            .execute(tx)
            .await
            .map_err(db_err)?;
        if fail {
            return Err(Error::invalid("test-failure", "job failed"));
        }
        Ok(v)
    })
}

/// A row whose foreign key is only checked at COMMIT.
fn dangling<'c>(tx: &'c mut Tx<'_>) -> BoxFuture<'c, Result<()>> {
    Box::pin(async move {
        tx::query("INSERT INTO c (pid) VALUES (42)")
            .execute(tx)
            .await
            .map_err(db_err)?;
        Ok(())
    })
}

fn panics<'c>(_: &'c mut Tx<'_>) -> BoxFuture<'c, Result<()>> {
    Box::pin(async move { panic!("job bug") })
}

/// A job that holds the writer until `open` fires: the jobs queued meanwhile make one
/// batch with it, whichever writer runs them (the thread would otherwise start on the
/// first job before the test has queued the rest).
fn gate(open: oneshot::Receiver<()>) -> impl WriteFn<()> {
    move |_tx| {
        Box::pin(async move {
            let _ = open.await;
            Ok(())
        })
    }
}

/// `insert(v, fail)` once `open` fires: the first job of a batch that writes, with the
/// batch's other jobs queued behind it.
fn gated_insert(open: oneshot::Receiver<()>, v: i64, fail: bool) -> impl WriteFn<i64> {
    move |tx| {
        Box::pin(async move {
            let _ = open.await;
            inserting(tx, v, fail).await
        })
    }
}

/// Opens the gate once every other future of the `join!` has queued its job.
async fn opening(open: oneshot::Sender<()>) {
    tokio::task::yield_now().await;
    let _ = open.send(());
}

/// Jobs queued together run as one batch; the failing ones are rolled back to their
/// savepoints and the others commit.
#[tokio::test(flavor = "current_thread")]
async fn a_failing_job_leaves_the_rest_of_its_batch_committed() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = setup(&dir, kind, None).await;
        let (open, gated) = oneshot::channel();
        let (_, answers, ()) = tokio::join!(
            writer.write(gate(gated)),
            futures::future::join_all((1..=10).map(|v| writer.write(insert(v, v % 3 == 0)))),
            opening(open)
        );
        for (v, answer) in (1..=10).zip(answers) {
            match answer {
                Ok(got) => assert!(v % 3 != 0 && got == v),
                Err(Error::Invalid(f)) => assert!(v % 3 == 0 && f.code == "test-failure"),
                Err(e) => panic!("{kind:?}: unexpected {e:?}"),
            }
        }
        assert_eq!(values(&reader).await, vec![1, 2, 4, 5, 7, 8, 10]);
        // The same key again: the unique violation fails that job only.
        let (open, gated) = oneshot::channel();
        let (_, dup, fresh, ()) = tokio::join!(
            writer.write(gate(gated)),
            writer.write(insert(1, false)),
            writer.write(insert(11, false)),
            opening(open)
        );
        assert!(dup.is_err());
        assert_eq!(fresh.unwrap(), 11);
        assert_eq!(values(&reader).await, vec![1, 2, 4, 5, 7, 8, 10, 11]);
        // The batch's last job fails, and its first: the savepoint each rolls back to is
        // the one the jobs before it left, and what they wrote commits.
        let (first, ok, last) = tokio::join!(
            writer.write(insert(20, true)),
            writer.write(insert(21, false)),
            writer.write(insert(22, true))
        );
        assert!(first.is_err() && last.is_err());
        assert_eq!(ok.unwrap(), 21);
        assert_eq!(values(&reader).await, vec![1, 2, 4, 5, 7, 8, 10, 11, 21]);
        // A batch's first job runs without a savepoint: when it fails after writing, the
        // transaction holding only its rows is rolled back and the next job begins another,
        // bare again if it is the first to succeed; the jobs after it keep their savepoints.
        let (open, gated) = oneshot::channel();
        let (first, second, third, fourth, fifth, ()) = tokio::join!(
            writer.write(gated_insert(gated, 30, true)),
            writer.write(insert(31, true)),
            writer.write(insert(32, false)),
            writer.write(insert(33, true)),
            writer.write(insert(34, false)),
            opening(open)
        );
        assert!(
            first.is_err() && second.is_err() && fourth.is_err(),
            "{kind:?}"
        );
        assert_eq!((third.unwrap(), fifth.unwrap()), (32, 34));
        let mut want = vec![1, 2, 4, 5, 7, 8, 10, 11, 21, 32, 34];
        assert_eq!(values(&reader).await, want);
        // A batch whose every job fails commits nothing and leaves the writer working.
        let (open, gated) = oneshot::channel();
        let (first, second, ()) = tokio::join!(
            writer.write(gated_insert(gated, 40, true)),
            writer.write(insert(41, true)),
            opening(open)
        );
        assert!(first.is_err() && second.is_err());
        assert_eq!(writer.write(insert(42, false)).await.unwrap(), 42);
        want.push(42);
        assert_eq!(values(&reader).await, want);
    }
}

/// Answers come only after COMMIT: when COMMIT fails (here a deferred foreign key, checked
/// at commit), every job of the batch gets the error and none of its writes is kept.
#[tokio::test(flavor = "current_thread")]
async fn a_failed_commit_fails_every_job_of_the_batch() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = setup(&dir, kind, None).await;
        let (open, gated) = oneshot::channel();
        let (g, a, b, c, ()) = tokio::join!(
            writer.write(gate(gated)),
            writer.write(insert(1, false)),
            writer.write(dangling),
            writer.write(insert(2, false)),
            opening(open)
        );
        assert!(
            g.is_err() && a.is_err() && b.is_err() && c.is_err(),
            "{kind:?}: {a:?} {b:?} {c:?}"
        );
        assert_eq!(values(&reader).await, Vec::<i64>::new());
        // The writer carries on with the next batch.
        assert_eq!(writer.write(insert(3, false)).await.unwrap(), 3);
        assert_eq!(values(&reader).await, vec![3]);
    }
}

/// Inserts `v` into `t` at the end of each batch, or fails there.
struct End {
    v: i64,
    fail: std::sync::atomic::AtomicBool,
    discarded: std::sync::atomic::AtomicUsize,
}

impl BatchEnd for End {
    fn flush<'c>(&'c self, tx: &'c mut Tx<'_>) -> BoxFuture<'c, Result<()>> {
        let fail = self.fail.load(std::sync::atomic::Ordering::SeqCst);
        inserting(tx, self.v, fail).map(|r| r.map(|_| ())).boxed()
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
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let end = Arc::new(End {
            v: 100,
            fail: true.into(),
            discarded: 0.into(),
        });
        let (writer, reader) = setup(&dir, kind, Some(end.clone())).await;
        let (open, gated) = oneshot::channel();
        let (_, a, b, ()) = tokio::join!(
            writer.write(gate(gated)),
            writer.write(insert(1, false)),
            writer.write(insert(2, false)),
            opening(open)
        );
        assert!(a.is_err() && b.is_err(), "{kind:?}: {a:?} {b:?}");
        assert_eq!(values(&reader).await, Vec::<i64>::new());
        assert_eq!(end.discarded.load(std::sync::atomic::Ordering::SeqCst), 1);
        end.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(writer.write(insert(3, false)).await.unwrap(), 3);
        assert_eq!(values(&reader).await, vec![3, 100]);
    }
}

/// A panicking job is that job's error, not the writer's end.
#[tokio::test(flavor = "current_thread")]
async fn a_panicking_job_fails_alone() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = setup(&dir, kind, None).await;
        let (a, b) = tokio::join!(writer.write(insert(1, false)), writer.write(panics));
        assert_eq!(a.unwrap(), 1);
        assert!(matches!(b, Err(Error::Internal(_))));
        assert_eq!(values(&reader).await, vec![1]);
        // And the writer goes on.
        assert_eq!(writer.write(insert(2, false)).await.unwrap(), 2);
    }
}

/// Statements bind `$N` by number wherever it stands, rows read back typed, and a unique
/// violation reads as one, on the writer's own connection as on sqlx's.
#[tokio::test(flavor = "current_thread")]
async fn statements_bind_by_number_and_read_back_on_both_connections() {
    for kind in KINDS {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _reader) = setup(&dir, kind, None).await;
        let got = writer
            .write(|tx| {
                Box::pin(async move {
                    let row = tx::query(
                        "INSERT INTO t (v) VALUES ($2 * 10 + $1) RETURNING v, $3 AS s, NULL AS n",
                    )
                    .bind(7)
                    .bind(4)
                    .bind("text")
                    .fetch_one(tx)
                    .await
                    .map_err(db_err)?;
                    use crate::tx::GetRow;
                    let v: i64 = row.try_get(0usize).map_err(db_err)?;
                    let s: String = row.try_get("s").map_err(db_err)?;
                    let n: Option<i64> = row.try_get(2usize).map_err(db_err)?;
                    let dup = tx::query("INSERT INTO t (v) VALUES ($1)")
                        .bind(47)
                        .execute(tx)
                        .await
                        .err()
                        .map(|e| crate::errors::is_unique_violation(&e));
                    Ok((v, s, n, dup))
                })
            })
            .await;
        assert_eq!(
            got.unwrap(),
            (47, "text".to_string(), None, Some(true)),
            "{kind:?}"
        );
    }
}
