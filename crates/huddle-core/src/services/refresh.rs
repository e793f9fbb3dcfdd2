//! What another process wrote. The app's secret keys, the settings and the permission table are
//! read from memory on every request; the command line (`huddle admin revoke-secret`,
//! `create-secret`, `app-settings`) and other servers on the same database change them in the
//! store behind this process's back. A running server therefore re-reads all three every
//! `REFRESH_INTERVAL` (its refresher task calls `Huddle::refresh`), and announces what the API
//! path would have announced for the same change.
//!
//! Requests never wait for a re-read: they keep reading the current copy, which is swapped
//! whole under its lock once the store has answered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Huddle;
use crate::events::Event;
use crate::model::AppSettings;
use crate::permissions::PermissionTable;
use crate::Result;

/// How often a running server re-reads keys, settings and permissions. A change made by another
/// process is applied at most this long (plus one store read) after its commit; the documented
/// bound is 5 s.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// Orders the writers of one in-memory copy: full re-reads (here, and `reload_keys` after a local
/// key change) and local edits (`put_setting`, `update_permissions`). Without it a re-read that
/// started before a local edit could land after it and bring back the old value; the copy would
/// then contradict the store until the next refresh (a key revoked through the API working again
/// for two seconds).
#[derive(Debug, Default)]
pub(crate) struct Tickets {
    issued: AtomicU64,
    applied: AtomicU64,
}

impl Tickets {
    /// Taken before a re-read starts reading the store.
    pub(crate) fn take(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Under the copy's write lock: may the re-read holding `ticket` replace the copy? Only if no
    /// re-read that started later, and no local edit, was applied since it started.
    pub(crate) fn admit(&self, ticket: u64) -> bool {
        if ticket <= self.applied.load(Ordering::SeqCst) {
            return false;
        }
        self.applied.store(ticket, Ordering::SeqCst);
        true
    }

    /// Under the copy's write lock, after a local edit was stored and applied: every re-read that
    /// started before it may have missed it.
    pub(crate) fn edited(&self) {
        let ticket = self.take();
        self.applied.fetch_max(ticket, Ordering::SeqCst);
    }
}

/// One `Tickets` per copy that another process may change.
#[derive(Debug, Default)]
pub(crate) struct CopyTickets {
    pub(crate) keys: Tickets,
    pub(crate) settings: Tickets,
    pub(crate) permissions: Tickets,
}

impl Huddle {
    /// Re-reads the app keys, the webhook endpoints, the settings and the permission table from the store and
    /// publishes what changed the way the API path does: `GuestAccessChanged` when guests lose
    /// (or regain) access through the app settings, `PermissionsChanged` when the table differs.
    pub async fn refresh(&self) -> Result<()> {
        self.reload_keys().await?;
        // Endpoints made by another server on the same database (a cluster's other nodes).
        self.reload_webhooks().await?;
        if let Some((before, after)) = self.reload_settings().await? {
            self.announce_app_settings(&before, &after);
        }
        if self.reload_permissions().await? {
            self.publish(Event::PermissionsChanged);
        }
        Ok(())
    }

    /// Replaces the settings with the store's. Returns the app settings before and after when
    /// the copy changed.
    pub(super) async fn reload_settings(&self) -> Result<Option<(AppSettings, AppSettings)>> {
        let ticket = self.tickets.settings.take();
        let fresh: HashMap<String, serde_json::Value> =
            self.store.settings().await?.into_iter().collect();
        let Ok(mut copy) = self.settings.write() else {
            return Ok(None);
        };
        if !self.tickets.settings.admit(ticket) || *copy == fresh {
            return Ok(None);
        }
        let before = AppSettings::from_settings(&copy);
        *copy = fresh;
        Ok(Some((before, AppSettings::from_settings(&copy))))
    }

    /// Replaces the permission table with the store's. True when it changed.
    pub(super) async fn reload_permissions(&self) -> Result<bool> {
        let ticket = self.tickets.permissions.take();
        let fresh = PermissionTable::new(&self.store.permissions().await?);
        let Ok(mut table) = self.permissions.write() else {
            return Ok(false);
        };
        if !self.tickets.permissions.admit(ticket) || *table == fresh {
            return Ok(false);
        }
        *table = fresh;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_started_before_a_local_edit_is_not_applied() {
        let t = Tickets::default();
        let stale = t.take();
        t.edited();
        assert!(!t.admit(stale));
        let fresh = t.take();
        assert!(t.admit(fresh));
    }

    #[test]
    fn the_later_of_two_reads_wins_whatever_the_order_they_finish() {
        let t = Tickets::default();
        let first = t.take();
        let second = t.take();
        assert!(t.admit(second));
        assert!(!t.admit(first));
        let third = t.take();
        assert!(t.admit(third));
    }
}
