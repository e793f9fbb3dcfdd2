//! The one write path: every change to a room, from either API, the realtime protocols or the
//! CLI, ends here. A service first asks the policy (`Huddle::decide`), which hands back a
//! `Permit`; `Huddle::write` takes that permit and the change, makes one store call that commits
//! the rows, the counters, the system message, the room's sequenced event and its webhook
//! outbox rows in one transaction, and then publishes what the store says it committed, in that
//! order. Nothing else in the services writes a room.

use super::sequencer::Finished;
use super::Huddle;
use crate::model::{Room, Subscription};
use crate::policy::{self, Action, Facts, Permit, Principal, Refusal};
use crate::store::{RoomChange, RoomEventItem, RoomWrite, RoomWritten};
use crate::{Error, Result};
use std::sync::Arc;
use tracing::Instrument;

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
        // The write path's span (a child of the request's): which room, which change, and the
        // event number it committed as. Exported with the request's when traces are.
        let span = tracing::info_span!(
            "write",
            room = %room.id,
            change = change.kind(),
            seq = tracing::field::Empty,
        );
        let notify = self.notify_facts(room, &change).await;
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
        let task = tokio::spawn(
            async move {
                let ticket = sequencer.begin(&room.id);
                // Shared with the publisher, not copied: a bulk add's result holds every
                // membership and message it added (three deep copies were a tenth of a
                // 10,000-user invite's CPU).
                let result = store.write_room(write).await.map(Arc::new);
                if let Ok(written) = &result {
                    tracing::Span::current().record("seq", written.seq);
                }
                let after = result.as_ref().ok().map(|written| match written.counters {
                    Some(c) => c.apply(room.clone()),
                    None => room.clone(),
                });
                let ready = match (&result, &after) {
                    (Ok(written), Some(after)) => Some((after.clone(), Arc::clone(written))),
                    _ => None,
                };
                let finished = sequencer.finish(&room.id, ticket, ready, |(room, written)| {
                    hub.publish_room(&room, &written)
                });
                // A call returns only once its events are out: a kick has revoked before it answers.
                if let Finished::Waiting(published) = finished {
                    let _ = published.await;
                }
                // In a cluster, also once this node applied it in seq order and, for a revocation,
                // every live node acknowledged it.
                if let Ok(written) = &result {
                    if let Some(settle) = hub.settle(&room.id, written) {
                        settle.await;
                    }
                }
                let written = result?;
                // Published by now, so the publisher has normally let go of its share and the
                // result is taken back whole; a copy only if something still holds it.
                let written = Arc::try_unwrap(written).unwrap_or_else(|shared| (*shared).clone());
                Ok(Some(Committed {
                    room: after.unwrap_or(room),
                    written,
                }))
            }
            .instrument(span),
        );
        match task.await {
            Ok(Ok(Some(committed))) => Ok(committed),
            Ok(Ok(None)) => Err(Error::Internal("a write returned no result".into())),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(Error::Internal(format!("the write task failed: {e}"))),
        }
    }
}
