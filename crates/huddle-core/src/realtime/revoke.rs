//! Routing the events that take access away (or change who may read what): a membership
//! removed, a room deleted, a user's roles or active flag changed. Their notices go out first,
//! then each affected subscription is decided again and, refused now, ends with a notice.

use super::delivery::{Delivery, EndReason, Notice, StatusBrief};
use super::state::{Meta, Policy, Replay, State};
use super::{ConnId, Topic, UserStream};
use crate::model::User;
use std::collections::HashSet;

impl State {
    pub(super) fn on_member_removed(
        &mut self,
        rid: &str,
        uid: &str,
        p: &Policy,
        reason: EndReason,
        dead: &mut Vec<ConnId>,
    ) {
        let Some(state) = self.users.get_mut(uid) else {
            return;
        };
        let removed = match &mut state.pending {
            Some(log) => {
                log.push(Replay::Removed(rid.to_string()));
                None
            }
            None => state.rooms.remove(rid),
        };
        let username = state.username.clone();
        let conns: Vec<ConnId> = state.conns.iter().copied().collect();
        if let Some(m) = removed {
            if let Some(set) = self.members_online.get_mut(rid) {
                set.remove(uid);
                if set.is_empty() {
                    self.members_online.remove(rid);
                }
            }
            self.offer_user(uid, UserStream::Subscriptions, dead, || {
                Notice::SubscriptionRemoved {
                    uid: uid.to_string(),
                    id: m.sub_id,
                    rid: rid.to_string(),
                    t: m.t,
                    username,
                }
            });
        }
        dead.extend(self.recheck_room(rid, &conns, p, reason));
    }

    pub(super) fn on_room_deleted(&mut self, rid: &str, p: &Policy, dead: &mut Vec<ConnId>) {
        if let Some(entry) = self.rooms.get_mut(rid) {
            entry.meta = Meta::Gone;
        }
        for state in self.users.values_mut() {
            if let Some(log) = &mut state.pending {
                log.push(Replay::Removed(rid.to_string()));
            }
        }
        let members: HashSet<String> = self.members_online.remove(rid).unwrap_or_default();
        for uid in &members {
            let Some(state) = self.users.get_mut(uid) else {
                continue;
            };
            let Some(m) = state.rooms.remove(rid) else {
                continue;
            };
            let username = state.username.clone();
            self.offer_user(uid, UserStream::Subscriptions, dead, || {
                Notice::SubscriptionRemoved {
                    uid: uid.clone(),
                    id: m.sub_id,
                    rid: rid.to_string(),
                    t: m.t,
                    username,
                }
            });
            self.offer_user(uid, UserStream::Rooms, dead, || Notice::RoomRemoved {
                uid: uid.clone(),
                rid: rid.to_string(),
            });
        }
        let conns = self.room_subscribers(rid);
        dead.extend(self.recheck_room(rid, &conns, p, EndReason::RoomDeleted));
    }

    pub(super) fn on_user_updated(&mut self, user: &User, p: &Policy, dead: &mut Vec<ConnId>) {
        if let Some(state) = self.users.get_mut(&user.id) {
            state.roles = user.roles.clone();
            state.username = user.username_or_id().to_string();
            let conns: Vec<ConnId> = state.conns.iter().copied().collect();
            for conn in conns {
                if user.active {
                    // Roles decide access: check the room subscriptions again.
                    let filter = |t: &Topic| matches!(t, Topic::Room { .. });
                    dead.extend(self.reevaluate(conn, p, false, EndReason::NotAllowed, &filter));
                } else {
                    self.end_session(conn, p, dead);
                }
            }
        }
        let brief = || StatusBrief {
            uid: user.id.clone(),
            username: user.username_or_id().to_string(),
            name: user.name.clone(),
            status: user.status.clone(),
            status_text: user.status_text.clone(),
            roles: user.roles.clone(),
        };
        let watchers: Vec<ConnId> = self
            .presence
            .keys()
            .filter(|c| {
                self.conns
                    .get(c)
                    .is_some_and(|c| c.presence.contains(&user.id))
            })
            .copied()
            .collect();
        if !watchers.is_empty() {
            let d = Delivery::new(Notice::Presence(brief()));
            for conn in watchers {
                self.offer(conn, d.clone(), dead);
            }
        }
        if !self.user_status.is_empty() {
            let d = Delivery::new(Notice::UserStatus(brief()));
            let conns: Vec<ConnId> = self.user_status.keys().copied().collect();
            for conn in conns {
                self.offer(conn, d.clone(), dead);
            }
        }
    }

    /// Sessions logged in with a revoked token (or any of the user's, for `None`) end.
    pub(super) fn on_session_revoked(
        &mut self,
        uid: &str,
        token: Option<&str>,
        p: &Policy,
        dead: &mut Vec<ConnId>,
    ) {
        let Some(state) = self.users.get(uid) else {
            return;
        };
        let ended: Vec<ConnId> = state
            .conns
            .iter()
            .copied()
            .filter(|c| {
                token.is_none()
                    || self
                        .conns
                        .get(c)
                        .is_some_and(|conn| conn.token.as_deref() == token)
            })
            .collect();
        for conn in ended {
            self.end_session(conn, p, dead);
        }
    }

    /// A session whose login no longer holds: every subscription needing a login ends with a
    /// notice, and the protocol is told to drop its login.
    fn end_session(&mut self, conn: ConnId, p: &Policy, dead: &mut Vec<ConnId>) {
        self.detach_user(conn);
        dead.extend(self.reevaluate(conn, p, true, EndReason::LoggedOut, &|_| true));
        self.offer(conn, Delivery::new(Notice::LoggedOut), dead);
    }
}
