use std::collections::HashMap;

use crate::Timestamp;

/// A secret key of the app: signs app and user tokens, authenticates the backend, signs webhooks.
/// Kept in clear because HMAC needs it; shown by the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppKey {
    pub id: String,
    pub secret: String,
    pub created_at: Timestamp,
    /// Revoked keys stop authenticating at once; kept for the record.
    pub revoked_at: Option<Timestamp>,
}

impl AppKey {
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// The last four characters, to tell keys apart without showing them (char-safe: an
    /// operator-provided secret may hold any characters).
    pub fn hint(&self) -> String {
        let chars: Vec<char> = self.secret.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

/// The app's security settings (the seed's dashboard checkboxes, inverted: `true` = allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSettings {
    /// Browser sessions may create and update users.
    pub browser_user_sync: bool,
    /// Browser sessions may create and update conversations and set participants.
    pub browser_conversation_sync: bool,
    /// Browser sessions must prove who they are (user JWT or signature). On by default: off, a
    /// browser may act as any user by naming its id.
    pub identity_verification: bool,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            browser_user_sync: true,
            browser_conversation_sync: true,
            identity_verification: true,
        }
    }
}

impl AppSettings {
    /// Read from the workspace settings; a missing or mistyped flag takes its default.
    pub fn from_settings(settings: &HashMap<String, serde_json::Value>) -> Self {
        use crate::settings::{
            BROWSER_CONVERSATION_SYNC, BROWSER_USER_SYNC, IDENTITY_VERIFICATION,
        };
        let d = AppSettings::default();
        let flag = |id: &str, default: bool| {
            settings
                .get(id)
                .and_then(|v| v.as_bool())
                .unwrap_or(default)
        };
        AppSettings {
            browser_user_sync: flag(BROWSER_USER_SYNC, d.browser_user_sync),
            browser_conversation_sync: flag(BROWSER_CONVERSATION_SYNC, d.browser_conversation_sync),
            identity_verification: flag(IDENTITY_VERIFICATION, d.identity_verification),
        }
    }

    /// Guests are let in only while both kinds of browser synchronisation are allowed (seed 000).
    pub fn guests_allowed(&self) -> bool {
        self.browser_user_sync && self.browser_conversation_sync
    }
}

/// Where webhooks go and which events they want.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    /// Event types (`message.sent`, ...); empty means all.
    pub events: Vec<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

impl WebhookEndpoint {
    pub fn wants(&self, event: &str) -> bool {
        self.enabled && (self.events.is_empty() || self.events.iter().any(|e| e == event))
    }
}

/// One delivery of one event to one endpoint, kept until delivered or given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    /// The exact JSON body that is signed and sent. Empty for a delivery of a room event until
    /// the sender first builds it from the event item (`rid`, `seq`, `item`) and stores it, so
    /// every attempt signs the same bytes.
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// The room event this delivers (`room_events` row `rid`, `seq`) and the index of the item
    /// within it; `None` for deliveries written with their body (user events).
    pub rid: Option<String>,
    pub seq: Option<i64>,
    pub item: Option<i64>,
}
