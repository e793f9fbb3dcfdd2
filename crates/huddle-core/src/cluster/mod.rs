//! Cluster mode: several nodes on one PostgreSQL database, with a message bus (NATS, in the
//! `huddle-cluster` crate) as the doorbell between them. PostgreSQL's `room_events` is the only
//! truth; the bus only says "room R has event S" faster than polling would.
//!
//! - [`ClusterHub`] is the node's [`EventHub`](crate::events::EventHub): local events go to the
//!   local sinks and out on the bus; events from other nodes reach the same sinks. Each room's
//!   events are applied strictly in `seq` order ([`order`]); a gap, a reconnect or a newly
//!   followed room is filled from `room_events`, so no correctness depends on the bus.
//! - Interest routing: a node subscribes only to the rooms and users its connections need (the
//!   router tells it through [`Interest`] before a subscription goes live).
//! - Revocations (a kick, access `None`, guest access off, a room deletion, a logout, a
//!   deactivation) return only once every live node (fresh heartbeat row) acknowledged them, or
//!   the acknowledgement timeout passed.
//!
//! Core knows no NATS: the transport is the [`Bus`] trait.

mod hub;
mod order;
mod resync;
mod tasks;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::Result;

pub use hub::{ClusterHub, ClusterStats};
pub use tasks::ClusterTasks;

/// What the bus hands the node.
#[derive(Debug)]
pub enum Inbound {
    Message {
        subject: String,
        payload: Vec<u8>,
        /// Where to answer a request.
        reply: Option<String>,
    },
    /// The connection to the bus is up again after an outage: what was published meanwhile
    /// may be lost, so every followed room is caught up from the database.
    Reconnected,
    Disconnected,
}

/// The transport between nodes (core NATS in `huddle-cluster`). At-most-once: a message may be
/// lost without an error, which the database catch-up covers.
#[async_trait]
pub trait Bus: Send + Sync {
    /// Sends without waiting; messages of one caller leave in call order.
    fn publish(&self, subject: String, payload: Vec<u8>);
    /// Starts delivering `subject` to the inbound feed; returns once the server has the
    /// subscription, so anything published afterwards arrives.
    async fn subscribe(&self, subject: &str) -> Result<()>;
    async fn unsubscribe(&self, subject: &str) -> Result<()>;
    /// A request answered by one subscriber, or an error after `timeout`.
    async fn request(&self, subject: &str, payload: Vec<u8>, timeout: Duration) -> Result<Vec<u8>>;
    /// The inbound feed: messages of every subscription and connection changes. Taken once.
    fn inbound(&self) -> Option<mpsc::UnboundedReceiver<Inbound>>;
    /// Whether the connection is up now.
    fn connected(&self) -> bool;
}

/// Told by the realtime router which rooms and users this node's connections need, before a
/// subscription or login goes live, so that nothing published after it is missed.
#[async_trait]
pub trait Interest: Send + Sync {
    async fn follow_room(&self, rid: &str);
    /// A user logged in here; `rooms` are their memberships (their room events reach
    /// `__my_messages__` and the inbox).
    async fn follow_user(&self, uid: &str, rooms: Vec<String>);
}

/// How a node takes part in a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Random per start (`new_node_id`).
    pub node_id: String,
    pub heartbeat: Duration,
    /// A node is live while its last beat is at most this old.
    pub live_window: Duration,
    /// The longest a revocation waits for one node's acknowledgement.
    pub ack_timeout: Duration,
    /// A node cut off from the bus this long closes its sockets with [`FENCED_CLOSE_CODE`],
    /// so their clients reconnect to a node that hears the others.
    pub fence_after: Duration,
}

/// The WebSocket close code of the connections a node ends because it lost the bus.
pub const FENCED_CLOSE_CODE: u16 = 4010;

impl ClusterOptions {
    pub fn new(node_id: String) -> Self {
        ClusterOptions {
            node_id,
            heartbeat: Duration::from_secs(1),
            live_window: Duration::from_secs(3),
            ack_timeout: Duration::from_millis(200),
            fence_after: Duration::from_secs(3),
        }
    }
}

/// A node id: random, short, readable in logs.
pub fn new_node_id() -> String {
    format!("n{}", &crate::ids::new_id()[..10].to_lowercase())
}

/// Subjects. Ids are used as one subject token when they are plain; anything else (TalkJS ids
/// may hold dots, spaces or `*`) is hex-encoded behind `_x`.
pub(crate) mod subject {
    pub const GLOBAL: &str = "huddle.g";

    fn token(id: &str) -> String {
        let plain = !id.is_empty()
            && !id.starts_with('_')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if plain {
            id.to_string()
        } else {
            format!("_x{}", hex::encode(id.as_bytes()))
        }
    }

    pub fn room(rid: &str) -> String {
        format!("huddle.r.{}", token(rid))
    }

    pub fn user(uid: &str) -> String {
        format!("huddle.u.{}", token(uid))
    }

    pub fn control(node: &str) -> String {
        format!("huddle.ctl.{}", token(node))
    }
}

#[cfg(test)]
mod tests {
    use super::subject;

    #[test]
    fn subjects_are_one_token_whatever_the_id() {
        assert_eq!(subject::room("GENERAL"), "huddle.r.GENERAL");
        for odd in ["a.b", "a b", "*", ">", "_x41", ""] {
            let s = subject::room(odd);
            let token = s.trim_start_matches("huddle.r.");
            assert!(token.starts_with("_x"), "{odd} -> {s}");
            assert!(!token.contains(['.', ' ', '*', '>']), "{odd} -> {s}");
        }
        assert_ne!(subject::room("_x41"), subject::room("A"));
    }
}
