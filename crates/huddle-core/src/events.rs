//! Domain events: one per committed change, published after commit to a hub that realtime
//! connections and webhooks listen to. The hub is a trait so another node's events can arrive
//! the same way later.
//!
//! An event carries what its consumers need to route it (the room's type and name with a
//! message, the room with a new membership), so that the realtime router never has to ask the
//! store anything per message.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

use crate::model::{Message, Room, RoomType, Subscription, User};
use crate::store::{RoomEventItem, RoomWritten};

/// The few room facts a message event needs to be routed (`__my_messages__` reports them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomBrief {
    pub id: String,
    pub t: RoomType,
    pub name: Option<String>,
}

impl Room {
    pub fn brief(&self) -> RoomBrief {
        RoomBrief {
            id: self.id.clone(),
            t: self.t,
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    MessageCreated {
        message: Message,
        room: RoomBrief,
    },
    /// An edit, a reaction, anything that changes a stored message.
    MessageUpdated {
        message: Message,
        room: RoomBrief,
    },
    MessageDeleted {
        rid: String,
        id: String,
    },
    /// A membership was created (invite, join, room creation), with the room as it is now.
    MemberAdded {
        subscription: Subscription,
        room: Arc<Room>,
    },
    MemberRemoved {
        rid: String,
        uid: String,
    },
    /// The member's own view of a room changed (read state, open/hidden): theirs alone.
    SubscriptionChanged(Subscription),
    /// A membership changed in a way the room may see: room roles, TalkJS `access`/`notify`.
    /// One event for both APIs.
    MemberUpdated(Subscription),
    RoomChanged(Room),
    /// A message moved the room's counters (`msgs`, `lm`): only its members' room lists hear
    /// of it (Rocket.Chat's `rooms-changed` per message, with the room's `lastMessage`), not
    /// the conversation streams.
    RoomTouched {
        room: Room,
        last: Option<Box<Message>>,
    },
    RoomDeleted {
        rid: String,
    },
    PermissionsChanged,
    /// Guest access was switched for one conversation (`rid`) or the whole app (`None`).
    GuestAccessChanged {
        rid: Option<String>,
        allowed: bool,
    },
    UserCreated(User),
    /// Member `uid` read these messages of room `rid` (others' user messages that were unread
    /// for them until a mark-read): TalkJS's `message.read`, one webhook per message. Only
    /// published for conversations of at most 300 members, as TalkJS does.
    MessagesRead {
        rid: String,
        uid: String,
        messages: Vec<Message>,
    },
    /// A user's profile, roles, status or active flag changed.
    UserUpdated(User),
    /// A login token was revoked (`token_hash`), or all of a user's (`None`): live sessions
    /// logged in with it end.
    SessionRevoked {
        uid: String,
        token_hash: Option<String>,
    },
    /// Brackets the events of one `room_events` entry: `Some(seq)` before them, `None` after.
    /// Readers use it to number what they send by log position, so a client can resume on any
    /// node (the native socket's event ids). Never forwarded: every node derives it from the log.
    RoomSeq {
        rid: String,
        seq: Option<i64>,
    },
    /// Typing and similar transient activity in a room (`user-activity`). Not stored; it still
    /// travels as an event so that every node's subscribers see it. `origin` is the realtime
    /// session it came from, which does not get it back.
    UserActivity {
        rid: String,
        /// The user's id (the native socket names users by id, DDP by username).
        uid: String,
        username: String,
        activities: Vec<String>,
        origin: Option<String>,
    },
}

/// A listener the hub calls synchronously, in publish order, for every event (local or, in a
/// cluster, remote). The realtime router is one: it must see a kick before the next message of
/// that room, which a lossy broadcast channel cannot promise.
pub trait EventSink: Send + Sync {
    fn deliver(&self, event: &Arc<Event>);
}

/// What a caller still waits for after its events went out (a cluster's acknowledgements).
pub type Settle = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where services publish committed changes. The cluster hub (`crate::cluster`) forwards them
/// to the other nodes and calls the attached sinks for events arriving from them; protocols
/// never notice.
pub trait EventHub: Send + Sync {
    fn publish(&self, event: Event);
    /// A committed room change, called in the room's `seq` order for this node's writes. The
    /// default publishes its events (`publish_written`).
    fn publish_room(&self, room: &Room, written: &RoomWritten) {
        publish_written(self, room, written);
    }
    /// This node's id when other nodes share its database and events (cluster mode).
    fn node_id(&self) -> Option<&str> {
        None
    }
    /// What the writer of `written` must still wait for before answering; `None` in process.
    fn settle(&self, _rid: &str, _written: &RoomWritten) -> Option<Settle> {
        None
    }
    /// What a service that publishes a revoking user event (a logout, a deactivation, a role
    /// change) must still wait for before answering; taken before `publish`. `None` in process.
    fn settle_event(&self, _event: &Event) -> Option<Settle> {
        None
    }
    /// What a service that changed keys, settings or permissions must wait for before
    /// answering (in a cluster: every node re-read them). `None` in process.
    fn settle_shared_state(&self) -> Option<Settle> {
        None
    }
    /// A lossy feed for listeners that can resynchronise from the store (webhooks).
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
    /// Adds a listener called for every event from now on.
    fn attach(&self, sink: Arc<dyn EventSink>);
}

/// In-process hub: attached sinks are called in the publisher's task; the broadcast channel
/// feeds everyone else (slow subscribers lag and must resynchronise from the store).
pub struct LocalHub {
    tx: broadcast::Sender<Arc<Event>>,
    sinks: RwLock<Vec<Arc<dyn EventSink>>>,
}

impl LocalHub {
    pub fn new(capacity: usize) -> Self {
        LocalHub {
            tx: broadcast::channel(capacity).0,
            sinks: RwLock::new(Vec::new()),
        }
    }
}

impl Default for LocalHub {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl EventHub for LocalHub {
    fn publish(&self, event: Event) {
        let event = Arc::new(event);
        let sinks = match self.sinks.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for sink in sinks {
            sink.deliver(&event);
        }
        // Log-position marks concern the attached router only; the broadcast's listeners
        // (webhooks) would only lag sooner.
        if !matches!(*event, Event::RoomSeq { .. }) {
            // No receiver is not an error: nobody is listening yet.
            let _ = self.tx.send(event);
        }
    }
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
    fn attach(&self, sink: Arc<dyn EventSink>) {
        match self.sinks.write() {
            Ok(mut s) => s.push(sink),
            Err(poisoned) => poisoned.into_inner().push(sink),
        }
    }
}

/// Publishes a committed change as domain events (`written_events`).
pub fn publish_written<H: EventHub + ?Sized>(hub: &H, room: &Room, written: &RoomWritten) {
    for event in written_events(room, written) {
        hub.publish(event);
    }
}

/// A committed change as domain events, in the order the realtime router must see them,
/// between two `RoomSeq` marks: guest access taken away before anything else of the room, then
/// the items, then the room's new counters when members came or went. Deterministic in its
/// arguments: a replay from the log numbers the events as the live path did.
pub fn written_events(room: &Room, written: &RoomWritten) -> Vec<Event> {
    let mut out = vec![];
    {
        if !written.changed() {
            return out;
        }
        let rid = &room.id;
        out.push(Event::RoomSeq {
            rid: rid.clone(),
            seq: written.seq,
        });
        let shared = Arc::new(room.clone());
        let mut membership_moved = false;
        let mut created = false;
        // A new message moves the room's `lm`/`msgs`: Rocket.Chat clients update their room
        // list from `rooms-changed`, so members hear of the room after each post.
        let mut posted: Option<Message> = None;
        let mut thread_only = false;
        for item in &written.items {
            if let RoomEventItem::GuestAccessChanged { allowed: false } = item {
                out.push(Event::GuestAccessChanged {
                    rid: Some(rid.clone()),
                    allowed: false,
                });
            }
        }
        for item in &written.items {
            match item {
                RoomEventItem::RoomCreated { .. } => created = true,
                RoomEventItem::MemberAdded { subscription } => {
                    membership_moved = true;
                    out.push(Event::MemberAdded {
                        subscription: subscription.as_ref().clone(),
                        room: shared.clone(),
                    });
                }
                RoomEventItem::MemberRemoved { uid } => {
                    membership_moved = true;
                    out.push(Event::MemberRemoved {
                        rid: rid.clone(),
                        uid: uid.clone(),
                    });
                }
                RoomEventItem::MemberUpdated { subscription } => {
                    out.push(Event::MemberUpdated(subscription.as_ref().clone()));
                }
                RoomEventItem::MessageCreated { message } => {
                    posted = Some(message.as_ref().clone());
                    // A reply shown only in its thread is no room's last message.
                    if !message.shown_in_room() {
                        thread_only = true;
                    }
                    out.push(Event::MessageCreated {
                        message: message.as_ref().clone(),
                        room: room.brief(),
                    })
                }
                RoomEventItem::MessageUpdated { message } => out.push(Event::MessageUpdated {
                    message: message.as_ref().clone(),
                    room: room.brief(),
                }),
                RoomEventItem::MessageDeleted { id } => out.push(Event::MessageDeleted {
                    rid: rid.clone(),
                    id: id.clone(),
                }),
                RoomEventItem::RoomUpdated { room: updated } => {
                    out.push(Event::RoomChanged(updated.as_ref().clone()))
                }
                RoomEventItem::GuestAccessChanged { allowed: true } => {
                    out.push(Event::GuestAccessChanged {
                        rid: Some(rid.clone()),
                        allowed: true,
                    })
                }
                RoomEventItem::GuestAccessChanged { allowed: false } => {}
                RoomEventItem::RoomDeleted => out.push(Event::RoomDeleted { rid: rid.clone() }),
                // Delivered by webhook and e-mail from the committed rows, not live.
                RoomEventItem::NotificationTriggered { .. } => {}
            }
        }
        if membership_moved || created {
            out.push(Event::RoomChanged(room.clone()));
        } else if let Some(last) = posted {
            out.push(Event::RoomTouched {
                room: room.clone(),
                last: (!thread_only).then(|| Box::new(last)),
            });
        }
        out.push(Event::RoomSeq {
            rid: rid.clone(),
            seq: None,
        });
    }
    out
}
