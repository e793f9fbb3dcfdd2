//! Direct messages: created on demand between two or more users, never joined, left or invited to.

use super::{Actor, Huddle};
use crate::model::{Room, RoomType, User};
use crate::policy::Action;
use crate::store::RoomChange;
use crate::{ids, Error, Result};

impl Huddle {
    /// `im.create`: the DM between the caller and `usernames` (one or several), created if
    /// missing. With `exclude_self` the caller is not a member (admin tooling).
    pub async fn create_dm(
        &self,
        actor: &Actor,
        usernames: &[String],
        exclude_self: bool,
    ) -> Result<Room> {
        let method = "createDirectMessage";
        let wanted: Vec<String> = usernames
            .iter()
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect();
        if wanted.is_empty() {
            return Err(Error::invalid("error-invalid-user", "Invalid user").in_method(method));
        }
        let mut others = self.store.users_by_usernames(&wanted).await?;
        if others.len() < dedup_len(&wanted) {
            return Err(Error::invalid("error-invalid-user", "Invalid user").in_method(method));
        }
        let probe = Room::new(String::new(), RoomType::Direct, None, None);
        // Decided now, so refusals come in Rocket.Chat's order; again below on the room itself.
        self.decide(actor.person(None), Action::Create, &probe)
            .map_err(|_| Error::not_allowed(method))?;
        let mut members: Vec<User> = Vec::new();
        if !exclude_self {
            members.push(actor.user.clone());
        }
        others.retain(|u| !members.iter().any(|m| m.id == u.id));
        members.extend(others);
        if members.len() == 1 && !self.setting_bool("Message_AllowDirectMessagesToYourself") {
            return Err(Error::invalid("error-invalid-user", "Invalid user").in_method(method));
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let uids: Vec<String> = members.iter().map(|u| u.id.clone()).collect();
        // Two people share one DM whose id is their sorted ids, so concurrent creations meet.
        let id = if uids.len() <= 2 {
            uids.concat()
        } else {
            ids::new_id()
        };
        if uids.len() <= 2 {
            if let Some(existing) = self.store.room_by_id(&id).await? {
                return Ok(existing);
            }
        }
        let mut room = Room::new(id, RoomType::Direct, None, None);
        let mut usernames: Vec<String> = members
            .iter()
            .map(|u| u.username_or_id().to_string())
            .collect();
        usernames.sort();
        room.dm_usernames = usernames;
        room.dm_uids = uids;
        room.users_count = members.len() as i64;
        let subs: Vec<_> = members
            .iter()
            .map(|u| {
                let mut s = super::rooms::creation_subscription(&room, u, false);
                s.name = dm_name(&members, u);
                s.fname = Some(s.name.clone());
                s
            })
            .collect();
        let permit = self
            .decide(actor.person(None), Action::Create, &room)
            .map_err(|_| Error::not_allowed(method))?;
        let change = RoomChange::Create {
            room: room.clone(),
            members: subs,
        };
        match self.write(&permit, &room, change).await {
            Ok(done) => Ok(done.room),
            // Lost a race with an identical request: the DM exists now.
            Err(Error::Conflict(_)) => self
                .store
                .room_by_id(&room.id)
                .await?
                .ok_or_else(|| Error::Internal("direct message vanished after conflict".into())),
            Err(e) => Err(e),
        }
    }

    /// The DM between the caller and one username, if it exists (`im.*` by `username`).
    pub async fn find_dm_with(&self, actor: &Actor, username: &str) -> Result<Room> {
        let other = self.store.user_by_username(username).await?;
        let Some(other) = other else {
            return Err(super::RoomKind::Direct.not_found());
        };
        let mut pair = [actor.user.id.clone(), other.id.clone()];
        pair.sort();
        self.store
            .room_by_id(&pair.concat())
            .await?
            .ok_or_else(|| super::RoomKind::Direct.not_found())
    }
}

/// How a member sees a DM in their list: the other members' usernames.
fn dm_name(members: &[User], me: &User) -> String {
    let others: Vec<&str> = members
        .iter()
        .filter(|u| u.id != me.id)
        .map(|u| u.username_or_id())
        .collect();
    if others.is_empty() {
        me.username_or_id().to_string()
    } else {
        others.join(", ")
    }
}

fn dedup_len(names: &[String]) -> usize {
    let mut v: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    v.sort();
    v.dedup();
    v.len()
}
