//! Notifications of a new message, inside the post's transaction: the conversation's members
//! are read there, core's `notify::recipients` decides who is told, and the e-mail rows of
//! those recipients (`notification_emails`, while e-mails are on) are written there too. The
//! webhook deliveries come from the `NotificationTriggered` items the post's event carries
//! (`event_rows`), so the message, its notifications and their deliveries commit together.

use huddle_core::notify::{recipients, Candidate, NotifyFacts, NotifySetting};
use huddle_core::{ids, Access, Message, Result};
use sqlx::{AnyConnection, Row};

use crate::errors::db_err;
use crate::sql::now;

/// The members of `rid` to notify of `message` (which the transaction just inserted), with
/// their e-mail rows written when `facts` says e-mails are on.
pub(crate) async fn notify_post(
    tx: &mut AnyConnection,
    rid: &str,
    message: &Message,
    facts: &NotifyFacts,
) -> Result<Vec<String>> {
    if message.is_system() {
        return Ok(vec![]);
    }
    // `notify = 'false'` is skipped here already: most of a large room usually is.
    let found = sqlx::query(
        "SELECT s.uid, s.u_username, s.notify, s.access, u.active FROM subscriptions s \
         JOIN users u ON u.id = s.uid WHERE s.rid = $1 AND s.uid <> $2 AND s.notify <> 'false'",
    )
    .bind(rid)
    .bind(message.u.id.as_str())
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
        rows.push((uid, username, notify, access, active != 0));
    }
    let candidates: Vec<Candidate> = rows
        .iter()
        .map(|(uid, username, notify, access, active)| Candidate {
            uid,
            username: Some(username.as_str()).filter(|u| !u.is_empty()),
            notify: NotifySetting::parse(notify),
            // An unreadable stored value reads as no access: nobody is told by mistake.
            access: Access::parse(access).unwrap_or(Access::None),
            active: *active,
        })
        .collect();
    let chosen = recipients(message, &candidates, &facts.live);
    if let Some(window) = facts.email_window_ms {
        let created = now();
        for uid in &chosen {
            sqlx::query(
                "INSERT INTO notification_emails (id, uid, rid, message_id, created_at, due_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ids::new_id())
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
