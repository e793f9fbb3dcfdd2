//! `permissions.*`, `roles.*` and `settings` (reference §7.4, §5.17).

use axum::extract::{Path, State};
use huddle_core::services::{RoleChange, RoleInput, RoomRole};
use huddle_core::{Permission, Role, RoleScope, RoomKind, RoomLookup, Timestamp, UserLookup};
use serde_json::{json, Value};

use super::error::{coded, RcError, RcResult};
use super::extract::{Auth, MaybeAuth, Params};
use super::{ok, ok_empty};
use crate::openapi::schema::{any, array, integer, obj, object, rc_ok, rc_page, string};
use crate::openapi::{maybe_user, public, user, ApiRouter, Op, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let role_out = || rc_ok(&[("role", object())]);
    let role_fields = |op: Op| {
        op.opt("scope", Str)
            .opt("description", Str)
            .opt("mandatory2fa", Bool)
    };
    let role_user = |what| {
        user(what)
            .strs(&["roleId", "roleName"])
            .req("username", Str)
            .opt("roomId", Str)
    };
    ApiRouter::new()
        .get(
            "/permissions.listAll",
            list_all,
            user("Every permission and its roles")
                .opt("updatedSince", Str)
                .ok(rc_ok(&[("update", array(object()))])),
        )
        .post(
            "/permissions.update",
            update,
            user("Set the roles of permissions (admin)")
                .body(obj(
                    &[(
                        "permissions",
                        array(obj(
                            &[("_id", string()), ("roles", array(string()))],
                            &["_id", "roles"],
                        )),
                    )],
                    &["permissions"],
                ))
                .ok(rc_ok(&[("permissions", array(object()))])),
        )
        .get(
            "/roles.list",
            roles_list,
            user("Every role").ok(rc_ok(&[("roles", array(object()))])),
        )
        .get(
            "/roles.sync",
            roles_sync,
            user("Roles changed since a time")
                .req("updatedSince", Str)
                .ok(rc_ok(&[("roles", object())])),
        )
        .post(
            "/roles.create",
            roles_create,
            role_fields(user("Create a role (admin)").req("name", Str)).ok(role_out()),
        )
        .post(
            "/roles.update",
            roles_update,
            role_fields(
                user("Change a role (admin)")
                    .req("roleId", Str)
                    .req("name", Str),
            )
            .ok(role_out()),
        )
        .post(
            "/roles.delete",
            roles_delete,
            user("Delete a role (admin)").req("roleId", Str),
        )
        .get(
            "/roles.getUsersInPublicRoles",
            users_in_public_roles,
            user("Users holding public roles").ok(rc_ok(&[("users", array(object()))])),
        )
        .get(
            "/roles.getUsersInRole",
            users_in_role,
            user("Users holding a role")
                .req("role", Str)
                .opt("roomId", Str)
                .paged()
                .ok(rc_ok(&[("users", array(object())), ("total", integer())])),
        )
        .post(
            "/roles.addUserToRole",
            add_user_to_role,
            role_user("Give a user a role (admin)"),
        )
        .post(
            "/roles.removeUserFromRole",
            remove_user_from_role,
            role_user("Take a role from a user (admin)").opt("scope", Str),
        )
        .get(
            "/settings.public",
            settings_public,
            public("The public settings")
                .paged()
                .ok(rc_page("settings", object())),
        )
        .get(
            "/settings/{_id}",
            get_setting,
            maybe_user("One setting (public ones without login)")
                .ok(rc_ok(&[("_id", string()), ("value", any())])),
        )
        .post(
            "/settings/{_id}",
            set_setting,
            user("Change a setting (admin)").req("value", Any),
        )
}

fn permission(p: &Permission) -> Value {
    json!({ "_id": p.id, "roles": p.roles, "_updatedAt": p.updated_at })
}

/// A role as `roles.list` shows it (`mandatory2fa` is always false: Huddle has no 2FA).
fn role(r: &Role) -> Value {
    json!({ "_id": r.id, "name": r.name, "scope": r.scope.as_str(), "description": r.description, "protected": r.protected, "mandatory2fa": false })
}

/// With `_updatedAt`, as `roles.create`, `roles.update` and `roles.sync` answer.
fn role_dated(r: &Role) -> Value {
    let mut v = role(r);
    v["_updatedAt"] = json!(r.updated_at);
    v
}

/// `roles.create` / `roles.update` bodies: Rocket.Chat validates them as a whole and answers
/// `error-invalid-role-properties` for anything off (wrong types, unknown keys).
fn role_input(p: &Params, allowed: &[&str]) -> Result<RoleInput, RcError> {
    let invalid = || {
        coded(
            "error-invalid-role-properties",
            "The role properties are invalid.",
        )
    };
    if p.0.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid());
    }
    let text = |key: &str| match p.0.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) => Ok(Some(v.clone())),
        Some(_) => Err(invalid()),
    };
    let mandatory2fa = match p.0.get("mandatory2fa") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid()),
    };
    if let Some(scope) = text("scope")? {
        if scope != "Users" && scope != "Subscriptions" {
            return Err(invalid());
        }
    }
    Ok(RoleInput {
        name: text("name")?.ok_or_else(invalid)?,
        scope: text("scope")?,
        description: text("description")?,
        mandatory2fa,
    })
}

async fn roles_create(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let input = role_input(&p, &["name", "scope", "description", "mandatory2fa"])?;
    let r = s.huddle.create_role(&actor, &input).await?;
    ok(json!({ "role": role_dated(&r) }))
}

async fn roles_update(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let input = role_input(
        &p,
        &["roleId", "name", "scope", "description", "mandatory2fa"],
    )?;
    let id = p.str("roleId")?.ok_or_else(|| {
        coded(
            "error-invalid-role-properties",
            "The role properties are invalid.",
        )
    })?;
    let r = s.huddle.update_role(&actor, &id, &input).await?;
    ok(json!({ "role": role_dated(&r) }))
}

async fn roles_delete(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = p.required("roleId")?;
    s.huddle.delete_role(&actor, &id).await?;
    ok_empty()
}

async fn roles_sync(State(s): State<AppState>, Auth(_actor): Auth, p: Params) -> RcResult {
    let since = p.required("updatedSince")?;
    let since = Timestamp::parse_iso(&since).ok_or_else(|| {
        coded(
            "error-updatedSince-param-invalid",
            "The \"updatedSince\" query parameter must be a valid date.",
        )
    })?;
    let (update, remove) = s.huddle.roles_since(since).await?;
    ok(json!({ "roles": {
        "update": update.iter().map(role_dated).collect::<Vec<_>>(),
        "remove": remove.iter().map(role_dated).collect::<Vec<_>>(),
    } }))
}

async fn users_in_public_roles(State(s): State<AppState>, Auth(_actor): Auth) -> RcResult {
    let users: Vec<Value> = s
        .huddle
        .users_in_public_roles()
        .await?
        .iter()
        .map(|(u, roles)| json!({ "_id": u.id, "username": u.username, "roles": roles }))
        .collect();
    ok(json!({ "users": users }))
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
    let room = p.str("roomId")?;
    let page = s
        .huddle
        .users_in_role(
            &actor,
            &name,
            room.as_deref(),
            s.huddle.paging(offset, count),
        )
        .await?;
    let users: Vec<Value> = page
        .items
        .iter()
        .map(|u| {
            json!({ "_id": u.id, "name": u.name, "username": u.username, "type": u.kind,
                    "status": u.status, "active": u.active,
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
            .find(|r| r.id == name || r.name == name);
        return ok(json!({ "role": r.as_ref().map(role) }));
    }
    if p.str("roomId")?.is_some() {
        // A room-scoped role other than owner/moderator/leader would be held in the room;
        // Huddle's custom roles are global grants only, so that is refused, not widened.
        let roles = s.huddle.list_roles().await?;
        let scoped = roles.iter().find(|r| r.id == name || r.name == name);
        if scoped.is_some_and(|r| r.scope == RoleScope::Subscriptions) {
            return Err(coded(
                "error-action-not-allowed",
                "Custom roles cannot be held in a room",
            ));
        }
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
            .find(|r| r.id == name || r.name == name);
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
