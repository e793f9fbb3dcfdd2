//! Rocket.Chat's permission model: permission id → roles, effective roles = the user's global
//! roles plus their roles in the room in question. The table and the check are pure; the
//! services hold the live (editable) copy in memory.

use std::collections::{HashMap, HashSet};

use crate::model::{Permission, Role, RoleScope};
use crate::Timestamp;

/// Rocket.Chat's whole default permission → roles table (`permissions.ts` of the 7.x line, in its
/// order), including permissions that guard features Huddle does not have: those are listed,
/// editable and simply never checked. Rocket.Chat's newer `federated-external` role is left out
/// of the lists, as 7.x's default roles do not include it. Stored at first start (missing ids
/// only); edits through `permissions.update` survive restarts.
#[rustfmt::skip]
pub const DEFAULT_PERMISSIONS: &[(&str, &[&str])] = &[
    ("access-permissions", &["admin"]),
    ("access-marketplace", &["admin", "user"]),
    ("access-setting-permissions", &["admin"]),
    ("add-oauth-service", &["admin"]),
    ("add-user-to-joined-room", &["admin", "owner", "moderator"]),
    ("add-user-to-any-c-room", &["admin"]),
    ("add-user-to-any-p-room", &[]),
    ("kick-user-from-any-c-room", &["admin"]),
    ("kick-user-from-any-p-room", &[]),
    ("api-bypass-rate-limit", &["admin", "bot", "app"]),
    ("archive-room", &["admin", "owner"]),
    ("assign-admin-role", &["admin"]),
    ("assign-roles", &["admin"]),
    ("ban-user", &["admin", "owner", "moderator"]),
    ("bulk-register-user", &["admin"]),
    ("change-livechat-room-visitor", &["admin", "livechat-manager", "livechat-agent"]),
    ("create-c", &["admin", "user", "bot", "app"]),
    ("create-d", &["admin", "user", "bot", "app"]),
    ("create-p", &["admin", "user", "bot", "app"]),
    ("create-personal-access-tokens", &["admin", "user"]),
    ("create-user", &["admin"]),
    ("clean-channel-history", &["admin"]),
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
    ("edit-other-user-e2ee", &["admin"]),
    ("edit-other-user-totp", &["admin"]),
    ("edit-privileged-setting", &["admin"]),
    ("edit-room", &["admin", "owner", "moderator"]),
    ("edit-room-avatar", &["admin", "owner", "moderator"]),
    ("edit-room-retention-policy", &["admin"]),
    ("force-delete-message", &["admin", "owner"]),
    ("join-without-join-code", &["admin", "bot", "app"]),
    ("leave-c", &["admin", "user", "bot", "anonymous", "app"]),
    ("leave-p", &["admin", "user", "bot", "anonymous", "app"]),
    ("logout-other-user", &["admin"]),
    ("manage-assets", &["admin"]),
    ("manage-email-inbox", &["admin"]),
    ("manage-emoji", &["admin"]),
    ("manage-user-status", &["admin"]),
    ("manage-outgoing-integrations", &["admin"]),
    ("manage-incoming-integrations", &["admin"]),
    ("manage-own-outgoing-integrations", &["admin"]),
    ("manage-own-incoming-integrations", &["admin"]),
    ("manage-oauth-apps", &["admin"]),
    ("manage-selected-settings", &["admin"]),
    ("mention-all", &["admin", "owner", "moderator", "user"]),
    ("mention-here", &["admin", "owner", "moderator", "user"]),
    ("mute-user", &["admin", "owner", "moderator"]),
    ("remove-user", &["admin", "owner", "moderator"]),
    ("run-import", &["admin"]),
    ("run-migration", &["admin"]),
    ("set-moderator", &["admin", "owner"]),
    ("set-owner", &["admin", "owner"]),
    ("send-many-messages", &["admin", "bot", "app"]),
    ("set-leader", &["admin", "owner"]),
    ("set-important-message-marker", &["admin", "owner"]),
    ("start-discussion", &["admin", "user", "guest", "app"]),
    ("start-discussion-other-user", &["admin", "user", "owner", "app"]),
    ("unarchive-room", &["admin"]),
    ("view-c-room", &["admin", "user", "bot", "app", "anonymous"]),
    ("user-generate-access-token", &["admin"]),
    ("view-d-room", &["admin", "user", "bot", "app", "guest"]),
    ("view-device-management", &["admin"]),
    ("view-engagement-dashboard", &["admin"]),
    ("view-full-other-user-info", &["admin"]),
    ("view-joined-room", &["guest", "bot", "app", "anonymous"]),
    ("view-join-code", &["admin"]),
    ("view-logs", &["admin"]),
    ("view-other-user-channels", &["admin"]),
    ("view-p-room", &["admin", "user", "anonymous", "guest"]),
    ("view-privileged-setting", &["admin"]),
    ("view-room-administration", &["admin"]),
    ("view-statistics", &["admin"]),
    ("view-user-administration", &["admin"]),
    ("preview-c-room", &["admin", "user", "anonymous"]),
    ("view-outside-room", &["admin", "owner", "moderator", "user"]),
    ("view-broadcast-member-list", &["admin", "owner", "moderator"]),
    ("call-management", &["admin", "owner", "moderator", "user"]),
    ("create-invite-links", &["admin", "owner", "moderator"]),
    ("view-l-room", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("create-livechat-contact", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("update-livechat-contact", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("view-livechat-contact", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("delete-livechat-contact", &["livechat-manager", "admin"]),
    ("view-livechat-contact-history", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("view-livechat-manager", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-omnichannel-contact-center", &["livechat-manager", "livechat-agent", "livechat-monitor", "admin"]),
    ("edit-omnichannel-contact", &["livechat-manager", "livechat-agent", "admin"]),
    ("view-livechat-rooms", &["livechat-manager", "livechat-monitor", "admin"]),
    ("close-livechat-room", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("close-others-livechat-room", &["livechat-manager", "livechat-monitor", "admin"]),
    ("on-hold-livechat-room", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("on-hold-others-livechat-room", &["livechat-manager", "livechat-monitor", "admin"]),
    ("save-others-livechat-room-info", &["livechat-manager", "livechat-monitor", "admin"]),
    ("remove-closed-livechat-rooms", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-analytics", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-queue", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("transfer-livechat-guest", &["livechat-manager", "livechat-monitor", "admin"]),
    ("manage-livechat-managers", &["livechat-manager", "admin"]),
    ("manage-livechat-agents", &["livechat-manager", "livechat-monitor", "admin"]),
    ("manage-livechat-departments", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-departments", &["livechat-manager", "livechat-monitor", "admin"]),
    ("add-livechat-department-agents", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-real-time-monitoring", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-triggers", &["livechat-manager", "admin"]),
    ("view-livechat-customfields", &["livechat-manager", "admin"]),
    ("view-livechat-installation", &["livechat-manager", "admin"]),
    ("view-livechat-appearance", &["livechat-manager", "admin"]),
    ("view-livechat-webhooks", &["livechat-manager", "admin"]),
    ("view-livechat-business-hours", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-room-closed-same-department", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-room-closed-by-another-agent", &["livechat-manager", "livechat-monitor", "admin"]),
    ("view-livechat-room-customfields", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("edit-livechat-room-customfields", &["livechat-manager", "livechat-monitor", "livechat-agent", "admin"]),
    ("send-omnichannel-chat-transcript", &["livechat-manager", "admin"]),
    ("mail-messages", &["admin"]),
    ("toggle-room-e2e-encryption", &["owner", "admin"]),
    ("message-impersonate", &["bot", "app"]),
    ("create-team", &["admin", "user"]),
    ("delete-team", &["admin", "owner"]),
    ("convert-team", &["admin", "owner"]),
    ("edit-team", &["admin", "owner"]),
    ("add-team-member", &["admin", "owner", "moderator"]),
    ("edit-team-member", &["admin", "owner", "moderator"]),
    ("move-room-to-team", &["admin", "owner", "moderator"]),
    ("create-team-channel", &["admin", "owner", "moderator"]),
    ("create-team-group", &["admin", "owner", "moderator"]),
    ("delete-team-channel", &["admin", "owner", "moderator"]),
    ("delete-team-group", &["admin", "owner", "moderator"]),
    ("edit-team-channel", &["admin", "owner", "moderator"]),
    ("remove-team-channel", &["admin", "owner", "moderator"]),
    ("view-all-team-channels", &["admin", "owner"]),
    ("view-all-teams", &["admin"]),
    ("remove-closed-livechat-room", &["livechat-manager", "admin"]),
    ("remove-livechat-department", &["livechat-manager", "admin"]),
    ("allow-internal-voice-calls", &["admin", "user"]),
    ("allow-external-voice-calls", &["admin", "user"]),
    ("manage-apps", &["admin"]),
    ("post-readonly", &["admin", "owner", "moderator"]),
    ("set-readonly", &["admin", "owner"]),
    ("set-react-when-readonly", &["admin", "owner"]),
    ("manage-cloud", &["admin"]),
    ("manage-sounds", &["admin"]),
    ("access-mailer", &["admin"]),
    ("pin-message", &["owner", "moderator", "admin"]),
    ("mobile-upload-file", &["user", "admin"]),
    ("send-mail", &["admin"]),
    ("view-federation-data", &["admin"]),
    ("access-federation", &["admin", "user"]),
    ("add-all-to-room", &["admin"]),
    ("get-server-info", &["admin"]),
    ("register-on-cloud", &["admin"]),
    ("test-admin-options", &["admin"]),
    ("test-push-notifications", &["admin", "user"]),
    ("sync-auth-services-users", &["admin"]),
    ("restart-server", &["admin"]),
    ("remove-slackbridge-links", &["admin"]),
    ("view-import-operations", &["admin"]),
    ("clear-oembed-cache", &["admin"]),
    ("videoconf-ring-users", &["admin", "owner", "moderator", "user"]),
    ("view-moderation-console", &["admin"]),
    ("manage-moderation-actions", &["admin"]),
    ("bypass-time-limit-edit-and-delete", &["bot", "app"]),
    ("export-messages-as-pdf", &["admin", "user"]),
    ("mark-message-as-important", &["admin", "owner", "important-message-marker"]),
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
    let now = Timestamp::now();
    DEFAULT_ROLES
        .iter()
        .map(|(name, scope, desc)| Role {
            id: name.to_string(),
            name: name.to_string(),
            scope: *scope,
            description: desc.to_string(),
            protected: true,
            updated_at: now,
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
