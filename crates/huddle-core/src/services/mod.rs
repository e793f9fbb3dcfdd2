//! The services: one method per use case. Each takes the acting user (`Actor`) where a rule
//! depends on who asks, checks the rule, calls the store once per atomic change, and publishes
//! the resulting event after commit.

mod account_extras;
pub(crate) mod app;
mod auth;
mod avatars;
mod bans;
mod bootstrap;
mod custom_roles;
mod directory;
mod discussions;
mod dm;
mod hashing;
mod invites;
mod last_message;
mod live;
mod lookup;
pub(crate) mod membership;
mod messages;
mod notify;
mod pins;
mod rate;
mod receipts;
mod refresh;
mod roles;
mod rooms;
mod sequencer;
pub mod talk;
mod threads;
mod users;
pub mod webhooks;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::events::{Event, EventHub};
use crate::model::{AppKey, Room, Subscription, User};
use crate::permissions::PermissionTable;
use crate::realtime::Router;
use crate::store::Store;
use crate::{Error, Result};

pub use app::{
    sign_user_id, AppActor, BackendCredentials, ClientActor, ClientCredentials,
    INSECURE_BROWSER_SESSIONS, JWT_LEEWAY_SECS,
};
pub use auth::{Actor, LoginRequest, PasswordInput};
pub use avatars::{AvatarImage, MAX_AVATAR_BYTES};
pub use bootstrap::{AdminBootstrap, GENERAL_ID};
pub use custom_roles::RoleInput;
pub use discussions::NewDiscussion;
pub use invites::{ValidInvite, INVITE_DAYS, INVITE_USES};
pub use live::HistoryPage;
pub use lookup::{RoomKind, RoomLookup, UserLookup};
pub use membership::{InviteOutcome, RoleChange, RoomRole};
pub use notify::EmailBatch;
pub use receipts::{MESSAGE_READ_MAX_MEMBERS, READ_BY_MAX};
pub use refresh::REFRESH_INTERVAL;
pub use rooms::{CreateRoom, RoomUpdate};
pub use threads::{Changes, ThreadsOf};
pub use users::{NewUserInput, UserPatch};
pub use write::Committed;

/// The application: the store, the in-memory permission and settings caches, the event hub and
/// the realtime router attached to it.
pub struct Huddle {
    store: Arc<dyn Store>,
    hub: Arc<dyn EventHub>,
    /// Shared with the realtime router, which decides access with the same table.
    permissions: Arc<RwLock<PermissionTable>>,
    settings: Arc<RwLock<HashMap<String, serde_json::Value>>>,
    realtime: Arc<Router>,
    /// The app's secret keys, read on every TalkJS-style request.
    keys: RwLock<Vec<AppKey>>,
    /// Orders the re-reads and local edits of the three copies above that another process may
    /// change too (`refresh.rs`).
    tickets: refresh::CopyTickets,
    /// Webhook endpoints, read for every event.
    hooks: RwLock<Vec<crate::model::WebhookEndpoint>>,
    /// Holds committed room changes back until they can be published in `seq` order.
    sequencer: Arc<sequencer::Sequencer>,
    limits: Limits,
    /// `sendMessage` / `chat.postMessage` per user (`rate.rs`).
    message_rate: rate::MessageRate,
    /// The e-mail batching window in milliseconds while e-mail notifications are on (SMTP
    /// configured), 0 while they are off.
    email_window_ms: std::sync::atomic::AtomicI64,
    /// "Now" for rules that depend on time passing (invite expiry).
    clock: Arc<dyn crate::Clock>,
    /// Sends an e-mail at once (`sendInvitationEmail`) while SMTP is configured.
    mail: RwLock<Option<Arc<dyn crate::mail::MailSender>>>,
}

/// Caps on what one request may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most users one invite request may name.
    pub max_invite: usize,
    /// Messages a user without `send-many-messages` may post through Rocket.Chat's API (REST
    /// `chat.postMessage`/`chat.sendMessage`, DDP `sendMessage`) per `message_interval`; 0 = off.
    pub messages_per_interval: u32,
    pub message_interval: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_invite: 10_000,
            messages_per_interval: rate::DEFAULT_MESSAGES_PER_INTERVAL,
            message_interval: rate::DEFAULT_MESSAGE_INTERVAL,
        }
    }
}

impl Huddle {
    /// Loads permissions and settings (creating the defaults on first start) and the default
    /// workspace (the `general` channel).
    pub async fn start(
        store: Arc<dyn Store>,
        hub: Arc<dyn EventHub>,
        limits: Limits,
    ) -> Result<Self> {
        let permissions = Arc::new(RwLock::new(PermissionTable::default()));
        let settings = Arc::new(RwLock::new(HashMap::new()));
        let realtime = Arc::new(Router::new(
            store.clone(),
            permissions.clone(),
            settings.clone(),
        ));
        hub.attach(realtime.clone());
        let app = Huddle {
            store,
            hub,
            permissions,
            settings,
            realtime,
            keys: RwLock::new(Vec::new()),
            tickets: refresh::CopyTickets::default(),
            hooks: RwLock::new(Vec::new()),
            sequencer: Arc::default(),
            message_rate: rate::MessageRate::new(
                limits.messages_per_interval,
                limits.message_interval,
            ),
            limits,
            email_window_ms: Default::default(),
            clock: Arc::new(crate::SystemClock),
            mail: RwLock::new(None),
        };
        app.bootstrap().await?;
        Ok(app)
    }

    /// Sends e-mails through `sender` from now on (the server, when SMTP is configured).
    pub fn set_mail_sender(&self, sender: Arc<dyn crate::mail::MailSender>) {
        let mut slot = match self.mail.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(sender);
    }

    fn mail_sender(&self) -> Option<Arc<dyn crate::mail::MailSender>> {
        match self.mail.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads time from `clock` from now on (tests move it to expire invites).
    pub fn with_clock(mut self, clock: Arc<dyn crate::Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn hub(&self) -> &Arc<dyn EventHub> {
        &self.hub
    }

    /// The realtime router: protocols open their connections and subscriptions there.
    pub fn realtime(&self) -> &Arc<Router> {
        &self.realtime
    }

    pub(crate) fn publish(&self, event: Event) {
        self.hub.publish(event);
    }

    /// `publish` for an event that takes access away: in a cluster, returns once every live
    /// node applied it.
    pub(crate) async fn publish_settled(&self, event: Event) {
        let settle = self.hub.settle_event(&event);
        self.hub.publish(event);
        if let Some(s) = settle {
            s.await;
        }
    }

    /// After a change of keys, settings or permissions: in a cluster, returns once every live
    /// node re-read them (in process there is nothing to wait for).
    pub(crate) async fn settle_shared_state(&self) {
        if let Some(s) = self.hub.settle_shared_state() {
            s.await;
        }
    }

    /// A setting's current value.
    pub fn setting(&self, id: &str) -> Option<serde_json::Value> {
        self.settings.read().ok().and_then(|s| s.get(id).cloned())
    }

    fn setting_i64(&self, id: &str, default: i64) -> i64 {
        self.setting(id).and_then(|v| v.as_i64()).unwrap_or(default)
    }

    fn setting_bool(&self, id: &str) -> bool {
        self.setting(id).and_then(|v| v.as_bool()).unwrap_or(false)
    }

    /// A boolean setting, `default` when unset or not a boolean.
    fn setting_flag(&self, id: &str, default: bool) -> bool {
        self.setting(id)
            .and_then(|v| v.as_bool())
            .unwrap_or(default)
    }

    /// Global permission check (the user's own roles only).
    pub fn has_permission(&self, user: &User, permission: &str) -> bool {
        self.permissions
            .read()
            .map(|t| t.allows(permission, &user.roles))
            .unwrap_or(false)
    }

    /// Room-scoped check: the user's roles plus their roles in that room.
    pub fn has_permission_in(
        &self,
        user: &User,
        permission: &str,
        sub: Option<&Subscription>,
    ) -> bool {
        let Ok(table) = self.permissions.read() else {
            return false;
        };
        table.allows(
            permission,
            user.roles
                .iter()
                .chain(sub.iter().flat_map(|s| s.roles.iter())),
        )
    }

    /// Room-scoped check, loading the membership.
    pub async fn has_permission_in_room(
        &self,
        user: &User,
        permission: &str,
        rid: &str,
    ) -> Result<bool> {
        let sub = self.store.subscription(rid, &user.id).await?;
        Ok(self.has_permission_in(user, permission, sub.as_ref()))
    }

    /// Rocket.Chat's `canAccessRoom`: public rooms for holders of `view-c-room`, otherwise members
    /// holding `view-joined-room` or `view-<t>-room`.
    pub fn can_access(&self, user: &User, room: &Room, sub: Option<&Subscription>) -> bool {
        self.permissions
            .read()
            // A membership whose access was revoked (`None`) grants nothing.
            .map(|t| {
                let member = sub.is_some_and(|s| s.access != crate::model::Access::None);
                crate::realtime::access::can_access(&t, &user.roles, room.t, member)
            })
            .unwrap_or(false)
    }

    /// Pagination as Rocket.Chat computes it: default `API_Default_Count`, capped at
    /// `API_Upper_Count_Limit`, `count=0` meaning all when infinite counts are allowed.
    pub fn paging(&self, offset: Option<i64>, count: Option<i64>) -> crate::Paging {
        let default = self.setting_i64("API_Default_Count", 50).max(1);
        let upper = self.setting_i64("API_Upper_Count_Limit", 100).max(1);
        let count = match count {
            None => Some(default),
            Some(0) if self.setting_bool("API_Allow_Infinite_Count") => None,
            Some(c) if c <= 0 => Some(default),
            Some(c) => Some(c.min(upper)),
        };
        crate::Paging {
            offset: offset.unwrap_or(0).max(0),
            count,
        }
    }
}

/// Shorthand for the store's "this must exist" lookups.
fn must<T>(value: Option<T>, err: impl FnOnce() -> Error) -> Result<T> {
    value.ok_or_else(err)
}
