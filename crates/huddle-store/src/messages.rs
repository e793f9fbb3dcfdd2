//! Messages: the `messages` table, the message changes of the write path (`post` with the room
//! counters and the other members' unread state in the same transaction, `edit`, `delete`,
//! `react`, run by `room_writes`) and history pages.

use std::sync::LazyLock;

use async_trait::async_trait;
use huddle_core::notify::NotifyFacts;
use huddle_core::store::{
    count_thread_reply, CleanHistory, MessagePatch, MessageStore, RoomEventItem,
};
use huddle_core::{
    Error, Message, MessageFilter, MessageQuery, MessageReport, Page, Paging, Result, Timestamp,
};
use serde::Serialize;

use crate::errors::{db_err, message_err, room_not_found};
use crate::notifications;
use crate::pool::Backend;
use crate::room_writes::Applied;
use crate::rooms::{
    advance_room, advanced, bump_room, bump_room_post, claim_room, room_missing, Advanced,
};
use crate::rows::{self, MESSAGE_COLS, MESSAGE_FIELDS};
use crate::sql::{
    contains_pattern, insert_json_rows, insert_values_sql, json_list, now, to_json, CHUNK,
};
use crate::tx::{self, GetRow, Tx, Value};
use crate::{SqlStore, Q};

/// One `messages` row as the JSON object `insert_json_rows` reads (keys = `MESSAGE_FIELDS`).
#[derive(Serialize)]
struct MessageRow<'a> {
    id: &'a str,
    rid: &'a str,
    msg: &'a str,
    ts: i64,
    u_id: &'a str,
    u_username: &'a str,
    u_name: Option<&'a str>,
    t: Option<&'a str>,
    updated_at: i64,
    edited_at: Option<i64>,
    edited_by_id: Option<&'a str>,
    edited_by_username: Option<&'a str>,
    edited_by_name: Option<&'a str>,
    extra: String,
    idempotency_key: Option<&'a str>,
}

impl<'a> MessageRow<'a> {
    fn new(m: &'a Message) -> Result<Self> {
        let editor = m.edited_by.as_ref();
        Ok(MessageRow {
            id: &m.id,
            rid: &m.rid,
            msg: &m.msg,
            ts: m.ts.0,
            u_id: &m.u.id,
            u_username: &m.u.username,
            u_name: m.u.name.as_deref(),
            t: m.t.as_deref(),
            updated_at: m.updated_at.0,
            edited_at: m.edited_at.map(|t| t.0),
            edited_by_id: editor.map(|e| e.id.as_str()),
            edited_by_username: editor.map(|e| e.username.as_str()),
            edited_by_name: editor.and_then(|e| e.name.as_deref()),
            extra: to_json(&m.extra)?,
            idempotency_key: m.idempotency_key.as_deref(),
        })
    }
}

/// Inserts messages: on PostgreSQL all in one statement (the rows are one JSON parameter), on
/// SQLite in multi-row `VALUES` whose full chunks share one cached statement (as
/// `insert_subscriptions`, and for the same measured reason). Room counters are the caller's
/// business (`bump_room`), since callers batch them with other changes.
pub(crate) async fn insert_messages(
    tx: &mut Tx<'_>,
    backend: Backend,
    messages: &[&Message],
) -> Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        let rows = messages
            .iter()
            .map(|m| MessageRow::new(m))
            .collect::<Result<Vec<_>>>()?;
        tx::query(&insert_json_rows(backend, "messages", MESSAGE_FIELDS))
            .bind(to_json(&rows)?)
            .execute(&mut *tx)
            .await
            .map_err(message_err)?;
        return Ok(());
    }
    static FULL: LazyLock<String> =
        LazyLock::new(|| insert_values_sql("messages", MESSAGE_FIELDS, CHUNK, ""));
    // The single message of every post and membership change: its text built once, not per call.
    static ONE: LazyLock<String> =
        LazyLock::new(|| insert_values_sql("messages", MESSAGE_FIELDS, 1, ""));
    for chunk in messages.chunks(CHUNK) {
        let short;
        let sql = match chunk.len() {
            CHUNK => FULL.as_str(),
            1 => ONE.as_str(),
            n => {
                short = insert_values_sql("messages", MESSAGE_FIELDS, n, "");
                short.as_str()
            }
        };
        let mut q = tx::query(sql);
        for m in chunk {
            q = bind_message(q, m)?;
        }
        // Cached: the full chunk's statement, and the single message of every post.
        q.persistent(chunk.len() == CHUNK || chunk.len() == 1)
            .execute(&mut *tx)
            .await
            .map_err(message_err)?;
    }
    Ok(())
}

fn message_not_found() -> Error {
    Error::invalid("error-message-not-found", "Message not found")
}

/// Binds one message's columns in `MESSAGE_FIELDS` order.
fn bind_message<'q>(q: Q<'q>, m: &'q Message) -> Result<Q<'q>> {
    let editor = m.edited_by.as_ref();
    Ok(q.bind(m.id.as_str())
        .bind(m.rid.as_str())
        .bind(m.msg.as_str())
        .bind(m.ts.0)
        .bind(m.u.id.as_str())
        .bind(m.u.username.as_str())
        .bind(m.u.name.as_deref())
        .bind(m.t.as_deref())
        .bind(m.updated_at.0)
        .bind(m.edited_at.map(|t| t.0))
        .bind(editor.map(|e| e.id.as_str()))
        .bind(editor.map(|e| e.username.as_str()))
        .bind(editor.and_then(|e| e.name.as_deref()))
        .bind(to_json(&m.extra)?)
        .bind(m.idempotency_key.as_deref()))
}

/// `insert_messages` then `bump_room`: what every change that writes its system messages does
/// last.
pub(crate) async fn insert_and_bump(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    users_delta: i64,
    messages: &[&Message],
) -> Result<Advanced> {
    insert_messages(tx, backend, messages).await?;
    bump_room(tx, rid, users_delta, messages).await
}

/// The sender's own membership after their post (`$1` the room): what they had not seen stays
/// unread, the post itself is seen. Runs before the room counts the post.
const SEE_OWN_POST: &str = "UPDATE subscriptions SET \
     unread = CASE WHEN (SELECT posts FROM rooms WHERE id = $1) > posts_seen \
       THEN unread + (SELECT posts FROM rooms WHERE id = $1) - posts_seen ELSE unread END, \
     alert = CASE WHEN (SELECT posts FROM rooms WHERE id = $1) > posts_seen THEN 1 ELSE alert END, \
     updated_at = CASE WHEN (SELECT posts FROM rooms WHERE id = $1) > posts_seen \
       AND (SELECT posted_at FROM rooms WHERE id = $1) > updated_at \
       THEN (SELECT posted_at FROM rooms WHERE id = $1) ELSE updated_at END, \
     posts_seen = (SELECT posts FROM rooms WHERE id = $1) + 1";

/// A post's rows: the message, the sender's membership (`SEE_OWN_POST`, for a post that
/// counts), then the room's counters, last message and event number.
async fn post_rows(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    message: &Message,
    counts: bool,
) -> Result<Advanced> {
    insert_messages(tx, backend, &[message]).await?;
    if counts {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("{SEE_OWN_POST} WHERE rid = $1 AND uid = $2"));
        tx::query(&SQL)
            .bind(rid)
            .bind(message.u.id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    bump_room_post(tx, rid, message, counts).await
}

/// `RoomChange::PostMessage`: the message, the room's counters, and the other members' unread
/// state. A repeated idempotency key is `Conflict` (`message_err`).
pub(crate) async fn post(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    message: Message,
    notify: Option<NotifyFacts>,
) -> Result<Applied> {
    if !claim_room(tx, backend, rid).await? {
        return Err(room_not_found());
    }
    // Everyone else in the room now has something unread: the room counts the post (O(1),
    // whatever the room's size), and each membership reads the posts it has not seen as unread
    // (`rows::SUB_COLS`). The sender's own post is not news to them: their row keeps what they
    // had not seen yet and marks this post seen.
    let counts = !message.is_system();
    let advanced = match post_rows(tx, backend, rid, &message, counts).await {
        Ok(advanced) => advanced,
        // A foreign key: the room is gone (SQLite did not lock it first, `claim_room`; a
        // PostgreSQL transaction is aborted by the error, and its room was locked anyway).
        Err(Error::NotFound(_)) if backend == Backend::Sqlite && room_missing(tx, rid).await? => {
            return Err(room_not_found());
        }
        Err(e) => return Err(e),
    };
    let mut items = vec![];
    // A thread reply counts on its thread's first message, in the same transaction.
    if let Some(tmid) = message.extra.get("tmid").and_then(|v| v.as_str()) {
        if let Some(mut parent) = locked_message(tx, backend, rid, tmid).await? {
            count_thread_reply(&mut parent, &message);
            parent.updated_at = message.ts;
            write_extra(tx, &parent).await?;
            let followers = huddle_core::store::replies_of(&parent);
            crate::thread_unreads::mark_unread(
                tx,
                backend,
                rid,
                &parent.id,
                &message.u.id,
                &followers,
            )
            .await?;
            items.push(RoomEventItem::MessageUpdated {
                message: Box::new(parent),
            });
        }
    }
    let notified = match &notify {
        Some(facts) => notifications::notify_post(tx, backend, rid, &message, facts).await?,
        None => vec![],
    };
    let message_id = message.id.clone();
    items.insert(
        0,
        RoomEventItem::MessageCreated {
            message: Box::new(message),
        },
    );
    items.extend(
        notified
            .into_iter()
            .map(|uid| RoomEventItem::NotificationTriggered {
                uid,
                message_id: message_id.clone(),
            }),
    );
    Ok(Applied {
        items,
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: None,
    })
}

/// Message `id` of `rid`, its row locked (PostgreSQL) for a read-modify-write.
async fn locked_message(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    id: &str,
) -> Result<Option<Message>> {
    static SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
        [Backend::Sqlite, Backend::Postgres].map(|b| {
            format!(
                "SELECT {} FROM messages m WHERE m.id = $1 AND m.rid = $2{}",
                *MESSAGE_COLS,
                b.lock_rows()
            )
        })
    });
    let sql = &SQL[usize::from(backend == Backend::Postgres)];
    let row = tx::query(sql)
        .bind(id)
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    row.as_ref().map(|r| rows::message(r)).transpose()
}

async fn write_extra(tx: &mut Tx<'_>, m: &Message) -> Result<()> {
    tx::query("UPDATE messages SET extra = $2, updated_at = $3 WHERE id = $1")
        .bind(m.id.as_str())
        .bind(to_json(&m.extra)?)
        .bind(m.updated_at.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// `RoomChange::CleanHistory`: the messages of the stretch, each logged as deleted, with the
/// room's counters; `None` when none matched.
pub(crate) async fn clean(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    c: &CleanHistory,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Ok(None);
    }
    let (gt, lt) = if c.inclusive {
        (">=", "<=")
    } else {
        (">", "<")
    };
    let mut sql =
        format!("SELECT m.id FROM messages m WHERE m.rid = $1 AND m.ts {gt} $2 AND m.ts {lt} $3");
    if c.exclude_pinned {
        sql.push_str(match backend {
            Backend::Sqlite => " AND coalesce(json_extract(m.extra, '$.pinned'), 0) <> 1",
            Backend::Postgres => {
                " AND coalesce(m.extra::jsonb -> 'pinned', 'false'::jsonb) <> 'true'::jsonb"
            }
        });
    }
    if !c.usernames.is_empty() {
        sql.push_str(&format!(" AND m.u_username IN ({})", json_list(backend, 4)));
    }
    sql.push_str(" ORDER BY m.ts, m.id");
    if let Some(limit) = c.limit {
        sql.push_str(&format!(" LIMIT {}", limit.max(0)));
    }
    let mut q = tx::query(&sql).bind(rid).bind(c.oldest.0).bind(c.latest.0);
    if !c.usernames.is_empty() {
        q = q.bind(to_json(&c.usernames)?);
    }
    let ids = q
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
        .collect::<Result<Vec<_>>>()?;
    if ids.is_empty() {
        return Ok(None);
    }
    let list = to_json(&ids)?;
    let ts = now();
    // Logged first, while the rows still say which thread each belonged to.
    let log = match backend {
        Backend::Sqlite => "INSERT INTO message_deletions (id, rid, tmid, thread, deleted_at) \
             SELECT m.id, m.rid, json_extract(m.extra, '$.tmid'), \
             CASE WHEN coalesce(json_extract(m.extra, '$.tcount'), 0) > 0 THEN 1 ELSE 0 END, $3 \
             FROM messages m WHERE m.rid = $1 AND m.id IN (SELECT value FROM json_each($2))",
        Backend::Postgres => "INSERT INTO message_deletions (id, rid, tmid, thread, deleted_at) \
             SELECT m.id, m.rid, m.extra::jsonb ->> 'tmid', \
             CASE WHEN coalesce((m.extra::jsonb ->> 'tcount')::bigint, 0) > 0 THEN 1 ELSE 0 END, $3 \
             FROM messages m WHERE m.rid = $1 AND m.id IN (SELECT jsonb_array_elements_text($2::jsonb))",
    };
    tx::query(log)
        .bind(rid)
        .bind(list.as_str())
        .bind(ts)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let delete = format!(
        "DELETE FROM messages WHERE rid = $1 AND id IN ({})",
        json_list(backend, 2)
    );
    tx::query(&delete)
        .bind(rid)
        .bind(list.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    crate::rooms::replace_last_message(tx, backend, rid, list.as_str()).await?;
    let row = tx::query(
        "UPDATE rooms SET msgs = (SELECT count(*) FROM messages WHERE rid = $1), \
         lm = (SELECT max(ts) FROM messages WHERE rid = $1), updated_at = $2, \
         seq = seq + 1 WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
    )
    .bind(rid)
    .bind(ts)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let advanced = advanced(&row)?;
    Ok(Some(Applied {
        items: ids
            .into_iter()
            .map(|id| RoomEventItem::MessageDeleted { id })
            .collect(),
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: None,
    }))
}

/// `RoomChange::PatchMessage`: one patch to message `id` of `rid` and its system message;
/// `None` (nothing written) when there is no such message or the patch changes nothing.
pub(crate) async fn patch(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    id: &str,
    patch: &MessagePatch,
    note: Option<Message>,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Ok(None);
    }
    let Some(mut message) = locked_message(tx, backend, rid, id).await? else {
        return Ok(None);
    };
    if !patch.apply(&mut message) {
        return Ok(None);
    }
    message.updated_at = huddle_core::Timestamp::now();
    write_extra(tx, &message).await?;
    let mut items = vec![RoomEventItem::MessageUpdated {
        message: Box::new(message),
    }];
    let (seq, counters) = match note {
        Some(note) => {
            let advanced = insert_and_bump(tx, backend, rid, 0, &[&note]).await?;
            items.push(RoomEventItem::MessageCreated {
                message: Box::new(note),
            });
            (advanced.seq, Some(advanced.counters))
        }
        None => (advance_room(tx, rid).await?.seq, None),
    };
    Ok(Some(Applied {
        items,
        seq,
        counters,
        staged: None,
    }))
}

/// `RoomChange::EditMessage`: text, edit marks and `extra` of a message of `rid`; no such
/// message is `error-message-not-found`.
pub(crate) async fn edit(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    message: Message,
) -> Result<Applied> {
    // Room first, as every transaction that numbers an event of the room.
    if !claim_room(tx, backend, rid).await? {
        return Err(message_not_found());
    }
    let editor = message.edited_by.as_ref();
    let done = tx::query(
        "UPDATE messages SET msg = $3, updated_at = $4, edited_at = $5, edited_by_id = $6, edited_by_username = $7, \
         edited_by_name = $8, extra = $9 WHERE id = $1 AND rid = $2",
    )
    .bind(message.id.as_str())
    .bind(rid)
    .bind(message.msg.as_str())
    .bind(message.updated_at.0)
    .bind(message.edited_at.map(|t| t.0))
    .bind(editor.map(|e| e.id.as_str()))
    .bind(editor.map(|e| e.username.as_str()))
    .bind(editor.and_then(|e| e.name.as_deref()))
    .bind(to_json(&message.extra)?)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(message_not_found());
    }
    let advanced = advance_room(tx, rid).await?;
    Ok(Applied {
        items: vec![RoomEventItem::MessageUpdated {
            message: Box::new(message),
        }],
        seq: advanced.seq,
        counters: None,
        staged: None,
    })
}

/// `RoomChange::DeleteMessage`: message `id` of `rid`, with the room's counters; `None` if
/// there is no such message.
pub(crate) async fn delete(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    id: String,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Ok(None);
    }
    let done = tx::query("DELETE FROM messages WHERE id = $1 AND rid = $2 RETURNING extra")
        .bind(id.as_str())
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    let Some(done) = done else {
        return Ok(None);
    };
    let extra: serde_json::Map<String, serde_json::Value> =
        crate::sql::from_json(&done.try_get::<String, _>(0usize).map_err(db_err)?, "extra")?;
    let tmid = extra.get("tmid").and_then(|v| v.as_str());
    let thread = extra.get("tcount").and_then(|v| v.as_i64()).unwrap_or(0) > 0;
    // Kept for clients that sync deletions (chat.getDeletedMessages, chat.syncMessages, the
    // thread syncs).
    tx::query(
        "INSERT INTO message_deletions (id, rid, tmid, thread, deleted_at) VALUES ($1, $2, $3, $4, $5)",
    )
        .bind(id.as_str())
        .bind(rid)
        .bind(tmid)
        .bind(i64::from(thread))
        .bind(now())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    crate::rooms::replace_last_message(tx, backend, rid, &to_json(&[id.as_str()])?).await?;
    // msgs counts the messages the room holds; lm falls back to the newest one left.
    let row = tx::query(
        "UPDATE rooms SET msgs = msgs - 1, lm = (SELECT max(ts) FROM messages WHERE rid = $1), updated_at = $2, \
         seq = seq + 1 WHERE id = $1 RETURNING users_count, msgs, lm, updated_at, seq",
    )
    .bind(rid)
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let advanced = advanced(&row)?;
    Ok(Some(Applied {
        items: vec![RoomEventItem::MessageDeleted { id }],
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: None,
    }))
}

/// `RoomChange::React`: one reaction change to message `id` of `rid`; `None` if there is no
/// such message. Setting a reaction that is already there still writes (and numbers) the
/// message, as before: the caller gets the message back either way.
pub(crate) async fn react(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    id: &str,
    emoji: &str,
    username: &str,
    react: Option<bool>,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Ok(None);
    }
    // Row lock too (PostgreSQL): a writer that does not go through the room must not lose a
    // reaction in this read-modify-write either.
    static SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
        [Backend::Sqlite, Backend::Postgres].map(|b| {
            format!(
                "SELECT {} FROM messages m WHERE m.id = $1 AND m.rid = $2{}",
                *MESSAGE_COLS,
                b.lock_rows()
            )
        })
    });
    let sql = &SQL[usize::from(backend == Backend::Postgres)];
    let row = tx::query(sql)
        .bind(id)
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    let Some(row) = row else { return Ok(None) };
    let mut message = rows::message(&row)?;
    toggle_reaction(&mut message, emoji, username, react);
    message.updated_at = huddle_core::Timestamp::now();
    tx::query("UPDATE messages SET extra = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(to_json(&message.extra)?)
        .bind(message.updated_at.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let advanced = advance_room(tx, rid).await?;
    Ok(Some(Applied {
        items: vec![RoomEventItem::MessageUpdated {
            message: Box::new(message),
        }],
        seq: advanced.seq,
        counters: None,
        staged: None,
    }))
}

#[async_trait]
impl MessageStore for SqlStore {
    async fn message_by_id(&self, id: &str) -> Result<Option<Message>> {
        let sql = format!("SELECT {} FROM messages m WHERE m.id = $1", *MESSAGE_COLS);
        self.fetch_optional(&sql, &[Value::from(id)], rows::message)
            .await
    }

    async fn list_messages(&self, rid: &str, query: &MessageQuery) -> Result<Page<Message>> {
        let mut filter = "m.rid = $1".to_string();
        let mut bounds: Vec<i64> = vec![];
        // Text parameters of the filter follow the rid; time bounds come after them.
        let mut texts: Vec<String> = vec![];
        if let Some(f) = &query.filter {
            filter.push_str(&filter_sql(self.db.backend, f, &mut texts)?);
        }
        let (lt, gt) = if query.inclusive {
            ("<=", ">=")
        } else {
            ("<", ">")
        };
        if let Some(latest) = query.latest {
            bounds.push(latest.0);
            filter.push_str(&format!(
                " AND m.ts {lt} ${}",
                texts.len() + bounds.len() + 1
            ));
        }
        if let Some(oldest) = query.oldest {
            bounds.push(oldest.0);
            filter.push_str(&format!(
                " AND m.ts {gt} ${}",
                texts.len() + bounds.len() + 1
            ));
        }
        let dir = if query.ascending { "ASC" } else { "DESC" };
        // (rid, ts, id) order, bytewise on both backends, is the order of messages_rid_ts_id.
        let page_sql = format!(
            "SELECT {} FROM messages m WHERE {filter} ORDER BY m.ts {dir}, m.id{} {dir}{}",
            *MESSAGE_COLS,
            self.db.backend.bytewise(),
            self.db.backend.page(&query.paging)
        );
        let count_sql = format!("SELECT count(*) FROM messages m WHERE {filter}");
        let mut args = vec![Value::from(rid)];
        args.extend(texts.iter().map(Value::from));
        args.extend(bounds.iter().map(|b| Value::Int(*b)));
        let total = self
            .fetch_optional(&count_sql, &args, |row| row.int(0))
            .await?
            .unwrap_or(0);
        let items = self.fetch(&page_sql, &args, rows::message).await?;
        Ok(Page { items, total })
    }

    async fn set_star(&self, uid: &str, rid: &str, mid: &str, starred: bool) -> Result<bool> {
        let (uid, rid, mid) = (uid.to_string(), rid.to_string(), mid.to_string());
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let done = if starred {
                        tx::query(
                            "INSERT INTO message_stars (uid, mid, rid, ts) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (uid, mid) DO NOTHING",
                        )
                        .bind(uid.as_str())
                        .bind(mid.as_str())
                        .bind(rid.as_str())
                        .bind(now())
                        .execute(&mut *tx)
                        .await
                    } else {
                        tx::query("DELETE FROM message_stars WHERE uid = $1 AND mid = $2")
                            .bind(uid.as_str())
                            .bind(mid.as_str())
                            .execute(&mut *tx)
                            .await
                    };
                    Ok(done.map_err(db_err)?.rows_affected() > 0)
                })
            })
            .await
    }

    async fn insert_report(&self, r: &MessageReport) -> Result<()> {
        let r = r.clone();
        let message = serde_json::to_string(&r.message)
            .map_err(|e| Error::Internal(format!("encoding a reported message: {e}")))?;
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query(
                        "INSERT INTO message_reports (id, mid, rid, reporter_id, reporter_username, description, message, ts) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(r.id.as_str())
                    .bind(r.message.id.as_str())
                    .bind(r.message.rid.as_str())
                    .bind(r.reporter.id.as_str())
                    .bind(r.reporter.username.as_str())
                    .bind(r.description.as_str())
                    .bind(message.as_str())
                    .bind(r.ts.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn reports_of_message(&self, mid: &str, paging: Paging) -> Result<Page<MessageReport>> {
        let total = rows::count(
            &sqlx::query("SELECT count(*) FROM message_reports WHERE mid = $1")
                .bind(mid)
                .fetch_one(self.db.reader())
                .await
                .map_err(db_err)?,
        )?;
        let sql = format!(
            "SELECT id, reporter_id, reporter_username, description, message, ts FROM message_reports \
             WHERE mid = $1 ORDER BY ts DESC, id{}",
            self.db.backend.page(&paging)
        );
        let rows = sqlx::query(&sql)
            .bind(mid)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        let items = rows
            .iter()
            .map(|r| {
                let message: String = r.try_get(4usize).map_err(db_err)?;
                Ok(MessageReport {
                    id: r.try_get(0usize).map_err(db_err)?,
                    reporter: huddle_core::UserRef {
                        id: r.try_get(1usize).map_err(db_err)?,
                        username: r.try_get(2usize).map_err(db_err)?,
                        name: None,
                    },
                    description: r.try_get(3usize).map_err(db_err)?,
                    message: crate::sql::from_json(&message, "message")?,
                    ts: Timestamp(r.try_get(5usize).map_err(db_err)?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total })
    }

    async fn starred_ids(&self, uid: &str, rid: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT mid FROM message_stars WHERE uid = $1 AND rid = $2")
            .bind(uid)
            .bind(rid)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
            .collect()
    }

    async fn deleted_messages(
        &self,
        rid: &str,
        since: Timestamp,
        only: Option<&MessageFilter>,
        paging: Paging,
    ) -> Result<Page<(String, Timestamp)>> {
        let (cond, tmid) = match only {
            Some(MessageFilter::Threads) => (" AND thread = 1", ""),
            Some(MessageFilter::ThreadReplies(t)) => (" AND tmid = $3", t.as_str()),
            _ => ("", ""),
        };
        fn bind<'q>(
            sql: &'q str,
            rid: &'q str,
            since: Timestamp,
            tmid: &'q str,
        ) -> crate::ReadQuery<'q> {
            let q = sqlx::query(sql).bind(rid).bind(since.0);
            if tmid.is_empty() {
                q
            } else {
                q.bind(tmid)
            }
        }
        let count_sql = format!(
            "SELECT count(*) FROM message_deletions WHERE rid = $1 AND deleted_at > $2{cond}"
        );
        let total = rows::count(
            &bind(&count_sql, rid, since, tmid)
                .fetch_one(self.db.reader())
                .await
                .map_err(db_err)?,
        )?;
        let sql = format!(
            "SELECT id, deleted_at FROM message_deletions WHERE rid = $1 AND deleted_at > $2{cond} \
             ORDER BY deleted_at, id{}",
            self.db.backend.page(&paging)
        );
        let rows = bind(&sql, rid, since, tmid)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        let items = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get::<String, _>(0usize).map_err(db_err)?,
                    Timestamp(r.try_get::<i64, _>(1usize).map_err(db_err)?),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total })
    }
}

/// The SQL condition (` AND ...`) of a message filter over `messages m`, reading fields of the
/// `extra` JSON with each backend's own operator; its text parameters are pushed on `texts`
/// (numbered after the rid, `$2`...).
fn filter_sql(backend: Backend, f: &MessageFilter, texts: &mut Vec<String>) -> Result<String> {
    let field = |key: &str| match backend {
        Backend::Sqlite => format!("json_extract(m.extra, '$.{key}')"),
        Backend::Postgres => format!("(m.extra::jsonb ->> '{key}')"),
    };
    let mut param = |value: String| {
        texts.push(value);
        format!("${}", texts.len() + 1)
    };
    Ok(match f {
        MessageFilter::Pinned => match backend {
            Backend::Sqlite => " AND json_extract(m.extra, '$.pinned') = 1".to_string(),
            Backend::Postgres => " AND (m.extra::jsonb -> 'pinned') = 'true'::jsonb".to_string(),
        },
        MessageFilter::Threads => match backend {
            Backend::Sqlite => " AND json_extract(m.extra, '$.tcount') > 0".to_string(),
            Backend::Postgres => {
                " AND COALESCE((m.extra::jsonb ->> 'tcount')::bigint, 0) > 0".to_string()
            }
        },
        MessageFilter::ThreadReplies(tmid) => {
            format!(" AND {} = {}", field("tmid"), param(tmid.clone()))
        }
        MessageFilter::Text(text) => format!(
            " AND m.t IS NULL AND lower(m.msg) LIKE {} ESCAPE '\\'",
            param(contains_pattern(text))
        ),
        MessageFilter::Mentions(username) => format!(
            " AND m.t IS NULL AND lower(m.msg) LIKE {} ESCAPE '\\'",
            param(contains_pattern(&format!("@{username}")))
        ),
        MessageFilter::UpdatedAfter(t) => format!(" AND m.updated_at > {}", t.0),
        MessageFilter::Discussions(text) => {
            let mut cond = format!(" AND {} IS NOT NULL", field("drid"));
            if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
                cond.push_str(&format!(
                    " AND lower(m.msg) LIKE {} ESCAPE '\\'",
                    param(contains_pattern(text))
                ));
            }
            cond
        }
        MessageFilter::Ids(ids) => {
            let n = param(to_json(ids)?);
            let n: usize = n.trim_start_matches('$').parse().unwrap_or(2);
            format!(" AND m.id IN ({})", json_list(backend, n))
        }
    })
}

/// Applies one reaction change to `extra.reactions`, dropping emojis nobody uses any more (as
/// Rocket.Chat does).
fn toggle_reaction(message: &mut Message, emoji: &str, username: &str, react: Option<bool>) {
    use serde_json::{json, Map, Value};
    let reactions = message
        .extra
        .entry("reactions")
        .or_insert_with(|| Value::Object(Map::new()));
    if !reactions.is_object() {
        *reactions = Value::Object(Map::new());
    }
    let Value::Object(map) = reactions else {
        return;
    };
    let entry = map
        .entry(emoji.to_string())
        .or_insert_with(|| json!({ "usernames": [] }));
    if !entry["usernames"].is_array() {
        *entry = json!({ "usernames": [] });
    }
    let mut names: Vec<String> = entry["usernames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let has = names.iter().any(|n| n == username);
    match (react.unwrap_or(!has), has) {
        (true, false) => names.push(username.to_string()),
        (false, true) => names.retain(|n| n != username),
        _ => {}
    }
    if names.is_empty() {
        map.remove(emoji);
    } else {
        map.insert(emoji.to_string(), json!({ "usernames": names }));
    }
    if map.is_empty() {
        message.extra.remove("reactions");
    }
}
