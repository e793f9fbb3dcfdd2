//! First start and every start: default roles, permissions and settings, the `general` channel,
//! and the optional admin account from the environment.

use super::{Huddle, NewUserInput, UserLookup};
use crate::model::{Room, RoomType};
use crate::permissions::{default_permissions, default_roles};
use crate::policy::{Action, Principal};
use crate::settings::default_settings;
use crate::store::RoomChange;
use crate::{Result, Timestamp};

/// The default channel's fixed id, as in Rocket.Chat.
pub const GENERAL_ID: &str = "GENERAL";

/// An admin account to create at start if it does not exist.
#[derive(Debug, Clone)]
pub struct AdminBootstrap {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
}

impl Huddle {
    pub(super) async fn bootstrap(&self) -> Result<()> {
        self.store.ensure_roles(&default_roles()).await?;
        self.store
            .ensure_permissions(&default_permissions())
            .await?;
        self.store.ensure_settings(&default_settings()).await?;
        // Nothing is live yet: what the first read finds needs no announcement.
        self.reload_permissions().await?;
        self.reload_settings().await?;
        self.reload_keys().await?;
        self.reload_webhooks().await?;
        if self.store.room_by_id(GENERAL_ID).await?.is_none() {
            let mut room = Room::new(
                GENERAL_ID.into(),
                RoomType::Channel,
                Some("general".into()),
                None,
            );
            room.default = true;
            room.created_at = Timestamp::now();
            let permit = self
                .decide(Principal::Workspace, Action::Create, &room)
                .map_err(|_| crate::Error::Internal("the workspace makes its rooms".into()))?;
            let change = RoomChange::Create {
                room: room.clone(),
                members: vec![],
            };
            match self.write(&permit, &room, change).await {
                Ok(_) | Err(crate::Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Creates the admin if no user has that username; idempotent.
    pub async fn ensure_admin(&self, admin: &AdminBootstrap) -> Result<bool> {
        if self
            .store
            .user_by_username(&admin.username)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        let user = self
            .create_user_unchecked(NewUserInput {
                username: admin.username.clone(),
                name: admin.username.clone(),
                email: admin.email.clone(),
                password: Some(admin.password.clone()),
                roles: Some(vec!["admin".into(), "user".into()]),
                verified: true,
                join_default_channels: true,
                ..Default::default()
            })
            .await?;
        let _ = self.find_user(Some(&UserLookup::Id(user.id))).await?;
        Ok(true)
    }
}
