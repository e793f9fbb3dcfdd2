//! Message edits and deletions under the workspace's switches and time limits.

use super::*;

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
