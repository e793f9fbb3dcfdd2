//! Deep pages of large rooms' member lists through the in-memory index (`member_index`):
//! `offset` becomes a starting key in O(log n) and the page is a keyset read of `count` rows
//! off the `(rid, u_username, uid)` index, where `LIMIT/OFFSET` walked (and joined `users` for)
//! every skipped membership: ~1 s at offset 500,000. Same rows, order and `total` as the plain
//! query in `membership.rs`, which still serves shallow pages, small rooms, filtered listings
//! and any moment the index and the database disagree.

use std::time::{Duration, Instant};

use huddle_core::{MemberQuery, Result};

use crate::errors::db_err;
use crate::member_index::Key;
use crate::member_lists::Listing;
use crate::pool::Backend;
use crate::rows::{self, RowSource};
use crate::tx::{GetRow, Value};
use crate::SqlStore;

/// Rooms below this size, and offsets below this, are cheap to walk: no index for them.
const MIN_ROOM: i64 = 5_000;
const MIN_OFFSET: i64 = 500;
/// Longest a load waits for writes staged before it to commit before giving up (the page is
/// then served by the plain query).
const SETTLE_WAIT: Duration = Duration::from_secs(2);

impl SqlStore {
    /// The page's rows (in `listing`'s projection) and the total from the index, or `None`
    /// when the plain query should answer it.
    pub(crate) async fn deep_member_page<T>(
        &self,
        rid: &str,
        query: &MemberQuery,
        listing: Listing,
        decode: fn(&dyn RowSource) -> Result<T>,
    ) -> Result<Option<(Vec<T>, i64)>> {
        let filtered = query.text.as_deref().is_some_and(|t| !t.trim().is_empty())
            || !query.statuses.is_empty();
        let (Some(count), offset) = (query.paging.count, query.paging.offset) else {
            return Ok(None);
        };
        if filtered || offset < MIN_OFFSET || !self.bytewise_ids().await? {
            return Ok(None);
        }
        let users_count = self
            .fetch_optional(
                "SELECT users_count FROM rooms WHERE id = $1",
                &[Value::from(rid)],
                |row| row.int(0),
            )
            .await?;
        let Some(users_count) = users_count else {
            return Ok(None);
        };
        if users_count < MIN_ROOM {
            return Ok(None);
        }
        // Inactive members are few: the inactive users come off their own partial index and
        // each is looked up in the room, never the other way round (a walk of the room; SQLite
        // keeps a `CROSS JOIN`'s order). They stay in the index, and the page query skips them
        // as the plain one does.
        let mut inactive = self
            .fetch(
                "SELECT s.u_username, s.uid FROM users u CROSS JOIN subscriptions s \
                 WHERE u.active = 0 AND s.rid = $1 AND s.uid = u.id",
                &[Value::from(rid)],
                |row| Ok(Key::new(&row.text(0)?, &row.text(1)?)),
            )
            .await?;
        inactive.sort();
        if !self.ensure_member_index(rid).await? {
            return Ok(None);
        }
        let total = users_count - inactive.len() as i64;
        if offset >= total {
            return Ok(Some((vec![], total)));
        }
        // The offset-th active member in the listing's direction, as an ascending rank.
        let active_rank = if query.sort_desc {
            total - 1 - offset
        } else {
            offset
        } as usize;
        let start = self.members.with_index(rid, |index| {
            let keys = &index.keys;
            if keys.len() as i64 != users_count || !inactive.iter().all(|k| keys.contains(k)) {
                return None; // an operation between its commit and its application
            }
            let mut p = active_rank;
            for k in &inactive {
                if keys.rank(k) > p {
                    break;
                }
                p += 1;
            }
            keys.at(p).cloned()
        });
        let Some(Some(start)) = start else {
            return Ok(None);
        };
        let (cmp, dir) = if query.sort_desc {
            ("<=", "DESC")
        } else {
            (">=", "ASC")
        };
        let sql = format!(
            "{} WHERE s.rid = $1 AND u.active = 1 AND (s.u_username, s.uid) {cmp} ($2, $3) \
             ORDER BY s.u_username {dir}, s.uid {dir} LIMIT $4",
            listing.select_from()
        );
        let args = [
            Value::from(rid),
            Value::from(start.username()),
            Value::from(start.uid()),
            Value::Int(count.max(0)),
        ];
        let found = self.fetch(&sql, &args, decode).await?;
        Ok(Some((found, total)))
    }

    /// Loads the room's index unless it is loaded and current; false if it could not be.
    async fn ensure_member_index(&self, rid: &str) -> Result<bool> {
        if self.members.with_index(rid, |_| ()).is_some() {
            return Ok(true);
        }
        let slot = self.members.loader(rid);
        let _one_loader = slot.load.lock().await;
        if self.members.with_index(rid, |_| ()).is_some() {
            return Ok(true);
        }
        let Ok(_permit) = self.members.loads.acquire().await else {
            return Ok(false); // closed: never, the store owns it
        };
        self.members.begin_load(&slot);
        let deadline = Instant::now() + SETTLE_WAIT;
        while !self.members.settled(&slot) {
            if Instant::now() > deadline {
                self.members.finish_load(&slot, None);
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let keys = match self.read_member_keys(rid).await {
            Ok(keys) => keys,
            Err(e) => {
                self.members.finish_load(&slot, None);
                return Err(e);
            }
        };
        // Keys that did not unpack (never seen: a bug, not a client's doing) leave the room
        // without an index; its pages are served by the plain query.
        self.members.finish_load(&slot, keys);
        Ok(self.members.with_index(rid, |_| ()).is_some())
    }

    /// Every membership key of the room, ascending, off the covering index. The database packs
    /// them into one string (`Backend::packed_member_keys`): read row by row, each of a large
    /// room's keys cost the driver a row of its own (~3 µs; 0.37 s for 100,000 members, during
    /// which that room's deep pages wait for the load), where the database walks the index and
    /// concatenates in ~0.6 µs a key. Through sqlx's reader, not `SqlStore::fetch`: a room of
    /// a million members takes ~0.6 s, too long to hold the async runtime's thread.
    async fn read_member_keys(&self, rid: &str) -> Result<Option<Vec<Key>>> {
        let row = sqlx::query(self.db.backend.packed_member_keys())
            .bind(rid)
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err)?;
        let packed: Option<String> = row.try_get(0usize).map_err(db_err)?;
        let Some(mut keys) = unpack_member_keys(packed.as_deref().unwrap_or_default()) else {
            tracing::warn!(
                room = rid,
                "member keys packed unreadably: no index for the room"
            );
            return Ok(None);
        };
        // The database's order is the index's; sorting again costs little if it already is.
        if !keys.is_sorted() {
            keys.sort();
        }
        Ok(Some(keys))
    }

    /// Whether ids compare bytewise in the database, as the index compares them. `uid` has no
    /// collation of its own, so on PostgreSQL it follows the database's default, probed once.
    async fn bytewise_ids(&self) -> Result<bool> {
        if self.db.backend == Backend::Sqlite {
            return Ok(true);
        }
        let probe = self.bytewise.get_or_try_init(|| async {
            let row = sqlx::query(
                "SELECT CASE WHEN 'B' < 'a' AND 'Z' < '_' AND '_' < 'a' AND 'a' < 'ab' THEN 1::bigint ELSE 0::bigint END",
            )
            .fetch_one(self.db.reader())
            .await
            .map_err(db_err)?;
            Ok::<bool, huddle_core::Error>(rows::count(&row)? == 1)
        });
        Ok(*probe.await?)
    }
}

/// The keys `Backend::packed_member_keys` packed: each of username and uid as its length in
/// bytes, `:`, then its bytes. `None` if the string is not such a list.
fn unpack_member_keys(mut packed: &str) -> Option<Vec<Key>> {
    fn field(s: &str) -> Option<(&str, &str)> {
        let (len, rest) = s.split_once(':')?;
        let len: usize = len.parse().ok()?;
        Some((rest.get(..len)?, rest.get(len..)?))
    }
    let mut keys = Vec::new();
    while !packed.is_empty() {
        let (username, rest) = field(packed)?;
        let (uid, rest) = field(rest)?;
        keys.push(Key::new(username, uid));
        packed = rest;
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(keys: &[(&str, &str)]) -> String {
        keys.iter()
            .map(|(u, id)| format!("{}:{u}{}:{id}", u.len(), id.len()))
            .collect()
    }

    #[test]
    fn packed_keys_read_back_whatever_their_characters() {
        let keys = [
            ("", "a"),
            ("12:3", "4:5"),
            ("ünï:cödé", "x"),
            ("9", ""),
            ("plain.name", "Id0123456789abcde"),
        ];
        let got = unpack_member_keys(&pack(&keys)).unwrap();
        let got: Vec<(&str, &str)> = got.iter().map(|k| (k.username(), k.uid())).collect();
        assert_eq!(got, keys);
        assert_eq!(unpack_member_keys("").unwrap(), vec![]);
    }

    #[test]
    fn a_damaged_packing_is_refused_not_misread() {
        for bad in ["3:ab", "2:ab", "x:ab1:c", "2:ab9:c", "1:é1:c", "2:ab1:c3"] {
            assert!(unpack_member_keys(bad).is_none(), "{bad}");
        }
    }
}
