//! Request extraction for the Rocket.Chat API: the authenticated caller from `X-User-Id` +
//! `X-Auth-Token`, and the parameters from a JSON body, a form body or the query string.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, Method};
use huddle_core::{Actor, Error, RoomLookup, UserLookup};
use serde_json::{Map, Value};

use super::error::{coded, plain, RcError};
use crate::state::AppState;

/// The authenticated caller. Missing or wrong credentials answer Rocket.Chat's 401 body.
pub struct Auth(pub Actor);

impl FromRequestParts<AppState> for Auth {
    type Rejection = RcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .unwrap_or("")
        };
        let (uid, token) = (header("x-user-id"), header("x-auth-token"));
        if uid.is_empty() || token.is_empty() {
            return Err(RcError(Error::Unauthenticated));
        }
        Ok(Auth(state.huddle.authenticate(uid, token).await?))
    }
}

/// An optional caller: endpoints that answer anonymous requests too.
pub struct MaybeAuth(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = RcError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let has =
            parts.headers.contains_key("x-user-id") || parts.headers.contains_key("x-auth-token");
        if !has {
            return Ok(MaybeAuth(None));
        }
        Auth::from_request_parts(parts, state)
            .await
            .map(|a| MaybeAuth(Some(a.0)))
    }
}

/// Request parameters as one JSON object: the query string for GET, the body (JSON or
/// form-encoded) otherwise, with query parameters filling keys the body lacks.
pub struct Params(pub Map<String, Value>);

/// Largest request body accepted (bulk invites of 10,000 ids fit easily).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = RcError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().map(parse_query).unwrap_or_default();
        if req.method() == Method::GET || req.method() == Method::DELETE {
            return Ok(Params(query));
        }
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| plain("Request body too large or unreadable"))?;
        body_params(query, is_form, &bytes).map(Params)
    }
}

/// The parameters of a body (JSON object or form-encoded), with query parameters filling keys
/// the body lacks. Pure, so it is fuzzed directly (`fuzz_tests`).
pub(crate) fn body_params(
    query: Map<String, Value>,
    is_form: bool,
    bytes: &[u8],
) -> Result<Map<String, Value>, RcError> {
    let mut body = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else if is_form {
        parse_query(&String::from_utf8_lossy(bytes))
    } else {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(coded(
                    "invalid-params",
                    "The request body must be a JSON object",
                ))
            }
            Err(e) => return Err(coded("invalid-params", format!("Malformed JSON body: {e}"))),
        }
    };
    for (k, v) in query {
        body.entry(k).or_insert(v);
    }
    Ok(body)
}

/// Parses `a=1&b[]=x&b[]=y`: repeated keys and `key[]` collect into arrays.
pub(crate) fn parse_query(q: &str) -> Map<String, Value> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).unwrap_or_default();
    let mut out = Map::new();
    for (k, v) in pairs {
        let (key, is_list) = match k.strip_suffix("[]") {
            Some(base) => (base.to_string(), true),
            None => (k, false),
        };
        match out.get_mut(&key) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(v)]);
            }
            None if is_list => {
                out.insert(key, Value::Array(vec![Value::String(v)]));
            }
            None => {
                out.insert(key, Value::String(v));
            }
        }
    }
    out
}

fn wrong_type(key: &str, expected: &str) -> RcError {
    coded("invalid-params", format!("must be {expected}: '{key}'"))
}

impl Params {
    /// A string parameter; numbers and booleans are accepted in their text form. Empty strings
    /// count as absent, as Rocket.Chat treats them.
    pub fn str(&self, key: &str) -> Result<Option<String>, RcError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(wrong_type(key, "string")),
        }
    }

    /// A string that may be empty (topics, descriptions can be cleared).
    pub fn text(&self, key: &str) -> Result<Option<String>, RcError> {
        match self.0.get(key) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => self.str(key),
        }
    }

    pub fn required(&self, key: &str) -> Result<String, RcError> {
        self.str(key)?.ok_or_else(|| {
            coded(
                "invalid-params",
                format!("must have required property '{key}'"),
            )
        })
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, RcError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "1" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" || s == "0" || s.is_empty() => Ok(Some(false)),
            Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            Some(_) => Err(wrong_type(key, "boolean")),
        }
    }

    pub fn i64(&self, key: &str) -> Result<Option<i64>, RcError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "integer")),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| wrong_type(key, "integer")),
            Some(_) => Err(wrong_type(key, "integer")),
        }
    }

    /// A list of strings: a JSON array, repeated form keys, or one string.
    pub fn list(&self, key: &str) -> Result<Option<Vec<String>>, RcError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(wrong_type(key, "array of strings")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(_) => Err(wrong_type(key, "array")),
        }
    }

    /// A JSON object given inline or as a JSON string (`sort`, `query`, `fields`).
    pub fn json_object(
        &self,
        key: &str,
        code: &'static str,
        what: &str,
    ) -> Result<Option<Map<String, Value>>, RcError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(m)) => Ok(Some(m)),
                _ => Err(coded(
                    code,
                    format!("Invalid {what} parameter provided: \"{s}\""),
                )),
            },
            Some(other) => Err(coded(
                code,
                format!("Invalid {what} parameter provided: \"{other}\""),
            )),
        }
    }

    /// The room a request names: `roomId` wins over `roomName`; neither is Rocket.Chat's
    /// `error-room-param-not-provided`.
    pub fn room(&self) -> Result<RoomLookup, RcError> {
        if let Some(id) = self.str("roomId")? {
            return Ok(RoomLookup::Id(id));
        }
        if let Some(name) = self.str("roomName")? {
            return Ok(RoomLookup::Name(name));
        }
        Err(coded(
            "error-room-param-not-provided",
            "The parameter \"roomId\" or \"roomName\" is required",
        ))
    }

    /// One user: `userId`, else `username`, else `user`.
    pub fn user(&self) -> Result<Option<UserLookup>, RcError> {
        if let Some(id) = self.str("userId")? {
            return Ok(Some(UserLookup::Id(id)));
        }
        for key in ["username", "user"] {
            if let Some(name) = self.str(key)? {
                return Ok(Some(UserLookup::Username(name)));
            }
        }
        Ok(None)
    }

    /// Many users: `userIds`/`usernames` plus the single forms; ids when any id form is given.
    pub fn user_list(&self) -> Result<(Vec<String>, bool), RcError> {
        let ids = self.list("userIds")?;
        let names = self.list("usernames")?;
        let by_id = ids.is_some() || self.str("userId")?.is_some();
        let mut keys = ids.or(names).unwrap_or_default();
        let single = match self.str("userId")? {
            Some(id) => Some(id),
            None => match self.str("username")? {
                Some(u) => Some(u),
                None => self.str("user")?,
            },
        };
        keys.extend(single);
        Ok((keys, by_id))
    }

    /// `offset` and `count` as given.
    pub fn paging(&self) -> Result<(Option<i64>, Option<i64>), RcError> {
        Ok((self.i64("offset")?, self.i64("count")?))
    }

    /// `sort` as `{field: 1|-1}`; returns whether the given field sorts descending.
    pub fn sort_desc(&self, field: &str) -> Result<bool, RcError> {
        let Some(sort) = self.json_object("sort", "error-invalid-sort", "sort")? else {
            return Ok(false);
        };
        let raw = self
            .0
            .get("sort")
            .map(|v| v.to_string())
            .unwrap_or_default();
        for v in sort.values() {
            if v.as_i64() != Some(1) && v.as_i64() != Some(-1) {
                return Err(coded(
                    "error-invalid-sort",
                    format!("Invalid sort parameter provided: \"{raw}\""),
                ));
            }
        }
        Ok(sort.get(field).and_then(Value::as_i64) == Some(-1))
    }
}
