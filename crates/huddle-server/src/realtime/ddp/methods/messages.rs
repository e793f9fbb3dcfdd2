//! Message methods: `sendMessage`, `updateMessage`, `setReaction`, `loadHistory`,
//! `readMessages`, and the `stream-notify-room` write (typing).

use huddle_core::realtime::{Notice, UserStream};
use huddle_core::{Error, Message, RoomKind, RoomLookup, Timestamp, UserRef};
use serde_json::{json, Value};

use super::{fail, object, string, Outcome};
use crate::realtime::ddp::ejson;
use crate::realtime::ddp::errors::MeteorError;
use crate::realtime::ddp::session::Session;
use crate::shape::{self, Dates};

/// Largest clock difference a client's `ts` may have (Rocket.Chat's 60 s).
const TS_SKEW_MS: i64 = 60_000;

/// Tells the user something through their `<uid>/message` stream (Rocket.Chat's ephemeral
/// messages from `rocket.cat`).
pub fn ephemeral(s: &Session, uid: &str, rid: &str, text: String) {
    let bot = UserRef {
        id: "rocket.cat".into(),
        username: "rocket.cat".into(),
        name: None,
    };
    let message = Message::new(rid, bot, text, None);
    s.router().send_to_user(
        uid,
        UserStream::Messages,
        Notice::Ephemeral {
            uid: uid.to_string(),
            message,
        },
    );
}

pub async fn send(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "sendMessage";
    let actor = s.actor(method)?.clone();
    let m = object(p, 0)?;
    let rid = m
        .get("rid")
        .and_then(Value::as_str)
        .ok_or_else(MeteorError::match_failed)?;
    let text = m
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if let Some(ts) = m.get("ts").and_then(ejson::date) {
        if (Timestamp::now().millis() - ts.millis()).abs() > TS_SKEW_MS {
            return Err(MeteorError::new(
                "error-message-ts-out-of-sync",
                "Message timestamp is out of sync",
            )
            .method(method));
        }
    }
    let client_id = m.get("_id").and_then(Value::as_str).map(str::to_string);
    let room = match s
        .huddle()
        .find_room(&RoomLookup::Id(rid.to_string()), RoomKind::Any, true)
        .await
    {
        Ok(r) => r,
        Err(Error::NotFound(_)) => return Err(MeteorError::not_allowed(method)),
        Err(e) => return Err(MeteorError::from_core(e, method)),
    };
    let extras = crate::rocketchat::message_extras(m);
    match s
        .huddle()
        .post_message_with_id(&actor, &room, text, extras, client_id)
        .await
    {
        Ok(msg) => Ok(Some(shape::message_in(&msg, Dates::Ejson))),
        Err(Error::RateLimited { retry_after_secs }) => {
            Err(MeteorError::error_too_many_requests(retry_after_secs))
        }
        Err(e @ (Error::Internal(_) | Error::Unavailable(_))) => {
            Err(MeteorError::from_core(e, method))
        }
        Err(e)
            if e.code() == "error-not-allowed"
                || e.failure().is_some_and(|f| f.reason == "error-not-allowed") =>
        {
            Err(MeteorError::not_allowed(method))
        }
        // Rocket.Chat swallows other refusals: no result, and an ephemeral note to the sender.
        Err(e) => {
            let reason = e
                .failure()
                .map(|f| f.reason.to_string())
                .unwrap_or_else(|| e.to_string());
            ephemeral(s, &actor.user().id, rid, reason);
            Ok(None)
        }
    }
}

pub async fn update(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "updateMessage";
    let actor = s.actor(method)?.clone();
    let m = object(p, 0)?;
    let id = m
        .get("_id")
        .and_then(Value::as_str)
        .ok_or_else(MeteorError::match_failed)?;
    let text = m
        .get("msg")
        .and_then(Value::as_str)
        .ok_or_else(MeteorError::match_failed)?;
    let rid = match m.get("rid").and_then(Value::as_str) {
        Some(r) => r.to_string(),
        None => {
            s.huddle()
                .get_message(&actor, id)
                .await
                .map_err(fail(method))?
                .rid
        }
    };
    s.huddle()
        .update_message(&actor, &rid, id, text.to_string())
        .await
        .map_err(fail(method))?;
    Ok(None)
}

pub async fn react(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "setReaction";
    let actor = s.actor(method)?.clone();
    let emoji = string(p, 0)?;
    let id = string(p, 1)?;
    let react = p.get(2).and_then(Value::as_bool);
    s.huddle()
        .set_reaction(&actor, emoji, id, react)
        .await
        .map_err(fail(method))?;
    Ok(None)
}

pub async fn load_history(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "loadHistory";
    let actor = s.actor(method)?.clone();
    let rid = string(p, 0)?;
    let end = ejson::opt_date(p.get(1)).map_err(|()| MeteorError::match_failed())?;
    let limit = match p.get(2) {
        None | Some(Value::Null) => 20,
        Some(v) => v.as_i64().ok_or_else(MeteorError::match_failed)?,
    };
    let ls = ejson::opt_date(p.get(3)).map_err(|()| MeteorError::match_failed())?;
    let room = match s
        .huddle()
        .find_room(&RoomLookup::Id(rid.to_string()), RoomKind::Any, true)
        .await
    {
        Ok(r) => r,
        // No such room, like no access: `false`, not an error.
        Err(Error::NotFound(_)) => return Ok(Some(json!(false))),
        Err(e) => return Err(MeteorError::from_core(e, method)),
    };
    let page = s
        .huddle()
        .load_history(&actor, &room, end, limit, ls)
        .await
        .map_err(fail(method))?;
    let Some(page) = page else {
        return Ok(Some(json!(false)));
    };
    let messages: Vec<Value> = page
        .messages
        .iter()
        .map(|m| shape::message_in(m, Dates::Ejson))
        .collect();
    let mut out = json!({ "messages": messages, "unreadNotLoaded": page.unread_not_loaded });
    if let Some(first) = &page.first_unread {
        out["firstUnread"] = shape::message_in(first, Dates::Ejson);
    }
    Ok(Some(out))
}

pub async fn read(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "readMessages";
    let actor = s.actor(method)?.clone();
    let rid = string(p, 0)?;
    s.huddle()
        .mark_read(&actor, rid)
        .await
        .map_err(fail(method))?;
    Ok(None)
}

/// `stream-notify-room` as a method: only `<rid>/user-activity`, only as oneself.
pub async fn notify_room(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "stream-notify-room";
    let actor = s.actor(method)?.clone();
    let event = string(p, 0)?;
    let (rid, kind) = event.split_once('/').unwrap_or((event, ""));
    let username = string(p, 1)?;
    if kind != "user-activity" || actor.user().username.as_deref() != Some(username) {
        return Err(MeteorError::bare("not-allowed"));
    }
    let activities: Vec<String> = match p.get(2) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .take(8)
            .collect(),
        // The legacy boolean form.
        Some(Value::Bool(true)) => vec!["user-typing".into()],
        _ => vec![],
    };
    s.huddle()
        .user_activity(&actor, rid, activities, Some(s.id.clone()))
        .await
        .map_err(fail(method))?;
    Ok(None)
}

/// `pinMessage` / `unpinMessage`: `[message]`, the message named by its `_id`. Pinning answers
/// the `message_pinned` note, unpinning `true`.
pub async fn pin(s: &mut Session, p: &[Value], pin: bool) -> Outcome {
    let method = if pin { "pinMessage" } else { "unpinMessage" };
    let actor = s.actor(method)?.clone();
    let id = object(p, 0)?
        .get("_id")
        .and_then(Value::as_str)
        .ok_or_else(MeteorError::match_failed)?
        .to_string();
    if pin {
        let note = s
            .huddle()
            .pin_message(&actor, &id, method)
            .await
            .map_err(fail(method))?;
        Ok(Some(shape::message_in(&note, Dates::Ejson)))
    } else {
        s.huddle()
            .unpin_message(&actor, &id, method)
            .await
            .map_err(fail(method))?;
        Ok(Some(json!(true)))
    }
}
