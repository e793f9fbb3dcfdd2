use std::collections::BTreeMap;

use crate::{Timestamp, UserRef};

/// Rocket.Chat's room types. TalkJS conversations are private rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RoomType {
    Channel,
    Group,
    Direct,
}

impl RoomType {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomType::Channel => "c",
            RoomType::Group => "p",
            RoomType::Direct => "d",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "c" => Some(RoomType::Channel),
            "p" => Some(RoomType::Group),
            "d" => Some(RoomType::Direct),
            _ => None,
        }
    }
}

/// Which API made a room, and so whose rules govern it (`policy`): a room made through the
/// Rocket.Chat API stays under Rocket.Chat's permissions whichever API reaches it; a
/// conversation made through the TalkJS-style API follows TalkJS's rules.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Origin {
    #[default]
    RocketChat,
    TalkJs,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::RocketChat => "rocketchat",
            Origin::TalkJs => "talkjs",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rocketchat" => Some(Origin::RocketChat),
            "talkjs" => Some(Origin::TalkJs),
            _ => None,
        }
    }
}

/// A conversation: public channel, private group or direct message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    pub id: String,
    pub t: RoomType,
    /// Which API made it; fixed at creation.
    pub origin: Origin,
    /// Unique among channels and groups; absent for direct messages.
    pub name: Option<String>,
    pub fname: Option<String>,
    pub topic: Option<String>,
    pub description: Option<String>,
    pub announcement: Option<String>,
    pub read_only: bool,
    pub archived: bool,
    pub default: bool,
    pub join_code: Option<String>,
    pub creator: Option<UserRef>,
    pub msgs: i64,
    pub users_count: i64,
    pub last_message_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Member usernames and ids of a direct message (sorted), as Rocket.Chat embeds them.
    pub dm_usernames: Vec<String>,
    pub dm_uids: Vec<String>,
    /// TalkJS-style fields.
    pub subject: Option<String>,
    pub photo_url: Option<String>,
    pub welcome_messages: Vec<String>,
    pub custom: BTreeMap<String, String>,
    /// Whether non-members may read and write as guests (also needs the app settings to allow it).
    pub guest_access: bool,
    /// Rocket.Chat's end-to-end flag (`groups.setEncrypted`): clients encrypt, the server keeps it.
    #[serde(default)]
    pub encrypted: bool,
    /// A discussion's parent room (Rocket.Chat's `prid`), fixed at creation.
    #[serde(default)]
    pub prid: Option<String>,
    /// The parent room's message a discussion was started from (`pmid`), fixed at creation.
    #[serde(default)]
    pub pmid: Option<String>,
}

impl Room {
    pub fn new(id: String, t: RoomType, name: Option<String>, creator: Option<UserRef>) -> Self {
        let now = Timestamp::now();
        Room {
            id,
            t,
            origin: Origin::RocketChat,
            fname: name.clone(),
            name,
            topic: None,
            description: None,
            announcement: None,
            read_only: false,
            archived: false,
            default: false,
            join_code: None,
            creator,
            msgs: 0,
            users_count: 0,
            last_message_at: None,
            created_at: now,
            updated_at: now,
            dm_usernames: vec![],
            dm_uids: vec![],
            subject: None,
            photo_url: None,
            welcome_messages: vec![],
            custom: BTreeMap::new(),
            guest_access: false,
            encrypted: false,
            prid: None,
            pmid: None,
        }
    }

    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.fname.as_deref())
            .unwrap_or(&self.id)
    }
}

/// TalkJS participant access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Access {
    #[default]
    ReadWrite,
    Read,
    None,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::ReadWrite => "ReadWrite",
            Access::Read => "Read",
            Access::None => "None",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ReadWrite" => Some(Access::ReadWrite),
            "Read" => Some(Access::Read),
            "None" => Some(Access::None),
            _ => None,
        }
    }
}

/// A membership: one user in one room, with room-scoped roles and read state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    pub id: String,
    pub rid: String,
    pub u: UserRef,
    pub t: RoomType,
    /// The room's name (the other user's username for direct messages).
    pub name: String,
    pub fname: Option<String>,
    pub ts: Timestamp,
    pub ls: Option<Timestamp>,
    pub open: bool,
    pub alert: bool,
    pub unread: i64,
    pub user_mentions: i64,
    pub group_mentions: i64,
    pub roles: Vec<String>,
    pub access: Access,
    /// TalkJS notify: `true`, `false` or `MentionsOnly`.
    pub notify: String,
    /// When access was set to `None`: the participant keeps a static view of the messages up to
    /// this moment (TalkJS semantics). Cleared when access is given back.
    pub revoked_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    /// The member marked the room a favourite (`rooms.favorite`, Rocket.Chat's `f`).
    #[serde(default)]
    pub favorite: bool,
    /// Users whose messages this member ignores here (`chat.ignoreUser`, Rocket.Chat's `ignored`).
    #[serde(default)]
    pub ignored: Vec<String>,
}

impl Subscription {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Filters for listing rooms.
#[derive(Debug, Clone, Default)]
pub struct RoomQuery {
    pub types: Vec<RoomType>,
    /// Only rooms this user is subscribed to.
    pub member: Option<String>,
    /// Case-insensitive substring of the name.
    pub text: Option<String>,
    pub ids: Option<Vec<String>>,
    /// Only the discussions of this room (sorted by display name, as Rocket.Chat lists them).
    pub prid: Option<String>,
    /// Only the discussion started from this message.
    pub pmid: Option<String>,
    pub paging: super::Paging,
    pub sort_desc: bool,
}

/// Filters for listing the members of a room.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Case-insensitive substring of username or name.
    pub text: Option<String>,
    pub statuses: Vec<String>,
    pub paging: super::Paging,
    pub sort_desc: bool,
}

/// A member as listed: the membership and the user behind it.
#[derive(Debug, Clone)]
pub struct Member {
    pub subscription: Subscription,
    pub user: crate::User,
}

/// A member as Rocket.Chat's member lists show one (`channels.members`, `groups.members`,
/// `im.members`): the user's own fields that the entry carries and nothing of the membership,
/// so a page reads five columns per member instead of both whole rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEntry {
    pub id: String,
    pub username: Option<String>,
    pub name: String,
    pub status: String,
    pub updated_at: Timestamp,
}
