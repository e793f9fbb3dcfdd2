//! Accounts: registration, admin creation, profile updates, activation, presence.

use std::collections::BTreeMap;

use super::auth::hash_password;
use super::{must, Actor, Huddle, UserLookup};
use crate::events::Event;
use crate::model::{Page, User, UserQuery};
use crate::policy::{Action, Principal};
use crate::settings::REGISTRATION_DISABLED;
use crate::store::{NewMember, RoomChange};
use crate::{ids, Error, Failure, Message, Result, Timestamp};

/// A new account as `users.create` / `users.register` / the CLI describe it.
#[derive(Debug, Clone, Default)]
pub struct NewUserInput {
    pub username: String,
    pub name: String,
    pub email: Option<String>,
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
    pub active: Option<bool>,
    pub verified: bool,
    pub join_default_channels: bool,
    pub require_password_change: bool,
    pub custom: BTreeMap<String, String>,
    pub kind: Option<String>,
}

/// Fields `users.update` may change; `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub roles: Option<Vec<String>>,
    pub active: Option<bool>,
    pub verified: Option<bool>,
    pub require_password_change: Option<bool>,
    pub status_text: Option<String>,
    pub custom: Option<BTreeMap<String, String>>,
}

/// Rocket.Chat's default username rule `[0-9a-zA-Z-_.]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Rocket.Chat's `UTF8_User_Names_Validation` / `UTF8_Channel_Names_Validation`: the whole name
/// must match the setting's pattern (`^(?:pattern)$`). A pattern that does not compile is read
/// as the default (Rocket.Chat falls back too). The length bound is Huddle's own, always.
pub(crate) fn name_matches(pattern: Option<&str>, name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    match pattern.and_then(|p| regex::Regex::new(&format!("^(?:{p})$")).ok()) {
        Some(re) => re.is_match(name),
        None => valid_name(name),
    }
}

impl Huddle {
    /// Whether `name` passes the pattern of `setting` (one of the two `UTF8_*` settings).
    pub(crate) fn name_allowed(&self, setting: &str, name: &str) -> bool {
        let pattern = self.setting(setting);
        name_matches(pattern.as_ref().and_then(|v| v.as_str()), name)
    }
}

fn valid_email(email: &str) -> bool {
    let mut parts = email.splitn(2, '@');
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.') && !email.contains(char::is_whitespace))
}

pub const STATUSES: &[&str] = &["online", "away", "busy", "offline"];

impl Huddle {
    /// `users.register`: self-service sign-up, allowed while the registration form is not
    /// disabled. The first account of a workspace without an admin becomes admin.
    pub async fn register(&self, mut input: NewUserInput) -> Result<User> {
        let form = self
            .setting("Accounts_RegistrationForm")
            .and_then(|v| v.as_str().map(str::to_string));
        if form.as_deref() == Some(REGISTRATION_DISABLED) {
            return Err(Error::Forbidden(Failure::new(
                "error-user-registration-disabled",
                "User registration is disabled",
            )));
        }
        input.roles = None;
        input.join_default_channels = true;
        self.create_user_unchecked(input).await
    }

    /// `users.create`: needs `create-user`; only holders of `assign-admin-role` may create admins.
    pub async fn create_user(&self, actor: &Actor, input: NewUserInput) -> Result<User> {
        if !self.has_permission(&actor.user, "create-user") {
            return Err(Error::Forbidden(Failure::new(
                "error-action-not-allowed",
                "Adding user is not allowed",
            )));
        }
        if let Some(roles) = &input.roles {
            if roles.iter().any(|r| r == "admin")
                && !self.has_permission(&actor.user, "assign-admin-role")
            {
                return Err(Error::Forbidden(Failure::new(
                    "error-action-not-allowed",
                    "Assigning admin is not allowed",
                )));
            }
        }
        self.create_user_unchecked(input).await
    }

    /// Creates an account without a permission check (CLI, bootstrap, registration).
    pub async fn create_user_unchecked(&self, input: NewUserInput) -> Result<User> {
        let username = input.username.trim().to_string();
        if !self.name_allowed("UTF8_User_Names_Validation", &username) {
            return Err(Error::invalid(
                "error-input-is-not-a-valid-field",
                format!("{username} is not a valid username"),
            ));
        }
        if input.name.trim().is_empty() {
            return Err(Error::invalid(
                "error-the-field-is-required",
                "The field Name is required",
            ));
        }
        if let Some(email) = &input.email {
            if !valid_email(email) {
                return Err(Error::invalid(
                    "error-invalid-email",
                    format!("Invalid email {email}"),
                ));
            }
        }
        let roles = match input.roles {
            Some(r) if !r.is_empty() => {
                self.check_roles_exist(&r).await?;
                r
            }
            _ => vec!["user".to_string()],
        };
        let mut user = User::new(ids::new_id(), Some(username), input.name.trim().to_string());
        user.email = input.email.map(|e| e.trim().to_lowercase());
        user.email_verified = input.verified;
        user.roles = roles;
        user.active = input.active.unwrap_or(true);
        user.require_password_change = input.require_password_change;
        user.custom = input.custom;
        if let Some(kind) = input.kind {
            user.kind = kind;
        }
        if let Some(pw) = &input.password {
            user.password_hash = Some(hash_password(pw).await?);
        }
        // While no admin exists, the first account becomes admin (Rocket.Chat's setup wizard).
        if !user.has_role("admin") && self.store.count_users_with_role("admin").await? == 0 {
            user.roles.push("admin".into());
        }
        self.store.insert_user(&user).await?;
        if input.join_default_channels {
            self.join_default_rooms(&user).await?;
        }
        Ok(user)
    }

    async fn check_roles_exist(&self, roles: &[String]) -> Result<()> {
        let known = self.store.roles().await?;
        // Grants hold role ids (a default role's id is its name).
        if roles.iter().all(|r| known.iter().any(|k| &k.id == r)) {
            Ok(())
        } else {
            Err(Error::invalid(
                "error-invalid-roles",
                "The field Roles consist invalid role id",
            ))
        }
    }

    /// New users join the default rooms: the workspace's own rule, not anyone's request.
    async fn join_default_rooms(&self, user: &User) -> Result<()> {
        for room in self.store.default_rooms().await? {
            let permit = self
                .decide(Principal::Workspace, Action::Join, &room)
                .map_err(|_| Error::Internal("default rooms are joinable".into()))?;
            let mut sub = super::membership::new_subscription(&room, user);
            sub.alert = true;
            let msg = Message::system(&room.id, "uj", user.to_ref(), user.username_or_id());
            let member = NewMember {
                subscription: sub,
                message: Some(msg),
            };
            self.add_members(Principal::Workspace, &permit, room, vec![member])
                .await?;
        }
        Ok(())
    }

    pub async fn user_info(&self, lookup: &UserLookup) -> Result<User> {
        let user = match lookup {
            UserLookup::Id(id) => self.store.user_by_id(id).await?,
            UserLookup::Username(u) => self.store.user_by_username(u).await?,
        };
        must(user, || Error::invalid("", "User not found."))
    }

    pub async fn list_users(&self, actor: &Actor, query: &UserQuery) -> Result<Page<User>> {
        if !self.has_permission(&actor.user, "view-d-room")
            && !self.has_permission(&actor.user, "view-user-administration")
        {
            return Err(Error::permission_required());
        }
        self.store.list_users(query).await
    }

    /// The workspace's switches on users changing their own profile (Rocket.Chat's
    /// `validateUserEditing`): a field asked to stay as it is changes nothing and passes.
    fn check_own_profile_change(&self, user: &User, patch: &UserPatch) -> Result<()> {
        let refuse = |reason: &'static str| {
            Err(Error::Forbidden(Failure::new(
                "error-action-not-allowed",
                reason,
            )))
        };
        let username = patch
            .username
            .as_ref()
            .is_some_and(|u| user.username.as_deref() != Some(u.as_str()));
        let name = patch.name.as_ref().is_some_and(|n| n.trim() != user.name);
        let email = patch
            .email
            .as_ref()
            .is_some_and(|e| user.email.as_deref() != Some(e.to_lowercase().as_str()));
        let on = |id: &str| self.setting(id).and_then(|v| v.as_bool()).unwrap_or(true);
        if (username || name) && !on("Accounts_AllowUserProfileChange") {
            return refuse("Edit user profile is not allowed");
        }
        if username && !on("Accounts_AllowUsernameChange") {
            return refuse("Edit username is not allowed");
        }
        if name && !on("Accounts_AllowRealNameChange") {
            return refuse("Edit user real name is not allowed");
        }
        if email && !on("Accounts_AllowEmailChange") {
            return refuse("Edit user email is not allowed");
        }
        if patch.password.is_some() && !on("Accounts_AllowPasswordChange") {
            return refuse("Edit user password is not allowed");
        }
        Ok(())
    }

    /// `users.update` / `users.updateOwnBasicInfo`: others' accounts need `edit-other-user-info`.
    pub async fn update_user(
        &self,
        actor: &Actor,
        user_id: &str,
        patch: UserPatch,
    ) -> Result<User> {
        let own = actor.user.id == user_id;
        if !own && !self.has_permission(&actor.user, "edit-other-user-info") {
            return Err(Error::Forbidden(Failure::new(
                "error-action-not-allowed",
                "Editing user is not allowed",
            )));
        }
        let mut user = self
            .find_user(Some(&UserLookup::Id(user_id.to_string())))
            .await?;
        if own && !self.has_permission(&actor.user, "edit-other-user-info") {
            self.check_own_profile_change(&user, &patch)?;
        }
        if let Some(username) = patch.username {
            if !self.name_allowed("UTF8_User_Names_Validation", &username) {
                return Err(Error::invalid(
                    "error-input-is-not-a-valid-field",
                    format!("{username} is not a valid username"),
                ));
            }
            user.username = Some(username);
        }
        if let Some(name) = patch.name {
            if name.trim().is_empty() {
                return Err(Error::invalid(
                    "error-the-field-is-required",
                    "The field Name is required",
                ));
            }
            user.name = name.trim().to_string();
        }
        if let Some(email) = patch.email {
            if !valid_email(&email) {
                return Err(Error::invalid(
                    "error-invalid-email",
                    format!("Invalid email {email}"),
                ));
            }
            user.email = Some(email.to_lowercase());
        }
        if let Some(pw) = patch.password {
            if !own && !self.has_permission(&actor.user, "edit-other-user-password") {
                return Err(Error::Forbidden(Failure::new(
                    "error-action-not-allowed",
                    "Editing user is not allowed",
                )));
            }
            user.password_hash = Some(hash_password(&pw).await?);
        }
        if let Some(roles) = patch.roles {
            if !self.has_permission(&actor.user, "assign-roles") {
                return Err(Error::Forbidden(Failure::new(
                    "error-action-not-allowed",
                    "Assign roles is not allowed",
                )));
            }
            self.check_roles_exist(&roles).await?;
            user.roles = roles;
        }
        if let Some(active) = patch.active {
            if !self.has_permission(&actor.user, "edit-other-user-active-status") {
                return Err(Error::Forbidden(Failure::new(
                    "error-action-not-allowed",
                    "Edit user active status is not allowed",
                )));
            }
            user.active = active;
        }
        if let Some(v) = patch.verified {
            user.email_verified = v;
        }
        if let Some(v) = patch.require_password_change {
            user.require_password_change = v;
        }
        if let Some(t) = patch.status_text {
            user.status_text = t;
        }
        if let Some(c) = patch.custom {
            user.custom = c;
        }
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await?;
        self.publish_settled(Event::UserUpdated(user.clone())).await;
        Ok(user)
    }

    /// Sets a password without the old one (CLI).
    pub async fn set_password_unchecked(&self, user_id: &str, password: &str) -> Result<()> {
        let mut user = self
            .find_user(Some(&UserLookup::Id(user_id.to_string())))
            .await?;
        user.password_hash = Some(hash_password(password).await?);
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await
    }

    /// `users.delete`: needs `delete-user`; refuses to remove the last owner of a room unless
    /// asked to, and the last admin.
    pub async fn delete_user(&self, actor: &Actor, user_id: &str) -> Result<()> {
        if !self.has_permission(&actor.user, "delete-user") {
            return Err(Error::Forbidden(Failure::new(
                "error-action-not-allowed",
                "Deleting user is not allowed",
            )));
        }
        let user = self
            .find_user(Some(&UserLookup::Id(user_id.to_string())))
            .await?;
        if user.has_role("admin") && self.store.count_users_with_role("admin").await? <= 1 {
            return Err(Error::conflict(
                "error-action-not-allowed",
                "Leaving the app without admins is not allowed.",
            ));
        }
        // Each membership leaves through the write path, so every room's event log and
        // webhooks hear of it; then the user goes.
        for sub in self.store.subscriptions_of_user(&user.id, None).await? {
            let Some(room) = self.store.room_by_id(&sub.rid).await? else {
                continue;
            };
            let permit = self
                .decide(
                    Principal::Workspace,
                    Action::Kick {
                        target: None,
                        owners: i64::MAX,
                    },
                    &room,
                )
                .map_err(|_| Error::Internal("a deleted user leaves every room".into()))?;
            let change = RoomChange::RemoveMember {
                uid: user.id.clone(),
                message: None,
            };
            self.write(&permit, &room, change).await?;
        }
        self.store.delete_user(&user.id).await?;
        // Live sessions of a deleted account end as a deactivated one's do.
        let mut gone = user;
        gone.active = false;
        self.publish_settled(Event::UserUpdated(gone)).await;
        Ok(())
    }

    /// `users.setActiveStatus`.
    pub async fn set_active(&self, actor: &Actor, user_id: &str, active: bool) -> Result<User> {
        // Rocket.Chat 7 routes this with `permissionsRequired` (either permission).
        if !self.has_permission(&actor.user, "edit-other-user-active-status")
            && !self.has_permission(&actor.user, "manage-moderation-actions")
        {
            return Err(Error::permission_required());
        }
        let mut user = self
            .find_user(Some(&UserLookup::Id(user_id.to_string())))
            .await?;
        if !active
            && user.has_role("admin")
            && self.store.count_users_with_role("admin").await? <= 1
        {
            return Err(Error::conflict(
                "error-action-not-allowed",
                "Leaving the app without active admins is not allowed",
            ));
        }
        user.active = active;
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await?;
        if !active {
            // A deactivated account loses its sessions at once.
            self.store.delete_tokens_of_user(&user.id).await?;
        }
        // Realtime sessions of a deactivated account end on this event.
        self.publish_settled(Event::UserUpdated(user.clone())).await;
        Ok(user)
    }

    /// `users.setStatus`: the caller's own status (others' need `edit-other-user-info`).
    pub async fn set_status(
        &self,
        actor: &Actor,
        user_id: Option<&str>,
        status: Option<&str>,
        text: Option<&str>,
    ) -> Result<()> {
        let target = user_id.unwrap_or(&actor.user.id);
        if target != actor.user.id && !self.has_permission(&actor.user, "edit-other-user-info") {
            return Err(Error::unauthorized());
        }
        let mut user = self
            .find_user(Some(&UserLookup::Id(target.to_string())))
            .await?;
        if let Some(s) = status {
            if !STATUSES.contains(&s) {
                return Err(Error::invalid(
                    "error-invalid-status",
                    "Valid status types include online, away, offline, and busy.",
                ));
            }
            // The user's choice: kept across disconnects and restored on the next connection.
            user.status = s.to_string();
            user.status_default = s.to_string();
        }
        if let Some(t) = text {
            user.status_text = t.chars().take(120).collect();
        }
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await?;
        self.publish(Event::UserUpdated(user));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_rocket_chat_rule() {
        assert!(valid_name("john.doe-1_x"));
        // Rocket.Chat's default pattern, as the setting holds it, says the same.
        let default = Some("[0-9a-zA-Z-_.]+");
        for name in ["john.doe-1_x", "", "john doe", "jöhn", "a-b"] {
            assert_eq!(name_matches(default, name), valid_name(name), "{name}");
        }
        // A pattern that allows more (accents), one that does not compile (the default), and
        // a pattern that would match a part only.
        assert!(name_matches(Some("[\\p{L}0-9-_.]+"), "jöhn"));
        assert!(name_matches(Some("[unclosed"), "john"));
        assert!(!name_matches(Some("[unclosed"), "jöhn"));
        assert!(!name_matches(Some("[a-z]+"), "abc!"));
        // Rocket.Chat's (JavaScript) default compiles here as it is, so an admin's variant of it
        // (one more character allowed) is read as written, not as the fallback.
        assert!(regex::Regex::new("^(?:[0-9a-zA-Z-_.]+)$").is_ok());
        assert!(name_matches(Some("[0-9a-zA-Z-_.@]+"), "a@b"));
        assert!(!valid_name(""));
        assert!(!valid_name("john doe"));
        assert!(!valid_name("jöhn"));
    }

    #[test]
    fn emails_need_a_domain() {
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("@b.co"));
        assert!(!valid_email("a b@c.de"));
    }
}
