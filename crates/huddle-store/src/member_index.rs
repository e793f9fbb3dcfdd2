//! In-memory order-statistic indexes of large rooms' memberships, so that a member page at any
//! offset costs O(log n) instead of walking `offset` rows (`member_pages`).
//!
//! One index per room that was paged deeply: its memberships' `(u_username, uid)` keys in the
//! order of the `subscriptions_rid_username` index, in sorted blocks (`Ranked`) so that "the key
//! at position p" and "the position of a key" are a walk over block lengths plus a binary
//! search. It holds every membership, active user or not (the page query filters inactive users
//! itself), so deactivating a user changes nothing here.
//!
//! Consistency with the database, under concurrent writes:
//! - Each add or remove is *staged* inside its transaction, after the room's serialization
//!   point (`lock_room`: SQLite's single writer, PostgreSQL's room row lock), taking a sequence
//!   number there, so sequence order is commit order for that room. After the commit it is
//!   *applied*; applications may arrive out of order, so per user only an operation newer than
//!   the last one applied takes effect (`Ranked` + `last`).
//! - A load registers first (a new `generation`), then waits until every operation staged
//!   under an older generation has finished (those committed before its snapshot begins, so the
//!   snapshot has them), then reads. Operations staged meanwhile are buffered and applied onto
//!   the snapshot in the same newest-wins way.
//! - A failed commit, a rename, a deleted user or room (`invalidate_all`) makes every index
//!   stale (an `epoch`); the next deep page loads again.
//! - The page path still checks the index's size against the room's `users_count` and falls
//!   back to the plain query on any mismatch (an operation between commit and application).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Keys per block; blocks split at twice this. 1,000,000 members are ~1,000 blocks: finding a
/// position walks 1,000 lengths, inserting moves at most 2,048 keys.
const BLOCK: usize = 1024;

/// `(u_username, uid)` in one allocation: `buf` is the username then the uid, `split` where the
/// uid starts. ~56 bytes a membership with the allocator's rounding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    buf: Box<str>,
    split: u32,
}

impl Key {
    pub(crate) fn new(username: &str, uid: &str) -> Key {
        Key {
            buf: format!("{username}{uid}").into_boxed_str(),
            split: u32::try_from(username.len()).unwrap_or(u32::MAX),
        }
    }
    pub(crate) fn username(&self) -> &str {
        &self.buf[..self.split as usize]
    }
    pub(crate) fn uid(&self) -> &str {
        &self.buf[self.split as usize..]
    }
}

impl Ord for Key {
    /// Bytewise on both parts, as the index and `ORDER BY` compare them (SQLite's BINARY,
    /// PostgreSQL's "C"; `member_pages` only indexes a PostgreSQL database whose default
    /// collation is bytewise, since `uid` has no explicit one).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.username(), self.uid()).cmp(&(other.username(), other.uid()))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A sorted multiset-free sequence of keys with positional access.
#[derive(Default)]
pub(crate) struct Ranked {
    blocks: Vec<Vec<Key>>,
    len: usize,
}

impl Ranked {
    /// From keys already in ascending order, without duplicates.
    pub(crate) fn from_sorted(keys: Vec<Key>) -> Ranked {
        let len = keys.len();
        let mut blocks = Vec::with_capacity(len / BLOCK + 1);
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            blocks.push(keys.by_ref().take(BLOCK).collect());
        }
        Ranked { blocks, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The block a key belongs in: the first whose last key is not below it (or the last).
    fn block_of(&self, key: &Key) -> usize {
        let at = self
            .blocks
            .partition_point(|b| b.last().is_some_and(|last| last < key));
        at.min(self.blocks.len().saturating_sub(1))
    }

    /// How many keys sort strictly before `key`.
    pub(crate) fn rank(&self, key: &Key) -> usize {
        if self.blocks.is_empty() {
            return 0;
        }
        let b = self.block_of(key);
        let before: usize = self.blocks[..b].iter().map(Vec::len).sum();
        before + self.blocks[b].partition_point(|k| k < key)
    }

    pub(crate) fn contains(&self, key: &Key) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        self.blocks[self.block_of(key)].binary_search(key).is_ok()
    }

    /// The key at position `p` (0-based), if there is one.
    pub(crate) fn at(&self, mut p: usize) -> Option<&Key> {
        for b in &self.blocks {
            if p < b.len() {
                return b.get(p);
            }
            p -= b.len();
        }
        None
    }

    pub(crate) fn insert(&mut self, key: Key) {
        if self.blocks.is_empty() {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        let b = self.block_of(&key);
        let block = &mut self.blocks[b];
        if let Err(at) = block.binary_search(&key) {
            block.insert(at, key);
            self.len += 1;
            if block.len() >= 2 * BLOCK {
                let tail = block.split_off(BLOCK);
                self.blocks.insert(b + 1, tail);
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &Key) {
        if self.blocks.is_empty() {
            return;
        }
        let b = self.block_of(key);
        if let Ok(at) = self.blocks[b].binary_search(key) {
            self.blocks[b].remove(at);
            self.len -= 1;
            if self.blocks[b].is_empty() {
                self.blocks.remove(b);
            }
        }
    }
}

/// One committed change to a room's memberships.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    seq: u64,
    key: Key,
    added: bool,
}

/// A loaded index and, per user, the sequence number of the last operation applied.
pub(crate) struct Loaded {
    pub(crate) keys: Ranked,
    last: HashMap<Box<str>, u64>,
}

impl Loaded {
    fn apply(&mut self, op: Op) {
        let newest = self
            .last
            .get(op.key.uid())
            .is_none_or(|seen| *seen < op.seq);
        if !newest {
            return;
        }
        self.last.insert(op.key.uid().into(), op.seq);
        if op.added {
            self.keys.insert(op.key);
        } else {
            self.keys.remove(&op.key);
        }
    }
}

enum IndexState {
    None,
    Loading { epoch: u64, buffered: Vec<Op> },
    Ready { epoch: u64, index: Loaded },
}

struct SlotState {
    /// Bumped by each load; operations staged under an older one are not the load's business.
    generation: u64,
    /// Operations staged and not yet applied or abandoned, and how many of them are older than
    /// `generation`.
    in_flight: usize,
    older_in_flight: usize,
    index: IndexState,
}

/// One room's index and the bookkeeping of its in-flight operations.
pub(crate) struct Slot {
    state: Mutex<SlotState>,
    /// One loader at a time; the others wait for its result.
    pub(crate) load: tokio::sync::Mutex<()>,
}

impl Slot {
    fn state(&self) -> MutexGuard<'_, SlotState> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Loads running at once, store-wide: each holds a reader connection while it streams a room,
/// and ten rooms loading together would leave no reader for anything else (503s).
const CONCURRENT_LOADS: usize = 2;

/// Every room's index, kept by the store.
pub(crate) struct MemberIndexes {
    rooms: Mutex<HashMap<Box<str>, Arc<Slot>>>,
    seq: AtomicU64,
    epoch: AtomicU64,
    /// Permits to load (`CONCURRENT_LOADS`).
    pub(crate) loads: tokio::sync::Semaphore,
}

impl Default for MemberIndexes {
    fn default() -> Self {
        MemberIndexes {
            rooms: Mutex::default(),
            seq: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            loads: tokio::sync::Semaphore::new(CONCURRENT_LOADS),
        }
    }
}

/// Operations staged by one transaction; `finish` after a successful commit applies them.
/// Dropped unfinished (a failed commit, or an error after staging), it makes the room's index
/// stale, since the outcome is unknown.
pub(crate) struct Staged {
    owner: Arc<MemberIndexes>,
    rid: Box<str>,
    generation: u64,
    ops: Vec<Op>,
    done: bool,
}

impl MemberIndexes {
    fn rooms(&self) -> MutexGuard<'_, HashMap<Box<str>, Arc<Slot>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slot(&self, rid: &str) -> Arc<Slot> {
        self.rooms()
            .entry(rid.into())
            .or_insert_with(|| {
                Arc::new(Slot {
                    state: Mutex::new(SlotState {
                        generation: 0,
                        in_flight: 0,
                        older_in_flight: 0,
                        index: IndexState::None,
                    }),
                    load: tokio::sync::Mutex::new(()),
                })
            })
            .clone()
    }

    /// Stages `added`/removed `(username, uid)` memberships of `rid`. Call inside the write
    /// transaction, after the room is locked and the rows are written. The handle owns its
    /// registry, so a write job can hand it back to its caller, who finishes it once the job's
    /// group commit answered OK (`pool::Db::write`).
    pub(crate) fn stage(
        self: &Arc<Self>,
        rid: &str,
        changes: impl IntoIterator<Item = (Key, bool)>,
    ) -> Staged {
        let ops: Vec<Op> = changes
            .into_iter()
            .map(|(key, added)| Op {
                seq: self.seq.fetch_add(1, Ordering::SeqCst),
                key,
                added,
            })
            .collect();
        let slot = self.slot(rid);
        let mut state = slot.state();
        state.in_flight += 1;
        Staged {
            owner: self.clone(),
            rid: rid.into(),
            generation: state.generation,
            ops,
            done: false,
        }
    }

    /// Every index becomes stale (renames, deleted users or rooms: rare, and cheaper to reload
    /// than to follow).
    pub(crate) fn invalidate_all(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn end(&self, staged: &mut Staged, committed: bool) {
        staged.done = true;
        let slot = self.slot(&staged.rid);
        let mut state = slot.state();
        state.in_flight -= 1;
        if staged.generation < state.generation {
            // Older than the current load, which waited for this to commit before reading.
            state.older_in_flight -= 1;
        } else if !committed {
            state.index = IndexState::None;
        } else {
            let ops = std::mem::take(&mut staged.ops);
            match &mut state.index {
                IndexState::None => {}
                IndexState::Loading { buffered, .. } => buffered.extend(ops),
                IndexState::Ready { index, .. } => ops.into_iter().for_each(|op| index.apply(op)),
            }
        }
        if state.in_flight == 0 && matches!(state.index, IndexState::None) {
            drop(state);
            let mut rooms = self.rooms();
            // Still idle under the registry lock: nobody can have picked the slot up meanwhile.
            let idle = rooms.get(&staged.rid).is_some_and(|s| {
                let st = s.state();
                st.in_flight == 0 && matches!(st.index, IndexState::None)
            });
            if idle && Arc::strong_count(&slot) <= 2 {
                rooms.remove(&staged.rid);
            }
        }
    }

    /// Runs `f` on the room's index if it is loaded and current.
    pub(crate) fn with_index<T>(&self, rid: &str, f: impl FnOnce(&Loaded) -> T) -> Option<T> {
        let slot = self.rooms().get(rid).cloned()?;
        let state = slot.state();
        match &state.index {
            IndexState::Ready { epoch, index } if *epoch == self.epoch() => Some(f(index)),
            _ => None,
        }
    }

    /// The slot to load through (take its `load` lock first, then `begin_load`).
    pub(crate) fn loader(&self, rid: &str) -> Arc<Slot> {
        self.slot(rid)
    }

    /// Registers a load: later operations are buffered for it. Returns the epoch it loads at.
    pub(crate) fn begin_load(&self, slot: &Slot) -> u64 {
        let epoch = self.epoch();
        let mut state = slot.state();
        state.generation += 1;
        state.older_in_flight = state.in_flight;
        state.index = IndexState::Loading {
            epoch,
            buffered: vec![],
        };
        epoch
    }

    /// Whether every operation staged before the load registered has finished (committed, so
    /// visible to a snapshot that begins now, or abandoned).
    pub(crate) fn settled(&self, slot: &Slot) -> bool {
        slot.state().older_in_flight == 0
    }

    /// Installs the keys a load read (ascending) with the operations buffered meanwhile, unless
    /// something made it stale; `None` keys abandon the load.
    pub(crate) fn finish_load(&self, slot: &Slot, keys: Option<Vec<Key>>) {
        let mut state = slot.state();
        let loading = std::mem::replace(&mut state.index, IndexState::None);
        let (IndexState::Loading { epoch, buffered }, Some(keys)) = (loading, keys) else {
            return;
        };
        if epoch != self.epoch() {
            return;
        }
        let mut index = Loaded {
            keys: Ranked::from_sorted(keys),
            last: HashMap::new(),
        };
        buffered.into_iter().for_each(|op| index.apply(op));
        state.index = IndexState::Ready { epoch, index };
    }
}

impl Staged {
    /// The transaction committed: apply its operations.
    pub(crate) fn finish(mut self) {
        let owner = self.owner.clone();
        owner.end(&mut self, true);
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let owner = self.owner.clone();
            owner.end(self, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> Key {
        Key::new(&format!("user{i:06}"), &format!("id{i}"))
    }

    #[test]
    fn ranked_positions_follow_inserts_and_removes() {
        let mut r = Ranked::from_sorted((0..5000).step_by(2).map(key).collect());
        assert_eq!(r.len(), 2500);
        for i in (1..5000).step_by(2) {
            r.insert(key(i));
        }
        r.insert(key(7));
        assert_eq!(r.len(), 5000);
        for i in [0, 1, 1023, 1024, 2047, 2048, 4999] {
            assert_eq!(r.at(i), Some(&key(i)));
            assert_eq!(r.rank(&key(i)), i);
        }
        assert_eq!(r.at(5000), None);
        for i in (0..5000).step_by(3) {
            r.remove(&key(i));
        }
        let left: Vec<usize> = (0..5000).filter(|i| i % 3 != 0).collect();
        assert_eq!(r.len(), left.len());
        for (p, i) in left.iter().enumerate() {
            assert_eq!(r.at(p), Some(&key(*i)));
            assert!(r.contains(&key(*i)));
        }
        assert!(!r.contains(&key(0)));
    }

    #[test]
    fn keys_order_by_username_then_uid() {
        assert!(Key::new("ab", "z") < Key::new("abc", "a"));
        assert!(Key::new("", "b") > Key::new("", "a"));
        assert_eq!(Key::new("ab", "c").username(), "ab");
        assert_eq!(Key::new("ab", "c").uid(), "c");
    }

    #[test]
    fn late_applications_of_older_operations_lose() {
        let idx = Arc::new(MemberIndexes::default());
        let slot = idx.loader("r");
        idx.begin_load(&slot);
        idx.finish_load(&slot, Some(vec![]));
        let add = idx.stage("r", [(key(1), true)]);
        let remove = idx.stage("r", [(key(1), false)]);
        remove.finish();
        add.finish();
        assert_eq!(idx.with_index("r", |l| l.keys.len()), Some(0));
        // Dropped unfinished: the index is no longer trusted.
        drop(idx.stage("r", [(key(2), true)]));
        assert_eq!(idx.with_index("r", |l| l.keys.len()), None);
    }
}
