//! Turning driver errors (sqlx's and `rusqlite`'s) into the domain's `Error`: outages become `Unavailable` (the client may
//! retry), unique violations become the `Conflict` Rocket.Chat answers for that field, anything
//! else is `Internal`. The one place that reads driver error codes.

use huddle_core::{Error, Failure, Room, User};
use sqlx::error::ErrorKind;

/// A failure of either driver: sqlx's (PostgreSQL, SQLite reads), `rusqlite`'s (SQLite's
/// writer thread, `tx.rs`), or a row that did not decode.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlx(sqlx::Error),
    Sqlite(rusqlite::Error),
    Decode(Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> DbError {
        DbError::Sqlx(e)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        DbError::Sqlite(e)
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Sqlx(e) => e.fmt(f),
            DbError::Sqlite(e) => e.fmt(f),
            DbError::Decode(e) => e.fmt(f),
        }
    }
}

/// The general mapping, for errors no caller expects.
pub(crate) fn db_err(e: impl Into<DbError>) -> Error {
    let e = e.into();
    if is_outage(&e) {
        tracing::warn!(error = %e, "database unavailable");
        return Error::Unavailable(e.to_string());
    }
    match e {
        DbError::Decode(e) => e,
        e => Error::Internal(format!("database: {e}")),
    }
}

pub(crate) fn migrate_err(e: sqlx::migrate::MigrateError) -> Error {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => db_err(e),
        other => Error::Internal(format!("migration: {other}")),
    }
}

/// SQLite's result code of a failed statement (extended: the low byte is the primary code).
fn sqlite_code(e: &DbError) -> Option<i64> {
    match e {
        DbError::Sqlx(sqlx::Error::Database(d)) => d.code().and_then(|c| c.parse::<i64>().ok()),
        DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => Some(f.extended_code.into()),
        _ => None,
    }
}

/// Errors that say "the database cannot be reached or is overloaded right now", as opposed to
/// "this statement is wrong".
fn is_outage(e: &DbError) -> bool {
    // SQLite (extended codes; the low byte is the primary one): SQLITE_BUSY (5) and
    // SQLITE_LOCKED (6) once the busy timeout has run out; and the storage failing under
    // the file, which no retry of the statement by us can fix but the operator can:
    // SQLITE_IOERR (10, a failed read, write or fsync), SQLITE_FULL (13, disk full),
    // SQLITE_CANTOPEN (14, the file or its -wal/-shm cannot be opened), SQLITE_PROTOCOL
    // (15, a WAL lock race that persisted). A full disk is an outage like the others
    // (503, not 507): clients, proxies and SDKs retry a 503, and the log names the cause.
    // SQLITE_READONLY is left out: a write on a reader connection is a bug, not an outage.
    if let Some(n) = sqlite_code(e) {
        return matches!(n & 0xff, 5 | 6 | 10 | 13 | 14 | 15);
    }
    match e {
        DbError::Sqlx(
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed,
        ) => true,
        DbError::Sqlx(sqlx::Error::Database(d)) => {
            let code = d.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08...), too many connections (53300), shutdown
            // (57P01..57P03), and the retryable transaction failures (serialization, deadlock).
            code.starts_with("08")
                || code == "53300"
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01"
        }
        _ => false,
    }
}

fn kind(e: &DbError) -> Option<ErrorKind> {
    match e {
        DbError::Sqlx(sqlx::Error::Database(d)) => Some(d.kind()),
        // SQLITE_CONSTRAINT_PRIMARYKEY and _UNIQUE are unique violations (as sqlx reads them),
        // SQLITE_CONSTRAINT_FOREIGNKEY a foreign key's.
        DbError::Sqlite(_) => match sqlite_code(e) {
            Some(1555 | 2067) => Some(ErrorKind::UniqueViolation),
            Some(787) => Some(ErrorKind::ForeignKeyViolation),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) fn is_unique_violation(e: &DbError) -> bool {
    kind(e) == Some(ErrorKind::UniqueViolation)
}

pub(crate) fn is_foreign_key_violation(e: &DbError) -> bool {
    kind(e) == Some(ErrorKind::ForeignKeyViolation)
}

/// What a unique violation was about: SQLite names `table.column` in its message, PostgreSQL
/// names the index or constraint.
fn violated(e: &DbError) -> String {
    match e {
        DbError::Sqlx(sqlx::Error::Database(d)) => {
            format!("{} {}", d.message(), d.constraint().unwrap_or_default())
        }
        DbError::Sqlite(rusqlite::Error::SqliteFailure(_, message)) => {
            message.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// Writing a user: a taken username or email is `error-field-unavailable`.
pub(crate) fn user_err(e: impl Into<DbError>, user: &User) -> Error {
    let e = e.into();
    if is_unique_violation(&e) {
        let what = violated(&e);
        let value = if what.contains("email") {
            user.email.clone()
        } else {
            user.username.clone()
        };
        let value = value.unwrap_or_else(|| user.id.clone());
        return Error::Conflict(Failure::new(
            "error-field-unavailable",
            format!("{value} is already in use :("),
        ));
    }
    db_err(e)
}

/// Writing a room: a taken name (or id, for direct messages created twice at once) is
/// `error-duplicate-channel-name`.
pub(crate) fn room_err(e: impl Into<DbError>, room: &Room) -> Error {
    let e = e.into();
    if is_unique_violation(&e) {
        let name = room.name.as_deref().unwrap_or(&room.id);
        return duplicate_room(name);
    }
    db_err(e)
}

pub(crate) fn duplicate_room(name: &str) -> Error {
    Error::Conflict(Failure::new(
        "error-duplicate-channel-name",
        format!("A channel with name '{name}' exists"),
    ))
}

pub(crate) fn room_not_found() -> Error {
    Error::not_found(
        "error-room-not-found",
        "The required \"roomId\" or \"roomName\" param provided does not match any room",
    )
}

pub(crate) fn user_not_found() -> Error {
    Error::invalid(
        "error-invalid-user",
        "The required \"userId\" or \"username\" param provided does not match any users",
    )
}

/// A membership or token written for a user or room that vanished meanwhile.
pub(crate) fn reference_err(e: impl Into<DbError>) -> Error {
    let e = e.into();
    if is_foreign_key_violation(&e) {
        return Error::NotFound(Failure::new(
            "error-not-found",
            "The user or room no longer exists",
        ));
    }
    db_err(e)
}

/// Writing a message: a second message with the same idempotency key in the same room is a
/// `Conflict` (the service then answers with the first one); otherwise as `reference_err`.
pub(crate) fn message_err(e: impl Into<DbError>) -> Error {
    let e = e.into();
    if is_unique_violation(&e) && violated(&e).contains("idempotency_key") {
        return Error::Conflict(Failure::new(
            "IDEMPOTENCY_KEY_USED",
            "A message with this idempotency key was already sent to this conversation",
        ));
    }
    reference_err(e)
}

/// A paging cursor that names no row this listing knows.
pub(crate) fn invalid_cursor(what: &str, id: &str) -> Error {
    Error::Invalid(Failure::new(
        "INVALID_CURSOR",
        format!("startingAfter: no {what} with id {id}"),
    ))
}
