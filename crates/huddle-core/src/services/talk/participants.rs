//! Participants: join (PUT, overwrites settings), modify (PATCH, only given fields; `access:
//! "None"` revokes while keeping the history seen), leave (DELETE). All idempotent; every real
//! change writes a system message and an event.

use super::conversations::sync_disallowed;
use crate::events::Event;
use crate::services::{ClientActor, Huddle};
use crate::store::NewMember;
use crate::{Access, Error, Failure, Message, Result, Subscription, Timestamp};

/// `access` and `notify` as a request gives them.
#[derive(Debug, Clone, Default)]
pub struct ParticipantSettings {
    pub access: Option<Access>,
    /// `true`, `false` or `MentionsOnly`.
    pub notify: Option<String>,
}

fn check_notify(n: &str) -> Result<()> {
    if matches!(n, "true" | "false" | "MentionsOnly") {
        Ok(())
    } else {
        Err(Error::invalid(
            "INVALID_NOTIFY",
            "notify must be true, false or \"MentionsOnly\"",
        ))
    }
}

impl Huddle {
    /// A browser may change participants only with conversation sync, except its own `notify`
    /// and leaving itself.
    fn check_client_participant_write(
        &self,
        by: Option<&ClientActor>,
        uid: &str,
        settings: Option<&ParticipantSettings>,
    ) -> Result<()> {
        let Some(actor) = by else { return Ok(()) };
        if self.app_settings().browser_conversation_sync {
            return Ok(());
        }
        let own = actor.user_id == uid;
        let notify_only = settings.is_some_and(|s| s.access.is_none());
        if own && (settings.is_none() || notify_only) {
            return Ok(());
        }
        Err(sync_disallowed("conversation"))
    }

    /// `PUT .../participants/{userId}`: join, or overwrite the settings of a participant.
    pub async fn put_participant(
        &self,
        rid: &str,
        uid: &str,
        settings: &ParticipantSettings,
        by: Option<&ClientActor>,
    ) -> Result<Subscription> {
        if by.is_some() && !self.app_settings().browser_conversation_sync {
            return Err(sync_disallowed("conversation"));
        }
        if settings.access == Some(Access::None) {
            return Err(Error::invalid(
                "INVALID_ACCESS",
                "access must be \"ReadWrite\" or \"Read\" when joining; use PATCH to revoke",
            ));
        }
        let access = settings.access.unwrap_or(Access::ReadWrite);
        let notify = settings.notify.clone().unwrap_or_else(|| "true".into());
        check_notify(&notify)?;
        let room = self.talk_conversation(rid).await?;
        let user = self.talk_user(uid).await?;
        if let Some(sub) = self.store.subscription(rid, uid).await? {
            return self
                .change_participant(&room, sub, Some(access), Some(notify))
                .await;
        }
        // Joining through the app is not news to the joiner: nothing unread yet.
        let mut sub = crate::services::rooms::creation_subscription(&room, &user, false);
        sub.access = access;
        sub.notify = notify;
        let msg = Message::system(rid, "uj", user.to_ref(), user.username_or_id());
        let added = self
            .store
            .add_members(
                rid,
                &[NewMember {
                    subscription: sub.clone(),
                    message: Some(msg.clone()),
                }],
            )
            .await?;
        if added.is_empty() {
            // Joined concurrently: apply the settings to the membership that won.
            let existing = self
                .store
                .subscription(rid, uid)
                .await?
                .ok_or_else(|| Error::Internal("membership vanished".into()))?;
            return self
                .change_participant(&room, existing, Some(access), Some(sub.notify))
                .await;
        }
        self.publish(Event::MemberAdded {
            subscription: sub.clone(),
            room: std::sync::Arc::new(room.clone()),
        });
        self.publish(Event::MessageCreated {
            message: msg,
            room: room.brief(),
        });
        Ok(sub)
    }

    /// `PATCH .../participants/{userId}`: only existing participants; only the given fields.
    pub async fn patch_participant(
        &self,
        rid: &str,
        uid: &str,
        settings: &ParticipantSettings,
        by: Option<&ClientActor>,
    ) -> Result<Subscription> {
        self.check_client_participant_write(by, uid, Some(settings))?;
        if let Some(n) = &settings.notify {
            check_notify(n)?;
        }
        let room = self.talk_conversation(rid).await?;
        let sub = self.store.subscription(rid, uid).await?.ok_or_else(|| {
            Error::NotFound(Failure::new(
                "PARTICIPANT_NOT_FOUND",
                format!("{uid} is not a participant of {rid}"),
            ))
        })?;
        self.change_participant(&room, sub, settings.access, settings.notify.clone())
            .await
    }

    async fn change_participant(
        &self,
        room: &crate::Room,
        mut sub: Subscription,
        access: Option<Access>,
        notify: Option<String>,
    ) -> Result<Subscription> {
        let before = sub.clone();
        if let Some(a) = access {
            sub.access = a;
            sub.revoked_at = match (before.access, a) {
                (_, Access::None) if before.access != Access::None => Some(Timestamp::now()),
                (_, Access::None) => before.revoked_at,
                _ => None,
            };
        }
        if let Some(n) = notify {
            sub.notify = n;
        }
        if sub == before {
            return Ok(sub);
        }
        sub.updated_at = Timestamp::now();
        // Access changes are visible to everyone in the room; notify is the member's own business.
        let msg = (sub.access != before.access).then(|| {
            // Like the join and leave messages: the username, or the id of a user without one.
            let subject = if sub.u.username.is_empty() {
                &sub.u.id
            } else {
                &sub.u.username
            };
            let mut m = Message::system(
                &sub.rid,
                "participant-access-changed",
                sub.u.clone(),
                subject,
            );
            m.extra
                .insert("access".into(), serde_json::json!(sub.access.as_str()));
            m
        });
        self.store.update_subscription(&sub, msg.as_ref()).await?;
        self.publish(Event::ParticipantUpdated(sub.clone()));
        if let Some(m) = msg {
            self.publish(Event::MessageCreated {
                message: m,
                room: room.brief(),
            });
        }
        Ok(sub)
    }

    /// `DELETE .../participants/{userId}`: leaves; the conversation disappears from their list.
    /// Removing a non-participant succeeds and changes nothing.
    pub async fn remove_participant(
        &self,
        rid: &str,
        uid: &str,
        by: Option<&ClientActor>,
    ) -> Result<()> {
        self.check_client_participant_write(by, uid, None)?;
        let room = self.talk_conversation(rid).await?;
        let Some(sub) = self.store.subscription(rid, uid).await? else {
            return Ok(());
        };
        let name = if sub.u.username.is_empty() {
            sub.u.id.clone()
        } else {
            sub.u.username.clone()
        };
        let msg = Message::system(rid, "ul", sub.u.clone(), &name);
        if self.store.remove_member(rid, uid, Some(&msg)).await? {
            self.publish(Event::MemberRemoved {
                rid: rid.to_string(),
                uid: uid.to_string(),
            });
            self.publish(Event::MessageCreated {
                message: msg,
                room: room.brief(),
            });
        }
        Ok(())
    }
}
