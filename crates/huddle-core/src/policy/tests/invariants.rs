//! The sweep: every combination checked against the invariants.

use super::*;

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
