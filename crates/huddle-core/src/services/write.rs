//! The one write path: every change to a room, from either API, the realtime protocols or the
//! CLI, ends here. A service first asks the policy (`Huddle::decide`), which hands back a
//! `Permit`; `Huddle::write` takes that permit and the change, makes one store call that commits
//! the rows, the counters, the system message, the room's sequenced event and its webhook
//! outbox rows in one transaction, and then publishes what the store says it committed, in that
//! order. Nothing else in the services writes a room.

use std::sync::Arc;

use super::Huddle;
use crate::events::Event;
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
        let write = RoomWrite {
            rid: room.id.clone(),
            change,
            webhooks: self.webhook_endpoints_now(),
        };
        let written = self.store.write_room(write).await?;
        let room = match written.counters {
            Some(c) => c.apply(room.clone()),
            None => room.clone(),
        };
        self.publish_written(&room, &written);
        Ok(Committed { room, written })
    }

    /// Publishes a committed change as domain events, in the order the realtime router must see
    /// them: guest access taken away before anything else of the room, then the items, then the
    /// room's new counters when members came or went.
    fn publish_written(&self, room: &Room, written: &RoomWritten) {
        if !written.changed() {
            return;
        }
        let rid = &room.id;
        let shared = Arc::new(room.clone());
        let mut membership_moved = false;
        let mut created = false;
        for item in &written.items {
            if let RoomEventItem::GuestAccessChanged { allowed: false } = item {
                self.publish(Event::GuestAccessChanged {
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
                    self.publish(Event::MemberAdded {
                        subscription: subscription.as_ref().clone(),
                        room: shared.clone(),
                    });
                }
                RoomEventItem::MemberRemoved { uid } => {
                    membership_moved = true;
                    self.publish(Event::MemberRemoved {
                        rid: rid.clone(),
                        uid: uid.clone(),
                    });
                }
                RoomEventItem::MemberUpdated { subscription } => {
                    self.publish(Event::MemberUpdated(subscription.as_ref().clone()));
                }
                RoomEventItem::MessageCreated { message } => self.publish(Event::MessageCreated {
                    message: message.as_ref().clone(),
                    room: room.brief(),
                }),
                RoomEventItem::MessageUpdated { message } => self.publish(Event::MessageUpdated {
                    message: message.as_ref().clone(),
                    room: room.brief(),
                }),
                RoomEventItem::MessageDeleted { id } => self.publish(Event::MessageDeleted {
                    rid: rid.clone(),
                    id: id.clone(),
                }),
                RoomEventItem::RoomUpdated { room: updated } => {
                    self.publish(Event::RoomChanged(updated.as_ref().clone()))
                }
                RoomEventItem::GuestAccessChanged { allowed: true } => {
                    self.publish(Event::GuestAccessChanged {
                        rid: Some(rid.clone()),
                        allowed: true,
                    })
                }
                RoomEventItem::GuestAccessChanged { allowed: false } => {}
                RoomEventItem::RoomDeleted => self.publish(Event::RoomDeleted { rid: rid.clone() }),
            }
        }
        if membership_moved || created {
            self.publish(Event::RoomChanged(room.clone()));
        }
    }
}
