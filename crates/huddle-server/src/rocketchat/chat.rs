//! `chat.*`: enough messaging for membership to be real (reference §5.15).

use axum::extract::State;
use huddle_core::{Actor, Room, RoomKind, RoomLookup};
use serde_json::{json, Map, Value};

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::{ok, shape};
use crate::openapi::schema::{obj, rc_ok, shape, string};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let message_out = || rc_ok(&[("message", shape("Message"))]);
    ApiRouter::new()
        .post(
            "/chat.postMessage",
            post_message,
            user("Post a message to a room (`#name`, `@username` or an id)")
                .opt("roomId", Str)
                .opt("channel", Str)
                .opt("text", Str)
                .opt("msg", Str)
                .opt("alias", Str)
                .opt("emoji", Str)
                .opt("avatar", Str)
                .opt("attachments", Any)
                .opt("customFields", Object)
                .opt("tmid", Str)
                .ok(rc_ok(&[
                    ("message", shape("Message")),
                    ("channel", string()),
                ])),
        )
        .post(
            "/chat.sendMessage",
            send_message,
            user("Send a message `{rid, msg, _id?}`")
                .body(obj(
                    &[(
                        "message",
                        obj(
                            &[
                                ("rid", string()),
                                ("msg", string()),
                                ("_id", string()),
                                ("tmid", string()),
                            ],
                            &["rid"],
                        ),
                    )],
                    &["message"],
                ))
                .ok(message_out()),
        )
        .post(
            "/chat.update",
            update,
            user("Edit a message")
                .req("roomId", Str)
                .req("msgId", Str)
                .req("text", Str)
                .ok(message_out()),
        )
        .post(
            "/chat.delete",
            delete,
            user("Delete a message")
                .req("roomId", Str)
                .req("msgId", Str)
                .ok(rc_ok(&[("_id", string())])),
        )
        .get(
            "/chat.getMessage",
            get_message,
            user("One message").req("msgId", Str).ok(message_out()),
        )
}

/// Client extras kept with a message.
const EXTRA_KEYS: &[&str] = &[
    "alias",
    "emoji",
    "avatar",
    "attachments",
    "customFields",
    "tmid",
    // A thread reply also shown in the room (a boolean, kept only with `tmid`).
    "tshow",
    "bot",
];

/// The client extras of a message body that are kept with the message (REST and DDP).
pub(crate) fn extras(p: &Map<String, Value>) -> Map<String, Value> {
    EXTRA_KEYS
        .iter()
        .filter_map(|k| p.get(*k).map(|v| (k.to_string(), v.clone())))
        .filter(|(k, v)| k != "tshow" || (v.is_boolean() && p.contains_key("tmid")))
        .collect()
}

/// `channel` as `chat.postMessage` takes it: `#name`, `@username` (DM, created if needed), or an
/// id or name.
async fn target_room(s: &AppState, actor: &Actor, channel: &str) -> Result<Room, RcError> {
    // Any refusal reads as Rocket.Chat's "Invalid channel"; an outage stays an outage (503).
    let invalid = |e: huddle_core::Error| {
        if e.is_server_side() {
            RcError(e)
        } else {
            coded("invalid-channel", "Invalid channel")
        }
    };
    if let Some(name) = channel.strip_prefix('#') {
        return s
            .huddle
            .find_room(&RoomLookup::Name(name.to_string()), RoomKind::Any, true)
            .await
            .map_err(invalid);
    }
    if let Some(user) = channel.strip_prefix('@') {
        return s
            .huddle
            .create_dm(actor, &[user.to_string()], false)
            .await
            .map_err(invalid);
    }
    s.huddle
        .find_room(
            &RoomLookup::IdOrName(channel.to_string()),
            RoomKind::Any,
            true,
        )
        .await
        .map_err(invalid)
}

async fn post_message(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (room, channel) = match (p.str("roomId")?, p.str("channel")?) {
        (Some(id), _) => (target_room(&s, &actor, &id).await?, id),
        (None, Some(c)) => (target_room(&s, &actor, &c).await?, c),
        _ => return Err(plain("Body param \"roomId\" or \"channel\" is required")),
    };
    let text = p.text("text")?.or(p.text("msg")?).unwrap_or_default();
    let msg = s
        .huddle
        .post_message(&actor, &room, text, extras(&p.0))
        .await?;
    ok(json!({ "ts": msg.ts.millis(), "channel": channel, "message": shape::message(&msg) }))
}

/// `chat.sendMessage`: `{message: {rid, msg, _id?}}`.
async fn send_message(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let Some(Value::Object(m)) = p.0.get("message") else {
        return Err(coded(
            "invalid-params",
            "must have required property 'message'",
        ));
    };
    let mp = Params(m.clone());
    let rid = mp.required("rid")?;
    let room = s
        .huddle
        .find_room(&RoomLookup::Id(rid), RoomKind::Any, true)
        .await?;
    let text = mp.text("msg")?.unwrap_or_default();
    let msg = s
        .huddle
        .post_message(&actor, &room, text, extras(m))
        .await?;
    ok(json!({ "message": shape::message(&msg) }))
}

async fn update(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p.required("roomId")?;
    let id = p.required("msgId")?;
    let text = p
        .text("text")?
        .ok_or_else(|| coded("invalid-params", "must have required property 'text'"))?;
    let msg = s.huddle.update_message(&actor, &rid, &id, text).await?;
    ok(json!({ "message": shape::message(&msg) }))
}

async fn delete(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p.required("roomId")?;
    let id = p.required("msgId")?;
    let msg = s.huddle.delete_message(&actor, &rid, &id).await?;
    ok(
        json!({ "_id": msg.id, "ts": huddle_core::Timestamp::now(), "message": { "_id": msg.id, "rid": msg.rid, "u": shape::user_ref(&msg.u) } }),
    )
}

async fn get_message(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = p
        .str("msgId")?
        .ok_or_else(|| plain("The \"msgId\" query parameter must be provided."))?;
    let msg = s.huddle.get_message(&actor, &id).await?;
    ok(json!({ "message": shape::message(&msg) }))
}
