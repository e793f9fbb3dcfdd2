//! Domain events: one per committed change, published after commit to a hub that realtime
//! connections and webhooks subscribe to. The hub is a trait so another node's events can arrive
//! the same way later.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::model::{Message, Room, Subscription, User};

#[derive(Debug, Clone)]
pub enum Event {
    MessageCreated(Message),
    MessageUpdated(Message),
    MessageDeleted {
        rid: String,
        id: String,
    },
    /// A membership was created (invite, join, room creation).
    MemberAdded(Subscription),
    MemberRemoved {
        rid: String,
        uid: String,
    },
    SubscriptionChanged(Subscription),
    RoomChanged(Room),
    RoomDeleted {
        rid: String,
    },
    PermissionsChanged,
    /// A participant's access or notify setting changed (TalkJS-style API).
    ParticipantUpdated(Subscription),
    /// Guest access was switched for one conversation (`rid`) or the whole app (`None`).
    GuestAccessChanged {
        rid: Option<String>,
        allowed: bool,
    },
    UserCreated(User),
    UserUpdated(User),
}

pub trait EventHub: Send + Sync {
    fn publish(&self, event: Event);
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>>;
}

/// In-process hub: a broadcast channel. Slow subscribers lag and must resynchronise from the store.
pub struct LocalHub {
    tx: broadcast::Sender<Arc<Event>>,
}

impl LocalHub {
    pub fn new(capacity: usize) -> Self {
        LocalHub {
            tx: broadcast::channel(capacity).0,
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
        // No receiver is not an error: nobody is listening yet.
        let _ = self.tx.send(Arc::new(event));
    }
    fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}
