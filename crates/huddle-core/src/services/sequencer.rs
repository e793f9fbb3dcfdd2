//! Publishing in commit order. Two writes to one room can commit as seq 5 and 6 and yet reach
//! the hub in the other order (their tasks wake in any order after the commit), and then a
//! socket would see 6 before 5. The sequencer publishes each room's results in `seq` order: a
//! result goes out at once when its predecessor was the last one published; otherwise it waits
//! until every write of that room that had begun before it finished has finished too.
//!
//! Why that is enough: if seq 5 committed before seq 6, the write of 5 began before 6's commit,
//! so before 6 finished; 6 therefore waits for it. A write that begins after 6 finished commits
//! after it and cannot hold a smaller number, so it never holds 6 back (no stall under steady
//! load), and numbers taken by another process (the CLI) are not waited for beyond that.
//! Idle rooms keep only their last number, and are forgotten in bulk once more than
//! `REMEMBERED` rooms are known (a forgotten room's first result then waits for the writes that
//! began before it, at most). A writer learns when its own result went out
//! (`Finished::Waiting`), so a call returns only after its events were published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::store::RoomWritten;
use crate::Room;

/// What a write hands the publisher: the room as it left it and what it committed.
pub(crate) type Ready = (Room, Arc<RoomWritten>);

/// Idle rooms remembered (their last number) before they are forgotten in bulk.
const REMEMBERED: usize = 100_000;

/// A result held back: the tickets issued before its write finished, the result, and who to
/// tell once it is out.
type Held = (u64, Ready, oneshot::Sender<()>);

#[derive(Default)]
struct RoomOrder {
    next_ticket: u64,
    in_flight: BTreeSet<u64>,
    /// The last seq published, while the room is remembered.
    last: Option<i64>,
    waiting: BTreeMap<i64, Held>,
}

/// Whether a finished write's result is out.
pub(crate) enum Finished {
    Published,
    /// Held back; resolves once published.
    Waiting(oneshot::Receiver<()>),
}

#[derive(Default)]
pub(crate) struct Sequencer {
    rooms: Mutex<HashMap<String, RoomOrder>>,
}

impl Sequencer {
    /// A write to `rid` is about to start; its ticket goes back to `finish`.
    pub(crate) fn begin(&self, rid: &str) -> u64 {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let order = rooms.entry(rid.to_string()).or_default();
        let ticket = order.next_ticket;
        order.next_ticket += 1;
        order.in_flight.insert(ticket);
        ticket
    }

    /// A write to `rid` ended (`ready` is `None` when it failed or changed nothing). Calls
    /// `publish` for every result that may go out now, in `seq` order, under the lock, so a
    /// later result cannot overtake it.
    pub(crate) fn finish(
        &self,
        rid: &str,
        ticket: u64,
        ready: Option<Ready>,
        mut publish: impl FnMut(Ready),
    ) -> Finished {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        let Some(order) = rooms.get_mut(rid) else {
            return Finished::Published;
        };
        order.in_flight.remove(&ticket);
        let mut mine = None;
        if let Some(ready) = ready {
            if let Some(seq) = ready.1.seq {
                let (tx, rx) = oneshot::channel();
                order.waiting.insert(seq, (order.next_ticket, ready, tx));
                mine = Some(rx);
            }
        }
        while let Some((&seq, (horizon, _, _))) = order.waiting.first_key_value() {
            let next = order.last.is_some_and(|last| last + 1 == seq);
            let blocked = order.in_flight.first().is_some_and(|t| t < horizon);
            if !next && blocked {
                break;
            }
            if let Some((seq, (_, ready, done))) = order.waiting.pop_first() {
                order.last = Some(seq);
                publish(ready);
                let _ = done.send(());
            }
        }
        if rooms.len() > REMEMBERED {
            rooms.retain(|_, o| !(o.in_flight.is_empty() && o.waiting.is_empty()));
        }
        match mine {
            Some(mut rx) => match rx.try_recv() {
                Ok(()) => Finished::Published,
                Err(_) => Finished::Waiting(rx),
            },
            None => Finished::Published,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RoomType;

    fn ready(seq: i64) -> Option<Ready> {
        let room = Room::new("r".into(), RoomType::Group, None, None);
        let written = RoomWritten {
            seq: Some(seq),
            ..Default::default()
        };
        Some((room, Arc::new(written)))
    }

    #[test]
    fn results_go_out_in_seq_order_whatever_order_they_finish() {
        let s = Sequencer::default();
        let mut out = vec![];
        let (a, b, c) = (s.begin("r"), s.begin("r"), s.begin("r"));
        let held = s.finish("r", b, ready(7), |r| out.push(r.1.seq));
        assert!(out.is_empty(), "a and c began earlier and may hold 6");
        let Finished::Waiting(mut seven) = held else {
            panic!("7 is held back")
        };
        assert!(seven.try_recv().is_err());
        s.finish("r", a, ready(6), |r| out.push(r.1.seq));
        assert!(out.is_empty(), "c began before 6 finished: it may hold 5");
        s.finish("r", c, ready(8), |r| out.push(r.1.seq));
        assert_eq!(out, vec![Some(6), Some(7), Some(8)]);
        assert!(
            seven.try_recv().is_ok(),
            "the writer of 7 hears it went out"
        );
        // Now the order is known: the next number goes out at once, whatever is in flight.
        let (d, e) = (s.begin("r"), s.begin("r"));
        let done = s.finish("r", e, ready(9), |r| out.push(r.1.seq));
        assert!(matches!(done, Finished::Published));
        s.finish("r", d, ready(10), |r| out.push(r.1.seq));
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn writes_that_begin_later_never_hold_a_result_back() {
        let s = Sequencer::default();
        let mut out = vec![];
        let a = s.begin("r");
        s.finish("r", a, ready(1), |r| out.push(r.1.seq));
        assert_eq!(out, vec![Some(1)]);
        // Steady load: something is always in flight, and each next number goes out at once.
        let mut prev = s.begin("r");
        for seq in 2..50 {
            let next = s.begin("r");
            let done = s.finish("r", prev, ready(seq), |r| out.push(r.1.seq));
            assert!(matches!(done, Finished::Published), "{seq}");
            prev = next;
        }
        assert_eq!(out.len(), 49, "{out:?}");
        // A number taken by another process (the gap 50) is not waited for once nothing that
        // began earlier is in flight.
        s.finish("r", prev, ready(51), |r| out.push(r.1.seq));
        assert_eq!(out.last(), Some(&Some(51)));
    }

    #[test]
    fn failed_and_empty_writes_release_what_waits() {
        let s = Sequencer::default();
        let mut out = vec![];
        let (a, b) = (s.begin("r"), s.begin("r"));
        s.finish("r", b, ready(3), |r| out.push(r.1.seq));
        assert!(out.is_empty());
        s.finish("r", a, None, |r| out.push(r.1.seq));
        assert_eq!(out, vec![Some(3)]);
    }
}
