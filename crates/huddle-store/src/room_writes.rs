//! The write path's store half (`RoomWriteStore`): every change to a room is one write job that
//! locks the room row (or, for a new room, inserts it), applies the change (the per-kind
//! functions of `rooms`, `membership` and `messages`), takes the room's next event number in
//! the statement that advances the room, and writes the `room_events` row and the webhook
//! outbox rows of that event, all in one transaction. A crash can therefore never keep a change
//! and lose its event or its webhooks, and a room's events are numbered in commit order with no
//! gaps (the number is taken under the room lock: SQLite's single writer, PostgreSQL's row lock).
//!
//! A change that changes nothing writes nothing and takes no number. After the commit the job's
//! caller does what the old per-kind methods did: drops the room's cache entry, applies the
//! member-index changes it staged, or makes every index stale when a room went.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use huddle_core::store::{
    RoomChange, RoomCounters, RoomEvent, RoomEventItem, RoomWrite, RoomWriteStore, RoomWritten,
};
use huddle_core::{ids, Error, Result, Timestamp, WebhookEndpoint};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::errors::{db_err, reference_err};
use crate::member_index::{MemberIndexes, Staged};
use crate::pool::Backend;
use crate::sql::{from_json, insert_json_rows, insert_values_sql, json_list, now, to_json, CHUNK};
use crate::{membership, messages, rooms, SqlStore};

/// What one change did inside its transaction: the items of its event in order, the number the
/// room gave it, the counters when the change moved them, and member-index changes to apply
/// after the commit.
pub(crate) struct Applied {
    pub(crate) items: Vec<RoomEventItem>,
    pub(crate) seq: i64,
    pub(crate) counters: Option<RoomCounters>,
    pub(crate) staged: Option<Staged>,
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
struct OutboxRow<'a> {
    id: String,
    endpoint_id: &'a str,
    event_type: &'static str,
    /// Built from the event item when first sent (`set_outbox_body`).
    body: &'static str,
    rid: &'a str,
    seq: i64,
    item: i64,
    attempts: i64,
    next_attempt_at: i64,
    created_at: i64,
}

/// A message or room of the change that names another room than the write's: its row would
/// land in that room while the event is filed under this one. A caller's bug; the write fails
/// (after the room's own checks, so a missing room is still `NotFound`).
fn foreign_rid(write: &RoomWrite) -> Option<String> {
    let rid = write.rid.as_str();
    let messages: Vec<&huddle_core::Message> = match &write.change {
        RoomChange::Create { room, .. } | RoomChange::UpdateRoom { room, .. } if room.id != rid => {
            return Some(format!("a write to room {rid} carries room {}", room.id));
        }
        RoomChange::AddMembers(members) => {
            members.iter().filter_map(|m| m.message.as_ref()).collect()
        }
        RoomChange::RemoveMember { message, .. }
        | RoomChange::UpdateMember { message, .. }
        | RoomChange::UpdateRoom { message, .. } => message.iter().collect(),
        RoomChange::PostMessage(m) | RoomChange::EditMessage(m) => vec![m],
        _ => vec![],
    };
    messages
        .iter()
        .find(|m| m.rid != rid)
        .map(|m| format!("a write to room {rid} carries a message of room {}", m.rid))
}

/// Applies one change inside the job's transaction; `None` when it changed nothing.
async fn apply(
    tx: &mut AnyConnection,
    backend: Backend,
    indexes: &Arc<MemberIndexes>,
    rid: &str,
    change: RoomChange,
) -> Result<Option<Applied>> {
    match change {
        RoomChange::Create { room, members } => {
            rooms::create(tx, backend, room, members).await.map(Some)
        }
        RoomChange::AddMembers(members) => {
            membership::add(tx, backend, indexes, rid, members).await
        }
        RoomChange::RemoveMember { uid, message } => {
            membership::remove(tx, backend, indexes, rid, uid, message).await
        }
        RoomChange::UpdateMember {
            subscription,
            message,
        } => membership::update_member(tx, backend, rid, subscription, message)
            .await
            .map(Some),
        RoomChange::PostMessage(m) => messages::post(tx, backend, rid, m).await.map(Some),
        RoomChange::EditMessage(m) => messages::edit(tx, backend, rid, m).await.map(Some),
        RoomChange::DeleteMessage { id } => messages::delete(tx, backend, rid, id).await,
        RoomChange::React {
            id,
            emoji,
            username,
            react,
        } => messages::react(tx, backend, rid, &id, &emoji, &username, react).await,
        RoomChange::UpdateRoom {
            room,
            message,
            guest_access,
        } => rooms::update(tx, backend, room, message, guest_access)
            .await
            .map(Some),
        RoomChange::DeleteRoom => rooms::delete(tx, backend, rid).await,
    }
}

/// Writes the event of an applied change and its outbox rows: one row per item an endpoint
/// wants, per endpoint.
async fn record(
    tx: &mut AnyConnection,
    backend: Backend,
    rid: &str,
    kind: &str,
    applied: &Applied,
    webhooks: &[WebhookEndpoint],
) -> Result<()> {
    let created_at = now();
    sqlx::query(
        "INSERT INTO room_events (rid, seq, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(rid)
    .bind(applied.seq)
    .bind(kind)
    .bind(to_json(&applied.items)?)
    .bind(created_at)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if webhooks.is_empty() {
        return Ok(());
    }
    let wanted: Vec<(usize, &'static str, &WebhookEndpoint)> = applied
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| item.webhook_type().map(|t| (i, t)))
        .flat_map(|(i, t)| {
            webhooks
                .iter()
                .filter(move |e| e.wants(t))
                .map(move |e| (i, t, e))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let live = live_endpoints(tx, backend, &wanted).await?;
    let rows: Vec<OutboxRow> = wanted
        .into_iter()
        .filter(|(_, _, e)| live.contains(e.id.as_str()))
        .map(|(i, event_type, e)| OutboxRow {
            id: ids::new_id(),
            endpoint_id: &e.id,
            event_type,
            body: "",
            rid,
            seq: applied.seq,
            item: i as i64,
            attempts: 0,
            next_attempt_at: created_at,
            created_at,
        })
        .collect();
    insert_outbox(tx, backend, &rows).await
}

/// Which of the wanted endpoints still exist, locked against deletion until the commit
/// (PostgreSQL): the caller's list may be a moment old, and a delivery for an endpoint deleted
/// meanwhile must be dropped, not fail the room change on its foreign key.
async fn live_endpoints(
    tx: &mut AnyConnection,
    backend: Backend,
    wanted: &[(usize, &'static str, &WebhookEndpoint)],
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
    let mut ids: Vec<&str> = wanted.iter().map(|(_, _, e)| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let found = sqlx::query(&SQL[usize::from(backend == Backend::Postgres)])
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
/// parameter), SQLite in multi-row `VALUES` whose full chunks and small counts (one endpoint
/// wanting one or two items is the common case) reuse cached statements.
async fn insert_outbox(
    tx: &mut AnyConnection,
    backend: Backend,
    rows: &[OutboxRow<'_>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        static SQL: LazyLock<String> =
            LazyLock::new(|| insert_json_rows(Backend::Postgres, "webhook_outbox", OUTBOX_NEW));
        sqlx::query(SQL.as_str())
            .bind(to_json(rows)?)
            .execute(&mut *tx)
            .await
            .map_err(reference_err)?;
        return Ok(());
    }
    const SMALL: usize = 8;
    static CACHED: LazyLock<Vec<String>> = LazyLock::new(|| {
        (1..=SMALL)
            .chain([CHUNK])
            .map(|n| insert_values_sql("webhook_outbox", OUTBOX_NEW, n, ""))
            .collect()
    });
    for chunk in rows.chunks(CHUNK) {
        let built;
        let (sql, cached) = match chunk.len() {
            CHUNK => (CACHED[SMALL].as_str(), true),
            n if n <= SMALL => (CACHED[n - 1].as_str(), true),
            n => {
                built = insert_values_sql("webhook_outbox", OUTBOX_NEW, n, "");
                (built.as_str(), false)
            }
        };
        let mut q = sqlx::query(sql);
        for r in chunk {
            q = q
                .bind(r.id.as_str())
                .bind(r.endpoint_id)
                .bind(r.event_type)
                .bind(r.body)
                .bind(r.rid)
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

/// One entry per user, the first one asked.
fn dedup_members(
    members: Vec<huddle_core::store::NewMember>,
) -> Vec<huddle_core::store::NewMember> {
    let mut seen = HashSet::new();
    members
        .into_iter()
        .filter(|m| seen.insert(m.subscription.u.id.clone()))
        .collect()
}

#[async_trait]
impl RoomWriteStore for SqlStore {
    async fn write_room(&self, write: RoomWrite) -> Result<RoomWritten> {
        let foreign = foreign_rid(&write);
        let RoomWrite {
            rid,
            change,
            webhooks,
        } = write;
        let change = match change {
            RoomChange::AddMembers(members) => {
                let members = dedup_members(members);
                if members.is_empty() {
                    return Ok(RoomWritten::default());
                }
                RoomChange::AddMembers(members)
            }
            other => other,
        };
        let kind = change.kind();
        // What the old per-kind methods did after their commit: the room's cached row goes
        // whenever a change may have touched it (even on failure: the outcome of a failed
        // commit is not known), a deleted room makes every member index stale.
        let drops_cached_room = !matches!(
            change,
            RoomChange::Create { .. } | RoomChange::EditMessage(_) | RoomChange::React { .. }
        );
        let deletes_room = matches!(change, RoomChange::DeleteRoom);
        let (backend, indexes, key) = (self.db.backend, self.members.clone(), rid.clone());
        let out = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    let Some(applied) = apply(tx, backend, &indexes, &rid, change).await? else {
                        return Ok(None);
                    };
                    if let Some(foreign) = foreign {
                        return Err(Error::Internal(foreign));
                    }
                    record(tx, backend, &rid, kind, &applied, &webhooks).await?;
                    Ok(Some(applied))
                })
            })
            .await;
        if drops_cached_room {
            self.caches.rooms.invalidate(&key);
        }
        let Some(applied) = out? else {
            return Ok(RoomWritten::default());
        };
        if let Some(staged) = applied.staged {
            staged.finish();
        }
        if deletes_room {
            self.members.invalidate_all();
        }
        Ok(RoomWritten {
            seq: Some(applied.seq),
            items: applied.items,
            counters: applied.counters,
        })
    }

    async fn room_events(&self, rid: &str, after_seq: i64, limit: i64) -> Result<Vec<RoomEvent>> {
        let found = sqlx::query(
            "SELECT rid, seq, kind, payload, created_at FROM room_events \
             WHERE rid = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(rid)
        .bind(after_seq)
        .bind(limit.max(0))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                let payload: String = row.try_get(3usize).map_err(db_err)?;
                Ok(RoomEvent {
                    rid: row.try_get(0usize).map_err(db_err)?,
                    seq: row.try_get(1usize).map_err(db_err)?,
                    kind: row.try_get(2usize).map_err(db_err)?,
                    items: from_json(&payload, "room_events.payload")?,
                    created_at: Timestamp(row.try_get(4usize).map_err(db_err)?),
                })
            })
            .collect()
    }
}
