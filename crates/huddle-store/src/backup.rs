//! Backup and restore of a SQLite database (`huddle backup`, `huddle restore`). PostgreSQL has
//! its own tools (`pg_dump`, `pg_restore`), which know its types, roles and large objects far
//! better than a copy made here could; both functions refuse it with a message saying so.
//!
//! A backup is `VACUUM INTO` a new file: it reads one snapshot (a read transaction), so the copy
//! holds exactly the commits made before it began, while the server goes on writing beside it
//! (WAL: readers never block the writer). The copy is written under a temporary name in the
//! target's directory, checked (`PRAGMA integrity_check`), flushed to disk and only then linked
//! to its name, so an interrupted backup never leaves a file that looks like a finished one, and
//! an existing file is never overwritten.
//!
//! A restore checks the copy, makes a fresh copy of it beside the database, checks that one
//! too, and renames it over the database. Replacing the file under a running server would let
//! it go on writing into the unlinked old file (everything it acknowledged afterwards lost), so
//! an existing database is replaced only with `force`, and never while another connection has
//! it open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use huddle_core::{Error, Failure, Result};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use crate::pool::{parse_url, Target};

/// What a finished copy holds: its size and the rows of each table (the migrations' bookkeeping
/// table aside), by table name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    pub bytes: u64,
    pub tables: Vec<(String, u64)>,
}

impl CopySummary {
    /// Rows in every table together.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }

    /// `N rows (table n, ...)`, biggest tables first: the line the CLI prints.
    pub fn describe(&self) -> String {
        let mut tables = self.tables.clone();
        tables.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let list: Vec<String> = tables
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        format!(
            "{} bytes, {} rows ({})",
            self.bytes,
            self.rows(),
            list.join(", ")
        )
    }
}

#[derive(Clone, Copy)]
enum Op {
    Backup,
    Restore,
}

/// Writes a consistent copy of the SQLite database `url` names to `out`, which must not exist.
/// Safe beside a running server.
pub async fn backup(url: &str, out: &Path) -> Result<CopySummary> {
    let source = sqlite_file(url, Op::Backup)?;
    if !source.is_file() {
        return Err(invalid(format!(
            "there is no database at {}",
            source.display()
        )));
    }
    refuse_existing(out)?;
    let partial = partial_path(out)?;
    let result = async {
        let mut conn = open(&source, false).await?;
        vacuum_into(&mut conn, &partial).await?;
        close(conn).await;
        let summary = check_copy(&partial).await?;
        sync_file(&partial)?;
        link_new(&partial, out)?;
        sync_dir(out)?;
        Ok(summary)
    }
    .await;
    remove_if_present(&partial);
    result
}

/// Replaces the SQLite database `url` names with the copy at `from`, after checking the copy.
/// An existing database is replaced only with `force`, and never while it is open elsewhere
/// (a running server): stop the server first.
pub async fn restore(url: &str, from: &Path, force: bool) -> Result<CopySummary> {
    let dest = sqlite_file(url, Op::Restore)?;
    if !from.is_file() {
        return Err(invalid(format!("{} is not a file", from.display())));
    }
    // The copy is checked before anything of the database is touched.
    let mut source = open(from, true).await?;
    integrity_check(&mut source, from).await?;
    let is_huddle = sqlx::query(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut source)
    .await
    .map_err(|e| sql_err(from, e))?
    .try_get::<i64, _>(0)
    .map_err(|e| sql_err(from, e))?;
    if is_huddle == 0 {
        close(source).await;
        return Err(invalid(format!(
            "{} is a SQLite file but not a Huddle database (no migrations table)",
            from.display()
        )));
    }
    let exists = dest.exists();
    if exists && !force {
        close(source).await;
        return Err(Error::Conflict(Failure::plain(format!(
            "{} exists: restoring replaces it and everything written since the backup; \
             stop the server and pass --force to do so",
            dest.display()
        ))));
    }
    create_parent_dir(&dest)?;
    let partial = partial_path(&dest)?;
    let result = async {
        vacuum_into(&mut source, &partial).await?;
        let summary = check_copy(&partial).await?;
        sync_file(&partial)?;
        if exists {
            take_over(&dest).await?;
        }
        // A write-ahead log left beside the old file would be replayed into the new one.
        for side in [wal_path(&dest, "-wal"), wal_path(&dest, "-shm")] {
            std::fs::remove_file(&side)
                .or_else(ignore_missing)
                .map_err(|e| Error::Internal(format!("cannot remove {}: {e}", side.display())))?;
        }
        std::fs::rename(&partial, &dest).map_err(|e| {
            Error::Internal(format!(
                "cannot move the restored copy to {}: {e}",
                dest.display()
            ))
        })?;
        sync_dir(&dest)?;
        Ok(summary)
    }
    .await;
    close(source).await;
    remove_if_present(&partial);
    result
}

/// The file of a SQLite URL; PostgreSQL and in-memory databases are refused with what to use.
fn sqlite_file(url: &str, op: Op) -> Result<PathBuf> {
    match (parse_url(url)?, op) {
        (Target::Postgres { .. }, Op::Backup) => Err(invalid(
            "huddle backup copies SQLite files; for PostgreSQL use pg_dump \
             (e.g. pg_dump --format=custom --file=huddle.dump \"$HUDDLE_DATABASE_URL\")",
        )),
        (Target::Postgres { .. }, Op::Restore) => Err(invalid(
            "huddle restore writes SQLite files; for PostgreSQL use pg_restore \
             (e.g. pg_restore --clean --if-exists --no-owner --dbname=\"$HUDDLE_DATABASE_URL\" huddle.dump)",
        )),
        (Target::Sqlite { path: Some(path), memory: false, .. }, _) => Ok(PathBuf::from(path)),
        (Target::Sqlite { .. }, _) => Err(invalid(
            "an in-memory database has no file to back up or restore",
        )),
    }
}

async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| sql_err(path, e))
}

async fn close(conn: SqliteConnection) {
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing a backup connection");
    }
}

/// One snapshot of `conn`'s database into the new file `to`.
async fn vacuum_into(conn: &mut SqliteConnection, to: &Path) -> Result<()> {
    let target = to
        .to_str()
        .ok_or_else(|| invalid(format!("{} is not a UTF-8 path", to.display())))?;
    sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(&mut *conn)
        .await
        .map_err(|e| sql_err(to, e))?;
    Ok(())
}

/// `PRAGMA integrity_check` must answer exactly `ok`.
async fn integrity_check(conn: &mut SqliteConnection, path: &Path) -> Result<()> {
    let rows = sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| {
            invalid(format!(
                "{} failed its integrity check: {e}",
                path.display()
            ))
        })?;
    let found: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
    if found != ["ok"] {
        return Err(invalid(format!(
            "{} failed its integrity check: {}",
            path.display(),
            found.join("; ")
        )));
    }
    Ok(())
}

/// Checks a copy and counts what it holds.
async fn check_copy(path: &Path) -> Result<CopySummary> {
    let mut conn = open(path, false).await?;
    let summary = async {
        integrity_check(&mut conn, path).await?;
        let names: Vec<String> = sqlx::query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .map_err(|e| sql_err(path, e))?
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
            let n: i64 = sqlx::query(&sql)
                .fetch_one(&mut conn)
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| sql_err(path, e))?;
            tables.push((name, u64::try_from(n).unwrap_or(0)));
        }
        Ok(tables)
    }
    .await;
    close(conn).await;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(CopySummary {
        bytes,
        tables: summary?,
    })
}

/// Makes sure nothing else has the database open, and leaves it without a write-ahead log:
/// leaving WAL mode needs the only connection, so it fails while a server has the file open.
async fn take_over(dest: &Path) -> Result<()> {
    let in_use = || {
        Error::Conflict(Failure::plain(format!(
            "{} is in use (a running huddle serve?): stop it, then restore",
            dest.display()
        )))
    };
    let mut conn = open(dest, false).await.map_err(|_| in_use())?;
    let mode = sqlx::query("PRAGMA journal_mode = DELETE")
        .fetch_one(&mut conn)
        .await
        .and_then(|r| r.try_get::<String, _>(0));
    close(conn).await;
    match mode {
        Ok(m) if m.eq_ignore_ascii_case("delete") => Ok(()),
        _ => Err(in_use()),
    }
}

fn refuse_existing(out: &Path) -> Result<()> {
    if out.exists() {
        return Err(Error::Conflict(Failure::plain(format!(
            "{} exists: a backup never overwrites a file; choose a new name",
            out.display()
        ))));
    }
    Ok(())
}

/// A hidden name in the same directory (so the final link or rename stays on one filesystem).
fn partial_path(target: &Path) -> Result<PathBuf> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| invalid(format!("{} names no file", target.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Ok(target.with_file_name(format!(".{name}.partial-{}-{nanos}", std::process::id())))
}

/// Gives the finished copy its name, failing if that name was taken meanwhile: a hard link
/// never replaces a file, unlike a rename.
fn link_new(partial: &Path, out: &Path) -> Result<()> {
    match std::fs::hard_link(partial, out) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => refuse_existing(out),
        // A filesystem without hard links: check, then rename (a narrow race, reported above).
        Err(_) => {
            refuse_existing(out)?;
            std::fs::rename(partial, out)
                .map_err(|e| Error::Internal(format!("cannot write {}: {e}", out.display())))
        }
    }
}

fn create_parent_dir(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}

/// SQLite does not flush a `VACUUM INTO` file; a backup that a power cut can empty is none.
fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::Internal(format!("cannot flush {}: {e}", path.display())))
}

/// Flushes the directory entry of a new or renamed file.
fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::Internal(format!("cannot flush {}: {e}", dir.display())))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn wal_path(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn ignore_missing(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

fn remove_if_present(path: &Path) {
    if let Err(e) = std::fs::remove_file(path).or_else(ignore_missing) {
        tracing::warn!(error = %e, path = %path.display(), "removing a partial copy");
    }
}

fn invalid(reason: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::Invalid(Failure::plain(reason))
}

fn sql_err(path: &Path, e: sqlx::Error) -> Error {
    Error::Internal(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn postgres_and_memory_urls_are_refused_with_what_to_use() {
        let out = Path::new("/nonexistent/x.db");
        let e = backup("postgres://u@h/db", out).await.unwrap_err();
        assert!(e.to_string().contains("pg_dump"), "{e}");
        let e = restore("postgresql://u@h/db", out, true).await.unwrap_err();
        assert!(e.to_string().contains("pg_restore"), "{e}");
        let e = backup("sqlite::memory:", out).await.unwrap_err();
        assert!(e.to_string().contains("in-memory"), "{e}");
    }

    #[test]
    fn summaries_list_the_biggest_tables_first() {
        let s = CopySummary {
            bytes: 4096,
            tables: vec![("a".into(), 1), ("b".into(), 5), ("c".into(), 0)],
        };
        assert_eq!(s.rows(), 6);
        assert_eq!(s.describe(), "4096 bytes, 6 rows (b 5, a 1)");
    }

    #[test]
    fn partial_copies_sit_beside_the_target_under_a_hidden_name() {
        let p = partial_path(Path::new("/data/backups/h.db")).unwrap();
        assert_eq!(p.parent(), Some(Path::new("/data/backups")));
        assert!(p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(".h.db.partial-")));
        assert_eq!(
            wal_path(Path::new("/d/h.db"), "-wal"),
            PathBuf::from("/d/h.db-wal")
        );
    }
}
