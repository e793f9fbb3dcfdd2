//! The node's event hub in a cluster. Local events go to the local sinks (the router) and out on
//! the bus; other nodes' events come in through `inbound` and reach the same sinks. Room events,
//! local or not, pass through one [`RoomOrder`] per followed room, so every node applies a room's
//! events in `seq` order, and anything missing is read from `room_events`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::order::{Change, RoomOrder};
use super::wire::{self, Route, Wire, WireEvent};
use super::{subject, Bus, ClusterOptions, Interest};
use crate::events::{publish_written, Event, EventHub, EventSink, LocalHub, Settle};
use crate::model::{Access, Room, RoomType};
use crate::realtime::Router;
use crate::store::{RoomEventItem, RoomWritten, Store};
use crate::Huddle;

/// Counters for operators and tests.
#[derive(Debug, Default)]
pub struct ClusterStats {
    /// Room events that arrived on the bus (for any room).
    pub room_messages: AtomicU64,
    /// Room events read from the database to fill a gap or catch up.
    pub filled: AtomicU64,
    /// Revocation acknowledgements that did not come in time.
    pub ack_timeouts: AtomicU64,
    /// Times this node closed its sockets after losing the bus.
    pub fenced: AtomicU64,
}

/// The longest a writer waits for its own change to be applied here in seq order.
const LOCAL_APPLY_WAIT: Duration = Duration::from_secs(5);

/// Where a room event came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// This node's write.
    Local,
    /// The room's subject.
    Room,
    /// A member's subject (their membership changed).
    User,
    /// The database.
    Log,
}

pub struct ClusterHub {
    pub(crate) opts: ClusterOptions,
    local: LocalHub,
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) rooms: Mutex<HashMap<String, RoomOrder>>,
    /// Users whose subject this node listens to, with when it began.
    pub(crate) users: Mutex<HashMap<String, std::time::Instant>>,
    pub(crate) router: OnceLock<Weak<Router>>,
    /// The other live nodes (refreshed by the heartbeat).
    pub(crate) peers: RwLock<Vec<String>>,
    pub(crate) me: Weak<ClusterHub>,
    /// The services on this hub (`bind`): re-reading shared state, presence.
    pub(crate) huddle: OnceLock<Weak<Huddle>>,
    /// The live views this node last wrote to `cluster_viewers`.
    pub(crate) viewers: tokio::sync::Mutex<HashSet<(String, String)>>,
    pub stats: ClusterStats,
}

impl ClusterHub {
    pub fn new(opts: ClusterOptions, bus: Arc<dyn Bus>, store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new_cyclic(|me| ClusterHub {
            opts,
            local: LocalHub::default(),
            bus,
            store,
            rooms: Mutex::new(HashMap::new()),
            users: Mutex::new(HashMap::new()),
            router: OnceLock::new(),
            peers: RwLock::new(Vec::new()),
            me: me.clone(),
            huddle: OnceLock::new(),
            viewers: tokio::sync::Mutex::new(HashSet::new()),
            stats: ClusterStats::default(),
        })
    }

    /// The services built on this hub: what a node runs when another changed keys, settings
    /// or permissions, or when a dead node's users go offline.
    pub fn bind(&self, huddle: &Arc<Huddle>) {
        let _ = self.huddle.set(Arc::downgrade(huddle));
    }

    pub(crate) fn huddle(&self) -> Option<Arc<Huddle>> {
        self.huddle.get().and_then(|h| h.upgrade())
    }

    pub fn id(&self) -> &str {
        &self.opts.node_id
    }

    /// The rooms this node follows now.
    pub fn followed_rooms(&self) -> Vec<String> {
        self.rooms().keys().cloned().collect()
    }

    /// The last number of room `rid` applied here, if this node follows it.
    pub fn applied(&self, rid: &str) -> Option<i64> {
        self.rooms().get(rid).and_then(|o| o.applied)
    }

    /// Whether this node's bus connection is up.
    pub fn bus_connected(&self) -> bool {
        self.bus.connected()
    }

    /// The other nodes this one last saw live.
    pub fn peers(&self) -> Vec<String> {
        self.peers.read().map(|p| p.clone()).unwrap_or_default()
    }

    pub(crate) fn rooms(&self) -> MutexGuard<'_, HashMap<String, RoomOrder>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn router(&self) -> Option<Arc<Router>> {
        self.router.get().and_then(|r| r.upgrade())
    }

    fn apply(&self, c: &Change, remote: bool) {
        if remote {
            if let Some(cs) = self.store.cluster() {
                cs.forget_cached_room(&c.room.id);
            }
        }
        let written = RoomWritten {
            seq: Some(c.seq),
            items: c.items.clone(),
            counters: None,
        };
        publish_written(&self.local, &c.room, &written);
    }

    /// Takes one room event, whatever its source, and applies what it releases in order.
    pub(crate) fn offer(&self, c: Change, source: Source) {
        let rid = c.room.id.clone();
        let c = Arc::new(c);
        let remote = source != Source::Local;
        let mut rooms = self.rooms();
        if let Some(o) = rooms.get_mut(&rid) {
            for ready in o.offer(c) {
                self.apply(&ready, remote);
            }
            self.fill_if_needed(&rid, o);
            return;
        }
        match source {
            // Not followed: nobody here listens to the room's subject, and what the router
            // may want of it (a member's own notices) came by their user subject.
            Source::Room | Source::Log => {}
            Source::Local | Source::User => {
                self.apply(&c, remote);
                // Applying may have given a connection here an interest (a member added who is
                // online here): follow the room from this number on.
                let wants = self.router().is_some_and(|r| r.wants_room(&rid));
                if wants {
                    rooms.insert(rid.clone(), RoomOrder::new(Some(c.seq)));
                    drop(rooms);
                    self.spawn_follow(rid);
                }
            }
        }
    }

    fn fill_if_needed(&self, rid: &str, o: &mut RoomOrder) {
        if o.gap().is_some() && !o.filling {
            o.filling = true;
            if let Some(me) = self.me.upgrade() {
                let rid = rid.to_string();
                tokio::spawn(async move { me.fill(&rid).await });
            }
        }
    }

    /// Reads the missing numbers from the database until the room has no gap.
    async fn fill(&self, rid: &str) {
        let mut empty_reads = 0u32;
        loop {
            let gap = {
                let mut rooms = self.rooms();
                let Some(o) = rooms.get_mut(rid) else { return };
                match o.gap() {
                    Some(g) => g,
                    None => {
                        o.filling = false;
                        return;
                    }
                }
            };
            let (after, up_to) = gap;
            let read = self.read_log(rid, after, up_to - after).await;
            match read {
                Ok(0) => {
                    // A number this node was told of is committed, so its predecessors are
                    // too; an empty read is a lagging replica or a failing database: retry.
                    empty_reads += 1;
                    if empty_reads.is_multiple_of(50) {
                        tracing::warn!(rid, after, up_to, "room events still missing");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(_) => empty_reads = 0,
                Err(e) => {
                    tracing::warn!(rid, error = %e, "reading room events failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// Offers the room's logged events after `after` (at most `limit`); how many were read.
    async fn read_log(&self, rid: &str, after: i64, limit: i64) -> crate::Result<usize> {
        let events = self.store.room_events(rid, after, limit.min(500)).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let room = self.room_for(rid).await;
        let n = events.len();
        self.stats.filled.fetch_add(n as u64, Ordering::Relaxed);
        for e in events {
            self.offer(
                Change {
                    seq: e.seq,
                    room: room.clone(),
                    items: e.items,
                },
                Source::Log,
            );
        }
        Ok(n)
    }

    /// The room as it is now, for events read from the log (a deleted room: its id alone).
    async fn room_for(&self, rid: &str) -> Room {
        match self.store.room_by_id(rid).await {
            Ok(Some(r)) => r,
            _ => Room::new(rid.to_string(), RoomType::Group, None, None),
        }
    }

    /// Everything logged after what this room applied (after a reconnect, or once a new
    /// subscription is in place).
    pub(crate) async fn catch_up(&self, rid: &str) {
        loop {
            let after = match self.rooms().get(rid).and_then(|o| o.applied) {
                Some(a) => a,
                None => return,
            };
            match self.read_log(rid, after, 500).await {
                Ok(n) if n < 500 => return,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(rid, error = %e, "catching up a room failed");
                    return;
                }
            }
        }
    }

    /// Subscribes to a room this node began to follow at a known number, then reads what it
    /// may have missed before the subscription was in place.
    fn spawn_follow(&self, rid: String) {
        if let Some(me) = self.me.upgrade() {
            tokio::spawn(async move {
                if let Err(e) = me.bus.subscribe(&subject::room(&rid)).await {
                    tracing::warn!(rid, error = %e, "subscribing to a room failed");
                }
                me.catch_up(&rid).await;
            });
        }
    }

    /// Compares every followed room with the database and fills what the bus did not bring
    /// (a message lost in a NATS outage, or never sent by a node that died after its commit).
    pub(crate) async fn check_rooms(&self) {
        let Some(cs) = self.store.cluster() else {
            return;
        };
        let rids = self.followed_rooms();
        for chunk in rids.chunks(1000) {
            let seqs = match cs.room_seqs(chunk).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(error = %e, "checking followed rooms failed");
                    return;
                }
            };
            let mut rooms = self.rooms();
            for (rid, seq) in seqs {
                if let Some(o) = rooms.get_mut(&rid) {
                    if o.applied.is_some_and(|a| a < seq) {
                        o.want(seq);
                        self.fill_if_needed(&rid, o);
                    }
                }
            }
        }
    }

    /// Writes the changes of this node's live views since the last call, so a post on another
    /// node notifies nobody looking at the conversation here (read by `Huddle::notify_facts`).
    pub(crate) async fn sync_viewers(&self) {
        let (Some(cs), Some(router)) = (self.store.cluster(), self.router()) else {
            return;
        };
        let now = router.all_live_viewers();
        let mut written = self.viewers.lock().await;
        let began: Vec<(String, String)> = now.difference(&written).cloned().collect();
        let ended: Vec<(String, String)> = written.difference(&now).cloned().collect();
        match cs.viewers_changed(self.id(), &began, &ended).await {
            Ok(()) => *written = now,
            // Written again whole-diff at the next beat.
            Err(e) => tracing::debug!(error = %e, "writing live views failed"),
        }
    }

    /// Waits for every live peer to acknowledge `request` (each at most `ack_timeout`).
    async fn acks(&self, request: Wire) {
        let peers = self.peers();
        if peers.is_empty() {
            return;
        }
        let payload = wire::encode(&request);
        let asks = peers.iter().map(|peer| {
            let subject = subject::control(peer);
            let payload = payload.clone();
            async move {
                let r = self
                    .bus
                    .request(&subject, payload, self.opts.ack_timeout)
                    .await;
                (peer, r)
            }
        });
        for (peer, r) in futures::future::join_all(asks).await {
            if let Err(e) = r {
                self.stats.ack_timeouts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer, error = %e, "a node did not acknowledge a revocation");
            }
        }
    }

    /// Routes an event to this node's sinks only (it is already known elsewhere).
    pub(crate) fn local_publish(&self, event: Event) {
        self.local.publish(event);
    }

    /// Applies an event from another node.
    pub(crate) fn apply_remote(&self, event: WireEvent) {
        let event = event.into_event();
        if let Some(cs) = self.store.cluster() {
            match &event {
                Event::SessionRevoked {
                    token_hash: Some(t),
                    ..
                } => cs.forget_cached_token(t),
                Event::SessionRevoked { uid, .. }
                | Event::UserUpdated(crate::User { id: uid, .. }) => cs.forget_cached_user(uid),
                _ => {}
            }
        }
        self.local.publish(event);
    }

    /// A request for an acknowledgement; `reply` gets an empty answer once it holds.
    pub(crate) fn acknowledge(&self, request: Wire, reply: String) {
        let waiting = match request {
            Wire::AckRoom { rid, seq } => {
                let mut rooms = self.rooms();
                match rooms.get_mut(&rid) {
                    None => None,
                    Some(o) => {
                        let w = o.wait(seq);
                        self.fill_if_needed(&rid, o);
                        w
                    }
                }
            }
            Wire::AckEvent { event } => {
                self.apply_remote(event);
                None
            }
            Wire::AckRefresh => {
                // Answered once keys, settings and permissions were re-read here.
                let huddle = self.huddle();
                let bus = self.bus.clone();
                tokio::spawn(async move {
                    if let Some(h) = huddle {
                        if let Err(e) = h.refresh().await {
                            tracing::warn!(error = %e, "re-reading shared state failed");
                        }
                    }
                    bus.publish(reply, vec![]);
                });
                return;
            }
            _ => None,
        };
        let bus = self.bus.clone();
        match waiting {
            None => bus.publish(reply, vec![]),
            Some(rx) => {
                let timeout = self.opts.ack_timeout * 4;
                tokio::spawn(async move {
                    if tokio::time::timeout(timeout, rx).await.is_ok() {
                        bus.publish(reply, vec![]);
                    }
                });
            }
        }
    }
}

/// Changes that take access away: their writer waits for every node's acknowledgement.
fn revokes(item: &RoomEventItem) -> bool {
    match item {
        RoomEventItem::MemberRemoved { .. }
        | RoomEventItem::RoomDeleted
        | RoomEventItem::GuestAccessChanged { allowed: false } => true,
        RoomEventItem::MemberUpdated { subscription } => subscription.access == Access::None,
        _ => false,
    }
}

impl EventHub for ClusterHub {
    fn publish(&self, event: Event) {
        if let Some((route, w)) = wire::route(&event) {
            let subject = match route {
                Route::Room(rid) => subject::room(&rid),
                Route::User(uid) => subject::user(&uid),
                Route::Global => subject::GLOBAL.to_string(),
            };
            let msg = Wire::Event {
                node: self.opts.node_id.clone(),
                event: w,
            };
            self.bus.publish(subject, wire::encode(&msg));
        }
        self.local.publish(event);
    }

    fn publish_room(&self, room: &Room, written: &RoomWritten) {
        let Some(seq) = written.seq else { return };
        let msg = wire::encode(&Wire::Room {
            node: self.opts.node_id.clone(),
            seq,
            room: Box::new(room.clone()),
            items: written.items.clone(),
        });
        // Members whose membership changed hear it on their own subject, so a node where they
        // are online learns of a room it did not follow yet.
        for item in &written.items {
            let uid = match item {
                RoomEventItem::MemberAdded { subscription }
                | RoomEventItem::MemberUpdated { subscription } => &subscription.u.id,
                RoomEventItem::MemberRemoved { uid } => uid,
                _ => continue,
            };
            self.bus.publish(subject::user(uid), msg.clone());
        }
        self.bus.publish(subject::room(&room.id), msg);
        self.offer(
            Change {
                seq,
                room: room.clone(),
                items: written.items.clone(),
            },
            Source::Local,
        );
    }

    fn node_id(&self) -> Option<&str> {
        Some(&self.opts.node_id)
    }

    fn settle(&self, rid: &str, written: &RoomWritten) -> Option<Settle> {
        let seq = written.seq?;
        let local = self.rooms().get_mut(rid).and_then(|o| o.wait(seq));
        let revoking = written.items.iter().any(revokes);
        if local.is_none() && !revoking {
            return None;
        }
        let me = self.me.upgrade()?;
        let rid = rid.to_string();
        Some(Box::pin(async move {
            if let Some(local) = local {
                // Bounded: a gap the database cannot fill (it never should) must not hang the
                // writer; the fill goes on in the background and logs.
                if tokio::time::timeout(LOCAL_APPLY_WAIT, local).await.is_err() {
                    tracing::warn!(rid = %rid, seq, "a committed change is not applied here yet");
                }
            }
            if revoking {
                me.acks(Wire::AckRoom { rid, seq }).await;
            }
        }))
    }

    fn settle_event(&self, event: &Event) -> Option<Settle> {
        let revoking = matches!(event, Event::SessionRevoked { .. } | Event::UserUpdated(_));
        if !revoking {
            return None;
        }
        let (_, w) = wire::route(event)?;
        let me = self.me.upgrade()?;
        // The event itself travels with the request, so a node applies it before it answers
        // even if the published copy is still on its way.
        Some(Box::pin(async move {
            me.acks(Wire::AckEvent { event: w }).await
        }))
    }

    fn settle_shared_state(&self) -> Option<Settle> {
        let me = self.me.upgrade()?;
        Some(Box::pin(async move { me.acks(Wire::AckRefresh).await }))
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    fn attach(&self, sink: Arc<dyn EventSink>) {
        self.local.attach(sink);
    }
}

#[async_trait]
impl Interest for ClusterHub {
    async fn follow_room(&self, rid: &str) {
        {
            let mut rooms = self.rooms();
            if rooms.contains_key(rid) {
                return;
            }
            rooms.insert(rid.to_string(), RoomOrder::new(None));
        }
        if let Err(e) = self.bus.subscribe(&subject::room(rid)).await {
            tracing::warn!(rid, error = %e, "subscribing to a room failed");
        }
        // Read after the subscription is in place: every later number arrives or is filled.
        let start = match self.store.cluster() {
            Some(cs) => cs.room_seq(rid).await.unwrap_or(0),
            None => 0,
        };
        let mut rooms = self.rooms();
        if let Some(o) = rooms.get_mut(rid) {
            for ready in o.start_at(start) {
                self.apply(&ready, true);
            }
            self.fill_if_needed(rid, o);
        }
    }

    async fn follow_user(&self, uid: &str, rooms: Vec<String>) {
        let new = {
            let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
            users
                .insert(uid.to_string(), std::time::Instant::now())
                .is_none()
        };
        if new {
            if let Err(e) = self.bus.subscribe(&subject::user(uid)).await {
                tracing::warn!(uid, error = %e, "subscribing to a user failed");
            }
        }
        for rid in rooms {
            self.follow_room(&rid).await;
        }
    }
}
