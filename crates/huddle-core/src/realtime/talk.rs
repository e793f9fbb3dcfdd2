//! TalkJS-style conversation events for the native socket: numbering, a bounded in-memory log
//! per conversation for resuming after a reconnect, and the fan-out to conversation and inbox
//! subscribers. Guest subscriptions sit in their own per-room index (`RoomStream::TalkGuest`),
//! so switching guest access off ends them without touching participants.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use super::delivery::{Delivery, EndReason, Notice, TalkChange};
use super::router::Router;
use super::state::State;
use super::{ConnId, RoomStream, Topic, Verdict};
use crate::Result;

/// Events kept per conversation for replay.
pub const RING_CAPACITY: usize = 256;
/// Conversations with a log; beyond this the one with the oldest last event is forgotten (its
/// readers then get a resync instead of a replay).
const MAX_LOGS: usize = 4096;

/// What a resuming subscription gets before live events.
#[derive(Debug)]
pub enum Replay {
    /// Nothing asked (`since` absent).
    None,
    /// Every event after `since`, oldest first (possibly none).
    Events(Vec<Arc<Delivery>>),
    /// Some events after `since` are no longer kept: reload through REST.
    Resync,
}

struct Ring {
    /// Every event of this conversation with an id above `floor` is in `events`.
    floor: u64,
    events: VecDeque<(u64, Arc<Delivery>)>,
}

pub struct TalkLog {
    /// The last id handed out. Starts at the boot time in microseconds, so ids keep growing
    /// across a restart and an id from an earlier process is never mistaken for a recent one.
    last_id: u64,
    /// Ids at or below this may belong to a forgotten log (or an earlier process).
    watermark: u64,
    rings: HashMap<String, Ring>,
}

impl Default for TalkLog {
    fn default() -> Self {
        let boot = u64::try_from(crate::Timestamp::now().millis())
            .unwrap_or(0)
            .saturating_mul(1000);
        TalkLog {
            last_id: boot,
            watermark: boot,
            rings: HashMap::new(),
        }
    }
}

impl TalkLog {
    /// Numbers an event and keeps it.
    fn record(&mut self, rid: &str, make: impl FnOnce(u64) -> Arc<Delivery>) -> Arc<Delivery> {
        self.last_id += 1;
        let id = self.last_id;
        if !self.rings.contains_key(rid) && self.rings.len() >= MAX_LOGS {
            self.evict_oldest();
        }
        // No event of this room since the watermark, or its log would exist.
        let floor = self.watermark;
        let ring = self.rings.entry(rid.to_string()).or_insert_with(|| Ring {
            floor,
            events: VecDeque::new(),
        });
        let d = make(id);
        if ring.events.len() >= RING_CAPACITY {
            if let Some((old, _)) = ring.events.pop_front() {
                ring.floor = old;
            }
        }
        ring.events.push_back((id, d.clone()));
        d
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .rings
            .iter()
            .min_by_key(|(_, r)| r.events.back().map(|e| e.0).unwrap_or(r.floor))
            .map(|(rid, r)| (rid.clone(), r.events.back().map(|e| e.0).unwrap_or(r.floor)));
        if let Some((rid, last)) = oldest {
            self.rings.remove(&rid);
            self.watermark = self.watermark.max(last);
        }
    }

    /// The events of `rid` after `since`, or `Resync` when some may be missing.
    fn after(&self, rid: &str, since: u64) -> std::result::Result<Vec<Arc<Delivery>>, ()> {
        if since > self.last_id {
            // From another process or made up: cannot vouch for anything.
            return Err(());
        }
        match self.rings.get(rid) {
            Some(ring) if since >= ring.floor => Ok(ring
                .events
                .iter()
                .filter(|(id, _)| *id > since)
                .map(|(_, d)| d.clone())
                .collect()),
            Some(_) => Err(()),
            // No event of this room since the later of boot and the last forgotten log.
            None if since >= self.watermark => Ok(vec![]),
            None => Err(()),
        }
    }

    pub(super) fn forget(&mut self, rid: &str) {
        if let Some(ring) = self.rings.remove(rid) {
            let last = ring.events.back().map(|e| e.0).unwrap_or(ring.floor);
            self.watermark = self.watermark.max(last);
        }
    }
}

impl State {
    /// Typing in a conversation, to its participant and guest subscribers (guests see others
    /// type), except the connection it came from. Only `user-typing` counts as typing; any
    /// other activity list (RC clients send `[]` to stop) is "stopped".
    pub(super) fn talk_typing(
        &mut self,
        rid: &str,
        uid: &str,
        activities: &[String],
        origin: Option<&str>,
        dead: &mut Vec<ConnId>,
    ) {
        let Some(entry) = self.rooms.get(rid) else {
            return;
        };
        let to: HashSet<ConnId> = [RoomStream::Talk, RoomStream::TalkGuest]
            .iter()
            .filter_map(|s| entry.live.get(s))
            .flat_map(|m| m.keys().copied())
            .filter(|c| origin.is_none() || self.conns.get(c).map(|c| c.session.as_str()) != origin)
            .collect();
        if to.is_empty() {
            return;
        }
        let d = Delivery::new(Notice::Typing {
            rid: rid.to_string(),
            uid: uid.to_string(),
            typing: activities.iter().any(|a| a == "user-typing"),
        });
        for conn in to {
            self.offer(conn, d.clone(), dead);
        }
    }

    /// Numbers, logs and delivers one conversation event: to the conversation's participant
    /// and guest subscribers, and to the inbox subscribers among its online members and `also`
    /// (a member who just left still hears that they left). Each connection gets it once.
    pub(super) fn talk_emit(
        &mut self,
        rid: &str,
        change: TalkChange,
        also: Option<&str>,
        dead: &mut Vec<ConnId>,
    ) {
        let d = self.talk.record(rid, |event_id| {
            Delivery::new(Notice::Talk {
                rid: rid.to_string(),
                event_id,
                change,
            })
        });
        let mut to: HashSet<ConnId> = HashSet::new();
        if let Some(entry) = self.rooms.get(rid) {
            for stream in [RoomStream::Talk, RoomStream::TalkGuest] {
                if let Some(m) = entry.live.get(&stream) {
                    to.extend(m.keys());
                }
            }
        }
        if !self.inbox.is_empty() {
            let members = self.members_online.get(rid).into_iter().flatten();
            for uid in members.map(String::as_str).chain(also) {
                if let Some(u) = self.users.get(uid) {
                    to.extend(u.conns.iter().filter(|c| self.inbox.contains_key(c)));
                }
            }
        }
        for conn in to {
            self.offer(conn, d.clone(), dead);
        }
    }

    /// Ends the guest subscriptions of `rid`, or of every room for `None`.
    pub(super) fn end_guests(&mut self, rid: Option<&str>, dead: &mut Vec<ConnId>) {
        self.guest_epoch += 1;
        let conns: HashSet<ConnId> = match rid {
            Some(r) => self
                .rooms
                .get(r)
                .and_then(|e| e.live.get(&RoomStream::TalkGuest))
                .map(|m| m.keys().copied().collect())
                .unwrap_or_default(),
            None => self
                .rooms
                .values()
                .filter_map(|e| e.live.get(&RoomStream::TalkGuest))
                .flat_map(|m| m.keys().copied())
                .collect(),
        };
        for conn in conns {
            let Some(c) = self.conns.get(&conn) else {
                continue;
            };
            let ended: Vec<String> = c
                .subs
                .iter()
                .filter(|(_, s)| match &s.topic {
                    Topic::Conversation {
                        rid: r,
                        guest: true,
                    } => rid.is_none() || rid == Some(r.as_str()),
                    _ => false,
                })
                .map(|(id, _)| id.clone())
                .collect();
            for sub_id in ended {
                self.remove_sub(conn, &sub_id);
                let notice = Notice::Ended {
                    sub_id,
                    reason: EndReason::GuestAccessOff,
                };
                self.offer(conn, Delivery::new(notice), dead);
            }
        }
    }

    fn replay(&self, conn: ConnId, topic: &Topic, since: u64) -> Replay {
        let result = match topic {
            Topic::Conversation { rid, .. } => self.talk.after(rid, since),
            Topic::Inbox => {
                let rooms = self
                    .conns
                    .get(&conn)
                    .and_then(|c| c.user.as_ref())
                    .and_then(|u| self.users.get(u))
                    .map(|u| u.rooms.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default();
                let mut all = vec![];
                let mut missing = false;
                for rid in rooms {
                    match self.talk.after(&rid, since) {
                        Ok(ev) => all.extend(ev),
                        Err(()) => missing = true,
                    }
                }
                if missing {
                    Err(())
                } else {
                    all.sort_by_key(|d| match d.notice() {
                        Notice::Talk { event_id, .. } => *event_id,
                        _ => 0,
                    });
                    Ok(all)
                }
            }
            _ => Ok(vec![]),
        };
        match result {
            Ok(events) => Replay::Events(events),
            Err(()) => Replay::Resync,
        }
    }
}

impl Router {
    /// The current guest epoch: read it before checking guest access in the store, pass it to
    /// `subscribe_talk`.
    pub fn guest_epoch(&self) -> u64 {
        self.state().guest_epoch
    }

    /// Starts a native subscription (`Topic::Conversation` or `Topic::Inbox`). A guest one is
    /// refused when guest access was switched off anywhere since `guest_epoch` was read. `then`
    /// runs under the router's lock with the verdict and, for `since`, the missed events: the
    /// protocol queues "ready" and the replay there, so nothing is lost or doubled between the
    /// replay and the first live event.
    pub async fn subscribe_talk(
        &self,
        conn: ConnId,
        sub_id: &str,
        topic: Topic,
        guest_epoch: u64,
        since: Option<u64>,
        then: impl FnOnce(Verdict, Replay),
    ) -> Result<Verdict> {
        let guest = matches!(topic, Topic::Conversation { guest: true, .. });
        let mut replay_topic = Some(topic.clone());
        let mut out = Replay::None;
        let mut then = Some(then);
        // `subscribe_then` loads the room outside the lock and then calls us under it.
        let verdict = self
            .subscribe_gated(
                conn,
                sub_id,
                topic,
                move |st: &State| !guest || st.guest_epoch == guest_epoch,
                |st: &State, v| {
                    if let (Some(t), Some(s), Verdict::Live) = (replay_topic.take(), since, v) {
                        out = st.replay(conn, &t, s);
                    }
                    if let Some(f) = then.take() {
                        f(v, std::mem::replace(&mut out, Replay::None));
                    }
                },
            )
            .await?;
        Ok(verdict)
    }
}
