//! Users by the app's own ids: upsert (PATCH-like, `null` deletes), batch upsert (all or
//! nothing), get and list.

use std::collections::BTreeMap;

use super::{check_id, patch_custom, MAX_USER_BATCH};
use crate::events::Event;
use crate::services::Huddle;
use crate::{Error, Failure, Result, Timestamp, User};

/// A user patch: `None` leaves a field, `Some(None)` deletes it (JSON `null`).
#[derive(Debug, Clone, Default)]
pub struct TalkUserPatch {
    /// Required when the user is created.
    pub name: Option<String>,
    pub email: Option<Option<Vec<String>>>,
    pub phone: Option<Option<Vec<String>>>,
    pub welcome_message: Option<Option<String>>,
    pub photo_url: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub role: Option<Option<String>>,
    pub availability_text: Option<Option<String>>,
    pub custom: Option<Option<BTreeMap<String, Option<String>>>>,
}

/// Applies a patch to a user (new or existing); the reason on failure names the field.
fn apply(user: &mut User, p: &TalkUserPatch) -> std::result::Result<(), String> {
    if let Some(name) = &p.name {
        if name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        user.name = name.clone();
    }
    if let Some(v) = &p.email {
        user.profile.emails = v.clone().unwrap_or_default();
    }
    if let Some(v) = &p.phone {
        user.profile.phones = v.clone().unwrap_or_default();
    }
    if let Some(v) = &p.welcome_message {
        user.profile.welcome_message = v.clone();
    }
    if let Some(v) = &p.photo_url {
        user.photo_url = v.clone();
    }
    if let Some(v) = &p.locale {
        user.locale = v.clone();
    }
    if let Some(v) = &p.role {
        user.profile.role = v.clone();
    }
    if let Some(v) = &p.availability_text {
        user.profile.availability_text = v.clone();
    }
    if let Some(c) = &p.custom {
        patch_custom(&mut user.custom, c);
    }
    Ok(())
}

impl Huddle {
    /// The user as the patch leaves it, and whether it is new; nothing is stored.
    async fn patched_user(
        &self,
        id: &str,
        patch: &TalkUserPatch,
    ) -> Result<std::result::Result<(User, bool), String>> {
        if let Err(e) = check_id("user", id) {
            return Ok(Err(e
                .failure()
                .map(|f| f.reason.to_string())
                .unwrap_or_default()));
        }
        let (mut user, created) = match self.store.user_by_id(id).await? {
            Some(u) => (u, false),
            None => {
                let Some(name) = patch.name.clone() else {
                    return Ok(Err("name is required when creating a user".into()));
                };
                let mut u = User::new(id.to_string(), None, name);
                u.roles = vec!["user".into()];
                (u, true)
            }
        };
        if let Err(reason) = apply(&mut user, patch) {
            return Ok(Err(reason));
        }
        user.updated_at = Timestamp::now();
        Ok(Ok((user, created)))
    }

    /// `PUT /users/{id}`: creates or updates one user.
    pub async fn upsert_talk_user(&self, id: &str, patch: &TalkUserPatch) -> Result<User> {
        let (user, created) = self
            .patched_user(id, patch)
            .await?
            .map_err(|r| Error::Invalid(Failure::new("INVALID_USER", r)))?;
        self.store.upsert_users(std::slice::from_ref(&user)).await?;
        self.publish(if created {
            Event::UserCreated(user.clone())
        } else {
            Event::UserUpdated(user.clone())
        });
        Ok(user)
    }

    /// `PUT /users`: up to 100 users, all or nothing. Invalid entries come back keyed by user id
    /// and nothing is written.
    pub async fn upsert_talk_users(
        &self,
        batch: &[(String, TalkUserPatch)],
    ) -> Result<std::result::Result<Vec<User>, BTreeMap<String, String>>> {
        if batch.len() > MAX_USER_BATCH {
            return Err(Error::invalid(
                "BATCH_TOO_LARGE",
                format!("At most {MAX_USER_BATCH} users per batch"),
            ));
        }
        let mut users = Vec::with_capacity(batch.len());
        let mut errors = BTreeMap::new();
        for (id, patch) in batch {
            match self.patched_user(id, patch).await? {
                Ok(u) => users.push(u),
                Err(reason) => {
                    errors.insert(id.clone(), reason);
                }
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let plain: Vec<User> = users.iter().map(|(u, _)| u.clone()).collect();
        self.store.upsert_users(&plain).await?;
        for (u, created) in users {
            self.publish(if created {
                Event::UserCreated(u)
            } else {
                Event::UserUpdated(u)
            });
        }
        Ok(Ok(plain))
    }

    pub async fn talk_user(&self, id: &str) -> Result<User> {
        self.store.user_by_id(id).await?.ok_or_else(|| {
            Error::NotFound(Failure::new(
                "USER_NOT_FOUND",
                format!("No user with id {id}"),
            ))
        })
    }

    pub async fn list_talk_users(
        &self,
        starting_after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        self.store
            .list_users_after(starting_after, limit.clamp(1, 100))
            .await
    }
}
