//! What travels on the bus: JSON, one message per event. A room event carries the room as its
//! writer left it (the router needs its type and name, and the counters), its number and
//! items; the database row has the same items, so a node that missed the message reads it there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::model::{Profile, Room, Subscription, User};
use crate::store::RoomEventItem;
use crate::{Result, Timestamp};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "camelCase")]
pub(crate) enum Wire {
    /// A committed room change.
    Room {
        node: String,
        seq: i64,
        room: Box<Room>,
        items: Vec<RoomEventItem>,
    },
    /// Any other event (user-scoped or app-wide), applied as it comes.
    Event { node: String, event: WireEvent },
    /// A request for an acknowledgement: answered once the node applied `rid` up to `seq`.
    AckRoom { rid: String, seq: i64 },
    /// A request carrying a revoking user event: answered once it is applied.
    AckEvent { event: WireEvent },
    /// Keys, settings or permissions changed: answered once they were re-read.
    AckRefresh,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum WireEvent {
    SubscriptionChanged {
        subscription: Box<Subscription>,
    },
    SessionRevoked {
        uid: String,
        token_hash: Option<String>,
    },
    UserCreated {
        user: Box<WireUser>,
    },
    UserUpdated {
        user: Box<WireUser>,
    },
    GuestAccessChanged {
        allowed: bool,
    },
    UserActivity {
        rid: String,
        uid: String,
        username: String,
        activities: Vec<String>,
        origin: Option<String>,
    },
}

/// A user as other nodes need it: everything but the password hash.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireUser {
    id: String,
    username: Option<String>,
    name: String,
    email: Option<String>,
    email_verified: bool,
    roles: Vec<String>,
    active: bool,
    kind: String,
    status: String,
    #[serde(default)]
    status_default: String,
    status_text: String,
    custom: BTreeMap<String, String>,
    photo_url: Option<String>,
    locale: Option<String>,
    require_password_change: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    last_login: Option<Timestamp>,
    profile: Profile,
    #[serde(default)]
    preferences: serde_json::Map<String, serde_json::Value>,
}

impl From<&User> for WireUser {
    fn from(u: &User) -> Self {
        WireUser {
            id: u.id.clone(),
            username: u.username.clone(),
            name: u.name.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            roles: u.roles.clone(),
            active: u.active,
            kind: u.kind.clone(),
            status: u.status.clone(),
            status_default: u.status_default.clone(),
            status_text: u.status_text.clone(),
            custom: u.custom.clone(),
            photo_url: u.photo_url.clone(),
            locale: u.locale.clone(),
            require_password_change: u.require_password_change,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login: u.last_login,
            profile: u.profile.clone(),
            preferences: u.preferences.clone(),
        }
    }
}

impl From<WireUser> for User {
    fn from(w: WireUser) -> Self {
        User {
            id: w.id,
            username: w.username,
            name: w.name,
            email: w.email,
            email_verified: w.email_verified,
            password_hash: None,
            roles: w.roles,
            active: w.active,
            kind: w.kind,
            status: w.status,
            status_default: w.status_default,
            status_text: w.status_text,
            custom: w.custom,
            photo_url: w.photo_url,
            locale: w.locale,
            require_password_change: w.require_password_change,
            created_at: w.created_at,
            updated_at: w.updated_at,
            last_login: w.last_login,
            profile: w.profile,
            preferences: w.preferences,
        }
    }
}

/// Where a non-room event goes on the bus, and its wire form; `None`: it stays on this node
/// (room events travel as `Wire::Room`; the permission table is re-read by every node's
/// refresher).
pub(crate) fn route(event: &Event) -> Option<(Route, WireEvent)> {
    Some(match event {
        Event::SubscriptionChanged(s) => (
            Route::User(s.u.id.clone()),
            WireEvent::SubscriptionChanged {
                subscription: Box::new(s.clone()),
            },
        ),
        Event::SessionRevoked { uid, token_hash } => (
            Route::User(uid.clone()),
            WireEvent::SessionRevoked {
                uid: uid.clone(),
                token_hash: token_hash.clone(),
            },
        ),
        Event::UserCreated(u) => (
            Route::Global,
            WireEvent::UserCreated {
                user: Box::new(u.into()),
            },
        ),
        Event::UserUpdated(u) => (
            Route::Global,
            WireEvent::UserUpdated {
                user: Box::new(u.into()),
            },
        ),
        Event::GuestAccessChanged { rid: None, allowed } => (
            Route::Global,
            WireEvent::GuestAccessChanged { allowed: *allowed },
        ),
        Event::UserActivity {
            rid,
            uid,
            username,
            activities,
            origin,
        } => (
            Route::Room(rid.clone()),
            WireEvent::UserActivity {
                rid: rid.clone(),
                uid: uid.clone(),
                username: username.clone(),
                activities: activities.clone(),
                origin: origin.clone(),
            },
        ),
        // Room changes travel as `Wire::Room`, numbered by the room's `seq`, never as loose
        // events; a room's guest-access switch is one of them.
        Event::MessageCreated { .. }
        | Event::MessageUpdated { .. }
        | Event::MessageDeleted { .. }
        | Event::MemberAdded { .. }
        | Event::MemberRemoved { .. }
        | Event::MemberUpdated(_)
        | Event::RoomChanged(_)
        | Event::RoomTouched { .. }
        | Event::RoomDeleted { .. }
        | Event::GuestAccessChanged { rid: Some(_), .. } => return None,
        // Every node's refresher re-reads the permission table; log-position marks are derived
        // by every node from the room's log.
        Event::PermissionsChanged | Event::RoomSeq { .. } => return None,
        // Only the node that took the read fires `message.read` (its webhook outbox rows are
        // claimed once cluster-wide); no socket shows it.
        Event::MessagesRead { .. } => return None,
    })
}

pub(crate) enum Route {
    Room(String),
    User(String),
    Global,
}

impl WireEvent {
    pub fn into_event(self) -> Event {
        match self {
            WireEvent::SubscriptionChanged { subscription } => {
                Event::SubscriptionChanged(*subscription)
            }
            WireEvent::SessionRevoked { uid, token_hash } => {
                Event::SessionRevoked { uid, token_hash }
            }
            WireEvent::UserCreated { user } => Event::UserCreated((*user).into()),
            WireEvent::UserUpdated { user } => Event::UserUpdated((*user).into()),
            WireEvent::GuestAccessChanged { allowed } => {
                Event::GuestAccessChanged { rid: None, allowed }
            }
            WireEvent::UserActivity {
                rid,
                uid,
                username,
                activities,
                origin,
            } => Event::UserActivity {
                rid,
                uid,
                username,
                activities,
                origin,
            },
        }
    }
}

pub(crate) fn encode(w: &Wire) -> Vec<u8> {
    // Serialising plain data into a Vec cannot fail.
    serde_json::to_vec(w).unwrap_or_default()
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Wire> {
    serde_json::from_slice(bytes)
        .map_err(|e| crate::Error::Internal(format!("a bus message that does not parse: {e}")))
}
