//! Pins and stars (`chat.pinMessage`, `chat.unPinMessage`, `chat.getPinnedMessages`,
//! `chat.starMessage`, `chat.unStarMessage`, `chat.getStarredMessages`, DDP `pinMessage` /
//! `unpinMessage`). A pin changes the room (the message and a `message_pinned` note, through the
//! one write path, with `pin-message`); a star is the user's own mark and changes nothing others
//! see.

use serde_json::json;

use super::{Actor, Huddle};
use crate::model::{Message, MessageFilter, MessageQuery, Page, Paging, Room, Subscription};
use crate::policy::{Action, Refusal};
use crate::store::{MessagePatch, RoomChange, RoomEventItem};
use crate::{Error, Failure, Result, Timestamp};

/// Rocket.Chat's answer for a message id that names nothing.
pub(crate) fn message_not_found() -> Error {
    Error::invalid(
        "error-message-not-found",
        "The provided \"messageId\" does not match any existing message.",
    )
}

impl Huddle {
    /// Message `id`, its room and the caller's membership of that room.
    pub(crate) async fn message_and_room(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(Message, Room, Option<Subscription>)> {
        let msg = self
            .store
            .message_by_id(id)
            .await?
            .ok_or_else(message_not_found)?;
        let room = self
            .store
            .room_by_id(&msg.rid)
            .await?
            .ok_or_else(message_not_found)?;
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        Ok((msg, room, sub))
    }

    /// Pins a message; the answer is the `message_pinned` note (or the message itself when it
    /// was pinned already: nothing changes then).
    pub async fn pin_message(
        &self,
        actor: &Actor,
        id: &str,
        method: &'static str,
    ) -> Result<Message> {
        let (msg, room, sub) = self.message_and_room(actor, id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::Pin, &room)
            .map_err(|r| pin_refused(r, method))?;
        let mut note = Message::new(
            &room.id,
            actor.user.to_ref(),
            String::new(),
            Some("message_pinned"),
        );
        note.extra.insert(
            "attachments".into(),
            json!([{
                "text": msg.msg,
                "author_name": msg.u.username,
                "author_icon": format!("/avatar/{}", msg.u.username),
                "ts": msg.ts.to_iso(),
                "attachments": [],
            }]),
        );
        let patch = MessagePatch::Pin {
            by: actor.user.to_ref(),
            at: Timestamp::now(),
        };
        let change = RoomChange::PatchMessage {
            id: msg.id.clone(),
            patch,
            message: Some(note),
        };
        let done = self.write(&permit, &room, change).await?;
        let note = done.written.items.into_iter().find_map(|i| match i {
            RoomEventItem::MessageCreated { message } => Some(*message),
            _ => None,
        });
        Ok(note.unwrap_or(msg))
    }

    pub async fn unpin_message(&self, actor: &Actor, id: &str, method: &'static str) -> Result<()> {
        let (msg, room, sub) = self.message_and_room(actor, id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::Pin, &room)
            .map_err(|r| pin_refused(r, method))?;
        let change = RoomChange::PatchMessage {
            id: msg.id,
            patch: MessagePatch::Unpin,
            message: None,
        };
        self.write(&permit, &room, change).await?;
        Ok(())
    }

    /// Stars (or unstars) a message for the caller, who must be a member of its room (as
    /// Rocket.Chat requires a subscription).
    pub async fn star_message(&self, actor: &Actor, id: &str, starred: bool) -> Result<()> {
        let (msg, room, sub) = self.message_and_room(actor, id).await?;
        let readable = self
            .decide(actor.person(sub.as_ref()), Action::Read, &room)
            .is_ok();
        if sub.is_none() || !readable {
            return Err(Error::Forbidden(
                Failure::new("error-action-not-allowed", "Not allowed").method("starMessage"),
            ));
        }
        self.store
            .set_star(&actor.user.id, &room.id, &msg.id, starred)
            .await?;
        Ok(())
    }

    /// A room's pinned messages, newest first.
    pub async fn pinned_messages(
        &self,
        actor: &Actor,
        room: &Room,
        paging: Paging,
    ) -> Result<Page<Message>> {
        let query = MessageQuery {
            paging,
            filter: Some(MessageFilter::Pinned),
            ..Default::default()
        };
        self.history(actor, room, &query).await
    }

    /// The caller's starred messages of a room, newest first, each with `starred: [{_id}]`.
    pub async fn starred_messages(
        &self,
        actor: &Actor,
        room: &Room,
        paging: Paging,
    ) -> Result<Page<Message>> {
        let ids = self.store.starred_ids(&actor.user.id, &room.id).await?;
        let query = MessageQuery {
            paging,
            filter: Some(MessageFilter::Ids(ids)),
            ..Default::default()
        };
        let mut page = self.history(actor, room, &query).await?;
        for m in &mut page.items {
            m.extra
                .insert("starred".into(), json!([{ "_id": actor.user.id }]));
        }
        Ok(page)
    }
}

impl Huddle {
    /// `chat.reportMessage`: a report to the administrators by someone who may read the
    /// message, with the message as it is now.
    pub async fn report_message(&self, actor: &Actor, id: &str, description: &str) -> Result<()> {
        if description.trim().is_empty() {
            return Err(Error::invalid(
                "error-invalid-description",
                "Invalid description",
            ));
        }
        let (msg, room, sub) = self.message_and_room(actor, id).await?;
        if !self.can_access(&actor.user, &room, sub.as_ref()) {
            return Err(Error::not_allowed("reportMessage"));
        }
        let report = crate::model::MessageReport {
            id: crate::ids::new_id(),
            message: msg,
            reporter: actor.user.to_ref(),
            description: description.chars().take(1_000).collect(),
            ts: Timestamp::now(),
        };
        self.store.insert_report(&report).await
    }

    /// `moderation.reports`: the reports of one message, for `view-moderation-console`.
    pub async fn message_reports(
        &self,
        actor: &Actor,
        id: &str,
        paging: Paging,
    ) -> Result<Page<crate::model::MessageReport>> {
        if !self.has_permission(&actor.user, "view-moderation-console") {
            return Err(Error::unauthorized());
        }
        self.store.reports_of_message(id, paging).await
    }
}

/// Rocket.Chat's refusals of `pinMessage`: not a member is `error-action-not-allowed`, no
/// `pin-message` is `not-authorized`.
fn pin_refused(r: Refusal, method: &'static str) -> Error {
    match r {
        Refusal::NotMember | Refusal::NotVisible => {
            Error::Forbidden(Failure::new("error-action-not-allowed", "Not allowed").method(method))
        }
        _ => Error::Forbidden(Failure::new("not-authorized", "Not Authorized").method(method)),
    }
}
