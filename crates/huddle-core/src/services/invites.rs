//! Invite links (Rocket.Chat's `findOrCreateInvite`, `listInvites`, `removeInvite`,
//! `validateInviteToken`, `useInviteToken`, `sendInvitationEmail`): a link to a room with an
//! expiry (`days`) and a use limit (`maxUses`), read against the injected clock. Using one joins
//! the room through the one way members are added, with the `uj` message Rocket.Chat writes for
//! a join; a banned user is refused until unbanned (the policy's `AddBanned`).

use super::{Actor, Huddle};
use crate::model::{Invite, Room};
use crate::policy::{Action, Refusal};
use crate::store::NewMember;
use crate::{ids, Error, Failure, Message, Result};

/// The `days` Rocket.Chat accepts (0: never expires).
pub const INVITE_DAYS: [i64; 5] = [0, 1, 7, 15, 30];
/// The `maxUses` Rocket.Chat accepts (0: unlimited).
pub const INVITE_USES: [i64; 7] = [0, 1, 5, 10, 25, 50, 100];

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Rocket.Chat's `Meteor.Error('not_authorized')` (no reason): `[not_authorized]`.
fn not_authorized() -> Error {
    Error::invalid("not_authorized", "")
}

fn invalid_room(method: &'static str) -> Error {
    Error::invalid("error-invalid-room", "The rid field is invalid").in_method(method)
}

fn invalid_token(method: &'static str) -> Error {
    Error::invalid("error-invalid-token", "The invite token is invalid.").in_method(method)
}

/// Where an invite link leads and whether it still lets people in.
pub struct ValidInvite {
    pub invite: Invite,
    pub room: Room,
}

impl Huddle {
    /// `findOrCreateInvite`: the caller's usable invite with these settings, or a new one.
    pub async fn find_or_create_invite(
        &self,
        actor: &Actor,
        rid: &str,
        days: i64,
        max_uses: i64,
    ) -> Result<Invite> {
        let method = "findOrCreateInvite";
        let Some(room) = self.store.room_by_id(rid).await? else {
            // Rocket.Chat asks for the permission first (in the scope of a room that does not
            // exist, so by global roles alone).
            if !self.has_permission(&actor.user, "create-invite-links") {
                return Err(not_authorized());
            }
            return Err(invalid_room(method));
        };
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        self.decide(actor.person(sub.as_ref()), Action::CreateInvite, &room)
            .map_err(|r| match r {
                Refusal::NotMember => invalid_room(method),
                Refusal::DirectRoom => Error::invalid(
                    "error-room-type-not-allowed",
                    "Cannot create invite links for this room type",
                )
                .in_method(method),
                _ => not_authorized(),
            })?;
        if !INVITE_DAYS.contains(&days) {
            return Err(Error::invalid(
                "invalid-number-of-days",
                "Invite should expire in 1, 7, 15 or 30 days, or send 0 to never expire.",
            ));
        }
        if !INVITE_USES.contains(&max_uses) {
            return Err(Error::invalid(
                "invalid-number-of-uses",
                "Invite should be valid for 1, 5, 10, 25, 50, 100 or infinite (0) uses.",
            ));
        }
        let now = self.clock.now();
        if let Some(existing) = self
            .store
            .reusable_invite(&actor.user.id, &room.id, days, max_uses, now)
            .await?
        {
            return Ok(existing);
        }
        let invite = Invite {
            id: ids::new_invite_id(),
            token: ids::new_invite_token(),
            rid: room.id.clone(),
            user_id: actor.user.id.clone(),
            days,
            max_uses,
            uses: 0,
            created_at: now,
            expires: (days > 0).then(|| crate::Timestamp(now.0 + days * DAY_MS)),
            updated_at: now,
        };
        self.store.insert_invite(&invite).await?;
        Ok(invite)
    }

    /// `listInvites`: every invite of the workspace, for holders of `create-invite-links`.
    pub async fn list_invites(&self, actor: &Actor) -> Result<Vec<Invite>> {
        if !self.has_permission(&actor.user, "create-invite-links") {
            return Err(not_authorized());
        }
        self.store.list_invites().await
    }

    /// `removeInvite/{_id}`.
    pub async fn remove_invite(&self, actor: &Actor, id: &str) -> Result<()> {
        if !self.has_permission(&actor.user, "create-invite-links") {
            return Err(not_authorized());
        }
        if !self.store.delete_invite(id).await? {
            return Err(
                Error::invalid("invalid-invitation-id", "Invalid Invitation _id")
                    .in_method("removeInvite"),
            );
        }
        Ok(())
    }

    /// `validateInviteToken` (and the first step of using one): the invite and its room, if the
    /// token names an invite that is neither expired nor used up.
    pub async fn validate_invite_token(&self, token: &str) -> Result<ValidInvite> {
        let method = "validateInviteToken";
        if token.is_empty() {
            return Err(invalid_token(method));
        }
        let invite = self
            .store
            .invite_by_token(token)
            .await?
            .ok_or_else(|| invalid_token(method))?;
        let room = self.store.room_by_id(&invite.rid).await?.ok_or_else(|| {
            Error::invalid("error-invalid-room", "The invite token is invalid.").in_method(method)
        })?;
        if invite.spent(self.clock.now()) {
            return Err(expired());
        }
        Ok(ValidInvite { invite, room })
    }

    /// `useInviteToken`: joins the caller to the invite's room (a member already: nothing
    /// changes and no use is counted).
    pub async fn use_invite_token(&self, actor: &Actor, token: &str) -> Result<Room> {
        let method = "useInviteToken";
        if token.is_empty() {
            return Err(invalid_token(method));
        }
        let ValidInvite { invite, room } = self.validate_invite_token(token).await?;
        let sub = self.store.subscription(&room.id, &actor.user.id).await?;
        let who = actor.person(sub.as_ref());
        let permit = self
            .decide(who, Action::UseInvite, &room)
            .map_err(|r| match r {
                Refusal::DirectRoom => Error::invalid(
                    "error-room-type-not-allowed",
                    "Can't join room of this type via invite",
                )
                .in_method(method),
                _ => Error::not_allowed(method),
            })?;
        if sub.is_some() {
            return Ok(room);
        }
        // Before a use is counted: a banned user spends nothing.
        self.refuse_banned(who, &room, std::slice::from_ref(&actor.user.id))
            .await?
            .map_err(|_| super::membership::banned_error())?;
        if !self
            .store
            .count_invite_use(&invite.id, self.clock.now())
            .await?
        {
            // Used up (or expired) by a concurrent use since it was read.
            return Err(expired());
        }
        let member = NewMember {
            subscription: super::membership::new_subscription(&room, &actor.user),
            message: Some(Message::system(
                &room.id,
                "uj",
                actor.user.to_ref(),
                actor.user.username_or_id(),
            )),
        };
        Ok(self
            .add_members(who, &permit, room, vec![member])
            .await?
            .room)
    }

    /// `sendInvitationEmail`: needs `bulk-register-user` and at least one valid address; sends
    /// `Invitation_Subject` / `Invitation_Email` (with `[Site_Name]` and `[Site_URL]` filled in)
    /// to each valid address through the configured mail server, and answers Rocket.Chat's
    /// error when there is none or a send fails. The addresses sent to, on success.
    pub async fn send_invitation_email(
        &self,
        actor: &Actor,
        emails: &[String],
    ) -> Result<Vec<String>> {
        let method = "sendInvitationEmail";
        if !self.has_permission(&actor.user, "bulk-register-user") {
            return Err(Error::not_allowed(method));
        }
        if !emails.iter().any(|e| plausible_email(e)) {
            return Err(
                Error::invalid("error-email-send-failed", "No valid email addresses")
                    .in_method(method),
            );
        }
        let Some(mailer) = self.mail_sender() else {
            return Err(Error::Invalid(
                Failure::new("error-email-send-failed", "SMTP is not configured").method(method),
            ));
        };
        let text = |id: &str| {
            let site_name = self.setting("Site_Name");
            let site_url = self.setting("Site_Url");
            let as_text = |v: Option<serde_json::Value>| {
                v.and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            as_text(self.setting(id))
                .replace("[Site_Name]", &as_text(site_name))
                .replace("[Site_URL]", &as_text(site_url))
        };
        let subject = text("Invitation_Subject");
        if subject.trim().is_empty() {
            return Err(Error::invalid("error-email-send-failed", "No subject").in_method(method));
        }
        let body = text("Invitation_Email");
        let valid: Vec<String> = emails
            .iter()
            .filter(|e| plausible_email(e))
            .cloned()
            .collect();
        for to in &valid {
            mailer.send(to, &subject, &body).await.map_err(|e| {
                Error::Invalid(
                    Failure::new(
                        "error-email-send-failed",
                        format!("Error trying to send email: {e}"),
                    )
                    .method(method),
                )
            })?;
        }
        Ok(valid)
    }
}

fn expired() -> Error {
    Error::invalid("error-invite-expired", "The invite token has expired.")
        .in_method("validateInviteToken")
}

/// Rocket.Chat's address check: something@something.tld, no spaces.
fn plausible_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !e.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::plausible_email;

    #[test]
    fn email_check() {
        assert!(plausible_email("a@b.io"));
        for bad in ["", "a", "a@b", "@b.io", "a b@c.io", "a@.io", "a@b.io."] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }
}
