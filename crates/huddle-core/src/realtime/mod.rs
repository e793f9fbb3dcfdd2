//! The realtime router: which open connection hears which committed change.
//!
//! Protocols (DDP, and the TalkJS-style native socket) open a connection here, log it in, and
//! subscribe it to [`Topic`]s. The router is an [`EventSink`](crate::events::EventSink) on the
//! event hub: for each event it looks up the interested connections in indexes keyed by room and
//! by user, builds one shared [`Delivery`] per distinct notice, and offers it to each
//! connection's bounded queue. Protocols turn a delivery into bytes once (the delivery caches the
//! encoding), so a message to 10,000 sockets is serialised once.
//!
//! Access is decided when a subscription starts and again on the events that can change it
//! (membership, room type, deletion, permissions, the user's roles or active flag), never by a
//! store query per message. A subscription that loses access ends at once with
//! [`Notice::Ended`], before the next event of its room is routed.

pub mod access;
mod delivery;
mod dispatch;
mod revoke;
mod router;
mod state;
mod talk;
#[cfg(test)]
mod tests;
mod verdict;

pub use delivery::{
    Change, Delivery, EndReason, Notice, Protocol, Sink, StatusBrief, TalkChange, Via,
};
pub use router::Router;
pub use talk::{event_id, Replay, REPLAY_MAX};

/// A connection's id, unique within this node.
pub type ConnId = u64;

/// What one subscription listens to, in domain terms. Protocols map their stream names onto
/// these.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One room's stream of the given kind.
    Room { rid: String, stream: RoomStream },
    /// New and edited messages of every room the user may read (`__my_messages__`).
    AllMessages,
    /// The user's own notifications. Only the user themself may listen.
    User { uid: String, stream: UserStream },
    /// Everyone's status changes (for logged-in users).
    UserStatus,
    /// The status changes of the users the connection watches (`stream-user-presence`; the
    /// list lives with the connection, `Router::watch_presence`).
    Presence,
    /// A stream Huddle accepts but never feeds (events it does not produce).
    Inert { needs_login: bool },
    /// One TalkJS-style conversation's events (native socket). `guest`: read as a guest, not as
    /// a participant; guest subscriptions are indexed apart so that switching guest access off
    /// ends them all at once.
    Conversation { rid: String, guest: bool },
    /// The events of every conversation the user participates in, including ones joined later.
    Inbox,
}

impl Topic {
    /// The room this topic reads, if it reads one.
    pub fn room_id(&self) -> Option<&str> {
        match self {
            Topic::Room { rid, .. } | Topic::Conversation { rid, .. } => Some(rid),
            _ => None,
        }
    }

    /// The per-room index a live subscription on this topic sits in.
    pub(crate) fn room_stream(&self) -> Option<(&str, RoomStream)> {
        match self {
            Topic::Room { rid, stream } => Some((rid, *stream)),
            Topic::Conversation { rid, guest: false } => Some((rid, RoomStream::Talk)),
            Topic::Conversation { rid, guest: true } => Some((rid, RoomStream::TalkGuest)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomStream {
    /// New and edited messages.
    Messages,
    /// Deleted message ids.
    Deletions,
    /// Typing and other transient activity.
    Activity,
    /// Accepted (access is checked and revoked like the others) but never fed.
    Other,
    /// TalkJS-style conversation events read by participants (native socket).
    Talk,
    /// The same events read by guests.
    TalkGuest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStream {
    /// Memberships inserted, updated, removed.
    Subscriptions,
    /// Rooms of the user's memberships changing.
    Rooms,
    /// Ephemeral messages from the server.
    Messages,
    /// Desktop-style notifications (direct messages, mentions).
    Notifications,
    /// Accepted but never fed.
    Other,
}

/// The answer to a subscription request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: events flow from now on.
    Live,
    /// Needs a login first. Accepted and quiet; re-evaluated when the connection logs in, since
    /// bots resubscribe before they resume their session.
    Dormant,
    /// Refused.
    Denied,
    /// The connection already has a subscription with this id; nothing changed.
    Duplicate,
}
