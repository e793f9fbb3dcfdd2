//! The connection a write job runs on, whichever driver holds it. On a SQLite file the writer
//! thread owns a `rusqlite` connection (`writer.rs`): a job's statements run synchronously on
//! that thread from its statement cache, with no hand-off to another thread per statement. On
//! PostgreSQL (and an in-memory SQLite database, whose one connection sqlx's pool keeps) the
//! job runs on a sqlx connection inside its transaction. The jobs are written once, against
//! [`Query`], which looks like sqlx's runtime query (`query(sql).bind(..).execute(tx)`), with
//! statements written with PostgreSQL's `$N` parameters as before.
//!
//! The futures of the SQLite arm are ready at their first poll (nothing in them waits), which
//! is what lets the writer thread drive a whole batch of jobs with a plain `block_on`.

use std::borrow::Cow;
use std::sync::Arc;

use huddle_core::{Error, Result};
use rusqlite::types::ValueRef;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Column, Row as _};

use crate::errors::DbError;
use crate::rows::RowSource;

/// A write job's connection, inside the transaction (or the savepoint) of its job.
pub(crate) enum Tx<'t> {
    Sqlite(&'t mut rusqlite::Connection),
    Sqlx(&'t mut AnyConnection),
}

impl Tx<'_> {
    /// Runs the writer's own statements (`;`-separated, no parameters), each prepared once: on
    /// sqlx in one round trip to its worker thread, on the writer's SQLite connection one by
    /// one (there is no round trip to save).
    pub(crate) async fn script(&mut self, sql: &'static str) -> Result<()> {
        match self {
            Tx::Sqlite(conn) => {
                for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    conn.prepare_cached(statement)
                        .and_then(|mut s| s.raw_execute())
                        .map_err(crate::errors::db_err)?;
                }
                Ok(())
            }
            Tx::Sqlx(conn) => {
                sqlx::query(sql)
                    .persistent(true)
                    .execute(&mut **conn)
                    .await
                    .map_err(crate::errors::db_err)?;
                Ok(())
            }
        }
    }

    /// Ends a failed batch's transaction, if SQLite has not ended it already (it rolls back by
    /// itself on some I/O errors, and then `ROLLBACK` fails harmlessly).
    pub(crate) async fn rollback(&mut self) {
        let failed = match self {
            Tx::Sqlite(conn) => conn.execute_batch("ROLLBACK").err().map(|e| e.to_string()),
            Tx::Sqlx(conn) => sqlx::Executor::execute(&mut **conn, "ROLLBACK")
                .await
                .err()
                .map(|e| e.to_string()),
        };
        if let Some(error) = failed {
            tracing::debug!(error, "rollback after a failed batch");
        }
    }
}

/// A value bound to a statement's parameter. A `NULL` keeps its type: PostgreSQL infers a
/// parameter's type from the statement, and a text `NULL` where it wants a bigint fails.
#[derive(Debug, Clone)]
pub(crate) enum Value<'q> {
    Int(i64),
    Text(Cow<'q, str>),
    NullInt,
    NullText,
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl<'q> From<&'q str> for Value<'q> {
    fn from(v: &'q str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl<'q> From<&'q String> for Value<'q> {
    fn from(v: &'q String) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}
impl<'q> From<Option<&'q str>> for Value<'q> {
    fn from(v: Option<&'q str>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(Cow::Borrowed(s)))
    }
}
impl From<Option<String>> for Value<'_> {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(Cow::Owned(s)))
    }
}
impl<'q> From<&'q Option<String>> for Value<'q> {
    fn from(v: &'q Option<String>) -> Self {
        v.as_deref().into()
    }
}

impl Value<'_> {
    /// Binds this value to a sqlx query (a read that goes to sqlx's readers).
    pub(crate) fn bind_to<'a>(
        &'a self,
        query: sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>>,
    ) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
        match self {
            Value::Int(n) => query.bind(*n),
            Value::Text(s) => query.bind(s.as_ref()),
            Value::NullInt => query.bind(None::<i64>),
            Value::NullText => query.bind(None::<String>),
        }
    }
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::ToSqlOutput::Borrowed;
        Ok(match self {
            Value::Int(n) => Borrowed(ValueRef::Integer(*n)),
            Value::Text(s) => Borrowed(ValueRef::Text(s.as_bytes())),
            Value::NullInt | Value::NullText => Borrowed(ValueRef::Null),
        })
    }
}

/// A statement and its parameters, run on a [`Tx`].
pub(crate) struct Query<'q> {
    sql: &'q str,
    args: Vec<Value<'q>>,
    persistent: bool,
}

/// A statement with `$N` (or `?`) parameters, bound in order with [`Query::bind`].
pub(crate) fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
        persistent: true,
    }
}

/// What a statement that returns no rows did.
pub(crate) struct Done {
    rows_affected: u64,
}

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

impl<'q> Query<'q> {
    pub(crate) fn bind(mut self, value: impl Into<Value<'q>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Whether the prepared statement is kept in the connection's cache (the default) or
    /// parsed for this run only: a statement whose text changes with its input (a last, shorter
    /// chunk) would only push the ones that repeat out of the cache.
    pub(crate) fn persistent(mut self, keep: bool) -> Self {
        self.persistent = keep;
        self
    }

    pub(crate) async fn execute(self, tx: &mut Tx<'_>) -> std::result::Result<Done, DbError> {
        match tx {
            Tx::Sqlite(conn) => sqlite_execute(conn, &self).map_err(DbError::from),
            Tx::Sqlx(conn) => {
                let done = self.into_sqlx().execute(&mut **conn).await?;
                Ok(Done {
                    rows_affected: done.rows_affected(),
                })
            }
        }
    }

    pub(crate) async fn fetch_all(self, tx: &mut Tx<'_>) -> std::result::Result<Vec<Row>, DbError> {
        match tx {
            Tx::Sqlite(conn) => sqlite_rows(conn, &self, usize::MAX),
            Tx::Sqlx(conn) => {
                let rows = self.into_sqlx().fetch_all(&mut **conn).await?;
                Ok(rows.into_iter().map(Row::Sqlx).collect())
            }
        }
    }

    pub(crate) async fn fetch_optional(
        self,
        tx: &mut Tx<'_>,
    ) -> std::result::Result<Option<Row>, DbError> {
        match tx {
            Tx::Sqlite(conn) => Ok(sqlite_rows(conn, &self, 1)?.into_iter().next()),
            Tx::Sqlx(conn) => Ok(self
                .into_sqlx()
                .fetch_optional(&mut **conn)
                .await?
                .map(Row::Sqlx)),
        }
    }

    pub(crate) async fn fetch_one(self, tx: &mut Tx<'_>) -> std::result::Result<Row, DbError> {
        self.fetch_optional(tx)
            .await?
            .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
    }

    fn into_sqlx(self) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let mut q = sqlx::query(self.sql).persistent(self.persistent);
        for arg in self.args {
            q = match arg {
                Value::Int(n) => q.bind(n),
                Value::Text(Cow::Borrowed(s)) => q.bind(s),
                Value::Text(Cow::Owned(s)) => q.bind(s),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<String>),
            };
        }
        q
    }
}

/// Prepares `query` on the writer's connection (from its cache) with its arguments bound.
fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    query: &Query<'_>,
) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
    // A statement that is not to be kept is taken through the cache too, and discarded after
    // its run instead of going back (`sqlite_execute`, `sqlite_rows`).
    let mut statement = conn.prepare_cached(query.sql)?;
    bind_numbered(&mut statement, &query.args)?;
    Ok(statement)
}

/// Binds `args` to a statement written for sqlx (`$N` parameters) by each parameter's number:
/// `$N` takes the N-th argument wherever it stands (SQLite numbers named parameters in the
/// order they first appear), an anonymous `?` the next one, as sqlx does. The writer's
/// statements and the direct reads (`direct.rs`) bind alike.
pub(crate) fn bind_numbered(
    statement: &mut rusqlite::Statement<'_>,
    args: &[Value<'_>],
) -> rusqlite::Result<()> {
    let count = statement.parameter_count();
    if count != args.len() && !numbered(statement, count) {
        return Err(rusqlite::Error::InvalidParameterCount(args.len(), count));
    }
    for i in 1..=count {
        let at = match statement.parameter_name(i) {
            Some(name) => name[1..].parse::<usize>().unwrap_or(i),
            None => i,
        };
        let value = args
            .get(at.wrapping_sub(1))
            .ok_or(rusqlite::Error::InvalidParameterCount(args.len(), at))?;
        statement.raw_bind_parameter(i, value)?;
    }
    Ok(())
}

/// Whether every parameter of the statement is numbered (`$N`/`?N`), so that one argument may
/// stand in several places and the counts need not match.
fn numbered(statement: &rusqlite::Statement<'_>, count: usize) -> bool {
    (1..=count).all(|i| statement.parameter_name(i).is_some())
}

fn sqlite_execute(conn: &mut rusqlite::Connection, query: &Query<'_>) -> rusqlite::Result<Done> {
    let mut statement = prepare(conn, query)?;
    let changed = if statement.column_count() == 0 {
        statement.raw_execute()? as u64
    } else {
        // A statement with rows (`... RETURNING`) run for its effect, as sqlx allows: every
        // row is stepped through, for the work is done row by row.
        let mut rows = statement.raw_query();
        while rows.next()?.is_some() {}
        drop(rows);
        conn.changes()
    };
    let done = Done {
        rows_affected: changed,
    };
    if !query.persistent {
        statement.discard();
    }
    Ok(done)
}

/// At most `limit` rows of `query`, copied out of SQLite's (a write job reads back a handful:
/// counters, ids).
fn sqlite_rows(
    conn: &mut rusqlite::Connection,
    query: &Query<'_>,
    limit: usize,
) -> std::result::Result<Vec<Row>, DbError> {
    let mut statement = prepare(conn, query)?;
    let names: Arc<[String]> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let width = names.len();
    let mut out = Vec::new();
    {
        let mut rows = statement.raw_query();
        // Every row is stepped through even past `limit`: an `INSERT ... RETURNING` or an
        // `UPDATE ... RETURNING` does its work row by row as it is stepped.
        while let Some(row) = rows.next()? {
            if out.len() >= limit {
                continue;
            }
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(Cell::from(row.get_ref(i)?));
            }
            out.push(Row::Sqlite {
                names: names.clone(),
                cells,
            });
        }
    }
    if !query.persistent {
        statement.discard();
    }
    Ok(out)
}

/// One column's value of a row read on the writer's SQLite connection.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    /// A real or a blob: no column Huddle reads back from a write is one; it reads as no type.
    Other,
}

impl From<ValueRef<'_>> for Cell {
    fn from(v: ValueRef<'_>) -> Cell {
        match v {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(n) => Cell::Int(n),
            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Real(_) | ValueRef::Blob(_) => Cell::Other,
        }
    }
}

/// A row a write job read back: sqlx's (PostgreSQL, in-memory SQLite) or copied from the
/// writer's SQLite connection.
pub(crate) enum Row {
    Sqlx(AnyRow),
    Sqlite {
        names: Arc<[String]>,
        cells: Vec<Cell>,
    },
}

/// A type a column can be read as, from either kind of row: the types both drivers decode
/// alike (as `rows::RowSource`).
pub(crate) trait Get: Sized {
    fn from_cell(cell: &Cell) -> Option<Self>;
    fn from_sqlx(row: &AnyRow, i: usize) -> std::result::Result<Self, sqlx::Error>;
}

macro_rules! get_via_sqlx {
    ($t:ty, |$c:ident| $body:expr) => {
        impl Get for $t {
            fn from_cell($c: &Cell) -> Option<Self> {
                $body
            }
            fn from_sqlx(row: &AnyRow, i: usize) -> std::result::Result<Self, sqlx::Error> {
                sqlx::Row::try_get(row, i)
            }
        }
    };
}

get_via_sqlx!(i64, |c| match c {
    Cell::Int(n) => Some(*n),
    _ => None,
});
get_via_sqlx!(String, |c| match c {
    Cell::Text(s) => Some(s.clone()),
    _ => None,
});

impl<T: Get> Get for Option<T>
where
    Option<T>: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
    fn from_sqlx(row: &AnyRow, i: usize) -> std::result::Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, i)
    }
}

/// A column by position or by name.
pub(crate) trait Index {
    fn position(&self, row: &dyn RowSource) -> Option<usize>;
}

impl Index for usize {
    fn position(&self, row: &dyn RowSource) -> Option<usize> {
        (*self < row.column_count()).then_some(*self)
    }
}

impl Index for &str {
    fn position(&self, row: &dyn RowSource) -> Option<usize> {
        (0..row.column_count()).find(|&i| row.column_name(i) == Some(*self))
    }
}

/// Reading a column as a `T`, alike from sqlx's rows and the writer's: the hand-written
/// mappings of rows read back by write jobs and by sqlx's readers are written once.
pub(crate) trait GetRow: RowSource {
    /// Column `at` as a `T`; a missing column or another type is an error (a bug).
    fn try_get<T: Get, I: Index>(&self, at: I) -> std::result::Result<T, DbError>;
}

fn no_column() -> DbError {
    DbError::Decode(Error::Internal("no such column in the row".into()))
}

impl GetRow for AnyRow {
    fn try_get<T: Get, I: Index>(&self, at: I) -> std::result::Result<T, DbError> {
        let i = at.position(self).ok_or_else(no_column)?;
        Ok(T::from_sqlx(self, i)?)
    }
}

impl GetRow for Row {
    fn try_get<T: Get, I: Index>(&self, at: I) -> std::result::Result<T, DbError> {
        let i = at.position(self).ok_or_else(no_column)?;
        match self {
            Row::Sqlx(row) => Ok(T::from_sqlx(row, i)?),
            Row::Sqlite { cells, .. } => T::from_cell(&cells[i]).ok_or_else(|| {
                DbError::Decode(Error::Internal(format!(
                    "column {i} holds {:?}, not a {}",
                    cells[i],
                    std::any::type_name::<T>()
                )))
            }),
        }
    }
}

impl Row {
    fn get<T: Get>(&self, i: usize) -> Result<T> {
        self.try_get(i).map_err(crate::errors::db_err)
    }
}

impl RowSource for Row {
    fn column_count(&self) -> usize {
        match self {
            Row::Sqlx(row) => row.columns().len(),
            Row::Sqlite { names, .. } => names.len(),
        }
    }
    fn column_name(&self, i: usize) -> Option<&str> {
        match self {
            Row::Sqlx(row) => row.columns().get(i).map(|c| c.name()),
            Row::Sqlite { names, .. } => names.get(i).map(String::as_str),
        }
    }
    fn text(&self, i: usize) -> Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get(i)
    }
}
