//! Authentication: passwords (Argon2), login tokens (stored hashed), personal access tokens.

use super::Huddle;
use crate::ids::{hash_token, new_token, sha256_hex};
use crate::model::{LoginToken, Subscription, TokenKind, User};
use crate::policy::{Channel, Person, Principal};
use crate::{Error, Failure, Result, Timestamp};

/// The authenticated caller of a use case. Only authentication makes one (`authenticate`,
/// `login`): the fields are private to the core.
#[derive(Debug, Clone)]
pub struct Actor {
    pub(crate) user: User,
    /// Hash of the token this request came with (for logout).
    pub(crate) token_hash: String,
}

impl Actor {
    pub fn user(&self) -> &User {
        &self.user
    }
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }
    /// This user as the policy sees them on one room, acting through the Rocket.Chat API.
    pub(crate) fn person<'a>(&'a self, membership: Option<&'a Subscription>) -> Principal<'a> {
        Principal::Person(Person {
            roles: &self.user.roles,
            membership,
            channel: Channel::RocketChat,
        })
    }
}

/// A password as clients send it: plain text or its sha-256 hex digest (Meteor's DDP login).
#[derive(Debug, Clone)]
pub enum PasswordInput {
    Plain(String),
    Sha256(String),
}

impl PasswordInput {
    /// What Argon2 hashes: the sha-256 hex digest, so both forms verify against one hash.
    fn digest(&self) -> String {
        match self {
            PasswordInput::Plain(p) => sha256_hex(p),
            PasswordInput::Sha256(d) => d.to_lowercase(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum LoginRequest {
    /// `user` may be a username or an email.
    Password {
        user: String,
        password: PasswordInput,
    },
    Resume {
        token: String,
    },
}

/// Hashes a password for storage, on the hashing threads (`hashing.rs`): Argon2 is deliberately
/// slow and large.
pub async fn hash_password(password: &str) -> Result<String> {
    super::hashing::hash(sha256_hex(password)).await
}

async fn verify_password(hash: &str, input: &PasswordInput) -> bool {
    super::hashing::verify(hash.to_string(), input.digest()).await
}

fn login_failure(code: &'static str, reason: &'static str) -> Error {
    Error::LoginFailed(Failure::new(code, reason))
}

impl Huddle {
    /// Resolves `X-User-Id` + `X-Auth-Token`. Both must match one live token of an active user.
    pub async fn authenticate(&self, user_id: &str, token: &str) -> Result<Actor> {
        if user_id.is_empty() || token.is_empty() {
            return Err(Error::Unauthenticated);
        }
        let hashed = hash_token(token);
        match self.store.user_by_token(&hashed).await? {
            Some((user, _)) if user.id == user_id && user.active => Ok(Actor {
                user,
                token_hash: hashed,
            }),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// A login that also yields the session's actor (DDP keeps it for the connection).
    pub async fn login_actor(&self, request: LoginRequest) -> Result<(Actor, String)> {
        let (user, token) = self.login(request).await?;
        let token_hash = hash_token(&token);
        Ok((Actor { user, token_hash }, token))
    }

    /// Password or resume login; returns the user and a new session token (or the resumed one).
    pub async fn login(&self, request: LoginRequest) -> Result<(User, String)> {
        match request {
            LoginRequest::Password { user, password } => {
                let found = if user.contains('@') {
                    self.store.user_by_email(&user).await?
                } else {
                    self.store.user_by_username(&user).await?
                };
                let Some(mut found) = found else {
                    return Err(login_failure("Unauthorized", "Unauthorized"));
                };
                let ok = match &found.password_hash {
                    Some(h) => verify_password(h, &password).await,
                    None => false,
                };
                if !ok {
                    return Err(login_failure(
                        "error-invalid-credentials",
                        "Incorrect password",
                    ));
                }
                if !found.active {
                    return Err(login_failure(
                        "error-user-is-not-activated",
                        "User is not activated",
                    ));
                }
                let token = self
                    .issue_token(&found.id, TokenKind::Session, None, false)
                    .await?;
                found.last_login = Some(Timestamp::now());
                self.store.update_user(&found).await?;
                Ok((found, token))
            }
            LoginRequest::Resume { token } => {
                match self.store.user_by_token(&hash_token(&token)).await? {
                    Some((user, _)) if user.active => Ok((user, token)),
                    _ => Err(login_failure(
                        "403",
                        "You've been logged out by the server. Please log in again.",
                    )),
                }
            }
        }
    }

    /// Creates and stores a token; returns it in clear, the only time it is seen.
    pub async fn issue_token(
        &self,
        user_id: &str,
        kind: TokenKind,
        name: Option<String>,
        bypass_2fa: bool,
    ) -> Result<String> {
        let token = new_token();
        let last_part = token[token.len() - 6..].to_string();
        self.store
            .insert_token(&LoginToken {
                user_id: user_id.to_string(),
                hashed: hash_token(&token),
                kind,
                name,
                last_part,
                bypass_two_factor: bypass_2fa,
                created_at: Timestamp::now(),
            })
            .await?;
        Ok(token)
    }

    pub async fn logout(&self, actor: &Actor) -> Result<()> {
        self.store.delete_token(&actor.token_hash).await?;
        self.publish_settled(crate::events::Event::SessionRevoked {
            uid: actor.user.id.clone(),
            token_hash: Some(actor.token_hash.clone()),
        })
        .await;
        Ok(())
    }

    fn require_pat_permission(&self, actor: &Actor) -> Result<()> {
        if self.has_permission(&actor.user, "create-personal-access-tokens") {
            Ok(())
        } else {
            Err(Error::Forbidden(Failure::new(
                "not-authorized",
                "Not Authorized",
            )))
        }
    }

    pub async fn generate_personal_access_token(
        &self,
        actor: &Actor,
        name: &str,
        bypass_2fa: bool,
    ) -> Result<String> {
        self.require_pat_permission(actor)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "error-token-name-required",
                "Token name is required",
            ));
        }
        let existing = self
            .store
            .tokens_of_user(&actor.user.id, TokenKind::PersonalAccess)
            .await?;
        if existing.iter().any(|t| t.name.as_deref() == Some(name)) {
            return Err(Error::conflict(
                "error-token-already-exists",
                "A token with this name already exists",
            ));
        }
        self.issue_token(
            &actor.user.id,
            TokenKind::PersonalAccess,
            Some(name.to_string()),
            bypass_2fa,
        )
        .await
    }

    pub async fn regenerate_personal_access_token(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<String> {
        self.require_pat_permission(actor)?;
        let existing = self
            .store
            .tokens_of_user(&actor.user.id, TokenKind::PersonalAccess)
            .await?;
        let Some(old) = existing
            .into_iter()
            .find(|t| t.name.as_deref() == Some(name))
        else {
            return Err(Error::invalid("not-authorized", "Invalid token"));
        };
        self.store.delete_named_token(&actor.user.id, name).await?;
        self.issue_token(
            &actor.user.id,
            TokenKind::PersonalAccess,
            Some(name.to_string()),
            old.bypass_two_factor,
        )
        .await
    }

    pub async fn personal_access_tokens(&self, actor: &Actor) -> Result<Vec<LoginToken>> {
        self.require_pat_permission(actor)?;
        self.store
            .tokens_of_user(&actor.user.id, TokenKind::PersonalAccess)
            .await
    }

    pub async fn remove_personal_access_token(&self, actor: &Actor, name: &str) -> Result<()> {
        self.require_pat_permission(actor)?;
        if !self.store.delete_named_token(&actor.user.id, name).await? {
            return Err(Error::invalid("not-authorized", "Invalid token"));
        }
        Ok(())
    }

    /// `users.createToken`: an admin mints a session token for another user.
    pub async fn create_token_for(&self, actor: &Actor, user_id: &str) -> Result<String> {
        if !actor.user.has_role("admin") {
            return Err(Error::Forbidden(Failure::new(
                "error-not-authorized",
                "Not authorized",
            )));
        }
        let user = self
            .find_user(Some(&super::UserLookup::Id(user_id.to_string())))
            .await?;
        self.issue_token(&user.id, TokenKind::Session, None, false)
            .await
    }
}
