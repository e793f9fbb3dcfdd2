//! The DDP methods Rocket.Chat has for what the REST API also serves: stars, threads (following,
//! replies, reading), ignoring a member, discussions and invite links. Each calls the service its
//! REST twin calls.

use huddle_core::{Error, Invite, NewDiscussion};
use serde_json::{json, Value};

use super::{fail, object, string, Outcome};
use crate::realtime::ddp::errors::MeteorError;
use crate::realtime::ddp::session::Session;
use crate::shape::{self, Dates};

/// An optional string field of a method's object; another type is `Match failed`.
fn opt_str(o: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, MeteorError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(_) => Err(MeteorError::match_failed()),
    }
}

fn req_str(o: &serde_json::Map<String, Value>, key: &str) -> Result<String, MeteorError> {
    opt_str(o, key)?.ok_or_else(MeteorError::match_failed)
}

/// `starMessage({_id, rid, starred})`: `false` when the caller is no member of the room, as
/// Rocket.Chat answers.
pub async fn star(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "starMessage";
    let actor = s.actor(method)?.clone();
    let m = object(p, 0)?;
    let id = req_str(m, "_id")?;
    let starred = m
        .get("starred")
        .and_then(Value::as_bool)
        .ok_or_else(MeteorError::match_failed)?;
    match s.huddle().star_message(&actor, &id, starred).await {
        Ok(()) => Ok(Some(json!(true))),
        Err(Error::Forbidden(_)) => Ok(Some(json!(false))),
        Err(e) => Err(MeteorError::from_core(e, method)),
    }
}

/// `followMessage({mid})` / `unfollowMessage({mid})`.
pub async fn follow(s: &mut Session, p: &[Value], follow: bool) -> Outcome {
    let method = if follow {
        "followMessage"
    } else {
        "unfollowMessage"
    };
    let actor = s.actor(method)?.clone();
    let mid = req_str(object(p, 0)?, "mid")?;
    s.huddle()
        .follow_thread(&actor, &mid, follow)
        .await
        .map_err(fail(method))?;
    Ok(Some(json!(true)))
}

/// `getThreadMessages({tmid, limit, skip})`: the thread's first message, then its replies
/// newest first; reading them marks the thread read.
pub async fn thread_messages(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "getThreadMessages";
    let actor = s.actor(method)?.clone();
    let o = object(p, 0)?;
    let tmid = req_str(o, "tmid")?;
    let number = |key: &str| match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(MeteorError::match_failed),
    };
    let limit = number("limit")?;
    let skip = number("skip")?.unwrap_or(0);
    let messages = s
        .huddle()
        .thread_history(&actor, &tmid, skip, limit)
        .await
        .map_err(fail(method))?;
    let shaped = messages
        .iter()
        .map(|m| shape::message_in(m, Dates::Ejson))
        .collect();
    Ok(Some(Value::Array(shaped)))
}

/// `readThreads(tmid)`: the caller has read the thread.
pub async fn read_threads(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "readThreads";
    let actor = s.actor(method)?.clone();
    let tmid = string(p, 0)?.to_string();
    s.huddle()
        .read_thread(&actor, &tmid)
        .await
        .map_err(fail(method))?;
    Ok(None)
}

/// `ignoreUser({rid, userId, ignore})`.
pub async fn ignore_user(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "ignoreUser";
    let actor = s.actor(method)?.clone();
    let o = object(p, 0)?;
    let rid = req_str(o, "rid")?;
    let uid = req_str(o, "userId")?;
    let ignore = match o.get("ignore") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(MeteorError::match_failed()),
    };
    s.huddle()
        .ignore_user(&actor, &rid, &uid, ignore)
        .await
        .map_err(fail(method))?;
    Ok(Some(json!(true)))
}

/// `createDiscussion({prid, pmid, t_name, reply, users, encrypted})`: the new room, with its id
/// also as `rid`.
pub async fn create_discussion(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "createDiscussion";
    let actor = s.actor(method)?.clone();
    let o = object(p, 0)?;
    let users = match o.get("users") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(MeteorError::match_failed)?,
        Some(_) => return Err(MeteorError::match_failed()),
    };
    let encrypted = match o.get("encrypted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(MeteorError::match_failed()),
    };
    let input = NewDiscussion {
        prid: req_str(o, "prid")?,
        pmid: opt_str(o, "pmid")?,
        t_name: opt_str(o, "t_name")?.unwrap_or_default(),
        users,
        reply: opt_str(o, "reply")?,
        encrypted,
        topic: None,
    };
    let room = s
        .huddle()
        .create_discussion(&actor, input)
        .await
        .map_err(fail(method))?;
    let mut v = shape::room_in(&room, Dates::Ejson);
    v["rid"] = json!(room.id);
    Ok(Some(v))
}

/// An invite as the invite methods answer, with EJSON dates; the token only for its maker.
fn invite(i: &Invite, with_token: bool) -> Value {
    let mut v = json!({
        "_id": i.id, "rid": i.rid, "userId": i.user_id, "days": i.days, "maxUses": i.max_uses,
        "uses": i.uses, "createdAt": shape::date(i.created_at, Dates::Ejson),
        "_updatedAt": shape::date(i.updated_at, Dates::Ejson),
        "expires": i.expires.map(|e| shape::date(e, Dates::Ejson)),
    });
    if with_token {
        v["inviteToken"] = json!(i.token);
    }
    v
}

/// `findOrCreateInvite({rid, days, maxUses})`.
pub async fn find_or_create_invite(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "findOrCreateInvite";
    let actor = s.actor(method)?.clone();
    let o = object(p, 0)?;
    let rid = req_str(o, "rid")?;
    let int = |key: &str| {
        o.get(key)
            .and_then(Value::as_i64)
            .ok_or_else(MeteorError::match_failed)
    };
    let (days, max_uses) = (int("days")?, int("maxUses")?);
    let made = s
        .huddle()
        .find_or_create_invite(&actor, &rid, days, max_uses)
        .await
        .map_err(fail(method))?;
    Ok(Some(invite(&made, true)))
}

/// `listInvites()`: never the tokens, as the REST list.
pub async fn list_invites(s: &mut Session) -> Outcome {
    let method = "listInvites";
    let actor = s.actor(method)?.clone();
    let all = s
        .huddle()
        .list_invites(&actor)
        .await
        .map_err(fail(method))?;
    Ok(Some(Value::Array(
        all.iter().map(|i| invite(i, false)).collect(),
    )))
}

/// `removeInvite({_id})`.
pub async fn remove_invite(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "removeInvite";
    let actor = s.actor(method)?.clone();
    let id = req_str(object(p, 0)?, "_id")?;
    s.huddle()
        .remove_invite(&actor, &id)
        .await
        .map_err(fail(method))?;
    Ok(Some(json!(true)))
}

/// `useInviteToken(token)`: the room joined.
pub async fn use_invite_token(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "useInviteToken";
    let actor = s.actor(method)?.clone();
    let token = string(p, 0)?.to_string();
    let room = s
        .huddle()
        .use_invite_token(&actor, &token)
        .await
        .map_err(fail(method))?;
    let mut r = json!({ "rid": room.id, "t": room.t.as_str() });
    if let Some(name) = &room.name {
        r["name"] = json!(name);
        r["fname"] = json!(room.fname.as_ref().unwrap_or(name));
    }
    Ok(Some(json!({ "room": r })))
}

/// `validateInviteToken(token)`: `true` or `false`, no login needed.
pub async fn validate_invite_token(s: &mut Session, p: &[Value]) -> Outcome {
    let token = string(p, 0)?.to_string();
    let valid = s.huddle().validate_invite_token(&token).await.is_ok();
    Ok(Some(json!(valid)))
}

/// `sendInvitationEmail(emails)`: the addresses sent to, as Rocket.Chat answers.
pub async fn send_invitation_email(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "sendInvitationEmail";
    let actor = s.actor(method)?.clone();
    let emails = p
        .first()
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(MeteorError::match_failed)?;
    let sent = s
        .huddle()
        .send_invitation_email(&actor, &emails)
        .await
        .map_err(fail(method))?;
    Ok(Some(json!(sent)))
}
