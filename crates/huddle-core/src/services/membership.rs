//! Room membership, the heart of Huddle: invite, kick, join, leave, add-all and room roles, with
//! Rocket.Chat's permission rules and refusals. Every change writes one system message in the
//! same transaction and publishes its events after commit.

use std::collections::HashSet;

use super::write::Committed;
use super::{Actor, Huddle, RoomKind, UserLookup};
use crate::model::{
    Access, Invitee, MemberEntry, MemberQuery, Page, Room, RoomType, Subscription, User, UserRef,
};
use crate::policy::{Action, Permit, Principal, Refusal};
use crate::store::{NewMember, RoomChange};
use crate::{ids, Error, Message, Result, Timestamp};

/// A fresh membership of `user` in `room`, with Rocket.Chat's defaults for an invite or join.
pub fn new_subscription(room: &Room, user: &User) -> Subscription {
    subscription_of(room, user.to_ref())
}

/// [`new_subscription`] of the user `u` names.
fn subscription_of(room: &Room, u: UserRef) -> Subscription {
    let now = Timestamp::now();
    Subscription {
        id: ids::new_id(),
        rid: room.id.clone(),
        u,
        t: room.t,
        name: room.name.clone().unwrap_or_default(),
        fname: room.fname.clone(),
        ts: now,
        ls: None,
        open: true,
        alert: true,
        unread: 1,
        user_mentions: 1,
        group_mentions: 0,
        roles: vec![],
        access: Access::ReadWrite,
        notify: "true".into(),
        revoked_at: None,
        favorite: false,
        ignored: vec![],
        updated_at: now,
    }
}

/// New memberships for the users, each with its system message of `kind` (`au` by the inviter,
/// `uj` by the user), whose actor `by` picks. A user is a user whichever API made them: one
/// without a username (made through the TalkJS-style API) is added by id and named by id in the
/// message.
fn joiners(
    room: &Room,
    users: &[Invitee],
    kind: &str,
    by: impl Fn(&Invitee) -> UserRef,
) -> Vec<NewMember> {
    users
        .iter()
        .map(|u| NewMember {
            subscription: subscription_of(room, u.to_ref()),
            message: Some(Message::system(&room.id, kind, by(u), u.username_or_id())),
        })
        .collect()
}

/// What an invite did.
#[derive(Debug, Clone)]
pub struct InviteOutcome {
    /// The room as it is after the change (counters included).
    pub room: Room,
    /// Users who became members by this request.
    pub added: Vec<String>,
    /// Users who were members already (nothing changed for them).
    pub already: Vec<String>,
}

/// A room-scoped role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRole {
    Owner,
    Moderator,
    Leader,
}

impl RoomRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomRole::Owner => "owner",
            RoomRole::Moderator => "moderator",
            RoomRole::Leader => "leader",
        }
    }
    fn permission(self) -> &'static str {
        match self {
            RoomRole::Owner => "set-owner",
            RoomRole::Moderator => "set-moderator",
            RoomRole::Leader => "set-leader",
        }
    }
    fn article(self) -> &'static str {
        match self {
            RoomRole::Owner => "an owner",
            RoomRole::Moderator => "a moderator",
            RoomRole::Leader => "a leader",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    Add,
    Remove,
}

/// Rocket.Chat's refusal to add a banned user (`addUsersToRoom`, `joinRoom`, `useInviteToken`).
pub(crate) fn banned_error() -> Error {
    Error::invalid("error-user-is-banned", "User is banned from this room")
}

const LAST_OWNER_LEAVE: &str =
    "You are the last owner. Please set new owner before leaving the room.";

impl Huddle {
    /// `channels.invite` / `groups.invite` / `addUsersToRoom`. Members already present are a
    /// success that changes nothing; unknown users are skipped; a list naming no known user is
    /// refused with `error-empty-invite-list`.
    pub async fn invite(
        &self,
        actor: &Actor,
        room: Room,
        users: Vec<Invitee>,
    ) -> Result<InviteOutcome> {
        if users.is_empty() {
            return Err(Error::invalid(
                "error-empty-invite-list",
                "Cannot invite if no valid users are provided",
            ));
        }
        if room.t == RoomType::Direct {
            return Err(Error::invalid(
                "error-cant-invite-for-direct-room",
                "Can't invite user to direct rooms",
            )
            .in_method("addUsersToRoom"));
        }
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::Invite, &room)
            .map_err(|_| Error::not_allowed("addUsersToRoom"))?;
        let inviter = actor.user.to_ref();
        let members = joiners(&room, &users, "au", |_| inviter.clone());
        self.add_members(actor.person(sub.as_ref()), &permit, room, members)
            .await
    }

    /// The one way members are added, whichever API asks: the write path commits the
    /// memberships, their system messages and the room's event together; the outcome says who
    /// was added and who was a member already. The store never adds a banned user (so a ban
    /// that races this add keeps its user out); when the write left someone out, their bans are
    /// read and `who` is asked (`Action::AddBanned`): people are refused
    /// (`error-user-is-banned`), the trusted principals lift the ban (an `Unban` with its
    /// `user-unbanned` message) and add them. The common add reads nothing more.
    pub(crate) async fn add_members(
        &self,
        who: Principal<'_>,
        permit: &Permit,
        room: Room,
        members: Vec<NewMember>,
    ) -> Result<InviteOutcome> {
        let asked: Vec<String> = members
            .iter()
            .map(|m| m.subscription.u.id.clone())
            .collect();
        // Only a principal who may add banned users re-adds anyone (once their bans are lifted):
        // for everyone else the members are not needed after the write, and a 10,000-user
        // add skips copying them.
        let kept = self
            .decide(who, Action::AddBanned, &room)
            .is_ok()
            .then(|| members.clone());
        let done = self
            .write(permit, &room, RoomChange::AddMembers(members))
            .await?;
        let members = kept.unwrap_or_default();
        let mut added: Vec<String> = done.added().map(|s| s.u.id.clone()).collect();
        let mut room = done.room;
        // A set: a 10,000-user invite looked each user up in the added list (50 M compares).
        let mut added_ids: HashSet<String> = added.iter().cloned().collect();
        let left_out: Vec<String> = asked
            .iter()
            .filter(|uid| !added_ids.contains(uid.as_str()))
            .cloned()
            .collect();
        if let Some(lifted) = self
            .lift_bans_for(who, permit, &room, &members, &left_out)
            .await?
        {
            let mut retry: Vec<NewMember> = members
                .into_iter()
                .filter(|m| lifted.1.contains(&m.subscription.u.id))
                .collect();
            // The joins come after the unbans, in time as in commit order (a millisecond on,
            // so an unban written this same millisecond still sorts first).
            let now = Timestamp(Timestamp::now().0 + 1);
            for m in &mut retry {
                if let Some(msg) = &mut m.message {
                    msg.ts = msg.ts.max(now);
                    msg.updated_at = msg.ts;
                }
            }
            let again = self
                .write(permit, &lifted.0, RoomChange::AddMembers(retry))
                .await?;
            added.extend(again.added().map(|s| s.u.id.clone()));
            added_ids = added.iter().cloned().collect();
            room = again.room;
        }
        let mut seen = HashSet::new();
        let already = asked
            .into_iter()
            .filter(|uid| !added_ids.contains(uid.as_str()))
            .filter(|uid| seen.insert(uid.clone()))
            .collect();
        Ok(InviteOutcome {
            room,
            added,
            already,
        })
    }

    /// The one way a member is removed (kick, leave, participant removal): nothing happens if
    /// they are no member.
    pub(crate) async fn remove_member(
        &self,
        permit: &Permit,
        room: Room,
        uid: &str,
        message: Message,
    ) -> Result<Committed> {
        let change = RoomChange::RemoveMember {
            uid: uid.to_string(),
            message: Some(message),
        };
        self.write(permit, &room, change).await
    }

    /// The number of owners, read only when `member` is one (the policy needs it then alone).
    pub(crate) async fn owners_if_owner(
        &self,
        rid: &str,
        member: Option<&Subscription>,
    ) -> Result<i64> {
        match member {
            Some(m) if m.has_role("owner") => self.store.count_role_in_room(rid, "owner").await,
            _ => Ok(i64::MAX),
        }
    }

    /// `channels.kick` / `groups.kick` / `removeUserFromRoom`.
    pub async fn kick(&self, actor: &Actor, room: Room, target: &UserLookup) -> Result<Room> {
        let target = self.find_user(Some(target)).await?;
        let method = "removeUserFromRoom";
        let actor_sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let target_sub = self.store.subscription(&room.id, &target.id).await?;
        let owners = self.owners_if_owner(&room.id, target_sub.as_ref()).await?;
        let action = Action::Kick {
            target: target_sub.as_ref(),
            owners,
        };
        let permit = self
            .decide(actor.person(actor_sub.as_ref()), action, &room)
            .map_err(|r| match r {
                Refusal::NotVisible => RoomKind::Group.not_found(),
                Refusal::LastOwner => {
                    Error::conflict("error-you-are-last-owner", LAST_OWNER_LEAVE).in_method(method)
                }
                Refusal::TargetNotMember => {
                    Error::invalid("error-user-not-in-room", "User is not in this room")
                        .in_method(method)
                }
                _ => Error::not_allowed(method),
            })?;
        if target_sub.is_none() {
            // Allowed only to kick-any holders, whom Rocket.Chat lets "kick" a non-member:
            // nothing changes, so no system message is written either.
            return Ok(room);
        }
        let msg = Message::system(&room.id, "ru", actor.user.to_ref(), target.username_or_id());
        let done = self.remove_member(&permit, room, &target.id, msg).await?;
        self.room_after(done).await
    }

    /// The room after a removal; when nothing was removed (a concurrent removal won) the room
    /// may still have moved since the caller read it.
    async fn room_after(&self, done: Committed) -> Result<Room> {
        if done.written.changed() {
            return Ok(done.room);
        }
        Ok(self
            .store
            .room_by_id(&done.room.id)
            .await?
            .unwrap_or(done.room))
    }

    /// `channels.join` / `joinRoom`: public rooms the caller may see, with the join code when one
    /// is set (unless the caller holds `join-without-join-code`).
    pub async fn join(&self, actor: &Actor, room: Room, join_code: Option<&str>) -> Result<Room> {
        let method = "joinRoom";
        let permit = self
            .decide(actor.person(None), Action::Join, &room)
            .map_err(|_| Error::not_allowed(method))?;
        if self
            .store
            .subscription(&room.id, &actor.user.id)
            .await?
            .is_some()
        {
            return Ok(room);
        }
        if let Some(code) = room.join_code.as_deref().filter(|c| !c.is_empty()) {
            if !self.has_permission(&actor.user, "join-without-join-code") {
                match join_code {
                    None | Some("") => {
                        return Err(Error::invalid("error-code-required", "Code required")
                            .in_method(method))
                    }
                    Some(given) if given != code => {
                        return Err(
                            Error::invalid("error-code-invalid", "Invalid code").in_method(method)
                        )
                    }
                    _ => {}
                }
            }
        }
        let member = NewMember {
            subscription: new_subscription(&room, &actor.user),
            message: Some(Message::system(
                &room.id,
                "uj",
                actor.user.to_ref(),
                actor.user.username_or_id(),
            )),
        };
        Ok(self
            .add_members(actor.person(None), &permit, room, vec![member])
            .await?
            .room)
    }

    /// `channels.leave` / `groups.leave` / `rooms.leave` / `leaveRoom`.
    pub async fn leave(&self, actor: &Actor, room: Room) -> Result<Room> {
        let method = "leaveRoom";
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let owners = self.owners_if_owner(&room.id, sub.as_ref()).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::Leave { owners }, &room)
            .map_err(|r| match r {
                Refusal::NotMember => {
                    Error::invalid("error-user-not-in-room", "You are not in this room")
                        .in_method(method)
                }
                Refusal::LastOwner => {
                    Error::conflict("error-you-are-last-owner", LAST_OWNER_LEAVE).in_method(method)
                }
                _ => Error::not_allowed(method),
            })?;
        let msg = Message::system(
            &room.id,
            "ul",
            actor.user.to_ref(),
            actor.user.username_or_id(),
        );
        let done = self
            .remove_member(&permit, room, &actor.user.id, msg)
            .await?;
        self.room_after(done).await
    }

    /// `channels.addAll` / `groups.addAll`: every (active) user joins, up to `API_User_Limit`.
    pub async fn add_all(&self, actor: &Actor, room: Room, active_only: bool) -> Result<Room> {
        let permit = self
            .decide(actor.person(None), Action::AddAll, &room)
            .map_err(|_| {
                Error::invalid("403", "Access to Method Forbidden").in_method("addAllUserToRoom")
            })?;
        let limit = self.setting_i64("API_User_Limit", 500);
        let ids = self.store.all_user_ids(active_only, limit + 1).await?;
        if ids.len() as i64 > limit {
            return Err(
                Error::invalid("error-user-limit-exceeded", "User Limit Exceeded")
                    .in_method("addAllToRoom"),
            );
        }
        let users = self.store.invitees(&ids, true).await?;
        let members = joiners(&room, &users, "uj", Invitee::to_ref);
        Ok(self
            .add_members(actor.person(None), &permit, room, members)
            .await?
            .room)
    }

    /// `channels.addOwner` and friends: grant or revoke a room role. Needs `set-<role>` in the room.
    pub async fn change_room_role(
        &self,
        actor: &Actor,
        room: Room,
        target: &UserLookup,
        role: RoomRole,
        change: RoleChange,
    ) -> Result<()> {
        let method = match (role, change) {
            (RoomRole::Owner, RoleChange::Add) => "addRoomOwner",
            (RoomRole::Owner, RoleChange::Remove) => "removeRoomOwner",
            (RoomRole::Moderator, RoleChange::Add) => "addRoomModerator",
            (RoomRole::Moderator, RoleChange::Remove) => "removeRoomModerator",
            (RoomRole::Leader, RoleChange::Add) => "addRoomLeader",
            (RoomRole::Leader, RoleChange::Remove) => "removeRoomLeader",
        };
        let target = self.find_user(Some(target)).await?;
        let actor_sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let may = Action::ChangeRole {
            permission: role.permission(),
            removes_last_owner: false,
        };
        let mut permit = self
            .decide(actor.person(actor_sub.as_ref()), may, &room)
            .map_err(|_| Error::not_allowed(method))?;
        let Some(mut sub) = self.store.subscription(&room.id, &target.id).await? else {
            return Err(
                Error::invalid("error-user-not-in-room", "User is not in this room")
                    .in_method(method),
            );
        };
        let name = role.as_str();
        match change {
            RoleChange::Add => {
                if sub.has_role(name) {
                    return Err(Error::conflict(
                        format!("error-user-already-{name}"),
                        format!("User is already {}", role.article()),
                    )
                    .in_method(method));
                }
                sub.roles.push(name.to_string());
            }
            RoleChange::Remove => {
                if !sub.has_role(name) {
                    return Err(Error::invalid(
                        format!("error-user-not-{name}"),
                        format!("User is not {}", role.article()),
                    )
                    .in_method(method));
                }
                let removes_last_owner = role == RoomRole::Owner
                    && self.store.count_role_in_room(&room.id, "owner").await? <= 1;
                let action = Action::ChangeRole {
                    permission: role.permission(),
                    removes_last_owner,
                };
                permit = self
                    .decide(actor.person(actor_sub.as_ref()), action, &room)
                    .map_err(|_| {
                        Error::conflict(
                            "error-remove-last-owner",
                            "This is the last owner. Please set a new owner before removing this one.",
                        )
                        .in_method(method)
                    })?;
                sub.roles.retain(|r| r != name);
            }
        }
        sub.updated_at = Timestamp::now();
        let kind = if change == RoleChange::Add {
            "subscription-role-added"
        } else {
            "subscription-role-removed"
        };
        let mut msg = Message::system(&room.id, kind, actor.user.to_ref(), target.username_or_id());
        msg.extra
            .insert("role".into(), serde_json::Value::String(name.into()));
        let change = RoomChange::UpdateMember {
            subscription: sub,
            message: Some(msg),
        };
        self.write(&permit, &room, change).await?;
        Ok(())
    }

    /// `channels.members` / `groups.members`: active members, paginated.
    pub async fn members(&self, room: &Room, query: &MemberQuery) -> Result<Page<MemberEntry>> {
        self.store.list_member_entries(&room.id, query).await
    }

    /// Memberships that hold a room role (`channels.roles`, `channels.moderators`).
    pub async fn room_roles(&self, room: &Room) -> Result<Vec<Subscription>> {
        self.store.members_with_roles(&room.id).await
    }
}
