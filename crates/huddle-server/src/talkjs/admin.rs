//! App administration over the backend API: the security settings (the seed's two dashboard
//! checkboxes and identity verification) and secret keys. Same services as the CLI.

use axum::extract::{Path, State};
use huddle_core::AppSettings;
use serde_json::{json, Value};

use super::error::TalkResult;
use super::extract::{opt_bool, App, Body};
use super::ok;
use crate::openapi::schema::{integer, obj, object, string, talk_list};
use crate::openapi::{backend, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let key_out = || {
        obj(
            &[
                ("id", string()),
                ("secret", string()),
                ("createdAt", integer()),
            ],
            &["id", "secret"],
        )
    };
    ApiRouter::new()
        .get(
            "/v1/{app}/settings",
            get_settings,
            backend("The app's settings").ok(object()),
        )
        .put(
            "/v1/{app}/settings",
            put_settings,
            backend("Change the app's settings")
                .opt("browserUserSync", Bool)
                .opt("browserConversationSync", Bool)
                .opt("identityVerification", Bool)
                .ok(object()),
        )
        .get(
            "/v1/{app}/keys",
            list_keys,
            backend("The app's secret keys (without their secrets)").ok(talk_list(object())),
        )
        .post(
            "/v1/{app}/keys",
            create_key,
            backend("Create a secret key").ok(key_out()),
        )
        .delete(
            "/v1/{app}/keys/{kid}",
            revoke_key,
            backend("Revoke a secret key"),
        )
        .post(
            "/v1/{app}/keys/{kid}/rotate",
            rotate_key,
            backend("Replace a secret key by a new one").ok(key_out()),
        )
}

pub fn settings_body(a: &AppSettings) -> Value {
    json!({
        "browserUserSync": a.browser_user_sync,
        "browserConversationSync": a.browser_conversation_sync,
        "identityVerification": a.identity_verification,
        "guestsAllowed": a.guests_allowed(),
    })
}

async fn get_settings(State(s): State<AppState>, _: App) -> TalkResult {
    ok(settings_body(&s.huddle.app_settings()))
}

/// Only the given fields change.
async fn put_settings(State(s): State<AppState>, _: App, body: Body) -> TalkResult {
    let m = body.object()?;
    let mut a = s.huddle.app_settings();
    if let Some(v) = opt_bool(m, "browserUserSync")? {
        a.browser_user_sync = v;
    }
    if let Some(v) = opt_bool(m, "browserConversationSync")? {
        a.browser_conversation_sync = v;
    }
    if let Some(v) = opt_bool(m, "identityVerification")? {
        a.identity_verification = v;
    }
    ok(settings_body(&s.huddle.set_app_settings(a).await?))
}

async fn list_keys(State(s): State<AppState>, _: App) -> TalkResult {
    let keys = s.huddle.app_keys().await?;
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "id": k.id, "createdAt": k.created_at.millis(), "revokedAt": k.revoked_at.map(|t| t.millis()), "lastChars": k.hint() }))
        .collect();
    ok(json!({ "data": keys }))
}

/// The only time a new secret is shown.
async fn create_key(State(s): State<AppState>, _: App) -> TalkResult {
    let key = s.huddle.create_app_key().await?;
    ok(json!({ "id": key.id, "secret": key.secret, "createdAt": key.created_at.millis() }))
}

/// A new key replaces `kid`, which stops working at once; the new secret is shown this once.
async fn rotate_key(
    State(s): State<AppState>,
    _: App,
    Path((_, kid)): Path<(String, String)>,
) -> TalkResult {
    let key = s.huddle.rotate_app_key(&kid).await?;
    ok(
        json!({ "id": key.id, "secret": key.secret, "createdAt": key.created_at.millis(), "replaced": kid }),
    )
}

async fn revoke_key(
    State(s): State<AppState>,
    _: App,
    Path((_, kid)): Path<(String, String)>,
) -> TalkResult {
    s.huddle.revoke_app_key(&kid).await?;
    ok(json!({}))
}
