//! Search across users and rooms (`directory`, `spotlight`).

use super::{Actor, Huddle};
use crate::model::{Page, Paging, Room, RoomQuery, RoomType, User, UserField, UserQuery};
use crate::settings::ACCOUNTS_SEARCH_FIELDS;
use crate::Result;

impl Huddle {
    /// Public channels (and the caller's groups) whose name contains `text`.
    pub async fn search_rooms(
        &self,
        actor: &Actor,
        text: Option<String>,
        paging: Paging,
    ) -> Result<Page<Room>> {
        let mut query = RoomQuery {
            types: vec![RoomType::Channel],
            text: text.clone(),
            paging,
            ..Default::default()
        };
        if !self.has_permission(&actor.user, "view-c-room") {
            query.member = Some(actor.user.id.clone());
        }
        self.store.list_rooms(&query).await
    }

    /// Active users with `text` in one of the fields `Accounts_SearchFields` names (none that
    /// Huddle has: username and name).
    pub async fn search_users(&self, text: Option<String>, paging: Paging) -> Result<Page<User>> {
        let listed = self
            .setting(ACCOUNTS_SEARCH_FIELDS)
            .and_then(|v| v.as_str().map(UserField::parse_list))
            .unwrap_or_default();
        let text_fields = if listed.is_empty() {
            vec![UserField::Username, UserField::Name]
        } else {
            listed
        };
        self.store
            .list_users(&UserQuery {
                text,
                text_fields,
                active: Some(true),
                paging,
                ..Default::default()
            })
            .await
    }

    /// `spotlight`: a few users and the rooms the caller can see, by name.
    pub async fn spotlight(&self, actor: &Actor, text: &str) -> Result<(Vec<User>, Vec<Room>)> {
        let paging = Paging {
            offset: 0,
            count: Some(10),
        };
        let users = self
            .search_users(Some(text.to_string()), paging)
            .await?
            .items;
        let mut rooms = self
            .search_rooms(actor, Some(text.to_string()), paging)
            .await?
            .items;
        let groups = self
            .store
            .list_rooms(&RoomQuery {
                types: vec![RoomType::Group],
                member: Some(actor.user.id.clone()),
                text: Some(text.to_string()),
                paging,
                ..Default::default()
            })
            .await?
            .items;
        rooms.extend(groups);
        Ok((users, rooms))
    }
}
