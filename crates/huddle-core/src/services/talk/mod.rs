//! The TalkJS-style API's use cases: users by the app's own ids, conversations (rooms whose id
//! the app chose), participants with `access`/`notify`, messages, and guests — people who read
//! and write a conversation without being participants, while the app and the conversation
//! allow it. Same model and store as the Rocket.Chat API: a conversation is a room.

mod conversations;
mod messages;
mod participants;
mod typing;
mod users;

pub use conversations::ConversationView;
pub use conversations::{sync_disallowed, ConversationPatch};
pub use messages::{TalkMessageInput, Viewer};
pub use participants::ParticipantSettings;
pub use users::TalkUserPatch;

use std::collections::BTreeMap;

use crate::model::{Subscription, User};
use crate::policy::{Channel, Person, Principal, Refusal};
use crate::services::{AppActor, ClientActor, Huddle};
use crate::{Error, Failure, Result, Room};

/// Who calls a TalkJS-style use case: the app's backend, or a browser session.
#[derive(Debug, Clone, Copy)]
pub enum TalkCaller<'a> {
    Backend(&'a AppActor),
    Browser(&'a ClientActor),
}

/// The caller as the policy sees them on one room: owned, so a service can hold it across
/// awaits and lend `principal()` to each decision.
pub(crate) struct Caller {
    browser: Option<(User, bool)>,
    membership: Option<Subscription>,
}

impl Caller {
    pub(crate) fn principal(&self) -> Principal<'_> {
        match &self.browser {
            None => Principal::Backend,
            Some((user, verified)) => Principal::Person(Person {
                roles: &user.roles,
                membership: self.membership.as_ref(),
                channel: Channel::Browser {
                    verified: *verified,
                },
            }),
        }
    }
    /// The browser user's id; `None` for the backend.
    pub(crate) fn user_id(&self) -> Option<&str> {
        self.browser.as_ref().map(|(u, _)| u.id.as_str())
    }
    pub(crate) fn membership(&self) -> Option<&Subscription> {
        self.membership.as_ref()
    }
}

impl Huddle {
    /// Loads what the policy needs to know of the caller on `room`.
    pub(crate) async fn talk_caller(&self, by: TalkCaller<'_>, room: &Room) -> Result<Caller> {
        match by {
            TalkCaller::Backend(_) => Ok(Caller {
                browser: None,
                membership: None,
            }),
            TalkCaller::Browser(actor) => {
                let user = self.talk_user(actor.user_id()).await?;
                let membership = self.store.subscription(&room.id, &user.id).await?;
                Ok(Caller {
                    browser: Some((user, actor.verified())),
                    membership,
                })
            }
        }
    }
}

/// `add_members`' refusal of a banned user, as the TalkJS-style API words it.
pub(crate) fn banned_refusal(e: Error) -> Error {
    match e.failure() {
        Some(f) if f.code == "error-user-is-banned" => refusal(Refusal::Banned),
        _ => e,
    }
}

/// A policy refusal as the TalkJS-style API says it.
pub fn refusal(r: Refusal) -> Error {
    let forbidden =
        |code: &'static str, reason: &'static str| Error::Forbidden(Failure::new(code, reason));
    match r {
        Refusal::Banned => forbidden("USER_BANNED", "The user is banned from this conversation"),
        Refusal::TimeLimit => forbidden("TIME_LIMIT", "The message is too old to change"),
        Refusal::TargetNotMember => Error::NotFound(Failure::new(
            "NOT_A_PARTICIPANT",
            "The user is not a participant of this conversation",
        )),
        Refusal::NotAllowed | Refusal::DirectRoom => forbidden(
            "FORBIDDEN",
            "You are not allowed to do this in this conversation",
        ),
        Refusal::NotVisible => Error::NotFound(Failure::new(
            "CONVERSATION_NOT_FOUND",
            "The conversation does not exist or you are not a participant (join it, or ask to enter as a guest)",
        )),
        Refusal::NotMember => forbidden(
            "NOT_A_PARTICIPANT",
            "You are not a participant of this conversation",
        ),
        Refusal::NoWriteAccess => forbidden(
            "NO_WRITE_ACCESS",
            "You have read-only access to this conversation",
        ),
        Refusal::ReadOnly => forbidden("READ_ONLY", "This conversation is read-only"),
        Refusal::Archived => forbidden("ARCHIVED", "This conversation is archived"),
        Refusal::LastOwner => forbidden(
            "LAST_OWNER",
            "The last owner cannot leave or be removed; make someone else owner first",
        ),
        Refusal::BrowserSyncDisallowed => sync_disallowed("conversation"),
        Refusal::GuestAccessDisabled => forbidden(
            "GUEST_ACCESS_DISABLED",
            "Guest access to this conversation is disabled",
        ),
        Refusal::Unverified => forbidden(
            "IDENTITY_NOT_VERIFIED",
            "This room is governed by Rocket.Chat's permissions: prove the session's identity with a user token or signature",
        ),
    }
}

/// Most users in one batch upsert.
pub const MAX_USER_BATCH: usize = 100;
/// Most messages in one post.
pub const MAX_MESSAGE_BATCH: usize = 10;

/// App-chosen ids (users, conversations): non-empty, at most 255 characters, no `/` (it would
/// not survive a URL path) and no control characters.
pub fn check_id(kind: &str, id: &str) -> Result<()> {
    if id.is_empty()
        || id.chars().count() > 255
        || id.contains('/')
        || id.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "INVALID_ID",
            format!(
                "Invalid {kind} id: must be 1-255 characters without '/' or control characters"
            ),
        ));
    }
    Ok(())
}

/// Applies a TalkJS `custom` patch: `null` for the whole map clears it, `null` for a key
/// deletes that key, other keys are set.
pub fn patch_custom(
    target: &mut BTreeMap<String, String>,
    patch: &Option<BTreeMap<String, Option<String>>>,
) {
    match patch {
        None => target.clear(),
        Some(p) => {
            for (k, v) in p {
                match v {
                    Some(v) => {
                        target.insert(k.clone(), v.clone());
                    }
                    None => {
                        target.remove(k);
                    }
                }
            }
        }
    }
}
