//! Notifications of new messages (TalkJS's `notify`): what the write path hands the store so it
//! can decide, inside the post's transaction, who is told (`crate::notify::recipients`), and
//! the switch the server turns on when it can send e-mail.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::webhooks::{backoff_millis, MAX_ATTEMPTS};
use super::Huddle;
use crate::notify::{NotifyFacts, NotifySetting};
use crate::store::{EmailNotification, EmailOutcome, RoomChange};
use crate::{Access, Message, Origin, Result, Room, Timestamp, User};

impl Huddle {
    /// E-mail notifications from now on, batched per recipient and conversation over `window`
    /// (the server calls this when SMTP is configured; its mailer sends what the posts queue).
    pub fn enable_email_notifications(&self, window: Duration) {
        let ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        self.email_window_ms.store(ms, Ordering::Relaxed);
    }

    /// The batching window while e-mail notifications are on.
    pub fn email_window(&self) -> Option<Duration> {
        let ms = self.email_window_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| Duration::from_millis(ms as u64))
    }

    /// What deciding the notifications of `change` needs, when it is a user message in a
    /// TalkJS-style conversation: who is looking at the conversation now (here, and in a
    /// cluster on the other nodes, as they last wrote it, about a second ago), and the e-mail
    /// window. Rocket.Chat's rooms have their own notification preferences, which
    /// Huddle does not implement, so their messages notify nobody here.
    pub(super) async fn notify_facts(
        &self,
        room: &Room,
        change: &RoomChange,
    ) -> Option<NotifyFacts> {
        let RoomChange::PostMessage(message) = change else {
            return None;
        };
        if message.is_system() || room.origin != Origin::TalkJs {
            return None;
        }
        let mut live = self.realtime.live_viewers(&room.id);
        if let (Some(cs), Some(node)) = (self.store.cluster(), self.hub.node_id()) {
            match cs.remote_viewers(&room.id, node).await {
                Ok(remote) => live.extend(remote),
                // Then someone looking elsewhere may get an e-mail: better than no post.
                Err(e) => tracing::warn!(error = %e, "reading other nodes' live views failed"),
            }
        }
        Some(NotifyFacts {
            live,
            email_window_ms: self
                .email_window()
                .map(|w| i64::try_from(w.as_millis()).unwrap_or(i64::MAX)),
        })
    }
}

/// One e-mail to send: the messages of one conversation a recipient was notified of and has
/// not read, to their addresses.
#[derive(Debug, Clone)]
pub struct EmailBatch {
    /// The notification rows this e-mail settles.
    pub ids: Vec<String>,
    pub recipient: User,
    pub addresses: Vec<String>,
    pub room: Room,
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// Groups of owed e-mails read per pass of the mailer.
const BATCHES_PER_PASS: i64 = 20;

impl Huddle {
    /// The e-mails due now: per recipient and conversation, every pending notification once
    /// the oldest has waited the batching window. Groups with nothing left to say are settled
    /// here as skipped (recipient gone, deactivated or without an address, no longer a reader
    /// of the conversation, `notify` turned off, or every message read or deleted meanwhile).
    pub async fn due_email_batches(&self) -> Result<Vec<EmailBatch>> {
        let due = self
            .store
            .due_email_batches(Timestamp::now(), BATCHES_PER_PASS)
            .await?;
        let mut out = Vec::with_capacity(due.len());
        for rows in due {
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            match self.email_batch(&rows).await? {
                Ok(mut batch) => {
                    batch.ids = ids;
                    out.push(batch);
                }
                Err(why) => {
                    self.store
                        .finish_emails(&ids, &EmailOutcome::Skipped(why.into()))
                        .await?
                }
            }
        }
        Ok(out)
    }

    /// The e-mail of one group of rows (all of one recipient and room), or why there is none.
    async fn email_batch(
        &self,
        rows: &[EmailNotification],
    ) -> Result<std::result::Result<EmailBatch, &'static str>> {
        let Some(first) = rows.first() else {
            return Ok(Err("nothing to send"));
        };
        let Some(recipient) = self.store.user_by_id(&first.uid).await? else {
            return Ok(Err("the recipient no longer exists"));
        };
        if !recipient.active {
            return Ok(Err("the recipient is deactivated"));
        }
        let mut addresses: Vec<String> = recipient.profile.emails.clone();
        addresses.extend(recipient.email.clone());
        let mut seen = std::collections::HashSet::new();
        addresses.retain(|a| !a.trim().is_empty() && seen.insert(a.to_lowercase()));
        if addresses.is_empty() {
            return Ok(Err("the recipient has no e-mail address"));
        }
        let Some(room) = self.store.room_by_id(&first.rid).await? else {
            return Ok(Err("the conversation no longer exists"));
        };
        let sub = match self.store.subscription(&first.rid, &first.uid).await? {
            Some(s) if s.access != Access::None => s,
            _ => return Ok(Err("the recipient no longer reads the conversation")),
        };
        if NotifySetting::parse(&sub.notify) == NotifySetting::Never {
            return Ok(Err("the recipient turned notifications off"));
        }
        let mut messages = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(m) = self.store.message_by_id(&r.message_id).await? else {
                continue;
            };
            // Read since it was posted: the e-mail would tell them nothing new.
            if sub.ls.is_some_and(|ls| ls >= m.ts) {
                continue;
            }
            messages.push(m);
        }
        if messages.is_empty() {
            return Ok(Err("every message was read or deleted meanwhile"));
        }
        Ok(Ok(EmailBatch {
            ids: vec![],
            recipient,
            addresses,
            room,
            messages,
            attempts: rows.iter().map(|r| r.attempts).max().unwrap_or(0),
        }))
    }

    /// Records how sending `batch` went: sent, or retried with the webhooks' backoff until
    /// their number of attempts, then given up.
    pub async fn finish_email_batch(
        &self,
        batch: &EmailBatch,
        sent: std::result::Result<(), String>,
    ) -> Result<()> {
        let outcome = match sent {
            Ok(()) => EmailOutcome::Sent,
            Err(e) if batch.attempts + 1 >= MAX_ATTEMPTS => EmailOutcome::Failed(e),
            Err(error) => EmailOutcome::Retry {
                at: Timestamp(Timestamp::now().millis() + backoff_millis(batch.attempts + 1)),
                error,
            },
        };
        self.store.finish_emails(&batch.ids, &outcome).await
    }
}
