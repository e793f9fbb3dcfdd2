//! Rocket.Chat's permission model: permission id → roles, effective roles = the user's global
//! roles plus their roles in the room in question. The table and the check are pure; the
//! services hold the live (editable) copy in memory.

use std::collections::{HashMap, HashSet};

use crate::model::{Permission, Role, RoleScope};
use crate::Timestamp;

/// The default permission → roles table (Rocket.Chat's `permissions.ts`), the part Huddle enforces
/// or lists. Stored at first start; edits through `permissions.update` survive restarts.
pub const DEFAULT_PERMISSIONS: &[(&str, &[&str])] = &[
    ("access-permissions", &["admin"]),
    ("add-all-to-room", &["admin"]),
    ("add-user-to-any-c-room", &["admin"]),
    ("add-user-to-any-p-room", &[]),
    ("add-user-to-joined-room", &["admin", "owner", "moderator"]),
    ("api-bypass-rate-limit", &["admin", "bot", "app"]),
    ("archive-room", &["admin", "owner"]),
    ("assign-admin-role", &["admin"]),
    ("assign-roles", &["admin"]),
    ("ban-user", &["admin", "owner", "moderator"]),
    ("clean-channel-history", &["admin"]),
    ("create-c", &["admin", "user", "bot", "app"]),
    ("create-d", &["admin", "user", "bot", "app"]),
    ("create-p", &["admin", "user", "bot", "app"]),
    ("create-personal-access-tokens", &["admin", "user"]),
    ("create-user", &["admin"]),
    ("delete-c", &["admin", "owner"]),
    ("delete-d", &["admin"]),
    ("delete-message", &["admin", "owner", "moderator"]),
    ("delete-own-message", &["admin", "user"]),
    ("delete-p", &["admin", "owner"]),
    ("delete-user", &["admin"]),
    ("edit-message", &["admin", "owner", "moderator"]),
    ("edit-other-user-active-status", &["admin"]),
    ("edit-other-user-avatar", &["admin"]),
    ("edit-other-user-info", &["admin"]),
    ("edit-other-user-password", &["admin"]),
    ("edit-privileged-setting", &["admin"]),
    ("edit-room", &["admin", "owner", "moderator"]),
    ("force-delete-message", &["admin", "owner"]),
    ("join-without-join-code", &["admin", "bot", "app"]),
    ("kick-user-from-any-c-room", &["admin"]),
    ("kick-user-from-any-p-room", &[]),
    ("leave-c", &["admin", "user", "bot", "anonymous", "app"]),
    ("leave-p", &["admin", "user", "bot", "anonymous", "app"]),
    ("manage-incoming-integrations", &["admin"]),
    ("manage-outgoing-integrations", &["admin"]),
    ("manage-own-incoming-integrations", &["admin"]),
    ("manage-own-outgoing-integrations", &["admin"]),
    ("mute-user", &["admin", "owner", "moderator"]),
    ("pin-message", &["admin", "owner", "moderator"]),
    ("post-readonly", &["admin", "owner", "moderator"]),
    ("preview-c-room", &["admin", "user", "anonymous"]),
    ("remove-user", &["admin", "owner", "moderator"]),
    ("send-many-messages", &["admin", "bot", "app"]),
    ("set-leader", &["admin", "owner"]),
    ("set-moderator", &["admin", "owner"]),
    ("set-owner", &["admin", "owner"]),
    ("set-readonly", &["admin", "owner"]),
    ("unarchive-room", &["admin"]),
    (
        "view-broadcast-member-list",
        &["admin", "owner", "moderator"],
    ),
    ("view-c-room", &["admin", "user", "bot", "app", "anonymous"]),
    ("view-d-room", &["admin", "user", "bot", "app", "guest"]),
    ("view-full-other-user-info", &["admin"]),
    ("view-joined-room", &["guest", "bot", "app", "anonymous"]),
    ("view-moderation-console", &["admin"]),
    ("view-other-user-channels", &["admin"]),
    ("view-p-room", &["admin", "user", "anonymous", "guest"]),
    ("view-privileged-setting", &["admin"]),
    ("view-room-administration", &["admin"]),
    ("view-user-administration", &["admin"]),
];

/// Rocket.Chat's default roles, all protected.
pub const DEFAULT_ROLES: &[(&str, RoleScope, &str)] = &[
    ("admin", RoleScope::Users, "Admin"),
    ("moderator", RoleScope::Subscriptions, "Moderator"),
    ("leader", RoleScope::Subscriptions, "Leader"),
    ("owner", RoleScope::Subscriptions, "Owner"),
    ("user", RoleScope::Users, ""),
    ("bot", RoleScope::Users, ""),
    ("app", RoleScope::Users, ""),
    ("guest", RoleScope::Users, ""),
    ("anonymous", RoleScope::Users, ""),
    ("livechat-agent", RoleScope::Users, "Livechat Agent"),
    ("livechat-manager", RoleScope::Users, "Livechat Manager"),
];

pub fn default_permissions() -> Vec<Permission> {
    let now = Timestamp::now();
    DEFAULT_PERMISSIONS
        .iter()
        .map(|(id, roles)| Permission {
            id: id.to_string(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            updated_at: now,
        })
        .collect()
}

pub fn default_roles() -> Vec<Role> {
    DEFAULT_ROLES
        .iter()
        .map(|(name, scope, desc)| Role {
            name: name.to_string(),
            scope: *scope,
            description: desc.to_string(),
            protected: true,
        })
        .collect()
}

/// The permission table as the checks read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionTable {
    roles_by_permission: HashMap<String, HashSet<String>>,
}

impl PermissionTable {
    pub fn new(perms: &[Permission]) -> Self {
        PermissionTable {
            roles_by_permission: perms
                .iter()
                .map(|p| (p.id.clone(), p.roles.iter().cloned().collect()))
                .collect(),
        }
    }

    pub fn set(&mut self, id: &str, roles: &[String]) {
        self.roles_by_permission
            .insert(id.to_string(), roles.iter().cloned().collect());
    }

    pub fn contains(&self, id: &str) -> bool {
        self.roles_by_permission.contains_key(id)
    }

    /// True when any of the effective roles holds the permission. Unknown permissions are held
    /// by nobody.
    pub fn allows<'a>(
        &self,
        permission: &str,
        roles: impl IntoIterator<Item = &'a String>,
    ) -> bool {
        match self.roles_by_permission.get(permission) {
            Some(holders) => roles.into_iter().any(|r| holders.contains(r)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PermissionTable {
        PermissionTable::new(&default_permissions())
    }

    #[test]
    fn room_roles_grant_room_permissions() {
        let t = table();
        let user = vec!["user".to_string()];
        let owner = vec!["user".to_string(), "owner".to_string()];
        assert!(!t.allows("add-user-to-joined-room", &user));
        assert!(t.allows("add-user-to-joined-room", &owner));
        assert!(t.allows("remove-user", &owner));
    }

    #[test]
    fn nobody_may_invite_into_any_private_group_by_default() {
        let admin = vec!["admin".to_string()];
        assert!(!table().allows("add-user-to-any-p-room", &admin));
        assert!(table().allows("add-user-to-any-c-room", &admin));
    }

    #[test]
    fn unknown_permission_is_denied() {
        assert!(!table().allows("no-such-thing", &vec!["admin".to_string()]));
    }
}
