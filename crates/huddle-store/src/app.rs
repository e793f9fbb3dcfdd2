//! The TalkJS-style app: its secret keys (`app_keys`), webhook endpoints (`webhook_endpoints`)
//! and the durable outbox of deliveries to them (`webhook_outbox`).
//!
//! The outbox is a queue read by `due_outbox` off the partial index `webhook_outbox_due`
//! (undelivered items in `next_attempt_at` order). Items that used up their attempts stay
//! undelivered and so stay in that index; `attempts` is an index column so they are skipped
//! without reading their rows, but each poll still steps over them.

use async_trait::async_trait;
use huddle_core::store::AppStore;
use huddle_core::{AppKey, Error, Failure, OutboxItem, Result, Timestamp, WebhookEndpoint};

use crate::errors::{db_err, is_foreign_key_violation, is_unique_violation, DbError};
use crate::pool::Backend;
use crate::rows::{
    self, APP_KEY_COLS, APP_KEY_FIELDS, ENDPOINT_COLS, ENDPOINT_FIELDS, OUTBOX_COLS, OUTBOX_FIELDS,
};
use crate::sql::{flag, placeholders, to_json, values_rows, CHUNK};
use crate::tx::{self, GetRow};
use crate::SqlStore;

/// How long a claimed outbox row is left to its claimer before another server may send it: more
/// than a batch of 50 sends at 5 s each, sent one after another.
const CLAIM_LEASE_MS: i64 = 5 * 60 * 1000;
/// The column after the outbox's own in a claim's `RETURNING`: when the row was due.
const OUTBOX_COL_COUNT: usize = OUTBOX_FIELDS.len();

/// The due outbox rows, longest due first (binds: now, max attempts, limit). The conditions
/// mirror the partial index webhook_outbox_due: its predicate, then its columns.
fn due_sql(backend: Backend) -> String {
    let c = backend.bytewise();
    format!(
        "FROM webhook_outbox o WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 \
         AND o.attempts < $2 ORDER BY o.next_attempt_at, o.id{c} LIMIT $3"
    )
}

/// Inserting a row whose id exists already.
fn insert_err(e: impl Into<DbError>, what: &str, id: &str) -> Error {
    let e = e.into();
    if is_unique_violation(&e) {
        return Error::Conflict(Failure::new(
            "error-duplicate-id",
            format!("A {what} with id {id} exists"),
        ));
    }
    db_err(e)
}

/// The error when a secret must be stored or read and no key was configured.
pub(crate) fn no_key() -> Error {
    Error::Unavailable(
        "no secrets key is configured, so app secret keys can be neither stored nor read \
         (set HUDDLE_SECRETS_KEY or secrets_key_file)"
            .into(),
    )
}

/// Enqueueing for an endpoint that does not exist (or was deleted meanwhile).
fn outbox_err(e: impl Into<DbError>) -> Error {
    let e = e.into();
    if is_foreign_key_violation(&e) {
        return Error::not_found(
            "webhook-endpoint-not-found",
            "The webhook endpoint no longer exists",
        );
    }
    if is_unique_violation(&e) {
        return Error::conflict("error-duplicate-id", "An outbox item with this id exists");
    }
    db_err(e)
}

#[async_trait]
impl AppStore for SqlStore {
    /// Oldest first, revoked ones included.
    async fn app_keys(&self) -> Result<Vec<AppKey>> {
        let sql = format!(
            "SELECT {} FROM app_keys a ORDER BY a.created_at, a.id",
            *APP_KEY_COLS
        );
        let found = sqlx::query(&sql)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, |r| rows::app_key(r, self.secrets.as_ref()))
    }

    /// Sealed with the secrets key (`sealed.rs`); without one nothing is stored.
    async fn insert_app_key(&self, key: &AppKey) -> Result<()> {
        let sealed = self
            .secrets
            .as_ref()
            .ok_or_else(no_key)?
            .seal(&key.id, &key.secret)?;
        let key = key.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let key = &key;
                    let sql = format!(
                        "INSERT INTO app_keys ({}) VALUES ({})",
                        APP_KEY_FIELDS.join(", "),
                        placeholders(1, APP_KEY_FIELDS.len())
                    );
                    tx::query(&sql)
                        .bind(key.id.as_str())
                        .bind(sealed.as_str())
                        .bind(key.created_at.0)
                        .bind(key.revoked_at.map(|t| t.0))
                        .bind(flag(true))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| insert_err(e, "key", &key.id))?;
                    Ok(())
                })
            })
            .await
    }

    /// `true` if the key exists. Revoking a revoked key keeps the first revocation time.
    async fn revoke_app_key(&self, id: &str, at: Timestamp) -> Result<bool> {
        let id = id.to_string();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let id = id.as_str();
                    let done = tx::query(
                        "UPDATE app_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                    )
                    .bind(id)
                    .bind(at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    /// Oldest first.
    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        let sql = format!(
            "SELECT {} FROM webhook_endpoints w ORDER BY w.created_at, w.id",
            *ENDPOINT_COLS
        );
        let found = sqlx::query(&sql)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, rows::endpoint)
    }

    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<()> {
        let endpoint = endpoint.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let endpoint = &endpoint;
                    let sql = format!(
                        "INSERT INTO webhook_endpoints ({}) VALUES ({})",
                        ENDPOINT_FIELDS.join(", "),
                        placeholders(1, ENDPOINT_FIELDS.len())
                    );
                    tx::query(&sql)
                        .bind(endpoint.id.as_str())
                        .bind(endpoint.url.as_str())
                        .bind(to_json(&endpoint.events)?)
                        .bind(flag(endpoint.enabled))
                        .bind(endpoint.created_at.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| insert_err(e, "webhook endpoint", &endpoint.id))?;
                    Ok(())
                })
            })
            .await
    }

    /// Deletes the endpoint and its whole outbox (pending items and delivery log).
    async fn delete_webhook_endpoint(&self, id: &str) -> Result<bool> {
        let (id, backend) = (id.to_string(), self.db.backend);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let id = id.as_str();
                    // The endpoint row first (PostgreSQL): this blocks enqueues for it, whose foreign-key
                    // check waits on the row, until it is gone.
                    let sql = format!(
                        "SELECT id FROM webhook_endpoints WHERE id = $1{}",
                        backend.lock_for_delete()
                    );
                    if tx::query(&sql)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?
                        .is_none()
                    {
                        return Ok(false);
                    }
                    // Explicit rather than by cascade, so the outcome does not hang on a pragma.
                    for sql in [
                        "DELETE FROM webhook_outbox WHERE endpoint_id = $1",
                        "DELETE FROM webhook_endpoints WHERE id = $1",
                    ] {
                        tx::query(sql)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    Ok(true)
                })
            })
            .await
    }

    /// All items or none, in multi-row statements of `CHUNK` rows. An item for an endpoint
    /// that does not exist fails the lot with `NotFound`.
    async fn enqueue_outbox(&self, items: &[OutboxItem]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let (items, backend) = (items.to_vec(), self.db.backend);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    for chunk in items.chunks(CHUNK) {
                        let sql = backend.sql(format!(
                            "INSERT INTO webhook_outbox ({}) VALUES {}",
                            OUTBOX_FIELDS.join(", "),
                            values_rows(chunk.len(), OUTBOX_FIELDS.len())
                        ));
                        let mut q = tx::query(&sql);
                        for i in chunk {
                            q = q
                                .bind(i.id.as_str())
                                .bind(i.endpoint_id.as_str())
                                .bind(i.event_type.as_str())
                                .bind(i.body.as_str())
                                .bind(i.attempts)
                                .bind(i.next_attempt_at.0)
                                .bind(i.delivered_at.map(|t| t.0))
                                .bind(i.last_error.as_deref())
                                .bind(i.created_at.0)
                                .bind(i.rid.as_deref())
                                .bind(i.seq)
                                .bind(i.item);
                        }
                        q.persistent(chunk.len() == 1)
                            .execute(&mut *tx)
                            .await
                            .map_err(outbox_err)?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Longest due first: `next_attempt_at`, then id.
    async fn due_outbox(
        &self,
        now: Timestamp,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        let sql = format!("SELECT {} {}", *OUTBOX_COLS, due_sql(self.db.backend));
        let found = sqlx::query(&sql)
            .bind(now.0)
            .bind(max_attempts)
            .bind(limit.max(0))
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, rows::outbox_item)
    }

    async fn pending_outbox(&self, max_attempts: i64) -> Result<i64> {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM webhook_outbox o WHERE o.delivered_at IS NULL AND o.attempts < $1",
        )
        .bind(max_attempts)
        .fetch_one(self.db.reader())
        .await
        .map_err(db_err)
    }

    /// `due_outbox`, claimed on PostgreSQL (`FOR UPDATE SKIP LOCKED`, then `next_attempt_at`
    /// moved `CLAIM_LEASE_MS` ahead), so several servers on one database each send a row once;
    /// a sender that dies leaves its rows to whoever looks once the lease ends (at least once,
    /// as after a restart). SQLite has one server: the plain read.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        if self.db.backend != Backend::Postgres {
            return self.due_outbox(now, max_attempts, limit).await;
        }
        let sql = format!(
            "WITH due AS (SELECT o.id, o.next_attempt_at AS was {} FOR UPDATE SKIP LOCKED) \
             UPDATE webhook_outbox o SET next_attempt_at = $4 FROM due WHERE o.id = due.id \
             RETURNING {}, due.was",
            due_sql(self.db.backend),
            *OUTBOX_COLS
        );
        let found = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query(&sql)
                        .bind(now.0)
                        .bind(max_attempts)
                        .bind(limit.max(0))
                        .bind(now.0 + CLAIM_LEASE_MS)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db_err)
                })
            })
            .await?;
        let mut items = found
            .iter()
            .map(|r| {
                let mut item = rows::outbox_item(r)?;
                // The claim moved it; the caller sees when it was due.
                item.next_attempt_at =
                    Timestamp(r.try_get::<i64, _>(OUTBOX_COL_COUNT).map_err(db_err)?);
                Ok(item)
            })
            .collect::<Result<Vec<_>>>()?;
        items.sort_by(|a, b| {
            (a.next_attempt_at, a.id.as_str()).cmp(&(b.next_attempt_at, b.id.as_str()))
        });
        Ok(items)
    }

    /// Writes the outcome fields of the item (attempts, next attempt, delivery time, error).
    /// An item that is gone (its endpoint was deleted meanwhile) is no error: there is nothing
    /// left to record against.
    async fn record_attempt(&self, item: &OutboxItem) -> Result<()> {
        let item = item.clone();
        self.db.write(move |tx| Box::pin(async move {
        let item = &item;
        tx::query(
            "UPDATE webhook_outbox SET attempts = $2, next_attempt_at = $3, delivered_at = $4, last_error = $5 WHERE id = $1",
        )
        .bind(item.id.as_str())
        .bind(item.attempts)
        .bind(item.next_attempt_at.0)
        .bind(item.delivered_at.map(|t| t.0))
        .bind(item.last_error.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Ok(())
        })).await
    }

    async fn set_outbox_body(&self, id: &str, body: &str) -> Result<bool> {
        let (id, body) = (id.to_string(), body.to_string());
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    // Only an empty body: a body once stored is what every attempt signs.
                    let done = tx::query(
                        "UPDATE webhook_outbox SET body = $2 WHERE id = $1 AND body = ''",
                    )
                    .bind(id.as_str())
                    .bind(body.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    /// Newest first: `created_at` descending, then id descending.
    async fn outbox_of_endpoint(&self, endpoint_id: &str, limit: i64) -> Result<Vec<OutboxItem>> {
        let c = self.db.backend.bytewise();
        let sql = format!(
            "SELECT {} FROM webhook_outbox o WHERE o.endpoint_id = $1 ORDER BY o.created_at DESC, o.id{c} DESC LIMIT $2",
            *OUTBOX_COLS
        );
        let found = sqlx::query(&sql)
            .bind(endpoint_id)
            .bind(limit.max(0))
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, rows::outbox_item)
    }

    async fn outbox_item(&self, id: &str) -> Result<Option<OutboxItem>> {
        let sql = format!(
            "SELECT {} FROM webhook_outbox o WHERE o.id = $1",
            *OUTBOX_COLS
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err)?;
        row.as_ref().map(|r| rows::outbox_item(r)).transpose()
    }
}

impl SqlStore {
    /// Start-up step for databases from before migration 0012: seals every secret key still in
    /// clear, then scrubs the clear copies the update leaves behind (`Db::scrub_old_rows`). Safe
    /// to run on several nodes at once: a row is sealed only while still unsealed. Without a
    /// key it changes nothing (and the store stays unable to store new keys).
    pub(crate) async fn seal_clear_secrets(&self) -> Result<()> {
        let Some(key) = self.secrets.clone() else {
            return Ok(());
        };
        let clear = sqlx::query("SELECT id, secret FROM app_keys WHERE sealed = 0")
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        if clear.is_empty() {
            return Ok(());
        }
        let mut sealed = Vec::with_capacity(clear.len());
        for row in &clear {
            let id: String = row.try_get(0).map_err(db_err)?;
            let secret: String = row.try_get(1).map_err(db_err)?;
            sealed.push((key.seal(&id, &secret)?, id));
        }
        let backend = self.db.backend;
        let count = sealed.len();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    // SQLite: zero the freed space of the rewritten cells, so the clear value
                    // does not linger in the page (on for this write only: it costs on deletes).
                    if backend == Backend::Sqlite {
                        tx::query("PRAGMA secure_delete = ON")
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    for (value, id) in &sealed {
                        tx::query(
                            "UPDATE app_keys SET secret = $1, sealed = 1 WHERE id = $2 AND sealed = 0",
                        )
                        .bind(value.as_str())
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    }
                    if backend == Backend::Sqlite {
                        tx::query("PRAGMA secure_delete = OFF")
                            .execute(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    }
                    Ok(())
                })
            })
            .await?;
        self.db.scrub_old_rows("app_keys").await?;
        tracing::info!(count, "sealed app secret keys stored in clear");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SecretsKey, StoreOptions};

    fn options(key: Option<&SecretsKey>) -> StoreOptions {
        StoreOptions {
            secrets_key: key.cloned(),
            ..StoreOptions::default()
        }
    }

    /// The database file and its WAL, as bytes.
    fn file_bytes(path: &std::path::Path) -> Vec<u8> {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
        bytes
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[tokio::test]
    async fn secret_keys_are_sealed_at_rest_and_clear_ones_sealed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let url = format!("sqlite://{}", path.display());
        let key = SecretsKey::generate();
        let store = crate::open(&url, options(Some(&key))).await.unwrap();
        let fresh = AppKey {
            id: "k-new".into(),
            secret: "sk_live_fresh0123456789".into(),
            created_at: Timestamp(1),
            revoked_at: None,
        };
        store.insert_app_key(&fresh).await.unwrap();
        assert_eq!(store.app_keys().await.unwrap(), vec![fresh.clone()]);

        // A key from before migration 0012, written in clear as the old code did.
        let raw = sqlx::sqlite::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO app_keys (id, secret, created_at) VALUES ('k-old', 'sk_live_legacy0123456789', 0)")
            .execute(&raw)
            .await
            .unwrap();
        let before = file_bytes(&path);
        // The check can fail: the clear key is there before the start-up step.
        assert!(contains(&before, "sk_live_legacy0123456789"));

        let reopened = crate::open(&url, options(Some(&key))).await.unwrap();
        let keys = reopened.app_keys().await.unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].secret, "sk_live_legacy0123456789");
        assert_eq!(keys[1], fresh);
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT id, secret, sealed FROM app_keys ORDER BY id")
                .fetch_all(&raw)
                .await
                .unwrap();
        for (id, secret, sealed) in &rows {
            assert_eq!(*sealed, 1, "{id}");
            assert!(
                secret.starts_with("v1:") && !secret.contains("sk_live"),
                "{id}"
            );
        }
        let after = file_bytes(&path);
        for clear in ["sk_live_legacy0123456789", "sk_live_fresh0123456789"] {
            assert!(!contains(&after, clear), "{clear} is in the database file");
        }

        // Another key, or none: nothing is read, nothing is stored, and the error says why.
        let wrong = crate::open(&url, options(Some(&SecretsKey::generate())))
            .await
            .unwrap();
        let e = wrong.app_keys().await.unwrap_err().to_string();
        assert!(e.contains("secrets key"), "{e}");
        let none = crate::open(&url, options(None)).await.unwrap();
        assert!(none.app_keys().await.is_err());
        let e = none.insert_app_key(&fresh).await.unwrap_err().to_string();
        assert!(e.contains("no secrets key"), "{e}");
    }
}
