//! Room bans (Rocket.Chat's `rooms.banUser` / `rooms.unbanUser` / `rooms.bannedUsers`): a ban
//! removes the member and keeps them out — join, invite, invite link, a browser adding them —
//! until it is lifted. Who may ban, and who may add a banned user, is the policy's
//! (`Action::Ban`, `Action::Unban`, `Action::AddBanned`); both changes go through the write
//! path with Rocket.Chat's system messages (`user-banned`, `user-unbanned`).

use super::{Actor, Huddle, RoomKind, UserLookup};
use crate::model::{Page, Paging, Room, RoomBan};
use crate::policy::{Action, Permit, Principal, Refusal};
use crate::store::{NewMember, RoomChange};
use crate::{Error, Message, Result};

const BAN: &str = "banUserFromRoom";
const UNBAN: &str = "unbanUserFromRoom";

impl Huddle {
    /// `Ok(Err(Banned))` when one of `uids` is banned from `room` and `who` may not add them.
    pub(crate) async fn refuse_banned(
        &self,
        who: Principal<'_>,
        room: &Room,
        uids: &[String],
    ) -> Result<std::result::Result<(), Refusal>> {
        if uids.is_empty() || self.store.banned_among(&room.id, uids).await?.is_empty() {
            return Ok(Ok(()));
        }
        Ok(self.decide(who, Action::AddBanned, room).map(|_| ()))
    }

    /// After an add that left `left_out` out: those banned are refused
    /// (`error-user-is-banned`) unless `who` may add them (`Action::AddBanned`); then their bans
    /// are lifted. The room as the lifts left it and who was unbanned; `None` when nobody was
    /// banned (they were members already).
    pub(crate) async fn lift_bans_for(
        &self,
        who: Principal<'_>,
        permit: &Permit,
        room: &Room,
        members: &[NewMember],
        left_out: &[String],
    ) -> Result<Option<(Room, Vec<String>)>> {
        if left_out.is_empty() {
            return Ok(None);
        }
        let banned = self.store.banned_among(&room.id, left_out).await?;
        if banned.is_empty() {
            return Ok(None);
        }
        self.decide(who, Action::AddBanned, room)
            .map_err(|_| super::membership::banned_error())?;
        let mut now = room.clone();
        let mut lifted = vec![];
        for m in members
            .iter()
            .filter(|m| banned.contains(&m.subscription.u.id))
        {
            let u = m.subscription.u.clone();
            if lifted.contains(&u.id) {
                continue;
            }
            let shown = if u.username.is_empty() {
                u.id.clone()
            } else {
                u.username.clone()
            };
            let message = Message::system(&room.id, "user-unbanned", u.clone(), &shown);
            lifted.push(u.id.clone());
            let change = RoomChange::Unban { uid: u.id, message };
            now = self.write(permit, &now, change).await?.room;
        }
        Ok(Some((now, lifted)))
    }

    /// `rooms.banUser`: the target must be a member; the last owner cannot be banned.
    pub async fn ban(&self, actor: &Actor, room: Room, target: &UserLookup) -> Result<()> {
        let target = self.find_user(Some(target)).await?;
        let actor_sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let target_sub = self.store.subscription(&room.id, &target.id).await?;
        if let Some(ts) = &target_sub {
            let owners = self.owners_if_owner(&room.id, Some(ts)).await?;
            let action = Action::Ban { target: ts, owners };
            let permit = self
                .decide(actor.person(actor_sub.as_ref()), action, &room)
                .map_err(|r| ban_refusal(r, BAN))?;
            let message = Message::system(
                &room.id,
                "user-banned",
                actor.user.to_ref(),
                target.username_or_id(),
            );
            let ban = RoomBan {
                rid: room.id.clone(),
                uid: target.id.clone(),
                username: target.username_or_id().to_string(),
                name: Some(target.name.clone()),
                by: actor.user.id.clone(),
                ts: message.ts,
            };
            self.write(&permit, &room, RoomChange::Ban { ban, message })
                .await?;
            return Ok(());
        }
        // Not a member: refused as Rocket.Chat does, after the permission check it makes first
        // (`ban-user` in the room, which lifting a ban asks too).
        self.decide(actor.person(actor_sub.as_ref()), Action::Unban, &room)
            .map_err(|r| ban_refusal(r, BAN))?;
        if self.store.room_ban(&room.id, &target.id).await?.is_some() {
            return Err(Error::invalid(
                "error-user-already-banned",
                "User is already banned from this room",
            )
            .in_method(BAN));
        }
        Err(Error::invalid("error-user-not-in-room", "User is not in this room").in_method(BAN))
    }

    /// `rooms.unbanUser`: the user is not a member again afterwards (they may rejoin).
    pub async fn unban(&self, actor: &Actor, room: Room, target: &UserLookup) -> Result<()> {
        let target = self.find_user(Some(target)).await?;
        let actor_sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let permit = self
            .decide(actor.person(actor_sub.as_ref()), Action::Unban, &room)
            .map_err(|r| ban_refusal(r, UNBAN))?;
        let message = Message::system(
            &room.id,
            "user-unbanned",
            actor.user.to_ref(),
            target.username_or_id(),
        );
        let change = RoomChange::Unban {
            uid: target.id.clone(),
            message,
        };
        if !self.write(&permit, &room, change).await?.written.changed() {
            return Err(Error::invalid(
                "error-user-not-banned",
                "User is not banned from this room",
            )
            .in_method(UNBAN));
        }
        Ok(())
    }

    /// `rooms.bannedUsers`: for those who can see the room.
    pub async fn banned_users(
        &self,
        actor: &Actor,
        room: &Room,
        paging: Paging,
    ) -> Result<Page<RoomBan>> {
        if !self.may_read(actor, room).await? {
            return Err(Error::unauthorized());
        }
        self.store.room_bans(&room.id, paging).await
    }
}

fn ban_refusal(r: Refusal, method: &'static str) -> Error {
    match r {
        Refusal::NotVisible => RoomKind::Group.not_found(),
        Refusal::LastOwner => Error::conflict(
            "error-you-are-last-owner",
            "You are the last owner. Please set new owner before banning the user.",
        )
        .in_method(method),
        _ => Error::not_allowed(method),
    }
}
