//! Routing one event: which connections hear it, as which notice. Each distinct notice is
//! built once and shared; access changes are applied before anything else of the event is
//! routed, so a reader who loses a room hears nothing of it afterwards.

use std::collections::HashSet;
use std::sync::Arc;

use super::access::can_access;
use super::delivery::{Change, Delivery, EndReason, Notice, Via};
use super::state::{Membership, Meta, Policy, Replay, State};
use super::{ConnId, RoomStream, Topic, UserStream};
use crate::events::{Event, RoomBrief};
use crate::model::{Message, RoomType};

/// Builds a delivery on first use, so events nobody listens to cost nothing.
struct Lazy<F: FnOnce() -> Notice> {
    make: Option<F>,
    built: Option<Arc<Delivery>>,
}

impl<F: FnOnce() -> Notice> Lazy<F> {
    fn new(make: F) -> Self {
        Lazy {
            make: Some(make),
            built: None,
        }
    }
    fn get(&mut self) -> Arc<Delivery> {
        if let Some(d) = &self.built {
            return d.clone();
        }
        let notice = match self.make.take() {
            Some(make) => make(),
            None => Notice::LoggedOut,
        };
        let d = Delivery::new(notice);
        self.built = Some(d.clone());
        d
    }
}

impl State {
    /// Routes one event. Connections whose queue overflowed are dropped at the end.
    pub fn dispatch(&mut self, event: &Event, p: &Policy) {
        let mut dead: Vec<ConnId> = Vec::new();
        match event {
            Event::MessageCreated { message, room } => {
                self.on_message(message, room, true, p, &mut dead);
                self.talk_of(event, &mut dead);
            }
            Event::MessageUpdated { message, room } => {
                self.on_message(message, room, false, p, &mut dead);
                self.talk_of(event, &mut dead);
            }
            Event::MessageDeleted { rid, id } => {
                self.talk_of(event, &mut dead);
                let mut d = Lazy::new(|| Notice::MessageDeleted {
                    rid: rid.clone(),
                    id: id.clone(),
                });
                for conn in self.room_stream(rid, RoomStream::Deletions) {
                    self.offer(conn, d.get(), &mut dead);
                }
            }
            Event::UserActivity {
                rid,
                uid,
                username,
                activities,
                origin,
            } => {
                self.talk_typing(rid, uid, activities, origin.as_deref(), &mut dead);
                let mut d = Lazy::new(|| Notice::Activity {
                    rid: rid.clone(),
                    username: username.clone(),
                    activities: activities.clone(),
                });
                for conn in self.room_stream(rid, RoomStream::Activity) {
                    let from_origin = self
                        .conns
                        .get(&conn)
                        .is_some_and(|c| Some(&c.session) == origin.as_ref());
                    if !from_origin {
                        self.offer(conn, d.get(), &mut dead);
                    }
                }
            }
            Event::MemberAdded { subscription, room } => {
                let (uid, rid) = (&subscription.u.id, &subscription.rid);
                if let Some(entry) = self.rooms.get_mut(rid) {
                    if !matches!(entry.meta, Meta::Gone) {
                        entry.meta = Meta::Known(room.brief());
                    }
                }
                if let Some(state) = self.users.get_mut(uid) {
                    let m = Membership {
                        sub_id: subscription.id.clone(),
                        t: room.t,
                    };
                    match &mut state.pending {
                        Some(log) => log.push(Replay::Added(rid.clone(), m)),
                        None => {
                            state.rooms.insert(rid.clone(), m);
                            self.members_online
                                .entry(rid.clone())
                                .or_default()
                                .insert(uid.clone());
                        }
                    }
                }
                let sub = Arc::new(subscription.clone());
                self.offer_user(uid, UserStream::Subscriptions, &mut dead, || {
                    Notice::SubscriptionChanged {
                        uid: uid.clone(),
                        change: Change::Inserted,
                        subscription: sub,
                    }
                });
                self.offer_user(uid, UserStream::Rooms, &mut dead, || Notice::RoomChanged {
                    uid: uid.clone(),
                    change: Change::Inserted,
                    room: room.clone(),
                    last: None,
                });
                self.talk_of(event, &mut dead);
            }
            Event::MemberRemoved { rid, uid } => {
                // Revocation first: the removed reader hears nothing of the room afterwards,
                // except (on their inbox) that they left.
                self.on_member_removed(rid, uid, p, EndReason::Removed, &mut dead);
                self.talk_of(event, &mut dead);
            }
            // Access `None` is a removal as far as reading is concerned; other changes to
            // access or notify do not change what may be read (unless access comes back).
            // Room roles travel to the member's DDP subscription list as an update.
            Event::MemberUpdated(s) => {
                if s.access == crate::model::Access::None {
                    self.on_member_removed(&s.rid, &s.u.id, p, EndReason::AccessNone, &mut dead);
                } else {
                    self.restore_member(s);
                }
                let shared = Arc::new(s.clone());
                self.offer_user(&s.u.id, UserStream::Subscriptions, &mut dead, || {
                    Notice::SubscriptionChanged {
                        uid: s.u.id.clone(),
                        change: Change::Updated,
                        subscription: shared.clone(),
                    }
                });
                self.talk_of(event, &mut dead);
            }
            Event::GuestAccessChanged { rid, allowed } => {
                // Guests go before anything else of the room is routed.
                if !allowed {
                    self.end_guests(rid.as_deref(), &mut dead);
                }
                self.talk_of(event, &mut dead);
            }
            // A new user has no live session yet.
            Event::UserCreated(_) => {}
            // Webhooks only; a reader's own view already went out as SubscriptionChanged.
            Event::MessagesRead { .. } => {}
            Event::SubscriptionChanged(sub) => {
                if let Some(m) = self
                    .users
                    .get_mut(&sub.u.id)
                    .and_then(|s| s.rooms.get_mut(&sub.rid))
                {
                    m.t = sub.t;
                }
                let shared = Arc::new(sub.clone());
                self.offer_user(&sub.u.id, UserStream::Subscriptions, &mut dead, || {
                    Notice::SubscriptionChanged {
                        uid: sub.u.id.clone(),
                        change: Change::Updated,
                        subscription: shared,
                    }
                });
            }
            Event::RoomChanged(room) => {
                let mut type_changed = false;
                if let Some(entry) = self.rooms.get_mut(&room.id) {
                    if let Meta::Known(old) = &entry.meta {
                        type_changed = old.t != room.t;
                    }
                    if !matches!(entry.meta, Meta::Gone) {
                        entry.meta = Meta::Known(room.brief());
                    }
                }
                if type_changed {
                    let conns = self.room_subscribers(&room.id);
                    dead.extend(self.recheck_room(&room.id, &conns, p, EndReason::NotAllowed));
                }
                self.talk_of(event, &mut dead);
                let shared = Arc::new(room.clone());
                let members: Vec<String> = self
                    .members_online
                    .get(&room.id)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                for uid in members {
                    if let Some(m) = self
                        .users
                        .get_mut(&uid)
                        .and_then(|s| s.rooms.get_mut(&room.id))
                    {
                        m.t = room.t;
                    }
                    // Per user: the user id is part of what the protocols send.
                    self.offer_user(&uid, UserStream::Rooms, &mut dead, || Notice::RoomChanged {
                        uid: uid.clone(),
                        change: Change::Updated,
                        room: shared.clone(),
                        last: None,
                    });
                }
            }
            Event::RoomTouched { room, last } => {
                let shared = Arc::new(room.clone());
                let last = last.as_ref().map(|m| Arc::new(m.as_ref().clone()));
                // Every post touches its room: walk the online members in place (no copy of
                // their ids per post); only those listening to their rooms stream get a notice.
                for uid in self.members_online.get(&room.id).into_iter().flatten() {
                    self.offer_user(uid, UserStream::Rooms, &mut dead, || Notice::RoomChanged {
                        uid: uid.clone(),
                        change: Change::Updated,
                        room: shared.clone(),
                        last: last.clone(),
                    });
                }
            }
            Event::RoomDeleted { rid } => {
                // Told before their subscriptions end, so readers know why.
                self.talk_of(event, &mut dead);
                self.on_room_deleted(rid, p, &mut dead);
            }
            Event::PermissionsChanged => {
                let conns: Vec<ConnId> = self.conns.keys().copied().collect();
                let filter = |t: &Topic| matches!(t, Topic::Room { .. });
                for conn in conns {
                    dead.extend(self.reevaluate(conn, p, false, EndReason::NotAllowed, &filter));
                }
            }
            Event::UserUpdated(user) => self.on_user_updated(user, p, &mut dead),
            Event::RoomSeq { rid, seq } => self.talk.mark(rid, *seq),
            Event::SessionRevoked { uid, token_hash } => {
                self.on_session_revoked(uid, token_hash.as_deref(), p, &mut dead)
            }
        }
        for conn in dead {
            self.close(conn);
        }
    }

    /// A participant whose access came back from `None` reads the room again (live
    /// subscriptions made from now on; ended ones stay ended).
    fn restore_member(&mut self, s: &crate::model::Subscription) {
        let Some(state) = self.users.get_mut(&s.u.id) else {
            return;
        };
        let m = Membership {
            sub_id: s.id.clone(),
            t: s.t,
        };
        match &mut state.pending {
            Some(log) => log.push(Replay::Added(s.rid.clone(), m)),
            None => {
                if state.rooms.insert(s.rid.clone(), m).is_none() {
                    self.members_online
                        .entry(s.rid.clone())
                        .or_default()
                        .insert(s.u.id.clone());
                }
            }
        }
    }

    /// Queues a delivery for one connection; remembers it if its queue overflowed.
    pub(super) fn offer(&self, conn: ConnId, d: Arc<Delivery>, dead: &mut Vec<ConnId>) {
        if let Some(c) = self.conns.get(&conn) {
            if !c.sink.offer(d) {
                dead.push(conn);
            }
        }
    }

    fn room_stream(&self, rid: &str, stream: RoomStream) -> Vec<ConnId> {
        self.rooms
            .get(rid)
            .and_then(|e| e.live.get(&stream))
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Offers a notice to every connection of `uid` with a live subscription to `stream`.
    pub(super) fn offer_user(
        &self,
        uid: &str,
        stream: UserStream,
        dead: &mut Vec<ConnId>,
        make: impl FnOnce() -> Notice,
    ) {
        let Some(state) = self.users.get(uid) else {
            return;
        };
        let mut d = Lazy::new(make);
        for conn in &state.conns {
            let listens = self.conns.get(conn).is_some_and(|c| {
                c.subs.values().any(|s| {
                    s.live && matches!(&s.topic, Topic::User { stream: st, .. } if *st == stream)
                })
            });
            if listens {
                self.offer(*conn, d.get(), dead);
            }
        }
    }

    fn on_message(
        &mut self,
        message: &Message,
        room: &RoomBrief,
        created: bool,
        p: &Policy,
        dead: &mut Vec<ConnId>,
    ) {
        let msg = Arc::new(message.clone());
        let mut on_room = Lazy::new(|| Notice::Message {
            message: msg.clone(),
            room: room.clone(),
            via: Via::Room,
        });
        for conn in self.room_stream(&room.id, RoomStream::Messages) {
            self.offer(conn, on_room.get(), dead);
        }
        if !self.all_messages.is_empty() {
            let candidates: Vec<ConnId> = if room.t == RoomType::Channel {
                // Public channels reach every reader holding view-c-room, member or not.
                self.all_messages.keys().copied().collect()
            } else {
                self.members_online
                    .get(&room.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|uid| self.users.get(uid))
                    .flat_map(|s| s.conns.iter().copied())
                    .filter(|c| self.all_messages.contains_key(c))
                    .collect()
            };
            let mut member_copy = Lazy::new(|| Notice::Message {
                message: msg.clone(),
                room: room.clone(),
                via: Via::All { participant: true },
            });
            let mut reader_copy = Lazy::new(|| Notice::Message {
                message: msg.clone(),
                room: room.clone(),
                via: Via::All { participant: false },
            });
            for conn in candidates {
                let Some(state) = self
                    .conns
                    .get(&conn)
                    .and_then(|c| c.user.as_ref())
                    .and_then(|u| self.users.get(u))
                else {
                    continue;
                };
                if state.pending.is_some() {
                    continue;
                }
                let member = state.rooms.contains_key(&room.id);
                if !can_access(p.table, &state.roles, room.t, member) {
                    continue;
                }
                let d = if member {
                    member_copy.get()
                } else {
                    reader_copy.get()
                };
                self.offer(conn, d, dead);
            }
        }
        if created && !message.is_system() {
            self.notify(&msg, room, dead);
        }
    }

    /// Notifications: every online member of a direct message, the mentioned members of other
    /// rooms (`@username`, `@all`, `@here`); never the sender.
    fn notify(&self, msg: &Arc<Message>, room: &RoomBrief, dead: &mut Vec<ConnId>) {
        let Some(members) = self.members_online.get(&room.id) else {
            return;
        };
        let mentioned = mentions(&msg.msg);
        let everyone =
            room.t == RoomType::Direct || mentioned.contains("all") || mentioned.contains("here");
        // Most messages mention nobody: then no member is told, and a post costs nothing here
        // however large the room (no walk over its online members).
        if !everyone && mentioned.is_empty() {
            return;
        }
        for uid in members {
            if *uid == msg.u.id {
                continue;
            }
            let Some(state) = self.users.get(uid) else {
                continue;
            };
            if everyone || mentioned.contains(state.username.as_str()) {
                self.offer_user(uid, UserStream::Notifications, dead, || {
                    Notice::Notification {
                        uid: uid.clone(),
                        message: msg.clone(),
                        room: room.clone(),
                    }
                });
            }
        }
    }
}

/// The `@name` mentions of a text.
fn mentions(text: &str) -> HashSet<&str> {
    text.split('@')
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .unwrap_or(rest.len());
            rest[..end].trim_end_matches('.')
        })
        .filter(|m| !m.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_are_found() {
        let m = mentions("hi @bob and @all. mail a@b");
        assert!(m.contains("bob"));
        assert!(m.contains("all"));
        assert!(m.contains("b"));
    }
}
