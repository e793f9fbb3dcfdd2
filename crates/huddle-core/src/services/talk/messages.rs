//! Messages over the TalkJS-style API, and who may read and write: participants by their
//! `access`, guests while the app and the conversation allow guests.

use super::{refusal, TalkCaller, MAX_MESSAGE_BATCH};
use crate::policy::{Action, Channel, Permit, Person, Principal, Refusal};
use crate::services::{AppActor, ClientActor, Huddle};
use crate::store::RoomChange;
use crate::{
    Access, Error, Failure, Message, Result, Room, Subscription, Timestamp, User, UserRef,
};

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

    /// How a browser session sees the conversation, as the policy decides: a participant stays a
    /// participant whatever they ask (the permit carries the cut-off of access `None`); a
    /// non-participant gets in only as a guest, only when asking to and when guests are allowed.
    pub async fn viewer(
        &self,
        room: &Room,
        actor: &ClientActor,
        as_guest: bool,
    ) -> Result<(Viewer, Permit)> {
        let caller = self.talk_caller(TalkCaller::Browser(actor), room).await?;
        if let Some(sub) = caller.membership() {
            let permit = self
                .decide(caller.principal(), Action::Read, room)
                .map_err(refusal)?;
            return Ok((Viewer::Participant(Box::new(sub.clone())), permit));
        }
        if !as_guest {
            return Err(refusal(Refusal::NotVisible));
        }
        let guest = Principal::Guest {
            verified: actor.verified(),
        };
        let permit = self.decide(guest, Action::Read, room).map_err(refusal)?;
        Ok((Viewer::Guest, permit))
    }

    /// The post permit of a viewer.
    fn may_post(
        &self,
        viewer: &Viewer,
        actor: &ClientActor,
        room: &Room,
        user: &User,
    ) -> Result<Permit> {
        let who = match viewer {
            Viewer::Participant(sub) => Principal::Person(Person {
                roles: &user.roles,
                membership: Some(sub),
                channel: Channel::Browser {
                    verified: actor.verified(),
                },
            }),
            Viewer::Guest => Principal::Guest {
                verified: actor.verified(),
            },
        };
        self.decide(who, Action::Post, room).map_err(refusal)
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
            let (msg, permit) = match input {
                TalkMessageInput::User {
                    sender,
                    text,
                    custom,
                    idempotency_key,
                } => {
                    self.check_talk_message_size(&text)?;
                    let user = self.talk_user(&sender).await.map_err(|e| {
                        if e.is_server_side() {
                            return e;
                        }
                        Error::invalid(
                            "SENDER_NOT_FOUND",
                            format!("Sender {sender} does not exist"),
                        )
                    })?;
                    // TalkJS: the sender must be a participant who may write.
                    let membership = self.store.subscription(rid, &sender).await?;
                    let who = Principal::Person(Person {
                        roles: &user.roles,
                        membership: membership.as_ref(),
                        channel: Channel::OnBehalf,
                    });
                    let permit = self.decide(who, Action::Post, &room).map_err(|r| {
                        let why = match r {
                            Refusal::NotMember => "is not a participant of this conversation",
                            Refusal::NoWriteAccess => "has no write access",
                            _ => "may not post in this conversation",
                        };
                        Error::invalid("SENDER_NOT_ALLOWED", format!("{sender} {why}"))
                    })?;
                    let mut m = Message::new(rid, user.to_ref(), text, None);
                    set_custom(&mut m, custom);
                    m.idempotency_key = idempotency_key;
                    (m, permit)
                }
                TalkMessageInput::System {
                    text,
                    custom,
                    idempotency_key,
                } => {
                    self.check_talk_message_size(&text)?;
                    let permit = self
                        .decide(Principal::Backend, Action::Post, &room)
                        .map_err(refusal)?;
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
                    (m, permit)
                }
            };
            prepared.push((msg, permit));
        }
        let mut out = Vec::with_capacity(prepared.len());
        for (msg, permit) in prepared {
            out.push(self.store_once(&permit, msg, &room).await?);
        }
        Ok(out)
    }

    /// Stores a message unless one with the same idempotency key exists in the room.
    async fn store_once(&self, permit: &Permit, msg: Message, room: &Room) -> Result<Message> {
        if let Some(key) = &msg.idempotency_key {
            if let Some(existing) = self.store.message_by_idempotency_key(&msg.rid, key).await? {
                return Ok(existing);
            }
        }
        match self
            .write(permit, room, RoomChange::PostMessage(msg.clone()))
            .await
        {
            Ok(_) => Ok(msg),
            // The same key raced in: the first one stands.
            Err(Error::Conflict(_)) if msg.idempotency_key.is_some() => {
                let key = msg.idempotency_key.as_deref().unwrap_or_default();
                self.store
                    .message_by_idempotency_key(&msg.rid, key)
                    .await?
                    .ok_or_else(|| Error::Internal("idempotent message vanished".into()))
            }
            Err(e) => Err(e),
        }
    }

    /// The shared size limit (`check_message_size`), as a TalkJS-style 400.
    fn check_talk_message_size(&self, text: &str) -> Result<()> {
        self.check_message_size(text).map_err(|_| {
            Error::invalid(
                "MESSAGE_TOO_LONG",
                format!(
                    "Message text is longer than {} characters",
                    self.max_message_chars()
                ),
            )
        })
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
        self.check_talk_message_size(&text)?;
        let room = self.talk_conversation(rid).await?;
        let (viewer, _) = self.viewer(&room, actor, as_guest).await?;
        let user = self.talk_user(actor.user_id()).await?;
        let permit = self.may_post(&viewer, actor, &room, &user)?;
        let mut m = Message::new(rid, user.to_ref(), text, None);
        set_custom(&mut m, custom);
        m.idempotency_key = idempotency_key;
        self.store_once(&permit, m, &room).await
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
        let (viewer, permit) = self.viewer(&room, actor, as_guest).await?;
        let mut messages = self
            .store
            .list_messages_after(rid, starting_after, limit.clamp(1, 100))
            .await?;
        if let Some(until) = permit.until() {
            messages.retain(|m| m.ts <= until);
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
        by: &AppActor,
        rid: &str,
        id: &str,
        text: Option<String>,
        custom: Option<Option<serde_json::Map<String, serde_json::Value>>>,
    ) -> Result<Message> {
        let room = self.talk_conversation(rid).await?;
        let permit = self
            .backend_permit(
                by,
                &room,
                Action::EditMessage {
                    own: false,
                    limits: Default::default(),
                },
            )
            .await?;
        let mut m = self.talk_message(rid, id).await?;
        if let Some(t) = text {
            self.check_talk_message_size(&t)?;
            m.msg = t;
        }
        if let Some(c) = custom {
            set_custom(&mut m, c.unwrap_or_default());
        }
        let now = Timestamp::now();
        m.edited_at = Some(now);
        m.updated_at = now;
        self.write(&permit, &room, RoomChange::EditMessage(m.clone()))
            .await?;
        Ok(m)
    }

    pub async fn delete_talk_message(&self, by: &AppActor, rid: &str, id: &str) -> Result<()> {
        let room = self.talk_conversation(rid).await?;
        let permit = self
            .backend_permit(
                by,
                &room,
                Action::DeleteMessage {
                    own: false,
                    limits: Default::default(),
                },
            )
            .await?;
        self.talk_message(rid, id).await?;
        let change = RoomChange::DeleteMessage { id: id.to_string() };
        self.write(&permit, &room, change).await?;
        Ok(())
    }

    async fn backend_permit(
        &self,
        by: &AppActor,
        room: &Room,
        action: Action<'_>,
    ) -> Result<Permit> {
        let caller = self.talk_caller(TalkCaller::Backend(by), room).await?;
        self.decide(caller.principal(), action, room)
            .map_err(refusal)
    }

    /// `markAsRead` from a browser session.
    pub async fn client_mark_read(&self, actor: &ClientActor, rid: &str) -> Result<()> {
        if !self.read_and_report(rid, actor.user_id()).await? {
            return Err(Error::NotFound(Failure::new(
                "PARTICIPANT_NOT_FOUND",
                "You are not a participant of this conversation",
            )));
        }
        Ok(())
    }

    /// `POST .../conversations/{id}/readBy/{userId}` from the backend: marks the conversation
    /// read for that participant, as their own mark-read would.
    pub async fn talk_mark_read(&self, _by: &AppActor, rid: &str, uid: &str) -> Result<()> {
        self.talk_conversation(rid).await?;
        if !self.read_and_report(rid, uid).await? {
            return Err(Error::NotFound(Failure::new(
                "PARTICIPANT_NOT_FOUND",
                format!("{uid} is not a participant of this conversation"),
            )));
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
