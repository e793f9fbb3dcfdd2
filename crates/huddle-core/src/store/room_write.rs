//! The one write path's storage half: every change to a room is one `RoomWrite`, committed by
//! `RoomWriteStore::write_room` in one transaction that writes the rows, the room's counters, the
//! system message, one `room_events` row numbered by the room's own counter (`rooms.seq`, so
//! commit order is `seq` order, with no gaps) and the webhook outbox rows of that event.
//!
//! A write that changes nothing (adding members who are all members already, removing a
//! non-member, deleting a message that is gone) writes no event and takes no number.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{NewMember, RoomCounters};
use crate::model::{Message, Room, RoomBan, Subscription, UserRef, WebhookEndpoint};
use crate::notify::NotifyFacts;
use crate::{Error, Result, Timestamp};

/// One change to one room.
#[derive(Debug, Clone)]
pub enum RoomChange {
    /// A new room with its first members (no system messages, as Rocket.Chat does). Fails with
    /// `Conflict` (`error-duplicate-channel-name`) when the name is taken, or when the id is.
    Create {
        room: Room,
        members: Vec<Subscription>,
    },
    /// Memberships that do not exist yet, each with its system message; existing ones are
    /// skipped with their message, and so are users banned from the room (lift a ban first).
    AddMembers(Vec<NewMember>),
    /// One membership, with its system message (written only if a row was removed).
    RemoveMember {
        uid: String,
        message: Option<Message>,
    },
    /// Roles, access and notify of an existing membership, with an optional system message.
    UpdateMember {
        subscription: Subscription,
        message: Option<Message>,
    },
    /// A message (user text or a system message the app posts); bumps `msgs`, `lm` and the
    /// unread counts of the other members. A repeated idempotency key is `Conflict`.
    PostMessage(Message),
    EditMessage(Message),
    DeleteMessage {
        id: String,
    },
    /// Adds (`react` true), removes (false) or toggles (`None`) `username`'s `emoji` reaction.
    React {
        id: String,
        emoji: String,
        username: String,
        react: Option<bool>,
    },
    /// A change to one message's own state (pinned, thread followers), read and written inside
    /// the transaction so concurrent changes to the message do not lose each other, with an
    /// optional system message (the `message_pinned` note). No such message writes nothing.
    PatchMessage {
        id: String,
        patch: MessagePatch,
        message: Option<Message>,
    },
    /// Deletes the messages of a stretch of time (`rooms.cleanHistory`): `ts` between `oldest`
    /// and `latest` (both included when `inclusive`), only of `usernames` when not empty,
    /// keeping pinned ones when `exclude_pinned`, at most `limit` (oldest first) when set.
    CleanHistory(CleanHistory),
    /// The room's settings (not its counters), with an optional system message. `guest_access`
    /// is the new value when this change switches guest access.
    UpdateRoom {
        room: Room,
        message: Option<Message>,
        guest_access: Option<bool>,
    },
    /// Removes a member and records the ban, with the `user-banned` system message. Nothing
    /// happens when they are no member (a concurrent removal won).
    Ban {
        ban: RoomBan,
        message: Message,
    },
    /// Lifts a ban, with the `user-unbanned` system message; nothing happens when there was none.
    /// The user does not become a member again (Rocket.Chat's behaviour).
    Unban {
        uid: String,
        message: Message,
    },
    /// The room, its memberships and messages. Its event rows stay: other nodes and resuming
    /// clients learn of the deletion from them.
    DeleteRoom,
}

impl RoomChange {
    /// The `room_events.kind` of the event this change writes.
    pub fn kind(&self) -> &'static str {
        match self {
            RoomChange::Create { .. } => "room.created",
            RoomChange::AddMembers(_) => "members.added",
            RoomChange::RemoveMember { .. } => "member.removed",
            RoomChange::UpdateMember { .. } => "member.updated",
            RoomChange::PostMessage(_) => "message.created",
            RoomChange::EditMessage(_) => "message.updated",
            RoomChange::DeleteMessage { .. } => "message.deleted",
            RoomChange::React { .. } => "message.reacted",
            RoomChange::PatchMessage { .. } => "message.patched",
            RoomChange::CleanHistory(_) => "messages.cleaned",
            RoomChange::UpdateRoom { .. } => "room.updated",
            RoomChange::Ban { .. } => "member.banned",
            RoomChange::Unban { .. } => "member.unbanned",
            RoomChange::DeleteRoom => "room.deleted",
        }
    }
}

/// The stretch `RoomChange::CleanHistory` deletes.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanHistory {
    pub oldest: Timestamp,
    pub latest: Timestamp,
    pub inclusive: bool,
    pub exclude_pinned: bool,
    pub usernames: Vec<String>,
    pub limit: Option<i64>,
}

/// What `RoomChange::PatchMessage` does to a message (Rocket.Chat keeps these on the message
/// document: `pinned`/`pinnedAt`/`pinnedBy`, and the thread's `replies`, the users following it).
#[derive(Debug, Clone, PartialEq)]
pub enum MessagePatch {
    Pin {
        by: UserRef,
        at: Timestamp,
    },
    Unpin,
    /// Follow (`true`) or unfollow a thread.
    Follow {
        uid: String,
        follow: bool,
    },
}

impl MessagePatch {
    /// Applies the patch; false when it changes nothing.
    pub fn apply(&self, m: &mut Message) -> bool {
        use serde_json::{json, Value};
        match self {
            MessagePatch::Pin { by, at } => {
                if m.extra.get("pinned") == Some(&Value::Bool(true)) {
                    return false;
                }
                m.extra.insert("pinned".into(), json!(true));
                m.extra.insert("pinnedAt".into(), json!(at.0));
                m.extra.insert(
                    "pinnedBy".into(),
                    json!({ "_id": by.id, "username": by.username }),
                );
                true
            }
            MessagePatch::Unpin => {
                if m.extra.get("pinned") != Some(&Value::Bool(true)) {
                    return false;
                }
                m.extra.insert("pinned".into(), json!(false));
                m.extra.remove("pinnedAt");
                m.extra.remove("pinnedBy");
                true
            }
            MessagePatch::Follow { uid, follow } => {
                let mut replies = replies_of(m);
                let has = replies.iter().any(|r| r == uid);
                match (follow, has) {
                    (true, false) => replies.push(uid.clone()),
                    (false, true) => replies.retain(|r| r != uid),
                    _ => return false,
                }
                m.extra.insert("replies".into(), json!(replies));
                true
            }
        }
    }
}

/// The users following a thread (`replies` on its first message).
pub fn replies_of(m: &Message) -> Vec<String> {
    m.extra
        .get("replies")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A thread's first message after a reply: one more reply, the reply's time as `tlm`, the
/// thread's author and the replier among its followers (Rocket.Chat's `updateThreadReplies`).
pub fn count_thread_reply(parent: &mut Message, reply: &Message) {
    use serde_json::json;
    let tcount = parent
        .extra
        .get("tcount")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    parent.extra.insert("tcount".into(), json!(tcount + 1));
    parent.extra.insert("tlm".into(), json!(reply.ts.0));
    let mut replies = replies_of(parent);
    for uid in [&parent.u.id, &reply.u.id] {
        if !replies.contains(uid) {
            replies.push(uid.clone());
        }
    }
    parent.extra.insert("replies".into(), json!(replies));
}

/// A change and who must hear of it by webhook.
#[derive(Debug, Clone)]
pub struct RoomWrite {
    pub rid: String,
    pub change: RoomChange,
    /// The endpoints registered now; the store writes an outbox row for each item an endpoint
    /// wants (`WebhookEndpoint::wants` of `RoomEventItem::webhook_type`), in the same
    /// transaction.
    pub webhooks: Vec<WebhookEndpoint>,
    /// For a user message of a TalkJS-style conversation: what deciding its notifications
    /// needs besides the members (`notify::recipients`, asked inside the transaction). `None`:
    /// nobody is notified.
    pub notify: Option<NotifyFacts>,
}

impl RoomWrite {
    pub fn new(rid: &str, change: RoomChange) -> Self {
        RoomWrite {
            rid: rid.to_string(),
            change,
            webhooks: vec![],
            notify: None,
        }
    }
}

/// What one committed change did, in the order consumers must see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RoomEventItem {
    RoomCreated {
        room: Box<Room>,
    },
    MemberAdded {
        subscription: Box<Subscription>,
    },
    MemberRemoved {
        uid: String,
    },
    MemberUpdated {
        subscription: Box<Subscription>,
    },
    MessageCreated {
        message: Box<Message>,
    },
    MessageUpdated {
        message: Box<Message>,
    },
    MessageDeleted {
        id: String,
    },
    RoomUpdated {
        room: Box<Room>,
    },
    GuestAccessChanged {
        allowed: bool,
    },
    RoomDeleted,
    /// Member `uid` is to be told of message `message_id` (posted by the same change): a
    /// `notification.triggered` webhook, and an e-mail when e-mails are on.
    NotificationTriggered {
        uid: String,
        message_id: String,
    },
}

impl RoomEventItem {
    /// The webhook event type this item is delivered as (TalkJS's names), if webhooks carry it.
    pub fn webhook_type(&self) -> Option<&'static str> {
        Some(match self {
            RoomEventItem::MessageCreated { .. } => "message.sent",
            RoomEventItem::MessageUpdated { .. } => "message.updated",
            RoomEventItem::MessageDeleted { .. } => "message.deleted",
            RoomEventItem::MemberAdded { .. } => "participant.joined",
            RoomEventItem::MemberUpdated { .. } => "participant.updated",
            RoomEventItem::MemberRemoved { .. } => "participant.left",
            RoomEventItem::GuestAccessChanged { .. } => "guestAccess.changed",
            RoomEventItem::RoomDeleted => "conversation.deleted",
            RoomEventItem::NotificationTriggered { .. } => "notification.triggered",
            RoomEventItem::RoomCreated { .. } | RoomEventItem::RoomUpdated { .. } => return None,
        })
    }
}

/// What `write_room` committed. `seq` is `None` when nothing changed (and nothing was written).
#[derive(Debug, Clone, Default)]
pub struct RoomWritten {
    pub seq: Option<i64>,
    pub items: Vec<RoomEventItem>,
    /// The room's counters after the change, when it moved them.
    pub counters: Option<RoomCounters>,
}

impl RoomWritten {
    pub fn changed(&self) -> bool {
        self.seq.is_some()
    }
}

/// One `room_events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomEvent {
    pub rid: String,
    pub seq: i64,
    pub kind: String,
    pub items: Vec<RoomEventItem>,
    pub created_at: Timestamp,
}

/// The write path's store. Services reach it only through `Huddle`'s one write function
/// (`services::write`); the conveniences below serve tests and tools that need one kind of
/// change without webhooks.
#[async_trait]
pub trait RoomWriteStore: Send + Sync {
    /// Commits one change to one room as described in the module docs.
    async fn write_room(&self, write: RoomWrite) -> Result<RoomWritten>;
    /// The room's events after `after_seq`, in `seq` order, at most `limit`.
    async fn room_events(&self, rid: &str, after_seq: i64, limit: i64) -> Result<Vec<RoomEvent>>;

    async fn create_room(&self, room: &Room, members: &[Subscription]) -> Result<()> {
        let change = RoomChange::Create {
            room: room.clone(),
            members: members.to_vec(),
        };
        self.write_room(RoomWrite::new(&room.id, change)).await?;
        Ok(())
    }
    /// The user ids actually added.
    async fn add_members(&self, rid: &str, members: &[NewMember]) -> Result<Vec<String>> {
        Ok(self.add_members_counted(rid, members).await?.0)
    }
    /// `add_members`, with the room's counters after the change (`None` if nobody was added).
    async fn add_members_counted(
        &self,
        rid: &str,
        members: &[NewMember],
    ) -> Result<(Vec<String>, Option<RoomCounters>)> {
        let change = RoomChange::AddMembers(members.to_vec());
        let written = self.write_room(RoomWrite::new(rid, change)).await?;
        let added = written
            .items
            .iter()
            .filter_map(|i| match i {
                RoomEventItem::MemberAdded { subscription } => Some(subscription.u.id.clone()),
                _ => None,
            })
            .collect();
        Ok((added, written.counters))
    }
    async fn remove_member(&self, rid: &str, uid: &str, message: Option<&Message>) -> Result<bool> {
        Ok(self
            .remove_member_counted(rid, uid, message)
            .await?
            .is_some())
    }
    /// The room's counters after the change (`None` if nothing was removed).
    async fn remove_member_counted(
        &self,
        rid: &str,
        uid: &str,
        message: Option<&Message>,
    ) -> Result<Option<RoomCounters>> {
        let change = RoomChange::RemoveMember {
            uid: uid.to_string(),
            message: message.cloned(),
        };
        let written = self.write_room(RoomWrite::new(rid, change)).await?;
        Ok(written.changed().then_some(written.counters).flatten())
    }
    async fn update_subscription(
        &self,
        sub: &Subscription,
        message: Option<&Message>,
    ) -> Result<()> {
        let change = RoomChange::UpdateMember {
            subscription: sub.clone(),
            message: message.cloned(),
        };
        self.write_room(RoomWrite::new(&sub.rid, change)).await?;
        Ok(())
    }
    async fn insert_message(&self, message: &Message) -> Result<()> {
        let change = RoomChange::PostMessage(message.clone());
        self.write_room(RoomWrite::new(&message.rid, change))
            .await?;
        Ok(())
    }
    async fn update_message(&self, message: &Message) -> Result<()> {
        let change = RoomChange::EditMessage(message.clone());
        self.write_room(RoomWrite::new(&message.rid, change))
            .await?;
        Ok(())
    }
    /// Deletes message `id` of room `rid`; false if there was none.
    async fn delete_message(&self, rid: &str, id: &str) -> Result<bool> {
        let change = RoomChange::DeleteMessage { id: id.to_string() };
        Ok(self
            .write_room(RoomWrite::new(rid, change))
            .await?
            .changed())
    }
    /// The message after the reaction change, `None` if it does not exist.
    async fn set_reaction(
        &self,
        rid: &str,
        id: &str,
        emoji: &str,
        username: &str,
        react: Option<bool>,
    ) -> Result<Option<Message>> {
        let change = RoomChange::React {
            id: id.to_string(),
            emoji: emoji.to_string(),
            username: username.to_string(),
            react,
        };
        let written = self.write_room(RoomWrite::new(rid, change)).await?;
        Ok(written.items.into_iter().find_map(|i| match i {
            RoomEventItem::MessageUpdated { message } => Some(*message),
            _ => None,
        }))
    }
    async fn update_room(&self, room: &Room, message: Option<&Message>) -> Result<()> {
        let change = RoomChange::UpdateRoom {
            room: room.clone(),
            message: message.cloned(),
            guest_access: None,
        };
        self.write_room(RoomWrite::new(&room.id, change)).await?;
        Ok(())
    }
    async fn delete_room(&self, id: &str) -> Result<bool> {
        match self
            .write_room(RoomWrite::new(id, RoomChange::DeleteRoom))
            .await
        {
            Ok(w) => Ok(w.changed()),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
