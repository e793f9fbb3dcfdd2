//! The domain model shared by both APIs: users, rooms, memberships (subscriptions), messages,
//! permissions, roles and settings. Plain data; no wire format lives here.

mod app;
mod invite;
mod message;
mod room;
mod user;

pub use app::*;
pub use invite::*;
pub use message::*;
pub use room::*;
pub use user::*;

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Offset pagination as Rocket.Chat clients send it. `count == None` means "all".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: i64,
    pub count: Option<i64>,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            offset: 0,
            count: Some(50),
        }
    }
}

/// A sort direction requested by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

/// A permission: which roles hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub id: String,
    pub roles: Vec<String>,
    pub updated_at: crate::Timestamp,
}

/// Where a role applies: to the user everywhere, or to a user inside one room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleScope {
    Users,
    Subscriptions,
}

impl RoleScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleScope::Users => "Users",
            RoleScope::Subscriptions => "Subscriptions",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// What users, memberships and permissions hold: the name for Rocket.Chat's default roles,
    /// a random id for roles made with `roles.create` (so a rename keeps every grant).
    pub id: String,
    pub name: String,
    pub scope: RoleScope,
    pub description: String,
    pub protected: bool,
    pub updated_at: crate::Timestamp,
}

impl RoleScope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Users" => Some(RoleScope::Users),
            "Subscriptions" => Some(RoleScope::Subscriptions),
            _ => None,
        }
    }
}
