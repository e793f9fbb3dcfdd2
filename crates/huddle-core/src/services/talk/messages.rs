//! Messages over the TalkJS-style API, and who may read and write: participants by their
//! `access`, guests while the app and the conversation allow guests.

use super::MAX_MESSAGE_BATCH;
use crate::events::Event;
use crate::services::{ClientActor, Huddle};
use crate::{Access, Error, Failure, Message, Result, Room, Subscription, Timestamp, UserRef};

/// One message of a `POST .../messages` array.
#[derive(Debug, Clone)]
pub enum TalkMessageInput {
    User {
        sender: String,
        text: String,
        custom: serde_json::Map<String, serde_json::Value>,
        idempotency_key: Option<String>,
    },
    System {
        text: String,
        custom: serde_json::Map<String, serde_json::Value>,
        idempotency_key: Option<String>,
    },
}

/// Who is looking at a conversation.
#[derive(Debug, Clone)]
pub enum Viewer {
    Participant(Box<Subscription>),
    /// Not a participant; let in because guests are allowed. Never stored, never counted.
    Guest,
}

impl Viewer {
    pub fn can_write(&self) -> bool {
        match self {
            Viewer::Participant(s) => s.access == Access::ReadWrite,
            Viewer::Guest => true,
        }
    }
    pub fn is_guest(&self) -> bool {
        matches!(self, Viewer::Guest)
    }
}

fn message_not_found() -> Error {
    Error::NotFound(Failure::new(
        "MESSAGE_NOT_FOUND",
        "No such message in this conversation",
    ))
}

/// The type TalkJS-style system messages posted by the app carry.
pub const APP_SYSTEM_MESSAGE: &str = "system";

impl Huddle {
    /// Whether guests may enter this conversation now: both browser-sync settings on and the
    /// conversation's own switch on.
    pub fn guests_allowed_in(&self, room: &Room) -> bool {
        room.guest_access && self.app_settings().guests_allowed()
    }

    /// How `user_id` sees the conversation. A participant stays a participant whatever they ask;
    /// a non-participant gets in only as a guest, only when asking to and when guests are allowed.
    pub async fn viewer(&self, room: &Room, user_id: &str, as_guest: bool) -> Result<Viewer> {
        if let Some(sub) = self.store.subscription(&room.id, user_id).await? {
            return Ok(Viewer::Participant(Box::new(sub)));
        }
        if !as_guest {
            return Err(Error::NotFound(Failure::new(
                "CONVERSATION_NOT_FOUND",
                "The conversation does not exist or you are not a participant (join it, or ask to enter as a guest)",
            )));
        }
        if !self.guests_allowed_in(room) {
            return Err(Error::Forbidden(Failure::new(
                "GUEST_ACCESS_DISABLED",
                "Guest access to this conversation is disabled",
            )));
        }
        self.talk_user(user_id).await?;
        Ok(Viewer::Guest)
    }

    /// `POST .../messages` from the backend: up to 10, each checked before any is stored.
    pub async fn post_talk_messages(
        &self,
        rid: &str,
        inputs: Vec<TalkMessageInput>,
    ) -> Result<Vec<Message>> {
        if inputs.is_empty() || inputs.len() > MAX_MESSAGE_BATCH {
            return Err(Error::invalid(
                "INVALID_BATCH",
                format!("Send between 1 and {MAX_MESSAGE_BATCH} messages"),
            ));
        }
        let room = self.talk_conversation(rid).await?;
        let mut prepared = Vec::with_capacity(inputs.len());
        for input in inputs {
            let msg = match input {
                TalkMessageInput::User {
                    sender,
                    text,
                    custom,
                    idempotency_key,
                } => {
                    let user = self.talk_user(&sender).await.map_err(|_| {
                        Error::invalid(
                            "SENDER_NOT_FOUND",
                            format!("Sender {sender} does not exist"),
                        )
                    })?;
                    let viewer = self.viewer(&room, &sender, true).await.map_err(|_| {
                        Error::invalid(
                            "SENDER_NOT_ALLOWED",
                            format!("{sender} is not a participant and guests are not allowed"),
                        )
                    })?;
                    if !viewer.can_write() {
                        return Err(Error::invalid(
                            "SENDER_NOT_ALLOWED",
                            format!("{sender} has no write access"),
                        ));
                    }
                    let mut m = Message::new(rid, user.to_ref(), text, None);
                    set_custom(&mut m, custom);
                    m.idempotency_key = idempotency_key;
                    m
                }
                TalkMessageInput::System {
                    text,
                    custom,
                    idempotency_key,
                } => {
                    let mut m = Message::new(
                        rid,
                        UserRef {
                            id: String::new(),
                            username: String::new(),
                            name: None,
                        },
                        text,
                        Some(APP_SYSTEM_MESSAGE),
                    );
                    set_custom(&mut m, custom);
                    m.idempotency_key = idempotency_key;
                    m
                }
            };
            prepared.push(msg);
        }
        let mut out = Vec::with_capacity(prepared.len());
        for msg in prepared {
            out.push(self.store_once(msg, &room).await?);
        }
        Ok(out)
    }

    /// Stores a message unless one with the same idempotency key exists in the room.
    async fn store_once(&self, msg: Message, room: &Room) -> Result<Message> {
        if let Some(key) = &msg.idempotency_key {
            if let Some(existing) = self.store.message_by_idempotency_key(&msg.rid, key).await? {
                return Ok(existing);
            }
        }
        match self.store.insert_message(&msg).await {
            Ok(()) => {}
            // The same key raced in: the first one stands.
            Err(Error::Conflict(_)) if msg.idempotency_key.is_some() => {
                let key = msg.idempotency_key.as_deref().unwrap_or_default();
                return self
                    .store
                    .message_by_idempotency_key(&msg.rid, key)
                    .await?
                    .ok_or_else(|| Error::Internal("idempotent message vanished".into()));
            }
            Err(e) => return Err(e),
        }
        self.publish(Event::MessageCreated {
            message: msg.clone(),
            room: room.brief(),
        });
        Ok(msg)
    }

    /// A browser session sends a message: participants with `ReadWrite`, or guests.
    pub async fn client_send_message(
        &self,
        actor: &ClientActor,
        rid: &str,
        text: String,
        custom: serde_json::Map<String, serde_json::Value>,
        as_guest: bool,
        idempotency_key: Option<String>,
    ) -> Result<Message> {
        let room = self.talk_conversation(rid).await?;
        let viewer = self.viewer(&room, &actor.user_id, as_guest).await?;
        if !viewer.can_write() {
            return Err(Error::Forbidden(Failure::new(
                "NO_WRITE_ACCESS",
                "You have read-only access to this conversation",
            )));
        }
        let user = self.talk_user(&actor.user_id).await?;
        let mut m = Message::new(rid, user.to_ref(), text, None);
        set_custom(&mut m, custom);
        m.idempotency_key = idempotency_key;
        self.store_once(m, &room).await
    }

    /// Messages newest first, after the cursor.
    pub async fn talk_messages(
        &self,
        rid: &str,
        starting_after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Message>> {
        self.talk_conversation(rid).await?;
        self.store
            .list_messages_after(rid, starting_after, limit.clamp(1, 100))
            .await
    }

    /// Messages a browser session may see: everything for participants with access and guests;
    /// up to the moment of revocation for participants whose access is `None`.
    pub async fn client_messages(
        &self,
        actor: &ClientActor,
        rid: &str,
        as_guest: bool,
        starting_after: Option<&str>,
        limit: i64,
    ) -> Result<(Viewer, Vec<Message>)> {
        let room = self.talk_conversation(rid).await?;
        let viewer = self.viewer(&room, &actor.user_id, as_guest).await?;
        let mut messages = self
            .store
            .list_messages_after(rid, starting_after, limit.clamp(1, 100))
            .await?;
        if let Viewer::Participant(sub) = &viewer {
            if sub.access == Access::None {
                let until = sub.revoked_at.unwrap_or(Timestamp(0));
                messages.retain(|m| m.ts <= until);
            }
        }
        Ok((viewer, messages))
    }

    pub async fn talk_message(&self, rid: &str, id: &str) -> Result<Message> {
        match self.store.message_by_id(id).await? {
            Some(m) if m.rid == rid => Ok(m),
            _ => Err(message_not_found()),
        }
    }

    /// `PUT .../messages/{id}`: edits text and/or custom (`null` custom clears it).
    pub async fn edit_talk_message(
        &self,
        rid: &str,
        id: &str,
        text: Option<String>,
        custom: Option<Option<serde_json::Map<String, serde_json::Value>>>,
    ) -> Result<Message> {
        let mut m = self.talk_message(rid, id).await?;
        if let Some(t) = text {
            m.msg = t;
        }
        if let Some(c) = custom {
            set_custom(&mut m, c.unwrap_or_default());
        }
        let now = Timestamp::now();
        m.edited_at = Some(now);
        m.updated_at = now;
        self.store.update_message(&m).await?;
        self.publish_message_updated(&m).await?;
        Ok(m)
    }

    pub async fn delete_talk_message(&self, rid: &str, id: &str) -> Result<()> {
        self.talk_message(rid, id).await?;
        self.store.delete_message(rid, id).await?;
        self.publish(Event::MessageDeleted {
            rid: rid.to_string(),
            id: id.to_string(),
        });
        Ok(())
    }

    /// `markAsRead` from a browser session.
    pub async fn client_mark_read(&self, actor: &ClientActor, rid: &str) -> Result<()> {
        if !self.store.mark_read(rid, &actor.user_id).await? {
            return Err(Error::NotFound(Failure::new(
                "PARTICIPANT_NOT_FOUND",
                "You are not a participant of this conversation",
            )));
        }
        if let Some(sub) = self.store.subscription(rid, &actor.user_id).await? {
            self.publish(Event::SubscriptionChanged(sub));
        }
        Ok(())
    }
}

fn set_custom(m: &mut Message, custom: serde_json::Map<String, serde_json::Value>) {
    if custom.is_empty() {
        m.extra.remove("custom");
    } else {
        m.extra
            .insert("custom".into(), serde_json::Value::Object(custom));
    }
}
