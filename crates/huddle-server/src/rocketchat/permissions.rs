//! `permissions.*`, `roles.*` and `settings` (reference §7.4, §5.17).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use huddle_core::services::{RoleChange, RoomRole};
use huddle_core::{Permission, Role, RoomKind, RoomLookup, Timestamp, UserLookup};
use serde_json::{json, Value};

use super::error::{coded, RcError, RcResult};
use super::extract::{Auth, MaybeAuth, Params};
use super::{ok, ok_empty};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions.listAll", get(list_all))
        .route("/permissions.update", post(update))
        .route("/roles.list", get(roles_list))
        .route("/roles.getUsersInRole", get(users_in_role))
        .route("/roles.addUserToRole", post(add_user_to_role))
        .route("/roles.removeUserFromRole", post(remove_user_from_role))
        .route("/settings.public", get(settings_public))
        .route("/settings/{id}", get(get_setting).post(set_setting))
}

fn permission(p: &Permission) -> Value {
    json!({ "_id": p.id, "roles": p.roles, "_updatedAt": p.updated_at })
}

fn role(r: &Role) -> Value {
    json!({ "_id": r.name, "name": r.name, "scope": r.scope.as_str(), "description": r.description, "protected": r.protected, "mandatory2fa": false })
}

async fn list_all(State(s): State<AppState>, Auth(_actor): Auth, p: Params) -> RcResult {
    let since = match p.str("updatedSince")? {
        Some(v) => Some(Timestamp::parse_iso(&v).ok_or_else(|| {
            coded(
                "error-roomId-param-invalid",
                "The \"updatedSince\" query parameter must be a valid date.",
            )
        })?),
        None => None,
    };
    let perms = s.huddle.list_permissions().await?;
    let update: Vec<Value> = perms
        .iter()
        .filter(|p| since.is_none_or(|t| p.updated_at > t))
        .map(permission)
        .collect();
    ok(json!({ "update": update, "remove": [] }))
}

/// `{permissions: [{_id, roles}]}`; anything else is `error-invalid-body-params`.
async fn update(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let invalid = || coded("error-invalid-body-params", "Invalid body params");
    let Some(Value::Array(items)) = p.0.get("permissions") else {
        return Err(invalid());
    };
    let mut changes = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .get("_id")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        let roles = item
            .get("roles")
            .and_then(Value::as_array)
            .ok_or_else(invalid)?;
        let roles: Option<Vec<String>> = roles
            .iter()
            .map(|r| r.as_str().map(str::to_string))
            .collect();
        changes.push((id.to_string(), roles.ok_or_else(invalid)?));
    }
    let perms = s.huddle.update_permissions(&actor, &changes).await?;
    ok(json!({ "permissions": perms.iter().map(permission).collect::<Vec<_>>() }))
}

async fn roles_list(State(s): State<AppState>, Auth(_actor): Auth) -> RcResult {
    let roles = s.huddle.list_roles().await?;
    ok(json!({ "roles": roles.iter().map(role).collect::<Vec<_>>() }))
}

async fn users_in_role(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let name = p.str("role")?.ok_or_else(|| {
        coded(
            "error-param-not-provided",
            "Query param \"role\" is required",
        )
    })?;
    let (offset, count) = p.paging()?;
    let page = s
        .huddle
        .users_in_role(&actor, &name, s.huddle.paging(offset, count))
        .await?;
    let users: Vec<Value> = page
        .items
        .iter()
        .map(|u| {
            json!({ "_id": u.id, "name": u.name, "username": u.username,
                    "emails": u.email.as_ref().map(|e| vec![json!({"address": e, "verified": u.email_verified})]).unwrap_or_default(),
                    "createdAt": u.created_at, "_updatedAt": u.updated_at })
        })
        .collect();
    ok(json!({ "users": users, "total": page.total }))
}

fn role_and_user(p: &Params) -> Result<(String, UserLookup), RcError> {
    let role = match p.str("roleId")? {
        Some(r) => r,
        None => p.str("roleName")?.ok_or_else(|| {
            coded(
                "error-invalid-role-properties",
                "The role properties are invalid.",
            )
        })?,
    };
    let user = p.str("username")?.ok_or_else(|| {
        coded(
            "error-invalid-role-properties",
            "The role properties are invalid.",
        )
    })?;
    Ok((role, UserLookup::Username(user)))
}

fn room_role(name: &str) -> Option<RoomRole> {
    match name {
        "owner" => Some(RoomRole::Owner),
        "moderator" => Some(RoomRole::Moderator),
        "leader" => Some(RoomRole::Leader),
        _ => None,
    }
}

/// Global roles go on the user; `owner`/`moderator`/`leader` with `roomId` on the membership.
async fn add_user_to_role(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (name, user) = role_and_user(&p)?;
    if let (Some(rid), Some(rr)) = (p.str("roomId")?, room_role(&name)) {
        let room = s
            .huddle
            .find_room(&RoomLookup::Id(rid), RoomKind::Any, true)
            .await?;
        s.huddle
            .change_room_role(&actor, room, &user, rr, RoleChange::Add)
            .await?;
        let r = s
            .huddle
            .list_roles()
            .await?
            .into_iter()
            .find(|r| r.name == name);
        return ok(json!({ "role": r.as_ref().map(role) }));
    }
    let (r, _) = s
        .huddle
        .add_user_to_role(Some(&actor), &name, &user)
        .await?;
    ok(json!({ "role": role(&r) }))
}

async fn remove_user_from_role(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let (name, user) = role_and_user(&p)?;
    if let (Some(rid), Some(rr)) = (p.str("scope")?.or(p.str("roomId")?), room_role(&name)) {
        let room = s
            .huddle
            .find_room(&RoomLookup::Id(rid), RoomKind::Any, true)
            .await?;
        s.huddle
            .change_room_role(&actor, room, &user, rr, RoleChange::Remove)
            .await?;
        let r = s
            .huddle
            .list_roles()
            .await?
            .into_iter()
            .find(|r| r.name == name);
        return ok(json!({ "role": r.as_ref().map(role) }));
    }
    let (r, _) = s.huddle.remove_user_from_role(&actor, &name, &user).await?;
    ok(json!({ "role": role(&r) }))
}

async fn settings_public(State(s): State<AppState>, p: Params) -> RcResult {
    let all = s.huddle.public_settings();
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let total = all.len();
    let start = (paging.offset as usize).min(total);
    let end = paging
        .count
        .map(|c| (start + c as usize).min(total))
        .unwrap_or(total);
    let settings: Vec<Value> = all[start..end]
        .iter()
        .map(|(id, v)| json!({ "_id": id, "value": v }))
        .collect();
    ok(
        json!({ "settings": settings, "count": settings.len(), "offset": paging.offset, "total": total }),
    )
}

async fn get_setting(
    State(s): State<AppState>,
    MaybeAuth(actor): MaybeAuth,
    Path(id): Path<String>,
) -> RcResult {
    let value = s.huddle.read_setting(actor.as_ref(), &id)?;
    ok(json!({ "_id": id, "value": value }))
}

async fn set_setting(
    State(s): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    p: Params,
) -> RcResult {
    let value =
        p.0.get("value")
            .cloned()
            .ok_or_else(|| coded("invalid-params", "must have required property 'value'"))?;
    s.huddle.write_setting(&actor, &id, value).await?;
    ok_empty()
}
