//! Unread threads (`thread_unreads`, Rocket.Chat's subscription `tunread`): written by a reply
//! for the thread's other followers who are members, in the post's transaction; taken away
//! when the follower reads the thread (`readThreads`) or the room with `readThreads`.

use async_trait::async_trait;
use huddle_core::store::ThreadStore;
use huddle_core::Result;

use crate::errors::db_err;
use crate::pool::Backend;
use crate::sql::{json_list, to_json};
use crate::tx::{self, GetRow, Tx};
use crate::SqlStore;

/// Thread `tmid` of `rid` has a new reply by `sender`: unread for its other `followers`
/// who are members of the room (one row each, whatever how many replies they missed).
pub(crate) async fn mark_unread(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    tmid: &str,
    sender: &str,
    followers: &[String],
) -> Result<()> {
    let others: Vec<&String> = followers.iter().filter(|f| *f != sender).collect();
    if others.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO thread_unreads (uid, rid, tmid) SELECT s.uid, s.rid, $2 FROM subscriptions s \
         WHERE s.rid = $1 AND s.uid IN ({}) ON CONFLICT (uid, rid, tmid) DO NOTHING",
        json_list(backend, 3)
    );
    tx::query(&sql)
        .bind(rid)
        .bind(tmid)
        .bind(to_json(&others)?)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl ThreadStore for SqlStore {
    async fn unread_threads(&self, uid: &str, rid: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT tmid FROM thread_unreads WHERE uid = $1 AND rid = $2 ORDER BY tmid",
        )
        .bind(uid)
        .bind(rid)
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
            .collect()
    }

    async fn read_threads(&self, uid: &str, rid: &str, tmid: Option<&str>) -> Result<()> {
        let (uid, rid, tmid) = (uid.to_string(), rid.to_string(), tmid.map(str::to_string));
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let q = match &tmid {
                        Some(t) => tx::query(
                            "DELETE FROM thread_unreads WHERE uid = $1 AND rid = $2 AND tmid = $3",
                        )
                        .bind(uid.as_str())
                        .bind(rid.as_str())
                        .bind(t.as_str()),
                        None => tx::query("DELETE FROM thread_unreads WHERE uid = $1 AND rid = $2")
                            .bind(uid.as_str())
                            .bind(rid.as_str()),
                    };
                    q.execute(&mut *tx).await.map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }
}
