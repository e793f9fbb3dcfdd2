//! Request extraction for the TalkJS-style API: backend auth (secret key or app token), browser
//! session auth (user token, signature, or a bare user id while identity verification is off),
//! and JSON bodies with TalkJS's `null`-deletes semantics.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use huddle_core::services::{AppActor, BackendCredentials, ClientActor, ClientCredentials};
use serde_json::{Map, Value};

use super::error::{bad_request, TalkError};
use crate::state::AppState;

/// The app id of a `/v1/{appId}/...` path.
fn path_app_id(parts: &Parts) -> String {
    parts
        .uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get("authorization")?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(|t| t.trim().to_string())
}

fn header(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The app's backend: a secret key or app token, or an admin's Rocket.Chat session (the admin
/// dashboard). The whole decision is the core's `authenticate_backend`.
pub struct App(pub AppActor);

impl FromRequestParts<AppState> for App {
    type Rejection = TalkError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let creds = BackendCredentials {
            bearer: bearer(parts),
            session_user_id: header(parts, "x-user-id"),
            session_token: header(parts, "x-auth-token"),
        };
        Ok(App(state
            .huddle
            .authenticate_backend(&path_app_id(parts), &creds)
            .await?))
    }
}

/// A browser session. Headers: `Authorization: Bearer <user token>`, or
/// `X-Huddle-User-Id` with `X-Huddle-Signature` (or alone while identity verification is off).
pub struct Client(pub ClientActor);

impl FromRequestParts<AppState> for Client {
    type Rejection = TalkError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let creds = ClientCredentials {
            token: bearer(parts),
            user_id: header(parts, "x-huddle-user-id"),
            signature: header(parts, "x-huddle-signature"),
        };
        Ok(Client(
            state
                .huddle
                .authenticate_client(&path_app_id(parts), &creds)?,
        ))
    }
}

/// A JSON body (object or array). An empty body is an empty object.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = TalkError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| bad_request("INVALID_BODY", "Request body too large or unreadable"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Object(Map::new())));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| bad_request("INVALID_JSON", format!("Malformed JSON: {e}")))
    }
}

impl Body {
    pub fn object(&self) -> Result<&Map<String, Value>, TalkError> {
        self.0
            .as_object()
            .ok_or_else(|| bad_request("INVALID_BODY", "The body must be a JSON object"))
    }
}

fn wrong(key: &str, what: &str) -> TalkError {
    bad_request("INVALID_FIELD", format!("`{key}` must be {what}"))
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or a string.
pub fn nullable_str(
    m: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<String>>, TalkError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(wrong(key, "a string or null")),
    }
}

/// A string field that may not be null.
pub fn opt_str(m: &Map<String, Value>, key: &str) -> Result<Option<String>, TalkError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong(key, "a string")),
    }
}

pub fn opt_bool(m: &Map<String, Value>, key: &str) -> Result<Option<bool>, TalkError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong(key, "a boolean")),
    }
}

/// A list of strings that may be `null`; a single string counts as a list of one.
pub fn nullable_list(
    m: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<Vec<String>>>, TalkError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(vec![s.clone()]))),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| wrong(key, "a list of strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| Some(Some(v))),
        Some(_) => Err(wrong(key, "a list of strings or null")),
    }
}

/// A `custom` patch: absent, `null` (clear), or keys to set (`Some`) or delete (`None`).
pub type CustomPatch = Option<Option<BTreeMap<String, Option<String>>>>;

/// TalkJS `custom`: string values only; `null` clears the map, a `null` value deletes a key.
pub fn custom(m: &Map<String, Value>, key: &str) -> Result<CustomPatch, TalkError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), Some(s.clone()))),
                Value::Null => Ok((k.clone(), None)),
                _ => Err(wrong(&format!("{key}.{k}"), "a string or null")),
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(|c| Some(Some(c))),
        Some(_) => Err(wrong(key, "an object of strings or null")),
    }
}

/// A message's `custom`: absent (`None`), `null` (`Some(None)`) or an object of strings.
pub fn string_object(
    m: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<Map<String, Value>>>, TalkError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::Object(o)) if o.values().all(Value::is_string) => Ok(Some(Some(o.clone()))),
        Some(_) => Err(wrong(key, "an object of strings or null")),
    }
}

/// `limit` and `startingAfter` from the query string.
#[derive(Debug, serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub limit: Option<String>,
    pub starting_after: Option<String>,
    pub unreads_only: Option<String>,
    pub last_message_before: Option<String>,
    pub last_message_after: Option<String>,
    pub as_guest: Option<String>,
}

impl Listing {
    pub fn limit(&self, default: i64) -> Result<i64, TalkError> {
        match self.limit.as_deref() {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| bad_request("INVALID_LIMIT", "`limit` must be a number")),
        }
    }
    pub fn millis(
        v: &Option<String>,
        key: &str,
    ) -> Result<Option<huddle_core::Timestamp>, TalkError> {
        match v.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(|m| Some(huddle_core::Timestamp(m)))
                .map_err(|_| wrong(key, "unix milliseconds")),
        }
    }
    pub fn flag(v: &Option<String>) -> bool {
        matches!(v.as_deref(), Some("true") | Some("1"))
    }
}
