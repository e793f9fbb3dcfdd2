//! Conversations: upsert (the `participants` list only adds), get with participants, delete,
//! list (all, or one user's), and the per-conversation guest switch.

use std::collections::BTreeMap;

use super::{check_id, patch_custom};
use crate::events::Event;
use crate::services::{ClientActor, Huddle};
use crate::store::{ConversationQuery, NewMember};
use crate::{
    Error, Failure, Member, MemberQuery, Message, Paging, Result, Room, RoomType, Subscription,
    Timestamp, User,
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
    /// session (`by`) needs conversation sync and becomes a participant itself.
    pub async fn upsert_conversation(
        &self,
        id: &str,
        patch: &ConversationPatch,
        by: Option<&ClientActor>,
    ) -> Result<Room> {
        check_id("conversation", id)?;
        if by.is_some() && !self.app_settings().browser_conversation_sync {
            return Err(sync_disallowed("conversation"));
        }
        let mut wanted = patch.participants.clone().unwrap_or_default();
        if let Some(actor) = by {
            wanted.push(actor.user_id.clone());
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
                room.guest_access = true;
                apply(&mut room, patch);
                let subs: Vec<Subscription> = users
                    .iter()
                    .map(|u| crate::services::rooms::creation_subscription(&room, u, false))
                    .collect();
                room.users_count = subs.len() as i64;
                match self.store.create_room(&room, &subs).await {
                    Ok(()) => {
                        let shared = std::sync::Arc::new(room.clone());
                        for s in subs {
                            self.publish(Event::MemberAdded {
                                subscription: s,
                                room: shared.clone(),
                            });
                        }
                        self.publish(Event::RoomChanged(room.clone()));
                        return Ok(room);
                    }
                    // Created concurrently by another request: update it like an existing one.
                    Err(Error::Conflict(_)) => self.talk_conversation(id).await?,
                    Err(e) => return Err(e),
                }
            }
            Some(existing) => existing,
        };
        self.update_conversation(room, patch, &users).await
    }

    async fn update_conversation(
        &self,
        mut room: Room,
        patch: &ConversationPatch,
        add: &[User],
    ) -> Result<Room> {
        let before = room.clone();
        apply(&mut room, patch);
        if room != before {
            room.updated_at = Timestamp::now();
            self.store.update_room(&room, None).await?;
            if before.guest_access != room.guest_access {
                self.publish(Event::GuestAccessChanged {
                    rid: Some(room.id.clone()),
                    allowed: room.guest_access,
                });
            }
        }
        let members: Vec<NewMember> = add
            .iter()
            .map(|u| NewMember {
                subscription: crate::services::rooms::creation_subscription(&room, u, false),
                message: Some(Message::system(
                    &room.id,
                    "uj",
                    u.to_ref(),
                    u.username_or_id(),
                )),
            })
            .collect();
        let added = self.store.add_members(&room.id, &members).await?;
        let shared = std::sync::Arc::new(room.clone());
        for m in members
            .into_iter()
            .filter(|m| added.contains(&m.subscription.u.id))
        {
            self.publish(Event::MemberAdded {
                subscription: m.subscription,
                room: shared.clone(),
            });
            if let Some(msg) = m.message {
                self.publish(Event::MessageCreated {
                    message: msg,
                    room: room.brief(),
                });
            }
        }
        let room = self.talk_conversation(&room.id).await?;
        self.publish(Event::RoomChanged(room.clone()));
        Ok(room)
    }

    /// `DELETE /conversations/{id}`: messages and memberships go with it.
    pub async fn delete_conversation(&self, id: &str) -> Result<()> {
        if !self.store.delete_room(id).await? {
            return Err(not_found(id));
        }
        self.publish(Event::RoomDeleted {
            rid: id.to_string(),
        });
        Ok(())
    }

    /// `GET /conversations` and `GET /users/{id}/conversations`.
    pub async fn list_talk_conversations(
        &self,
        query: &ConversationQuery,
    ) -> Result<Vec<(Room, Option<Subscription>)>> {
        if let Some(uid) = &query.member {
            self.talk_user(uid).await?;
        }
        let mut q = query.clone();
        q.limit = q.limit.clamp(1, 100);
        self.store.list_conversations(&q).await
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
