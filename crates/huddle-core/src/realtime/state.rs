//! The router's tables: connections and their subscriptions, online users and their memberships,
//! rooms with live subscribers, and the indexes events are routed by. Everything here is
//! synchronous and runs under the router's one lock; loads from the store happen outside it
//! (see `router.rs`), and the "pending" states below make sure no event is lost meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::delivery::{Delivery, EndReason, Notice, Sink};
use super::talk::TalkPositions;
pub(crate) use super::verdict::verdict;
use super::{ConnId, RoomStream, Topic, Verdict};
use crate::events::RoomBrief;
use crate::model::{RoomType, Subscription, User};
use crate::permissions::PermissionTable;

/// Subscriptions one connection may hold; more are refused (memory is bounded per socket).
pub(crate) const MAX_SUBSCRIPTIONS: usize = 1_000;

/// What access decisions read besides the tables: the permission table and the one setting.
pub(crate) struct Policy<'a> {
    pub table: &'a PermissionTable,
    pub anonymous_read: bool,
}

pub(crate) struct Conn {
    pub sink: Arc<dyn Sink>,
    /// The protocol's session id (so a typing notice skips the connection it came from).
    pub session: String,
    pub user: Option<String>,
    /// Hash of the login token the user logged in with, so revoking it ends this session.
    pub token: Option<String>,
    pub subs: HashMap<String, Sub>,
    /// The users whose status this connection watches (`Topic::Presence`).
    pub presence: HashSet<String>,
}

pub(crate) struct Sub {
    pub topic: Topic,
    /// In the indexes (events flow); otherwise dormant, waiting for a login.
    pub live: bool,
}

/// A membership as the router keeps it: enough to tell the user it is gone.
#[derive(Debug, Clone)]
pub(crate) struct Membership {
    pub sub_id: String,
    pub t: RoomType,
}

/// A membership change seen while the user's memberships were being loaded.
pub(crate) enum Replay {
    Added(String, Membership),
    Removed(String),
}

pub(crate) struct UserState {
    pub username: String,
    pub roles: Vec<String>,
    pub conns: HashSet<ConnId>,
    pub rooms: HashMap<String, Membership>,
    /// `Some` until the first load of the memberships lands: the changes seen meanwhile, to
    /// replay on top of the loaded snapshot.
    pub pending: Option<Vec<Replay>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Meta {
    /// Being loaded; an event arriving meanwhile wins over the load.
    Pending,
    Known(RoomBrief),
    Gone,
}

pub(crate) struct RoomEntry {
    pub meta: Meta,
    /// Subscriptions (live or dormant) and in-flight loads naming this room.
    pub refs: u32,
    /// Live subscribers per stream, with how many subscriptions each connection has there.
    pub live: HashMap<RoomStream, HashMap<ConnId, u32>>,
    /// The id of the last conversation event routed here while this entry existed.
    pub last_talk: u64,
    /// Connections whose resume replayed this room's log through an entry (`seq`): its live
    /// events up to there are not sent to them again.
    pub replayed: HashMap<ConnId, i64>,
}

#[derive(Default)]
pub(crate) struct State {
    next_conn: ConnId,
    pub conns: HashMap<ConnId, Conn>,
    pub users: HashMap<String, UserState>,
    pub rooms: HashMap<String, RoomEntry>,
    /// Online users (memberships loaded) per room.
    pub members_online: HashMap<String, HashSet<String>>,
    /// Connections with a live all-rooms subscription.
    pub all_messages: HashMap<ConnId, u32>,
    pub user_status: HashMap<ConnId, u32>,
    /// Connections with a live presence subscription (their watched users are in `Conn`).
    pub presence: HashMap<ConnId, u32>,
    /// Connections with a live TalkJS-style inbox subscription.
    pub inbox: HashMap<ConnId, u32>,
    /// Grows whenever guest access is switched off anywhere: a guest admitted (by a store
    /// check outside the lock) under an older value is refused, so a switch-off racing a
    /// subscription cannot be missed.
    pub guest_epoch: u64,
    /// Which log entry each room's conversation events being routed come from (their ids).
    pub talk: TalkPositions,
}

fn bump(map: &mut HashMap<ConnId, u32>, conn: ConnId) {
    *map.entry(conn).or_default() += 1;
}

fn unbump(map: &mut HashMap<ConnId, u32>, conn: ConnId) {
    if let Some(n) = map.get_mut(&conn) {
        *n -= 1;
        if *n == 0 {
            map.remove(&conn);
        }
    }
}

impl State {
    pub fn open(&mut self, session: &str, sink: Arc<dyn Sink>) -> ConnId {
        self.next_conn += 1;
        let id = self.next_conn;
        self.conns.insert(
            id,
            Conn {
                sink,
                session: session.to_string(),
                user: None,
                token: None,
                subs: HashMap::new(),
                presence: HashSet::new(),
            },
        );
        id
    }

    /// Forgets a connection and everything it subscribed to. Idempotent. Returns the user whose
    /// last connection this was.
    pub fn close(&mut self, conn: ConnId) -> Option<String> {
        let c = self.conns.get(&conn)?;
        let ids: Vec<String> = c.subs.keys().cloned().collect();
        for id in ids {
            self.remove_sub(conn, &id);
        }
        let last = self.detach_user(conn);
        self.conns.remove(&conn);
        last
    }

    /// Makes `user` the connection's user. Returns true when the user's memberships must be
    /// loaded (`user_loaded`) before its room subscriptions can be decided.
    pub fn attach_user(&mut self, conn: ConnId, user: &User, token: Option<&str>) -> bool {
        if !self.conns.contains_key(&conn) {
            return false;
        }
        self.detach_user(conn);
        let state = self
            .users
            .entry(user.id.clone())
            .or_insert_with(|| UserState {
                username: user.username_or_id().to_string(),
                roles: user.roles.clone(),
                conns: HashSet::new(),
                rooms: HashMap::new(),
                pending: Some(Vec::new()),
            });
        state.roles = user.roles.clone();
        state.conns.insert(conn);
        let pending = state.pending.is_some();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.user = Some(user.id.clone());
            c.token = token.map(str::to_string);
        }
        pending
    }

    /// Installs the loaded memberships of a user, then replays what changed during the load.
    /// Later loads of an already loaded user are ignored: events keep it current.
    pub fn user_loaded(&mut self, uid: &str, subs: Vec<Subscription>) {
        let Some(state) = self.users.get_mut(uid) else {
            return;
        };
        let Some(log) = state.pending.take() else {
            return;
        };
        // A participant whose access is `None` (TalkJS-style revocation) reads nothing live.
        state.rooms = subs
            .into_iter()
            .filter(|s| s.access != crate::model::Access::None)
            .map(|s| {
                (
                    s.rid,
                    Membership {
                        sub_id: s.id,
                        t: s.t,
                    },
                )
            })
            .collect();
        for change in log {
            match change {
                Replay::Added(rid, m) => {
                    state.rooms.insert(rid, m);
                }
                Replay::Removed(rid) => {
                    state.rooms.remove(&rid);
                }
            }
        }
        for rid in state.rooms.keys() {
            self.members_online
                .entry(rid.clone())
                .or_default()
                .insert(uid.to_string());
        }
    }

    /// Takes the user off the connection (logout, close); drops the user's state with its last
    /// connection, and then returns the user's id.
    pub fn detach_user(&mut self, conn: ConnId) -> Option<String> {
        let uid = self.conns.get_mut(&conn).and_then(|c| {
            c.token = None;
            c.user.take()
        })?;
        let state = self.users.get_mut(&uid)?;
        state.conns.remove(&conn);
        if !state.conns.is_empty() {
            return None;
        }
        if let Some(state) = self.users.remove(&uid) {
            for rid in state.rooms.keys() {
                if let Some(set) = self.members_online.get_mut(rid) {
                    set.remove(&uid);
                    if set.is_empty() {
                        self.members_online.remove(rid);
                    }
                }
            }
        }
        Some(uid)
    }

    /// Registers interest in a room before its facts are loaded. Returns true when they are
    /// known already (no load needed).
    pub fn hold_room(&mut self, rid: &str) -> bool {
        let entry = self
            .rooms
            .entry(rid.to_string())
            .or_insert_with(|| RoomEntry {
                meta: Meta::Pending,
                refs: 0,
                live: HashMap::new(),
                last_talk: 0,
                replayed: HashMap::new(),
            });
        entry.refs += 1;
        !matches!(entry.meta, Meta::Pending)
    }

    /// The loaded facts of a held room, unless an event got there first.
    pub fn learn_room(&mut self, rid: &str, room: Option<RoomBrief>) {
        if let Some(entry) = self.rooms.get_mut(rid) {
            if matches!(entry.meta, Meta::Pending) {
                entry.meta = room.map(Meta::Known).unwrap_or(Meta::Gone);
            }
        }
    }

    pub fn release_room(&mut self, rid: &str) {
        let Some(entry) = self.rooms.get_mut(rid) else {
            return;
        };
        entry.refs = entry.refs.saturating_sub(1);
        if entry.refs == 0 && entry.live.values().all(HashMap::is_empty) {
            self.rooms.remove(rid);
        }
    }

    /// Adds a subscription and decides it. A room topic takes over the caller's hold on the room.
    pub fn register(&mut self, conn: ConnId, sub_id: &str, topic: Topic, p: &Policy) -> Verdict {
        let room = topic.room_id().map(str::to_string);
        let Some(c) = self.conns.get(&conn) else {
            if let Some(rid) = room {
                self.release_room(&rid);
            }
            return Verdict::Denied;
        };
        if c.subs.contains_key(sub_id) {
            if let Some(rid) = room {
                self.release_room(&rid);
            }
            return Verdict::Duplicate;
        }
        if c.subs.len() >= MAX_SUBSCRIPTIONS {
            if let Some(rid) = room {
                self.release_room(&rid);
            }
            return Verdict::Denied;
        }
        let v = verdict(&self.users, &self.rooms, c.user.as_deref(), &topic, p);
        if v == Verdict::Denied {
            if let Some(rid) = room {
                self.release_room(&rid);
            }
            return v;
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.subs.insert(
                sub_id.to_string(),
                Sub {
                    topic: topic.clone(),
                    live: false,
                },
            );
        }
        if v == Verdict::Live {
            self.activate(conn, sub_id);
        }
        v
    }

    /// Puts a subscription into the indexes.
    fn activate(&mut self, conn: ConnId, sub_id: &str) {
        let Some(sub) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.subs.get_mut(sub_id))
        else {
            return;
        };
        if sub.live {
            return;
        }
        sub.live = true;
        if let Some((rid, stream)) = sub.topic.room_stream() {
            if let Some(entry) = self.rooms.get_mut(rid) {
                bump(entry.live.entry(stream).or_default(), conn);
            }
        }
        match &sub.topic {
            Topic::AllMessages => bump(&mut self.all_messages, conn),
            Topic::UserStatus => bump(&mut self.user_status, conn),
            Topic::Presence => bump(&mut self.presence, conn),
            Topic::Inbox => bump(&mut self.inbox, conn),
            _ => {}
        }
    }

    /// Takes a subscription out of the indexes (it stays, dormant).
    fn deactivate(&mut self, conn: ConnId, sub_id: &str) {
        let Some(sub) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.subs.get_mut(sub_id))
        else {
            return;
        };
        if !sub.live {
            return;
        }
        sub.live = false;
        if let Some((rid, stream)) = sub.topic.room_stream() {
            if let Some(map) = self
                .rooms
                .get_mut(rid)
                .and_then(|e| e.live.get_mut(&stream))
            {
                unbump(map, conn);
            }
        }
        match &sub.topic {
            Topic::AllMessages => unbump(&mut self.all_messages, conn),
            Topic::UserStatus => unbump(&mut self.user_status, conn),
            Topic::Presence => unbump(&mut self.presence, conn),
            Topic::Inbox => unbump(&mut self.inbox, conn),
            _ => {}
        }
    }

    /// Removes a subscription entirely. Returns whether it existed.
    pub fn remove_sub(&mut self, conn: ConnId, sub_id: &str) -> bool {
        self.deactivate(conn, sub_id);
        let Some(sub) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.subs.remove(sub_id))
        else {
            return false;
        };
        if let Some(rid) = sub.topic.room_id() {
            self.release_room(rid);
        }
        true
    }

    /// Decides again every subscription of `conn` that `filter` selects: dormant ones allowed
    /// now go live, live ones needing a login go dormant, refused ones end with a notice.
    /// `deny_dormant` turns "needs a login" into a refusal (the account was deactivated).
    /// Returns the connection if its queue overflowed.
    pub fn reevaluate(
        &mut self,
        conn: ConnId,
        p: &Policy,
        deny_dormant: bool,
        reason: EndReason,
        filter: &dyn Fn(&Topic) -> bool,
    ) -> Option<ConnId> {
        let c = self.conns.get(&conn)?;
        let user = c.user.clone();
        let decided: Vec<(String, bool, Verdict)> = c
            .subs
            .iter()
            .filter(|(_, s)| filter(&s.topic))
            .map(|(id, s)| {
                let v = verdict(&self.users, &self.rooms, user.as_deref(), &s.topic, p);
                (id.clone(), s.live, v)
            })
            .collect();
        let mut overflow = false;
        for (id, live, v) in decided {
            match v {
                Verdict::Live if !live => self.activate(conn, &id),
                Verdict::Dormant if !deny_dormant => self.deactivate(conn, &id),
                Verdict::Denied | Verdict::Dormant => {
                    self.remove_sub(conn, &id);
                    let ended = Delivery::new(Notice::Ended { sub_id: id, reason });
                    if let Some(c) = self.conns.get(&conn) {
                        overflow |= !c.sink.offer(ended);
                    }
                }
                _ => {}
            }
        }
        overflow.then_some(conn)
    }

    /// Users looking at room `rid` now: a live room message stream (DDP) or a participant's
    /// conversation subscription (native socket). Guests are not members, so not counted.
    pub fn live_viewers(&self, rid: &str) -> HashSet<String> {
        let Some(entry) = self.rooms.get(rid) else {
            return HashSet::new();
        };
        [RoomStream::Messages, RoomStream::Talk]
            .iter()
            .filter_map(|s| entry.live.get(s))
            .flat_map(|conns| conns.keys())
            .filter_map(|c| self.conns.get(c)?.user.clone())
            .collect()
    }

    pub fn all_live_viewers(&self) -> HashSet<(String, String)> {
        let mut out = HashSet::new();
        for (rid, entry) in &self.rooms {
            let conns = [RoomStream::Messages, RoomStream::Talk]
                .iter()
                .filter_map(|s| entry.live.get(s))
                .flat_map(|conns| conns.keys());
            for c in conns {
                if let Some(uid) = self.conns.get(c).and_then(|c| c.user.clone()) {
                    out.insert((rid.clone(), uid));
                }
            }
        }
        out
    }

    /// Connections with a live subscription on any stream of `rid`.
    pub fn room_subscribers(&self, rid: &str) -> Vec<ConnId> {
        let Some(entry) = self.rooms.get(rid) else {
            return vec![];
        };
        let mut set: HashSet<ConnId> = HashSet::new();
        for map in entry.live.values() {
            set.extend(map.keys());
        }
        set.into_iter().collect()
    }

    /// Decides again the live subscriptions of `conns` on room `rid`.
    pub fn recheck_room(
        &mut self,
        rid: &str,
        conns: &[ConnId],
        p: &Policy,
        reason: EndReason,
    ) -> Vec<ConnId> {
        let filter = |t: &Topic| t.room_id() == Some(rid);
        conns
            .iter()
            .filter_map(|c| self.reevaluate(*c, p, false, reason, &filter))
            .collect()
    }
}
