//! The policy as tables: explicit rows for the rules that matter (`rules`, `bans`, `limits`),
//! then sweeps over every actor × action × room origin × room type × setting that check the
//! invariants hold everywhere (`invariants`). This file holds what they share: the facts a case
//! is decided on and the one-line table rows.

mod bans;
mod invariants;
mod limits;
mod rules;

use super::*;
use crate::model::UserRef;
use crate::permissions::default_permissions;

fn table() -> PermissionTable {
    PermissionTable::new(&default_permissions())
}

fn room(origin: Origin, t: RoomType, guest_access: bool) -> Room {
    let mut r = Room::new("r1".into(), t, Some("room".into()), None);
    r.origin = origin;
    r.guest_access = guest_access;
    r
}

fn sub(uid: &str, roles: &[&str], access: Access) -> Subscription {
    Subscription {
        id: format!("s-{uid}"),
        rid: "r1".into(),
        u: UserRef {
            id: uid.into(),
            username: uid.into(),
            name: None,
        },
        t: RoomType::Group,
        name: "room".into(),
        fname: None,
        ts: Timestamp(1),
        ls: None,
        open: true,
        alert: false,
        unread: 0,
        user_mentions: 0,
        group_mentions: 0,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        access,
        notify: "true".into(),
        revoked_at: if access == Access::None {
            Some(Timestamp(50))
        } else {
            None
        },
        favorite: false,
        ignored: vec![],
        updated_at: Timestamp(1),
    }
}

const ALL_SETTINGS: AppSettings = AppSettings {
    browser_user_sync: true,
    browser_conversation_sync: true,
    identity_verification: true,
};
const SYNC_OFF: AppSettings = AppSettings {
    browser_user_sync: true,
    browser_conversation_sync: false,
    identity_verification: true,
};

fn user_roles() -> Vec<String> {
    vec!["user".into()]
}
fn admin_roles() -> Vec<String> {
    vec!["admin".into(), "user".into()]
}

struct Case {
    name: &'static str,
    roles: Vec<String>,
    member: Option<Subscription>,
    channel: Channel,
    origin: Origin,
    t: RoomType,
    app: AppSettings,
    action: &'static str,
    expect: Result<(), Refusal>,
}

fn run(c: &Case) -> Result<Permit, Refusal> {
    let t = table();
    let r = room(c.origin, c.t, false);
    let target = sub("target", &[], Access::ReadWrite);
    let owner_target = sub("target", &["owner"], Access::ReadWrite);
    let f = Facts {
        table: &t,
        app: c.app,
        room: &r,
    };
    let who = Principal::Person(Person {
        roles: &c.roles,
        membership: c.member.as_ref(),
        channel: c.channel,
    });
    let action = match c.action {
        "read" => Action::Read,
        "post" => Action::Post,
        "invite" => Action::Invite,
        "join" => Action::Join,
        "kick" => Action::Kick {
            target: Some(&target),
            owners: 1,
        },
        "kick-last-owner" => Action::Kick {
            target: Some(&owner_target),
            owners: 1,
        },
        "kick-non-member" => Action::Kick {
            target: None,
            owners: 0,
        },
        "leave" => Action::Leave { owners: 1 },
        "access" => Action::ChangeParticipant {
            target: &target,
            access: true,
        },
        "guest-switch" => Action::SwitchGuestAccess,
        "edit" => Action::EditRoom {
            permission: "edit-room",
        },
        "delete" => Action::DeleteRoom,
        "add-banned" => Action::AddBanned,
        "create-invite" => Action::CreateInvite,
        "use-invite" => Action::UseInvite,
        "ban" => Action::Ban {
            target: &target,
            owners: 2,
        },
        "ban-last-owner" => Action::Ban {
            target: &owner_target,
            owners: 1,
        },
        "unban" => Action::Unban,
        "pin" => Action::Pin,
        "follow" => Action::FollowThread,
        "clean" => Action::CleanHistory,
        "discuss" => Action::StartDiscussion { other_user: false },
        "discuss-other" => Action::StartDiscussion { other_user: true },
        other => panic!("unknown action {other}"),
    };
    decide(who, action, &f)
}

use Channel::{Browser, RocketChat};
use Origin::{RocketChat as RcRoom, TalkJs as TalkRoom};
use RoomType::{Channel as C, Group as P};

/// One table row; positional so each row reads as one line of the table.
#[allow(clippy::too_many_arguments)]
fn case(
    name: &'static str,
    roles: Vec<String>,
    member: Option<Subscription>,
    channel: Channel,
    origin: Origin,
    t: RoomType,
    app: AppSettings,
    action: &'static str,
    expect: Result<(), Refusal>,
) -> Case {
    Case {
        name,
        roles,
        member,
        channel,
        origin,
        t,
        app,
        action,
        expect,
    }
}
