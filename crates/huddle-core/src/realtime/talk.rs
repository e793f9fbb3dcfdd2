//! TalkJS-style conversation events for the native socket: numbering by log position, the
//! replay of what a reconnecting client missed (read from `room_events`, so it works on any node
//! of a cluster and across restarts), and the fan-out to conversation and inbox subscribers.
//! Guest subscriptions sit in their own per-room index (`RoomStream::TalkGuest`), so switching
//! guest access off ends them without touching participants.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::delivery::{Delivery, EndReason, Notice, TalkChange};
use super::router::{Gate, Router};
use super::state::State;
use super::{ConnId, RoomStream, Topic, Verdict};
use crate::events::{written_events, Event};
use crate::model::{Room, RoomType};
use crate::store::{RoomEvent, RoomWritten};
use crate::Result;

/// Log entries (`room_events` rows) a resume replays at most; further behind, the client is
/// told to resync.
pub const REPLAY_MAX: usize = 500;
/// Bits of an event id that number the events within one log entry.
const ORDINAL_BITS: u32 = 20;
/// Times a resume re-reads the log when events of the room were routed while it read.
const REPLAY_TRIES: usize = 5;

/// The id of the `ordinal`-th (from 1) conversation event of log entry `seq`. Ids grow with
/// the room's log, are the same on every node and stay below 2^53 (JavaScript's exact integers)
/// for 2^33 entries per room.
pub fn event_id(seq: i64, ordinal: u64) -> u64 {
    (u64::try_from(seq).unwrap_or(0) << ORDINAL_BITS) | ordinal.min((1 << ORDINAL_BITS) - 1)
}

/// The log entry an event id belongs to.
fn entry_of(id: u64) -> i64 {
    i64::try_from(id >> ORDINAL_BITS).unwrap_or(i64::MAX)
}

/// What a resuming subscription gets before live events.
#[derive(Debug)]
pub enum Replay {
    /// Nothing asked (`since` absent).
    None,
    /// Every event after `since`, oldest first (possibly none).
    Events(Vec<Arc<Delivery>>),
    /// The events after `since` cannot be vouched for (an id this log never handed out, or
    /// too far behind, or an inbox): reload through REST.
    Resync,
}

/// The log entry whose events are being routed, per room (between its `RoomSeq` marks), and
/// how many conversation events it produced so far.
#[derive(Default)]
pub struct TalkPositions {
    open: HashMap<String, (i64, u64)>,
}

impl TalkPositions {
    pub(super) fn mark(&mut self, rid: &str, seq: Option<i64>) {
        match seq {
            Some(seq) => {
                self.open.insert(rid.to_string(), (seq, 0));
            }
            None => {
                self.open.remove(rid);
            }
        }
    }

    /// The next event id of `rid`. Every conversation event comes from a log entry
    /// (`publish_written`); one outside any would be a bug, and gets id 0, which no resume
    /// accepts (its client resyncs).
    fn next(&mut self, rid: &str) -> u64 {
        match self.open.get_mut(rid) {
            Some((seq, ordinal)) => {
                *ordinal += 1;
                event_id(*seq, *ordinal)
            }
            None => {
                tracing::warn!(rid, "a conversation event outside a log entry");
                0
            }
        }
    }
}

/// The conversation event an event is, with the user who hears it on their inbox even if no
/// longer a member (who just left). The live path (`State::dispatch`) and the replay both use
/// this, so both number the same events the same way.
pub(super) fn talk_change(event: &Event) -> Option<(&str, TalkChange, Option<&str>)> {
    Some(match event {
        Event::MessageCreated { message, room } => (
            room.id.as_str(),
            TalkChange::MessageCreated(Arc::new(message.clone())),
            None,
        ),
        Event::MessageUpdated { message, room } => (
            room.id.as_str(),
            TalkChange::MessageUpdated(Arc::new(message.clone())),
            None,
        ),
        Event::MessageDeleted { rid, id } => (
            rid.as_str(),
            TalkChange::MessageDeleted { id: id.clone() },
            None,
        ),
        Event::MemberAdded { subscription, .. } => (
            subscription.rid.as_str(),
            TalkChange::ParticipantJoined(Arc::new(subscription.clone())),
            Some(subscription.u.id.as_str()),
        ),
        Event::MemberRemoved { rid, uid } => (
            rid.as_str(),
            TalkChange::ParticipantLeft { uid: uid.clone() },
            Some(uid.as_str()),
        ),
        Event::MemberUpdated(s) => (
            s.rid.as_str(),
            TalkChange::ParticipantUpdated(Arc::new(s.clone())),
            Some(s.u.id.as_str()),
        ),
        Event::GuestAccessChanged {
            rid: Some(rid),
            allowed,
        } => (
            rid.as_str(),
            TalkChange::GuestAccessChanged { allowed: *allowed },
            None,
        ),
        Event::RoomChanged(room) => (
            room.id.as_str(),
            TalkChange::ConversationUpdated(Arc::new(room.clone())),
            None,
        ),
        Event::RoomDeleted { rid } => (rid.as_str(), TalkChange::ConversationDeleted, None),
        _ => return None,
    })
}

/// The conversation events of logged entries, numbered as the live path numbered them, that
/// come after `since`. `room` is the room as it is now (a replayed `conversation.updated`
/// after a membership change shows it).
fn replay_of(room: &Room, entries: Vec<RoomEvent>, since: u64) -> Vec<Arc<Delivery>> {
    let mut out = vec![];
    for e in entries {
        let written = RoomWritten {
            seq: Some(e.seq),
            items: e.items,
            counters: None,
        };
        let mut ordinal = 0;
        for event in written_events(room, &written) {
            let Some((rid, change, _)) = talk_change(&event) else {
                continue;
            };
            ordinal += 1;
            let id = event_id(e.seq, ordinal);
            if id > since {
                out.push(Delivery::new(Notice::Talk {
                    rid: rid.to_string(),
                    event_id: id,
                    change,
                }));
            }
        }
    }
    out
}

/// A conversation's replay read from the log, before it is checked under the router's lock.
pub(super) enum Loaded {
    /// The events after `since`, complete through log entry `through`.
    Events {
        events: Vec<Arc<Delivery>>,
        through: i64,
    },
    Resync,
}

impl State {
    /// Routes the conversation event `event` is, if any (`talk_change`).
    pub(super) fn talk_of(&mut self, event: &Event, dead: &mut Vec<ConnId>) {
        if let Some((rid, change, also)) = talk_change(event) {
            self.talk_emit(rid, change, also, dead);
        }
    }

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

    /// Numbers and delivers one conversation event: to the conversation's participant and
    /// guest subscribers, and to the inbox subscribers among its online members and `also` (a
    /// member who just left still hears that they left). Each connection gets it once, except
    /// a connection whose resume replayed it already.
    pub(super) fn talk_emit(
        &mut self,
        rid: &str,
        change: TalkChange,
        also: Option<&str>,
        dead: &mut Vec<ConnId>,
    ) {
        let event_id = self.talk.next(rid);
        let d = Delivery::new(Notice::Talk {
            rid: rid.to_string(),
            event_id,
            change,
        });
        let mut to: HashSet<ConnId> = HashSet::new();
        let mut replayed: HashSet<ConnId> = HashSet::new();
        if let Some(entry) = self.rooms.get_mut(rid) {
            entry.last_talk = entry.last_talk.max(event_id);
            for stream in [RoomStream::Talk, RoomStream::TalkGuest] {
                if let Some(m) = entry.live.get(&stream) {
                    to.extend(m.keys());
                }
            }
            let seq = entry_of(event_id);
            entry.replayed.retain(|conn, through| {
                if seq <= *through {
                    replayed.insert(*conn);
                    true
                } else {
                    false
                }
            });
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
            if !replayed.contains(&conn) {
                self.offer(conn, d.clone(), dead);
            }
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
    /// protocol queues "ready" and the replay there.
    ///
    /// The replay is read from the room's log after the room is held here, so every event
    /// routed here before the hold is in it; under the lock, if this node routed events of a
    /// later log entry meanwhile, the log is read again (a few times, then `Resync`); otherwise
    /// the live events of the entries the replay covered are not sent to this connection again.
    /// No gap and no duplicate, on whichever node the client comes back to.
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
        let rid = match &topic {
            Topic::Conversation { rid, .. } => Some(rid.clone()),
            _ => None,
        };
        let mut then = Some(then);
        for _ in 0..REPLAY_TRIES {
            let mut replay = Replay::None;
            let verdict = self
                .subscribe_gated(
                    conn,
                    sub_id,
                    topic.clone(),
                    || self.load_replay(rid.as_deref(), since),
                    |st: &State, loaded: &Option<Loaded>| {
                        if guest && st.guest_epoch != guest_epoch {
                            return Gate::Refuse;
                        }
                        match (loaded, rid.as_deref()) {
                            (Some(Loaded::Events { through, .. }), Some(r)) => {
                                let routed = st.rooms.get(r).map_or(0, |e| e.last_talk);
                                if entry_of(routed) > *through {
                                    return Gate::Retry;
                                }
                                Gate::Admit
                            }
                            _ => Gate::Admit,
                        }
                    },
                    |st: &mut State, v, loaded: Option<Loaded>| {
                        if v == Verdict::Live {
                            replay = match (loaded, since, rid.as_deref()) {
                                (_, None, _) => Replay::None,
                                (Some(Loaded::Events { events, through }), _, Some(r)) => {
                                    if let Some(e) = st.rooms.get_mut(r) {
                                        e.replayed.insert(conn, through);
                                    }
                                    Replay::Events(events)
                                }
                                _ => Replay::Resync,
                            };
                        }
                        if let Some(f) = then.take() {
                            f(v, std::mem::replace(&mut replay, Replay::None));
                        }
                    },
                )
                .await?;
            if let Some(v) = verdict {
                return Ok(v);
            }
        }
        // Events kept coming faster than the log could be read: the client reloads.
        let verdict = self
            .subscribe_gated(
                conn,
                sub_id,
                topic,
                || async { Ok(None) },
                |st: &State, _: &Option<Loaded>| {
                    if guest && st.guest_epoch != guest_epoch {
                        Gate::Refuse
                    } else {
                        Gate::Admit
                    }
                },
                |_: &mut State, v, _| {
                    if let Some(f) = then.take() {
                        f(v, Replay::Resync);
                    }
                },
            )
            .await?;
        Ok(verdict.unwrap_or(Verdict::Denied))
    }

    /// The events of conversation `rid` after `since`, from its log. `None` when nothing is
    /// asked; `Resync` for an inbox, an id this log never handed out, or too long an absence.
    async fn load_replay(&self, rid: Option<&str>, since: Option<u64>) -> Result<Option<Loaded>> {
        let Some(since) = since else {
            return Ok(None);
        };
        // An inbox spans conversations numbered apart: one id cannot say where each was.
        let Some(rid) = rid else {
            return Ok(Some(Loaded::Resync));
        };
        let from = entry_of(since);
        let limit = i64::try_from(REPLAY_MAX).unwrap_or(500) + 1;
        let entries = self.store.room_events(rid, from - 1, limit).await?;
        // The entry `since` came from must be the first one read: otherwise the id was never
        // handed out (made up, from the future) or its entry is gone.
        if entries.first().map(|e| e.seq) != Some(from) || entries.len() > REPLAY_MAX {
            return Ok(Some(Loaded::Resync));
        }
        let through = entries.last().map_or(from, |e| e.seq);
        let room = match self.store.room_by_id(rid).await? {
            Some(r) => r,
            None => Room::new(rid.to_string(), RoomType::Group, None, None),
        };
        Ok(Some(Loaded::Events {
            events: replay_of(&room, entries, since),
            through,
        }))
    }
}
