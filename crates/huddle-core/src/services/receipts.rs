//! Read receipts, from the read state members already have (their read position, `ls`): who
//! has read a message (TalkJS's `readBy`, Rocket.Chat's `chat.getMessageReadReceipts`), and
//! the `message.read` webhooks a mark-read causes, from either API.

use super::{Actor, Huddle};
use crate::events::Event;
use crate::store::Reader;
use crate::{Message, MessageQuery, Paging, Result, Timestamp};

/// Most readers one message lists in `readBy` (TalkJS's limit).
pub const READ_BY_MAX: i64 = 300;
/// TalkJS sends no `message.read` for conversations of more members than this.
pub const MESSAGE_READ_MAX_MEMBERS: i64 = 300;
/// Most messages one mark-read reports as read (the newest); older unread ones are not
/// reported one by one.
const MESSAGE_READ_BATCH: i64 = 100;

impl Huddle {
    /// `readBy` of each message: the ids of the members who have read it, earliest first.
    pub async fn read_by(&self, messages: &[Message]) -> Result<Vec<Vec<String>>> {
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            let readers = self.store.readers_of(&m.rid, m, READ_BY_MAX).await?;
            out.push(readers.into_iter().map(|r| r.uid).collect());
        }
        Ok(out)
    }

    /// `chat.getMessageReadReceipts`: who has read a message the caller may see, a page of them.
    pub async fn read_receipts(
        &self,
        actor: &Actor,
        message_id: &str,
        paging: Paging,
    ) -> Result<(Message, Vec<Reader>)> {
        let message = self.get_message(actor, message_id).await?;
        let end = match paging.count {
            Some(c) => paging.offset.saturating_add(c),
            None => i64::MAX,
        };
        let readers = self.store.readers_of(&message.rid, &message, end).await?;
        let page = readers
            .into_iter()
            .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
            .collect();
        Ok((message, page))
    }

    /// Marks room `rid` read for `uid` (both APIs' mark-read end here), publishes the member's
    /// new state, and reports the messages this read for the first time. False if `uid` is no
    /// member.
    pub(crate) async fn read_and_report(&self, rid: &str, uid: &str) -> Result<bool> {
        let before = self.store.subscription(rid, uid).await?.and_then(|s| s.ls);
        if !self.store.mark_read(rid, uid).await? {
            return Ok(false);
        }
        let Some(after) = self.store.subscription(rid, uid).await? else {
            return Ok(true);
        };
        let read_until = after.ls;
        self.publish(Event::SubscriptionChanged(after));
        if let Some(until) = read_until {
            self.report_reads(rid, uid, before, until).await?;
        }
        Ok(true)
    }

    /// Publishes `MessagesRead` for the others' user messages posted after `before` and up to
    /// `until`, when an endpoint wants `message.read` and the room is small enough.
    async fn report_reads(
        &self,
        rid: &str,
        uid: &str,
        before: Option<Timestamp>,
        until: Timestamp,
    ) -> Result<()> {
        if !self.webhook_wanted("message.read") {
            return Ok(());
        }
        let Some(room) = self.store.room_by_id(rid).await? else {
            return Ok(());
        };
        if room.users_count > MESSAGE_READ_MAX_MEMBERS {
            return Ok(());
        }
        let page = self
            .store
            .list_messages(
                rid,
                &MessageQuery {
                    latest: Some(until),
                    oldest: before,
                    inclusive: true,
                    paging: Paging {
                        offset: 0,
                        count: Some(MESSAGE_READ_BATCH),
                    },
                    ascending: false,
                    filter: None,
                },
            )
            .await?;
        let mut messages: Vec<Message> = page
            .items
            .into_iter()
            .filter(|m| !matches!(before, Some(b) if m.ts <= b))
            .filter(|m| !m.is_system() && !m.u.id.is_empty() && m.u.id != uid)
            .collect();
        if messages.is_empty() {
            return Ok(());
        }
        messages.reverse();
        self.publish(Event::MessagesRead {
            rid: rid.to_string(),
            uid: uid.to_string(),
            messages,
        });
        Ok(())
    }
}
