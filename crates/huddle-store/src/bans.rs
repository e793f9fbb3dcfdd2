//! The write path's ban changes (`RoomChange::Ban`, `RoomChange::Unban`), run by `room_writes`
//! inside the change's transaction: a ban is the member's removal (with its counters and index
//! change) plus the `room_bans` row; lifting one deletes the row. Both write their system
//! message and take the room's next event number. Adding members skips banned users
//! (`banned_in_tx`, read while the room is held), whoever asked: a ban is lifted only by an
//! `Unban` of its own.

use std::sync::Arc;

use huddle_core::store::RoomEventItem;
use huddle_core::{Message, Result, RoomBan};

use crate::errors::db_err;
use crate::member_index::MemberIndexes;
use crate::messages::insert_and_bump;
use crate::pool::Backend;
use crate::room_writes::Applied;
use crate::rooms::claim_room;
use crate::tx::{self, GetRow, Tx};

/// Removes the member and records the ban; nothing when they are no member.
pub(crate) async fn ban(
    tx: &mut Tx<'_>,
    backend: Backend,
    indexes: &Arc<MemberIndexes>,
    rid: &str,
    ban: RoomBan,
    message: Message,
) -> Result<Option<Applied>> {
    let removed =
        crate::membership::remove(tx, backend, indexes, rid, ban.uid.clone(), Some(message))
            .await?;
    if removed.is_none() {
        return Ok(None);
    }
    tx::query(
        "INSERT INTO room_bans (rid, uid, username, name, banned_by, ts) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (rid, uid) DO NOTHING",
    )
    .bind(rid)
    .bind(ban.uid.as_str())
    .bind(ban.username.as_str())
    .bind(ban.name.as_deref())
    .bind(ban.by.as_str())
    .bind(ban.ts.0)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    Ok(removed)
}

/// Lifts a ban; nothing when there was none.
pub(crate) async fn unban(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    uid: String,
    message: Message,
) -> Result<Option<Applied>> {
    if !claim_room(tx, backend, rid).await? {
        return Ok(None);
    }
    let done = tx::query("DELETE FROM room_bans WHERE rid = $1 AND uid = $2")
        .bind(rid)
        .bind(uid.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let advanced = insert_and_bump(tx, backend, rid, 0, &[&message]).await?;
    Ok(Some(Applied {
        items: vec![RoomEventItem::MessageCreated {
            message: Box::new(message),
        }],
        seq: advanced.seq,
        counters: Some(advanced.counters),
        staged: None,
    }))
}

/// Which of `uids` are banned from `rid`, read inside a write transaction.
pub(crate) async fn banned_in_tx(
    tx: &mut Tx<'_>,
    backend: Backend,
    rid: &str,
    uids: &[&str],
) -> Result<std::collections::HashSet<String>> {
    if uids.is_empty() {
        return Ok(Default::default());
    }
    let sql = format!(
        "SELECT uid FROM room_bans WHERE rid = $1 AND uid IN ({})",
        crate::sql::json_list(backend, 2)
    );
    let rows = tx::query(&sql)
        .bind(rid)
        .bind(crate::sql::to_json(uids)?)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0usize).map_err(db_err))
        .collect()
}
