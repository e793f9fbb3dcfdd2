//! Participants: join (PUT, overwrites settings), modify (PATCH, only given fields; `access:
//! "None"` revokes while keeping the history seen), leave (DELETE). All idempotent; every real
//! change goes through the one policy and the one write path, with a system message.

use super::{refusal, Caller, TalkCaller};
use crate::policy::{Action, Permit, Refusal};
use crate::services::Huddle;
use crate::store::{NewMember, RoomChange};
use crate::{Access, Error, Failure, Message, Result, Room, Subscription, Timestamp};

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

fn not_a_participant(uid: &str, rid: &str) -> Error {
    Error::NotFound(Failure::new(
        "PARTICIPANT_NOT_FOUND",
        format!("{uid} is not a participant of {rid}"),
    ))
}

/// The name a membership's system messages show: the username, or the id of a user without one.
fn shown_name(sub: &Subscription) -> &str {
    if sub.u.username.is_empty() {
        &sub.u.id
    } else {
        &sub.u.username
    }
}

impl Huddle {
    /// Joining `uid` is the caller adding themselves or someone else.
    fn add_action(caller: &Caller, uid: &str) -> Action<'static> {
        if caller.user_id() == Some(uid) {
            Action::Join
        } else {
            Action::Invite
        }
    }

    /// `PUT .../participants/{userId}`: join, or overwrite the settings of a participant.
    pub async fn put_participant(
        &self,
        rid: &str,
        uid: &str,
        settings: &ParticipantSettings,
        by: TalkCaller<'_>,
    ) -> Result<Subscription> {
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
        let caller = self.talk_caller(by, &room).await?;
        let user = self.talk_user(uid).await?;
        if let Some(sub) = self.store.subscription(rid, uid).await? {
            // PUT overwrites access as well: decided as an access change.
            return self
                .change_participant(&caller, &room, sub, Some(access), Some(notify), true)
                .await;
        }
        let permit = self
            .decide(caller.principal(), Self::add_action(&caller, uid), &room)
            .map_err(refusal)?;
        // Joining through the app is not news to the joiner: nothing unread yet.
        let mut sub = crate::services::rooms::creation_subscription(&room, &user, false);
        sub.access = access;
        sub.notify = notify;
        let msg = Message::system(rid, "uj", user.to_ref(), user.username_or_id());
        let member = NewMember {
            subscription: sub.clone(),
            message: Some(msg),
        };
        let outcome = self
            .add_members(caller.principal(), &permit, room.clone(), vec![member])
            .await
            .map_err(super::banned_refusal)?;
        if outcome.added.is_empty() {
            // Joined concurrently: apply the settings to the membership that won.
            let existing = self
                .store
                .subscription(rid, uid)
                .await?
                .ok_or_else(|| Error::Internal("membership vanished".into()))?;
            return self
                .change_participant(
                    &caller,
                    &room,
                    existing,
                    Some(access),
                    Some(sub.notify),
                    true,
                )
                .await;
        }
        Ok(sub)
    }

    /// `PATCH .../participants/{userId}`: only existing participants; only the given fields.
    pub async fn patch_participant(
        &self,
        rid: &str,
        uid: &str,
        settings: &ParticipantSettings,
        by: TalkCaller<'_>,
    ) -> Result<Subscription> {
        if let Some(n) = &settings.notify {
            check_notify(n)?;
        }
        let room = self.talk_conversation(rid).await?;
        let caller = self.talk_caller(by, &room).await?;
        let sub = self
            .store
            .subscription(rid, uid)
            .await?
            .ok_or_else(|| not_a_participant(uid, rid))?;
        let access_given = settings.access.is_some();
        self.change_participant(
            &caller,
            &room,
            sub,
            settings.access,
            settings.notify.clone(),
            access_given,
        )
        .await
    }

    /// Decides and applies a participant change; `access_write` when the request sets access
    /// (even to its current value: that is still an access write a browser needs sync for).
    async fn change_participant(
        &self,
        caller: &Caller,
        room: &Room,
        mut sub: Subscription,
        access: Option<Access>,
        notify: Option<String>,
        access_write: bool,
    ) -> Result<Subscription> {
        let action = Action::ChangeParticipant {
            target: &sub,
            access: access_write,
        };
        let permit = self
            .decide(caller.principal(), action, room)
            .map_err(refusal)?;
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
        let message = (sub.access != before.access).then(|| {
            let mut m = Message::system(
                &sub.rid,
                "participant-access-changed",
                sub.u.clone(),
                shown_name(&sub),
            );
            // The notice of a revocation stands exactly at the cut-off: the revoked participant
            // sees it, and nothing after it.
            if let Some(at) = sub.revoked_at.filter(|_| sub.access == Access::None) {
                m.ts = at;
                m.updated_at = at;
            }
            m.extra
                .insert("access".into(), serde_json::json!(sub.access.as_str()));
            m
        });
        let change = RoomChange::UpdateMember {
            subscription: sub.clone(),
            message,
        };
        self.write(&permit, room, change).await?;
        Ok(sub)
    }

    /// `DELETE .../participants/{userId}`: leaves; the conversation disappears from their list.
    /// Removing a non-participant succeeds and changes nothing (once the caller may remove).
    pub async fn remove_participant(&self, rid: &str, uid: &str, by: TalkCaller<'_>) -> Result<()> {
        let room = self.talk_conversation(rid).await?;
        let caller = self.talk_caller(by, &room).await?;
        let target = self.store.subscription(rid, uid).await?;
        let owners = self.owners_if_owner(rid, target.as_ref()).await?;
        let own = caller.user_id() == Some(uid);
        let action = if own && caller.membership().is_some() {
            Action::Leave { owners }
        } else {
            Action::Kick {
                target: target.as_ref(),
                owners,
            }
        };
        let permit: Permit = match self.decide(caller.principal(), action, &room) {
            // Rocket.Chat's rooms refuse removing a non-member; this API calls it a no-op.
            Err(Refusal::TargetNotMember) => return Ok(()),
            decided => decided.map_err(refusal)?,
        };
        let Some(sub) = target else {
            return Ok(());
        };
        let msg = Message::system(rid, "ul", sub.u.clone(), shown_name(&sub));
        self.remove_member(&permit, room, uid, msg).await?;
        Ok(())
    }
}
