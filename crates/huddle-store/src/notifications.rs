//! Notifications of a new message, inside the post's transaction: the conversation's members
//! are read there, core's `notify::recipients` decides who is told, and the e-mail rows of
//! those recipients (`notification_emails`, while e-mails are on) are written there too. The
//! webhook deliveries come from the `NotificationTriggered` items the post's event carries
//! (`event_rows`), so the message, its notifications and their deliveries commit together.

use async_trait::async_trait;
use huddle_core::notify::{recipients, Candidate, NotifyFacts, NotifySetting};
use huddle_core::store::{EmailNotification, EmailOutcome, NotificationStore};
use huddle_core::{ids, Access, Message, Result, Timestamp};

use std::sync::LazyLock;

use crate::errors::db_err;
use crate::pool::Backend;
use crate::sql::{json_list, now, to_json};
use crate::tx::{self, GetRow, Tx};
use crate::SqlStore;

/// The members of `rid` to notify of `message` (which the transaction just inserted), with
/// their e-mail rows written when `facts` says e-mails are on.
pub(crate) async fn notify_post(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    message: &Message,
    facts: &NotifyFacts,
) -> Result<Vec<String>> {
    if message.is_system() {
        return Ok(vec![]);
    }
    // `notify = 'false'` and the live viewers (never told, `recipients`) are skipped here
    // already: in a large conversation that is usually most members, and a post into a room
    // whose readers all look at it then reads no member rows (no users join, no decoding, no
    // parsing of ignore lists), instead of every member's.
    static SQL: LazyLock<[String; 2]> = LazyLock::new(|| {
        [Backend::Sqlite, Backend::Postgres].map(|b| {
            format!(
                "SELECT s.uid, s.u_username, s.notify, s.access, u.active, s.ignored \
                 FROM subscriptions s JOIN users u ON u.id = s.uid \
                 WHERE s.rid = $1 AND s.uid <> $2 AND s.notify <> 'false' \
                 AND s.uid NOT IN ({})",
                json_list(b, 3)
            )
        })
    });
    let sql = &SQL[usize::from(backend == Backend::Postgres)];
    let live: Vec<&str> = facts.live.iter().map(String::as_str).collect();
    let found = tx::query(sql)
        .bind(rid)
        .bind(message.u.id.as_str())
        .bind(to_json(&live)?)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    let mut rows = Vec::with_capacity(found.len());
    for r in &found {
        let uid: String = r.try_get(0usize).map_err(db_err)?;
        let username: String = r.try_get(1usize).map_err(db_err)?;
        let notify: String = r.try_get(2usize).map_err(db_err)?;
        let access: String = r.try_get(3usize).map_err(db_err)?;
        let active: i64 = r.try_get(4usize).map_err(db_err)?;
        let ignored: String = r.try_get(5usize).map_err(db_err)?;
        // An unreadable list ignores nobody: the member is told as before they ignored.
        let ignored: Vec<String> = serde_json::from_str(&ignored).unwrap_or_default();
        let ignores_sender = ignored.contains(&message.u.id);
        rows.push((uid, username, notify, access, active != 0, ignores_sender));
    }
    let candidates: Vec<Candidate> = rows
        .iter()
        .map(
            |(uid, username, notify, access, active, ignores_sender)| Candidate {
                uid,
                username: Some(username.as_str()).filter(|u| !u.is_empty()),
                notify: NotifySetting::parse(notify),
                // An unreadable stored value reads as no access: nobody is told by mistake.
                access: Access::parse(access).unwrap_or(Access::None),
                active: *active,
                ignores_sender: *ignores_sender,
            },
        )
        .collect();
    let chosen = recipients(message, &candidates, &facts.live);
    if let Some(window) = facts.email_window_ms {
        let created = now();
        for uid in &chosen {
            tx::query(
                "INSERT INTO notification_emails (id, uid, rid, message_id, created_at, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            // Sortable: a batch's e-mail lists its messages in this order.
            .bind(ids::new_sortable_id())
            .bind(uid.as_str())
            .bind(rid)
            .bind(message.id.as_str())
            .bind(created)
            .bind(created.saturating_add(window))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
    }
    Ok(chosen)
}

#[async_trait]
impl NotificationStore for SqlStore {
    async fn due_email_batches(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Vec<EmailNotification>>> {
        let groups = sqlx::query(
            "SELECT uid, rid FROM notification_emails WHERE state = 'pending' \
             GROUP BY uid, rid HAVING min(due_at) <= $1 ORDER BY min(due_at), uid, rid LIMIT $2",
        )
        .bind(now.0)
        .bind(limit.max(0))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        let mut out = Vec::with_capacity(groups.len());
        for g in &groups {
            let uid: String = g.try_get(0usize).map_err(db_err)?;
            let rid: String = g.try_get(1usize).map_err(db_err)?;
            let rows = sqlx::query(
                "SELECT id, uid, rid, message_id, created_at, attempts FROM notification_emails \
                 WHERE state = 'pending' AND uid = $1 AND rid = $2 ORDER BY created_at, id",
            )
            .bind(uid.as_str())
            .bind(rid.as_str())
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
            let batch = rows
                .iter()
                .map(|r| {
                    Ok(EmailNotification {
                        id: r.try_get(0usize).map_err(db_err)?,
                        uid: r.try_get(1usize).map_err(db_err)?,
                        rid: r.try_get(2usize).map_err(db_err)?,
                        message_id: r.try_get(3usize).map_err(db_err)?,
                        created_at: Timestamp(r.try_get(4usize).map_err(db_err)?),
                        attempts: r.try_get(5usize).map_err(db_err)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if !batch.is_empty() {
                out.push(batch);
            }
        }
        Ok(out)
    }

    async fn finish_emails(&self, ids: &[String], outcome: &EmailOutcome) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let list = to_json(ids)?;
        let backend = self.db.backend;
        let outcome = outcome.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let ids = json_list(backend, 5);
                    let (state, error, due) = match &outcome {
                        EmailOutcome::Sent => ("sent", None, None),
                        EmailOutcome::Skipped(why) => ("skipped", Some(why.as_str()), None),
                        EmailOutcome::Failed(e) => ("failed", Some(e.as_str()), None),
                        EmailOutcome::Retry { at, error } => {
                            ("pending", Some(error.as_str()), Some(at.0))
                        }
                    };
                    let done = (state != "pending").then(now);
                    // Only pending rows move: a second mailer that finished them first wins.
                    let sql = format!(
                        "UPDATE notification_emails SET state = $1, last_error = $2, \
                         done_at = $3, due_at = COALESCE($4, due_at), attempts = attempts + 1 \
                         WHERE state = 'pending' AND id IN ({ids})"
                    );
                    tx::query(&sql)
                        .bind(state)
                        .bind(error.map(|e| e.chars().take(500).collect::<String>()))
                        .bind(done)
                        .bind(due)
                        .bind(list)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }
}
