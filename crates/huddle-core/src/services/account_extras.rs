//! What Rocket.Chat clients call around an account besides the profile: preferences and the
//! password-reset request.

use serde_json::{Map, Value};

use super::{Actor, Huddle, UserLookup};
use crate::{Error, Failure, Result, Timestamp};

/// How much a user's preferences may hold (keys and serialised bytes): they are the client's
/// settings, not storage.
const MAX_PREFERENCE_KEYS: usize = 200;
const MAX_PREFERENCE_BYTES: usize = 64 * 1024;

impl Huddle {
    /// `users.getPreferences`: the caller's own.
    pub fn preferences(&self, actor: &Actor) -> Map<String, Value> {
        actor.user.preferences.clone()
    }

    /// `users.setPreferences`: merges `data` into the preferences of `user_id` (the caller's
    /// own, or another's with `edit-other-user-info`); `null` removes a key. Returns the user
    /// id and the preferences after the change.
    pub async fn set_preferences(
        &self,
        actor: &Actor,
        user_id: Option<&str>,
        data: Map<String, Value>,
    ) -> Result<(String, Map<String, Value>)> {
        let target = user_id.unwrap_or(&actor.user.id);
        if target != actor.user.id && !self.has_permission(&actor.user, "edit-other-user-info") {
            return Err(Error::Forbidden(Failure::new(
                "error-action-not-allowed",
                "Editing user is not allowed",
            )));
        }
        let mut user = self
            .find_user(Some(&UserLookup::Id(target.to_string())))
            .await?;
        for (k, v) in data {
            if v.is_null() {
                user.preferences.remove(&k);
            } else {
                user.preferences.insert(k, v);
            }
        }
        let size = serde_json::to_string(&user.preferences)
            .map(|s| s.len())
            .unwrap_or(usize::MAX);
        if user.preferences.len() > MAX_PREFERENCE_KEYS || size > MAX_PREFERENCE_BYTES {
            return Err(Error::invalid(
                "error-invalid-params",
                "The preferences are too large",
            ));
        }
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await?;
        Ok((user.id, user.preferences))
    }

    /// `users.forgotPassword`: Rocket.Chat answers success whether or not the address belongs
    /// to someone, so the answer tells nothing about who has an account. Huddle has no mail
    /// server for accounts, so no mail goes out and nothing is recorded either way: the request
    /// cannot be used to learn whether an address exists. An empty address is refused.
    pub fn forgot_password(&self, email: &str) -> Result<()> {
        if email.trim().is_empty() {
            return Err(Error::Invalid(Failure::plain(
                "The 'email' param is required",
            )));
        }
        Ok(())
    }
}
