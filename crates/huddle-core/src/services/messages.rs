//! Messages: enough for membership to be real (posting updates `msgs` and `lm`; history is
//! readable by those who may access the room).

use super::{Actor, Huddle};
use crate::events::Event;
use crate::model::{MessageQuery, Page, Room, RoomType};
use crate::store::NewMember;
use crate::{Error, Message, Result, Timestamp};

impl Huddle {
    /// Posts a user message. Members of the room may post; in a public channel a non-member is
    /// joined first (as `chat.postMessage` does). Read-only rooms need `post-readonly`.
    pub async fn post_message(
        &self,
        actor: &Actor,
        room: &Room,
        text: String,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Message> {
        self.post_message_with_id(actor, room, text, extra, None)
            .await
    }

    /// `post_message` with the client's own message id (DDP `sendMessage` may carry `_id`).
    pub async fn post_message_with_id(
        &self,
        actor: &Actor,
        room: &Room,
        text: String,
        extra: serde_json::Map<String, serde_json::Value>,
        id: Option<String>,
    ) -> Result<Message> {
        if let Some(id) = &id {
            let valid = !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            if !valid {
                return Err(Error::invalid(
                    "error-invalid-message-id",
                    "Invalid message id",
                ));
            }
            if self.store.message_by_id(id).await?.is_some() {
                return Err(Error::conflict(
                    "error-message-already-exists",
                    "Message already exists",
                ));
            }
        }
        let max = self.setting_i64("Message_MaxAllowedSize", 5000);
        if text.chars().count() as i64 > max {
            return Err(Error::invalid(
                "error-message-size-exceeded",
                "Message size exceeds the allowed limit",
            ));
        }
        let mut sub = self.store.subscription(&room.id, &actor.user.id).await?;
        if sub.is_none() {
            if room.t == RoomType::Channel
                && self.can_access(&actor.user, room, None)
                && !room.archived
            {
                let s = super::membership::new_subscription(room, &actor.user);
                let msg = Message::system(
                    &room.id,
                    "uj",
                    actor.user.to_ref(),
                    actor.user.username_or_id(),
                );
                let added = self
                    .store
                    .add_members(
                        &room.id,
                        &[NewMember {
                            subscription: s.clone(),
                            message: Some(msg.clone()),
                        }],
                    )
                    .await?;
                if !added.is_empty() {
                    self.publish(Event::MemberAdded {
                        subscription: s.clone(),
                        room: std::sync::Arc::new(room.clone()),
                    });
                    self.publish(Event::MessageCreated {
                        message: msg,
                        room: room.brief(),
                    });
                }
                sub = Some(s);
            } else {
                return Err(Error::Forbidden(crate::Failure::plain("error-not-allowed")));
            }
        }
        if room.archived {
            return Err(Error::Forbidden(crate::Failure::plain("error-not-allowed")));
        }
        if room.read_only && !self.has_permission_in(&actor.user, "post-readonly", sub.as_ref()) {
            return Err(Error::Forbidden(crate::Failure::plain(
                "You can't send messages because the room is readonly.",
            )));
        }
        let mut msg = Message::new(&room.id, actor.user.to_ref(), text, None);
        if let Some(id) = id {
            msg.id = id;
        }
        msg.extra = extra;
        self.store.insert_message(&msg).await?;
        self.publish(Event::MessageCreated {
            message: msg.clone(),
            room: room.brief(),
        });
        Ok(msg)
    }

    pub async fn get_message(&self, actor: &Actor, id: &str) -> Result<Message> {
        let msg = self
            .store
            .message_by_id(id)
            .await?
            .ok_or_else(|| Error::invalid("", "Message not found"))?;
        let room = self
            .store
            .room_by_id(&msg.rid)
            .await?
            .ok_or_else(|| Error::invalid("", "Message not found"))?;
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        if !self.can_access(&actor.user, &room, sub.as_ref()) {
            return Err(Error::not_allowed("getSingleMessage"));
        }
        Ok(msg)
    }

    /// `chat.update`: the author (or `edit-message` in the room) edits a user message.
    pub async fn update_message(
        &self,
        actor: &Actor,
        rid: &str,
        id: &str,
        text: String,
    ) -> Result<Message> {
        let mut msg = self.message_in_room(rid, id).await?;
        let own = msg.u.id == actor.user.id;
        if msg.is_system()
            || !(own
                || self
                    .has_permission_in_room(&actor.user, "edit-message", rid)
                    .await?)
        {
            return Err(Error::not_allowed("updateMessage"));
        }
        msg.msg = text;
        let now = Timestamp::now();
        msg.edited_at = Some(now);
        msg.edited_by = Some(actor.user.to_ref());
        msg.updated_at = now;
        self.store.update_message(&msg).await?;
        self.publish_message_updated(&msg).await?;
        Ok(msg)
    }

    /// Publishes an edited message with the room facts routing needs (one room read per edit,
    /// never one per recipient).
    pub(crate) async fn publish_message_updated(&self, msg: &Message) -> Result<()> {
        if let Some(room) = self.store.room_by_id(&msg.rid).await? {
            self.publish(Event::MessageUpdated {
                message: msg.clone(),
                room: room.brief(),
            });
        }
        Ok(())
    }

    /// The message `id` if it is in room `rid` (`chat.update`/`chat.delete` name both).
    async fn message_in_room(&self, rid: &str, id: &str) -> Result<Message> {
        match self.store.message_by_id(id).await? {
            Some(m) if m.rid == rid => Ok(m),
            _ => Err(Error::invalid(
                "",
                "The room id provided does not match where the message is from.",
            )),
        }
    }

    /// `chat.delete`: own messages with `delete-own-message`, others' with `delete-message`.
    pub async fn delete_message(&self, actor: &Actor, rid: &str, id: &str) -> Result<Message> {
        let msg = self.message_in_room(rid, id).await?;
        let own = msg.u.id == actor.user.id;
        let allowed = if own {
            self.has_permission_in_room(&actor.user, "delete-own-message", rid)
                .await?
                || self
                    .has_permission_in_room(&actor.user, "delete-message", rid)
                    .await?
        } else {
            self.has_permission_in_room(&actor.user, "delete-message", rid)
                .await?
        };
        if !allowed {
            return Err(Error::not_allowed("deleteMessage"));
        }
        self.store.delete_message(rid, id).await?;
        self.publish(Event::MessageDeleted {
            rid: rid.to_string(),
            id: id.to_string(),
        });
        Ok(msg)
    }

    /// Room history for someone who may read the room.
    pub async fn history(
        &self,
        actor: &Actor,
        room: &Room,
        query: &MessageQuery,
    ) -> Result<Page<crate::Message>> {
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let can_read = if room.t == RoomType::Channel && sub.is_none() {
            self.has_permission(&actor.user, "preview-c-room")
        } else {
            self.can_access(&actor.user, room, sub.as_ref())
        };
        if !can_read {
            return Err(Error::unauthorized());
        }
        self.store.list_messages(&room.id, query).await
    }
}
