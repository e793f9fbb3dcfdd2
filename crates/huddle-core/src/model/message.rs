use crate::{Timestamp, UserRef};

/// A message: user text (`t == None`) or a system event (`au`, `ru`, `uj`, `ul`, ...).
/// Serde: the room event log keeps messages as JSON (`store::RoomEventItem`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub id: String,
    pub rid: String,
    pub msg: String,
    pub ts: Timestamp,
    pub u: UserRef,
    pub t: Option<String>,
    pub updated_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub edited_by: Option<UserRef>,
    /// Extra fields some system messages carry (`role` for role changes), and client extras
    /// (`alias`, `emoji`, `attachments`, ...), kept as a JSON object.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// A client-chosen key that makes a retried post land once (TalkJS `idempotencyKey`).
    pub idempotency_key: Option<String>,
}

impl Message {
    pub fn new(rid: &str, u: UserRef, msg: String, t: Option<&str>) -> Self {
        let now = Timestamp::now();
        Message {
            id: crate::ids::new_sortable_id(),
            rid: rid.to_string(),
            msg,
            ts: now,
            u,
            t: t.map(str::to_string),
            updated_at: now,
            edited_at: None,
            edited_by: None,
            extra: serde_json::Map::new(),
            idempotency_key: None,
        }
    }

    /// A membership system message: `msg` is the affected username, `u` the actor.
    pub fn system(rid: &str, kind: &str, actor: UserRef, subject_username: &str) -> Self {
        Message::new(rid, actor, subject_username.to_string(), Some(kind))
    }

    pub fn is_system(&self) -> bool {
        self.t.is_some()
    }

    /// Whether it shows in its room (and may be the room's `lastMessage`): a thread reply shows
    /// only in its thread unless it was also sent to the room (`tshow`), as Rocket.Chat has it.
    pub fn shown_in_room(&self) -> bool {
        self.extra.get("tmid").is_none()
            || self.extra.get("tshow") == Some(&serde_json::Value::Bool(true))
    }
}

/// A report of a message to the administrators (`chat.reportMessage`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageReport {
    pub id: String,
    /// The message as it was when reported.
    pub message: Message,
    pub reporter: crate::UserRef,
    pub description: String,
    pub ts: Timestamp,
}

/// Filters for room history.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub latest: Option<Timestamp>,
    pub oldest: Option<Timestamp>,
    pub inclusive: bool,
    pub paging: super::Paging,
    /// Newest first (the default for history) or oldest first.
    pub ascending: bool,
    /// Only the messages this selects (pins, threads, search, ...); all when `None`.
    pub filter: Option<MessageFilter>,
}

/// Which messages of a room a list wants (Rocket.Chat's message lists other than history).
#[derive(Debug, Clone, PartialEq)]
pub enum MessageFilter {
    /// Pinned messages (`chat.getPinnedMessages`).
    Pinned,
    /// Messages that started a thread (`chat.getThreadsList`).
    Threads,
    /// The replies of one thread (`chat.getThreadMessages`).
    ThreadReplies(String),
    /// User messages whose text contains this, case-insensitively (`chat.search`).
    Text(String),
    /// User messages mentioning `@username` (`chat.getMentionedMessages`).
    Mentions(String),
    /// Messages changed (posted, edited, reacted, pinned...) after this moment.
    UpdatedAfter(crate::Timestamp),
    /// These messages (the caller's stars).
    Ids(Vec<String>),
    /// Messages that announce a discussion (they carry its `drid`), whose text contains this
    /// one case-insensitively when given (`chat.getDiscussions`).
    Discussions(Option<String>),
}
