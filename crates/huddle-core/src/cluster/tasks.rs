//! The node's background work in a cluster: reading the bus, beating its heartbeat row (and
//! learning who else is live), dropping subscriptions nobody here needs any more, and fencing
//! itself off when it loses the bus.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::hub::{ClusterHub, Source};
use super::order::Change;
use super::wire::{self, Wire};
use super::{subject, Inbound, Interest};
use crate::realtime::Router;

/// How long a followed room or user is kept without a local need before it is dropped (covers
/// a subscription that is being set up: it follows first, registers after).
const GRACE: Duration = Duration::from_secs(5);
const RECONCILE_EVERY: Duration = Duration::from_secs(2);
/// Subscriptions changed this long before the bus was lost are sent again too: the writer's
/// clock (it stamped them) may run ahead of this node's.
const RESYNC_MARGIN_MS: i64 = 2_000;

/// The running tasks; dropping this stops them (`stop` also removes the heartbeat row).
pub struct ClusterTasks {
    hub: Arc<ClusterHub>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl ClusterTasks {
    /// Stops the tasks and removes this node's row, so the others stop waiting for it at once.
    pub async fn stop(mut self) {
        for h in self.handles.drain(..) {
            h.abort();
        }
        if let Some(cs) = self.hub.store.cluster() {
            if let Err(e) = cs.forget_node(&self.hub.opts.node_id).await {
                tracing::warn!(error = %e, "removing this node's heartbeat row failed");
            }
        }
    }
}

impl Drop for ClusterTasks {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

impl ClusterHub {
    /// Wires the hub to the router (interest) and starts the tasks. Call once, after the
    /// router is attached; fails when the bus's inbound feed was taken already.
    pub async fn start(self: &Arc<Self>, router: &Arc<Router>) -> crate::Result<ClusterTasks> {
        let _ = self.router.set(Arc::downgrade(router));
        router.set_interest(&(self.clone() as Arc<dyn Interest>));
        let inbound = self
            .bus
            .inbound()
            .ok_or_else(|| crate::Error::Internal("the bus's feed was taken already".into()))?;
        self.bus.subscribe(subject::GLOBAL).await?;
        self.bus
            .subscribe(&subject::control(&self.opts.node_id))
            .await?;
        self.beat().await;
        tracing::info!(node = %self.opts.node_id, "cluster node started");
        let handles = vec![
            tokio::spawn(self.clone().read_bus(inbound)),
            tokio::spawn(self.clone().heartbeat_loop()),
            tokio::spawn(self.clone().reconcile_loop()),
        ];
        Ok(ClusterTasks {
            hub: self.clone(),
            handles,
        })
    }

    async fn read_bus(self: Arc<Self>, mut inbound: tokio::sync::mpsc::UnboundedReceiver<Inbound>) {
        let mut fence: Option<tokio::task::JoinHandle<()>> = None;
        // When the bus was lost, for the users' resynchronisation once it is back.
        let mut lost_at: Option<crate::Timestamp> = None;
        while let Some(msg) = inbound.recv().await {
            match msg {
                Inbound::Message {
                    subject,
                    payload,
                    reply,
                } => self.on_message(&subject, &payload, reply),
                Inbound::Disconnected => {
                    tracing::warn!(node = %self.opts.node_id, "lost the bus");
                    lost_at.get_or_insert_with(crate::Timestamp::now);
                    if fence.as_ref().is_none_or(|f| f.is_finished()) {
                        fence = Some(tokio::spawn(self.clone().fence()));
                    }
                }
                Inbound::Reconnected => {
                    if let Some(f) = fence.take() {
                        f.abort();
                    }
                    tracing::info!(node = %self.opts.node_id, "bus reconnected: catching up");
                    let rooms = self.followed_rooms();
                    let me = self.clone();
                    let since = lost_at
                        .take()
                        .map(|t| crate::Timestamp(t.0 - RESYNC_MARGIN_MS));
                    tokio::spawn(async move {
                        for rid in rooms {
                            me.catch_up(&rid).await;
                        }
                        if let Some(since) = since {
                            me.resync_users(since).await;
                        }
                    });
                }
            }
        }
    }

    /// Closes this node's sockets if the bus stays away `fence_after`: while cut off it cannot
    /// hear revocations from the others, and its clients are better served elsewhere.
    async fn fence(self: Arc<Self>) {
        tokio::time::sleep(self.opts.fence_after).await;
        if self.bus.connected() {
            return;
        }
        if let Some(router) = self.router() {
            let n = router.close_all(super::FENCED_CLOSE_CODE, "cut off from the cluster");
            self.stats.fenced.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                node = %self.opts.node_id,
                sockets = n,
                "cut off from the bus: closed this node's sockets"
            );
        }
    }

    fn on_message(&self, subject: &str, payload: &[u8], reply: Option<String>) {
        let w = match wire::decode(payload) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(subject, error = %e, "dropping a bus message");
                return;
            }
        };
        match w {
            Wire::Room {
                node,
                seq,
                room,
                items,
            } => {
                if node == self.opts.node_id {
                    return;
                }
                self.stats.room_messages.fetch_add(1, Ordering::Relaxed);
                let source = if subject.starts_with("huddle.u.") {
                    Source::User
                } else {
                    Source::Room
                };
                self.offer(
                    Change {
                        seq,
                        room: *room,
                        items,
                    },
                    source,
                );
            }
            Wire::Event { node, event } => {
                if node != self.opts.node_id {
                    self.apply_remote(event);
                }
            }
            request @ (Wire::AckRoom { .. } | Wire::AckEvent { .. } | Wire::AckRefresh) => {
                if let Some(reply) = reply {
                    self.acknowledge(request, reply);
                }
            }
        }
    }

    async fn beat(&self) {
        let Some(cs) = self.store.cluster() else {
            return;
        };
        let started = crate::Timestamp::now().0;
        if let Err(e) = cs.heartbeat(&self.opts.node_id, started).await {
            tracing::warn!(error = %e, "heartbeat failed");
        }
        let window = self.opts.live_window.as_millis() as i64;
        match cs.live_nodes(window).await {
            Ok(nodes) => {
                let peers = nodes
                    .into_iter()
                    .map(|n| n.node_id)
                    .filter(|n| *n != self.opts.node_id)
                    .collect();
                if let Ok(mut p) = self.peers.write() {
                    *p = peers;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading live nodes failed"),
        }
        // Users whose only node stopped beating go offline (whoever sees it first).
        match cs.reap_presence(window).await {
            Ok(uids) if !uids.is_empty() => {
                if let Some(h) = self.huddle() {
                    for uid in uids {
                        if let Err(e) = h.went_offline(&uid).await {
                            tracing::warn!(uid, error = %e, "setting a user offline failed");
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "reaping presence failed"),
        }
        // Rows of nodes long gone (killed, never stopped cleanly) are removed by whoever sees
        // them first.
        if let Err(e) = cs.forget_nodes(window * 20).await {
            tracing::debug!(error = %e, "removing stale nodes failed");
        }
    }

    async fn heartbeat_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.opts.heartbeat);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.beat().await;
            self.check_rooms().await;
            self.sync_viewers().await;
        }
    }

    /// Drops the rooms and users no connection here needs any more.
    async fn reconcile_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        loop {
            tick.tick().await;
            let Some(router) = self.router() else { return };
            let (rooms_needed, users_needed) = router.interest();
            let now = Instant::now();
            let drop_rooms: Vec<String> = {
                let mut rooms = self.rooms();
                let gone: Vec<String> = rooms
                    .iter()
                    .filter(|(rid, o)| {
                        !rooms_needed.contains(*rid) && now.duration_since(o.since) > GRACE
                    })
                    .map(|(rid, _)| rid.clone())
                    .collect();
                for rid in &gone {
                    rooms.remove(rid);
                }
                gone
            };
            let drop_users: Vec<String> = {
                let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
                let gone: Vec<String> = users
                    .iter()
                    .filter(|(uid, since)| {
                        !users_needed.contains(*uid) && now.duration_since(**since) > GRACE
                    })
                    .map(|(uid, _)| uid.clone())
                    .collect();
                for uid in &gone {
                    users.remove(uid);
                }
                gone
            };
            for rid in drop_rooms {
                let _ = self.bus.unsubscribe(&subject::room(&rid)).await;
                // Followed again meanwhile: the unsubscription above must not win.
                if self.rooms().contains_key(&rid) {
                    let _ = self.bus.subscribe(&subject::room(&rid)).await;
                    self.catch_up(&rid).await;
                }
            }
            for uid in drop_users {
                let _ = self.bus.unsubscribe(&subject::user(&uid)).await;
            }
        }
    }
}
