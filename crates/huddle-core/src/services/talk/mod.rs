//! The TalkJS-style API's use cases: users by the app's own ids, conversations (rooms whose id
//! the app chose), participants with `access`/`notify`, messages, and guests — people who read
//! and write a conversation without being participants, while the app and the conversation
//! allow it. Same model and store as the Rocket.Chat API: a conversation is a room.

mod conversations;
mod messages;
mod participants;
mod typing;
mod users;

pub use conversations::{sync_disallowed, ConversationPatch};
pub use messages::{TalkMessageInput, Viewer};
pub use participants::ParticipantSettings;
pub use users::TalkUserPatch;

use std::collections::BTreeMap;

use crate::{Error, Result};

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
