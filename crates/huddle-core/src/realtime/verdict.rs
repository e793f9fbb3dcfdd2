//! Deciding one subscription: the read rule of each topic for a connection's user, from the
//! router's tables (the user's memberships, the room's type) and the permission table.

use std::collections::HashMap;

use super::access::{can_access, can_stream_messages};
use super::state::{Meta, Policy, RoomEntry, UserState};
use super::{RoomStream, Topic, Verdict};
use crate::model::RoomType;

/// The verdict for `topic` read by `user`.
pub(crate) fn verdict(
    users: &HashMap<String, UserState>,
    rooms: &HashMap<String, RoomEntry>,
    user: Option<&str>,
    topic: &Topic,
    policy: &Policy,
) -> Verdict {
    let state = user.and_then(|u| users.get(u));
    match topic {
        Topic::AllMessages | Topic::UserStatus | Topic::Presence => match user {
            Some(_) => Verdict::Live,
            None => Verdict::Dormant,
        },
        Topic::Inert { needs_login } => match (user, needs_login) {
            (None, true) => Verdict::Dormant,
            _ => Verdict::Live,
        },
        Topic::Inbox => match state {
            Some(s) if s.pending.is_none() => Verdict::Live,
            Some(_) => Verdict::Dormant,
            None => Verdict::Denied,
        },
        // TalkJS-style rule: a participant whose access is not `None` (the router never records
        // those memberships), or a guest admitted at subscription start (guest access is checked
        // there, and switching it off ends guest subscriptions explicitly).
        Topic::Conversation { rid, guest } => {
            let Some(Meta::Known(_)) = rooms.get(rid).map(|r| &r.meta) else {
                return Verdict::Denied;
            };
            match (state, guest) {
                (None, _) => Verdict::Denied,
                (Some(_), true) => Verdict::Live,
                (Some(s), false) if s.pending.is_some() => Verdict::Dormant,
                (Some(s), false) if s.rooms.contains_key(rid) => Verdict::Live,
                (Some(_), false) => Verdict::Denied,
            }
        }
        Topic::User { uid, .. } => match user {
            Some(u) if u == uid => Verdict::Live,
            Some(_) => Verdict::Denied,
            None => Verdict::Dormant,
        },
        Topic::Room { rid, stream } => {
            let Some(Meta::Known(room)) = rooms.get(rid).map(|r| &r.meta) else {
                return Verdict::Denied;
            };
            let Some(state) = state else {
                return match user {
                    // Memberships not loaded: cannot say yet.
                    Some(_) => Verdict::Dormant,
                    None if policy.anonymous_read
                        && room.t == RoomType::Channel
                        && *stream == RoomStream::Messages =>
                    {
                        Verdict::Live
                    }
                    None => Verdict::Dormant,
                };
            };
            if state.pending.is_some() {
                return Verdict::Dormant;
            }
            let member = state.rooms.contains_key(rid);
            let allowed = if *stream == RoomStream::Messages {
                can_stream_messages(policy.table, &state.roles, room.t, member)
            } else {
                can_access(policy.table, &state.roles, room.t, member)
            };
            if allowed {
                Verdict::Live
            } else {
                Verdict::Denied
            }
        }
    }
}
