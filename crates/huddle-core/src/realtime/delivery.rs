//! What the router hands to connections: a [`Notice`] (protocol-neutral), wrapped in a shared
//! [`Delivery`] that caches each protocol's encoding, and the [`Sink`] a connection offers to
//! receive them.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use crate::events::RoomBrief;
use crate::model::{Message, Room, RoomType, Subscription};

/// Why the server ended a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The reader no longer passes the read rule (permissions, roles, room type).
    NotAllowed,
    /// The reader's membership was removed.
    Removed,
    /// The reader's participant access became `None`.
    AccessNone,
    /// Guest access was switched off (for the app or the conversation).
    GuestAccessOff,
    /// The room was deleted.
    RoomDeleted,
    /// The connection's login no longer holds.
    LoggedOut,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::NotAllowed => "not-allowed",
            EndReason::Removed => "removed",
            EndReason::AccessNone => "access-none",
            EndReason::GuestAccessOff => "guest-access-off",
            EndReason::RoomDeleted => "conversation-deleted",
            EndReason::LoggedOut => "logged-out",
        }
    }
}

/// A change to one TalkJS-style conversation, as the native socket reports it.
#[derive(Debug, Clone)]
pub enum TalkChange {
    MessageCreated(Arc<Message>),
    MessageUpdated(Arc<Message>),
    MessageDeleted { id: String },
    ParticipantJoined(Arc<Subscription>),
    ParticipantUpdated(Arc<Subscription>),
    ParticipantLeft { uid: String },
    ConversationUpdated(Arc<Room>),
    ConversationDeleted,
    GuestAccessChanged { allowed: bool },
}

/// On which stream a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The room's own stream.
    Room,
    /// The all-rooms stream; `participant` says whether the reader is a member.
    All { participant: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Inserted,
    Updated,
}

/// A user's visible status, for status streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusBrief {
    pub uid: String,
    pub username: String,
    pub name: String,
    pub status: String,
    pub status_text: String,
    pub roles: Vec<String>,
}

/// One thing a connection is told.
#[derive(Debug, Clone)]
pub enum Notice {
    Message {
        message: Arc<Message>,
        room: RoomBrief,
        via: Via,
    },
    MessageDeleted {
        rid: String,
        id: String,
    },
    Activity {
        rid: String,
        username: String,
        activities: Vec<String>,
    },
    SubscriptionChanged {
        uid: String,
        change: Change,
        subscription: Arc<Subscription>,
    },
    /// A membership of `uid` is gone; `id` is the membership's id.
    SubscriptionRemoved {
        uid: String,
        id: String,
        rid: String,
        t: RoomType,
        username: String,
    },
    RoomChanged {
        uid: String,
        change: Change,
        room: Arc<Room>,
        /// The message that moved the room, shown as its `lastMessage` (per-message changes).
        last: Option<Arc<Message>>,
    },
    RoomRemoved {
        uid: String,
        rid: String,
    },
    /// A message from the server for this user's eyes only (never stored).
    Ephemeral {
        uid: String,
        message: Message,
    },
    Notification {
        uid: String,
        message: Arc<Message>,
        room: RoomBrief,
    },
    UserStatus(StatusBrief),
    /// A watched user's status (`stream-user-presence`).
    Presence(StatusBrief),
    /// The server ended subscription `sub_id`: its reader lost access.
    Ended {
        sub_id: String,
        reason: EndReason,
    },
    /// One event of a TalkJS-style conversation, numbered by its place in the room's log
    /// (`talk::event_id`), so a reconnecting client can ask any node for what came after the
    /// last it saw.
    Talk {
        rid: String,
        event_id: u64,
        change: TalkChange,
    },
    /// The connection's login no longer holds (the account was deactivated).
    LoggedOut,
    /// A participant of a TalkJS-style conversation started or stopped typing. Transient: not
    /// numbered and never replayed.
    Typing {
        rid: String,
        uid: String,
        typing: bool,
    },
}

/// The protocols that cache an encoding in a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Ddp = 0,
    Native = 1,
}

/// A notice shared by all its recipients, with each protocol's encoding made once, by the first
/// connection that writes it.
#[derive(Debug)]
pub struct Delivery {
    notice: Notice,
    frames: [OnceLock<Box<dyn Any + Send + Sync>>; 2],
}

impl Delivery {
    pub fn new(notice: Notice) -> Arc<Self> {
        Arc::new(Delivery {
            notice,
            frames: [OnceLock::new(), OnceLock::new()],
        })
    }

    pub fn notice(&self) -> &Notice {
        &self.notice
    }

    /// This delivery encoded for `protocol`, encoding it on first use. `T` should be cheap to
    /// clone (reference-counted bytes), since every recipient gets a clone.
    pub fn frame<T: Clone + Send + Sync + 'static>(
        &self,
        protocol: Protocol,
        encode: impl FnOnce(&Notice) -> T,
    ) -> T {
        let slot = &self.frames[protocol as usize];
        if let Some(v) = slot.get().and_then(|b| b.downcast_ref::<T>()) {
            return v.clone();
        }
        // Not blocking on a concurrent encoder: at worst two writers encode the same notice once
        // each, and the first one's bytes are kept.
        let v = encode(&self.notice);
        let _ = slot.set(Box::new(v.clone()));
        v
    }
}

/// A connection's end of the router: a bounded queue, offered to without waiting.
pub trait Sink: Send + Sync {
    /// Queues a delivery. `false` means the connection cannot take it (its queue is full, or it
    /// is gone): the router then forgets the connection, and the sink's owner must close it.
    fn offer(&self, delivery: Arc<Delivery>) -> bool;
    /// The node ends the connection (cluster mode: it lost the other nodes,
    /// `cluster::FENCED_CLOSE_CODE`); the owner closes the socket with this code.
    fn close(&self, code: u16, reason: &'static str);
}
