//! The rows a committed room change leaves besides its own: its `room_events` row and the
//! webhook outbox rows of the items endpoints want. They are written in the change's own
//! transaction: on PostgreSQL by the change's job itself; on SQLite they are queued by the job
//! (`EventQueue`, as its last step, so a job that fails queues nothing) and written by the
//! group-commit writer for the whole batch just before its `COMMIT` (`writer::BatchEnd`), in a
//! few multi-row statements instead of one or two statements per change. Either way they
//! commit with the change or not at all.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, MutexGuard};

use futures::future::BoxFuture;
use huddle_core::store::RoomEventItem;
use huddle_core::{ids, Result, WebhookEndpoint};
use serde::Serialize;

use crate::errors::{db_err, reference_err};
use crate::pool::Backend;
use crate::sql::{insert_json_rows, json_list, now, to_json, values_rows, CHUNK};
use crate::tx::{self, GetRow, Tx};
use crate::writer::BatchEnd;

/// One `room_events` row.
pub(crate) struct EventRow {
    rid: String,
    seq: i64,
    kind: &'static str,
    payload: String,
    created_at: i64,
}

/// The columns an outbox row of a room event is written with (the others keep their defaults:
/// not delivered, no error).
const OUTBOX_NEW: &[&str] = &[
    "id",
    "endpoint_id",
    "event_type",
    "body",
    "rid",
    "seq",
    "item",
    "attempts",
    "next_attempt_at",
    "created_at",
];

/// One outbox row as the JSON object `insert_json_rows` reads (keys = `OUTBOX_NEW`).
#[derive(Serialize)]
pub(crate) struct OutboxRow {
    id: String,
    endpoint_id: String,
    event_type: &'static str,
    /// Built from the event item when first sent (`AppStore::set_outbox_body`).
    body: &'static str,
    rid: String,
    seq: i64,
    item: i64,
    attempts: i64,
    next_attempt_at: i64,
    created_at: i64,
}

/// The event row of change `kind` numbered `seq` in room `rid`, and an outbox row per item an
/// endpoint wants, per endpoint.
pub(crate) fn rows_of(
    rid: &str,
    seq: i64,
    kind: &'static str,
    items: &[RoomEventItem],
    webhooks: &[WebhookEndpoint],
) -> Result<(EventRow, Vec<OutboxRow>)> {
    let created_at = now();
    let mut outbox = vec![];
    for (i, item) in items.iter().enumerate() {
        let Some(event_type) = item.webhook_type() else {
            continue;
        };
        for e in webhooks.iter().filter(|e| e.wants(event_type)) {
            outbox.push(OutboxRow {
                id: ids::new_id(),
                endpoint_id: e.id.clone(),
                event_type,
                body: "",
                rid: rid.to_string(),
                seq,
                item: i as i64,
                attempts: 0,
                next_attempt_at: created_at,
                created_at,
            });
        }
    }
    let event = EventRow {
        rid: rid.to_string(),
        seq,
        kind,
        payload: to_json(items)?,
        created_at,
    };
    Ok((event, outbox))
}

/// Writes event rows and their outbox rows. Outbox rows for endpoints that no longer exist are
/// dropped: the caller's list of endpoints may be a moment old, and a delivery to an endpoint
/// deleted meanwhile must not fail the change on its foreign key.
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    backend: Backend,
    events: &[EventRow],
    outbox: Vec<OutboxRow>,
) -> Result<()> {
    for chunk in events.chunks(CHUNK) {
        insert_events(tx, backend, chunk).await?;
    }
    if outbox.is_empty() {
        return Ok(());
    }
    let live = live_endpoints(tx, backend, &outbox).await?;
    let rows: Vec<OutboxRow> = outbox
        .into_iter()
        .filter(|r| live.contains(&r.endpoint_id))
        .collect();
    insert_outbox(tx, backend, &rows).await
}

/// Statements for 1 to `SMALL` rows and for a full `CHUNK`, built once and cached by every
/// connection that runs them; other counts are built per call and not cached.
const SMALL: usize = 8;

/// `INSERT INTO table (fields) VALUES ...` for `rows` rows, in the backend's placeholders.
fn insert_sql(backend: Backend, table: &str, fields: &[&str], rows: usize) -> String {
    backend.sql(format!(
        "INSERT INTO {table} ({}) VALUES {}",
        fields.join(", "),
        values_rows(rows, fields.len())
    ))
}

/// The cached statements of `table` for `backend`: `SMALL` short ones, then the full chunk.
fn statements(backend: Backend, table: &str, fields: &[&str]) -> Vec<String> {
    (1..=SMALL)
        .chain([CHUNK])
        .map(|n| insert_sql(backend, table, fields, n))
        .collect()
}

/// The statement for `rows` rows: a cached one if there is one (`true`), else built now.
fn sql_for(
    cached: &'static [String],
    build: impl FnOnce() -> String,
    rows: usize,
) -> (std::borrow::Cow<'static, str>, bool) {
    match rows {
        CHUNK => (cached[SMALL].as_str().into(), true),
        n if (1..=SMALL).contains(&n) => (cached[n - 1].as_str().into(), true),
        _ => (build().into(), false),
    }
}

const EVENT_FIELDS: &[&str] = &["rid", "seq", "kind", "payload", "created_at"];

/// At most `CHUNK` event rows in one statement.
async fn insert_events(tx: &mut Tx<'_>, backend: Backend, rows: &[EventRow]) -> Result<()> {
    static SQL: LazyLock<[Vec<String>; 2]> = LazyLock::new(|| {
        [Backend::Sqlite, Backend::Postgres].map(|b| statements(b, "room_events", EVENT_FIELDS))
    });
    let (sql, cached) = sql_for(
        &SQL[usize::from(backend == Backend::Postgres)],
        || insert_sql(backend, "room_events", EVENT_FIELDS, rows.len()),
        rows.len(),
    );
    let mut q = tx::query(&sql);
    for r in rows {
        q = q
            .bind(r.rid.as_str())
            .bind(r.seq)
            .bind(r.kind)
            .bind(r.payload.as_str())
            .bind(r.created_at);
    }
    q.persistent(cached)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Which endpoints of the rows still exist, locked against deletion until the commit on
/// PostgreSQL (SQLite's single writer needs no lock).
async fn live_endpoints(
    tx: &mut Tx<'_>,
    backend: Backend,
    rows: &[OutboxRow],
) -> Result<HashSet<String>> {
    static SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
        [
            format!(
                "SELECT id FROM webhook_endpoints WHERE id IN ({})",
                json_list(Backend::Sqlite, 1)
            ),
            format!(
                "SELECT id FROM webhook_endpoints WHERE id IN ({}) FOR KEY SHARE",
                json_list(Backend::Postgres, 1)
            ),
        ]
    });
    let mut ids: Vec<&str> = rows.iter().map(|r| r.endpoint_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let found = tx::query(&SQL[usize::from(backend == Backend::Postgres)])
        .bind(to_json(&ids)?)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    found
        .iter()
        .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
        .collect()
}

/// Inserts outbox rows as `insert_messages` does: PostgreSQL in one statement (one JSON
/// parameter), SQLite in multi-row `VALUES`.
async fn insert_outbox(tx: &mut Tx<'_>, backend: Backend, rows: &[OutboxRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        static SQL: LazyLock<String> =
            LazyLock::new(|| insert_json_rows(Backend::Postgres, "webhook_outbox", OUTBOX_NEW));
        tx::query(SQL.as_str())
            .bind(to_json(rows)?)
            .execute(&mut *tx)
            .await
            .map_err(reference_err)?;
        return Ok(());
    }
    static SQL: LazyLock<Vec<String>> =
        LazyLock::new(|| statements(Backend::Sqlite, "webhook_outbox", OUTBOX_NEW));
    for chunk in rows.chunks(CHUNK) {
        let (sql, cached) = sql_for(
            &SQL,
            || insert_sql(Backend::Sqlite, "webhook_outbox", OUTBOX_NEW, chunk.len()),
            chunk.len(),
        );
        let mut q = tx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.id.as_str())
                .bind(r.endpoint_id.as_str())
                .bind(r.event_type)
                .bind(r.body)
                .bind(r.rid.as_str())
                .bind(r.seq)
                .bind(r.item)
                .bind(r.attempts)
                .bind(r.next_attempt_at)
                .bind(r.created_at);
        }
        q.persistent(cached)
            .execute(&mut *tx)
            .await
            .map_err(reference_err)?;
    }
    Ok(())
}

/// Event and outbox rows queued by the jobs of SQLite's current write batch, written just
/// before its `COMMIT`. Only the writer task touches it (jobs run on that task, one at a time),
/// so the lock is never contended.
#[derive(Default)]
pub(crate) struct EventQueue {
    queued: Mutex<(Vec<EventRow>, Vec<OutboxRow>)>,
}

impl EventQueue {
    fn queued(&self) -> MutexGuard<'_, (Vec<EventRow>, Vec<OutboxRow>)> {
        match self.queued.lock() {
            Ok(q) => q,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Queues a change's rows. Call as the job's last step: a job that fails after queueing
    /// would be rolled back to its savepoint while its rows stayed queued.
    pub(crate) fn push(&self, event: EventRow, outbox: Vec<OutboxRow>) {
        let mut q = self.queued();
        q.0.push(event);
        q.1.extend(outbox);
    }

    /// The highest event number queued for room `rid` (0 if none): a room made again in the
    /// batch that deleted it numbers on after the deletion, which `room_events` does not hold
    /// yet.
    pub(crate) fn last_seq(&self, rid: &str) -> i64 {
        self.queued()
            .0
            .iter()
            .filter(|e| e.rid == rid)
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
    }
}

impl BatchEnd for EventQueue {
    fn flush<'c>(&'c self, tx: &'c mut Tx<'_>) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            let (events, outbox) = std::mem::take(&mut *self.queued());
            if events.is_empty() {
                return Ok(());
            }
            insert(tx, Backend::Sqlite, &events, outbox).await
        })
    }

    fn discard(&self) {
        *self.queued() = Default::default();
    }
}
