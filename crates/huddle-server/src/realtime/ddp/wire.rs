//! DDP frames: parsing what clients send, building what the server sends. Frames the server
//! builds are `Utf8Bytes`, which clone by reference count.

use axum::extract::ws::Utf8Bytes;
use serde_json::{json, Map, Value};

use super::errors::MeteorError;

/// Versions Huddle speaks, in preference order (Meteor's list without `pre1`, which has no
/// heartbeats).
pub const VERSIONS: &[&str] = &["1", "pre2"];

/// What a client sent, already checked for shape.
#[derive(Debug)]
pub enum Inbound {
    Connect {
        version: Option<String>,
        support: Vec<String>,
    },
    Ping {
        id: Option<Value>,
    },
    Pong,
    Method {
        id: String,
        method: String,
        params: Vec<Value>,
    },
    Sub {
        id: String,
        name: String,
        params: Vec<Value>,
    },
    Unsub {
        id: String,
    },
    /// A method call or subscription refused before it ran (nested too deeply): answered as
    /// that call's `result` (or that subscription's `nosub`) with the error, so the client's
    /// callback fires.
    Refused {
        id: String,
        sub: bool,
        error: MeteorError,
    },
    /// A protocol error to answer with `{"msg":"error"}`.
    Bad {
        reason: &'static str,
        offending: Option<Value>,
    },
}

fn params(obj: &Map<String, Value>) -> Option<Vec<Value>> {
    match obj.get("params") {
        None => Some(vec![]),
        Some(Value::Array(a)) => Some(a.clone()),
        Some(_) => None,
    }
}

/// Parses one text frame; frames nesting arrays and objects deeper than `max_depth` are refused
/// without looking further (and never echoed back).
pub fn parse(text: &str, max_depth: usize) -> Inbound {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Inbound::Bad {
            reason: "Parse error",
            offending: None,
        };
    };
    if crate::realtime::limits::too_deep(&value, max_depth) {
        let msg = value.get("msg").and_then(Value::as_str);
        let id = value.get("id").and_then(Value::as_str).map(str::to_string);
        return match (msg, id) {
            (Some(m @ ("method" | "sub")), Some(id)) => Inbound::Refused {
                id,
                sub: m == "sub",
                error: MeteorError::new(
                    400,
                    format!("Nesting too deep (at most {max_depth} levels)"),
                ),
            },
            _ => Inbound::Bad {
                reason: "Nesting too deep",
                offending: None,
            },
        };
    }
    let Some(obj) = value.as_object() else {
        return Inbound::Bad {
            reason: "Bad request",
            offending: Some(value),
        };
    };
    let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    match obj.get("msg").and_then(Value::as_str) {
        Some("connect") => Inbound::Connect {
            version: s("version"),
            support: obj
                .get("support")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        },
        Some("ping") => Inbound::Ping {
            id: obj.get("id").cloned(),
        },
        Some("pong") => Inbound::Pong,
        Some("method") => match (s("id"), s("method"), params(obj)) {
            (Some(id), Some(method), Some(params)) => Inbound::Method { id, method, params },
            _ => Inbound::Bad {
                reason: "Malformed method invocation",
                offending: Some(value.clone()),
            },
        },
        Some("sub") => match (s("id"), s("name"), params(obj)) {
            (Some(id), Some(name), Some(params)) => Inbound::Sub { id, name, params },
            _ => Inbound::Bad {
                reason: "Malformed subscription",
                offending: Some(value.clone()),
            },
        },
        Some("unsub") => match s("id") {
            Some(id) => Inbound::Unsub { id },
            None => Inbound::Bad {
                reason: "Bad request",
                offending: Some(value.clone()),
            },
        },
        _ => Inbound::Bad {
            reason: "Bad request",
            offending: Some(value.clone()),
        },
    }
}

/// The version to speak: the first of the client's list that Huddle supports (Meteor's
/// `calculateVersion`), which must also be the one the client asked for.
pub fn negotiate(version: Option<&str>, support: &[String]) -> Result<&'static str, &'static str> {
    let best = support
        .iter()
        .find_map(|v| VERSIONS.iter().find(|s| **s == v.as_str()))
        .copied()
        .unwrap_or(VERSIONS[0]);
    match version {
        Some(v) if v == best && support.iter().any(|s| s == v) => Ok(best),
        _ => Err(best),
    }
}

pub fn frame(v: Value) -> Utf8Bytes {
    Utf8Bytes::from(v.to_string())
}

pub fn connected(session: &str) -> Utf8Bytes {
    frame(json!({ "msg": "connected", "session": session }))
}

pub fn failed(version: &str) -> Utf8Bytes {
    frame(json!({ "msg": "failed", "version": version }))
}

pub fn error(reason: &str, offending: Option<Value>) -> Utf8Bytes {
    let mut v = json!({ "msg": "error", "reason": reason });
    if let Some(o) = offending {
        v["offendingMessage"] = o;
    }
    frame(v)
}

pub fn ping() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"msg":"ping"}"#)
}

pub fn pong(id: Option<Value>) -> Utf8Bytes {
    match id {
        Some(id) => frame(json!({ "msg": "pong", "id": id })),
        None => Utf8Bytes::from_static(r#"{"msg":"pong"}"#),
    }
}

pub fn updated(id: &str) -> Utf8Bytes {
    frame(json!({ "msg": "updated", "methods": [id] }))
}

/// `result` with a value, without one (`None`: the method returned nothing), or with an error.
pub fn result(id: &str, outcome: Result<Option<Value>, MeteorError>) -> Utf8Bytes {
    let mut v = json!({ "msg": "result", "id": id });
    match outcome {
        Ok(Some(r)) => v["result"] = r,
        Ok(None) => {}
        Err(e) => v["error"] = e.to_json(),
    }
    frame(v)
}

pub fn ready(id: &str) -> Utf8Bytes {
    frame(json!({ "msg": "ready", "subs": [id] }))
}

pub fn nosub(id: &str, error: Option<MeteorError>) -> Utf8Bytes {
    let mut v = json!({ "msg": "nosub", "id": id });
    if let Some(e) = error {
        v["error"] = e.to_json();
    }
    frame(v)
}

/// The stream document a `useCollection` subscription expects before `ready`: `added` the
/// first time on a collection, `changed` after (what Meteor's merge box sends).
pub fn stream_doc(collection: &str, event_name: &str, first: bool) -> Utf8Bytes {
    let msg = if first { "added" } else { "changed" };
    frame(json!({
        "msg": msg, "collection": collection, "id": "id", "fields": { "eventName": event_name }
    }))
}

/// One stream event: `changed` with `id:"id"` and fields `{eventName, args}`.
pub fn changed(collection: &str, event_name: &str, args: Value) -> Utf8Bytes {
    frame(json!({
        "msg": "changed", "collection": collection, "id": "id",
        "fields": { "eventName": event_name, "args": args }
    }))
}

/// A `stream-user-presence` event: unlike the other streams its document id is the user's.
pub fn presence(uid: &str, args: Value) -> Utf8Bytes {
    frame(json!({
        "msg": "changed", "collection": "stream-user-presence", "id": uid,
        "fields": { "uid": uid, "args": args, "eventName": uid }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn versions_are_negotiated_like_meteor() {
        assert_eq!(negotiate(Some("1"), &v(&["1", "pre2", "pre1"])), Ok("1"));
        assert_eq!(negotiate(Some("pre2"), &v(&["pre2"])), Ok("pre2"));
        assert_eq!(negotiate(Some("pre1"), &v(&["pre1"])), Err("1"));
        assert_eq!(negotiate(Some("pre2"), &v(&["1", "pre2"])), Err("1"));
        assert_eq!(negotiate(None, &[]), Err("1"));
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        assert!(matches!(
            parse("{", 32),
            Inbound::Bad {
                reason: "Parse error",
                ..
            }
        ));
        assert!(matches!(
            parse("[]", 32),
            Inbound::Bad {
                reason: "Bad request",
                ..
            }
        ));
        assert!(matches!(
            parse(r#"{"msg":"method","id":1,"method":"x"}"#, 32),
            Inbound::Bad {
                reason: "Malformed method invocation",
                ..
            }
        ));
    }
}
