//! The one authorization policy: who may do what to a room, for every kind of actor and both
//! APIs. Pure: it decides from the facts it is given (the actor's roles and membership, the
//! room with its origin and settings, the permission table, the app's security settings) and
//! never touches the store. Every service that reads or changes a room asks `decide` first, and
//! the write path (`services::write`) takes the `Permit` it returns, so no change can skip it.
//!
//! The fusion rules (also in docs/ARCHITECTURE.md, "One policy"):
//! - A room made through the Rocket.Chat API (`Origin::RocketChat`) stays under Rocket.Chat's
//!   permissions whichever API reaches it: a browser session may add or remove members only if
//!   the same user could through `groups.invite`/`groups.kick`; the last owner can never be
//!   removed or leave; guests only once someone allowed to edit the room switched its guest
//!   access on. A browser session that did not prove who it is (identity verification off) is
//!   never trusted with such a room.
//! - A conversation made through the TalkJS-style API (`Origin::TalkJs`) follows TalkJS's rules
//!   (browser sync settings, participant access) and is reachable through the Rocket.Chat API by
//!   its members, under Rocket.Chat's permission table.
//! - The app's backend (secret key or app token) and the admin CLI are trusted for both, as
//!   TalkJS's backend is.

#[cfg(test)]
mod tests;

use crate::model::{Access, AppSettings, Origin, Room, RoomType, Subscription};
use crate::permissions::PermissionTable;
use crate::realtime::access::can_access;
use crate::Timestamp;

/// Which API a person acts through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A Rocket.Chat session (REST or DDP).
    RocketChat,
    /// A TalkJS-style browser session; `verified` when it proved the user id (token or
    /// signature) rather than just naming it.
    Browser { verified: bool },
    /// The app's backend acting in a user's name (a message whose `sender` it names).
    OnBehalf,
}

/// A user acting on a room: their global roles and their membership of that room, if any.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    pub roles: &'a [String],
    pub membership: Option<&'a Subscription>,
    pub channel: Channel,
}

/// Who acts.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    Person(Person<'a>),
    /// A browser session reading or writing as a guest (not a participant).
    Guest {
        verified: bool,
    },
    /// The app's backend: secret key, app token, or an admin's session on the backend API.
    Backend,
    /// The operator's command line.
    Cli,
    /// The workspace's own rules: new users joining the default rooms, a deleted user leaving
    /// every room.
    Workspace,
}

/// What they want to do.
#[derive(Debug, Clone, Copy)]
pub enum Action<'a> {
    /// See the room, its members and messages (a participant whose access is `None` keeps a
    /// static view up to the revocation: the permit carries that cut-off).
    Read,
    Post,
    /// Add another user.
    Invite,
    /// Add oneself.
    Join,
    /// Remove another member (`None`: the target is no member; the caller decides what that
    /// means). `owners` is how many owners the room has (read only when the member is one).
    Kick {
        target: Option<&'a Subscription>,
        owners: i64,
    },
    /// Remove oneself.
    Leave {
        owners: i64,
    },
    /// Add every user of the workspace (`channels.addAll`).
    AddAll,
    /// Change a participant's `access` (`access` true) or `notify`.
    ChangeParticipant {
        target: &'a Subscription,
        access: bool,
    },
    /// Grant or revoke a room role (`set-owner`, `set-moderator`, `set-leader`);
    /// `removes_last_owner` when this takes the owner role from the last owner.
    ChangeRole {
        permission: &'static str,
        removes_last_owner: bool,
    },
    /// Name, topic, subject, custom fields, read-only and the like; `permission` is the one
    /// Rocket.Chat asks for this setting (`edit-room`, `set-readonly`, `archive-room`, ...).
    EditRoom {
        permission: &'static str,
    },
    /// Switch the room's guest access.
    SwitchGuestAccess,
    /// Make the room (the facts' room is the one to be made).
    Create,
    DeleteRoom,
    /// Edit a message; `own` when the actor wrote it.
    EditMessage {
        own: bool,
        limits: MessageLimits,
    },
    DeleteMessage {
        own: bool,
        limits: MessageLimits,
    },
    /// React to a message.
    React,
    /// Add a user who is banned from the room, whichever way (invite, join, invite link, a
    /// browser adding a participant). Asked on top of that way's own action: people never may
    /// (the ban must be lifted first); the trusted principals may, and the membership lifts the
    /// ban.
    AddBanned,
    /// Make (or be handed again) an invite link to the room: `create-invite-links` in the room,
    /// as a member (Rocket.Chat's `findOrCreateInvite`).
    CreateInvite,
    /// Join the room through a valid invite link (the link's checks are the service's).
    UseInvite,
    /// Ban a member (`ban-user` in the room); `owners` as for `Kick`.
    Ban {
        target: &'a Subscription,
        owners: i64,
    },
    /// Lift a ban (`ban-user` in the room).
    Unban,
    /// Pin or unpin a message (`pin-message` in the room's scope; members only).
    Pin,
    /// Follow or unfollow a thread: whoever may read the room.
    FollowThread,
    /// Delete a stretch of the room's history (`clean-channel-history`).
    CleanHistory,
    /// Start a discussion of this (parent) room: `start-discussion` or
    /// `start-discussion-other-user` in its scope, and access to it; `other_user` when it is
    /// started from someone else's message, which needs `start-discussion-other-user`.
    StartDiscussion {
        other_user: bool,
    },
}

/// What the workspace's message settings say about one message, for an edit or a deletion
/// (`Message_AllowEditing` and `Message_AllowEditing_BlockEditInMinutes`, or their `Deleting`
/// pair). The service reads them; the policy decides who they bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Authors may edit (delete) their own messages.
    pub authors_may: bool,
    /// The message is older than the time limit (when one is set).
    pub past_time_limit: bool,
}

impl Default for MessageLimits {
    /// No setting in the way.
    fn default() -> Self {
        MessageLimits {
            authors_may: true,
            past_time_limit: false,
        }
    }
}

/// Why not. Each API turns a refusal into its own error (`services` does the mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The permission table or the room's rules say no.
    NotAllowed,
    /// The actor may not even see the room (APIs answer as if it did not exist).
    NotVisible,
    /// Only members may do that.
    NotMember,
    /// The participant's access is `Read` (or `None`).
    NoWriteAccess,
    /// A read-only room, without `post-readonly`.
    ReadOnly,
    Archived,
    /// The last owner may not leave or be removed or lose the role.
    LastOwner,
    /// The app's security settings disallow this from a browser.
    BrowserSyncDisallowed,
    GuestAccessDisabled,
    /// A browser session that did not prove its identity, on a Rocket.Chat room.
    Unverified,
    /// Nobody is added to or removed from a direct message.
    DirectRoom,
    /// The user to be added is banned from the room.
    Banned,
    /// The message is older than the workspace lets it be edited or deleted.
    TimeLimit,
    /// The user to be removed is not in the room, and the actor may not "remove" users from
    /// rooms at large (which Rocket.Chat answers as a success that changes nothing).
    TargetNotMember,
}

/// Proof that `decide` allowed an action on a room: the write path takes one, and only this
/// module can make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    rid: String,
    until: Option<Timestamp>,
}

impl Permit {
    pub fn rid(&self) -> &str {
        &self.rid
    }
    /// For reads: nothing after this moment may be shown (a participant whose access is `None`).
    pub fn until(&self) -> Option<Timestamp> {
        self.until
    }
}

/// The facts a decision needs besides the actor and the action.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub table: &'a PermissionTable,
    pub app: AppSettings,
    pub room: &'a Room,
}

impl Facts<'_> {
    fn allows(&self, permission: &str, p: &Person) -> bool {
        let room_roles = p.membership.iter().flat_map(|m| m.roles.iter());
        self.table
            .allows(permission, p.roles.iter().chain(room_roles))
    }
    fn allows_globally(&self, permission: &str, p: &Person) -> bool {
        self.table.allows(permission, p.roles)
    }
    fn guests_allowed(&self) -> bool {
        self.app.guests_allowed() && self.room.guest_access
    }
    /// Rocket.Chat's `canAccessRoom` for this person (access `None` is no membership).
    fn rc_can_access(&self, p: &Person) -> bool {
        can_access(self.table, p.roles, self.room.t, active(p).is_some())
    }
}

/// The membership if it grants anything (access other than `None`).
fn active<'a>(p: &Person<'a>) -> Option<&'a Subscription> {
    p.membership.filter(|m| m.access != Access::None)
}

fn is_rc_room(f: &Facts) -> bool {
    f.room.origin == Origin::RocketChat
}

/// Decides one action. `Ok` carries the permit the write path needs.
pub fn decide(who: Principal, action: Action, f: &Facts) -> Result<Permit, Refusal> {
    let until = check(who, action, f)?;
    Ok(Permit {
        rid: f.room.id.clone(),
        until,
    })
}

/// The rules; `Ok(Some(t))` allows a read up to `t` only.
fn check(who: Principal, action: Action, f: &Facts) -> Result<Option<Timestamp>, Refusal> {
    let membership_change = matches!(
        action,
        Action::Invite
            | Action::Join
            | Action::Kick { .. }
            | Action::Leave { .. }
            | Action::AddAll
            | Action::CreateInvite
            | Action::UseInvite
            | Action::Ban { .. }
            | Action::Unban
    );
    // Nobody is invited to or kicked from a direct message; the trusted principals may still
    // tidy one up (a deleted user leaves their DMs too).
    let untrusted = matches!(who, Principal::Person(_) | Principal::Guest { .. });
    if untrusted && membership_change && f.room.t == RoomType::Direct {
        return Err(Refusal::DirectRoom);
    }
    match who {
        Principal::Backend | Principal::Cli | Principal::Workspace => Ok(None),
        Principal::Guest { verified } => guest(verified, action, f).map(|_| None),
        Principal::Person(p) => person(&p, action, f),
    }
}

fn guest(verified: bool, action: Action, f: &Facts) -> Result<(), Refusal> {
    if !matches!(action, Action::Read | Action::Post) {
        return Err(Refusal::NotAllowed);
    }
    if is_rc_room(f) && !verified {
        return Err(Refusal::Unverified);
    }
    if !f.guests_allowed() {
        return Err(Refusal::GuestAccessDisabled);
    }
    if action_is_post(action) && f.room.archived {
        return Err(Refusal::Archived);
    }
    Ok(())
}

fn action_is_post(action: Action) -> bool {
    matches!(action, Action::Post)
}

fn person(p: &Person, action: Action, f: &Facts) -> Result<Option<Timestamp>, Refusal> {
    let browser = matches!(p.channel, Channel::Browser { .. });
    // A browser on a TalkJS-style conversation: TalkJS's rules, not Rocket.Chat's table.
    let talk_rules = browser && !is_rc_room(f);
    if let Channel::Browser { verified: false } = p.channel {
        if is_rc_room(f) {
            return Err(Refusal::Unverified);
        }
    }
    match action {
        Action::Read => read(p, f),
        Action::Post => post(p, f).map(|_| None),
        Action::Invite => {
            browser_sync(p, f)?;
            if talk_rules {
                return Ok(None);
            }
            let member = active(p).is_some();
            let allowed = (member && f.allows("add-user-to-joined-room", p))
                || (f.room.t == RoomType::Channel
                    && f.allows_globally("add-user-to-any-c-room", p))
                || (f.room.t == RoomType::Group && f.allows_globally("add-user-to-any-p-room", p));
            allowed.then_some(None).ok_or(Refusal::NotAllowed)
        }
        Action::Join => {
            browser_sync(p, f)?;
            if talk_rules {
                return Ok(None);
            }
            let public =
                f.room.t == RoomType::Channel && can_access(f.table, p.roles, f.room.t, false);
            public.then_some(None).ok_or(Refusal::NotAllowed)
        }
        Action::Kick { target, owners } => {
            browser_sync(p, f)?;
            if !talk_rules {
                if !f.allows("remove-user", p) {
                    return Err(Refusal::NotAllowed);
                }
                if !kicks_anyone(p, f) && !f.rc_can_access(p) {
                    return Err(Refusal::NotVisible);
                }
                if target.is_none() && !kicks_anyone(p, f) {
                    return Err(Refusal::TargetNotMember);
                }
            }
            if target.is_some_and(|t| t.has_role("owner")) && owners <= 1 {
                return Err(Refusal::LastOwner);
            }
            Ok(None)
        }
        Action::Leave { owners } => {
            if !talk_rules {
                let permission = if f.room.t == RoomType::Channel {
                    "leave-c"
                } else {
                    "leave-p"
                };
                if !f.allows_globally(permission, p) {
                    return Err(Refusal::NotAllowed);
                }
            }
            let Some(own) = p.membership else {
                return Err(Refusal::NotMember);
            };
            if own.has_role("owner") && owners <= 1 {
                return Err(Refusal::LastOwner);
            }
            Ok(None)
        }
        Action::AddAll => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            f.allows_globally("add-all-to-room", p)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        Action::Create => {
            browser_sync(p, f)?;
            if talk_rules {
                return Ok(None);
            }
            let permission = match f.room.t {
                RoomType::Channel => "create-c",
                RoomType::Group => "create-p",
                RoomType::Direct => "create-d",
            };
            f.allows_globally(permission, p)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        // Rocket.Chat's `updateMessage` / `canDeleteMessage`: the workspace's switches bind
        // authors acting on their own messages; the time limit binds everyone but holders of
        // `bypass-time-limit-edit-and-delete` (and, for deletions, `force-delete-message`).
        Action::EditMessage { own, limits } => {
            let allowed = f.allows("edit-message", p) || (own && limits.authors_may);
            if browser || !allowed {
                return Err(Refusal::NotAllowed);
            }
            within_time_limit(limits, p, f)
        }
        Action::DeleteMessage { own, limits } => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            if f.allows("force-delete-message", p) {
                return Ok(None);
            }
            let allowed = f.allows("delete-message", p)
                || (own && limits.authors_may && f.allows("delete-own-message", p));
            if !allowed {
                return Err(Refusal::NotAllowed);
            }
            within_time_limit(limits, p, f)
        }
        Action::React => {
            if browser || !f.rc_can_access(p) || f.room.archived {
                return Err(Refusal::NotAllowed);
            }
            if f.room.read_only && !f.allows("post-readonly", p) {
                return Err(Refusal::ReadOnly);
            }
            Ok(None)
        }
        Action::Pin => {
            if browser || f.room.archived {
                return Err(Refusal::NotAllowed);
            }
            if active(p).is_none() {
                return Err(Refusal::NotMember);
            }
            if !f.rc_can_access(p) {
                return Err(Refusal::NotVisible);
            }
            f.allows("pin-message", p)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        Action::FollowThread => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            f.rc_can_access(p)
                .then_some(None)
                .ok_or(Refusal::NotVisible)
        }
        Action::StartDiscussion { other_user } => {
            // Rocket.Chat's order: the permission, then access, then another's message.
            let own = f.allows("start-discussion", p);
            let others = f.allows("start-discussion-other-user", p);
            if browser || !(own || others) {
                return Err(Refusal::NotAllowed);
            }
            if !f.rc_can_access(p) {
                return Err(Refusal::NotVisible);
            }
            if f.room.archived {
                return Err(Refusal::Archived);
            }
            (!other_user || others)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        Action::CleanHistory => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            f.allows("clean-channel-history", p)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        Action::ChangeParticipant { target, access } => {
            let own = p.membership.is_some_and(|m| m.u.id == target.u.id);
            if own && !access {
                return Ok(None);
            }
            browser_sync(p, f)?;
            if talk_rules {
                return Ok(None);
            }
            // Read-only access is Rocket.Chat's mute; notify of others is nobody's business.
            (access && f.allows("mute-user", p))
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        Action::ChangeRole {
            permission,
            removes_last_owner,
        } => {
            if !f.allows(permission, p) {
                return Err(Refusal::NotAllowed);
            }
            if removes_last_owner {
                return Err(Refusal::LastOwner);
            }
            Ok(None)
        }
        Action::EditRoom { .. } | Action::SwitchGuestAccess => {
            browser_sync(p, f)?;
            if talk_rules {
                return Ok(None);
            }
            let permission = match action {
                Action::EditRoom { permission } => permission,
                _ => "edit-room",
            };
            // A direct message has no owners: its members may edit what `edit-room` covers
            // there (the topic, `dm.setTopic`).
            if f.room.t == RoomType::Direct && permission == "edit-room" && active(p).is_some() {
                return Ok(None);
            }
            f.allows(permission, p)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
        // A banned user comes back only once unbanned, whoever asks (the trusted principals
        // returned before).
        Action::AddBanned => Err(Refusal::Banned),
        // Invite links, bans: Rocket.Chat features, with no TalkJS-style counterpart in the
        // browser; a browser session never reaches them.
        Action::CreateInvite => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            // Rocket.Chat asks for the permission (in the room's scope) before membership.
            if !f.allows("create-invite-links", p) {
                return Err(Refusal::NotAllowed);
            }
            active(p).map(|_| None).ok_or(Refusal::NotMember)
        }
        Action::UseInvite => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            Ok(None)
        }
        Action::Ban { target, owners } => {
            if browser || !f.allows("ban-user", p) {
                return Err(Refusal::NotAllowed);
            }
            if !f.rc_can_access(p) {
                return Err(Refusal::NotVisible);
            }
            if target.has_role("owner") && owners <= 1 {
                return Err(Refusal::LastOwner);
            }
            Ok(None)
        }
        Action::Unban => {
            if browser || !f.allows("ban-user", p) {
                return Err(Refusal::NotAllowed);
            }
            f.rc_can_access(p)
                .then_some(None)
                .ok_or(Refusal::NotVisible)
        }
        Action::DeleteRoom => {
            if browser {
                return Err(Refusal::NotAllowed);
            }
            let permission = match f.room.t {
                RoomType::Channel => "delete-c",
                RoomType::Group => "delete-p",
                RoomType::Direct => "delete-d",
            };
            f.allows(permission, p)
                .then_some(None)
                .ok_or(Refusal::NotAllowed)
        }
    }
}

fn within_time_limit(
    limits: MessageLimits,
    p: &Person,
    f: &Facts,
) -> Result<Option<Timestamp>, Refusal> {
    if limits.past_time_limit && !f.allows("bypass-time-limit-edit-and-delete", p) {
        return Err(Refusal::TimeLimit);
    }
    Ok(None)
}

/// `kick-user-from-any-c-room` / `-p-room`: remove from rooms one cannot even see.
pub fn kicks_anyone(p: &Person, f: &Facts) -> bool {
    match f.room.t {
        RoomType::Channel => f.allows_globally("kick-user-from-any-c-room", p),
        RoomType::Group => f.allows_globally("kick-user-from-any-p-room", p),
        RoomType::Direct => false,
    }
}

/// Browser writes to rooms and memberships need conversation sync.
fn browser_sync(p: &Person, f: &Facts) -> Result<(), Refusal> {
    match p.channel {
        Channel::Browser { .. } if !f.app.browser_conversation_sync => {
            Err(Refusal::BrowserSyncDisallowed)
        }
        _ => Ok(()),
    }
}

fn read(p: &Person, f: &Facts) -> Result<Option<Timestamp>, Refusal> {
    // A revoked participant keeps what they saw, in the TalkJS-style views only.
    if let (Some(m), Channel::Browser { .. }) = (p.membership, p.channel) {
        if m.access == Access::None {
            return Ok(Some(m.revoked_at.unwrap_or(Timestamp(0))));
        }
    }
    let visible = match f.room.origin {
        Origin::TalkJs if p.channel != Channel::RocketChat => active(p).is_some(),
        _ => f.rc_can_access(p),
    };
    visible.then_some(None).ok_or(Refusal::NotVisible)
}

fn post(p: &Person, f: &Facts) -> Result<(), Refusal> {
    let Some(m) = p.membership else {
        return Err(Refusal::NotMember);
    };
    if m.access != Access::ReadWrite {
        return Err(Refusal::NoWriteAccess);
    }
    if f.room.archived {
        return Err(Refusal::Archived);
    }
    if f.room.read_only && !f.allows("post-readonly", p) {
        return Err(Refusal::ReadOnly);
    }
    // Rocket.Chat rooms also need the right to see them (a guest role, a removed permission).
    if p.channel != Channel::OnBehalf && is_rc_room(f) && !f.rc_can_access(p) {
        return Err(Refusal::NotVisible);
    }
    Ok(())
}
