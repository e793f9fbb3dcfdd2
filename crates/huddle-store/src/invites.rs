//! Invite links (`invites`) and reading room bans (`room_bans`; a ban is written by the room
//! write path, `bans.rs`).

use async_trait::async_trait;
use huddle_core::store::InviteStore;
use huddle_core::{Invite, Page, Paging, Result, RoomBan, Timestamp};

use crate::errors::db_err;
use crate::sql::{json_list, to_json};
use crate::tx::{self, GetRow};
use crate::SqlStore;

const INVITE_COLS: &str =
    "id, token, rid, user_id, days, max_uses, uses, created_at, expires, updated_at";
const BAN_COLS: &str = "rid, uid, username, name, banned_by, ts";

fn invite(row: &impl GetRow) -> Result<Invite> {
    let i = |n: usize| row.try_get::<i64, _>(n).map_err(db_err);
    let s = |n: usize| row.try_get::<String, _>(n).map_err(db_err);
    Ok(Invite {
        id: s(0)?,
        token: s(1)?,
        rid: s(2)?,
        user_id: s(3)?,
        days: i(4)?,
        max_uses: i(5)?,
        uses: i(6)?,
        created_at: Timestamp(i(7)?),
        expires: row
            .try_get::<Option<i64>, _>(8)
            .map_err(db_err)?
            .map(Timestamp),
        updated_at: Timestamp(i(9)?),
    })
}

fn ban(row: &impl GetRow) -> Result<RoomBan> {
    let s = |n: usize| row.try_get::<String, _>(n).map_err(db_err);
    Ok(RoomBan {
        rid: s(0)?,
        uid: s(1)?,
        username: s(2)?,
        name: row.try_get::<Option<String>, _>(3).map_err(db_err)?,
        by: s(4)?,
        ts: Timestamp(row.try_get::<i64, _>(5).map_err(db_err)?),
    })
}

#[async_trait]
impl InviteStore for SqlStore {
    async fn insert_invite(&self, i: &Invite) -> Result<()> {
        let i = i.clone();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    tx::query(&format!(
                        "INSERT INTO invites ({INVITE_COLS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    ))
                    .bind(i.id.as_str())
                    .bind(i.token.as_str())
                    .bind(i.rid.as_str())
                    .bind(i.user_id.as_str())
                    .bind(i.days)
                    .bind(i.max_uses)
                    .bind(i.uses)
                    .bind(i.created_at.0)
                    .bind(i.expires.map(|t| t.0))
                    .bind(i.updated_at.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(())
                })
            })
            .await
    }

    async fn invite_by_id(&self, id: &str) -> Result<Option<Invite>> {
        let found = sqlx::query(&format!("SELECT {INVITE_COLS} FROM invites WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(db_err)?;
        found.as_ref().map(invite).transpose()
    }

    async fn invite_by_token(&self, token: &str) -> Result<Option<Invite>> {
        let found = sqlx::query(&format!(
            "SELECT {INVITE_COLS} FROM invites WHERE token = $1"
        ))
        .bind(token)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err)?;
        found.as_ref().map(invite).transpose()
    }

    async fn reusable_invite(
        &self,
        user_id: &str,
        rid: &str,
        days: i64,
        max_uses: i64,
        now: Timestamp,
    ) -> Result<Option<Invite>> {
        let found = sqlx::query(&format!(
            "SELECT {INVITE_COLS} FROM invites WHERE rid = $1 AND user_id = $2 AND days = $3 \
             AND max_uses = $4 AND (expires IS NULL OR expires > $5) \
             AND (max_uses = 0 OR uses < max_uses) ORDER BY created_at DESC, id LIMIT 1"
        ))
        .bind(rid)
        .bind(user_id)
        .bind(days)
        .bind(max_uses)
        .bind(now.0)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err)?;
        found.as_ref().map(invite).transpose()
    }

    async fn list_invites(&self) -> Result<Vec<Invite>> {
        let found = sqlx::query(&format!(
            "SELECT {INVITE_COLS} FROM invites ORDER BY created_at, id"
        ))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        found.iter().map(invite).collect()
    }

    async fn delete_invite(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let done = tx::query("DELETE FROM invites WHERE id = $1")
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    async fn count_invite_use(&self, id: &str, now: Timestamp) -> Result<bool> {
        let id = id.to_string();
        self.db
            .write(move |tx| {
                Box::pin(async move {
                    let done = tx::query(
                        "UPDATE invites SET uses = uses + 1, updated_at = $2 WHERE id = $1 \
                         AND (expires IS NULL OR expires > $2) \
                         AND (max_uses = 0 OR uses < max_uses)",
                    )
                    .bind(id.as_str())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    Ok(done.rows_affected() == 1)
                })
            })
            .await
    }

    async fn room_ban(&self, rid: &str, uid: &str) -> Result<Option<RoomBan>> {
        let found = sqlx::query(&format!(
            "SELECT {BAN_COLS} FROM room_bans WHERE rid = $1 AND uid = $2"
        ))
        .bind(rid)
        .bind(uid)
        .fetch_optional(self.db.reader())
        .await
        .map_err(db_err)?;
        found.as_ref().map(ban).transpose()
    }

    async fn banned_among(&self, rid: &str, uids: &[String]) -> Result<Vec<String>> {
        if uids.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT uid FROM room_bans WHERE rid = $1 AND uid IN ({})",
            json_list(self.db.backend, 2)
        );
        let found = sqlx::query(&sql)
            .bind(rid)
            .bind(to_json(uids)?)
            .fetch_all(self.db.reader())
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(|r| r.try_get::<String, _>(0).map_err(db_err))
            .collect()
    }

    async fn room_bans(&self, rid: &str, paging: Paging) -> Result<Page<RoomBan>> {
        let total: i64 = sqlx::query("SELECT COUNT(*) FROM room_bans WHERE rid = $1")
            .bind(rid)
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err)?
            .try_get(0)
            .map_err(db_err)?;
        let found = sqlx::query(&format!(
            "SELECT {BAN_COLS} FROM room_bans WHERE rid = $1 ORDER BY ts, uid LIMIT $2 OFFSET $3"
        ))
        .bind(rid)
        .bind(paging.count.unwrap_or(i64::MAX).max(0))
        .bind(paging.offset.max(0))
        .fetch_all(self.db.reader())
        .await
        .map_err(db_err)?;
        Ok(Page {
            items: found.iter().map(ban).collect::<Result<_>>()?,
            total,
        })
    }
}
