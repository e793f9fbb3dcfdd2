//! Messages: enough for membership to be real (posting updates `msgs` and `lm`; history is
//! readable by those who may access the room).

use super::{Actor, Huddle};
use crate::model::{MessageQuery, Page, Room, RoomType};
use crate::policy::{Action, MessageLimits, Refusal};
use crate::store::{NewMember, RoomChange};
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
        self.check_message_rate(actor)?;
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
        self.check_message_size(&text)?;
        let mut sub = self.store.subscription(&room.id, &actor.user.id).await?;
        if sub.is_none() && room.t == RoomType::Channel && !room.archived {
            // `chat.postMessage` joins a public channel first, when the poster may join it.
            if let Ok(permit) = self.decide(actor.person(None), Action::Join, room) {
                let s = super::membership::new_subscription(room, &actor.user);
                let msg = Message::system(
                    &room.id,
                    "uj",
                    actor.user.to_ref(),
                    actor.user.username_or_id(),
                );
                let joined = NewMember {
                    subscription: s.clone(),
                    message: Some(msg),
                };
                self.add_members(actor.person(None), &permit, room.clone(), vec![joined])
                    .await?;
                sub = self.store.subscription(&room.id, &actor.user.id).await?;
            }
        }
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::Post, room)
            .map_err(|r| match r {
                Refusal::ReadOnly => Error::Forbidden(crate::Failure::plain(
                    "You can't send messages because the room is readonly.",
                )),
                _ => Error::Forbidden(crate::Failure::plain("error-not-allowed")),
            })?;
        let mut msg = Message::new(&room.id, actor.user.to_ref(), text, None);
        if let Some(id) = id {
            msg.id = id;
        }
        msg.extra = extra;
        if let Some(tmid) = msg.extra.get("tmid").cloned() {
            // A reply joins its thread; the write path counts it on the thread's first message.
            let tmid = tmid
                .as_str()
                .ok_or_else(|| Error::invalid("error-invalid-message", "Invalid message"))?;
            let thread = self.thread_of(room, tmid).await?;
            msg.extra.insert("tmid".into(), serde_json::json!(thread));
        }
        self.write(&permit, room, RoomChange::PostMessage(msg.clone()))
            .await?;
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
        let (room, sub) = self.room_and_membership(actor, rid).await?;
        let own = msg.u.id == actor.user.id;
        let limits = self.message_limits(
            &msg,
            "Message_AllowEditing",
            "Message_AllowEditing_BlockEditInMinutes",
        );
        let decided = self.decide(
            actor.person(sub.as_ref()),
            Action::EditMessage { own, limits },
            &room,
        );
        let permit = match decided {
            Ok(p) if !msg.is_system() => p,
            Err(Refusal::TimeLimit) if !msg.is_system() => {
                return Err(Error::invalid(
                    "error-message-editing-blocked",
                    "Message editing is blocked",
                )
                .in_method("updateMessage"))
            }
            _ => return Err(Error::not_allowed("updateMessage")),
        };
        self.check_message_size(&text)?;
        msg.msg = text;
        let now = Timestamp::now();
        msg.edited_at = Some(now);
        msg.edited_by = Some(actor.user.to_ref());
        msg.updated_at = now;
        self.write(&permit, &room, RoomChange::EditMessage(msg.clone()))
            .await?;
        Ok(msg)
    }

    /// Rocket.Chat's `sendMessage` limit: every call counts (as Meteor counts method calls,
    /// refused ones too), except for users holding `send-many-messages`.
    fn check_message_rate(&self, actor: &Actor) -> Result<()> {
        if self.has_permission(&actor.user, "send-many-messages") {
            return Ok(());
        }
        self.message_rate
            .hit(&actor.user.id, std::time::Instant::now())
            .map_err(|wait| Error::RateLimited {
                // Rocket.Chat rounds the wait up to whole seconds (`Math.ceil(timeToReset / 1000)`).
                retry_after_secs: wait.as_millis().div_ceil(1000).max(1) as u64,
            })
    }

    /// The workspace's switch (`allow`) and time limit in minutes (`block`, 0: none) for
    /// authors changing `msg`.
    fn message_limits(&self, msg: &Message, allow: &str, block: &str) -> MessageLimits {
        let minutes = self.setting_i64(block, 0);
        let age_ms = self.clock.now().0.saturating_sub(msg.ts.0);
        MessageLimits {
            authors_may: self
                .setting(allow)
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
            past_time_limit: minutes > 0 && age_ms >= minutes.saturating_mul(60_000),
        }
    }

    /// The room a message names and the actor's membership of it.
    async fn room_and_membership(
        &self,
        actor: &Actor,
        rid: &str,
    ) -> Result<(Room, Option<crate::Subscription>)> {
        let room = self
            .store
            .room_by_id(rid)
            .await?
            .ok_or_else(|| super::RoomKind::Any.not_found())?;
        let sub = self.store.subscription(rid, &actor.user.id).await?;
        Ok((room, sub))
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
        let (room, sub) = self.room_and_membership(actor, rid).await?;
        let own = msg.u.id == actor.user.id;
        let limits = self.message_limits(
            &msg,
            "Message_AllowDeleting",
            "Message_AllowDeleting_BlockDeleteInMinutes",
        );
        let permit = self
            .decide(
                actor.person(sub.as_ref()),
                Action::DeleteMessage { own, limits },
                &room,
            )
            .map_err(|r| match r {
                Refusal::TimeLimit => Error::invalid(
                    "error-message-deleting-blocked",
                    "Message deleting is blocked",
                )
                .in_method("deleteMessage"),
                _ => Error::not_allowed("deleteMessage"),
            })?;
        let change = RoomChange::DeleteMessage { id: id.to_string() };
        self.write(&permit, &room, change).await?;
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
        let mut page = self.store.list_messages(&room.id, query).await?;
        self.with_discussion_counts(&mut page.items).await?;
        Ok(page)
    }
}

impl Huddle {
    /// Rocket.Chat's `Message_MaxAllowedSize` (characters, default 5000), for every way a text
    /// enters: REST and DDP posts and edits here, and the TalkJS-style API's backend and browser
    /// posts and backend edits (`talk/messages.rs`, which words the refusal its own way).
    /// Counted as Rocket.Chat counts (`msg.length` in JavaScript): UTF-16 code units, so an
    /// emoji outside the Basic Multilingual Plane counts 2, "€" counts 1.
    pub(crate) fn check_message_size(&self, text: &str) -> Result<()> {
        let max = self.max_message_chars();
        if text.encode_utf16().count() as i64 > max {
            return Err(Error::invalid(
                "error-message-size-exceeded",
                "Message size exceeds the allowed limit",
            ));
        }
        Ok(())
    }

    pub(crate) fn max_message_chars(&self) -> i64 {
        self.setting_i64("Message_MaxAllowedSize", 5000)
    }
}
