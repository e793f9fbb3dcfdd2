//! Member lists (`list_members`, `list_member_entries`): the plain `LIMIT/OFFSET` query for
//! shallow pages, small rooms and filtered listings, deep pages of large rooms through the
//! in-memory index (`member_pages`). Both read one of two projections: the whole membership
//! and user rows (`Member`, which TalkJS participants and the online list need), or only the
//! five user columns a Rocket.Chat member entry shows (`MemberEntry`): a list of 2,000 members
//! decoded from 5 columns instead of 61 (the room joined for the membership's unread counters,
//! JSON columns parsed per row) costs a fraction of the CPU.

use huddle_core::{Member, MemberEntry, MemberQuery, Page, Result, Timestamp};

use crate::rows::{self, RowSource, SUB_COLS, SUB_ROOM, USER_COLS};
use crate::sql::{contains_pattern, placeholders};
use crate::tx::Value;
use crate::SqlStore;

/// What a member list reads of each member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// The membership and the user, whole (`rows::member`).
    Full,
    /// `u.id, u.username, u.name, u.status, u.updated_at` (`entry`).
    Entry,
}

impl Listing {
    /// `SELECT <columns> FROM subscriptions s JOIN users u ...`, the room joined only when the
    /// membership's columns are read (they need its post counter).
    pub(crate) fn select_from(self) -> String {
        match self {
            Listing::Full => format!(
                "SELECT {}, {} FROM subscriptions s JOIN users u ON u.id = s.uid {SUB_ROOM}",
                *SUB_COLS, *USER_COLS
            ),
            Listing::Entry => "SELECT u.id, u.username, u.name, u.status, u.updated_at \
                 FROM subscriptions s JOIN users u ON u.id = s.uid"
                .to_string(),
        }
    }
}

/// A member entry from a [`Listing::Entry`] row, by column index.
fn entry(row: &dyn RowSource) -> Result<MemberEntry> {
    Ok(MemberEntry {
        id: row.text(0)?,
        username: row.opt_text(1)?,
        name: row.text(2)?,
        status: row.text(3)?,
        updated_at: Timestamp(row.int(4)?),
    })
}

impl SqlStore {
    pub(crate) async fn members_full(
        &self,
        rid: &str,
        query: &MemberQuery,
    ) -> Result<Page<Member>> {
        let (items, total) = self
            .member_rows(rid, query, Listing::Full, rows::member)
            .await?;
        Ok(Page { items, total })
    }

    pub(crate) async fn member_entries(
        &self,
        rid: &str,
        query: &MemberQuery,
    ) -> Result<Page<MemberEntry>> {
        let (items, total) = self.member_rows(rid, query, Listing::Entry, entry).await?;
        Ok(Page { items, total })
    }

    /// One page of active members in `listing`'s projection, and how many there are in all.
    async fn member_rows<T>(
        &self,
        rid: &str,
        query: &MemberQuery,
        listing: Listing,
        decode: fn(&dyn RowSource) -> Result<T>,
    ) -> Result<(Vec<T>, i64)> {
        if let Some(page) = self.deep_member_page(rid, query, listing, decode).await? {
            return Ok(page);
        }
        let mut conditions = vec!["s.rid = $1".to_string(), "u.active = 1".to_string()];
        let mut binds: Vec<String> = vec![rid.to_string()];
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if let Some(text) = text {
            binds.push(contains_pattern(text));
            let n = binds.len();
            conditions.push(format!(
                "(u.username_lower LIKE ${n} ESCAPE '\\' OR lower(u.name) LIKE ${n} ESCAPE '\\')"
            ));
        }
        if !query.statuses.is_empty() {
            let start = binds.len() + 1;
            binds.extend(query.statuses.iter().cloned());
            conditions.push(format!(
                "u.status IN ({})",
                placeholders(start, query.statuses.len())
            ));
        }
        let filter = conditions.join(" AND ");
        let dir = if query.sort_desc { "DESC" } else { "ASC" };
        // Walks the (rid, u_username, uid) index in order and stops after one page, so the
        // first page of a huge room costs a page, not the room.
        let page_sql = format!(
            "{} WHERE {filter} ORDER BY s.u_username {dir}, s.uid {dir}{}",
            listing.select_from(),
            self.db.backend.page(&query.paging)
        );
        let args: Vec<Value> = binds.iter().map(Value::from).collect();
        let found = self.fetch(&page_sql, &args, decode).await?;
        // The whole list from the start: its length is the total, read by the same statement
        // (one query instead of two).
        if query.paging.count.is_none() && query.paging.offset <= 0 {
            let total = found.len() as i64;
            return Ok((found, total));
        }
        let count_sql = if text.is_none() && query.statuses.is_empty() {
            // Unfiltered: every membership row counts in usersCount (kept exact in the same
            // transactions that add and remove members), so the active members are usersCount
            // less the inactive ones, which are few and found through their own index, instead
            // of counting a million rows for every page.
            "SELECT r.users_count - (SELECT count(*) FROM users u WHERE u.active = 0 AND \
             EXISTS (SELECT 1 FROM subscriptions s WHERE s.rid = r.id AND s.uid = u.id)) FROM rooms r WHERE r.id = $1"
                .to_string()
        } else {
            format!(
                "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.uid WHERE {filter}"
            )
        };
        let filtered = text.is_some() || !query.statuses.is_empty();
        let count_args = if filtered { &args[..] } else { &args[..1] };
        let total = self
            .fetch_optional(&count_sql, count_args, |row| row.int(0))
            .await?
            .unwrap_or(0);
        Ok((found, total))
    }
}
