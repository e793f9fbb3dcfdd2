//! Rooms: the `rooms` table, its settings and counters, the room changes of the write path
//! (`create`, `update`, `delete`, run by `room_writes`), and the helpers every write transaction
//! touching a room uses (`lock_room` or `claim_room` first, `bump_room` or `advance_room` last,
//! which also take the room's next event number) so counters stay exact, events are numbered in commit order and
//! PostgreSQL transactions always take the room row lock before any membership row.

use std::collections::HashSet;
use std::sync::LazyLock;

use async_trait::async_trait;
use huddle_core::store::{RoomCounters, RoomEventItem, RoomStore};
use huddle_core::{Message, Page, Result, Room, RoomQuery, RoomType, Subscription, Timestamp};

use crate::errors::{db_err, room_err, room_not_found};
use crate::membership::insert_subscriptions;
use crate::messages::insert_and_bump;
use crate::pool::Backend;
use crate::room_writes::Applied;
use crate::rows::{self, ROOM_COLS, ROOM_FIELDS};
use crate::sql::{contains_pattern, flag, json_list, now, placeholders, to_json};
use crate::tx::{self, GetRow, Tx, Value};
use crate::{SqlStore, Q};

/// What a transaction learns when it locks a room: the fields memberships copy.
pub(crate) struct LockedRoom {
    pub(crate) t: String,
    pub(crate) name: Option<String>,
    pub(crate) fname: Option<String>,
}

/// Locks the room row until the transaction ends (PostgreSQL; SQLite's single writer already
/// serialises) and reads it; `None` if the room does not exist. Every write that changes a
/// room's counters calls this first, so such writes queue on the room in one lock order.
pub(crate) async fn lock_room(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
) -> Result<Option<LockedRoom>> {
    let sql = format!(
        "SELECT t, name, fname FROM rooms WHERE id = $1{}",
        backend.lock_rows()
    );
    let row = tx::query(&sql)
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(LockedRoom {
        t: row.try_get("t").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        fname: row.try_get("fname").map_err(db_err)?,
    }))
}

/// Takes the room for a change that needs nothing of it but its place in the room's order:
/// PostgreSQL locks the row (`lock_room`; false if there is no room). SQLite's single writer
/// already serialises every write job, and the statements such a change runs next meet a
/// missing room themselves (a foreign key, or no row to change), so there it runs nothing: one
/// statement fewer on every invite and post. Callers on SQLite tell a missing room apart where
/// they meet it (`room_missing`).
pub(crate) async fn claim_room(tx: &mut Tx<'_>, backend: Backend, rid: &str) -> Result<bool> {
    match backend {
        Backend::Sqlite => Ok(true),
        Backend::Postgres => Ok(lock_room(tx, backend, rid).await?.is_some()),
    }
}

/// Whether room `rid` does not exist: the failure paths of a change that `claim_room` did not
/// read (SQLite; a PostgreSQL transaction is aborted by then, and its room was locked anyway).
pub(crate) async fn room_missing(tx: &mut Tx<'_>, rid: &str) -> Result<bool> {
    let row = tx::query("SELECT 1 FROM rooms WHERE id = $1")
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(row.is_none())
}

/// A room's counters and event number as the statement that advanced it left them.
pub(crate) struct Advanced {
    pub(crate) seq: i64,
    pub(crate) counters: RoomCounters,
}

/// Reads the `RETURNING users_count, msgs, lm, updated_at, seq` of every statement that
/// advances a room.
pub(crate) fn advanced(row: &impl GetRow) -> Result<Advanced> {
    Ok(Advanced {
        counters: RoomCounters {
            users_count: row.try_get(0usize).map_err(db_err)?,
            msgs: row.try_get(1usize).map_err(db_err)?,
            last_message_at: row
                .try_get::<Option<i64>, _>(2usize)
                .map_err(db_err)?
                .map(Timestamp),
            updated_at: Timestamp(row.try_get(3usize).map_err(db_err)?),
        },
        seq: row.try_get(4usize).map_err(db_err)?,
    })
}

/// Adjusts a room's counters after memberships or messages were written: `users_delta`
/// members, `messages` more messages, `lm` moved forward to the newest of them; and takes the
/// room's next event number in the same statement (every change that moves counters writes an
/// event). Returns both as they now are.
pub(crate) async fn bump_room(
    tx: &mut Tx<'_>,
    rid: &str,
    users_delta: i64,
    messages: &[&Message],
) -> Result<Advanced> {
    // System messages all show in the room: the newest becomes its last message.
    let latest = messages.iter().max_by_key(|m| m.ts.0);
    let q = match latest {
        Some(m) => tx::query(
            "UPDATE rooms SET users_count = users_count + $2, msgs = msgs + $3, \
             lm = CASE WHEN lm IS NULL OR lm < $4 THEN $4 ELSE lm END, \
             last_mid = CASE WHEN lm IS NULL OR lm <= $4 THEN $6 ELSE last_mid END, \
             updated_at = $5, seq = seq + 1 \
             WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
        )
        .bind(rid)
        .bind(users_delta)
        .bind(messages.len() as i64)
        .bind(m.ts.0),
        None => tx::query(
            "UPDATE rooms SET users_count = users_count + $2, updated_at = $3, seq = seq + 1 \
             WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
        )
        .bind(rid)
        .bind(users_delta),
    };
    let q = q.bind(now());
    let q = match latest {
        Some(m) => q.bind(m.id.as_str()),
        None => q,
    };
    let row = q
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(room_not_found)?;
    advanced(&row)
}

/// `bump_room` for one posted message: `counts` (a user's message, not a system one) also
/// moves the room's post counter and time, which members' unread state is read from.
pub(crate) async fn bump_room_post(
    tx: &mut Tx<'_>,
    rid: &str,
    message: &Message,
    counts: bool,
) -> Result<Advanced> {
    let shown = message.shown_in_room();
    let row = tx::query(
        "UPDATE rooms SET msgs = msgs + 1, lm = CASE WHEN lm IS NULL OR lm < $2 THEN $2 ELSE lm END, \
         last_mid = CASE WHEN $5 > 0 THEN $6 ELSE last_mid END, \
         updated_at = $3, seq = seq + 1, posts = posts + $4, \
         posted_at = CASE WHEN $4 > 0 THEN $3 ELSE posted_at END \
         WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
    )
    .bind(rid)
    .bind(message.ts.0)
    .bind(now())
    .bind(i64::from(counts))
    .bind(i64::from(shown))
    .bind(message.id.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(room_not_found)?;
    advanced(&row)
}

/// After deleting messages: when the room's last message (`last_mid`) is among `deleted`
/// (a JSON list of ids), the newest message left that shows in the room takes its place. One
/// index walk from the end, past thread-only replies; only when the last message went.
pub(crate) async fn replace_last_message(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    deleted: &str,
) -> Result<()> {
    let shown = match backend {
        Backend::Sqlite => {
            "(json_extract(l.extra, '$.tmid') IS NULL OR json_extract(l.extra, '$.tshow') = 1)"
        }
        Backend::Postgres => {
            "((l.extra::jsonb ->> 'tmid') IS NULL OR (l.extra::jsonb -> 'tshow') = 'true'::jsonb)"
        }
    };
    let c = backend.bytewise();
    let sql = format!(
        "UPDATE rooms SET last_mid = (SELECT l.id FROM messages l WHERE l.rid = $1 AND {shown} \
         ORDER BY l.ts DESC, l.id{c} DESC LIMIT 1) WHERE id = $1 AND last_mid IN ({})",
        json_list(backend, 2)
    );
    tx::query(&sql)
        .bind(rid)
        .bind(deleted)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Takes the room's next event number, for a change that moves no counter.
pub(crate) async fn advance_room(tx: &mut Tx<'_>, rid: &str) -> Result<Advanced> {
    let row = tx::query(
        "UPDATE rooms SET seq = seq + 1 WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
    )
    .bind(rid)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(room_not_found)?;
    advanced(&row)
}

/// Binds every column of `rooms` in `ROOM_FIELDS` order.
fn bind_room<'q>(q: Q<'q>, r: &'q Room, users_count: i64) -> Result<Q<'q>> {
    let creator = r.creator.as_ref();
    Ok(q.bind(r.id.as_str())
        .bind(r.t.as_str())
        .bind(r.name.as_deref())
        .bind(r.fname.as_deref())
        .bind(r.topic.as_deref())
        .bind(r.description.as_deref())
        .bind(r.announcement.as_deref())
        .bind(flag(r.read_only))
        .bind(flag(r.archived))
        .bind(flag(r.default))
        .bind(r.join_code.as_deref())
        .bind(creator.map(|c| c.id.as_str()))
        .bind(creator.map(|c| c.username.as_str()))
        .bind(creator.and_then(|c| c.name.as_deref()))
        .bind(r.msgs)
        .bind(users_count)
        .bind(r.last_message_at.map(|t| t.0))
        .bind(r.created_at.0)
        .bind(r.updated_at.0)
        .bind(to_json(&r.dm_usernames)?)
        .bind(to_json(&r.dm_uids)?)
        .bind(r.subject.as_deref())
        .bind(r.photo_url.as_deref())
        .bind(to_json(&r.welcome_messages)?)
        .bind(to_json(&r.custom)?)
        .bind(flag(r.guest_access))
        .bind(r.origin.as_str())
        .bind(flag(r.encrypted))
        .bind(r.prid.as_deref())
        .bind(r.pmid.as_deref()))
}

/// `RoomChange::Create`: the room row and its first members (duplicates by user dropped). The
/// room's first event number follows whatever events a deleted room of the same id left (a
/// direct message or a client-chosen conversation id made again), so `(rid, seq)` never
/// repeats; for a new id it is 1. `queued` is the last number of such events still queued for
/// the batch's end (`EventQueue`, SQLite), which `room_events` does not hold yet.
pub(crate) async fn create(
    tx: &mut Tx<'_>,
    backend: Backend,
    room: Room,
    members: Vec<Subscription>,
    queued: i64,
) -> Result<Applied> {
    static INSERT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO rooms ({}) VALUES ({})",
            ROOM_FIELDS.join(", "),
            placeholders(1, ROOM_FIELDS.len())
        )
    });
    let mut seen = HashSet::new();
    let members: Vec<Subscription> = members
        .into_iter()
        .filter(|s| seen.insert(s.u.id.clone()))
        .map(|mut s| {
            s.rid.clone_from(&room.id);
            s
        })
        .collect();
    // usersCount is what this transaction writes, whatever the caller's copy says.
    bind_room(tx::query(INSERT.as_str()), &room, members.len() as i64)?
        .execute(&mut *tx)
        .await
        .map_err(|e| room_err(e, &room))?;
    // Numbered by a statement of its own: on PostgreSQL an insert that waited for a concurrent
    // deletion of the same id to commit still reads with the snapshot it began with, which
    // lacks that deletion's event; this statement begins after, and sees it.
    let row = tx::query(
        "UPDATE rooms SET seq = (SELECT max(s) + 1 FROM \
         (SELECT max(e.seq) AS s FROM room_events e WHERE e.rid = $1 UNION ALL SELECT $2) x) \
         WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
    )
    .bind(room.id.as_str())
    .bind(queued)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let advanced = advanced(&row)?;
    let subs: Vec<&Subscription> = members.iter().collect();
    insert_subscriptions(tx, backend, &room.id, &subs, false).await?;
    let mut items = Vec::with_capacity(members.len() + 1);
    items.push(RoomEventItem::RoomCreated {
        room: Box::new(advanced.counters.apply(room)),
    });
    items.extend(members.into_iter().map(|s| RoomEventItem::MemberAdded {
        subscription: Box::new(s),
    }));
    Ok(Applied {
        items,
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: None,
    })
}

/// `RoomChange::UpdateRoom`: the room's settings (not its counters), its memberships' copies
/// of its type and name, and the system message if any.
pub(crate) async fn update(
    tx: &mut Tx<'_>,
    backend: Backend,
    room: Room,
    message: Option<Message>,
    guest_access: Option<bool>,
) -> Result<Applied> {
    let Some(old) = lock_room(tx, backend, &room.id).await? else {
        return Err(room_not_found());
    };
    tx::query(
        "UPDATE rooms SET name = $2, fname = $3, topic = $4, description = $5, announcement = $6, read_only = $7, \
         archived = $8, is_default = $9, join_code = $10, t = $11, subject = $12, photo_url = $13, \
         welcome_messages = $14, custom = $15, guest_access = $16, updated_at = $17, encrypted = $18 WHERE id = $1",
    )
    .bind(room.id.as_str())
    .bind(room.name.as_deref())
    .bind(room.fname.as_deref())
    .bind(room.topic.as_deref())
    .bind(room.description.as_deref())
    .bind(room.announcement.as_deref())
    .bind(flag(room.read_only))
    .bind(flag(room.archived))
    .bind(flag(room.default))
    .bind(room.join_code.as_deref())
    .bind(room.t.as_str())
    .bind(room.subject.as_deref())
    .bind(room.photo_url.as_deref())
    .bind(to_json(&room.welcome_messages)?)
    .bind(to_json(&room.custom)?)
    .bind(flag(room.guest_access))
    .bind(room.updated_at.0)
    .bind(flag(room.encrypted))
    .execute(&mut *tx)
    .await
    .map_err(|e| room_err(e, &room))?;
    // Memberships copy the room's type and (except in direct messages, where each member
    // sees the others' names) its name: keep them in step.
    let ts = now();
    if room.t == RoomType::Direct {
        if old.t != room.t.as_str() {
            tx::query("UPDATE subscriptions SET t = $2, updated_at = $3 WHERE rid = $1")
                .bind(room.id.as_str())
                .bind(room.t.as_str())
                .bind(ts)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
    } else if old.t != room.t.as_str() || old.name != room.name || old.fname != room.fname {
        tx::query(
            "UPDATE subscriptions SET t = $2, name = $3, fname = $4, updated_at = $5 WHERE rid = $1",
        )
        .bind(room.id.as_str())
        .bind(room.t.as_str())
        .bind(room.name.clone().unwrap_or_default())
        .bind(room.fname.as_deref())
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    let advanced = match &message {
        Some(m) => insert_and_bump(tx, backend, &room.id, 0, &[m]).await?,
        None => advance_room(tx, &room.id).await?,
    };
    // The room as it now is: the caller's settings, the counters this transaction left.
    let mut items = vec![RoomEventItem::RoomUpdated {
        room: Box::new(advanced.counters.apply(room)),
    }];
    if let Some(allowed) = guest_access {
        items.push(RoomEventItem::GuestAccessChanged { allowed });
    }
    let moved = message.is_some();
    if let Some(m) = message {
        items.push(RoomEventItem::MessageCreated {
            message: Box::new(m),
        });
    }
    Ok(Applied {
        items,
        seq: advanced.seq,
        counters: moved.then_some(advanced.counters),
        staged: None,
    })
}

/// `RoomChange::DeleteRoom`: the room, its memberships and messages; `None` if there is no
/// such room. The event takes its number before the row goes.
pub(crate) async fn delete(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
) -> Result<Option<Applied>> {
    if lock_room(tx, backend, rid).await?.is_none() {
        return Ok(None);
    }
    let advanced = advance_room(tx, rid).await?;
    // Every member's membership ends with the room: `subscriptions/get` reports it.
    tx::query(
        "INSERT INTO subscription_removals (id, rid, uid, removed_at) \
         SELECT id, rid, uid, $2 FROM subscriptions WHERE rid = $1",
    )
    .bind(rid)
    .bind(now())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    // Explicit rather than by cascade, so the outcome does not hang on a pragma.
    for sql in [
        "DELETE FROM messages WHERE rid = $1",
        "DELETE FROM subscriptions WHERE rid = $1",
        // A room made again with this id (a direct message) starts with no bans or links.
        "DELETE FROM room_bans WHERE rid = $1",
        "DELETE FROM invites WHERE rid = $1",
        "DELETE FROM rooms WHERE id = $1",
    ] {
        tx::query(sql)
            .bind(rid)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    Ok(Some(Applied {
        items: vec![RoomEventItem::RoomDeleted],
        seq: advanced.seq,
        counters: None,
        staged: None,
    }))
}

impl SqlStore {
    async fn room_where(&self, condition: &str, key: &str) -> Result<Option<Room>> {
        let sql = format!("SELECT {} FROM rooms r WHERE {condition}", *ROOM_COLS);
        self.fetch_optional(&sql, &[Value::from(key)], rows::room)
            .await
    }
}

#[async_trait]
impl RoomStore for SqlStore {
    async fn room_by_id(&self, id: &str) -> Result<Option<Room>> {
        if let Some((hit, _)) = self.caches.rooms.get(id) {
            return Ok(Some(hit));
        }
        let ticket = self.caches.rooms.ticket();
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {}, r.seq FROM rooms r WHERE r.id = $1", *ROOM_COLS));
        let found = self
            .fetch_optional(&SQL, &[Value::from(id)], |row| {
                Ok((rows::room(row)?, row.int(ROOM_FIELDS.len())?))
            })
            .await?;
        let Some((room, seq)) = found else {
            return Ok(None);
        };
        self.caches
            .rooms
            .fill_versioned(id, room.clone(), seq, ticket);
        Ok(Some(room))
    }

    async fn room_by_name(&self, name: &str) -> Result<Option<Room>> {
        self.room_where("r.name = $1", name).await
    }

    async fn list_rooms(&self, query: &RoomQuery) -> Result<Page<Room>> {
        let mut conditions: Vec<String> = vec![];
        let mut binds: Vec<String> = vec![];
        if !query.types.is_empty() {
            let start = binds.len() + 1;
            binds.extend(query.types.iter().map(|t| t.as_str().to_string()));
            conditions.push(format!(
                "r.t IN ({})",
                placeholders(start, query.types.len())
            ));
        }
        if let Some(uid) = &query.member {
            binds.push(uid.clone());
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM subscriptions s WHERE s.rid = r.id AND s.uid = ${})",
                binds.len()
            ));
        }
        if let Some(text) = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            binds.push(contains_pattern(text));
            conditions.push(format!("lower(r.name) LIKE ${} ESCAPE '\\'", binds.len()));
        }
        for (column, value) in [("prid", &query.prid), ("pmid", &query.pmid)] {
            if let Some(value) = value {
                binds.push(value.clone());
                conditions.push(format!("r.{column} = ${}", binds.len()));
            }
        }
        if let Some(ids) = &query.ids {
            if ids.is_empty() {
                return Ok(Page {
                    items: vec![],
                    total: 0,
                });
            }
            binds.push(to_json(ids)?);
            conditions.push(format!(
                "r.id IN ({})",
                json_list(self.db.backend, binds.len())
            ));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let dir = if query.sort_desc { "DESC" } else { "ASC" };
        // Discussions have generated names: they are listed by the name people gave them.
        let order = if query.prid.is_some() {
            "fname"
        } else {
            "name"
        };
        let count_sql = self
            .db
            .backend
            .sql(format!("SELECT count(*) FROM rooms r{filter}"));
        let page_sql = self.db.backend.sql(format!(
            "SELECT {} FROM rooms r{filter} ORDER BY r.{order} {dir} NULLS LAST, r.id {dir}{}",
            *ROOM_COLS,
            self.db.backend.page(&query.paging)
        ));
        let mut count_q = sqlx::query(&count_sql);
        let mut page_q = sqlx::query(&page_sql);
        for b in &binds {
            count_q = count_q.bind(b.as_str());
            page_q = page_q.bind(b.as_str());
        }
        let persistent = query.ids.is_none();
        let total = rows::count(
            &count_q
                .persistent(persistent)
                .fetch_one(self.db.reader())
                .await
                .map_err(db_err)?,
        )?;
        let items = rows::all(
            &page_q
                .persistent(persistent)
                .fetch_all(self.db.reader())
                .await
                .map_err(db_err)?,
            rows::room,
        )?;
        Ok(Page { items, total })
    }

    async fn default_rooms(&self) -> Result<Vec<Room>> {
        let sql = format!(
            "SELECT {} FROM rooms r WHERE r.is_default = 1 ORDER BY r.name, r.id",
            *ROOM_COLS
        );
        let found = sqlx::query(&sql)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, rows::room)
    }
}
