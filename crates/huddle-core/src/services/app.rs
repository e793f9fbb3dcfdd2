//! The TalkJS-style app: its id, secret keys (create, rotate, revoke), security settings, and
//! how backend and browser requests prove who they are (secret key, app JWT, user JWT, HMAC
//! signature).

use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::Huddle;
use crate::events::Event;
use crate::model::{AppKey, AppSettings};
use crate::settings::{
    APP_ID, BROWSER_CONVERSATION_SYNC, BROWSER_USER_SYNC, IDENTITY_VERIFICATION,
};
use crate::{ids, Error, Failure, Result, Timestamp};

/// Seconds of clock skew tolerated on `exp`: small and deliberate, so a 30 s token cannot live
/// 90 s (jsonwebtoken's default leeway is 60 s).
pub const JWT_LEEWAY_SECS: u64 = 5;

/// Logged while identity verification is off: at start, and when it is switched off.
pub const INSECURE_BROWSER_SESSIONS: &str = concat!(
    "identity verification is off: any browser may act as any user by naming its id ",
    "(X-Huddle-User-Id with no token or signature). Use this for local development only; turn it ",
    "on in the dashboard, with PUT /v1/<appId>/settings {\"identityVerification\": true}, or ",
    "with `huddle admin app-settings --identity-verification true`"
);

/// The app's backend, authenticated with a secret key or an app token: trusted by the policy.
/// Only `authenticate_backend` makes one (the field is private).
#[derive(Debug, Clone)]
pub struct AppActor {
    _proof: (),
}

/// A browser session acting as one user. Only `authenticate_client` makes one.
#[derive(Debug, Clone)]
pub struct ClientActor {
    user_id: String,
    /// Whether the session proved the user id (JWT or signature) rather than just naming it.
    verified: bool,
}

impl ClientActor {
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
    pub fn verified(&self) -> bool {
        self.verified
    }
}

/// How a backend request says who it is: `Authorization: Bearer` (a secret key or app token), or a
/// Rocket.Chat session (`X-User-Id` + `X-Auth-Token`) of a user holding the `admin` role (the
/// admin dashboard signs in so and then calls the backend API).
#[derive(Debug, Clone, Default)]
pub struct BackendCredentials {
    pub bearer: Option<String>,
    pub session_user_id: Option<String>,
    pub session_token: Option<String>,
}

/// How a browser request says who it is.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// `Authorization: Bearer <user JWT>`.
    pub token: Option<String>,
    /// The user id the request names (needed with a signature or without identity proof).
    pub user_id: Option<String>,
    /// Hex HMAC-SHA256 of the user id with a secret key.
    pub signature: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    #[serde(rename = "tokenType")]
    pub(crate) token_type: Option<String>,
    pub(crate) sub: Option<String>,
}

fn unauthenticated(reason: &'static str) -> Error {
    Error::LoginFailed(Failure::new("UNAUTHENTICATED", reason))
}

impl Huddle {
    /// The app id every `/v1/{appId}` path must name.
    pub fn app_id(&self) -> String {
        self.setting(APP_ID)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Start-up provisioning: `HUDDLE_APP_ID` fixes the id; `HUDDLE_APP_SECRET` makes sure that
    /// secret is a live key (deployments and tests know it in advance).
    pub async fn provision_app(&self, app_id: Option<&str>, secret: Option<&str>) -> Result<()> {
        if let Some(id) = app_id.filter(|i| !i.is_empty()) {
            if self.app_id() != id {
                self.put_setting(APP_ID, serde_json::json!(id)).await?;
            }
        }
        if let Some(secret) = secret.filter(|s| !s.is_empty()) {
            let keys = self.store.app_keys().await?;
            if !keys.iter().any(|k| k.secret == secret && k.is_live()) {
                let key = AppKey {
                    id: ids::new_id(),
                    secret: secret.to_string(),
                    created_at: Timestamp::now(),
                    revoked_at: None,
                };
                self.store.insert_app_key(&key).await?;
            }
        }
        self.reload_keys().await
    }

    /// Replaces the in-memory keys with the store's, after a local change and on every refresh
    /// (another process may have created or revoked one); the later read wins.
    pub(super) async fn reload_keys(&self) -> Result<()> {
        let ticket = self.tickets.keys.take();
        let keys = self.store.app_keys().await?;
        if let Ok(mut k) = self.keys.write() {
            if self.tickets.keys.admit(ticket) {
                *k = keys;
            }
        }
        Ok(())
    }

    fn live_secrets(&self) -> Vec<String> {
        self.keys
            .read()
            .map(|k| {
                k.iter()
                    .filter(|k| k.is_live())
                    .map(|k| k.secret.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A new secret key (`sk_live_...`). Old keys keep working until revoked: rotation without
    /// downtime is create, deploy, revoke.
    pub async fn create_app_key(&self) -> Result<AppKey> {
        let key = AppKey {
            id: ids::new_id(),
            secret: format!("sk_live_{}", ids::new_token()),
            created_at: Timestamp::now(),
            revoked_at: None,
        };
        self.store.insert_app_key(&key).await?;
        self.reload_keys().await?;
        self.settle_shared_state().await;
        Ok(key)
    }

    pub async fn revoke_app_key(&self, id: &str) -> Result<()> {
        if !self.store.revoke_app_key(id, Timestamp::now()).await? {
            return Err(Error::not_found("key-not-found", "No such secret key"));
        }
        self.reload_keys().await?;
        // Revoked on every node before the call answers.
        self.settle_shared_state().await;
        Ok(())
    }

    pub async fn app_keys(&self) -> Result<Vec<AppKey>> {
        self.store.app_keys().await
    }

    /// The app's security settings.
    pub fn app_settings(&self) -> AppSettings {
        self.settings
            .read()
            .map(|s| AppSettings::from_settings(&s))
            .unwrap_or_default()
    }

    /// Changes the security settings; turning guest access off is announced at once so live
    /// guest sessions can be cut.
    pub async fn set_app_settings(&self, new: AppSettings) -> Result<AppSettings> {
        let old = self.app_settings();
        self.put_setting(BROWSER_USER_SYNC, serde_json::json!(new.browser_user_sync))
            .await?;
        self.put_setting(
            BROWSER_CONVERSATION_SYNC,
            serde_json::json!(new.browser_conversation_sync),
        )
        .await?;
        self.put_setting(
            IDENTITY_VERIFICATION,
            serde_json::json!(new.identity_verification),
        )
        .await?;
        self.announce_app_settings(&old, &new);
        self.settle_shared_state().await;
        Ok(new)
    }

    /// What a change of the app settings means for live sessions, wherever it came from (the
    /// API, the dashboard, or the command line seen by a refresh): guests cut off or let in, and
    /// a warning when identity verification is switched off.
    pub(super) fn announce_app_settings(&self, before: &AppSettings, after: &AppSettings) {
        if before.identity_verification && !after.identity_verification {
            tracing::warn!("{INSECURE_BROWSER_SESSIONS}");
        }
        if before.guests_allowed() != after.guests_allowed() {
            self.publish(Event::GuestAccessChanged {
                rid: None,
                allowed: after.guests_allowed(),
            });
        }
    }

    /// The bearer half of `authenticate_backend` (private so no route can skip the app-id and
    /// session checks there): a live secret key, or an HS256 app token
    /// (`tokenType: "app"`, `iss` = app id, `exp` required) signed with one.
    fn authenticate_app(&self, path_app_id: &str, bearer: Option<&str>) -> Result<AppActor> {
        self.check_app_id(path_app_id)?;
        let token = bearer
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("Missing Authorization: Bearer header"))?;
        let secrets = self.live_secrets();
        if secrets
            .iter()
            .any(|s| bool::from(s.as_bytes().ct_eq(token.as_bytes())))
        {
            return Ok(AppActor { _proof: () });
        }
        let claims = self.verify_jwt(token, &secrets)?;
        if claims.token_type.as_deref() != Some("app") {
            return Err(unauthenticated("The token is not an app token"));
        }
        Ok(AppActor { _proof: () })
    }

    /// The one backend check every `/v1/{appId}/...` backend route goes through: the app id
    /// first (a foreign id is 404 whatever the credentials), then a bearer secret/app token, or
    /// else an admin's Rocket.Chat session, checked exactly as the Rocket.Chat REST API checks
    /// it (live token of an active user) plus the `admin` role. A valid session without the
    /// role is 403; a bad or logged-out one is 401.
    pub async fn authenticate_backend(
        &self,
        path_app_id: &str,
        creds: &BackendCredentials,
    ) -> Result<AppActor> {
        self.check_app_id(path_app_id)?;
        let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        if let Some(bearer) = non_empty(&creds.bearer) {
            return self.authenticate_app(path_app_id, Some(&bearer));
        }
        let (Some(uid), Some(token)) = (
            non_empty(&creds.session_user_id),
            non_empty(&creds.session_token),
        ) else {
            return Err(unauthenticated(
                "Missing Authorization: Bearer header (or an admin's X-User-Id and X-Auth-Token)",
            ));
        };
        let actor = self.authenticate(&uid, &token).await.map_err(|e| match e {
            Error::Unauthenticated => unauthenticated("Invalid or expired session"),
            other => other,
        })?;
        if !actor.user.has_role("admin") {
            return Err(Error::Forbidden(Failure::new(
                "NOT_ADMIN",
                "Only users with the admin role may use the backend API",
            )));
        }
        Ok(AppActor { _proof: () })
    }

    /// Rotation in one step for the dashboard: a new key is made, then the old one is revoked
    /// (an unknown or already revoked key is refused before anything is created).
    pub async fn rotate_app_key(&self, id: &str) -> Result<AppKey> {
        let keys = self.store.app_keys().await?;
        if !keys.iter().any(|k| k.id == id && k.is_live()) {
            return Err(Error::not_found(
                "key-not-found",
                "No live secret key with this id",
            ));
        }
        let key = self.create_app_key().await?;
        self.revoke_app_key(id).await?;
        Ok(key)
    }

    /// Wrong app ids are 404, as if the app did not exist.
    pub fn check_app_id(&self, path_app_id: &str) -> Result<()> {
        if path_app_id != self.app_id() {
            return Err(Error::NotFound(Failure::new(
                "APP_NOT_FOUND",
                "No app with this id",
            )));
        }
        Ok(())
    }

    fn verify_jwt(&self, token: &str, secrets: &[String]) -> Result<Claims> {
        verify_jwt(&self.app_id(), token, secrets)
    }

    /// Browser authentication: a user token (`tokenType: "user"`, `sub` = user id), or the user id
    /// with its HMAC signature, or — while identity verification is off — the bare user id.
    pub fn authenticate_client(
        &self,
        path_app_id: &str,
        creds: &ClientCredentials,
    ) -> Result<ClientActor> {
        self.check_app_id(path_app_id)?;
        let secrets = self.live_secrets();
        if let Some(token) = creds.token.as_deref().filter(|t| !t.is_empty()) {
            let claims = self.verify_jwt(token, &secrets)?;
            let sub = claims.sub.filter(|s| !s.is_empty());
            return match (claims.token_type.as_deref(), sub) {
                (Some("user"), Some(sub)) => {
                    if creds.user_id.as_deref().is_some_and(|u| u != sub) {
                        return Err(unauthenticated("The token belongs to another user"));
                    }
                    Ok(ClientActor {
                        user_id: sub,
                        verified: true,
                    })
                }
                _ => Err(unauthenticated("The token is not a user token")),
            };
        }
        let user_id = creds
            .user_id
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| unauthenticated("No user given"))?;
        if let Some(sig) = creds.signature.as_deref().filter(|s| !s.is_empty()) {
            if secrets.iter().any(|s| signature_matches(s, &user_id, sig)) {
                return Ok(ClientActor {
                    user_id,
                    verified: true,
                });
            }
            return Err(unauthenticated("Invalid signature"));
        }
        if self.app_settings().identity_verification {
            return Err(unauthenticated(
                "Identity verification is required: send a user token, or the user id with its signature",
            ));
        }
        Ok(ClientActor {
            user_id,
            verified: false,
        })
    }
}

/// An app or user token: HS256 only (the algorithm is pinned, `none` and others refused), `exp`
/// and `iss` (the app id) required, signed by one of the live secrets. Pure, so it is fuzzed
/// directly (`tests` below).
pub(crate) fn verify_jwt(app_id: &str, token: &str, secrets: &[String]) -> Result<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = JWT_LEEWAY_SECS;
    validation.set_required_spec_claims(&["exp", "iss"]);
    validation.set_issuer(&[app_id]);
    let mut expired = false;
    for secret in secrets {
        match decode::<Claims>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &validation,
        ) {
            Ok(data) => return Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                expired = true
            }
            Err(_) => {}
        }
    }
    Err(unauthenticated(if expired {
        "The token has expired"
    } else {
        "Invalid credentials"
    }))
}

/// Hex HMAC-SHA256 of the user id, compared without regard to case and in constant time.
pub fn signature_matches(secret: &str, user_id: &str, given: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(user_id.as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    let given = given.to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The signature a backend computes for a user id (used by the CLI and tests).
pub fn sign_user_id(secret: &str, user_id: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(user_id.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_ignore_case_and_reject_others() {
        let sig = sign_user_id("sk_test", "alice");
        assert!(signature_matches("sk_test", "alice", &sig));
        assert!(signature_matches("sk_test", "alice", &sig.to_uppercase()));
        assert!(!signature_matches("sk_test", "bob", &sig));
        assert!(!signature_matches("other", "alice", &sig));
        assert!(!signature_matches("sk_test", "alice", "00"));
    }
}

/// Fuzzing of the token and signature checks (proptest, in the ordinary test run): arbitrary
/// strings and mutations of valid tokens and signatures from `fuzz/corpus/{jwt,signature}`,
/// through the checks the cargo-fuzz targets run (`crate::fuzzing`). `HUDDLE_FUZZ_CASES` raises
/// the number of cases for a long run.
#[cfg(test)]
mod fuzz_tests {
    use super::*;
    use crate::fuzzing::{self, cases, corpus, mutate, APP, SECRET};
    use proptest::prelude::*;

    /// A seed with up to eight byte-level mutations.
    fn mutated(seeds: Vec<String>) -> impl Strategy<Value = String> {
        (
            prop::sample::select(seeds),
            prop::collection::vec((any::<u16>(), any::<u8>(), any::<u8>()), 0..8),
        )
            .prop_map(|(seed, edits)| mutate(&seed, &edits))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_string_is_never_a_valid_token(token in ".*") {
            prop_assert!(verify_jwt(APP, &token, &[SECRET.to_string()]).is_err());
        }

        /// A mutated token never verifies with other claims than the original's: no edit can
        /// forge a subject.
        #[test]
        fn mutated_tokens_never_forge_claims(token in mutated({
            let mut seeds = corpus("jwt");
            seeds.push(fuzzing::valid_token());
            seeds
        })) {
            fuzzing::check_jwt(&token);
        }

        #[test]
        fn mutated_signatures_match_only_the_true_one(given in mutated({
            let mut seeds = corpus("signature");
            seeds.push(sign_user_id(SECRET, "alice"));
            seeds
        }), uid in "[a-z]{0,8}") {
            fuzzing::check_signature(&given, &uid);
        }
    }
}
