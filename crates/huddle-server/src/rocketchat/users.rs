//! `users.*` (reference §5.14): accounts, profile, activation, presence.

use std::collections::BTreeMap;

use axum::extract::State;
use huddle_core::services::{NewUserInput, UserPatch};
use huddle_core::{Actor, UserLookup, UserQuery};
use serde_json::{json, Map, Value};

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty, shape};
use crate::openapi::schema::{object, rc_ok, rc_page, shape, string};
use crate::openapi::{public, user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let user_out = || rc_ok(&[("user", shape("User"))]);
    ApiRouter::new()
        .post(
            "/users.register",
            register,
            public("Register an account (when registration is open)")
                .req("username", Str)
                .req("email", Str)
                .req("pass", Str)
                .opt("name", Str)
                .opt("customFields", Object)
                .ok(user_out()),
        )
        .post(
            "/users.create",
            create,
            user("Create a user (admin)")
                .req("username", Str)
                .req("name", Str)
                .req("email", Str)
                .req("password", Str)
                .opt("roles", StrList)
                .opt("active", Bool)
                .opt("verified", Bool)
                .opt("joinDefaultChannels", Bool)
                .opt("requirePasswordChange", Bool)
                .opt("customFields", Object)
                .ok(user_out()),
        )
        .get(
            "/users.info",
            info,
            user("A user's profile")
                .user_sel()
                .opt("fields", Str)
                .ok(user_out()),
        )
        .get(
            "/users.list",
            list,
            user("List users")
                .opt("filter", Str)
                .paged()
                .ok(rc_page("users", shape("User"))),
        )
        .post(
            "/users.update",
            update,
            user("Change a user (self or admin)")
                .req("userId", Str)
                .req("data", Object)
                .ok(user_out()),
        )
        .post(
            "/users.delete",
            delete,
            user("Delete a user (admin)").user_sel(),
        )
        .post(
            "/users.setActiveStatus",
            set_active,
            user("Activate or deactivate a user (admin)")
                .req("userId", Str)
                .req("activeStatus", Bool)
                .ok(rc_ok(&[("user", object())])),
        )
        .get(
            "/users.getPresence",
            get_presence,
            user("A user's presence")
                .user_sel()
                .ok(rc_ok(&[("presence", string())])),
        )
        .post(
            "/users.setStatus",
            set_status,
            user("Set the presence status and status text").strs(&["status", "message", "userId"]),
        )
        .get(
            "/users.getPreferences",
            get_preferences,
            user("The caller's preferences").ok(rc_ok(&[("preferences", object())])),
        )
        .post(
            "/users.setPreferences",
            set_preferences,
            user("Change preferences")
                .req("data", Object)
                .opt("userId", Str)
                .ok(rc_ok(&[("user", object())])),
        )
        .post(
            "/users.forgotPassword",
            forgot_password,
            public("Send a password reset e-mail").req("email", Str),
        )
}

async fn get_preferences(State(s): State<AppState>, Auth(actor): Auth) -> RcResult {
    ok(json!({ "preferences": s.huddle.preferences(&actor) }))
}

async fn set_preferences(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let data = match p.0.get("data") {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            return Err(coded(
                "invalid-params",
                "must have required property 'data'",
            ))
        }
    };
    let (id, preferences) = s
        .huddle
        .set_preferences(&actor, p.str("userId")?.as_deref(), data)
        .await?;
    ok(json!({ "user": { "_id": id, "settings": { "preferences": preferences } } }))
}

/// No login needed, and the same answer whatever the address (see the service).
async fn forgot_password(State(s): State<AppState>, p: Params) -> RcResult {
    let email = p.text("email")?.unwrap_or_default();
    s.huddle.forgot_password(&email)?;
    ok_empty()
}

fn custom_fields(p: &Params, key: &str) -> Result<BTreeMap<String, String>, RcError> {
    match p.0.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => Ok(m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string()),
                )
            })
            .collect()),
        Some(_) => Err(coded("invalid-params", format!("must be object: '{key}'"))),
    }
}

/// `users.register`: `username`, `email`, `pass`, `name`.
async fn register(State(s): State<AppState>, p: Params) -> RcResult {
    let username = p.required("username")?;
    let input = NewUserInput {
        name: p.str("name")?.unwrap_or_else(|| username.clone()),
        username,
        email: Some(p.required("email")?),
        password: Some(p.required("pass")?),
        custom: custom_fields(&p, "customFields")?,
        ..Default::default()
    };
    let user = s.huddle.register(input).await?;
    ok(json!({ "user": shape::user_full(&user) }))
}

async fn create(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let input = NewUserInput {
        username: p.required("username")?,
        name: p.required("name")?,
        email: Some(p.required("email")?),
        password: Some(p.required("password")?),
        roles: p.list("roles")?,
        active: p.bool("active")?,
        verified: p.bool("verified")?.unwrap_or(false),
        join_default_channels: p.bool("joinDefaultChannels")?.unwrap_or(true),
        require_password_change: p.bool("requirePasswordChange")?.unwrap_or(false),
        custom: custom_fields(&p, "customFields")?,
        kind: None,
    };
    let user = s.huddle.create_user(&actor, input).await?;
    ok(json!({ "user": shape::user_full(&user) }))
}

fn can_see_full(s: &AppState, actor: &Actor, uid: &str) -> bool {
    actor.user().id == uid
        || s.huddle
            .has_permission(actor.user(), "view-full-other-user-info")
}

async fn info(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let lookup = match (p.str("userId")?, p.str("username")?) {
        (Some(id), _) => UserLookup::Id(id),
        (None, Some(u)) => UserLookup::Username(u),
        _ => return Err(plain("Invalid search query.")),
    };
    let user = s.huddle.user_info(&lookup).await?;
    let full = can_see_full(&s, &actor, &user.id);
    let mut body = if full {
        shape::user_full(&user)
    } else {
        shape::user_public(&user)
    };
    body["canViewAllInfo"] = json!(full);
    let subs = match wants_rooms(&p)? {
        true => s.huddle.rooms_of_user(&actor, &user.id).await?,
        false => None,
    };
    if let Some(subs) = subs {
        let mut rooms: Vec<Value> = subs
            .iter()
            .map(|sub| json!({ "_id": sub.id, "rid": sub.rid, "name": sub.name, "t": sub.t.as_str(), "roles": sub.roles, "unread": sub.unread }))
            .collect();
        rooms.sort_by(|a, b| {
            (a["t"].as_str(), a["name"].as_str()).cmp(&(b["t"].as_str(), b["name"].as_str()))
        });
        body["rooms"] = json!(rooms);
    }
    ok(json!({ "user": body }))
}

fn wants_rooms(p: &Params) -> Result<bool, RcError> {
    let fields: Option<Map<String, Value>> =
        p.json_object("fields", "error-invalid-fields", "fields")?;
    Ok(fields.and_then(|f| f.get("userRooms").and_then(Value::as_i64)) == Some(1))
}

async fn list(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (offset, count) = p.paging()?;
    let query = UserQuery {
        text: p.str("filter")?,
        paging: s.huddle.paging(offset, count),
        ..Default::default()
    };
    let page = s.huddle.list_users(&actor, &query).await?;
    let full = s
        .huddle
        .has_permission(actor.user(), "view-full-other-user-info");
    let users: Vec<Value> = page
        .items
        .iter()
        .map(|u| {
            if full {
                shape::user_full(u)
            } else {
                shape::user_public(u)
            }
        })
        .collect();
    ok(
        json!({ "users": users, "count": users.len(), "offset": query.paging.offset, "total": page.total }),
    )
}

/// `users.update`: `{userId, data: {...}}`.
async fn update(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let uid = p.required("userId")?;
    let data = match p.0.get("data") {
        Some(Value::Object(m)) => Params(m.clone()),
        _ => {
            return Err(coded(
                "invalid-params",
                "must have required property 'data'",
            ))
        }
    };
    let patch = UserPatch {
        username: data.str("username")?,
        name: data.str("name")?,
        email: data.str("email")?,
        password: data.str("password")?,
        roles: data.list("roles")?,
        active: data.bool("active")?,
        verified: data.bool("verified")?,
        require_password_change: data.bool("requirePasswordChange")?,
        status_text: data.text("statusText")?,
        custom: if data.0.contains_key("customFields") {
            Some(custom_fields(&data, "customFields")?)
        } else {
            None
        },
    };
    let user = s.huddle.update_user(&actor, &uid, patch).await?;
    ok(json!({ "user": shape::user_full(&user) }))
}

async fn delete(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let user = s.huddle.find_user(p.user()?.as_ref()).await?;
    s.huddle.delete_user(&actor, &user.id).await?;
    ok_empty()
}

async fn set_active(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let uid = p.required("userId")?;
    let active = p.bool("activeStatus")?.ok_or_else(|| {
        coded(
            "invalid-params",
            "must have required property 'activeStatus'",
        )
    })?;
    let user = s.huddle.set_active(&actor, &uid, active).await?;
    ok(json!({ "user": { "_id": user.id, "active": user.active } }))
}

async fn get_presence(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let user = match p.user()? {
        Some(l) => s.huddle.find_user(Some(&l)).await?,
        None => actor.user().clone(),
    };
    ok(json!({ "presence": user.status, "connectionStatus": user.status }))
}

async fn set_status(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let status = p.str("status")?;
    let message = p.text("message")?;
    if status.is_none() && message.is_none() {
        return Err(coded(
            "error-invalid-params",
            "Either status or message must be provided",
        ));
    }
    s.huddle
        .set_status(
            &actor,
            p.str("userId")?.as_deref(),
            status.as_deref(),
            message.as_deref(),
        )
        .await?;
    ok_empty()
}
