//! The one write path: every change to a room, from either API, the realtime protocols or the
//! CLI, ends here. A service first asks the policy (`Huddle::decide`), which hands back a
//! `Permit`; `Huddle::write` takes that permit and the change, makes one store call that commits
//! the rows, the counters, the system message, the room's sequenced event and its webhook
//! outbox rows in one transaction, and then publishes what the store says it committed, in that
//! order. Nothing else in the services writes a room.

use std::sync::Arc;

use super::sequencer::Finished;
use super::Huddle;
use crate::events::{Event, EventHub};
use crate::model::{Room, Subscription};
use crate::policy::{self, Action, Facts, Permit, Principal, Refusal};
use crate::store::{RoomChange, RoomEventItem, RoomWrite, RoomWritten};
use crate::{Error, Result};

/// What a committed change did, with the room as it left it.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The room with the counters the write returned (unchanged when it moved none).
    pub room: Room,
    pub written: RoomWritten,
}

impl Committed {
    /// Members this change added (in the order asked).
    pub fn added(&self) -> impl Iterator<Item = &Subscription> {
        self.written.items.iter().filter_map(|i| match i {
            RoomEventItem::MemberAdded { subscription } => Some(subscription.as_ref()),
            _ => None,
        })
    }
}

impl Huddle {
    /// Asks the one policy about `action` on `room`, with the live permission table and app
    /// settings.
    pub(crate) fn decide(
        &self,
        who: Principal,
        action: Action,
        room: &Room,
    ) -> std::result::Result<Permit, Refusal> {
        let app = self.app_settings();
        let table = match self.permissions.read() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        policy::decide(
            who,
            action,
            &Facts {
                table: &table,
                app,
                room,
            },
        )
    }

    /// Commits one change to `room` (the permit must be for that room) and publishes it.
    pub(crate) async fn write(
        &self,
        permit: &Permit,
        room: &Room,
        change: RoomChange,
    ) -> Result<Committed> {
        if permit.rid() != room.id {
            return Err(Error::Internal(format!(
                "a permit for room {} used on room {}",
                permit.rid(),
                room.id
            )));
        }
        let notify = self.notify_facts(room, &change);
        let write = RoomWrite {
            rid: room.id.clone(),
            change,
            webhooks: self.webhook_endpoints_now(),
            notify,
        };
        let (store, hub, sequencer) =
            (self.store.clone(), self.hub.clone(), self.sequencer.clone());
        let room = room.clone();
        // Its own task: once the store has the change, its events are published even if the
        // caller stops waiting (a client that hangs up cannot make a committed change silent).
        let task = tokio::spawn(async move {
            let ticket = sequencer.begin(&room.id);
            let result = store.write_room(write).await;
            let committed = result.as_ref().ok().map(|written| Committed {
                room: match written.counters {
                    Some(c) => c.apply(room.clone()),
                    None => room.clone(),
                },
                written: written.clone(),
            });
            let ready = committed.clone().map(|c| (c.room, c.written));
            let finished = sequencer.finish(&room.id, ticket, ready, |(room, written)| {
                publish_written(hub.as_ref(), &room, &written)
            });
            // A call returns only once its events are out: a kick has revoked before it answers.
            if let Finished::Waiting(published) = finished {
                let _ = published.await;
            }
            result.map(|_| committed)
        });
        match task.await {
            Ok(Ok(Some(committed))) => Ok(committed),
            Ok(Ok(None)) => Err(Error::Internal("a write returned no result".into())),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(Error::Internal(format!("the write task failed: {e}"))),
        }
    }
}

/// Publishes a committed change as domain events, in the order the realtime router must see
/// them: guest access taken away before anything else of the room, then the items, then the
/// room's new counters when members came or went.
fn publish_written(hub: &dyn EventHub, room: &Room, written: &RoomWritten) {
    {
        if !written.changed() {
            return;
        }
        let rid = &room.id;
        let shared = Arc::new(room.clone());
        let mut membership_moved = false;
        let mut created = false;
        // A new message moves the room's `lm`/`msgs`: Rocket.Chat clients update their room
        // list from `rooms-changed`, so members hear of the room after each post.
        let mut posted = false;
        for item in &written.items {
            if let RoomEventItem::GuestAccessChanged { allowed: false } = item {
                hub.publish(Event::GuestAccessChanged {
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
                    hub.publish(Event::MemberAdded {
                        subscription: subscription.as_ref().clone(),
                        room: shared.clone(),
                    });
                }
                RoomEventItem::MemberRemoved { uid } => {
                    membership_moved = true;
                    hub.publish(Event::MemberRemoved {
                        rid: rid.clone(),
                        uid: uid.clone(),
                    });
                }
                RoomEventItem::MemberUpdated { subscription } => {
                    hub.publish(Event::MemberUpdated(subscription.as_ref().clone()));
                }
                RoomEventItem::MessageCreated { message } => {
                    posted = true;
                    hub.publish(Event::MessageCreated {
                        message: message.as_ref().clone(),
                        room: room.brief(),
                    })
                }
                RoomEventItem::MessageUpdated { message } => hub.publish(Event::MessageUpdated {
                    message: message.as_ref().clone(),
                    room: room.brief(),
                }),
                RoomEventItem::MessageDeleted { id } => hub.publish(Event::MessageDeleted {
                    rid: rid.clone(),
                    id: id.clone(),
                }),
                RoomEventItem::RoomUpdated { room: updated } => {
                    hub.publish(Event::RoomChanged(updated.as_ref().clone()))
                }
                RoomEventItem::GuestAccessChanged { allowed: true } => {
                    hub.publish(Event::GuestAccessChanged {
                        rid: Some(rid.clone()),
                        allowed: true,
                    })
                }
                RoomEventItem::GuestAccessChanged { allowed: false } => {}
                RoomEventItem::RoomDeleted => hub.publish(Event::RoomDeleted { rid: rid.clone() }),
                // Delivered by webhook and e-mail from the committed rows, not live.
                RoomEventItem::NotificationTriggered { .. } => {}
            }
        }
        if membership_moved || created {
            hub.publish(Event::RoomChanged(room.clone()));
        } else if posted {
            hub.publish(Event::RoomTouched(room.clone()));
        }
    }
}
