//! What the TalkJS-style API needs beyond the Rocket.Chat one: conversations (rooms) in activity
//! order with a cursor, optionally one member's with their membership; users in id order; batch
//! user upserts; messages by idempotency key and newest-first history after a cursor message.
//!
//! Cursors name the last row of the previous page and the next page continues strictly after it
//! in the listing's order. Conversations and messages look the cursor row up to learn where it
//! sorts, so a cursor naming no such row (deleted meanwhile, or never there) is
//! `Error::Invalid` with code `INVALID_CURSOR`; users sort by id alone, so any id is a cursor.
//! Ids sort bytewise on both backends (`Backend::bytewise`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use huddle_core::store::{ConversationQuery, ConversationStore};
use huddle_core::{Message, Result, Room, Subscription, User};

use crate::errors::{db_err, invalid_cursor, user_err};
use crate::rows::{self, MESSAGE_COLS, ROOM_COLS, SUB_COLS_R, USER_COLS, USER_FIELDS};
use crate::sql::{insert_json_rows, json_list, placeholders, to_json};
use crate::tx::{self, Value};
use crate::users::bind_user;
use crate::SqlStore;

/// A conversation's activity: its newest message, else its creation. Spelled exactly as the
/// `rooms_activity` index is, so both planners recognise the expression and walk the index.
const ACTIVITY: &str = "COALESCE(r.lm, r.created_at)";

/// One `user_roles` row as the JSON object `insert_json_rows` reads.
#[derive(serde::Serialize)]
struct RoleRow<'a> {
    user_id: &'a str,
    role: &'a str,
}

impl SqlStore {
    /// Where a conversation sorts: its activity, or `None` if there is no such room.
    async fn room_activity(&self, id: &str) -> Result<Option<i64>> {
        self.fetch_optional(
            "SELECT COALESCE(lm, created_at) FROM rooms WHERE id = $1",
            &[Value::from(id)],
            |row| row.int(0),
        )
        .await
    }
}

#[async_trait]
impl ConversationStore for SqlStore {
    /// `unread_only` means something only with `member` and is ignored without. The
    /// `last_message_*` bounds are strict and leave out rooms without messages. Activity is
    /// `COALESCE(lm, created_at)`: a page is read straight off the `rooms_activity` index (all
    /// conversations), or off the member's memberships (`subscriptions_uid`) joined to their
    /// rooms, whichever the planner finds cheaper. A conversation whose activity changes
    /// between two pages moves: it may show up twice or be skipped, as with any cursor over a
    /// changing order.
    async fn list_conversations(
        &self,
        query: &ConversationQuery,
    ) -> Result<Vec<(Room, Option<Subscription>)>> {
        let c = self.db.backend.bytewise();
        let mut binds: Vec<Value> = vec![];
        let mut conditions: Vec<String> = vec![];
        let (select, from) = match &query.member {
            Some(uid) => {
                binds.push(Value::from(uid));
                if query.unread_only {
                    // As `SUB_COLS_R` computes them: a post not seen yet is unread.
                    conditions
                        .push("(s.unread > 0 OR s.alert = 1 OR r.posts > s.posts_seen)".into());
                }
                (
                    format!("{}, {}", *ROOM_COLS, *SUB_COLS_R),
                    "rooms r JOIN subscriptions s ON s.rid = r.id AND s.uid = $1",
                )
            }
            None => (ROOM_COLS.clone(), "rooms r"),
        };
        // A room with lm has activity lm: each bound is also stated on the activity, which gives
        // the index a range to walk instead of a filter over every room.
        if let Some(before) = query.last_message_before {
            binds.push(Value::Int(before.0));
            let n = binds.len();
            conditions.push(format!("r.lm < ${n} AND {ACTIVITY} < ${n}"));
        }
        if let Some(after) = query.last_message_after {
            binds.push(Value::Int(after.0));
            let n = binds.len();
            conditions.push(format!("r.lm > ${n} AND {ACTIVITY} > ${n}"));
        }
        if let Some(cursor) = &query.starting_after {
            let activity = self
                .room_activity(cursor)
                .await?
                .ok_or_else(|| invalid_cursor("conversation", cursor))?;
            binds.push(Value::Int(activity));
            let a = binds.len();
            binds.push(Value::from(cursor));
            let id = binds.len();
            // Activity descending, id ascending: the first conjunct bounds the index walk, the
            // second drops the rows of the cursor's own activity up to and including it.
            conditions.push(format!(
                "{ACTIVITY} <= ${a} AND ({ACTIVITY} < ${a} OR r.id{c} > ${id})"
            ));
        }
        binds.push(Value::Int(query.limit.max(0)));
        let limit = binds.len();
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {select} FROM {from}{filter} ORDER BY {ACTIVITY} DESC, r.id{c} ASC LIMIT ${limit}"
        );
        self.fetch(&sql, &binds, |row| {
            let sub = match query.member {
                Some(_) => Some(rows::subscription(row)?),
                None => None,
            };
            Ok((rows::room(row)?, sub))
        })
        .await
    }

    async fn list_users_after(
        &self,
        starting_after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        let c = self.db.backend.bytewise();
        let (filter, limit_at) = match starting_after {
            Some(_) => (format!(" WHERE u.id{c} > $1"), 2),
            None => (String::new(), 1),
        };
        let sql = format!(
            "SELECT {} FROM users u{filter} ORDER BY u.id{c} LIMIT ${limit_at}",
            *USER_COLS
        );
        let mut args: Vec<Value> = starting_after.map(Value::from).into_iter().collect();
        args.push(Value::Int(limit.max(0)));
        self.fetch(&sql, &args, rows::user).await
    }

    /// One transaction: every user is inserted or has every field overwritten, their global
    /// roles replaced and their memberships follow a rename, or nothing at all is written (the
    /// first taken username or email fails the batch with `error-field-unavailable`, naming
    /// it). A user listed twice is written once, as listed last. Users are written in id
    /// order, so concurrent batches lock rows in one order (PostgreSQL). One upsert statement
    /// per user, which lets a conflict name its user; batches are small (the service allows
    /// 100).
    async fn upsert_users(&self, users: &[User]) -> Result<()> {
        let uids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let latest: BTreeMap<String, User> =
            users.iter().map(|u| (u.id.clone(), u.clone())).collect();
        if latest.is_empty() {
            return Ok(());
        }
        let b = self.db.backend;
        let sets = USER_FIELDS
            .iter()
            .skip(1)
            .map(|f| format!("{f} = excluded.{f}"))
            .collect::<Vec<_>>()
            .join(", ");
        let upsert = format!(
            "INSERT INTO users ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {sets}",
            USER_FIELDS.join(", "),
            placeholders(1, USER_FIELDS.len())
        );
        let out = self.db.write(move |tx| Box::pin(async move {
        for user in latest.values() {
            bind_user(tx::query(&upsert), user)?
                .execute(&mut *tx)
                .await
                .map_err(|e| user_err(e, user))?;
        }
        let ids = to_json(&latest.keys().collect::<Vec<_>>())?;
        let roles: Vec<RoleRow> = latest
            .values()
            .flat_map(|u| {
                u.roles.iter().map(|r| RoleRow {
                    user_id: &u.id,
                    role: r,
                })
            })
            .collect();
        let list = json_list(b, 1);
        // The searchable copy of the roles is replaced wholesale.
        let delete = format!("DELETE FROM user_roles WHERE user_id IN ({list})");
        // Memberships carry username and name (member lists sort by them): follow a rename,
        // touching only the rows that differ (as update_user does).
        let follow = format!(
            "UPDATE subscriptions SET u_username = COALESCE(u.username, ''), u_name = u.name FROM users u \
             WHERE u.id = subscriptions.uid AND subscriptions.uid IN ({list}) AND \
             (subscriptions.u_username <> COALESCE(u.username, '') OR subscriptions.u_name IS NULL OR subscriptions.u_name <> u.name)"
        );
        let mut renamed = false;
        for (sql, is_follow) in [(delete, false), (follow, true)] {
            let done = tx::query(&sql)
                .bind(ids.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            renamed |= is_follow && done.rows_affected() > 0;
        }
        if !roles.is_empty() {
            let sql = format!(
                "{} ON CONFLICT (user_id, role) DO NOTHING",
                insert_json_rows(b, "user_roles", &["user_id", "role"])
            );
            tx::query(&sql)
                .bind(to_json(&roles)?)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        Ok(renamed)
        })).await;
        self.caches
            .tokens
            .invalidate_where(|(u, _)| uids.contains(&u.id));
        if matches!(out, Ok(true)) {
            // Member indexes are keyed by username: a rename reorders them.
            self.members.invalidate_all();
        }
        out.map(|_| ())
    }

    async fn message_by_idempotency_key(&self, rid: &str, key: &str) -> Result<Option<Message>> {
        let sql = format!(
            "SELECT {} FROM messages m WHERE m.rid = $1 AND m.idempotency_key = $2",
            *MESSAGE_COLS
        );
        self.fetch_optional(&sql, &[Value::from(rid), Value::from(key)], rows::message)
            .await
    }

    /// Newest first (`ts` descending, then id descending), strictly past the cursor message,
    /// which must be a message of this room. Walks `messages_rid_ts_id` backwards.
    async fn list_messages_after(
        &self,
        rid: &str,
        starting_after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let c = self.db.backend.bytewise();
        let mut binds = vec![Value::from(rid)];
        let mut filter = "m.rid = $1".to_string();
        if let Some(cursor) = starting_after {
            let ts = self
                .fetch_optional(
                    "SELECT ts FROM messages WHERE id = $1 AND rid = $2",
                    &[Value::from(cursor), Value::from(rid)],
                    |row| row.int(0),
                )
                .await?
                .ok_or_else(|| invalid_cursor("message", cursor))?;
            binds.push(Value::Int(ts));
            binds.push(Value::from(cursor));
            filter.push_str(&format!(" AND m.ts <= $2 AND (m.ts < $2 OR m.id{c} < $3)"));
        }
        binds.push(Value::Int(limit.max(0)));
        let sql = format!(
            "SELECT {} FROM messages m WHERE {filter} ORDER BY m.ts DESC, m.id{c} DESC LIMIT ${}",
            *MESSAGE_COLS,
            binds.len()
        );
        self.fetch(&sql, &binds, rows::message).await
    }

    async fn latest_messages(&self, rids: &[String]) -> Result<Vec<Message>> {
        if rids.is_empty() {
            return Ok(vec![]);
        }
        // The write path keeps each room's last message id (`rooms.last_mid`).
        let sql = format!(
            "SELECT {} FROM rooms r JOIN messages m ON m.id = r.last_mid WHERE r.id IN ({})",
            *MESSAGE_COLS,
            crate::sql::json_list(self.db.backend, 1)
        );
        let list = crate::sql::to_json(&rids)?;
        self.fetch(&sql, &[Value::from(&list)], rows::message).await
    }
}
