//! Small helpers for building runtime SQL: numbered placeholders for multi-row statements,
//! `LIKE` patterns, JSON columns and the chunk size that keeps bulk statements under both
//! backends' bind-parameter limits.

use huddle_core::{Error, Result, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Rows per multi-row `INSERT` or keys per `IN (...)` list. 500 rows of the widest insert
/// (subscriptions, 20 columns) bind 10,000 parameters: under SQLite's 32,766 and PostgreSQL's
/// 65,535, and large enough that 10,000 members take 20 round trips, not 10,000.
pub(crate) const CHUNK: usize = 500;

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
