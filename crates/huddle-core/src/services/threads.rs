//! Threads and the message lists around them: a reply names its thread (`tmid`) and the write
//! path counts it on the thread's first message (`tcount`, `tlm`, `replies`); following and
//! unfollowing; the thread lists and their syncs; deleted-message and changed-message syncs,
//! search and mentions over one room. Every list needs the right to read the room.

use super::{Actor, Huddle};
use crate::model::{Message, MessageFilter, MessageQuery, Page, Paging, Room};
use crate::policy::Action;
use crate::store::{replies_of, MessagePatch, RoomChange};
use crate::{Error, Failure, Result, Timestamp};

/// Rocket.Chat's refusal for a thread id that names no message.
/// The most replies one DDP `getThreadMessages` call may ask for (Rocket.Chat's limit).
const MAX_THREAD_PAGE: i64 = 100;

fn invalid_message(method: &'static str) -> Error {
    Error::Invalid(Failure::new("error-invalid-message", "Invalid message").method(method))
}

/// Which threads `chat.getThreadsList` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadsOf {
    All,
    /// Threads the caller follows.
    Following,
    /// Threads with replies the caller has not read (Rocket.Chat's `tunread`).
    Unread,
}

/// What changed in a room since a moment: messages posted or changed, and ids deleted.
#[derive(Debug, Clone)]
pub struct Changes {
    pub updated: Vec<Message>,
    pub deleted: Vec<(String, Timestamp)>,
}

impl Huddle {
    /// The thread a reply to `tmid` in `room` belongs to: a reply to a reply joins the first
    /// message's thread (as Rocket.Chat does).
    pub(crate) async fn thread_of(&self, room: &Room, tmid: &str) -> Result<String> {
        match self.store.message_by_id(tmid).await? {
            Some(parent) if parent.rid == room.id => Ok(parent
                .extra
                .get("tmid")
                .and_then(|v| v.as_str())
                .map(str::to_string)
                .unwrap_or(parent.id)),
            _ => Err(invalid_message("sendMessage")),
        }
    }

    /// Follows (or unfollows) the thread started by message `id`.
    pub async fn follow_thread(&self, actor: &Actor, id: &str, follow: bool) -> Result<()> {
        let method = if follow {
            "followMessage"
        } else {
            "unfollowMessage"
        };
        let Some(msg) = self.store.message_by_id(id).await? else {
            return Err(invalid_message(method));
        };
        let Some(room) = self.store.room_by_id(&msg.rid).await? else {
            return Err(invalid_message(method));
        };
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::FollowThread, &room)
            .map_err(|_| Error::not_allowed(method))?;
        let patch = MessagePatch::Follow {
            uid: actor.user.id.clone(),
            follow,
        };
        let change = RoomChange::PatchMessage {
            id: msg.id,
            patch,
            message: None,
        };
        self.write(&permit, &room, change).await?;
        Ok(())
    }

    /// Rocket.Chat's `readThreads`: the caller has read thread `tmid` (its replies are no
    /// longer unread for them).
    pub async fn read_thread(&self, actor: &Actor, tmid: &str) -> Result<()> {
        let (room, parent) = self.thread(actor, tmid, "readThreads").await?;
        self.store
            .read_threads(&actor.user.id, &room.id, Some(&parent.id))
            .await
    }

    /// `subscriptions.read` with `readThreads`: every thread of the room read for the caller
    /// (after the room itself was marked read, which checked the membership).
    pub async fn read_all_threads(&self, actor: &Actor, rid: &str) -> Result<()> {
        self.store.read_threads(&actor.user.id, rid, None).await
    }

    /// The thread started by message `tmid`: its room and first message, for a caller who may
    /// read the room.
    async fn thread(
        &self,
        actor: &Actor,
        tmid: &str,
        method: &'static str,
    ) -> Result<(Room, Message)> {
        let Some(parent) = self.store.message_by_id(tmid).await? else {
            return Err(invalid_message(method));
        };
        let Some(room) = self.store.room_by_id(&parent.rid).await? else {
            return Err(invalid_message(method));
        };
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        if !self.can_access(&actor.user, &room, sub.as_ref()) {
            return Err(Error::not_allowed(method));
        }
        Ok((room, parent))
    }

    /// `chat.getThreadMessages`: a thread's replies, oldest first.
    pub async fn thread_messages(
        &self,
        actor: &Actor,
        tmid: &str,
        paging: Paging,
    ) -> Result<Page<Message>> {
        let (room, parent) = self.thread(actor, tmid, "getThreadMessages").await?;
        let query = MessageQuery {
            paging,
            ascending: true,
            filter: Some(MessageFilter::ThreadReplies(parent.id)),
            ..Default::default()
        };
        self.store.list_messages(&room.id, &query).await
    }

    /// DDP `getThreadMessages({tmid, limit, skip})`: the thread's first message, then its
    /// replies newest first, and the thread read for the caller, as Rocket.Chat answers it. A
    /// message that is not there, or that starts no thread, gives nothing; `limit` is at most
    /// `MAX_THREAD_PAGE`, and none (or 0) means every reply.
    pub async fn thread_history(
        &self,
        actor: &Actor,
        tmid: &str,
        skip: i64,
        limit: Option<i64>,
    ) -> Result<Vec<Message>> {
        let method = "getThreadMessages";
        if limit.unwrap_or(0) > MAX_THREAD_PAGE {
            return Err(Error::invalid(
                "error-not-allowed",
                format!("max limit: {MAX_THREAD_PAGE}"),
            )
            .in_method(method));
        }
        let (room, parent) = match self.thread(actor, tmid, method).await {
            Err(Error::Invalid(_)) => return Ok(vec![]),
            found => found?,
        };
        if parent
            .extra
            .get("tcount")
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
            == 0
        {
            return Ok(vec![]);
        }
        self.store
            .read_threads(&actor.user.id, &room.id, Some(&parent.id))
            .await?;
        let query = MessageQuery {
            paging: Paging {
                offset: skip.max(0),
                count: limit.filter(|l| *l > 0),
            },
            ascending: false,
            filter: Some(MessageFilter::ThreadReplies(parent.id.clone())),
            ..Default::default()
        };
        let replies = self.store.list_messages(&room.id, &query).await?;
        let mut out = Vec::with_capacity(replies.items.len() + 1);
        out.push(parent);
        out.extend(replies.items);
        Ok(out)
    }

    /// `chat.syncThreadMessages`: a thread's replies changed after `since`, and those deleted.
    pub async fn sync_thread_messages(
        &self,
        actor: &Actor,
        tmid: &str,
        since: Timestamp,
    ) -> Result<Changes> {
        let (room, parent) = self.thread(actor, tmid, "syncThreadMessages").await?;
        let replies = MessageFilter::ThreadReplies(parent.id);
        self.changes(&room, since, replies).await
    }

    /// `chat.getThreadsList`: the room's threads, newest first; `text` narrows by content.
    pub async fn threads(
        &self,
        actor: &Actor,
        room: &Room,
        of: ThreadsOf,
        text: Option<&str>,
        paging: Paging,
    ) -> Result<Page<Message>> {
        let all = MessageQuery {
            paging: Paging {
                offset: 0,
                count: None,
            },
            filter: Some(MessageFilter::Threads),
            ..Default::default()
        };
        let threads = self.history(actor, room, &all).await?.items;
        let unread = match of {
            ThreadsOf::Unread => self.store.unread_threads(&actor.user.id, &room.id).await?,
            _ => vec![],
        };
        let needle = text.map(str::to_lowercase);
        let chosen: Vec<Message> = threads
            .into_iter()
            .filter(|m| match of {
                ThreadsOf::All => true,
                ThreadsOf::Following => replies_of(m).contains(&actor.user.id),
                ThreadsOf::Unread => unread.contains(&m.id),
            })
            .filter(|m| {
                needle
                    .as_deref()
                    .is_none_or(|n| m.msg.to_lowercase().contains(n))
            })
            .collect();
        let total = chosen.len() as i64;
        let start = paging.offset.max(0) as usize;
        let items = chosen
            .into_iter()
            .skip(start)
            .take(paging.count.map_or(usize::MAX, |c| c.max(0) as usize))
            .collect();
        Ok(Page { items, total })
    }

    /// `chat.syncThreadsList`: the room's threads changed after `since`, and those deleted.
    pub async fn sync_threads(
        &self,
        actor: &Actor,
        room: &Room,
        since: Timestamp,
    ) -> Result<Changes> {
        self.check_read(actor, room).await?;
        self.changes(room, since, MessageFilter::Threads).await
    }

    /// `chat.syncMessages`: every message changed after `since`, and those deleted.
    pub async fn sync_messages(
        &self,
        actor: &Actor,
        room: &Room,
        since: Timestamp,
    ) -> Result<Changes> {
        self.check_read(actor, room).await?;
        let query = MessageQuery {
            paging: Paging {
                offset: 0,
                count: None,
            },
            ascending: true,
            filter: Some(MessageFilter::UpdatedAfter(since)),
            ..Default::default()
        };
        let updated = self.store.list_messages(&room.id, &query).await?.items;
        let deleted = self
            .store
            .deleted_messages(&room.id, since, None, all())
            .await?
            .items;
        Ok(Changes { updated, deleted })
    }

    /// `chat.getDeletedMessages`: ids of the messages deleted after `since`.
    pub async fn deleted_messages(
        &self,
        actor: &Actor,
        room: &Room,
        since: Timestamp,
        paging: Paging,
    ) -> Result<Page<(String, Timestamp)>> {
        self.check_read(actor, room).await?;
        self.store
            .deleted_messages(&room.id, since, None, paging)
            .await
    }

    /// `chat.search` (one room) and `chat.getMentionedMessages`: newest first.
    pub async fn filtered_messages(
        &self,
        actor: &Actor,
        room: &Room,
        filter: MessageFilter,
        paging: Paging,
    ) -> Result<Page<Message>> {
        let query = MessageQuery {
            paging,
            filter: Some(filter),
            ..Default::default()
        };
        self.history(actor, room, &query).await
    }

    async fn check_read(&self, actor: &Actor, room: &Room) -> Result<()> {
        // `history` holds the read rule; an empty page asks it without reading anything much.
        let probe = MessageQuery {
            paging: Paging {
                offset: 0,
                count: Some(1),
            },
            ..Default::default()
        };
        self.history(actor, room, &probe).await.map(|_| ())
    }

    async fn changes(
        &self,
        room: &Room,
        since: Timestamp,
        filter: MessageFilter,
    ) -> Result<Changes> {
        let query = MessageQuery {
            paging: all(),
            ascending: true,
            filter: Some(MessageFilter::UpdatedAfter(since)),
            ..Default::default()
        };
        let updated = self
            .store
            .list_messages(&room.id, &query)
            .await?
            .items
            .into_iter()
            .filter(|m| match &filter {
                MessageFilter::Threads => {
                    m.extra.get("tcount").and_then(|v| v.as_i64()).unwrap_or(0) > 0
                }
                MessageFilter::ThreadReplies(t) => {
                    m.extra.get("tmid").and_then(|v| v.as_str()) == Some(t.as_str())
                }
                _ => true,
            })
            .collect();
        let deleted = self
            .store
            .deleted_messages(&room.id, since, Some(&filter), all())
            .await?
            .items;
        Ok(Changes { updated, deleted })
    }
}

fn all() -> Paging {
    Paging {
        offset: 0,
        count: None,
    }
}
