//! Use cases the realtime protocols brought in: reactions, history pages by date with the
//! unread marker, the caller's rooms, typing notices and connection presence. REST may call them
//! too; nothing here knows a protocol.

use super::{Actor, Huddle};
use crate::events::Event;
use crate::model::{Message, MessageQuery, Paging, Room, RoomQuery};
use crate::policy::Action;
use crate::store::{RoomChange, RoomEventItem};
use crate::{Error, Failure, Result, Timestamp};

/// One page of history as `loadHistory` answers it.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// Newest first.
    pub messages: Vec<Message>,
    /// The oldest message after `ls` that this page did not include, if any.
    pub first_unread: Option<Message>,
    /// How many messages after `ls` this page did not include.
    pub unread_not_loaded: i64,
}

/// Most messages one history page may hold.
const MAX_HISTORY: i64 = 100;

fn valid_emoji(emoji: &str) -> bool {
    let inner = emoji.strip_prefix(':').and_then(|e| e.strip_suffix(':'));
    matches!(inner, Some(i) if !i.is_empty() && i.len() <= 64
        && i.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')))
}

impl Huddle {
    /// `setReaction`: adds, removes (`react` false) or toggles (`None`) the caller's reaction.
    /// Needs access to the room; read-only and archived rooms refuse it.
    pub async fn set_reaction(
        &self,
        actor: &Actor,
        emoji: &str,
        message_id: &str,
        react: Option<bool>,
    ) -> Result<Message> {
        let method = "setReaction";
        let emoji = if emoji.starts_with(':') {
            emoji.to_string()
        } else {
            format!(":{emoji}:")
        };
        if !valid_emoji(&emoji) {
            return Err(Error::Invalid(
                Failure::new("error-not-allowed", "Invalid emoji provided.").method(method),
            ));
        }
        let msg =
            self.store.message_by_id(message_id).await?.ok_or_else(|| {
                Error::invalid("error-not-allowed", "Not allowed").in_method(method)
            })?;
        let room = self
            .store
            .room_by_id(&msg.rid)
            .await?
            .ok_or_else(|| Error::not_allowed(method))?;
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::React, &room)
            .map_err(|_| Error::not_allowed(method))?;
        let change = RoomChange::React {
            id: message_id.to_string(),
            emoji,
            username: actor.user.username_or_id().to_string(),
            react,
        };
        let done = self.write(&permit, &room, change).await?;
        let updated = done.written.items.into_iter().find_map(|i| match i {
            RoomEventItem::MessageUpdated { message } => Some(*message),
            _ => None,
        });
        match updated {
            Some(m) => Ok(m),
            // Nothing to change (removing a reaction that is not there): the message as it is.
            None => self
                .store
                .message_by_id(message_id)
                .await?
                .ok_or_else(|| Error::not_allowed(method)),
        }
    }

    /// `loadHistory`: up to `limit` messages before `end` (newest first), and when `ls` (the
    /// reader's last-seen time) is given, the first unread message this page does not reach.
    /// `None` when the caller may not read the room (Rocket.Chat answers `false`, not an error).
    pub async fn load_history(
        &self,
        actor: &Actor,
        room: &Room,
        end: Option<Timestamp>,
        limit: i64,
        ls: Option<Timestamp>,
    ) -> Result<Option<HistoryPage>> {
        let query = MessageQuery {
            latest: end,
            paging: Paging {
                offset: 0,
                count: Some(limit.clamp(1, MAX_HISTORY)),
            },
            ..Default::default()
        };
        let page = match self.history(actor, room, &query).await {
            Ok(p) => p,
            Err(Error::Forbidden(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut out = HistoryPage {
            messages: page.items,
            first_unread: None,
            unread_not_loaded: 0,
        };
        if let (Some(ls), Some(oldest)) = (ls, out.messages.last()) {
            if oldest.ts > ls {
                let unread = self
                    .store
                    .list_messages(
                        &room.id,
                        &MessageQuery {
                            oldest: Some(ls),
                            latest: Some(oldest.ts),
                            paging: Paging {
                                offset: 0,
                                count: Some(1),
                            },
                            ascending: true,
                            ..Default::default()
                        },
                    )
                    .await?;
                out.unread_not_loaded = unread.total;
                out.first_unread = unread.items.into_iter().next();
            }
        }
        Ok(Some(out))
    }

    /// The rooms the caller is a member of, optionally only those updated after `since`
    /// (`rooms/get`, `rooms.get`).
    pub async fn rooms_of(&self, actor: &Actor, since: Option<Timestamp>) -> Result<Vec<Room>> {
        let subs = self
            .store
            .subscriptions_of_user(&actor.user.id, None)
            .await?;
        if subs.is_empty() {
            return Ok(vec![]);
        }
        let query = RoomQuery {
            ids: Some(subs.into_iter().map(|s| s.rid).collect()),
            paging: Paging {
                offset: 0,
                count: None,
            },
            ..Default::default()
        };
        let rooms = self.store.list_rooms(&query).await?.items;
        Ok(rooms
            .into_iter()
            .filter(|r| since.is_none_or(|t| r.updated_at > t))
            .collect())
    }

    /// Typing and similar activity: rebroadcast to the room's readers, never stored. The caller
    /// must be able to read the room. `origin` is the realtime session it came from.
    pub async fn user_activity(
        &self,
        actor: &Actor,
        rid: &str,
        activities: Vec<String>,
        origin: Option<String>,
    ) -> Result<()> {
        let room = self
            .store
            .room_by_id(rid)
            .await?
            .ok_or_else(|| Error::not_allowed("stream-notify-room"))?;
        let sub = self.store.subscription(rid, &actor.user.id).await?;
        if !self.can_access(&actor.user, &room, sub.as_ref()) {
            return Err(Error::not_allowed("stream-notify-room"));
        }
        self.publish(Event::UserActivity {
            rid: rid.to_string(),
            uid: actor.user.id.clone(),
            username: actor.user.username_or_id().to_string(),
            activities,
            origin,
        });
        Ok(())
    }

    /// Presence on realtime login: the user comes back as the status they chose (Rocket.Chat's
    /// `statusDefault`: busy stays busy, a chosen `offline` stays invisible).
    pub async fn presence_connected(&self, actor: &Actor) -> Result<()> {
        if let (Some(node), Some(cs)) = (self.hub.node_id(), self.store.cluster()) {
            cs.presence_join(node, &actor.user.id).await?;
        }
        let Some(mut user) = self.store.user_by_id(&actor.user.id).await? else {
            return Ok(());
        };
        if user.status != user.status_default {
            user.status = user.status_default.clone();
            user.updated_at = Timestamp::now();
            self.store.update_user(&user).await?;
            self.publish(Event::UserUpdated(user));
        }
        Ok(())
    }

    /// `UserPresence:online` / `UserPresence:away`: the connection's own state (idle or back),
    /// which shows only while the chosen status is `online` and never changes the choice.
    pub async fn presence_idle(&self, actor: &Actor, away: bool) -> Result<()> {
        let Some(mut user) = self.store.user_by_id(&actor.user.id).await? else {
            return Ok(());
        };
        if user.status_default != "online" {
            return Ok(());
        }
        let status = if away { "away" } else { "online" };
        if user.status != status {
            user.status = status.into();
            user.updated_at = Timestamp::now();
            self.store.update_user(&user).await?;
            self.publish(Event::UserUpdated(user));
        }
        Ok(())
    }

    /// Presence when the user's last realtime connection closed: offline (the chosen status is
    /// kept for the next connection; in a cluster, once no other node has one either).
    pub async fn presence_disconnected(&self, uid: &str) -> Result<()> {
        if let (Some(node), Some(cs)) = (self.hub.node_id(), self.store.cluster()) {
            if cs.presence_leave(node, uid).await? {
                return Ok(());
            }
        }
        self.went_offline(uid).await
    }

    /// The user has no realtime connection anywhere: offline.
    pub(crate) async fn went_offline(&self, uid: &str) -> Result<()> {
        let Some(mut user) = self.store.user_by_id(uid).await? else {
            return Ok(());
        };
        if user.status != "offline" {
            user.status = "offline".into();
            user.updated_at = Timestamp::now();
            self.store.update_user(&user).await?;
            self.publish(Event::UserUpdated(user));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::valid_emoji;

    #[test]
    fn emoji_names_are_checked() {
        assert!(valid_emoji(":smile:"));
        assert!(valid_emoji(":+1:"));
        assert!(!valid_emoji("::"));
        assert!(!valid_emoji(":a b:"));
        assert!(!valid_emoji("smile"));
    }
}
