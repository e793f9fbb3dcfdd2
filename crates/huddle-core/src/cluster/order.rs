//! One followed room's order: the last `seq` applied on this node, the events that arrived
//! ahead of a gap, and who waits for a number to be applied. Pure bookkeeping under the hub's
//! lock; the hub applies what `offer` releases, and fills gaps from the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::model::Room;
use crate::store::RoomEventItem;

/// One room event as a node applies it.
#[derive(Debug)]
pub(crate) struct Change {
    pub seq: i64,
    pub room: Room,
    pub items: Vec<RoomEventItem>,
}

pub(crate) struct RoomOrder {
    /// The last number applied here; `None` until where to start is known.
    pub applied: Option<i64>,
    pending: BTreeMap<i64, Arc<Change>>,
    /// A number some caller waits for beyond what arrived (a revocation's acknowledgement):
    /// the gap up to it is filled even if the bus never brings it.
    target: i64,
    waiters: Vec<(i64, oneshot::Sender<()>)>,
    /// A fill from the database is running.
    pub filling: bool,
    /// When this node began to follow the room (interest is dropped only after a grace).
    pub since: Instant,
}

impl RoomOrder {
    pub fn new(applied: Option<i64>) -> Self {
        RoomOrder {
            applied,
            pending: BTreeMap::new(),
            target: 0,
            waiters: Vec::new(),
            filling: false,
            since: Instant::now(),
        }
    }

    /// Takes `c`; returns what may be applied now, in order (possibly nothing).
    pub fn offer(&mut self, c: Arc<Change>) -> Vec<Arc<Change>> {
        if self.applied.is_some_and(|a| c.seq <= a) {
            return vec![];
        }
        self.pending.insert(c.seq, c);
        self.drain()
    }

    /// Where to start is known: numbers up to `b` happened before this node followed the room.
    pub fn start_at(&mut self, b: i64) -> Vec<Arc<Change>> {
        let b = self.applied.map_or(b, |a| a.max(b));
        self.applied = Some(b);
        self.pending = self.pending.split_off(&(b + 1));
        self.drain()
    }

    fn drain(&mut self) -> Vec<Arc<Change>> {
        let Some(mut a) = self.applied else {
            return vec![];
        };
        let mut out = vec![];
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() != a + 1 {
                break;
            }
            a += 1;
            out.push(entry.remove());
        }
        self.applied = Some(a);
        let (done, wait): (Vec<_>, Vec<_>) = self.waiters.drain(..).partition(|(s, _)| *s <= a);
        self.waiters = wait;
        for (_, tx) in done {
            let _ = tx.send(());
        }
        out
    }

    /// The numbers missing before what is pending or awaited: `(after, up_to)`, both
    /// exclusive of `after`, inclusive of `up_to`.
    pub fn gap(&self) -> Option<(i64, i64)> {
        let a = self.applied?;
        let first_pending = self.pending.keys().next().map(|s| s - 1);
        let up_to = first_pending.unwrap_or(0).max(self.target);
        (up_to > a).then_some((a, up_to))
    }

    /// The database says the room reached `seq`: fill up to it.
    pub fn want(&mut self, seq: i64) {
        self.target = self.target.max(seq);
    }

    /// Resolves once `seq` is applied here (`None`: it already is).
    pub fn wait(&mut self, seq: i64) -> Option<oneshot::Receiver<()>> {
        if self.applied.is_some_and(|a| seq <= a) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.push((seq, tx));
        self.target = self.target.max(seq);
        Some(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoomType;

    fn c(seq: i64) -> Arc<Change> {
        Arc::new(Change {
            seq,
            room: Room::new("r".into(), RoomType::Group, None, None),
            items: vec![],
        })
    }

    fn seqs(v: Vec<Arc<Change>>) -> Vec<i64> {
        v.into_iter().map(|c| c.seq).collect()
    }

    #[test]
    fn applies_in_seq_order_and_reports_gaps() {
        let mut o = RoomOrder::new(Some(4));
        assert_eq!(seqs(o.offer(c(5))), vec![5]);
        assert_eq!(seqs(o.offer(c(7))), Vec::<i64>::new());
        assert_eq!(o.gap(), Some((5, 6)));
        assert_eq!(
            seqs(o.offer(c(5))),
            Vec::<i64>::new(),
            "a duplicate is dropped"
        );
        assert_eq!(seqs(o.offer(c(6))), vec![6, 7]);
        assert_eq!(o.gap(), None);
    }

    #[test]
    fn nothing_applies_before_the_start_is_known() {
        let mut o = RoomOrder::new(None);
        assert!(o.offer(c(3)).is_empty());
        assert!(o.offer(c(4)).is_empty());
        assert_eq!(o.gap(), None);
        assert_eq!(seqs(o.start_at(3)), vec![4], "3 happened before the start");
    }

    #[test]
    fn waiters_resolve_once_applied_and_name_a_gap() {
        let mut o = RoomOrder::new(Some(1));
        assert!(o.wait(1).is_none());
        let mut w = o.wait(3).expect("3 is ahead");
        assert_eq!(
            o.gap(),
            Some((1, 3)),
            "an awaited number is filled even if never sent"
        );
        o.offer(c(2));
        assert!(w.try_recv().is_err());
        o.offer(c(3));
        assert!(w.try_recv().is_ok());
    }
}
