//! The cluster's rows (`cluster_nodes`, migration 0007) and the cache invalidations another
//! node asks for. Only PostgreSQL offers them (`Store::cluster`): SQLite is one process's file.
//! Times are the database's clock (`now_ms`), so nodes with skewed clocks agree on who is live.

use async_trait::async_trait;
use huddle_core::store::{ClusterStore, NodeBeat};
use huddle_core::Result;

use crate::errors::db_err;
use crate::pool::Backend;
use crate::sql::{json_list, to_json};
use crate::tx::{self, GetRow};
use crate::SqlStore;

/// Epoch milliseconds by PostgreSQL's clock.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

#[async_trait]
impl ClusterStore for SqlStore {
    async fn heartbeat(&self, node_id: &str, started_at: i64) -> Result<()> {
        let node_id = node_id.to_string();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query(&format!(
                        "INSERT INTO cluster_nodes (node_id, started_at, beat_at) \
                         VALUES ($1, $2, {NOW_MS}) \
                         ON CONFLICT (node_id) DO UPDATE SET beat_at = excluded.beat_at"
                    ))
                    .bind(node_id.as_str())
                    .bind(started_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn live_nodes(&self, fresh_ms: i64) -> Result<Vec<NodeBeat>> {
        let rows = sqlx::query(&format!(
            "SELECT node_id, started_at, beat_at FROM cluster_nodes \
             WHERE beat_at >= {NOW_MS} - $1 ORDER BY node_id"
        ))
        .bind(fresh_ms)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(NodeBeat {
                    node_id: r.try_get(0usize).map_err(db_err)?,
                    started_at: r.try_get(1usize).map_err(db_err)?,
                    beat_at: r.try_get(2usize).map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn forget_nodes(&self, stale_ms: i64) -> Result<Vec<String>> {
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let rows = tx::query(&format!(
                        "DELETE FROM cluster_nodes WHERE beat_at < {NOW_MS} - $1 RETURNING node_id"
                    ))
                    .bind(stale_ms)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    rows.iter()
                        .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
                        .collect()
                })
            })
            .await
    }

    async fn forget_node(&self, node_id: &str) -> Result<()> {
        let node_id = node_id.to_string();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query("DELETE FROM cluster_nodes WHERE node_id = $1")
                        .bind(node_id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    tx::query("DELETE FROM cluster_viewers WHERE node_id = $1")
                        .bind(node_id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn room_seq(&self, rid: &str) -> Result<i64> {
        // The log, not `rooms.seq`: a deleted room's events stay after its row is gone.
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM room_events WHERE rid = $1")
            .bind(rid)
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err)?;
        row.try_get::<i64, _>(0usize).map_err(db_err)
    }

    async fn room_seqs(&self, rids: &[String]) -> Result<Vec<(String, i64)>> {
        if rids.is_empty() {
            return Ok(vec![]);
        }
        let rows = sqlx::query(&format!(
            "SELECT id, seq FROM rooms WHERE id IN ({})",
            json_list(self.db.backend, 1)
        ))
        .bind(to_json(&rids)?)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0usize).map_err(db_err)?,
                    r.try_get(1usize).map_err(db_err)?,
                ))
            })
            .collect()
    }

    async fn presence_join(&self, node_id: &str, uid: &str) -> Result<()> {
        let (node_id, uid) = (node_id.to_string(), uid.to_string());
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query(
                        "INSERT INTO cluster_presence (user_id, node_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(uid.as_str())
                    .bind(node_id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn presence_leave(&self, node_id: &str, uid: &str) -> Result<bool> {
        let (node_id, uid) = (node_id.to_string(), uid.to_string());
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query("DELETE FROM cluster_presence WHERE user_id = $1 AND node_id = $2")
                        .bind(uid.as_str())
                        .bind(node_id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    let left =
                        tx::query("SELECT COUNT(*) FROM cluster_presence WHERE user_id = $1")
                            .bind(uid.as_str())
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_err)?;
                    Ok(left.try_get::<i64, _>(0usize).map_err(db_err)? > 0)
                })
            })
            .await
    }

    async fn reap_presence(&self, fresh_ms: i64) -> Result<Vec<String>> {
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let gone = tx::query(&format!(
                        "DELETE FROM cluster_presence p WHERE NOT EXISTS (SELECT 1 FROM \
                         cluster_nodes n WHERE n.node_id = p.node_id AND n.beat_at >= {NOW_MS} - $1) \
                         RETURNING user_id"
                    ))
                    .bind(fresh_ms)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    // Their live views end with them.
                    tx::query(&format!(
                        "DELETE FROM cluster_viewers v WHERE NOT EXISTS (SELECT 1 FROM \
                         cluster_nodes n WHERE n.node_id = v.node_id AND n.beat_at >= {NOW_MS} - $1)"
                    ))
                    .bind(fresh_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let mut uids: Vec<String> = gone
                        .iter()
                        .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
                        .collect::<Result<_>>()?;
                    uids.sort();
                    uids.dedup();
                    if uids.is_empty() {
                        return Ok(uids);
                    }
                    let still = tx::query(&format!(
                        "SELECT DISTINCT user_id FROM cluster_presence WHERE user_id IN ({})",
                        json_list(Backend::Postgres, 1)
                    ))
                    .bind(to_json(&uids)?)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    let still: std::collections::HashSet<String> = still
                        .iter()
                        .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
                        .collect::<Result<_>>()?;
                    Ok(uids.into_iter().filter(|u| !still.contains(u)).collect())
                })
            })
            .await
    }

    async fn viewers_changed(
        &self,
        node_id: &str,
        began: &[(String, String)],
        ended: &[(String, String)],
    ) -> Result<()> {
        if began.is_empty() && ended.is_empty() {
            return Ok(());
        }
        let node_id = node_id.to_string();
        let (began, ended) = (to_json(&began)?, to_json(&ended)?);
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    // Pairs travel as one JSON array of [room, user] each: one statement
                    // whatever their number.
                    tx::query(
                        "DELETE FROM cluster_viewers WHERE node_id = $1 AND (rid, user_id) IN \
                         (SELECT x->>0, x->>1 FROM jsonb_array_elements($2::jsonb) x)",
                    )
                    .bind(node_id.as_str())
                    .bind(ended.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    tx::query(
                        "INSERT INTO cluster_viewers (rid, user_id, node_id) \
                         SELECT x->>0, x->>1, $1 FROM jsonb_array_elements($2::jsonb) x \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(node_id.as_str())
                    .bind(began.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn remote_viewers(&self, rid: &str, node_id: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT user_id FROM cluster_viewers WHERE rid = $1 AND node_id <> $2",
        )
        .bind(rid)
        .bind(node_id)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
            .collect()
    }

    fn forget_cached_user(&self, uid: &str) {
        self.caches.user_changed(uid);
    }

    fn forget_cached_token(&self, token_hash: &str) {
        self.caches.tokens.invalidate(token_hash);
    }

    fn forget_cached_room(&self, rid: &str) {
        self.caches.rooms.invalidate(rid);
    }
}
