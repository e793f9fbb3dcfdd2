//! What a node of a cluster needs from the shared database besides the room log: its heartbeat
//! row (the live nodes are those with a fresh one), a room's latest `seq` (where a node starts
//! following a room), and dropping cached rows another node changed.

use async_trait::async_trait;

use crate::Result;

/// A node's heartbeat row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBeat {
    pub node_id: String,
    pub started_at: i64,
    /// Epoch milliseconds of the last beat.
    pub beat_at: i64,
}

#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Writes (or refreshes) this node's heartbeat row with the database's clock, so nodes
    /// with skewed clocks agree on freshness.
    async fn heartbeat(&self, node_id: &str, started_at: i64) -> Result<()>;
    /// Nodes whose last beat is at most `fresh_ms` old, by the database's clock.
    async fn live_nodes(&self, fresh_ms: i64) -> Result<Vec<NodeBeat>>;
    /// Removes nodes whose last beat is older than `stale_ms` (and this node's row when it
    /// stops): returns the ids removed.
    async fn forget_nodes(&self, stale_ms: i64) -> Result<Vec<String>>;
    async fn forget_node(&self, node_id: &str) -> Result<()>;
    /// The room's latest event number (0 when it has none or does not exist).
    async fn room_seq(&self, rid: &str) -> Result<i64>;
    /// The latest event number of each of these rooms that exists (one query: a node checks
    /// every room it follows on each heartbeat, so a lost bus message is found without help).
    async fn room_seqs(&self, rids: &[String]) -> Result<Vec<(String, i64)>>;
    /// `uid` has a realtime connection on `node_id` now.
    async fn presence_join(&self, node_id: &str, uid: &str) -> Result<()>;
    /// `uid`'s last connection on `node_id` closed; returns whether they are still connected
    /// on another node.
    async fn presence_leave(&self, node_id: &str, uid: &str) -> Result<bool>;
    /// Removes the presence rows of nodes that are not live (no beat within `fresh_ms`);
    /// returns the users left with no connection anywhere.
    async fn reap_presence(&self, fresh_ms: i64) -> Result<Vec<String>>;
    /// This node's live views changed: `(room, user)` pairs that began and ended.
    async fn viewers_changed(
        &self,
        node_id: &str,
        began: &[(String, String)],
        ended: &[(String, String)],
    ) -> Result<()>;
    /// Users with a live view of `rid` on a node other than `node_id`.
    async fn remote_viewers(&self, rid: &str, node_id: &str) -> Result<Vec<String>>;
    /// Drops cached rows another node changed: the user's tokens (`uid`), one token, a room.
    fn forget_cached_user(&self, uid: &str);
    fn forget_cached_token(&self, token_hash: &str);
    fn forget_cached_room(&self, rid: &str);
}
