use std::collections::BTreeMap;

use crate::Timestamp;

/// A person, bot or app account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    /// Unique (case-insensitively) where set; TalkJS-style users may have none.
    pub username: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// Argon2 PHC string of the password (or of its sha-256 hex digest, see `auth`).
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    pub active: bool,
    /// `user`, `bot` or `app`.
    pub kind: String,
    /// `online`, `away`, `busy` or `offline`.
    pub status: String,
    /// The status the user chose (`online`, `away`, `busy`, or `offline` to look away): what
    /// `status` becomes when a realtime connection opens, kept while none is open.
    pub status_default: String,
    pub status_text: String,
    pub custom: BTreeMap<String, String>,
    pub photo_url: Option<String>,
    pub locale: Option<String>,
    pub require_password_change: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_login: Option<Timestamp>,
    /// Fields only the TalkJS-style API speaks.
    pub profile: Profile,
    /// Rocket.Chat client preferences (`users.setPreferences`), a JSON object.
    pub preferences: serde_json::Map<String, serde_json::Value>,
}

/// A user's own avatar (`users.setAvatar`): an uploaded image (`data`, base64 of its bytes, of
/// `content_type`) or an image URL the avatar route redirects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub content_type: String,
    pub data: String,
    pub url: Option<String>,
    /// Changes with every new avatar (browsers revalidate with it).
    pub etag: String,
    pub updated_at: Timestamp,
}

/// TalkJS-style user fields beyond what Rocket.Chat has. Stored as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Contact addresses as the app gives them (not unique, unlike the login `email`).
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub welcome_message: Option<String>,
    /// The app-defined role name (`default` when unset); not a permission role.
    pub role: Option<String>,
    pub availability_text: Option<String>,
}

impl User {
    pub fn new(id: String, username: Option<String>, name: String) -> Self {
        let now = Timestamp::now();
        User {
            id,
            username,
            name,
            email: None,
            email_verified: false,
            password_hash: None,
            roles: vec!["user".into()],
            active: true,
            kind: "user".into(),
            status: "offline".into(),
            status_default: "online".into(),
            status_text: String::new(),
            custom: BTreeMap::new(),
            photo_url: None,
            locale: None,
            require_password_change: false,
            created_at: now,
            updated_at: now,
            last_login: None,
            profile: Profile::default(),
            preferences: serde_json::Map::new(),
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn to_ref(&self) -> UserRef {
        UserRef {
            id: self.id.clone(),
            username: self.username.clone().unwrap_or_default(),
            name: Some(self.name.clone()),
        }
    }

    pub fn username_or_id(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.id)
    }
}

/// What adding a user to a room needs of them: who they are and what the membership and its
/// system message call them. Bulk adds read this instead of whole users: a 10,000-user invite
/// read and decoded every column (roles, profile, preferences) of every user only to use these
/// three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub id: String,
    pub username: Option<String>,
    pub name: String,
}

impl Invitee {
    /// As [`User::to_ref`].
    pub fn to_ref(&self) -> UserRef {
        UserRef {
            id: self.id.clone(),
            username: self.username.clone().unwrap_or_default(),
            name: Some(self.name.clone()),
        }
    }

    /// As [`User::username_or_id`].
    pub fn username_or_id(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.id)
    }
}

impl From<&User> for Invitee {
    fn from(u: &User) -> Self {
        Invitee {
            id: u.id.clone(),
            username: u.username.clone(),
            name: u.name.clone(),
        }
    }
}

/// The short form of a user embedded in rooms, memberships and messages (`u`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserRef {
    pub id: String,
    pub username: String,
    pub name: Option<String>,
}

/// A user field a text search looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Username,
    Name,
    Email,
}

impl UserField {
    /// Rocket.Chat's `Accounts_SearchFields` (`"username, name, bio"`): the fields Huddle
    /// has; others (`bio`, `nickname`, custom fields) are skipped.
    pub fn parse_list(list: &str) -> Vec<UserField> {
        let mut out = vec![];
        for f in list.split(',').map(str::trim) {
            let field = match f {
                "username" => UserField::Username,
                "name" => UserField::Name,
                "emails.address" | "emails" | "email" => UserField::Email,
                _ => continue,
            };
            if !out.contains(&field) {
                out.push(field);
            }
        }
        out
    }
}

/// What kind of login token a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    PersonalAccess,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::PersonalAccess => "personalAccessToken",
        }
    }
    pub fn parse(s: &str) -> Self {
        if s == "personalAccessToken" {
            TokenKind::PersonalAccess
        } else {
            TokenKind::Session
        }
    }
}

/// A stored login token. Only the hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginToken {
    pub user_id: String,
    pub hashed: String,
    pub kind: TokenKind,
    /// Personal access tokens have a name unique per user.
    pub name: Option<String>,
    /// The last characters of the token, shown in token lists.
    pub last_part: String,
    pub bypass_two_factor: bool,
    pub created_at: Timestamp,
}

/// Filters for listing users.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Case-insensitive substring of username, name or email.
    pub text: Option<String>,
    /// The fields `text` is looked for in; empty: username, name and email.
    pub text_fields: Vec<UserField>,
    pub role: Option<String>,
    pub active: Option<bool>,
    pub paging: super::Paging,
}
