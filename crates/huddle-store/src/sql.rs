//! Small helpers for building runtime SQL: lists and rows bound as one JSON parameter,
//! numbered placeholders for the few multi-row statements left, `LIKE` patterns, JSON columns
//! and the chunk size that keeps those statements under both backends' bind-parameter limits.

use huddle_core::{Error, Result, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::pool::Backend;

/// A subquery yielding one text row per element of the JSON array of strings bound as
/// parameter `$n`, in a column named `value`: `x IN (<this>)`. A list of any length is one parameter, so the statement
/// is short, the same for every list and prepared once (sqlx caches it), where an `IN ($1, ...)`
/// of thousands of placeholders was built, rewritten and parsed on every call.
pub(crate) fn json_list(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("SELECT value FROM json_each(${n})"),
        Backend::Postgres => format!("SELECT jsonb_array_elements_text(${n}::jsonb) AS value"),
    }
}

/// `INSERT INTO table (fields) SELECT ... FROM <rows>`: inserts the rows of a JSON array of
/// objects bound as `$1`, each object keyed by the column names in `fields` (serialised from a
/// `Serialize` struct with those field names). PostgreSQL types each column from the table's
/// own row type (`jsonb_populate_recordset`); SQLite reads each key with `->>`, which gives
/// integers as integers and JSON `null` as `NULL`. Callers add their `ON CONFLICT` clause after
/// ` WHERE true` (SQLite needs a `WHERE` there to parse `INSERT ... SELECT ... ON CONFLICT`).
pub(crate) fn insert_json_rows(backend: Backend, table: &str, fields: &[&str]) -> String {
    let cols = fields.join(", ");
    match backend {
        Backend::Sqlite => {
            let exprs = fields
                .iter()
                .map(|f| format!("j.value ->> '{f}'"))
                .collect::<Vec<_>>()
                .join(", ");
            format!("INSERT INTO {table} ({cols}) SELECT {exprs} FROM json_each($1) j WHERE true")
        }
        Backend::Postgres => format!(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb) WHERE true"
        ),
    }
}

/// Rows per multi-row `INSERT` or keys per `IN (...)` list. 500 rows of the widest insert
/// (subscriptions, 20 columns) bind 10,000 parameters: under SQLite's 32,766 and PostgreSQL's
/// 65,535, and large enough that 10,000 members take 20 round trips, not 10,000.
pub(crate) const CHUNK: usize = 500;

/// `INSERT INTO table (fields) VALUES (?, ...), ... suffix` for `rows` rows, with SQLite's
/// anonymous parameters (see `Backend::sql`).
pub(crate) fn insert_values_sql(table: &str, fields: &[&str], rows: usize, suffix: &str) -> String {
    Backend::Sqlite.sql(format!(
        "INSERT INTO {table} ({}) VALUES {}{suffix}",
        fields.join(", "),
        values_rows(rows, fields.len())
    ))
}

/// `$start, $start+1, ...` (`n` of them).
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, ..., $cols), ($cols+1, ...), ...` for a multi-row `VALUES`.
pub(crate) fn values_rows(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(1 + r * cols, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A case-insensitive substring pattern for `lower(col) LIKE $n ESCAPE '\'`: lower-cased, with
/// the wildcards the user typed taken literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}

pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("encoding JSON column: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("bad JSON in column {column}: {e}")))
}

pub(crate) fn now() -> i64 {
    Timestamp::now().0
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Case-folding used for every `*_lower` column and lookup, done here rather than in SQL so both
/// backends fold non-ASCII letters alike.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_per_row() {
        assert_eq!(values_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholders(4, 2), "$4, $5");
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("A_b%"), "%a\\_b\\%%");
        assert_eq!(contains_pattern("x\\y"), "%x\\\\y%");
    }
}
