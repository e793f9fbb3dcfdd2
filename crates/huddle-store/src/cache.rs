//! The hot reads kept in memory: login token → (user, token), read by the auth of every request,
//! and room by id, read by nearly every room request. Both are invalidated by the store's own
//! write methods once the write has committed and before they return, so after a call that
//! revokes a token or changes a room has answered, no request of this process sees the old value.
//!
//! Two races are closed here:
//! - a read that began before a write committed must not put its stale row into the cache
//!   after the write invalidated it. Every fill carries the clock value taken before its
//!   database read ([`Cache::ticket`]); an invalidation ticks the clock and leaves a tombstone
//!   with that time, and a fill older than the key's tombstone (or than `floor`, which a bulk
//!   invalidation or a reset raises) is dropped;
//! - writes made by another process (the CLI's `huddle admin set-password` / `deactivate`, or a
//!   second server on one PostgreSQL database) are invisible to this process's invalidation: an
//!   entry is only trusted for `ttl` after its read, so such changes are seen within `ttl`.
//!
//! Bounded: when full, the whole map is dropped (and `floor` raised), which keeps the tombstone
//! logic exact without an eviction order; a hot working set refills within milliseconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use huddle_core::{LoginToken, Room, User};

/// How long a cached row is trusted: the bound on how late this process sees changes made by
/// another process.
pub(crate) const TTL: Duration = Duration::from_secs(5);
const TOKENS: usize = 100_000;
const ROOMS: usize = 20_000;

/// The caches of one store.
pub(crate) struct Caches {
    pub(crate) tokens: Cache<(User, LoginToken)>,
    /// Rooms with the number of the room's last event (`rooms.seq`) their row reflects.
    pub(crate) rooms: Cache<(Room, i64)>,
}

impl Caches {
    pub(crate) fn new() -> Caches {
        Caches {
            tokens: Cache::new(TOKENS, TTL),
            rooms: Cache::new(ROOMS, TTL),
        }
    }

    /// A user's rows changed (profile, roles, active flag, deletion): every cached token of
    /// theirs goes.
    pub(crate) fn user_changed(&self, uid: &str) {
        self.tokens.invalidate_where(|(user, _)| user.id == uid);
    }
}

/// When a fill's database read began, in the cache's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

pub(crate) struct Cache<V> {
    inner: Mutex<Inner<V>>,
    cap: usize,
    ttl: Duration,
}

struct Inner<V> {
    map: HashMap<String, Slot<V>>,
    /// Ticks on every invalidation.
    clock: u64,
    /// Fills whose ticket is older than this are dropped.
    floor: u64,
}

enum Slot<V> {
    Value {
        value: V,
        read_at: Instant,
    },
    /// Invalidated at this clock time.
    Tombstone(u64),
}

impl<V: Clone> Cache<V> {
    pub(crate) fn new(cap: usize, ttl: Duration) -> Cache<V> {
        Cache {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                clock: 0,
                floor: 0,
            }),
            cap: cap.max(1),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        // A panic while holding the lock cannot leave the map inconsistent (every change is a
        // single insert or remove), so a poisoned lock is still good.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value, if fresh.
    pub(crate) fn get(&self, key: &str) -> Option<V> {
        let inner = self.lock();
        match inner.map.get(key) {
            Some(Slot::Value { value, read_at }) if read_at.elapsed() < self.ttl => {
                Some(value.clone())
            }
            _ => None,
        }
    }

    /// Take before reading the database for a fill.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.lock().clock)
    }

    /// Stores what a read found, unless the key was invalidated since the ticket was taken.
    pub(crate) fn fill(&self, key: &str, value: V, ticket: Ticket) {
        let mut inner = self.lock();
        self.fill_locked(&mut inner, key, value, ticket);
    }

    fn fill_locked(&self, inner: &mut Inner<V>, key: &str, value: V, ticket: Ticket) {
        if ticket.0 < inner.floor {
            return;
        }
        if let Some(Slot::Tombstone(at)) = inner.map.get(key) {
            if ticket.0 < *at {
                return;
            }
        }
        if inner.map.len() >= self.cap && !inner.map.contains_key(key) {
            inner.map.clear();
            inner.floor = inner.clock;
        }
        inner.map.insert(
            key.to_string(),
            Slot::Value {
                value,
                read_at: Instant::now(),
            },
        );
    }

    /// The row behind `key` changed (committed).
    pub(crate) fn invalidate(&self, key: &str) {
        let mut inner = self.lock();
        self.invalidate_locked(&mut inner, key);
    }

    fn invalidate_locked(&self, inner: &mut Inner<V>, key: &str) {
        inner.clock += 1;
        let at = inner.clock;
        if inner.map.len() >= self.cap && !inner.map.contains_key(key) {
            inner.map.clear();
            inner.floor = at;
            return;
        }
        inner.map.insert(key.to_string(), Slot::Tombstone(at));
    }

    /// Every entry matching `pred` changed; fills in flight are dropped too.
    pub(crate) fn invalidate_where(&self, pred: impl Fn(&V) -> bool) {
        let mut inner = self.lock();
        inner.clock += 1;
        inner.floor = inner.clock;
        inner.map.retain(|_, slot| match slot {
            Slot::Value { value, .. } => !pred(value),
            Slot::Tombstone(_) => false,
        });
    }
}

/// Values that carry the number of the change they reflect (a room's `seq`): a committed change
/// brings the cached value up to its own number in place instead of dropping it, and an older
/// version (a fill that read before the change, a change that answered late) never replaces a
/// newer one.
impl<V: Clone> Cache<(V, i64)> {
    /// [`Cache::fill`], unless the cache holds a newer version, or this one still fresh. The
    /// same version past its `ttl` is filled again: that read is what renews the trust in it
    /// (left alone, a room that no change touched would miss the cache from then on).
    pub(crate) fn fill_versioned(&self, key: &str, value: V, seq: i64, ticket: Ticket) {
        let mut inner = self.lock();
        if let Some(Slot::Value {
            value: (_, have),
            read_at,
        }) = inner.map.get(key)
        {
            if *have > seq || (*have == seq && read_at.elapsed() < self.ttl) {
                return;
            }
        }
        self.fill_locked(&mut inner, key, (value, seq), ticket);
    }

    /// A committed change numbered `seq` moved only what `update` applies (counters read back
    /// from its own statement). A cached older version is updated in place and keeps its read
    /// time (the trust in what other processes may have changed does not grow); a newer one is
    /// left alone; with nothing cached, fills in flight (which read before the change) are
    /// dropped as by [`Cache::invalidate`].
    pub(crate) fn advance(&self, key: &str, seq: i64, update: impl FnOnce(&mut V)) {
        let mut inner = self.lock();
        if let Some(Slot::Value {
            value: (value, have),
            ..
        }) = inner.map.get_mut(key)
        {
            if *have < seq {
                update(value);
                *have = seq;
            }
            return;
        }
        self.invalidate_locked(&mut inner, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_older_than_an_invalidation_is_dropped() {
        let cache: Cache<i32> = Cache::new(10, TTL);
        let before = cache.ticket();
        cache.invalidate("a");
        cache.fill("a", 1, before);
        assert_eq!(cache.get("a"), None, "stale read must not be cached");
        let after = cache.ticket();
        cache.fill("a", 2, after);
        assert_eq!(cache.get("a"), Some(2));
        cache.invalidate("a");
        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn bulk_invalidation_drops_matches_and_fills_in_flight() {
        let cache: Cache<i32> = Cache::new(10, TTL);
        let t = cache.ticket();
        cache.fill("a", 1, t);
        cache.fill("b", 2, t);
        let in_flight = cache.ticket();
        cache.invalidate_where(|v| *v == 1);
        assert_eq!((cache.get("a"), cache.get("b")), (None, Some(2)));
        cache.fill("c", 3, in_flight);
        assert_eq!(cache.get("c"), None);
    }

    #[test]
    fn versions_only_move_forward() {
        let cache: Cache<(&str, i64)> = Cache::new(10, TTL);
        // Nothing cached: the change drops fills that read before it.
        let before = cache.ticket();
        cache.advance("r", 3, |v| *v = "three");
        cache.fill_versioned("r", "two", 2, before);
        assert_eq!(cache.get("r"), None);
        let t = cache.ticket();
        cache.fill_versioned("r", "three", 3, t);
        assert_eq!(cache.get("r"), Some(("three", 3)));
        // Later changes update in place, in any order of arrival; older ones are ignored.
        cache.advance("r", 5, |v| *v = "five");
        cache.advance("r", 4, |v| *v = "four");
        assert_eq!(cache.get("r"), Some(("five", 5)));
        // A fill of an older version does not replace a newer one; a newer fill does.
        cache.fill_versioned("r", "four", 4, cache.ticket());
        assert_eq!(cache.get("r"), Some(("five", 5)));
        cache.fill_versioned("r", "six", 6, cache.ticket());
        assert_eq!(cache.get("r"), Some(("six", 6)));
        // An invalidation still wins over everything before it.
        let stale = cache.ticket();
        cache.invalidate("r");
        cache.fill_versioned("r", "seven", 7, stale);
        assert_eq!(cache.get("r"), None);
    }

    /// An entry past its trust is read again and filled again with the same version: from then
    /// on it is a hit again, not a miss for as long as the room does not change.
    #[test]
    fn the_same_version_read_again_after_expiry_is_trusted_again() {
        let ttl = Duration::from_millis(20);
        let cache: Cache<(&str, i64)> = Cache::new(10, ttl);
        cache.fill_versioned("r", "three", 3, cache.ticket());
        assert_eq!(cache.get("r"), Some(("three", 3)));
        std::thread::sleep(ttl * 2);
        assert_eq!(cache.get("r"), None, "past its trust");
        cache.fill_versioned("r", "three", 3, cache.ticket());
        assert_eq!(cache.get("r"), Some(("three", 3)));
        // Still fresh: the same version is not written again; an older one never.
        cache.fill_versioned("r", "two", 2, cache.ticket());
        assert_eq!(cache.get("r"), Some(("three", 3)));
    }

    #[test]
    fn bounded_and_expiring() {
        let cache: Cache<usize> = Cache::new(3, TTL);
        for i in 0..10 {
            let t = cache.ticket();
            cache.fill(&i.to_string(), i, t);
            assert!(cache.lock().map.len() <= 3);
        }
        assert_eq!(cache.get("9"), Some(9));
        let expired: Cache<i32> = Cache::new(3, Duration::ZERO);
        let t = expired.ticket();
        expired.fill("a", 1, t);
        assert_eq!(expired.get("a"), None);
    }
}
