//! Roles CRUD (Rocket.Chat's `roles.create`, `roles.update`, `roles.delete`, `roles.sync`,
//! `roles.getUsersInPublicRoles`) with its protected-role rules: Rocket.Chat's default roles
//! are protected (never deleted, never renamed or re-scoped); a role still held by a user is
//! not deleted. A new role gets a random id; grants hold the id, so a rename keeps them.

use super::{Actor, Huddle};
use crate::events::Event;
use crate::model::{Role, RoleScope, User, UserQuery};
use crate::{ids, Error, Paging, Result, Timestamp};

/// What `roles.create` / `roles.update` send.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub name: String,
    pub scope: Option<String>,
    pub description: Option<String>,
    pub mandatory2fa: Option<bool>,
}

fn action_not_allowed() -> Error {
    Error::invalid(
        "error-action-not-allowed",
        "Accessing permissions is not allowed",
    )
}

fn invalid_properties() -> Error {
    Error::invalid(
        "error-invalid-role-properties",
        "The role properties are invalid.",
    )
}

fn duplicate_name() -> Error {
    Error::invalid(
        "error-duplicate-role-names-not-allowed",
        "Role name already exists",
    )
}

impl RoleInput {
    /// The scope asked for (`Users` when none); anything else is `error-invalid-scope`.
    fn scope(&self) -> Result<Option<RoleScope>> {
        match self.scope.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => RoleScope::parse(s)
                .map(Some)
                .ok_or_else(|| Error::invalid("error-invalid-scope", "Invalid scope")),
        }
    }
    /// Huddle has no two-factor authentication: a role cannot demand it (refused rather than
    /// stored and ignored).
    fn check(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.mandatory2fa == Some(true) {
            return Err(invalid_properties());
        }
        Ok(())
    }
}

impl Huddle {
    fn require_access_permissions(&self, actor: &Actor) -> Result<()> {
        if self.has_permission(&actor.user, "access-permissions") {
            Ok(())
        } else {
            Err(action_not_allowed())
        }
    }

    /// `roles.create`: a new, unprotected role.
    pub async fn create_role(&self, actor: &Actor, input: &RoleInput) -> Result<Role> {
        input.check()?;
        self.require_access_permissions(actor)?;
        let scope = input.scope()?.unwrap_or(RoleScope::Users);
        if self.role_by_id_or_name(&input.name).await?.is_some() {
            return Err(duplicate_name());
        }
        let role = Role {
            id: ids::new_id(),
            name: input.name.clone(),
            scope,
            description: input.description.clone().unwrap_or_default(),
            protected: false,
            updated_at: Timestamp::now(),
        };
        match self.store.insert_role(&role).await {
            Err(Error::Conflict(_)) => Err(duplicate_name()),
            other => other.map(|_| role),
        }
    }

    /// `roles.update`: a protected role keeps its name and scope; its description may change.
    pub async fn update_role(&self, actor: &Actor, id: &str, input: &RoleInput) -> Result<Role> {
        input.check()?;
        self.require_access_permissions(actor)?;
        let mut role = self
            .store
            .roles()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::invalid("error-invalid-roleId", "This role does not exist"))?;
        let scope = input.scope()?;
        if role.protected && (input.name != role.name || scope.is_some_and(|s| s != role.scope)) {
            return Err(Error::invalid("error-role-protected", "Role is protected"));
        }
        if let Some(other) = self.role_by_id_or_name(&input.name).await? {
            if other.id != role.id {
                return Err(duplicate_name());
            }
        }
        role.name = input.name.clone();
        role.scope = scope.unwrap_or(role.scope);
        role.description = input.description.clone().unwrap_or_default();
        role.updated_at = Timestamp::now();
        match self.store.update_role(&role).await {
            Ok(true) => Ok(role),
            Ok(false) => Err(Error::invalid("error-role-not-found", "Role not found")),
            Err(Error::Conflict(_)) => Err(duplicate_name()),
            Err(e) => Err(e),
        }
    }

    /// `roles.delete`: never a protected role, never one a user still holds. Permissions that
    /// listed it drop it.
    pub async fn delete_role(&self, actor: &Actor, key: &str) -> Result<()> {
        self.require_access_permissions(actor)?;
        let role = self
            .role_by_id_or_name(key)
            .await?
            .ok_or_else(|| Error::invalid("error-invalid-roleId", "This role does not exist"))?;
        if role.protected {
            return Err(Error::invalid(
                "error-role-protected",
                "Cannot delete a protected role",
            ));
        }
        if self.store.count_users_with_role(&role.id).await? > 0 {
            return Err(Error::invalid(
                "error-role-in-use",
                "Cannot delete role because it's in use",
            ));
        }
        if !self.store.delete_role(&role.id, Timestamp::now()).await? {
            return Err(Error::invalid(
                "error-invalid-roleId",
                "This role does not exist",
            ));
        }
        let holding: Vec<(String, Vec<String>)> = self
            .list_permissions()
            .await?
            .into_iter()
            .filter(|p| p.roles.contains(&role.id))
            .map(|p| {
                let roles = p.roles.into_iter().filter(|r| r != &role.id).collect();
                (p.id, roles)
            })
            .collect();
        for (id, roles) in &holding {
            self.store.set_permission_roles(id, roles).await?;
            if let Ok(mut t) = self.permissions.write() {
                t.set(id, roles);
                self.tickets.permissions.edited();
            }
        }
        if !holding.is_empty() {
            self.publish(Event::PermissionsChanged);
        }
        Ok(())
    }

    /// `roles.sync`: roles changed after `since`, and those deleted after it.
    pub async fn roles_since(&self, since: Timestamp) -> Result<(Vec<Role>, Vec<Role>)> {
        let updated = self
            .store
            .roles()
            .await?
            .into_iter()
            .filter(|r| r.updated_at > since)
            .collect();
        Ok((updated, self.store.removed_roles_since(since).await?))
    }

    /// `roles.getUsersInPublicRoles`: active users holding a role other than `user`, each with
    /// those roles.
    pub async fn users_in_public_roles(&self) -> Result<Vec<(User, Vec<String>)>> {
        let mut out: Vec<(User, Vec<String>)> = vec![];
        for role in self.store.roles().await? {
            if role.id == "user" {
                continue;
            }
            let page = self
                .store
                .list_users(&UserQuery {
                    role: Some(role.id.clone()),
                    active: Some(true),
                    paging: Paging {
                        offset: 0,
                        count: None,
                    },
                    ..Default::default()
                })
                .await?;
            for user in page.items {
                if out.iter().all(|(u, _)| u.id != user.id) {
                    let roles = user
                        .roles
                        .iter()
                        .filter(|r| r.as_str() != "user")
                        .cloned()
                        .collect();
                    out.push((user, roles));
                }
            }
        }
        Ok(out)
    }
}
