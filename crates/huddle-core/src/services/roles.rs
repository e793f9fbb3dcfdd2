//! Permissions, global roles and settings: reading and editing them, keeping the in-memory
//! copies the checks read coherent with the store.

use super::{Actor, Huddle, UserLookup};
use crate::events::Event;
use crate::model::{Page, Permission, Role, User, UserQuery};
use crate::{Error, Failure, Result, Timestamp};

impl Huddle {
    pub async fn list_permissions(&self) -> Result<Vec<Permission>> {
        self.store.permissions().await
    }

    /// `permissions.update`: sets (not merges) the roles of each named permission. All or nothing:
    /// every id and role is checked before anything is written.
    pub async fn update_permissions(
        &self,
        actor: &Actor,
        changes: &[(String, Vec<String>)],
    ) -> Result<Vec<Permission>> {
        if !self.has_permission(&actor.user, "access-permissions") {
            return Err(Error::Forbidden(Failure::new(
                "error-edit-permissions-not-allowed",
                "Editing permissions is not allowed",
            )));
        }
        let roles = self.store.roles().await?;
        let known = self
            .permissions
            .read()
            .map(|t| changes.iter().all(|(id, _)| t.contains(id)))
            .unwrap_or(false);
        if !known {
            return Err(Error::invalid(
                "error-invalid-permission",
                "Invalid permission",
            ));
        }
        if !changes
            .iter()
            .flat_map(|(_, r)| r)
            .all(|r| roles.iter().any(|k| &k.id == r))
        {
            return Err(Error::invalid("error-invalid-role", "Invalid role"));
        }
        for (id, r) in changes {
            self.store.set_permission_roles(id, r).await?;
            if let Ok(mut t) = self.permissions.write() {
                t.set(id, r);
                self.tickets.permissions.edited();
            }
        }
        self.publish(Event::PermissionsChanged);
        self.settle_shared_state().await;
        self.store.permissions().await
    }

    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        self.store.roles().await
    }

    /// A role by id or name (Rocket.Chat's `findOneByIdOrName`).
    pub(crate) async fn role_by_id_or_name(&self, key: &str) -> Result<Option<Role>> {
        let roles = self.store.roles().await?;
        let by_id = roles.iter().position(|r| r.id == key);
        let at = by_id.or_else(|| roles.iter().position(|r| r.name == key));
        Ok(at.map(|i| roles[i].clone()))
    }

    async fn known_role(&self, key: &str) -> Result<Role> {
        self.role_by_id_or_name(key)
            .await?
            .ok_or_else(|| Error::invalid("error-role-not-found", "Role not found"))
    }

    /// `roles.getUsersInRole`: users holding a global role, or (with `room`, which needs
    /// `view-other-user-channels` too) the members holding it in that room.
    pub async fn users_in_role(
        &self,
        actor: &Actor,
        role: &str,
        room: Option<&str>,
        paging: crate::Paging,
    ) -> Result<Page<User>> {
        if !self.has_permission(&actor.user, "access-permissions") {
            return Err(Error::Forbidden(Failure::new(
                "error-not-allowed",
                "Not allowed",
            )));
        }
        if room.is_some() && !self.has_permission(&actor.user, "view-other-user-channels") {
            return Err(Error::Forbidden(Failure::new(
                "error-not-allowed",
                "not allowed",
            )));
        }
        let role = self
            .role_by_id_or_name(role)
            .await?
            .ok_or_else(|| Error::invalid("error-invalid-roleId", ""))?;
        let Some(rid) = room else {
            return self
                .store
                .list_users(&UserQuery {
                    role: Some(role.id),
                    paging,
                    ..Default::default()
                })
                .await;
        };
        let holders: Vec<String> = self
            .store
            .members_with_roles(rid)
            .await?
            .into_iter()
            .filter(|s| s.has_role(&role.id))
            .map(|s| s.u.id)
            .collect();
        let total = holders.len() as i64;
        let start = (paging.offset.max(0) as usize).min(holders.len());
        let end = paging
            .count
            .map(|c| (start + c.max(0) as usize).min(holders.len()))
            .unwrap_or(holders.len());
        let items = self.store.users_by_ids(&holders[start..end]).await?;
        Ok(Page { items, total })
    }

    /// `roles.addUserToRole` for global roles (room roles go through `change_room_role`).
    pub async fn add_user_to_role(
        &self,
        actor: Option<&Actor>,
        role: &str,
        user: &UserLookup,
    ) -> Result<(Role, User)> {
        if let Some(a) = actor {
            if !self.has_permission(&a.user, "access-permissions") {
                return Err(Error::Forbidden(Failure::new(
                    "error-action-not-allowed",
                    "Accessing permissions is not allowed",
                )));
            }
            if role == "admin" && !self.has_permission(&a.user, "assign-admin-role") {
                return Err(Error::Forbidden(Failure::new(
                    "error-action-not-allowed",
                    "Assigning admin is not allowed",
                )));
            }
        }
        let role = self.known_role(role).await?;
        let mut user = self.find_user(Some(user)).await?;
        if user.has_role(&role.id) {
            return Err(Error::conflict(
                "error-user-already-in-role",
                "User already in role",
            ));
        }
        user.roles.push(role.id.clone());
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await?;
        self.publish_settled(Event::UserUpdated(user.clone())).await;
        Ok((role, user))
    }

    /// `roles.removeUserFromRole`: never leaves the workspace without an admin.
    pub async fn remove_user_from_role(
        &self,
        actor: &Actor,
        role: &str,
        user: &UserLookup,
    ) -> Result<(Role, User)> {
        if !self.has_permission(&actor.user, "access-permissions") {
            return Err(Error::Forbidden(Failure::new(
                "error-action-not-allowed",
                "Accessing permissions is not allowed",
            )));
        }
        let role = self.known_role(role).await?;
        let mut user = self.find_user(Some(user)).await?;
        if !user.has_role(&role.id) {
            return Err(Error::invalid(
                "error-user-not-in-role",
                "User is not in this role",
            ));
        }
        if role.id == "admin" && self.store.count_users_with_role("admin").await? <= 1 {
            return Err(Error::conflict(
                "error-admin-required",
                "You need to have at least one admin",
            ));
        }
        user.roles.retain(|r| r != &role.id);
        user.updated_at = Timestamp::now();
        self.store.update_user(&user).await?;
        self.publish_settled(Event::UserUpdated(user.clone())).await;
        Ok((role, user))
    }

    /// Settings a caller may read: public ones for everyone, all for holders of
    /// `view-privileged-setting`.
    pub fn read_setting(&self, actor: Option<&Actor>, id: &str) -> Result<serde_json::Value> {
        let privileged = actor
            .map(|a| self.has_permission(&a.user, "view-privileged-setting"))
            .unwrap_or(false);
        if !crate::settings::is_known(id) {
            return Err(unknown_setting());
        }
        if !(privileged || crate::settings::is_public(id)) {
            return Err(Error::NotFound(Failure::plain("Resource not found")));
        }
        self.setting(id)
            .ok_or_else(|| Error::NotFound(Failure::plain("Resource not found")))
    }

    /// `POST settings/:id`: needs `edit-privileged-setting`; the value must keep its type.
    pub async fn write_setting(
        &self,
        actor: &Actor,
        id: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        if !self.has_permission(&actor.user, "edit-privileged-setting") {
            return Err(Error::permission_required());
        }
        let current = self
            .setting(id)
            .filter(|_| crate::settings::is_known(id))
            .ok_or_else(unknown_setting)?;
        let same_type = std::mem::discriminant(&current) == std::mem::discriminant(&value)
            || (current.is_number() && value.is_number());
        if !same_type {
            return Err(Error::invalid(
                "error-invalid-setting-value",
                format!("Invalid value for setting {id}"),
            ));
        }
        self.put_setting(id, value).await?;
        self.settle_shared_state().await;
        Ok(())
    }

    /// Stores a setting and updates the in-memory copy the checks read.
    pub(crate) async fn put_setting(&self, id: &str, value: serde_json::Value) -> Result<()> {
        self.store.set_setting(id, &value).await?;
        if let Ok(mut s) = self.settings.write() {
            s.insert(id.to_string(), value);
            self.tickets.settings.edited();
        }
        Ok(())
    }

    /// Public settings (`settings.public`).
    pub fn public_settings(&self) -> Vec<(String, serde_json::Value)> {
        let Ok(s) = self.settings.read() else {
            return vec![];
        };
        let mut out: Vec<_> = s
            .iter()
            .filter(|(k, _)| crate::settings::is_public(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Rocket.Chat's answer for a setting id it does not have: `API.v1.failure()`, a bare 400
/// `{"success": false}`.
fn unknown_setting() -> Error {
    Error::Invalid(Failure::plain(""))
}
