//! Frames of the native socket: the format version, replies and errors, and routed notices as
//! event frames (encoded once per notice, shared by every recipient).

use axum::extract::ws::Utf8Bytes;
use huddle_core::realtime::{Notice, TalkChange};
use huddle_core::Error;
use serde_json::{json, Value};

use crate::talkjs::shape;

/// The frame format version; frames naming another are refused.
pub(super) const VERSION: u64 = 1;
/// Longest subscription id accepted (ids are echoed back and kept per subscription).
pub(super) const MAX_ID: usize = 128;

pub(super) fn text(v: Value) -> Utf8Bytes {
    Utf8Bytes::from(v.to_string())
}

pub(super) fn error_frame(id: Option<&str>, code: &str, reason: &str) -> Utf8Bytes {
    text(json!({"v": VERSION, "type": "error", "id": id, "code": code, "reason": reason}))
}

/// Checks a client frame before it is handled: a JSON object, nested at most `max_depth` levels,
/// of format version 1. Otherwise the error frame to answer (with the frame's id when it has
/// one). Pure, so it is fuzzed directly (`fuzz_tests`).
pub(crate) fn parse_frame(raw: &str, max_depth: usize) -> Result<Value, Utf8Bytes> {
    let v: Value = match serde_json::from_str(raw) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err(error_frame(None, "INVALID_FRAME", "Expected a JSON object")),
    };
    let id = v["id"].as_str();
    if crate::realtime::limits::too_deep(&v, max_depth) {
        let reason = format!("Frames nest at most {max_depth} levels");
        return Err(error_frame(id, "INVALID_FRAME", &reason));
    }
    if v["v"].as_u64() != Some(VERSION) {
        return Err(error_frame(id, "UNSUPPORTED_VERSION", "Send \"v\": 1"));
    }
    Ok(v)
}

pub(super) fn core_error(id: Option<&str>, e: &Error) -> Utf8Bytes {
    match e {
        Error::NotFound(f) => error_frame(id, "NOT_FOUND", &f.reason),
        Error::Forbidden(f) | Error::LoginFailed(f) | Error::Invalid(f) => {
            error_frame(id, &f.code, &f.reason)
        }
        Error::Unauthenticated => error_frame(id, "UNAUTHENTICATED", "Unauthenticated"),
        Error::RateLimited { retry_after_secs } => error_frame(
            id,
            "RATE_LIMITED",
            &format!("Retry after {retry_after_secs} s"),
        ),
        Error::Unavailable(detail) => {
            tracing::warn!(%detail, "store unavailable");
            error_frame(id, "UNAVAILABLE", "Service unavailable, safe to retry")
        }
        other => {
            tracing::warn!(error = %other, "native realtime request failed");
            error_frame(id, "INTERNAL", "Internal error")
        }
    }
}

/// A routed notice as a native frame; notices of other protocols are skipped.
pub(super) fn encode(n: &Notice) -> Option<Utf8Bytes> {
    match n {
        Notice::Talk {
            rid,
            event_id,
            change,
        } => {
            let (event, data) = match change {
                TalkChange::MessageCreated(m) => ("message.created", shape::message(m)),
                TalkChange::MessageUpdated(m) => ("message.updated", shape::message(m)),
                TalkChange::MessageDeleted { id } => ("message.deleted", json!({ "id": id })),
                TalkChange::ParticipantJoined(s) => (
                    "participant.joined",
                    json!({"userId": s.u.id, "participant": shape::participant(s)}),
                ),
                TalkChange::ParticipantUpdated(s) => (
                    "participant.updated",
                    json!({"userId": s.u.id, "participant": shape::participant(s)}),
                ),
                TalkChange::ParticipantLeft { uid } => {
                    ("participant.left", json!({ "userId": uid }))
                }
                TalkChange::ConversationUpdated(r) => {
                    let mut c = shape::conversation(r, &[], None);
                    if let Value::Object(o) = &mut c {
                        // Participants travel as participant.* events.
                        o.remove("participants");
                        o.remove("lastMessage");
                    }
                    ("conversation.updated", c)
                }
                TalkChange::ConversationDeleted => ("conversation.deleted", json!({ "id": rid })),
                TalkChange::GuestAccessChanged { allowed } => {
                    ("guestAccess.changed", json!({ "guestAccess": allowed }))
                }
            };
            Some(text(json!({
                "v": VERSION,
                "type": "event",
                "conversation": rid,
                "eventId": event_id,
                "event": event,
                "data": data,
            })))
        }
        Notice::Typing { rid, uid, typing } => Some(text(json!({
            "v": VERSION, "type": "typing", "conversation": rid, "userId": uid, "typing": typing,
        }))),
        Notice::Ended { sub_id, reason } => Some(text(
            json!({"v": VERSION, "type": "revoked", "sub": sub_id, "reason": reason.as_str()}),
        )),
        _ => None,
    }
}
