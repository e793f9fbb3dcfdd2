//! Finding the room and the users a request names, with Rocket.Chat's exact refusals.

use super::{must, Huddle};
use crate::model::{Invitee, Room, RoomType, User};
use crate::{Error, Result};

/// How a request names a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomLookup {
    Id(String),
    Name(String),
    /// Either, as `groups.invite` and `rooms.*` accept (`_id` or `name`).
    IdOrName(String),
}

/// Which API family asks: it decides the accepted room types and the words of the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// `channels.*`: public rooms only.
    Channel,
    /// `groups.*`: private rooms only.
    Group,
    /// `im.*`: direct messages only.
    Direct,
    /// `rooms.*`, `chat.*`: any room.
    Any,
}

impl RoomKind {
    fn accepts(self, t: RoomType) -> bool {
        match self {
            RoomKind::Channel => t == RoomType::Channel,
            RoomKind::Group => t == RoomType::Group,
            RoomKind::Direct => t == RoomType::Direct,
            RoomKind::Any => true,
        }
    }

    pub fn not_found(self) -> Error {
        let reason = match self {
            RoomKind::Channel => "The required \"roomId\" or \"roomName\" param provided does not match any channel",
            RoomKind::Group => "The required \"roomId\" or \"roomName\" param provided does not match any group",
            RoomKind::Direct => "The required \"roomId\" or \"username\" params provided does not match any direct message",
            RoomKind::Any => "The required \"roomId\" or \"roomName\" param provided does not match any room",
        };
        Error::not_found("error-room-not-found", reason)
    }

    pub fn archived(self, room: &Room) -> Error {
        let name = room.display_name();
        let reason = match self {
            RoomKind::Group => format!("The private group, {name}, is archived"),
            _ => format!("The channel, {name}, is archived"),
        };
        Error::invalid("error-room-archived", reason)
    }
}

/// How a request names one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    Id(String),
    Username(String),
}

impl Huddle {
    /// The room a request names, of the kind the endpoint serves. Archived rooms are refused
    /// when `allow_archived` is false.
    pub async fn find_room(
        &self,
        lookup: &RoomLookup,
        kind: RoomKind,
        allow_archived: bool,
    ) -> Result<Room> {
        let room = match lookup {
            RoomLookup::Id(id) => self.store.room_by_id(id).await?,
            RoomLookup::Name(name) => self.store.room_by_name(name).await?,
            RoomLookup::IdOrName(key) => match self.store.room_by_id(key).await? {
                Some(r) => Some(r),
                None => self.store.room_by_name(key).await?,
            },
        };
        let room = must(room.filter(|r| kind.accepts(r.t)), || kind.not_found())?;
        if room.archived && !allow_archived {
            return Err(kind.archived(&room));
        }
        Ok(room)
    }

    /// A private group the actor can access; others get the same "not found" so that private
    /// groups do not leak their existence.
    pub async fn find_accessible_room(
        &self,
        actor: &User,
        lookup: &RoomLookup,
        kind: RoomKind,
        allow_archived: bool,
    ) -> Result<Room> {
        let room = self.find_room(lookup, kind, true).await?;
        let sub = self.store.subscription(&room.id, &actor.id).await?;
        if !self.can_access(actor, &room, sub.as_ref()) {
            return Err(kind.not_found());
        }
        if room.archived && !allow_archived {
            return Err(kind.archived(&room));
        }
        Ok(room)
    }

    /// One user (`getUserFromParams`).
    pub async fn find_user(&self, lookup: Option<&UserLookup>) -> Result<User> {
        let lookup = must(lookup, || {
            Error::invalid(
                "error-user-param-not-provided",
                "The required \"userId\" or \"username\" param was not provided",
            )
        })?;
        let user = match lookup {
            UserLookup::Id(id) => self.store.user_by_id(id).await?,
            UserLookup::Username(name) => self.store.user_by_username(name).await?,
        };
        must(user, || {
            Error::invalid(
                "error-invalid-user",
                "The required \"userId\" or \"username\" param provided does not match any users",
            )
        })
    }

    /// Many users (`getUserListFromParams`): unknown ones are dropped, duplicates merged.
    /// `by_id` chooses whether `keys` are ids or usernames.
    pub async fn find_users(&self, keys: &[String], by_id: bool) -> Result<Vec<User>> {
        let keys = self.user_keys(keys, by_id)?;
        if by_id {
            self.store.users_by_ids(&keys).await
        } else {
            self.store.users_by_usernames(&keys).await
        }
    }

    /// [`Huddle::find_users`] for adding them to a room: the same refusals, the same users in
    /// the same order, read as [`Invitee`]s (what a membership needs of them, not whole users).
    pub async fn find_invitees(&self, keys: &[String], by_id: bool) -> Result<Vec<Invitee>> {
        let keys = self.user_keys(keys, by_id)?;
        self.store.invitees(&keys, by_id).await
    }

    /// The keys of a user list, trimmed, checked and without duplicates.
    fn user_keys(&self, keys: &[String], by_id: bool) -> Result<Vec<String>> {
        let mut keys: Vec<String> = keys
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Err(Error::invalid(
                "error-users-params-not-provided",
                "Please provide \"userId\" or \"username\" or \"userIds\" or \"usernames\" as param",
            ));
        }
        if keys.len() > self.limits.max_invite {
            return Err(Error::invalid(
                "error-too-many-users",
                format!(
                    "Cannot handle more than {} users in one request",
                    self.limits.max_invite
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(if by_id { k.clone() } else { k.to_lowercase() }));
        Ok(keys)
    }
}
