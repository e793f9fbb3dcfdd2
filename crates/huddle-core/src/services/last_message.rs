//! Rocket.Chat's room `lastMessage`: the room's newest message, read when rooms are shown
//! rather than kept on the room row. One indexed lookup per room, batched for a list, so it
//! costs nothing as the room grows, always shows the message as it is now (edits, reactions,
//! pins) and can never name a deleted message. A participant whose access was revoked sees the
//! newest message up to the revocation, as every other view of theirs.

use std::collections::HashMap;

use super::{Actor, Huddle};
use crate::model::{Access, Message, Origin, Room};
use crate::Result;

impl Huddle {
    /// The `lastMessage` of each room (by id) as `actor` may see it; rooms without messages
    /// are left out.
    pub async fn last_messages(
        &self,
        actor: &Actor,
        rooms: &[Room],
    ) -> Result<HashMap<String, Message>> {
        let mut open = vec![];
        let mut out = HashMap::new();
        for room in rooms {
            // Only a TalkJS-style participant can have access `None`.
            if room.origin == Origin::TalkJs {
                let sub = self.store.subscription(&room.id, &actor.user.id).await?;
                if let Some(s) = sub.filter(|s| s.access == Access::None) {
                    let until = s.revoked_at.unwrap_or(crate::Timestamp(0));
                    if let Some(m) = self.last_message_until(&room.id, Some(until)).await? {
                        out.insert(room.id.clone(), m);
                    }
                    continue;
                }
            }
            open.push(room.id.clone());
        }
        for m in self.store.latest_messages(&open).await? {
            out.insert(m.rid.clone(), m);
        }
        Ok(out)
    }

    /// `last_messages` of one room.
    pub async fn last_message(&self, actor: &Actor, room: &Room) -> Result<Option<Message>> {
        let mut found = self
            .last_messages(actor, std::slice::from_ref(room))
            .await?;
        Ok(found.remove(&room.id))
    }
}
