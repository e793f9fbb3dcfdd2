//! Workspace settings Huddle has, their defaults, and which are public.

use serde_json::{json, Value};

/// One default: (id, default value, public).
pub type SettingDefault = (&'static str, fn() -> Value, bool);

pub const DEFAULT_SETTINGS: &[SettingDefault] = &[
    ("Site_Name", || json!("Huddle"), true),
    ("Site_Url", || json!("http://localhost:3000"), true),
    ("Accounts_RegistrationForm", || json!("Public"), true),
    ("Accounts_AllowAnonymousRead", || json!(false), true),
    // Users changing their own profile (`users.update` on oneself, `users.updateOwnBasicInfo`)
    // without `edit-other-user-info`: Rocket.Chat's switches, honoured by `update_user`.
    ("Accounts_AllowUserProfileChange", || json!(true), true),
    ("Accounts_AllowUsernameChange", || json!(true), true),
    ("Accounts_AllowRealNameChange", || json!(true), true),
    ("Accounts_AllowEmailChange", || json!(true), true),
    ("Accounts_AllowPasswordChange", || json!(true), true),
    // Which user fields `directory` and `spotlight` search (comma-separated; Huddle knows
    // `username`, `name` and `emails.address`, and skips the rest, such as `bio`).
    (
        ACCOUNTS_SEARCH_FIELDS,
        || json!("username, name, bio, nickname"),
        false,
    ),
    (
        "Accounts_Default_User_Preferences_sidebarShowUnread",
        || json!(false),
        true,
    ),
    ("API_Default_Count", || json!(50), false),
    ("API_Upper_Count_Limit", || json!(100), false),
    ("API_Allow_Infinite_Count", || json!(true), false),
    // dm.messages.others: off by default, as in Rocket.Chat.
    (
        "API_Enable_Direct_Message_History_EndPoint",
        || json!(false),
        false,
    ),
    ("API_User_Limit", || json!(500), false),
    (
        "Message_AllowDirectMessagesToYourself",
        || json!(true),
        true,
    ),
    // Authors changing their own messages, and after how many minutes nobody may (0: never
    // blocked) unless holding `bypass-time-limit-edit-and-delete`; read by `chat.update`,
    // `chat.delete` and DDP `updateMessage` through the policy's `MessageLimits`.
    ("Message_AllowEditing", || json!(true), true),
    ("Message_AllowEditing_BlockEditInMinutes", || json!(0), true),
    ("Message_AllowDeleting", || json!(true), true),
    (
        "Message_AllowDeleting_BlockDeleteInMinutes",
        || json!(0),
        true,
    ),
    ("Message_MaxAllowedSize", || json!(5000), true),
    // sendInvitationEmail's e-mail (`[Site_Name]` and `[Site_URL]` are filled in).
    (
        "Invitation_Subject",
        || json!("You have been invited to [Site_Name]"),
        false,
    ),
    (
        "Invitation_Email",
        || json!("You have been invited to [Site_Name]. Go to [Site_URL] to join."),
        false,
    ),
    // Starting discussions (`rooms.createDiscussion`, DDP `createDiscussion`).
    ("Discussion_enabled", || json!(true), true),
    (
        "UTF8_Channel_Names_Validation",
        || json!("[0-9a-zA-Z-_.]+"),
        true,
    ),
    (
        "UTF8_User_Names_Validation",
        || json!("[0-9a-zA-Z-_.]+"),
        true,
    ),
    ("UI_Use_Real_Name", || json!(false), true),
    // The TalkJS-style app: its id (made once, on first start) and security settings.
    (APP_ID, || json!(crate::ids::new_id()), false),
    (BROWSER_USER_SYNC, || json!(true), false),
    (BROWSER_CONVERSATION_SYNC, || json!(true), false),
    // On for a new install: a browser must prove who it is (user token or signature). A database
    // that already stored the setting keeps its value (defaults only fill what is missing).
    (IDENTITY_VERIFICATION, || json!(true), false),
];

pub const APP_ID: &str = "Huddle_App_Id";
pub const ACCOUNTS_SEARCH_FIELDS: &str = "Accounts_SearchFields";
pub const BROWSER_USER_SYNC: &str = "Huddle_Browser_User_Sync";
pub const BROWSER_CONVERSATION_SYNC: &str = "Huddle_Browser_Conversation_Sync";
pub const IDENTITY_VERIFICATION: &str = "Huddle_Identity_Verification";

/// `Accounts_RegistrationForm` value that disables `users.register`.
pub const REGISTRATION_DISABLED: &str = "Disabled";

pub fn default_settings() -> Vec<(String, Value)> {
    DEFAULT_SETTINGS
        .iter()
        .map(|(id, v, _)| (id.to_string(), v()))
        .collect()
}

pub fn is_public(id: &str) -> bool {
    DEFAULT_SETTINGS
        .iter()
        .any(|(k, _, public)| *k == id && *public)
}

pub fn is_known(id: &str) -> bool {
    DEFAULT_SETTINGS.iter().any(|(k, _, _)| *k == id)
}
