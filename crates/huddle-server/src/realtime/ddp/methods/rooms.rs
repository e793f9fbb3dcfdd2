//! Room methods: lookups, direct messages, join/leave, invite/kick, roles, and the
//! `subscriptions/get` / `rooms/get` lists (arrays, or `{update, remove}` with a `$date`).

use huddle_core::{Error, Room, RoomKind, RoomLookup, RoomType, UserLookup};
use serde_json::{json, Value};

use super::messages::ephemeral;
use super::{fail, object, string, Outcome};
use crate::realtime::ddp::ejson;
use crate::realtime::ddp::errors::MeteorError;
use crate::realtime::ddp::session::Session;
use crate::shape::{self, Dates};

/// The room with id `rid`; an unknown one is `error-invalid-room`.
async fn room_by_id(s: &Session, rid: &str, method: &'static str) -> Result<Room, MeteorError> {
    match s
        .huddle()
        .find_room(&RoomLookup::Id(rid.to_string()), RoomKind::Any, true)
        .await
    {
        Ok(r) => Ok(r),
        Err(Error::NotFound(_)) => Err(MeteorError::invalid_room(method)),
        Err(e) => Err(MeteorError::from_core(e, method)),
    }
}

pub async fn id_by_name_or_id(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "getRoomIdByNameOrId";
    let key = string(p, 0)?;
    let actor = s.actor(method)?;
    // Unknown and inaccessible look the same, so private rooms do not leak.
    match s
        .huddle()
        .find_accessible_room(
            actor.user(),
            &RoomLookup::IdOrName(key.to_string()),
            RoomKind::Any,
            true,
        )
        .await
    {
        Ok(room) => Ok(Some(json!(room.id))),
        Err(Error::NotFound(_)) => Err(MeteorError::not_allowed(method)),
        Err(e) => Err(MeteorError::from_core(e, method)),
    }
}

pub async fn name_by_id(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "getRoomNameById";
    let rid = string(p, 0)?;
    let actor = s.actor(method)?;
    let room = room_by_id(s, rid, method)
        .await
        .map_err(|_| MeteorError::not_allowed(method))?;
    let member = s.huddle().own_subscription(actor, rid).await.is_ok();
    if !member
        && (room.t != RoomType::Channel || !s.huddle().has_permission(actor.user(), "view-c-room"))
    {
        return Err(MeteorError::not_allowed(method));
    }
    Ok(room.name.map(Value::String))
}

pub async fn create_dm(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "createDirectMessage";
    let names: Vec<String> = p
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(MeteorError::match_failed)?;
    let actor = s.actor(method)?;
    let room = s
        .huddle()
        .create_dm(actor, &names, false)
        .await
        .map_err(fail(method))?;
    let mut out = shape::room_in(&room, Dates::Ejson);
    out["rid"] = json!(room.id);
    Ok(Some(out))
}

pub async fn join(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "joinRoom";
    let rid = string(p, 0)?;
    let code = p.get(1).and_then(Value::as_str);
    let actor = s.actor(method)?.clone();
    let room = room_by_id(s, rid, method).await?;
    if s.huddle().own_subscription(&actor, rid).await.is_ok() {
        return Ok(None);
    }
    s.huddle()
        .join(&actor, room, code)
        .await
        .map_err(fail(method))?;
    Ok(Some(json!(true)))
}

pub async fn leave(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "leaveRoom";
    let rid = string(p, 0)?;
    let actor = s.actor(method)?.clone();
    let room = room_by_id(s, rid, method).await?;
    s.huddle().leave(&actor, room).await.map_err(fail(method))?;
    Ok(None)
}

pub async fn add_users(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "addUsersToRoom";
    let data = object(p, 0)?;
    let rid = data
        .get("rid")
        .and_then(Value::as_str)
        .ok_or_else(MeteorError::match_failed)?;
    let names: Vec<String> = data
        .get("users")
        .and_then(Value::as_array)
        .ok_or_else(MeteorError::match_failed)?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(MeteorError::match_failed)?;
    let actor = s.actor(method)?.clone();
    let room = room_by_id(s, rid, method).await?;
    let users = s
        .huddle()
        .find_invitees(&names, false)
        .await
        .map_err(fail(method))?;
    let mut wanted: Vec<String> = names.iter().map(|n| n.trim().to_lowercase()).collect();
    wanted.sort();
    wanted.dedup();
    if users.len() < wanted.len() {
        return Err(MeteorError::new("error-invalid-username", "Invalid username").method(method));
    }
    let outcome = s
        .huddle()
        .invite(&actor, room, users.clone())
        .await
        .map_err(fail(method))?;
    // Members already there get no second membership; the inviter is told, as Rocket.Chat does.
    for uid in &outcome.already {
        if let Some(u) = users.iter().find(|u| &u.id == uid) {
            let text = format!("`@{}` is already in here.", u.username_or_id());
            ephemeral(s, &actor.user().id, rid, text);
        }
    }
    Ok(Some(json!(true)))
}

pub async fn remove_user(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "removeUserFromRoom";
    let data = object(p, 0)?;
    let (Some(rid), Some(username)) = (
        data.get("rid").and_then(Value::as_str),
        data.get("username").and_then(Value::as_str),
    ) else {
        return Err(MeteorError::match_failed());
    };
    let actor = s.actor(method)?.clone();
    let room = room_by_id(s, rid, method).await?;
    s.huddle()
        .kick(&actor, room, &UserLookup::Username(username.to_string()))
        .await
        .map_err(fail(method))?;
    Ok(Some(json!(true)))
}

pub async fn roles(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "getRoomRoles";
    let rid = string(p, 0)?;
    let actor = s.actor(method)?;
    let room = room_by_id(s, rid, method).await?;
    let sub = s.huddle().own_subscription(actor, rid).await.ok();
    if !s.huddle().can_access(actor.user(), &room, sub.as_ref()) {
        return Err(MeteorError::not_allowed(method));
    }
    let subs = s.huddle().room_roles(&room).await.map_err(fail(method))?;
    let out: Vec<Value> = subs
        .iter()
        .map(|m| {
            let roles: Vec<&String> = m
                .roles
                .iter()
                .filter(|r| matches!(r.as_str(), "owner" | "moderator" | "leader"))
                .collect();
            json!({ "_id": m.id, "rid": m.rid, "u": shape::user_ref(&m.u), "roles": roles })
        })
        .collect();
    Ok(Some(json!(out)))
}

pub async fn subscriptions(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "subscriptions/get";
    let since = ejson::opt_date(p.first()).map_err(|()| MeteorError::match_failed())?;
    let actor = s.actor(method)?;
    let subs = s
        .huddle()
        .subscriptions(actor, since)
        .await
        .map_err(fail(method))?;
    let list: Vec<Value> = subs
        .iter()
        .map(|x| shape::subscription_in(x, Dates::Ejson))
        .collect();
    Ok(Some(match since {
        Some(since) => {
            let removed = s
                .huddle()
                .subscription_removals(s.actor(method)?, since)
                .await
                .map_err(fail(method))?;
            json!({ "update": list, "remove": removals(&removed) })
        }
        None => json!(list),
    }))
}

pub async fn rooms(s: &mut Session, p: &[Value]) -> Outcome {
    let method = "rooms/get";
    let since = ejson::opt_date(p.first()).map_err(|()| MeteorError::match_failed())?;
    let actor = s.actor(method)?;
    let rooms = s
        .huddle()
        .rooms_of(actor, since)
        .await
        .map_err(fail(method))?;
    let list = shape::rooms_with_last(s.huddle(), actor, &rooms, Dates::Ejson)
        .await
        .map_err(fail(method))?;
    Ok(Some(match since {
        Some(since) => {
            let removed = s
                .huddle()
                .room_removals(s.actor(method)?, since)
                .await
                .map_err(fail(method))?;
            let remove: Vec<Value> = removed
                .iter()
                .map(|r| json!({ "_id": r.rid, "_deletedAt": shape::date(r.removed_at, Dates::Ejson) }))
                .collect();
            json!({ "update": list, "remove": remove })
        }
        None => json!(list),
    }))
}

/// Rocket.Chat's trash entries for ended memberships: `{_id, _deletedAt}`.
fn removals(removed: &[huddle_core::store::Removal]) -> Vec<Value> {
    removed
        .iter()
        .map(|r| json!({ "_id": r.id, "_deletedAt": shape::date(r.removed_at, Dates::Ejson) }))
        .collect()
}
