//! Conversations: upsert (the `participants` list only adds), get with participants, delete,
//! list (all, or one user's), and the per-conversation guest switch.

use std::collections::BTreeMap;

use super::Viewer;
use super::{check_id, patch_custom, refusal, TalkCaller};
use crate::policy::Action;
use crate::services::{AppActor, ClientActor, Huddle};
use crate::store::{ConversationQuery, NewMember, RoomChange};
use crate::{
    Error, Failure, Member, MemberQuery, Message, Origin, Paging, Result, Room, RoomType,
    Subscription, Timestamp, User,
};

/// A conversation patch: `None` leaves a field, `Some(None)` deletes it (JSON `null`).
#[derive(Debug, Clone, Default)]
pub struct ConversationPatch {
    pub subject: Option<Option<String>>,
    pub photo_url: Option<Option<String>>,
    pub welcome_messages: Option<Option<Vec<String>>>,
    pub custom: Option<Option<BTreeMap<String, Option<String>>>>,
    /// User ids to add (never removes anyone).
    pub participants: Option<Vec<String>>,
    /// Whether guests may enter (also needs the app settings to allow guests).
    pub guest_access: Option<bool>,
}

/// A conversation as one reader may see it.
#[derive(Debug, Clone)]
pub struct ConversationView {
    pub room: Room,
    /// The reader's membership, when the listing is one user's.
    pub membership: Option<Subscription>,
    /// The newest message the reader may see.
    pub last_message: Option<Message>,
    /// Set when the reader's access is `None`: nothing after it is theirs to see.
    pub cut_off: Option<Timestamp>,
}

impl ConversationView {
    /// Whether the reader has unread messages: past a cut-off only what came before it counts.
    pub fn is_unread(&self) -> bool {
        let Some(m) = &self.membership else {
            return false;
        };
        match self.cut_off {
            None => m.unread > 0 || m.alert,
            Some(_) => self
                .last_message
                .as_ref()
                .is_some_and(|last| Some(last.ts) > m.ls && last.u.id != m.u.id),
        }
    }
}

fn not_found(id: &str) -> Error {
    Error::NotFound(Failure::new(
        "CONVERSATION_NOT_FOUND",
        format!("No conversation with id {id}"),
    ))
}

impl Huddle {
    pub async fn talk_conversation(&self, id: &str) -> Result<Room> {
        self.store
            .room_by_id(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Participants of a conversation as TalkJS lists them (those with access `None` are not
    /// shown to others).
    pub async fn talk_participants(&self, room: &Room) -> Result<Vec<Member>> {
        Ok(self
            .all_talk_participants(room)
            .await?
            .into_iter()
            .filter(|m| m.subscription.access != crate::Access::None)
            .collect())
    }

    /// Every participant, access `None` included: what an administrator lists and edits.
    pub async fn all_talk_participants(&self, room: &Room) -> Result<Vec<Member>> {
        let page = self
            .store
            .list_members(
                &room.id,
                &MemberQuery {
                    paging: Paging {
                        offset: 0,
                        count: None,
                    },
                    ..Default::default()
                },
            )
            .await?;
        Ok(page.items)
    }

    /// `PUT /conversations/{id}`: creates (private room, guests allowed) or updates. A browser
    /// session becomes a participant itself. On an existing room every part of the request is
    /// decided on its own: settings, guest access, and each participant added.
    pub async fn upsert_conversation(
        &self,
        id: &str,
        patch: &ConversationPatch,
        by: TalkCaller<'_>,
    ) -> Result<Room> {
        check_id("conversation", id)?;
        let mut wanted = patch.participants.clone().unwrap_or_default();
        if let TalkCaller::Browser(actor) = by {
            wanted.push(actor.user_id().to_string());
        }
        wanted.sort();
        wanted.dedup();
        let users = self.store.users_by_ids(&wanted).await?;
        if let Some(missing) = wanted.iter().find(|w| !users.iter().any(|u| &u.id == *w)) {
            return Err(Error::invalid(
                "USER_NOT_FOUND",
                format!("No user with id {missing}: create users before adding them"),
            ));
        }
        let room = match self.store.room_by_id(id).await? {
            None => {
                let mut room = Room::new(id.to_string(), RoomType::Group, None, None);
                room.origin = Origin::TalkJs;
                room.guest_access = true;
                apply(&mut room, patch);
                let caller = self.talk_caller(by, &room).await?;
                let permit = self
                    .decide(caller.principal(), Action::Create, &room)
                    .map_err(refusal)?;
                let subs: Vec<Subscription> = users
                    .iter()
                    .map(|u| crate::services::rooms::creation_subscription(&room, u, false))
                    .collect();
                room.users_count = subs.len() as i64;
                let change = RoomChange::Create {
                    room: room.clone(),
                    members: subs,
                };
                match self.write(&permit, &room, change).await {
                    Ok(done) => return Ok(done.room),
                    // Created concurrently by another request: update it like an existing one.
                    Err(Error::Conflict(_)) => self.talk_conversation(id).await?,
                    Err(e) => return Err(e),
                }
            }
            Some(existing) => existing,
        };
        self.update_conversation(room, patch, &users, by).await
    }

    async fn update_conversation(
        &self,
        mut room: Room,
        patch: &ConversationPatch,
        add: &[User],
        by: TalkCaller<'_>,
    ) -> Result<Room> {
        let caller = self.talk_caller(by, &room).await?;
        let before = room.clone();
        apply(&mut room, patch);
        let switch = before.guest_access != room.guest_access;
        let mut settings_only = room.clone();
        settings_only.guest_access = before.guest_access;
        // A browser's PUT of a conversation is an edit even when it changes nothing (TalkJS:
        // refused while conversation sync is off).
        let browser = caller.user_id().is_some();
        let mut permit = None;
        if settings_only != before || browser {
            let action = Action::EditRoom {
                permission: "edit-room",
            };
            permit = Some(
                self.decide(caller.principal(), action, &before)
                    .map_err(refusal)?,
            );
        }
        if switch {
            permit = Some(
                self.decide(caller.principal(), Action::SwitchGuestAccess, &before)
                    .map_err(refusal)?,
            );
        }
        if let Some(permit) = permit.filter(|_| room != before) {
            room.updated_at = Timestamp::now();
            let change = RoomChange::UpdateRoom {
                room: room.clone(),
                message: None,
                guest_access: switch.then_some(room.guest_access),
            };
            self.write(&permit, &room, change).await?;
        }
        // Only those not in yet are decided and added (a member re-sent is no request to join).
        let mut members = vec![];
        let mut permits = vec![];
        for u in add {
            if self.store.subscription(&room.id, &u.id).await?.is_some() {
                continue;
            }
            let action = if caller.user_id() == Some(u.id.as_str()) {
                Action::Join
            } else {
                Action::Invite
            };
            permits.push(
                self.decide(caller.principal(), action, &room)
                    .map_err(refusal)?,
            );
            members.push(NewMember {
                subscription: crate::services::rooms::creation_subscription(&room, u, false),
                message: Some(Message::system(
                    &room.id,
                    "uj",
                    u.to_ref(),
                    u.username_or_id(),
                )),
            });
        }
        if let Some(permit) = permits.first() {
            // Banned users: only the backend may add them (the policy decides, in add_members).
            return Ok(self
                .add_members(caller.principal(), permit, room, members)
                .await
                .map_err(super::banned_refusal)?
                .room);
        }
        self.talk_conversation(&room.id).await
    }

    /// `DELETE /conversations/{id}`: messages and memberships go with it.
    pub async fn delete_conversation(&self, id: &str, by: &AppActor) -> Result<()> {
        let room = self.talk_conversation(id).await?;
        let caller = self.talk_caller(TalkCaller::Backend(by), &room).await?;
        let permit = self
            .decide(caller.principal(), Action::DeleteRoom, &room)
            .map_err(refusal)?;
        if !self
            .write(&permit, &room, RoomChange::DeleteRoom)
            .await?
            .written
            .changed()
        {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// `GET /conversations`, `GET /users/{id}/conversations` and a browser's inbox, each with
    /// the last message its reader may see: a participant whose access is `None` sees none
    /// newer than the revocation.
    pub async fn list_talk_conversations(
        &self,
        query: &ConversationQuery,
    ) -> Result<Vec<ConversationView>> {
        if let Some(uid) = &query.member {
            self.talk_user(uid).await?;
        }
        let mut q = query.clone();
        q.limit = q.limit.clamp(1, 100);
        let rows = self.store.list_conversations(&q).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (room, membership) in rows {
            let until = membership
                .as_ref()
                .filter(|m| m.access == crate::Access::None)
                .map(|m| m.revoked_at.unwrap_or(Timestamp(0)));
            let last_message = self.last_message_until(&room.id, until).await?;
            out.push(ConversationView {
                room,
                membership,
                last_message,
                cut_off: until,
            });
        }
        Ok(out)
    }

    /// A conversation with its participants (those with access `None` left out) and the newest
    /// message, for the backend.
    pub async fn talk_conversation_full(
        &self,
        id: &str,
    ) -> Result<(Room, Vec<Member>, Option<Message>)> {
        let room = self.talk_conversation(id).await?;
        let members = self.talk_participants(&room).await?;
        let last = self.last_message_until(id, None).await?;
        Ok((room, members, last))
    }

    /// A conversation as a browser session sees it (as a participant, or as a guest when it
    /// asks): the newest message is the newest it may see.
    pub async fn client_conversation(
        &self,
        actor: &ClientActor,
        id: &str,
        as_guest: bool,
    ) -> Result<(Room, Vec<Member>, Option<Message>, Viewer)> {
        let room = self.talk_conversation(id).await?;
        let (viewer, permit) = self.viewer(&room, actor, as_guest).await?;
        let members = self.talk_participants(&room).await?;
        let last = self.last_message_until(id, permit.until()).await?;
        Ok((room, members, last, viewer))
    }

    /// The newest message of a room, or the newest up to `until`.
    pub(crate) async fn last_message_until(
        &self,
        rid: &str,
        until: Option<Timestamp>,
    ) -> Result<Option<Message>> {
        let Some(until) = until else {
            return Ok(self
                .store
                .list_messages_after(rid, None, 1)
                .await?
                .into_iter()
                .next());
        };
        let query = crate::MessageQuery {
            latest: Some(until),
            inclusive: true,
            paging: Paging {
                offset: 0,
                count: Some(1),
            },
            ..Default::default()
        };
        Ok(self
            .store
            .list_messages(rid, &query)
            .await?
            .items
            .into_iter()
            .next())
    }
}

fn apply(room: &mut Room, p: &ConversationPatch) {
    if let Some(v) = &p.subject {
        room.subject = v.clone();
    }
    if let Some(v) = &p.photo_url {
        room.photo_url = v.clone();
    }
    if let Some(v) = &p.welcome_messages {
        room.welcome_messages = v.clone().unwrap_or_default();
    }
    if let Some(c) = &p.custom {
        patch_custom(&mut room.custom, c);
    }
    if let Some(g) = p.guest_access {
        room.guest_access = g;
    }
}

/// The refusal a browser gets while the dashboard disallows this kind of synchronisation.
pub fn sync_disallowed(what: &str) -> Error {
    Error::Forbidden(Failure::new(
        "BROWSER_SYNC_DISALLOWED",
        format!("{what} synchronization via the browser is disallowed in the security settings"),
    ))
}
