//! The storage contract. One trait per aggregate; `huddle-store` implements them for SQLite and
//! PostgreSQL. Every method that changes more than one row runs in one transaction inside the
//! store, so a use case is atomic whatever the backend.

use async_trait::async_trait;

use crate::model::*;
use crate::{Result, Timestamp};

pub use cluster::{ClusterStore, NodeBeat};
pub use room_write::*;

mod cluster;
mod room_write;

/// A membership to create, with the system message that records it (if any).
#[derive(Debug, Clone)]
pub struct NewMember {
    pub subscription: Subscription,
    pub message: Option<Message>,
}

/// A room's counters as the write transaction that changed them left them, so a service can
/// publish the room without reading it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomCounters {
    pub users_count: i64,
    pub msgs: i64,
    pub last_message_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl RoomCounters {
    /// `room` with these counters.
    pub fn apply(&self, mut room: Room) -> Room {
        room.users_count = self.users_count;
        room.msgs = self.msgs;
        room.last_message_at = self.last_message_at;
        room.updated_at = self.updated_at;
        room
    }
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` (`error-field-unavailable`) when the username or email is taken.
    async fn insert_user(&self, user: &User) -> Result<()>;
    /// Writes every field of the user. Same conflicts as `insert_user`.
    async fn update_user(&self, user: &User) -> Result<()>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    /// Case-insensitive.
    async fn user_by_username(&self, username: &str) -> Result<Option<User>>;
    /// Case-insensitive.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<User>>;
    /// Case-insensitive.
    async fn users_by_usernames(&self, usernames: &[String]) -> Result<Vec<User>>;
    /// Deletes the user, their tokens and memberships (keeping room counters exact).
    async fn delete_user(&self, id: &str) -> Result<bool>;
    async fn list_users(&self, query: &UserQuery) -> Result<Page<User>>;
    async fn count_users_with_role(&self, role: &str) -> Result<i64>;
    /// Ids of all users, optionally only active ones, at most `limit`.
    async fn all_user_ids(&self, active_only: bool, limit: i64) -> Result<Vec<String>>;

    async fn insert_token(&self, token: &LoginToken) -> Result<()>;
    /// The user owning this token hash, optionally checking the user id too.
    async fn user_by_token(&self, hashed: &str) -> Result<Option<(User, LoginToken)>>;
    async fn delete_token(&self, hashed: &str) -> Result<bool>;
    async fn tokens_of_user(&self, user_id: &str, kind: TokenKind) -> Result<Vec<LoginToken>>;
    async fn delete_named_token(&self, user_id: &str, name: &str) -> Result<bool>;
    async fn delete_tokens_of_user(&self, user_id: &str) -> Result<()>;
}

#[async_trait]
pub trait RoomStore: Send + Sync {
    async fn room_by_id(&self, id: &str) -> Result<Option<Room>>;
    async fn room_by_name(&self, name: &str) -> Result<Option<Room>>;
    async fn list_rooms(&self, query: &RoomQuery) -> Result<Page<Room>>;
    async fn default_rooms(&self) -> Result<Vec<Room>>;
}

#[async_trait]
pub trait MembershipStore: Send + Sync {
    async fn subscription(&self, rid: &str, uid: &str) -> Result<Option<Subscription>>;
    /// Members of a room who are active users, with the total of such members.
    async fn list_members(&self, rid: &str, query: &MemberQuery) -> Result<Page<Member>>;
    /// Memberships holding any room role.
    async fn members_with_roles(&self, rid: &str) -> Result<Vec<Subscription>>;
    async fn count_role_in_room(&self, rid: &str, role: &str) -> Result<i64>;
    async fn subscriptions_of_user(
        &self,
        uid: &str,
        updated_since: Option<Timestamp>,
    ) -> Result<Vec<Subscription>>;
    /// Writes the member's own view of a room (read state, unread markers, open flag): theirs
    /// alone, so no room event. False if there is no such membership.
    async fn set_own_state(&self, sub: &Subscription) -> Result<bool>;
    /// Marks a membership read: unread and mentions to zero, `ls` now.
    async fn mark_read(&self, rid: &str, uid: &str) -> Result<bool>;
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    async fn message_by_id(&self, id: &str) -> Result<Option<Message>>;
    async fn list_messages(&self, rid: &str, query: &MessageQuery) -> Result<Page<Message>>;
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn permissions(&self) -> Result<Vec<Permission>>;
    /// Inserts permissions that do not exist yet (admin edits survive restarts).
    async fn ensure_permissions(&self, defaults: &[Permission]) -> Result<()>;
    async fn set_permission_roles(&self, id: &str, roles: &[String]) -> Result<()>;
    async fn roles(&self) -> Result<Vec<Role>>;
    async fn ensure_roles(&self, defaults: &[Role]) -> Result<()>;
    async fn settings(&self) -> Result<Vec<(String, serde_json::Value)>>;
    /// Inserts settings that do not exist yet.
    async fn ensure_settings(&self, defaults: &[(String, serde_json::Value)]) -> Result<()>;
    async fn set_setting(&self, id: &str, value: &serde_json::Value) -> Result<()>;
}

/// Conversations as the TalkJS-style API lists them: most recent activity
/// (`max(lm, created_at)`) first, then id, with a cursor.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    /// Only conversations this user is a participant of (their membership comes along).
    pub member: Option<String>,
    /// With `member`: only conversations with unread messages for them.
    pub unread_only: bool,
    pub last_message_before: Option<Timestamp>,
    pub last_message_after: Option<Timestamp>,
    /// The id of the last conversation of the previous page.
    pub starting_after: Option<String>,
    pub limit: i64,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// A page of conversations with the member's subscription when `member` is set.
    async fn list_conversations(
        &self,
        query: &ConversationQuery,
    ) -> Result<Vec<(Room, Option<Subscription>)>>;
    /// Users ordered by id after the cursor (TalkJS-style user listing).
    async fn list_users_after(&self, starting_after: Option<&str>, limit: i64)
        -> Result<Vec<User>>;
    /// Creates or updates many users in one transaction: all or nothing.
    async fn upsert_users(&self, users: &[User]) -> Result<()>;
    /// The message a client already sent with this idempotency key in this room.
    async fn message_by_idempotency_key(&self, rid: &str, key: &str) -> Result<Option<Message>>;
    /// Messages of a room newest first, older than the cursor message when given.
    async fn list_messages_after(
        &self,
        rid: &str,
        starting_after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Message>>;
}

#[async_trait]
pub trait AppStore: Send + Sync {
    async fn app_keys(&self) -> Result<Vec<AppKey>>;
    async fn insert_app_key(&self, key: &AppKey) -> Result<()>;
    async fn revoke_app_key(&self, id: &str, at: Timestamp) -> Result<bool>;
    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>>;
    async fn insert_webhook_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<()>;
    async fn delete_webhook_endpoint(&self, id: &str) -> Result<bool>;
    /// Adds deliveries to the durable outbox.
    async fn enqueue_outbox(&self, items: &[OutboxItem]) -> Result<()>;
    /// Undelivered items whose next attempt is due, oldest first, with fewer than `max_attempts`.
    async fn due_outbox(
        &self,
        now: Timestamp,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>>;
    /// `due_outbox` for a sender: where several servers share the database, each row is
    /// handed to one of them (claimed for a while); a plain read where there is one server.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>> {
        self.due_outbox(now, max_attempts, limit).await
    }
    /// Records an attempt: delivered (with `delivered_at`) or failed (with the error and when to retry).
    async fn record_attempt(&self, item: &OutboxItem) -> Result<()>;
    /// Stores the body built for a delivery whose body was left empty (a room event's), so
    /// that retries send the same bytes. Only an empty body is replaced; false if the item is
    /// gone or already had one.
    async fn set_outbox_body(&self, id: &str, body: &str) -> Result<bool>;
    /// The latest deliveries of an endpoint, newest first (the delivery log).
    async fn outbox_of_endpoint(&self, endpoint_id: &str, limit: i64) -> Result<Vec<OutboxItem>>;
    async fn outbox_item(&self, id: &str) -> Result<Option<OutboxItem>>;
}

/// Everything the services need from storage.
pub trait Store:
    RoomWriteStore
    + UserStore
    + RoomStore
    + MembershipStore
    + MessageStore
    + SettingsStore
    + ConversationStore
    + AppStore
{
    /// Which backend this is, for logs and health output.
    fn backend(&self) -> &'static str;
    /// The cluster's tables, on a backend several nodes can share (PostgreSQL).
    fn cluster(&self) -> Option<&dyn ClusterStore> {
        None
    }
}
