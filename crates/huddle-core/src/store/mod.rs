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

/// A membership that ended (the member left or was removed, or the room was deleted): what
/// `subscriptions/get` and `rooms/get` with a date report in their `remove` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The subscription's id.
    pub id: String,
    pub rid: String,
    pub removed_at: Timestamp,
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
    /// `users_by_ids` (or, with `by_id` false, `users_by_usernames`) reading only what adding
    /// them to a room needs: same order, unknown keys skipped.
    async fn invitees(&self, keys: &[String], by_id: bool) -> Result<Vec<Invitee>>;
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
    /// The user's own avatar, if they set one.
    async fn avatar(&self, uid: &str) -> Result<Option<Avatar>>;
    /// Sets (`Some`) or removes (`None`) the user's avatar.
    async fn set_avatar(&self, uid: &str, avatar: Option<&Avatar>) -> Result<()>;
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
    /// The same members, order and total, as Rocket.Chat's member lists show them: only the
    /// user's fields an entry carries, so a page reads no more than it shows.
    async fn list_member_entries(
        &self,
        rid: &str,
        query: &MemberQuery,
    ) -> Result<Page<MemberEntry>>;
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
    /// Members of `rid` whose read position is at or after `message` (they have read it), its
    /// sender left out, earliest readers first, at most `limit`. Read receipts (TalkJS's
    /// `readBy` and `message.read`, Rocket.Chat's `chat.getMessageReadReceipts`) are built from
    /// this alone, so a store keeping read positions another way re-implements only this.
    async fn readers_of(&self, rid: &str, message: &Message, limit: i64) -> Result<Vec<Reader>>;
    /// The user's memberships that ended after `since`, oldest first (recorded by the write
    /// path when a member is removed or a room deleted).
    async fn removals_of_user(&self, uid: &str, since: Timestamp) -> Result<Vec<Removal>>;
}

/// A member who has read a message, and since when (their read position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    pub uid: String,
    pub username: String,
    pub name: Option<String>,
    pub read_at: Timestamp,
}

#[async_trait]
pub trait MessageStore: Send + Sync {
    async fn message_by_id(&self, id: &str) -> Result<Option<Message>>;
    async fn list_messages(&self, rid: &str, query: &MessageQuery) -> Result<Page<Message>>;
    /// Stars (`true`) or unstars message `mid` of room `rid` for `uid`; false if nothing
    /// changed. A user's own marks: no room event.
    async fn set_star(&self, uid: &str, rid: &str, mid: &str, starred: bool) -> Result<bool>;
    async fn insert_report(&self, report: &MessageReport) -> Result<()>;
    /// Reports of message `mid`, newest first, and how many.
    async fn reports_of_message(&self, mid: &str, paging: Paging) -> Result<Page<MessageReport>>;
    /// The ids of the messages of `rid` that `uid` starred.
    async fn starred_ids(&self, uid: &str, rid: &str) -> Result<Vec<String>>;
    /// Messages of `rid` deleted after `since`: `(id, deleted at)`, oldest first, and how many;
    /// `only` narrows to thread starts (`Threads`) or one thread's replies (`ThreadReplies`).
    async fn deleted_messages(
        &self,
        rid: &str,
        since: Timestamp,
        only: Option<&MessageFilter>,
        paging: Paging,
    ) -> Result<Page<(String, Timestamp)>>;
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
    /// A new role; `Conflict` when its id or name is taken.
    async fn insert_role(&self, role: &Role) -> Result<()>;
    /// Name, scope, description and `mandatory2fa` of the role with `role.id`; false if gone.
    /// `Conflict` when the new name is another role's.
    async fn update_role(&self, role: &Role) -> Result<bool>;
    /// Deletes a role and remembers it (with `at`) for `removed_roles_since`; false if gone.
    async fn delete_role(&self, id: &str, at: Timestamp) -> Result<bool>;
    /// Roles deleted after `since` (`roles.sync`'s `remove`), as they were.
    async fn removed_roles_since(&self, since: Timestamp) -> Result<Vec<Role>>;
}

/// The threads with replies a follower has not read yet (Rocket.Chat's subscription
/// `tunread`). A reply adds its thread for the thread's other followers inside the post's
/// transaction (`RoomChange::PostMessage`); reading takes it away.
#[async_trait]
pub trait ThreadStore: Send + Sync {
    /// The thread ids of `rid` with replies `uid` has not read.
    async fn unread_threads(&self, uid: &str, rid: &str) -> Result<Vec<String>>;
    /// Marks thread `tmid` of `rid` read for `uid`, or every thread of the room when `None`.
    async fn read_threads(&self, uid: &str, rid: &str, tmid: Option<&str>) -> Result<()>;
}

/// Invite links, and reading room bans (a ban is written by the room write path).
#[async_trait]
pub trait InviteStore: Send + Sync {
    async fn insert_invite(&self, invite: &Invite) -> Result<()>;
    async fn invite_by_id(&self, id: &str) -> Result<Option<Invite>>;
    async fn invite_by_token(&self, token: &str) -> Result<Option<Invite>>;
    /// An invite `user_id` made for `rid` with these `days` and `max_uses` that is still usable
    /// at `now` (not expired, not used up): `findOrCreateInvite` hands it out again.
    async fn reusable_invite(
        &self,
        user_id: &str,
        rid: &str,
        days: i64,
        max_uses: i64,
        now: Timestamp,
    ) -> Result<Option<Invite>>;
    async fn list_invites(&self) -> Result<Vec<Invite>>;
    async fn delete_invite(&self, id: &str) -> Result<bool>;
    /// Counts one use, in one statement that also checks the invite is neither expired at `now`
    /// nor used up, so concurrent uses can never go past `max_uses`; false when it was refused.
    async fn count_invite_use(&self, id: &str, now: Timestamp) -> Result<bool>;
    async fn room_ban(&self, rid: &str, uid: &str) -> Result<Option<RoomBan>>;
    /// Which of `uids` are banned from `rid`.
    async fn banned_among(&self, rid: &str, uids: &[String]) -> Result<Vec<String>>;
    /// A room's bans, oldest first.
    async fn room_bans(&self, rid: &str, paging: Paging) -> Result<Page<RoomBan>>;
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
    /// The newest message of each of these rooms (rooms without one are left out), in one
    /// query of one index lookup per room: the rooms' `lastMessage`.
    async fn latest_messages(&self, rids: &[String]) -> Result<Vec<Message>>;
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
    /// Undelivered items that will still be attempted (fewer than `max_attempts` so far), due
    /// or not: the outbox's depth.
    async fn pending_outbox(&self, max_attempts: i64) -> Result<i64>;
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

/// One owed e-mail notification: recipient `uid`, message `message_id` of room `rid`. Written
/// by the post's transaction (see `notify`), while e-mails are on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailNotification {
    pub id: String,
    pub uid: String,
    pub rid: String,
    pub message_id: String,
    pub created_at: Timestamp,
    pub attempts: i64,
}

/// What became of a batch of e-mail notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    Sent,
    /// Nothing to send (no address, left the room, read meanwhile): done, with the reason.
    Skipped(String),
    /// The send failed; try again at `at`.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// The send failed for the last time.
    Failed(String),
}

#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Pending e-mail notifications grouped by recipient and room, for the groups whose
    /// earliest row is due by `now` (the batching window has passed): at most `limit` groups,
    /// each with all its pending rows, oldest first.
    async fn due_email_batches(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Vec<EmailNotification>>>;
    /// Records the outcome for these rows (a retry counts an attempt and moves them to `at`).
    async fn finish_emails(&self, ids: &[String], outcome: &EmailOutcome) -> Result<()>;
}

/// Everything the services need from storage.
pub trait Store:
    RoomWriteStore
    + NotificationStore
    + UserStore
    + RoomStore
    + MembershipStore
    + MessageStore
    + SettingsStore
    + ConversationStore
    + AppStore
    + InviteStore
    + ThreadStore
{
    /// Which backend this is, for logs and health output.
    fn backend(&self) -> &'static str;
    /// The cluster's tables, on a backend several nodes can share (PostgreSQL).
    fn cluster(&self) -> Option<&dyn ClusterStore> {
        None
    }
}
