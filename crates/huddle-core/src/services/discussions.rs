//! Discussions (`rooms.createDiscussion`, `rooms.getDiscussions`, `chat.getDiscussions`, DDP
//! `createDiscussion`): a discussion is a room of its own whose `prid` names its parent room
//! (and `pmid` the parent's message it was started from). Starting one is decided by the policy
//! on the parent (`Action::StartDiscussion`); the new room is then made through the one write
//! path under the workspace's rules (Rocket.Chat's `createDiscussion` skips `create-c`/`create-p`
//! as well), and the parent gets its `discussion-created` message, which carries `drid`.
//!
//! The parent message's `dcount` (messages in the discussion) and `dlm` (its last message) are
//! read from the discussion room when a message with `drid` is listed (`with_discussion_counts`)
//! rather than written into the parent on every post of the discussion: the room row has them
//! already, and a second room's write per message would double the cost of every post.

use serde_json::json;

use super::rooms::creation_subscription;
use super::{Actor, Huddle};
use crate::model::{Message, MessageFilter, MessageQuery, Page, Paging, Room, RoomQuery, RoomType};
use crate::policy::{Action, Principal, Refusal};
use crate::store::RoomChange;
use crate::{ids, Error, Failure, Result};

/// A discussion to start.
#[derive(Debug, Clone, Default)]
pub struct NewDiscussion {
    pub prid: String,
    pub pmid: Option<String>,
    pub t_name: String,
    /// Usernames to add besides the creator (and the parent message's author); unknown ones are
    /// skipped, as Rocket.Chat does.
    pub users: Vec<String>,
    /// A first message the creator posts in the discussion.
    pub reply: Option<String>,
    pub encrypted: bool,
    pub topic: Option<String>,
}

const METHOD: &str = "DiscussionCreation";

// Rocket.Chat's REST route answers every refusal of `createDiscussion` as a 400 failure.
fn not_allowed(reason: &'static str) -> Error {
    Error::Invalid(Failure::new("error-action-not-allowed", reason).method(METHOD))
}

impl Huddle {
    /// Starts a discussion of `prid` (Rocket.Chat's `createDiscussion`), or hands back the one
    /// already started from message `pmid`.
    pub async fn create_discussion(&self, actor: &Actor, input: NewDiscussion) -> Result<Room> {
        if !self.setting_flag("Discussion_enabled", true) {
            return Err(not_allowed("You are not allowed to create a discussion"));
        }
        let Some(parent) = self.store.room_by_id(&input.prid).await? else {
            return Err(Error::Invalid(
                Failure::new("error-invalid-room", "Invalid room").method(METHOD),
            ));
        };
        let sub = self.store.subscription(&parent.id, &actor.user.id).await?;
        let who = || actor.person(sub.as_ref());
        let refused = |r: Refusal, reason: &'static str| match r {
            Refusal::NotVisible => {
                Error::Invalid(Failure::new("error-not-allowed", "Not allowed").method(METHOD))
            }
            Refusal::Archived => Error::invalid("error-room-archived", "Room is archived"),
            _ => not_allowed(reason),
        };
        let mut permit = self
            .decide(
                who(),
                Action::StartDiscussion { other_user: false },
                &parent,
            )
            .map_err(|r| refused(r, "You are not allowed to create a discussion"))?;
        let message = match &input.pmid {
            None => None,
            Some(pmid) => {
                let found = self.store.message_by_id(pmid).await?;
                let Some(m) = found.filter(|m| m.rid == parent.id) else {
                    return Err(Error::Invalid(
                        Failure::new("error-invalid-message", "Invalid message").method(METHOD),
                    ));
                };
                if m.u.id != actor.user.id {
                    let other = Action::StartDiscussion { other_user: true };
                    permit = self
                        .decide(who(), other, &parent)
                        .map_err(|r| refused(r, "You are not allowed to start a discussion"))?;
                }
                let existing = RoomQuery {
                    prid: Some(parent.id.clone()),
                    pmid: Some(pmid.clone()),
                    paging: Paging {
                        offset: 0,
                        count: Some(1),
                    },
                    ..Default::default()
                };
                if let Some(room) = self.store.list_rooms(&existing).await?.items.pop() {
                    return Ok(room);
                }
                Some(m)
            }
        };
        let t_name = input.t_name.trim().to_string();
        if t_name.is_empty() {
            return Err(Error::Invalid(
                Failure::new("error-invalid-name", "Invalid name").method(METHOD),
            ));
        }
        if parent.prid.is_some() {
            return Err(Error::Invalid(
                Failure::new(
                    "error-nested-discussion",
                    "Cannot create nested discussions",
                )
                .method(METHOD),
            ));
        }
        if input.encrypted && input.reply.is_some() {
            return Err(Error::Invalid(
                Failure::new(
                    "error-invalid-arguments",
                    "Encrypted discussions must not receive an initial reply.",
                )
                .method(METHOD),
            ));
        }
        // A public channel's discussions are public; any other room's are private groups.
        let t = match parent.t {
            RoomType::Channel => RoomType::Channel,
            _ => RoomType::Group,
        };
        let mut room = Room::new(ids::new_id(), t, None, Some(actor.user.to_ref()));
        // Rocket.Chat names a discussion with a random id and shows `fname`.
        room.name = Some(ids::new_id());
        room.fname = Some(t_name.clone());
        room.prid = Some(parent.id.clone());
        room.pmid = input.pmid.clone();
        room.encrypted = input.encrypted;
        room.topic = input.topic.clone().or_else(|| parent.name.clone());
        room.description = message
            .as_ref()
            .filter(|_| !parent.encrypted)
            .map(|m| m.msg.clone());
        let mut usernames = input.users.clone();
        if let Some(m) = &message {
            usernames.push(m.u.username.clone());
        }
        usernames.truncate(self.limits.max_invite);
        let mut users = self.store.users_by_usernames(&usernames).await?;
        users.retain(|u| u.id != actor.user.id);
        users.sort_by(|a, b| a.id.cmp(&b.id));
        users.dedup_by(|a, b| a.id == b.id);
        // Only people who may read the parent come along (the discussion quotes it), and
        // nobody banned from it.
        let mut invited = Vec::with_capacity(users.len());
        for u in users {
            let sub = self.store.subscription(&parent.id, &u.id).await?;
            let banned = self.store.room_ban(&parent.id, &u.id).await?.is_some();
            if !banned && self.can_access(&u, &parent, sub.as_ref()) {
                invited.push(u);
            }
        }
        let mut users = invited;
        users.insert(0, actor.user.clone());
        let members = users
            .iter()
            .map(|u| creation_subscription(&room, u, u.id == actor.user.id))
            .collect::<Vec<_>>();
        room.users_count = members.len() as i64;
        // The person was allowed on the parent; the room itself is the workspace's to make.
        let create = self
            .decide(Principal::Workspace, Action::Create, &room)
            .map_err(|_| not_allowed("You are not allowed to create a discussion"))?;
        let change = RoomChange::Create {
            room: room.clone(),
            members,
        };
        let room = self.write(&create, &room, change).await?.room;
        let mut note = Message::new(
            &parent.id,
            actor.user.to_ref(),
            t_name,
            Some("discussion-created"),
        );
        note.extra.insert("drid".into(), json!(room.id));
        if let Some(m) = &message {
            let text = if parent.encrypted {
                "Encrypted message".to_string()
            } else {
                m.msg.clone()
            };
            note.extra.insert(
                "attachments".into(),
                json!([{
                    "text": text,
                    "author_name": m.u.username,
                    "author_icon": format!("/avatar/{}", m.u.username),
                    "message_link": format!("/{}?msg={}", parent.id, m.id),
                    "ts": m.ts.to_iso(),
                }]),
            );
        }
        self.write(&permit, &parent, RoomChange::PostMessage(note))
            .await?;
        if let Some(reply) = input.reply.filter(|r| !r.trim().is_empty()) {
            self.post_message(actor, &room, reply, Default::default())
                .await?;
        }
        // The room as it is now (the reply moved its counters).
        Ok(self.store.room_by_id(&room.id).await?.unwrap_or(room))
    }

    /// `rooms.getDiscussions`: the discussions of a room the caller may read, by name.
    pub async fn room_discussions(
        &self,
        actor: &Actor,
        room: &Room,
        paging: Paging,
    ) -> Result<Page<Room>> {
        // Rocket.Chat answers a room the caller may not read with a plain 400.
        if !self.may_read(actor, room).await? {
            return Err(Error::Invalid(Failure::plain("Not Allowed")));
        }
        let query = RoomQuery {
            prid: Some(room.id.clone()),
            paging,
            ..Default::default()
        };
        self.store.list_rooms(&query).await
    }

    /// `chat.getDiscussions`: the messages of a room that announce its discussions, newest
    /// first, with each discussion's `dcount` and `dlm`.
    pub async fn discussion_messages(
        &self,
        actor: &Actor,
        room: &Room,
        text: Option<String>,
        paging: Paging,
    ) -> Result<Page<Message>> {
        if !self.may_read(actor, room).await? {
            return Err(Error::Invalid(Failure::plain("error-not-allowed")));
        }
        let query = MessageQuery {
            paging,
            filter: Some(MessageFilter::Discussions(text)),
            ..Default::default()
        };
        let mut page = self.history(actor, room, &query).await?;
        self.with_discussion_counts(&mut page.items).await?;
        Ok(page)
    }

    /// Fills `dcount` and `dlm` of the messages that announce a discussion, from the
    /// discussion's room (a cached lookup each; most messages have none).
    pub(crate) async fn with_discussion_counts(&self, messages: &mut [Message]) -> Result<()> {
        for m in messages.iter_mut() {
            let Some(drid) = m.extra.get("drid").and_then(|v| v.as_str()) else {
                continue;
            };
            let Some(d) = self.store.room_by_id(drid).await? else {
                continue;
            };
            // The discussion's own messages: its counter less nothing (a new room has none).
            m.extra.insert("dcount".into(), json!(d.msgs));
            if let Some(lm) = d.last_message_at {
                m.extra.insert("dlm".into(), json!(lm.0));
            }
        }
        Ok(())
    }
}
