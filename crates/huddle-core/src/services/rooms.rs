//! Rooms: creation, settings, archiving, deletion, listing and the per-user open/read state.

use super::{Actor, Huddle};
use crate::events::Event;
use crate::model::{Page, Room, RoomQuery, RoomType, Subscription, User};
use crate::policy::Action;
use crate::store::RoomChange;
use crate::{ids, Error, Message, Result, Timestamp};

/// A room to create (`channels.create`, `groups.create`).
#[derive(Debug, Clone, Default)]
pub struct CreateRoom {
    pub name: String,
    /// Usernames; unknown ones are ignored, as Rocket.Chat does.
    pub members: Vec<String>,
    pub read_only: bool,
    pub exclude_self: bool,
    pub topic: Option<String>,
    pub description: Option<String>,
}

/// One setting change on a room, each with its permission and system message.
#[derive(Debug, Clone)]
pub enum RoomUpdate {
    Name(String),
    Topic(String),
    Description(String),
    Announcement(String),
    JoinCode(String),
    ReadOnly(bool),
    Type(RoomType),
    Archived(bool),
    Default(bool),
    /// Rocket.Chat's `customFields` (string values; the TalkJS-style `custom` of the same room).
    CustomFields(std::collections::BTreeMap<String, String>),
    /// The end-to-end flag (private groups only).
    Encrypted(bool),
}

impl Huddle {
    /// Creates a channel or group with the caller as owner. Refusals follow Rocket.Chat:
    /// `channels.create` without `create-c` is a bare 403, `groups.create` without `create-p`
    /// is `error-not-allowed`.
    pub async fn create_room(&self, actor: &Actor, t: RoomType, input: CreateRoom) -> Result<Room> {
        if t == RoomType::Direct {
            return Err(Error::invalid(
                "error-invalid-room-type",
                "Invalid room type",
            ));
        }
        let probe = Room::new(String::new(), t, None, None);
        if self
            .decide(actor.person(None), Action::Create, &probe)
            .is_err()
        {
            return Err(match t {
                RoomType::Channel => Error::unauthorized(),
                _ => Error::not_allowed("createPrivateGroup"),
            });
        }
        let name = input.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("error-invalid-name", "Invalid name"));
        }
        self.check_room_name(&name, None).await?;
        let mut room = Room::new(ids::new_id(), t, Some(name), Some(actor.user.to_ref()));
        room.read_only = input.read_only;
        room.topic = input.topic;
        room.description = input.description;
        let mut users = self.store.users_by_usernames(&input.members).await?;
        users.retain(|u| u.id != actor.user.id);
        if !input.exclude_self {
            users.insert(0, actor.user.clone());
        }
        let subs = users
            .iter()
            .map(|u| creation_subscription(&room, u, u.id == actor.user.id))
            .collect::<Vec<_>>();
        room.users_count = subs.len() as i64;
        let permit = self
            .decide(actor.person(None), Action::Create, &room)
            .map_err(|_| Error::not_allowed("createPrivateGroup"))?;
        let change = RoomChange::Create {
            room: room.clone(),
            members: subs,
        };
        Ok(self.write(&permit, &room, change).await?.room)
    }

    /// Name rules: the pattern of `UTF8_Channel_Names_Validation` (Rocket.Chat's default
    /// `[0-9a-zA-Z-_.]+`), unique among rooms.
    async fn check_room_name(&self, name: &str, except: Option<&str>) -> Result<()> {
        if !self.name_allowed("UTF8_Channel_Names_Validation", name) {
            return Err(Error::invalid(
                "error-invalid-room-name",
                format!("{name} is not a valid room name."),
            ));
        }
        if let Some(existing) = self.store.room_by_name(name).await? {
            if Some(existing.id.as_str()) != except {
                if existing.archived {
                    return Err(Error::conflict(
                        "error-archived-duplicate-name",
                        format!("There's an archived channel with name {name}"),
                    ));
                }
                return Err(Error::conflict(
                    "error-duplicate-channel-name",
                    format!("A channel with name '{name}' exists"),
                ));
            }
        }
        Ok(())
    }

    /// Changes one room setting. Each needs its permission in the room; most write a system
    /// message (Rocket.Chat's `r`, `room_changed_topic`, ...).
    pub async fn update_room(
        &self,
        actor: &Actor,
        mut room: Room,
        update: RoomUpdate,
    ) -> Result<Room> {
        let (perm, method) = match &update {
            RoomUpdate::ReadOnly(_) => ("set-readonly", "saveRoomSettings"),
            RoomUpdate::Archived(true) => ("archive-room", "archiveRoom"),
            RoomUpdate::Archived(false) => ("unarchive-room", "unarchiveRoom"),
            RoomUpdate::Type(RoomType::Channel) => ("create-c", "saveRoomSettings"),
            RoomUpdate::Type(_) => ("create-p", "saveRoomSettings"),
            RoomUpdate::Default(_) => ("view-room-administration", "saveRoomSettings"),
            _ => ("edit-room", "saveRoomSettings"),
        };
        if matches!(update, RoomUpdate::Encrypted(_)) && room.t == RoomType::Channel {
            return Err(Error::invalid(
                "error-action-not-allowed",
                "Only groups or direct channels can enable encryption",
            )
            .in_method(method));
        }
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let action = Action::EditRoom { permission: perm };
        // Of a direct message only the topic is edited (`dm.setTopic`).
        let editable = room.t != RoomType::Direct || matches!(update, RoomUpdate::Topic(_));
        let permit = match self.decide(actor.person(sub.as_ref()), action, &room) {
            Ok(p) if editable => p,
            _ => return Err(Error::not_allowed(method)),
        };
        let editor = actor.user.to_ref();
        let msg = |kind: &str, text: String| {
            Some(Message::new(&room.id, editor.clone(), text, Some(kind)))
        };
        let message = match update {
            RoomUpdate::Name(name) => {
                let name = name.trim().to_string();
                self.check_room_name(&name, Some(&room.id)).await?;
                room.name = Some(name.clone());
                room.fname = Some(name.clone());
                msg("r", name)
            }
            RoomUpdate::Topic(t) => {
                room.topic = Some(t.clone());
                msg("room_changed_topic", t)
            }
            RoomUpdate::Description(d) => {
                room.description = Some(d.clone());
                msg("room_changed_description", d)
            }
            RoomUpdate::Announcement(a) => {
                room.announcement = Some(a.clone());
                msg("room_changed_announcement", a)
            }
            RoomUpdate::JoinCode(c) => {
                room.join_code = if c.is_empty() { None } else { Some(c) };
                None
            }
            RoomUpdate::ReadOnly(ro) => {
                room.read_only = ro;
                msg(
                    if ro {
                        "room-set-read-only"
                    } else {
                        "room-removed-read-only"
                    },
                    String::new(),
                )
            }
            RoomUpdate::Type(t) => {
                room.t = t;
                msg(
                    "room_changed_privacy",
                    if t == RoomType::Channel {
                        "Public"
                    } else {
                        "Private"
                    }
                    .to_string(),
                )
            }
            RoomUpdate::Archived(a) => {
                if room.archived == a {
                    let code = if a {
                        "error-room-archived"
                    } else {
                        "error-room-is-not-archived"
                    };
                    let reason = if a {
                        "Room is already archived"
                    } else {
                        "Room is not archived"
                    };
                    return Err(Error::invalid(code, reason).in_method(method));
                }
                room.archived = a;
                msg(
                    if a {
                        "room-archived"
                    } else {
                        "room-unarchived"
                    },
                    String::new(),
                )
            }
            RoomUpdate::Default(d) => {
                room.default = d;
                None
            }
            RoomUpdate::CustomFields(fields) => {
                room.custom = fields;
                None
            }
            RoomUpdate::Encrypted(e) => {
                room.encrypted = e;
                let kind = if e {
                    "room_e2e_enabled"
                } else {
                    "room_e2e_disabled"
                };
                msg(kind, String::new())
            }
        };
        room.updated_at = Timestamp::now();
        let change = RoomChange::UpdateRoom {
            room: room.clone(),
            message,
            guest_access: None,
        };
        self.write(&permit, &room, change).await?;
        // The counters may have moved since the caller read the room.
        Ok(self.store.room_by_id(&room.id).await?.unwrap_or(room))
    }

    /// `channels.delete` / `groups.delete`: `delete-c` / `delete-p` in the room.
    pub async fn delete_room(&self, actor: &Actor, room: Room) -> Result<()> {
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::DeleteRoom, &room)
            .map_err(|_| Error::not_allowed("eraseRoom"))?;
        self.write(&permit, &room, RoomChange::DeleteRoom).await?;
        Ok(())
    }

    /// Lists rooms; callers decide the filter according to their permissions.
    pub async fn list_rooms(&self, query: &RoomQuery) -> Result<Page<Room>> {
        self.store.list_rooms(query).await
    }

    /// `channels.list`: all public channels with `view-c-room`, else the joined ones with
    /// `view-joined-room`, else 403.
    pub async fn list_channels(&self, actor: &Actor, mut query: RoomQuery) -> Result<Page<Room>> {
        query.types = vec![RoomType::Channel];
        if self.has_permission(&actor.user, "view-c-room") {
            query.member = None;
        } else if self.has_permission(&actor.user, "view-joined-room") {
            query.member = Some(actor.user.id.clone());
        } else {
            return Err(Error::permission_required());
        }
        self.store.list_rooms(&query).await
    }

    /// `groups.listAll`: needs `view-room-administration`.
    pub async fn list_all_groups(&self, actor: &Actor, mut query: RoomQuery) -> Result<Page<Room>> {
        if !self.has_permission(&actor.user, "view-room-administration") {
            return Err(Error::permission_required());
        }
        query.types = vec![RoomType::Group];
        query.member = None;
        self.store.list_rooms(&query).await
    }

    /// The caller's membership of a room, or `error-user-not-in-room`.
    pub async fn own_subscription(&self, actor: &Actor, rid: &str) -> Result<Subscription> {
        self.store
            .subscription(rid, &actor.user.id)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "error-user-not-in-room",
                    "The user is not subscribed to the room",
                )
            })
    }

    /// Whether the caller may read the room, as the one policy decides for a Rocket.Chat
    /// session (Rocket.Chat's `canAccessRoom`).
    pub async fn may_read(&self, actor: &Actor, room: &Room) -> Result<bool> {
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        Ok(self
            .decide(actor.person(sub.as_ref()), Action::Read, room)
            .is_ok())
    }

    /// The caller's membership of a room, if any (`subscriptions.getOne`).
    pub async fn own_membership(&self, actor: &Actor, rid: &str) -> Result<Option<Subscription>> {
        self.store.subscription(rid, &actor.user.id).await
    }

    /// `*.counters`: the caller's view of a room, or another user's with
    /// `view-room-administration`: that user's membership and the room's member count.
    pub async fn counters(
        &self,
        actor: &Actor,
        room: &Room,
        user_id: Option<&str>,
    ) -> Result<(Option<Subscription>, i64)> {
        let uid = match user_id {
            Some(u) if u != actor.user.id => {
                if !self.has_permission(&actor.user, "view-room-administration") {
                    return Err(Error::unauthorized());
                }
                u
            }
            _ => actor.user.id.as_str(),
        };
        let sub = self.store.subscription(&room.id, uid).await?;
        let query = crate::MemberQuery {
            paging: crate::Paging {
                offset: 0,
                count: Some(0),
            },
            ..Default::default()
        };
        let members = self.store.list_members(&room.id, &query).await?.total;
        Ok((sub, members))
    }

    /// A user's memberships as `users.info` shows them: one's own, or anyone's with
    /// `view-other-user-channels`; `None` when the caller may not see them.
    pub async fn rooms_of_user(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<Option<Vec<Subscription>>> {
        if actor.user.id != user_id && !self.has_permission(&actor.user, "view-other-user-channels")
        {
            return Ok(None);
        }
        Ok(Some(self.store.subscriptions_of_user(user_id, None).await?))
    }

    /// `open` / `close`: show or hide the room in the caller's sidebar.
    pub async fn set_open(&self, actor: &Actor, rid: &str, open: bool) -> Result<Subscription> {
        let mut sub = self.own_subscription(actor, rid).await?;
        sub.open = open;
        sub.updated_at = Timestamp::now();
        self.store.set_own_state(&sub).await?;
        self.publish(Event::SubscriptionChanged(sub.clone()));
        Ok(sub)
    }

    /// Every room the query selects, for `view-room-administration` (`rooms.adminRooms`,
    /// `dm.list.everyone`).
    pub async fn admin_rooms(&self, actor: &Actor, query: &RoomQuery) -> Result<Page<Room>> {
        if !self.has_permission(&actor.user, "view-room-administration") {
            return Err(Error::unauthorized());
        }
        self.store.list_rooms(query).await
    }

    /// `dm.messages.others`: a direct message's history for an administrator, while the
    /// endpoint is enabled (`API_Enable_Direct_Message_History_EndPoint`, off by default).
    pub async fn direct_messages_of_others(
        &self,
        actor: &Actor,
        rid: &str,
        paging: crate::Paging,
    ) -> Result<Page<crate::Message>> {
        if !self.setting_bool("API_Enable_Direct_Message_History_EndPoint") {
            return Err(Error::Forbidden(crate::Failure::new(
                "error-endpoint-disabled",
                "This endpoint is disabled",
            )));
        }
        if !self.has_permission(&actor.user, "view-room-administration") {
            return Err(Error::unauthorized());
        }
        let room = match self.store.room_by_id(rid).await? {
            Some(r) if r.t == RoomType::Direct => r,
            _ => {
                return Err(Error::invalid(
                    "error-room-not-found",
                    "The required \"roomId\" parameter must be provided",
                ))
            }
        };
        let query = crate::MessageQuery {
            paging,
            ..Default::default()
        };
        self.store.list_messages(&room.id, &query).await
    }

    /// `rooms.cleanHistory`: deletes a stretch of the room's messages (`clean-channel-history`);
    /// how many went.
    pub async fn clean_history(
        &self,
        actor: &Actor,
        room: &Room,
        clean: crate::store::CleanHistory,
    ) -> Result<usize> {
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let permit = self
            .decide(actor.person(sub.as_ref()), Action::CleanHistory, room)
            .map_err(|_| Error::not_allowed("cleanRoomHistory"))?;
        let done = self
            .write(&permit, room, RoomChange::CleanHistory(clean))
            .await?;
        Ok(done
            .written
            .items
            .iter()
            .filter(|i| matches!(i, crate::store::RoomEventItem::MessageDeleted { .. }))
            .count())
    }

    /// `rooms.favorite`: the caller's own mark on a room they are a member of.
    pub async fn set_favorite(&self, actor: &Actor, rid: &str, favorite: bool) -> Result<()> {
        let Some(mut sub) = self.store.subscription(rid, &actor.user.id).await? else {
            return Err(Error::invalid(
                "error-invalid-subscription",
                "You must be part of a room to favorite it",
            )
            .in_method("toggleFavorite"));
        };
        if sub.favorite != favorite {
            sub.favorite = favorite;
            sub.updated_at = Timestamp::now();
            self.store.set_own_state(&sub).await?;
            self.publish(Event::SubscriptionChanged(sub));
        }
        Ok(())
    }

    /// `chat.ignoreUser`: the caller ignores (or stops ignoring) another member of the room:
    /// their own mark, kept on their membership (Rocket.Chat's `ignored`). Both must be members.
    /// The server honours it where Rocket.Chat's does: the ignorer is not notified of the
    /// ignored user's messages (`notify::recipients`); clients hide the messages themselves.
    pub async fn ignore_user(
        &self,
        actor: &Actor,
        rid: &str,
        uid: &str,
        ignore: bool,
    ) -> Result<()> {
        let invalid = || {
            Error::invalid("error-invalid-subscription", "Invalid subscription")
                .in_method("ignoreUser")
        };
        let mut sub = self
            .store
            .subscription(rid, &actor.user.id)
            .await?
            .ok_or_else(invalid)?;
        if self.store.subscription(rid, uid).await?.is_none() {
            return Err(invalid());
        }
        let has = sub.ignored.iter().any(|i| i == uid);
        if has != ignore {
            if ignore {
                sub.ignored.push(uid.to_string());
            } else {
                sub.ignored.retain(|i| i != uid);
            }
            sub.updated_at = Timestamp::now();
            self.store.set_own_state(&sub).await?;
            self.publish(Event::SubscriptionChanged(sub));
        }
        Ok(())
    }

    /// Members of a room who are online (online, away or busy), for a caller who may read it.
    pub async fn online_members(&self, actor: &Actor, room: &Room) -> Result<Vec<crate::User>> {
        if !self.may_read(actor, room).await? {
            return Err(Error::unauthorized());
        }
        let query = crate::MemberQuery {
            statuses: vec!["online".into(), "away".into(), "busy".into()],
            paging: crate::Paging {
                offset: 0,
                count: Some(1_000),
            },
            ..Default::default()
        };
        let page = self.store.list_members(&room.id, &query).await?;
        Ok(page.items.into_iter().map(|m| m.user).collect())
    }

    /// `subscriptions.read`.
    pub async fn mark_read(&self, actor: &Actor, rid: &str) -> Result<()> {
        if !self.read_and_report(rid, &actor.user.id).await? {
            return Err(Error::invalid(
                "error-invalid-subscription",
                "Invalid subscription",
            ));
        }
        Ok(())
    }

    /// `subscriptions.unread`: mark the room unread again.
    pub async fn mark_unread(&self, actor: &Actor, rid: &str) -> Result<()> {
        let mut sub = self.own_subscription(actor, rid).await?;
        sub.alert = true;
        sub.unread = sub.unread.max(1);
        sub.updated_at = Timestamp::now();
        self.store.set_own_state(&sub).await?;
        self.publish(Event::SubscriptionChanged(sub));
        Ok(())
    }

    pub async fn subscriptions(
        &self,
        actor: &Actor,
        since: Option<Timestamp>,
    ) -> Result<Vec<Subscription>> {
        self.store
            .subscriptions_of_user(&actor.user.id, since)
            .await
    }

    /// The caller's memberships that ended after `since` (`subscriptions/get`'s `remove`).
    pub async fn subscription_removals(
        &self,
        actor: &Actor,
        since: Timestamp,
    ) -> Result<Vec<crate::store::Removal>> {
        self.store.removals_of_user(&actor.user.id, since).await
    }

    /// Rooms the caller stopped being a member of after `since` and is not a member of again
    /// (`rooms/get`'s `remove`): one entry per room, the latest removal.
    pub async fn room_removals(
        &self,
        actor: &Actor,
        since: Timestamp,
    ) -> Result<Vec<crate::store::Removal>> {
        let removals = self.store.removals_of_user(&actor.user.id, since).await?;
        if removals.is_empty() {
            return Ok(removals);
        }
        let current: std::collections::HashSet<String> = self
            .store
            .subscriptions_of_user(&actor.user.id, None)
            .await?
            .into_iter()
            .map(|s| s.rid)
            .collect();
        let mut latest: std::collections::BTreeMap<String, crate::store::Removal> =
            Default::default();
        for r in removals {
            if !current.contains(&r.rid) {
                latest.insert(r.rid.clone(), r);
            }
        }
        Ok(latest.into_values().collect())
    }
}

/// The membership a room's creator and first members get: owner role for the creator, no
/// unread marker (nothing has happened yet).
pub(crate) fn creation_subscription(room: &Room, user: &User, creator: bool) -> Subscription {
    let mut sub = super::membership::new_subscription(room, user);
    sub.alert = false;
    sub.unread = 0;
    sub.user_mentions = 0;
    if creator {
        sub.roles = vec!["owner".into()];
        sub.ls = Some(sub.ts);
    }
    sub
}
