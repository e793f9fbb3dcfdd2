//! The write path's store half (`RoomWriteStore`): every change to a room is one write job that
//! takes the room (PostgreSQL locks its row; SQLite's single writer orders jobs already; a new
//! room is inserted), applies the change (the per-kind functions of `rooms`, `membership` and
//! `messages`), takes the room's next event number in the statement that advances the room, and
//! writes the `room_events` row and the webhook outbox rows of that event (`event_rows`: by the
//! job on PostgreSQL, for the whole batch before its `COMMIT` on SQLite), all in one
//! transaction. A crash can therefore never keep a change and lose its event or its webhooks,
//! and a room's events are numbered in commit order with no gaps.
//!
//! A change that changes nothing writes nothing and takes no number. After the commit the job's
//! caller does what the old per-kind methods did: drops the room's cache entry, applies the
//! member-index changes it staged, or makes every index stale when a room went.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use huddle_core::notify::NotifyFacts;
use huddle_core::store::{
    RoomChange, RoomCounters, RoomEvent, RoomEventItem, RoomWrite, RoomWriteStore, RoomWritten,
};
use huddle_core::{Error, Result, Timestamp};

use crate::errors::db_err;
use crate::event_rows::{self, EventQueue};
use crate::member_index::{MemberIndexes, Staged};
use crate::pool::Backend;
use crate::sql::from_json;
use crate::tx::{GetRow, Tx};
use crate::{bans, membership, messages, rooms, SqlStore};

/// What one change did inside its transaction: the items of its event in order, the number the
/// room gave it, the counters when the change moved them, and member-index changes to apply
/// after the commit.
pub(crate) struct Applied {
    pub(crate) items: Vec<RoomEventItem>,
    pub(crate) seq: i64,
    pub(crate) counters: Option<RoomCounters>,
    pub(crate) staged: Option<Staged>,
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
        | RoomChange::UpdateRoom { message, .. }
        | RoomChange::PatchMessage { message, .. } => message.iter().collect(),
        RoomChange::Ban { message, .. } | RoomChange::Unban { message, .. } => vec![message],
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
    tx: &mut Tx<'_>,
    backend: Backend,
    indexes: &Arc<MemberIndexes>,
    queue: Option<&EventQueue>,
    rid: &str,
    change: RoomChange,
    notify: Option<NotifyFacts>,
) -> Result<Option<Applied>> {
    match change {
        RoomChange::Create { room, members } => {
            let queued = queue.map_or(0, |q| q.last_seq(rid));
            rooms::create(tx, backend, room, members, queued)
                .await
                .map(Some)
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
        RoomChange::PostMessage(m) => messages::post(tx, backend, rid, m, notify).await.map(Some),
        RoomChange::EditMessage(m) => messages::edit(tx, backend, rid, m).await.map(Some),
        RoomChange::DeleteMessage { id } => messages::delete(tx, backend, rid, id).await,
        RoomChange::React {
            id,
            emoji,
            username,
            react,
        } => messages::react(tx, backend, rid, &id, &emoji, &username, react).await,
        RoomChange::CleanHistory(clean) => messages::clean(tx, backend, rid, &clean).await,
        RoomChange::PatchMessage { id, patch, message } => {
            messages::patch(tx, backend, rid, &id, &patch, message).await
        }
        RoomChange::UpdateRoom {
            room,
            message,
            guest_access,
        } => rooms::update(tx, backend, room, message, guest_access)
            .await
            .map(Some),
        RoomChange::Ban { ban, message } => {
            bans::ban(tx, backend, indexes, rid, ban, message).await
        }
        RoomChange::Unban { uid, message } => bans::unban(tx, backend, rid, uid, message).await,
        RoomChange::DeleteRoom => rooms::delete(tx, backend, rid).await,
    }
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
            notify,
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
        let counters_only = matches!(
            change,
            RoomChange::AddMembers(_)
                | RoomChange::RemoveMember { .. }
                | RoomChange::UpdateMember { .. }
                | RoomChange::PostMessage(_)
                | RoomChange::DeleteMessage { .. }
        );
        let (backend, indexes, key) = (self.db.backend, self.members.clone(), rid.clone());
        let queue = self.db.events.clone();
        let out = self
            .db
            .write(move |tx| {
                Box::pin(async move {
                    let queue = queue.as_deref();
                    let applied = apply(tx, backend, &indexes, queue, &rid, change, notify).await?;
                    let Some(applied) = applied else {
                        return Ok(None);
                    };
                    if let Some(foreign) = foreign {
                        return Err(Error::Internal(foreign));
                    }
                    let (event, outbox) =
                        event_rows::rows_of(&rid, applied.seq, kind, &applied.items, &webhooks)?;
                    match queue {
                        // Last step: written with the batch, before its COMMIT.
                        Some(queue) => queue.push(event, outbox),
                        None => event_rows::insert(tx, backend, &[event], outbox).await?,
                    }
                    Ok(Some(applied))
                })
            })
            .await;
        // A change that moved only the room's counters brings the cached room up to its own
        // number with the counters its statement read back (the next request on the room reads
        // it from memory); any other change, and any failure (its commit's outcome is not
        // known), drops it.
        match (&out, counters_only) {
            (Ok(Some(applied)), true) if applied.counters.is_some() => {
                let counters = applied.counters;
                self.caches.rooms.advance(&key, applied.seq, |room| {
                    if let Some(c) = counters {
                        *room = c.apply(room.clone());
                    }
                });
            }
            _ if drops_cached_room => self.caches.rooms.invalidate(&key),
            _ => {}
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
