//! Memberships (the `subscriptions` table): the membership changes of the write path (`add`,
//! `remove`, `update_member`, run by `room_writes`: members with their system messages and the
//! room counters in one transaction), read state, room roles, member lists.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use huddle_core::store::{MembershipStore, NewMember, Reader, Removal, RoomEventItem};
use huddle_core::{
    Error, Member, MemberEntry, MemberQuery, Message, Page, Result, Subscription, Timestamp,
};
use serde::Serialize;

use crate::errors::{db_err, reference_err, room_not_found};
use crate::member_index::{Key, MemberIndexes};
use crate::messages::insert_and_bump;
use crate::pool::Backend;
use crate::room_writes::Applied;
use crate::rooms::{advance_room, claim_room, room_missing};
use crate::rows::{self, SUB_COLS, SUB_FIELDS, SUB_ROOM};
use crate::sql::{escape_like, flag, insert_values_sql, now, to_json, CHUNK};
use crate::tx::{self, GetRow, Tx, Value};
use crate::{SqlStore, Q};

/// One `subscriptions` row as the JSON object `insert_json_rows` reads (keys = `SUB_FIELDS`).
#[derive(Serialize)]
struct SubRow<'a> {
    id: &'a str,
    rid: &'a str,
    uid: &'a str,
    u_username: &'a str,
    u_name: Option<&'a str>,
    t: &'a str,
    name: &'a str,
    fname: Option<&'a str>,
    ts: i64,
    ls: Option<i64>,
    open: i64,
    alert: i64,
    unread: i64,
    user_mentions: i64,
    group_mentions: i64,
    roles: String,
    access: &'a str,
    notify: &'a str,
    revoked_at: Option<i64>,
    updated_at: i64,
    f: i64,
    ignored: String,
}

impl<'a> SubRow<'a> {
    fn new(rid: &'a str, s: &'a Subscription) -> Result<Self> {
        Ok(SubRow {
            id: &s.id,
            rid,
            uid: &s.u.id,
            u_username: &s.u.username,
            u_name: s.u.name.as_deref(),
            t: s.t.as_str(),
            name: &s.name,
            fname: s.fname.as_deref(),
            ts: s.ts.0,
            ls: s.ls.map(|t| t.0),
            open: flag(s.open),
            alert: flag(s.alert),
            unread: s.unread,
            user_mentions: s.user_mentions,
            group_mentions: s.group_mentions,
            roles: to_json(&s.roles)?,
            access: s.access.as_str(),
            notify: &s.notify,
            revoked_at: s.revoked_at.map(|t| t.0),
            updated_at: s.updated_at.0,
            f: flag(s.favorite),
            ignored: to_json(&s.ignored)?,
        })
    }
}

/// Inserts memberships of room `rid` (whatever their own `rid` says), skipping users who are
/// members already. Returns the user ids inserted.
///
/// PostgreSQL gets every row in one statement as one JSON parameter. SQLite gets multi-row
/// `VALUES` of `CHUNK` rows: its JSON functions re-parse each row's object once per column
/// (measured 4x slower for 10,000 rows), so instead every full chunk and every single row reuse
/// one cached statement each (`persistent`), and only a last, shorter chunk is parsed per call.
///
/// With `skip_banned` (SQLite only; PostgreSQL's caller reads the bans itself) users banned
/// from the room are skipped by the same statement, not read by one more round trip.
pub(crate) async fn insert_subscriptions(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    subs: &[&Subscription],
    skip_banned: bool,
) -> Result<Vec<String>> {
    if subs.is_empty() {
        return Ok(vec![]);
    }
    const SUFFIX: &str = " ON CONFLICT (rid, uid) DO NOTHING RETURNING uid";
    let inserted = match backend {
        Backend::Postgres => {
            let rows = subs
                .iter()
                .map(|s| SubRow::new(rid, s))
                .collect::<Result<Vec<_>>>()?;
            static SQL: LazyLock<String> = LazyLock::new(|| {
                let cols = SUB_FIELDS.join(", ");
                format!(
                    "INSERT INTO subscriptions ({cols}, posts_seen) SELECT {cols}, {SEEN_NOW} \
                     FROM jsonb_populate_recordset(NULL::subscriptions, $1::jsonb) WHERE true{SUFFIX}"
                )
            });
            tx::query(&SQL)
                .bind(to_json(&rows)?)
                .bind(rid)
                .fetch_all(&mut *tx)
                .await
                .map_err(reference_err)?
        }
        Backend::Sqlite => {
            static FULL: LazyLock<[String; 2]> =
                LazyLock::new(|| [false, true].map(|skip| insert_subscriptions_sql(CHUNK, skip)));
            // One row is every single invite, join and room creation: built once, not per call.
            static ONE: LazyLock<[String; 2]> =
                LazyLock::new(|| [false, true].map(|skip| insert_subscriptions_sql(1, skip)));
            let variant = usize::from(skip_banned);
            let mut inserted = Vec::with_capacity(subs.len());
            for chunk in subs.chunks(CHUNK) {
                let short;
                let sql = match chunk.len() {
                    CHUNK => FULL[variant].as_str(),
                    1 => ONE[variant].as_str(),
                    n => {
                        short = insert_subscriptions_sql(n, skip_banned);
                        short.as_str()
                    }
                };
                // The room's `?` comes first in the statement's text, and last for the bans.
                let mut q = tx::query(sql).bind(rid);
                for s in chunk {
                    q = bind_sub(q, rid, s)?;
                }
                if skip_banned {
                    q = q.bind(rid);
                }
                inserted.extend(
                    // Cached: the full chunk's statement and the single row.
                    q.persistent(chunk.len() == CHUNK || chunk.len() == 1)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(reference_err)?,
                );
            }
            inserted
        }
    };
    inserted
        .iter()
        .map(|row| row.try_get::<String, _>(0usize).map_err(db_err))
        .collect()
}

/// A new membership has seen every post of its room so far (`rooms.posts`): its unread state
/// is what the service gave it, not the room's history. A missing room reads 0 here and fails
/// on the foreign key as before.
const SEEN_NOW: &str = "COALESCE((SELECT posts FROM rooms WHERE id = $2), 0)";

/// SQLite's multi-row insert of `rows` memberships of one room (the first parameter), with the
/// room's post counter as their `posts_seen` (one lookup per statement: the subquery does not
/// depend on the row), skipping users banned from it if `skip_banned` (`column3` is the uid of
/// the `VALUES` row; the room is the statement's last parameter).
fn insert_subscriptions_sql(rows: usize, skip_banned: bool) -> String {
    let values = insert_values_sql("subscriptions", SUB_FIELDS, rows, "");
    let values = values
        .split_once(" VALUES ")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let banned = if skip_banned {
        " AND NOT EXISTS (SELECT 1 FROM room_bans b WHERE b.rid = ? AND b.uid = v.column3)"
    } else {
        ""
    };
    format!(
        "INSERT INTO subscriptions ({}, posts_seen) SELECT v.*, \
         COALESCE((SELECT posts FROM rooms WHERE id = ?), 0) FROM (VALUES {values}) v \
         WHERE true{banned} ON CONFLICT (rid, uid) DO NOTHING RETURNING uid",
        SUB_FIELDS.join(", ")
    )
}

/// Binds one membership's columns in `SUB_FIELDS` order.
fn bind_sub<'q>(q: Q<'q>, rid: &'q str, s: &'q Subscription) -> Result<Q<'q>> {
    Ok(q.bind(s.id.as_str())
        .bind(rid)
        .bind(s.u.id.as_str())
        .bind(s.u.username.as_str())
        .bind(s.u.name.as_deref())
        .bind(s.t.as_str())
        .bind(s.name.as_str())
        .bind(s.fname.as_deref())
        .bind(s.ts.0)
        .bind(s.ls.map(|t| t.0))
        .bind(flag(s.open))
        .bind(flag(s.alert))
        .bind(s.unread)
        .bind(s.user_mentions)
        .bind(s.group_mentions)
        .bind(to_json(&s.roles)?)
        .bind(s.access.as_str())
        .bind(s.notify.as_str())
        .bind(s.revoked_at.map(|t| t.0))
        .bind(s.updated_at.0)
        .bind(flag(s.favorite))
        .bind(to_json(&s.ignored)?))
}

/// `RoomChange::AddMembers`: the memberships that do not exist yet (the room lock makes
/// concurrent adds to one room queue, PostgreSQL; on conflict the insert skips who is already
/// in, so each user is added exactly once), each with its system message; `None` if nobody was
/// added. `members` holds one entry per user.
pub(crate) async fn add(
    tx: &mut Tx<'_>,
    backend: Backend,
    indexes: &Arc<MemberIndexes>,
    rid: &str,
    members: Vec<NewMember>,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Err(room_not_found());
    }
    // Never a banned user: read while the room is held (a ban takes the room too), so a ban
    // that won a race with this add keeps its user out. Lifting a ban is a change of its own.
    // SQLite's insert skips them itself (its single writer holds the room for the statement).
    let members: Vec<NewMember> = match backend {
        Backend::Sqlite => members,
        Backend::Postgres => {
            let asked: Vec<&str> = members
                .iter()
                .map(|m| m.subscription.u.id.as_str())
                .collect();
            let banned = crate::bans::banned_in_tx(tx, backend, rid, &asked).await?;
            members
                .into_iter()
                .filter(|m| !banned.contains(&m.subscription.u.id))
                .collect()
        }
    };
    let subs: Vec<&Subscription> = members.iter().map(|m| &m.subscription).collect();
    let skip_banned = backend == Backend::Sqlite;
    let added: HashSet<String> = match insert_subscriptions(tx, backend, rid, &subs, skip_banned)
        .await
    {
        Ok(added) => added.into_iter().collect(),
        // A foreign key: the room (unread so far on SQLite) or a user is gone.
        Err(Error::NotFound(_)) if backend == Backend::Sqlite && room_missing(tx, rid).await? => {
            return Err(room_not_found());
        }
        Err(e) => return Err(e),
    };
    if added.is_empty() {
        return Ok(None);
    }
    // Staged after the room's serialization point; applied by the caller once the group
    // commit answered (dropped unfinished, it marks the index stale).
    let staged = indexes.stage(
        rid,
        subs.iter()
            .filter(|s| added.contains(&s.u.id))
            .map(|s| (Key::new(&s.u.username, &s.u.id), true)),
    );
    let messages: Vec<&Message> = members
        .iter()
        .filter(|m| added.contains(&m.subscription.u.id))
        .filter_map(|m| m.message.as_ref())
        .collect();
    let advanced = insert_and_bump(tx, backend, rid, added.len() as i64, &messages).await?;
    // Each added member, then its message, in the order asked.
    let mut items = Vec::with_capacity(added.len() * 2);
    for m in members {
        if !added.contains(&m.subscription.u.id) {
            continue;
        }
        let mut subscription = m.subscription;
        subscription.rid = rid.to_string();
        items.push(RoomEventItem::MemberAdded {
            subscription: Box::new(subscription),
        });
        if let Some(message) = m.message {
            items.push(RoomEventItem::MessageCreated {
                message: Box::new(message),
            });
        }
    }
    Ok(Some(Applied {
        items,
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: Some(staged),
    }))
}

/// `RoomChange::RemoveMember`: the membership and its system message; `None` if there was no
/// such membership (or no such room).
pub(crate) async fn remove(
    tx: &mut Tx<'_>,
    backend: Backend,
    indexes: &Arc<MemberIndexes>,
    rid: &str,
    uid: String,
    message: Option<Message>,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Ok(None);
    }
    // The removal record (read by `subscriptions.get?updatedSince`) first, copied from the row
    // the next statement deletes.
    tx::query(
        "INSERT INTO subscription_removals (id, rid, uid, removed_at) \
         SELECT id, rid, uid, $3 FROM subscriptions WHERE rid = $1 AND uid = $2",
    )
    .bind(rid)
    .bind(uid.as_str())
    .bind(now())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let done =
        tx::query("DELETE FROM subscriptions WHERE rid = $1 AND uid = $2 RETURNING u_username")
            .bind(rid)
            .bind(uid.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
    let Some(done) = done else {
        return Ok(None);
    };
    let username: String = done.try_get(0usize).map_err(db_err)?;
    let staged = indexes.stage(rid, [(Key::new(&username, &uid), false)]);
    let messages: Vec<&Message> = message.iter().collect();
    let advanced = insert_and_bump(tx, backend, rid, -1, &messages).await?;
    let mut items = vec![RoomEventItem::MemberRemoved { uid }];
    if let Some(message) = message {
        items.push(RoomEventItem::MessageCreated {
            message: Box::new(message),
        });
    }
    Ok(Some(Applied {
        items,
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: Some(staged),
    }))
}

/// `RoomChange::UpdateMember`: read state, roles, access and notify of an existing membership
/// of `rid`, with an optional system message. No such membership is `error-invalid-subscription`
/// (no such room too, unless a message was to be posted: then it is the room that is missing).
pub(crate) async fn update_member(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    mut sub: Subscription,
    message: Option<Message>,
) -> Result<Applied> {
    let missing = || {
        if message.is_some() {
            room_not_found()
        } else {
            invalid_subscription()
        }
    };
    if !claim_room(tx, backend, rid).await? {
        return Err(missing());
    }
    sub.rid = rid.to_string();
    let done = tx::query(
        "UPDATE subscriptions SET ls = $3, open = $4, alert = $5, unread = $6, user_mentions = $7, \
         group_mentions = $8, roles = $9, access = $10, notify = $11, revoked_at = $12, updated_at = $13, \
         posts_seen = (SELECT posts FROM rooms WHERE id = $1) WHERE rid = $1 AND uid = $2",
    )
    .bind(rid)
    .bind(sub.u.id.as_str())
    .bind(sub.ls.map(|t| t.0))
    .bind(flag(sub.open))
    .bind(flag(sub.alert))
    .bind(sub.unread)
    .bind(sub.user_mentions)
    .bind(sub.group_mentions)
    .bind(to_json(&sub.roles)?)
    .bind(sub.access.as_str())
    .bind(sub.notify.as_str())
    .bind(sub.revoked_at.map(|t| t.0))
    .bind(sub.updated_at.0)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        if backend == Backend::Sqlite && room_missing(tx, rid).await? {
            return Err(missing());
        }
        return Err(invalid_subscription());
    }
    let advanced = match &message {
        Some(m) => insert_and_bump(tx, backend, rid, 0, &[m]).await?,
        None => advance_room(tx, rid).await?,
    };
    let moved = message.is_some();
    let mut items = vec![RoomEventItem::MemberUpdated {
        subscription: Box::new(sub),
    }];
    if let Some(message) = message {
        items.push(RoomEventItem::MessageCreated {
            message: Box::new(message),
        });
    }
    Ok(Applied {
        items,
        seq: advanced.seq,
        counters: moved.then_some(advanced.counters),
        staged: None,
    })
}

fn invalid_subscription() -> Error {
    Error::invalid("error-invalid-subscription", "Invalid subscription")
}

#[async_trait]
impl MembershipStore for SqlStore {
    async fn subscription(&self, rid: &str, uid: &str) -> Result<Option<Subscription>> {
        let sql = format!(
            "SELECT {} FROM subscriptions s {SUB_ROOM} WHERE s.rid = $1 AND s.uid = $2",
            *SUB_COLS
        );
        self.fetch_optional(
            &sql,
            &[Value::from(rid), Value::from(uid)],
            rows::subscription,
        )
        .await
    }

    async fn list_members(&self, rid: &str, query: &MemberQuery) -> Result<Page<Member>> {
        self.members_full(rid, query).await
    }

    async fn list_member_entries(
        &self,
        rid: &str,
        query: &MemberQuery,
    ) -> Result<Page<MemberEntry>> {
        self.member_entries(rid, query).await
    }

    async fn members_with_roles(&self, rid: &str) -> Result<Vec<Subscription>> {
        let sql = format!("SELECT {} FROM subscriptions s {SUB_ROOM} WHERE s.rid = $1 AND s.roles <> '[]' ORDER BY s.u_username, s.uid", *SUB_COLS);
        let found = sqlx::query(&sql)
            .bind(rid)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows::all(&found, rows::subscription)
    }

    async fn count_role_in_room(&self, rid: &str, role: &str) -> Result<i64> {
        // Roles are a JSON array of strings: look for the role's own JSON spelling, quotes
        // included, so "owner" does not match "co-owner".
        let pattern = format!("%{}%", escape_like(&to_json(role)?));
        let row = sqlx::query(
            "SELECT count(*) FROM subscriptions WHERE rid = $1 AND roles LIKE $2 ESCAPE '\\'",
        )
        .bind(rid)
        .bind(pattern)
        .fetch_one(self.db.reader())
        .await
        .map_err(db_err)?;
        rows::count(&row)
    }

    async fn subscriptions_of_user(
        &self,
        uid: &str,
        updated_since: Option<Timestamp>,
    ) -> Result<Vec<Subscription>> {
        // Changed since: written since, or a post it has not seen came since.
        let since = if updated_since.is_some() {
            " AND (s.updated_at > $2 OR (sr.posts > s.posts_seen AND sr.posted_at > $2))"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {} FROM subscriptions s {SUB_ROOM} WHERE s.uid = $1{since} ORDER BY s.ts, s.rid",
            *SUB_COLS
        );
        let mut args = vec![Value::from(uid)];
        if let Some(t) = updated_since {
            args.push(Value::Int(t.0));
        }
        self.fetch(&sql, &args, rows::subscription).await
    }

    async fn set_own_state(&self, sub: &Subscription) -> Result<bool> {
        let sub = sub.clone();
        self.db.write(move |tx| Box::pin(async move {
        let done = tx::query(
            "UPDATE subscriptions SET ls = $3, open = $4, alert = $5, unread = $6, user_mentions = $7, \
             group_mentions = $8, updated_at = $9, f = $10, ignored = $11, \
             posts_seen = (SELECT posts FROM rooms WHERE id = $1) WHERE rid = $1 AND uid = $2",
        )
        .bind(sub.rid.as_str())
        .bind(sub.u.id.as_str())
        .bind(sub.ls.map(|t| t.0))
        .bind(flag(sub.open))
        .bind(flag(sub.alert))
        .bind(sub.unread)
        .bind(sub.user_mentions)
        .bind(sub.group_mentions)
        .bind(sub.updated_at.0)
        .bind(flag(sub.favorite))
        .bind(to_json(&sub.ignored)?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
        })).await
    }

    async fn mark_read(&self, rid: &str, uid: &str) -> Result<bool> {
        let (rid, uid) = (rid.to_string(), uid.to_string());
        self.db.write(move |tx| Box::pin(async move {
        let ts = now();
        let done = tx::query(
            "UPDATE subscriptions SET unread = 0, alert = 0, user_mentions = 0, group_mentions = 0, ls = $3, updated_at = $3, \
             posts_seen = (SELECT posts FROM rooms WHERE id = $1) WHERE rid = $1 AND uid = $2",
        )
        .bind(rid.as_str())
        .bind(uid.as_str())
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
        })).await
    }

    async fn readers_of(&self, rid: &str, message: &Message, limit: i64) -> Result<Vec<Reader>> {
        // `ls` is the read position: `mark_read` sets it to the moment of reading, so whoever
        // marked the room read at or after the message's time has read it.
        let found = sqlx::query(
            "SELECT uid, u_username, u_name, ls FROM subscriptions \
             WHERE rid = $1 AND ls >= $2 AND uid <> $3 ORDER BY ls, uid LIMIT $4",
        )
        .bind(rid)
        .bind(message.ts.0)
        .bind(message.u.id.as_str())
        .bind(limit.max(0))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|r| {
                Ok(Reader {
                    uid: r.try_get(0usize).map_err(db_err)?,
                    username: r.try_get(1usize).map_err(db_err)?,
                    name: r.try_get(2usize).map_err(db_err)?,
                    read_at: Timestamp(r.try_get(3usize).map_err(db_err)?),
                })
            })
            .collect()
    }

    async fn removals_of_user(&self, uid: &str, since: Timestamp) -> Result<Vec<Removal>> {
        let rows = sqlx::query(
            "SELECT id, rid, removed_at FROM subscription_removals WHERE uid = $1 AND removed_at > $2 \
             ORDER BY removed_at, id",
        )
        .bind(uid)
        .bind(since.0)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Removal {
                    id: r.try_get(0usize).map_err(db_err)?,
                    rid: r.try_get(1usize).map_err(db_err)?,
                    removed_at: Timestamp(r.try_get(2usize).map_err(db_err)?),
                })
            })
            .collect()
    }
}
