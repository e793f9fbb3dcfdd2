//! The policy as tables: explicit rows for the rules that matter, then sweeps over every actor ×
//! action × room origin × room type × setting that check the invariants hold everywhere.

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

#[test]
fn the_rules_as_a_table() {
    let verified = Browser { verified: true };
    let bare = Browser { verified: false };
    let plain = || Some(sub("me", &[], Access::ReadWrite));
    let owner = || Some(sub("me", &["owner"], Access::ReadWrite));
    let read_only = || Some(sub("me", &[], Access::Read));
    let revoked = || Some(sub("me", &[], Access::None));
    use Refusal::*;
    let moderator = || Some(sub("me", &["moderator"], Access::ReadWrite));
    let rc = RocketChat;
    let cases = vec![
        // Pins: `pin-message` in the room's scope (owner, moderator, admin), members only.
        case(
            "owner pins",
            user_roles(),
            owner(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "pin",
            Ok(()),
        ),
        case(
            "moderator pins",
            user_roles(),
            moderator(),
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "pin",
            Ok(()),
        ),
        case(
            "admin member pins",
            admin_roles(),
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "pin",
            Ok(()),
        ),
        case(
            "plain member may not pin",
            user_roles(),
            plain(),
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "pin",
            Err(NotAllowed),
        ),
        case(
            "admin non-member may not pin",
            admin_roles(),
            None,
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "pin",
            Err(NotMember),
        ),
        case(
            "browser may not pin",
            admin_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "pin",
            Err(NotAllowed),
        ),
        // Following a thread: anyone who may read the room.
        case(
            "member follows",
            user_roles(),
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "follow",
            Ok(()),
        ),
        case(
            "reader of a public channel follows",
            user_roles(),
            None,
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "follow",
            Ok(()),
        ),
        case(
            "outsider may not follow in a group",
            user_roles(),
            None,
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "follow",
            Err(NotVisible),
        ),
        // Direct messages: their members may edit the topic, nobody else without edit-room.
        case(
            "dm member edits",
            user_roles(),
            plain(),
            rc,
            RcRoom,
            RoomType::Direct,
            ALL_SETTINGS,
            "edit",
            Ok(()),
        ),
        case(
            "dm outsider may not edit",
            user_roles(),
            None,
            rc,
            RcRoom,
            RoomType::Direct,
            ALL_SETTINGS,
            "edit",
            Err(NotAllowed),
        ),
        // Discussions: `start-discussion` or `-other-user` in the parent's scope, and access.
        case(
            "member starts a discussion",
            user_roles(),
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss",
            Ok(()),
        ),
        case(
            "member starts one from another's message",
            user_roles(),
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss-other",
            Ok(()),
        ),
        case(
            "reader of a public channel starts one",
            user_roles(),
            None,
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "discuss",
            Ok(()),
        ),
        case(
            "outsider may not start one in a group",
            user_roles(),
            None,
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss",
            Err(NotVisible),
        ),
        case(
            "no role with start-discussion may not",
            vec!["bot".into()],
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss",
            Err(NotAllowed),
        ),
        case(
            "guest role: own message only",
            vec!["guest".into()],
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss-other",
            Err(NotAllowed),
        ),
        case(
            "guest role: own message",
            vec!["guest".into()],
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss",
            Ok(()),
        ),
        case(
            "browser may not start one",
            admin_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "discuss",
            Err(NotAllowed),
        ),
        // Cleaning history: `clean-channel-history` (admin only by default, owners too not).
        case(
            "admin cleans",
            admin_roles(),
            None,
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "clean",
            Ok(()),
        ),
        case(
            "owner may not clean",
            user_roles(),
            owner(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "clean",
            Err(NotAllowed),
        ),
        case(
            "browser may not clean",
            admin_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "clean",
            Err(NotAllowed),
        ),
        // The reported hole: a plain user takes over a Rocket.Chat private group from the browser.
        case(
            "browser plain user joins RC group",
            user_roles(),
            None,
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "join",
            Err(NotAllowed),
        ),
        case(
            "browser plain user kicks in RC group",
            user_roles(),
            plain(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "kick",
            Err(NotAllowed),
        ),
        case(
            "browser kicks the last owner",
            admin_roles(),
            plain(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "kick-last-owner",
            Err(LastOwner),
        ),
        case(
            "browser non-member reads RC group",
            user_roles(),
            None,
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "read",
            Err(NotVisible),
        ),
        case(
            "browser non-member posts in RC group",
            user_roles(),
            None,
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "post",
            Err(NotMember),
        ),
        case(
            "browser plain member opens RC group to guests",
            user_roles(),
            plain(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "guest-switch",
            Err(NotAllowed),
        ),
        case(
            "browser owner opens RC group to guests",
            user_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "guest-switch",
            Ok(()),
        ),
        case(
            "unverified browser on an RC room",
            admin_roles(),
            owner(),
            bare,
            RcRoom,
            P,
            ALL_SETTINGS,
            "read",
            Err(Unverified),
        ),
        case(
            "browser owner invites in RC group",
            user_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "invite",
            Ok(()),
        ),
        case(
            "browser plain member invites in RC group",
            user_roles(),
            plain(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "invite",
            Err(NotAllowed),
        ),
        case(
            "browser joins RC public channel",
            user_roles(),
            None,
            verified,
            RcRoom,
            C,
            ALL_SETTINGS,
            "join",
            Ok(()),
        ),
        case(
            "browser owner leaves as last owner",
            user_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "leave",
            Err(LastOwner),
        ),
        case(
            "browser member leaves RC group",
            user_roles(),
            plain(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "leave",
            Ok(()),
        ),
        case(
            "browser owner mutes (access Read) in RC group",
            user_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "access",
            Ok(()),
        ),
        case(
            "browser member mutes in RC group",
            user_roles(),
            plain(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "access",
            Err(NotAllowed),
        ),
        case(
            "browser deletes a room",
            admin_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "delete",
            Err(NotAllowed),
        ),
        // TalkJS conversations follow TalkJS's rules.
        case(
            "browser adds to a talk conversation",
            user_roles(),
            None,
            bare,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "join",
            Ok(()),
        ),
        case(
            "browser adds with sync off",
            user_roles(),
            None,
            verified,
            TalkRoom,
            P,
            SYNC_OFF,
            "invite",
            Err(BrowserSyncDisallowed),
        ),
        case(
            "browser removes with sync off",
            user_roles(),
            plain(),
            verified,
            TalkRoom,
            P,
            SYNC_OFF,
            "kick",
            Err(BrowserSyncDisallowed),
        ),
        case(
            "browser leaves with sync off",
            user_roles(),
            plain(),
            verified,
            TalkRoom,
            P,
            SYNC_OFF,
            "leave",
            Ok(()),
        ),
        case(
            "read-only participant posts",
            user_roles(),
            read_only(),
            verified,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "post",
            Err(NoWriteAccess),
        ),
        case(
            "revoked participant posts",
            user_roles(),
            revoked(),
            verified,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "post",
            Err(NoWriteAccess),
        ),
        case(
            "talk non-participant reads",
            user_roles(),
            None,
            verified,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "read",
            Err(NotVisible),
        ),
        // Rocket.Chat sessions on both kinds of room.
        case(
            "RC member reads a talk conversation",
            user_roles(),
            plain(),
            RocketChat,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "read",
            Ok(()),
        ),
        case(
            "RC revoked member reads a talk conversation",
            user_roles(),
            revoked(),
            RocketChat,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "read",
            Err(NotVisible),
        ),
        case(
            "RC read-only participant posts",
            user_roles(),
            read_only(),
            RocketChat,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "post",
            Err(NoWriteAccess),
        ),
        case(
            "RC plain member invites into a talk conversation",
            user_roles(),
            plain(),
            RocketChat,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "invite",
            Err(NotAllowed),
        ),
        case(
            "RC admin invites into a public channel",
            admin_roles(),
            None,
            RocketChat,
            RcRoom,
            C,
            ALL_SETTINGS,
            "invite",
            Ok(()),
        ),
        case(
            "RC admin not in group kicks (no kick-any-p)",
            admin_roles(),
            None,
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "kick",
            Err(NotVisible),
        ),
        case(
            "RC owner kicks",
            user_roles(),
            owner(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "kick",
            Ok(()),
        ),
        case(
            "RC user joins a private group",
            user_roles(),
            None,
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "join",
            Err(NotAllowed),
        ),
        // Removing someone who is not in the room: Rocket.Chat's "kick anyone" holders get a
        // success that changes nothing, an owner a refusal; the TalkJS rules call it a no-op.
        case(
            "owner removes a non-member",
            user_roles(),
            owner(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "kick-non-member",
            Err(TargetNotMember),
        ),
        case(
            "admin removes a non-member of a channel (kick-user-from-any-c-room)",
            admin_roles(),
            plain(),
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "kick-non-member",
            Ok(()),
        ),
        case(
            "admin removes a non-member of a group (kick-user-from-any-p-room: nobody)",
            admin_roles(),
            plain(),
            rc,
            RcRoom,
            P,
            ALL_SETTINGS,
            "kick-non-member",
            Err(TargetNotMember),
        ),
        case(
            "owner removes a non-member of a channel",
            user_roles(),
            owner(),
            rc,
            RcRoom,
            C,
            ALL_SETTINGS,
            "kick-non-member",
            Err(TargetNotMember),
        ),
        case(
            "participant removes a non-participant of a conversation",
            user_roles(),
            owner(),
            verified,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "kick-non-member",
            Ok(()),
        ),
    ];
    let mut failures = vec![];
    for c in &cases {
        let got = run(c).map(|_| ());
        if got != c.expect {
            failures.push(format!(
                "{}: expected {:?}, got {:?}",
                c.name, c.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every combination: (actor kind, roles, membership, channel) × action × origin × type ×
/// settings, checked against the invariants rather than row by row.
#[test]
fn invariants_hold_for_every_combination() {
    let t = table();
    let settings = [
        ALL_SETTINGS,
        SYNC_OFF,
        AppSettings {
            browser_user_sync: false,
            browser_conversation_sync: true,
            identity_verification: false,
        },
    ];
    let memberships: Vec<Option<Subscription>> = vec![
        None,
        Some(sub("me", &[], Access::ReadWrite)),
        Some(sub("me", &[], Access::Read)),
        Some(sub("me", &[], Access::None)),
        Some(sub("me", &["owner"], Access::ReadWrite)),
        Some(sub("me", &["moderator"], Access::ReadWrite)),
    ];
    let role_sets = [user_roles(), admin_roles(), vec!["guest".to_string()]];
    let channels = [
        Channel::RocketChat,
        Browser { verified: true },
        Browser { verified: false },
        Channel::OnBehalf,
    ];
    let target = sub("target", &[], Access::ReadWrite);
    let last_owner = sub("target", &["owner"], Access::ReadWrite);
    let mut checked = 0;
    for origin in [RcRoom, TalkRoom] {
        for rt in [C, P, RoomType::Direct] {
            for guest_access in [false, true] {
                let r = room(origin, rt, guest_access);
                for app in settings {
                    let f = Facts {
                        table: &t,
                        app,
                        room: &r,
                    };
                    let actions = [
                        Action::Read,
                        Action::Post,
                        Action::Invite,
                        Action::Join,
                        Action::Kick {
                            target: Some(&target),
                            owners: 2,
                        },
                        Action::Kick {
                            target: Some(&last_owner),
                            owners: 1,
                        },
                        Action::Kick {
                            target: None,
                            owners: 1,
                        },
                        Action::AddAll,
                        Action::Create,
                        Action::EditMessage {
                            own: true,
                            limits: MessageLimits::default(),
                        },
                        Action::DeleteMessage {
                            own: false,
                            limits: MessageLimits::default(),
                        },
                        Action::React,
                        Action::Leave { owners: 1 },
                        Action::ChangeParticipant {
                            target: &target,
                            access: true,
                        },
                        Action::EditRoom {
                            permission: "edit-room",
                        },
                        Action::SwitchGuestAccess,
                        Action::DeleteRoom,
                        Action::AddBanned,
                        Action::CreateInvite,
                        Action::UseInvite,
                        Action::Ban {
                            target: &target,
                            owners: 2,
                        },
                        Action::Ban {
                            target: &last_owner,
                            owners: 1,
                        },
                        Action::Unban,
                        Action::Pin,
                        Action::FollowThread,
                        Action::CleanHistory,
                        Action::StartDiscussion { other_user: false },
                        Action::StartDiscussion { other_user: true },
                    ];
                    for action in actions {
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
                        // The backend, the CLI and the workspace's own rules are trusted.
                        for who in [Principal::Backend, Principal::Cli, Principal::Workspace] {
                            assert!(decide(who, action, &f).is_ok(), "{who:?} {action:?} {r:?}");
                        }
                        // Guests only read and post, only while guests are allowed, and
                        // never unverified on a Rocket.Chat room.
                        for verified in [true, false] {
                            let got = decide(Principal::Guest { verified }, action, &f);
                            if got.is_ok() {
                                assert!(matches!(action, Action::Read | Action::Post));
                                assert!(guest_access && app.guests_allowed());
                                assert!(verified || origin == TalkRoom);
                            }
                        }
                        for roles in &role_sets {
                            for m in &memberships {
                                for channel in channels {
                                    let p = Person {
                                        roles,
                                        membership: m.as_ref(),
                                        channel,
                                    };
                                    let got = decide(Principal::Person(p), action, &f);
                                    checked += 1;
                                    let Ok(permit) = got else { continue };
                                    // People never change a direct message's members.
                                    assert!(!(membership_change && rt == RoomType::Direct));
                                    let ctx = format!(
                                        "{roles:?} {m:?} {channel:?} {action:?} {r:?} {app:?}"
                                    );
                                    assert_eq!(permit.rid(), "r1");
                                    // An unproven browser session never acts on a Rocket.Chat room.
                                    assert!(
                                        !(channel == Browser { verified: false }
                                            && origin == RcRoom),
                                        "{ctx}"
                                    );
                                    // Browser writes with conversation sync off: only leaving.
                                    if matches!(channel, Browser { .. })
                                        && !app.browser_conversation_sync
                                    {
                                        assert!(
                                            matches!(
                                                action,
                                                Action::Read | Action::Post | Action::Leave { .. }
                                            ),
                                            "{ctx}"
                                        );
                                    }
                                    // Nobody removes the last owner or leaves as one.
                                    if let Action::Kick {
                                        target: Some(target),
                                        owners,
                                    } = action
                                    {
                                        assert!(
                                            !(target.has_role("owner") && owners <= 1),
                                            "{ctx}"
                                        );
                                    }
                                    if let Action::Leave { .. } = action {
                                        assert!(
                                            m.as_ref().is_some_and(|m| !m.has_role("owner")),
                                            "{ctx}"
                                        );
                                    }
                                    // A banned user is never let back in by a person.
                                    assert!(!matches!(action, Action::AddBanned), "{ctx}");
                                    // Invite links and bans are Rocket.Chat's, never a
                                    // browser's; bans need `ban-user` in the room, links
                                    // `create-invite-links` and a membership.
                                    if matches!(
                                        action,
                                        Action::CreateInvite
                                            | Action::UseInvite
                                            | Action::Ban { .. }
                                            | Action::Unban
                                    ) {
                                        assert!(!matches!(channel, Browser { .. }), "{ctx}");
                                    }
                                    let all: Vec<&String> = roles
                                        .iter()
                                        .chain(m.iter().flat_map(|m| m.roles.iter()))
                                        .collect();
                                    if matches!(action, Action::Ban { .. } | Action::Unban) {
                                        assert!(t.allows("ban-user", all.iter().copied()), "{ctx}");
                                    }
                                    if let Action::Ban { target, owners } = action {
                                        assert!(
                                            !(target.has_role("owner") && owners <= 1),
                                            "{ctx}"
                                        );
                                    }
                                    if matches!(action, Action::CreateInvite) {
                                        assert!(
                                            t.allows("create-invite-links", all.iter().copied()),
                                            "{ctx}"
                                        );
                                        assert!(
                                            m.as_ref().is_some_and(|m| m.access != Access::None),
                                            "{ctx}"
                                        );
                                    }
                                    // Posting needs write access.
                                    if let Action::Post = action {
                                        assert!(
                                            m.as_ref()
                                                .is_some_and(|m| m.access == Access::ReadWrite),
                                            "{ctx}"
                                        );
                                    }
                                    // Reading with access None: only the static view, cut off
                                    // (a public channel is readable by anyone holding view-c-room).
                                    if let (Action::Read, Some(m)) = (action, m) {
                                        if m.access == Access::None && rt != C {
                                            assert_eq!(
                                                permit.until(),
                                                Some(Timestamp(50)),
                                                "{ctx}"
                                            );
                                        }
                                    }
                                    // A permit past a cut-off only exists for reads.
                                    if permit.until().is_some() {
                                        assert!(matches!(action, Action::Read), "{ctx}");
                                    }
                                    // On a Rocket.Chat room a person changes membership only
                                    // with Rocket.Chat's permissions.
                                    if origin == RcRoom && matches!(action, Action::Invite) {
                                        let tb = &t;
                                        let all: Vec<&String> = roles
                                            .iter()
                                            .chain(m.iter().flat_map(|m| m.roles.iter()))
                                            .collect();
                                        assert!(
                                            tb.allows(
                                                "add-user-to-joined-room",
                                                all.iter().copied()
                                            ) || tb.allows("add-user-to-any-c-room", roles.iter())
                                                || tb
                                                    .allows("add-user-to-any-p-room", roles.iter()),
                                            "{ctx}"
                                        );
                                    }
                                    if origin == RcRoom && matches!(action, Action::Kick { .. }) {
                                        let all: Vec<&String> = roles
                                            .iter()
                                            .chain(m.iter().flat_map(|m| m.roles.iter()))
                                            .collect();
                                        assert!(
                                            t.allows("remove-user", all.iter().copied()),
                                            "{ctx}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} combinations checked");
}

/// Bans and invite links as a table: admin, owner, moderator, plain member, non-member, guest
/// role, browser session, and the trusted principals.
#[test]
fn bans_and_invite_links_as_a_table() {
    let plain = || Some(sub("me", &[], Access::ReadWrite));
    let owner = || Some(sub("me", &["owner"], Access::ReadWrite));
    let moderator = || Some(sub("me", &["moderator"], Access::ReadWrite));
    let verified = Browser { verified: true };
    let guest_roles = || vec!["guest".to_string()];
    use Refusal::*;
    let cases = vec![
        case(
            "admin bans",
            admin_roles(),
            None,
            RocketChat,
            RcRoom,
            C,
            ALL_SETTINGS,
            "ban",
            Ok(()),
        ),
        case(
            "owner bans",
            user_roles(),
            owner(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "ban",
            Ok(()),
        ),
        case(
            "moderator bans",
            user_roles(),
            moderator(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "ban",
            Ok(()),
        ),
        case(
            "member bans",
            user_roles(),
            plain(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "ban",
            Err(NotAllowed),
        ),
        case(
            "non-member bans",
            user_roles(),
            None,
            RocketChat,
            RcRoom,
            C,
            ALL_SETTINGS,
            "ban",
            Err(NotAllowed),
        ),
        case(
            "guest bans",
            guest_roles(),
            plain(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "ban",
            Err(NotAllowed),
        ),
        case(
            "browser admin bans",
            admin_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "ban",
            Err(NotAllowed),
        ),
        case(
            "the last owner is not banned",
            admin_roles(),
            None,
            RocketChat,
            RcRoom,
            C,
            ALL_SETTINGS,
            "ban-last-owner",
            Err(LastOwner),
        ),
        case(
            "nobody bans in a DM",
            admin_roles(),
            plain(),
            RocketChat,
            RcRoom,
            RoomType::Direct,
            ALL_SETTINGS,
            "ban",
            Err(DirectRoom),
        ),
        case(
            "moderator unbans",
            user_roles(),
            moderator(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "unban",
            Ok(()),
        ),
        case(
            "member unbans",
            user_roles(),
            plain(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "unban",
            Err(NotAllowed),
        ),
        case(
            "admin adds a banned user",
            admin_roles(),
            owner(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "add-banned",
            Err(Banned),
        ),
        case(
            "browser adds a banned user",
            admin_roles(),
            owner(),
            verified,
            TalkRoom,
            P,
            ALL_SETTINGS,
            "add-banned",
            Err(Banned),
        ),
        case(
            "owner makes a link",
            user_roles(),
            owner(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "create-invite",
            Ok(()),
        ),
        case(
            "moderator makes a link",
            user_roles(),
            moderator(),
            RocketChat,
            RcRoom,
            C,
            ALL_SETTINGS,
            "create-invite",
            Ok(()),
        ),
        case(
            "admin member makes a link",
            admin_roles(),
            plain(),
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "create-invite",
            Ok(()),
        ),
        case(
            "admin non-member makes a link",
            admin_roles(),
            None,
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "create-invite",
            Err(NotMember),
        ),
        case(
            "member makes a link",
            user_roles(),
            plain(),
            RocketChat,
            RcRoom,
            C,
            ALL_SETTINGS,
            "create-invite",
            Err(NotAllowed),
        ),
        case(
            "browser owner makes a link",
            user_roles(),
            owner(),
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "create-invite",
            Err(NotAllowed),
        ),
        case(
            "a link to a DM",
            admin_roles(),
            owner(),
            RocketChat,
            RcRoom,
            RoomType::Direct,
            ALL_SETTINGS,
            "create-invite",
            Err(DirectRoom),
        ),
        case(
            "anyone uses a link",
            user_roles(),
            None,
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "use-invite",
            Ok(()),
        ),
        case(
            "a guest uses a link",
            guest_roles(),
            None,
            RocketChat,
            RcRoom,
            P,
            ALL_SETTINGS,
            "use-invite",
            Ok(()),
        ),
        case(
            "a browser uses a link",
            user_roles(),
            None,
            verified,
            RcRoom,
            P,
            ALL_SETTINGS,
            "use-invite",
            Err(NotAllowed),
        ),
    ];
    for c in &cases {
        assert_eq!(run(c).map(|_| ()), c.expect, "{}", c.name);
    }
    // The trusted principals may add a banned user (the membership lifts the ban).
    let t = table();
    let r = room(TalkRoom, P, false);
    let f = Facts {
        table: &t,
        app: ALL_SETTINGS,
        room: &r,
    };
    for who in [Principal::Backend, Principal::Cli, Principal::Workspace] {
        assert!(decide(who, Action::AddBanned, &f).is_ok(), "{who:?}");
    }
    assert!(decide(Principal::Guest { verified: true }, Action::AddBanned, &f).is_err());
}

/// Message edits and deletions under the workspace's switches and time limits.
#[test]
fn message_limits_as_a_table() {
    let t = table();
    let r = room(RcRoom, C, false);
    let f = Facts {
        table: &t,
        app: ALL_SETTINGS,
        room: &r,
    };
    let off = MessageLimits {
        authors_may: false,
        past_time_limit: false,
    };
    let old = MessageLimits {
        authors_may: true,
        past_time_limit: true,
    };
    let on = MessageLimits::default();
    let member = sub("me", &[], Access::ReadWrite);
    let moderator = sub("me", &["moderator"], Access::ReadWrite);
    let owner = sub("me", &["owner"], Access::ReadWrite);
    let user = user_roles();
    let bot = vec!["bot".to_string()];
    let person = |roles: &'static [String], m: &'static Subscription| {
        Principal::Person(Person {
            roles,
            membership: Some(m),
            channel: Channel::RocketChat,
        })
    };
    // Leak the few fixtures so rows can borrow them for the test's length.
    let (user, bot): (&'static [String], &'static [String]) = (
        Box::leak(user.into_boxed_slice()),
        Box::leak(bot.into_boxed_slice()),
    );
    let (member, moderator, owner): (&'static Subscription, _, _) = (
        Box::leak(Box::new(member)),
        Box::leak(Box::new(moderator)),
        Box::leak(Box::new(owner)),
    );
    use Refusal::*;
    let edit = |own, limits| Action::EditMessage { own, limits };
    let delete = |own, limits| Action::DeleteMessage { own, limits };
    let rows: Vec<(&str, Principal, Action, Result<(), Refusal>)> = vec![
        ("author edits", person(user, member), edit(true, on), Ok(())),
        (
            "author edits, editing off",
            person(user, member),
            edit(true, off),
            Err(NotAllowed),
        ),
        (
            "moderator edits another's, editing off",
            person(user, moderator),
            edit(false, off),
            Ok(()),
        ),
        (
            "author edits an old message",
            person(user, member),
            edit(true, old),
            Err(TimeLimit),
        ),
        (
            "moderator edits an old message",
            person(user, moderator),
            edit(false, old),
            Err(TimeLimit),
        ),
        (
            "a bot bypasses the time limit",
            person(bot, member),
            edit(true, old),
            Ok(()),
        ),
        (
            "author deletes",
            person(user, member),
            delete(true, on),
            Ok(()),
        ),
        (
            "author deletes, deleting off",
            person(user, member),
            delete(true, off),
            Err(NotAllowed),
        ),
        (
            "author deletes an old message",
            person(user, member),
            delete(true, old),
            Err(TimeLimit),
        ),
        (
            "owner force-deletes an old message",
            person(user, owner),
            delete(false, old),
            Ok(()),
        ),
        (
            "member deletes another's",
            person(user, member),
            delete(false, on),
            Err(NotAllowed),
        ),
    ];
    for (name, who, action, expect) in rows {
        assert_eq!(decide(who, action, &f).map(|_| ()), expect, "{name}");
    }
}
