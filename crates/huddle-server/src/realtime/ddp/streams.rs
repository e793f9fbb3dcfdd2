//! Subscriptions: Rocket.Chat's stream names and event names mapped onto the router's topics,
//! and routed notices turned into DDP frames (once per delivery, shared by every recipient).

use axum::extract::ws::Utf8Bytes;
use huddle_core::realtime::{Change, Notice, RoomStream, Topic, UserStream, Via};
use huddle_core::RoomType;
use serde_json::{json, Value};

use super::errors::MeteorError;
use super::wire;
use crate::shape::{self, Dates};

/// What a `sub` asks for.
pub enum SubRequest {
    /// A stream: its collection, event name, router topic and whether the client wants the
    /// stream document (`added`) before `ready`.
    Stream {
        collection: String,
        event_name: String,
        topic: Topic,
        use_collection: bool,
    },
    /// A publication Huddle has nothing for: answered `ready` and never fed.
    Empty,
    Refused(MeteorError),
}

/// Publications Rocket.Chat has and Huddle answers empty (clients wait for their `ready`).
const EMPTY_PUBLICATIONS: &[&str] = &[
    "meteor.loginServiceConfiguration",
    "meteor_autoupdate_clientVersions",
    "userData",
    "activeUsers",
    "roles",
];

/// Streams Huddle accepts without feeding them (it produces none of their events).
const INERT_STREAMS: &[(&str, bool)] = &[
    ("stream-notify-all", false),
    ("stream-roles", true),
    ("stream-apps", false),
];

/// Reads `[eventName, options]`: options is `true`/`false` or `{useCollection, args}`.
pub fn parse(name: &str, params: &[Value]) -> SubRequest {
    if EMPTY_PUBLICATIONS.contains(&name) {
        return SubRequest::Empty;
    }
    let event_name = params.first().and_then(Value::as_str).unwrap_or_default();
    let use_collection = match params.get(1) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(o)) => o
            .get("useCollection")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        _ => false,
    };
    let known = matches!(
        name,
        "stream-room-messages"
            | "stream-notify-user"
            | "stream-notify-room"
            | "stream-notify-logged"
            | "stream-user-presence"
    ) || INERT_STREAMS.iter().any(|(n, _)| *n == name);
    if !known {
        return SubRequest::Refused(MeteorError::new(
            404,
            format!("Subscription '{name}' not found"),
        ));
    }
    if event_name.is_empty() && name != "stream-user-presence" {
        return SubRequest::Refused(MeteorError::bare("invalid-event-name"));
    }
    let topic = match name {
        "stream-room-messages" if event_name == "__my_messages__" => Topic::AllMessages,
        "stream-room-messages" => Topic::Room {
            rid: event_name.to_string(),
            stream: RoomStream::Messages,
        },
        "stream-notify-room" => {
            let (rid, ev) = event_name.split_once('/').unwrap_or((event_name, ""));
            let stream = match ev {
                "deleteMessage" => RoomStream::Deletions,
                "user-activity" => RoomStream::Activity,
                _ => RoomStream::Other,
            };
            Topic::Room {
                rid: rid.to_string(),
                stream,
            }
        }
        "stream-notify-user" => {
            let (uid, ev) = event_name.split_once('/').unwrap_or((event_name, ""));
            let stream = match ev {
                "subscriptions-changed" => UserStream::Subscriptions,
                "rooms-changed" => UserStream::Rooms,
                "message" => UserStream::Messages,
                "notification" => UserStream::Notifications,
                _ => UserStream::Other,
            };
            Topic::User {
                uid: uid.to_string(),
                stream,
            }
        }
        "stream-notify-logged" if event_name == "user-status" => Topic::UserStatus,
        "stream-user-presence" => Topic::Presence,
        "stream-notify-logged" => Topic::Inert { needs_login: true },
        other => Topic::Inert {
            needs_login: INERT_STREAMS.iter().any(|(n, login)| *n == other && *login),
        },
    };
    SubRequest::Stream {
        collection: name.to_string(),
        event_name: event_name.to_string(),
        topic,
        use_collection,
    }
}

/// The uids a `stream-user-presence` sub adds and removes: `["", {added, removed}]`, or the
/// same object inside the web client's `{useCollection, args: [...]}`.
pub fn presence_lists(params: &[Value]) -> (Vec<String>, Vec<String>) {
    let options = params.get(1);
    let lists = match options.and_then(|o| o.get("args")).and_then(|a| a.get(0)) {
        Some(inner) => Some(inner),
        None => options,
    };
    let read = |key: &str| -> Vec<String> {
        lists
            .and_then(|l| l.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    (read("added"), read("removed"))
}

fn change(c: Change) -> &'static str {
    match c {
        Change::Inserted => "inserted",
        Change::Updated => "updated",
    }
}

/// Rocket.Chat's status numbers.
fn status_number(status: &str) -> u8 {
    match status {
        "online" => 1,
        "away" => 2,
        "busy" => 3,
        _ => 0,
    }
}

/// The frame for a notice, or `None` for notices that are not frames.
pub fn encode(notice: &Notice) -> Option<Utf8Bytes> {
    let ej = Dates::Ejson;
    let frame = match notice {
        Notice::Message { message, room, via } => {
            let m = shape::message_in(message, ej);
            match via {
                Via::Room => wire::changed("stream-room-messages", &room.id, json!([m])),
                Via::All { participant } => {
                    let mut meta = json!({
                        "roomParticipant": participant,
                        "roomType": room.t.as_str(),
                    });
                    if let Some(name) = &room.name {
                        meta["roomName"] = json!(name);
                    }
                    wire::changed("stream-room-messages", "__my_messages__", json!([m, meta]))
                }
            }
        }
        Notice::MessageDeleted { rid, id } => wire::changed(
            "stream-notify-room",
            &format!("{rid}/deleteMessage"),
            json!([{ "_id": id }]),
        ),
        Notice::Activity {
            rid,
            username,
            activities,
        } => wire::changed(
            "stream-notify-room",
            &format!("{rid}/user-activity"),
            json!([username, activities]),
        ),
        Notice::SubscriptionChanged {
            uid,
            change: c,
            subscription,
        } => wire::changed(
            "stream-notify-user",
            &format!("{uid}/subscriptions-changed"),
            json!([change(*c), shape::subscription_in(subscription, ej)]),
        ),
        Notice::SubscriptionRemoved {
            uid,
            id,
            rid,
            t,
            username,
        } => wire::changed(
            "stream-notify-user",
            &format!("{uid}/subscriptions-changed"),
            json!(["removed", {
                "_id": id, "rid": rid, "u": { "_id": uid, "username": username }, "t": t.as_str()
            }]),
        ),
        Notice::RoomChanged {
            uid,
            change: c,
            room,
            last,
        } => {
            let mut r = shape::room_in(room, ej);
            if let Some(m) = last {
                r["lastMessage"] = shape::message_in(m, ej);
            }
            wire::changed(
                "stream-notify-user",
                &format!("{uid}/rooms-changed"),
                json!([change(*c), r]),
            )
        }
        Notice::RoomRemoved { uid, rid } => wire::changed(
            "stream-notify-user",
            &format!("{uid}/rooms-changed"),
            json!(["removed", { "_id": rid }]),
        ),
        Notice::Ephemeral { uid, message } => wire::changed(
            "stream-notify-user",
            &format!("{uid}/message"),
            json!([{
                "_id": message.id, "rid": message.rid, "msg": message.msg,
                "ts": shape::date(message.ts, ej), "_updatedAt": shape::date(message.updated_at, ej),
                "u": { "_id": "rocket.cat", "username": "rocket.cat" },
                "private": true, "groupable": false,
            }]),
        ),
        Notice::Notification { uid, message, room } => {
            let sender = shape::user_ref(&message.u);
            let (title, text) = match (room.t, &room.name) {
                (RoomType::Direct, _) | (_, None) => {
                    (message.u.username.clone(), message.msg.clone())
                }
                (_, Some(name)) => (
                    format!("#{name}"),
                    format!("{}: {}", message.u.username, message.msg),
                ),
            };
            let mut payload = json!({
                "_id": message.id, "rid": message.rid, "sender": sender,
                "type": room.t.as_str(), "message": { "msg": message.msg },
            });
            if let Some(name) = &room.name {
                payload["name"] = json!(name);
            }
            if let Some(tmid) = message.extra.get("tmid") {
                payload["tmid"] = tmid.clone();
            }
            wire::changed(
                "stream-notify-user",
                &format!("{uid}/notification"),
                json!([{ "title": title, "text": text, "payload": payload }]),
            )
        }
        Notice::UserStatus(s) => wire::changed(
            "stream-notify-logged",
            "user-status",
            json!([[
                s.uid,
                s.username,
                status_number(&s.status),
                s.status_text,
                s.name,
                s.roles
            ]]),
        ),
        Notice::Presence(s) => wire::presence(
            &s.uid,
            json!([[s.username, status_number(&s.status), s.status_text]]),
        ),
        Notice::Ended { sub_id, .. } => wire::nosub(sub_id, Some(revoked())),
        // Native-socket events; DDP clients read the same changes from their own streams.
        Notice::LoggedOut | Notice::Talk { .. } | Notice::Typing { .. } => return None,
    };
    Some(frame)
}

/// The error of a subscription ended because its reader lost access.
pub fn revoked() -> MeteorError {
    MeteorError::new("not-allowed", "Access to this stream was revoked")
}

/// The error of a subscription refused at start.
pub fn not_allowed() -> MeteorError {
    MeteorError::bare("not-allowed")
}
