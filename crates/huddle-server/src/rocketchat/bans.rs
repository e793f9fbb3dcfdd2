//! Room bans: `rooms.banUser`, `rooms.unbanUser`, `rooms.bannedUsers` (Rocket.Chat 8.4).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use huddle_core::{Error, RoomKind, RoomLookup, UserLookup};
use serde_json::{json, Value};

use super::error::{coded, RcError, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty};
use crate::openapi::schema::{object, rc_page};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let target = |what| user(what).req("roomId", Str).user_sel();
    ApiRouter::new()
        .post("/rooms.banUser", ban, target("Ban a user from a room"))
        .post("/rooms.unbanUser", unban, target("Lift a ban"))
        .get(
            "/rooms.bannedUsers",
            banned,
            user("A room's banned users")
                .req("roomId", Str)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_page("bannedUsers", object())),
        )
}

/// `roomId` and the user (`userId` or `username`), both required.
fn target(p: &Params) -> Result<(String, UserLookup), RcError> {
    let rid = p.required("roomId")?;
    let user = p.user()?.ok_or_else(|| {
        coded(
            "invalid-params",
            "must have required property 'userId'\n must have required property 'username'\n must match exactly one schema in oneOf",
        )
    })?;
    Ok((rid, user))
}

async fn ban(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (rid, user) = target(&p)?;
    let room = s
        .huddle
        .find_room(&RoomLookup::Id(rid), RoomKind::Any, false)
        .await?;
    s.huddle.ban(&actor, room, &user).await?;
    ok_empty()
}

async fn unban(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (rid, user) = target(&p)?;
    let room = s
        .huddle
        .find_room(&RoomLookup::Id(rid), RoomKind::Any, false)
        .await?;
    s.huddle.unban(&actor, room, &user).await?;
    ok_empty()
}

/// Rocket.Chat's `API.v1.unauthorized()` of 8.x: 401 `{success: false, error: "unauthorized"}`.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "success": false, "error": "unauthorized" })),
    )
        .into_response()
}

/// Who cannot see the room (or names none that exists) is answered 401, as Rocket.Chat does.
async fn banned(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p.required("roomId")?;
    let Ok(room) = s
        .huddle
        .find_room(&RoomLookup::Id(rid), RoomKind::Any, true)
        .await
    else {
        return Ok(unauthorized());
    };
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = match s.huddle.banned_users(&actor, &room, paging).await {
        Err(Error::Forbidden(_)) => return Ok(unauthorized()),
        other => other?,
    };
    let users: Vec<Value> = page
        .items
        .iter()
        .map(|b| json!({ "_id": b.uid, "username": b.username, "name": b.name }))
        .collect();
    ok(
        json!({ "bannedUsers": users, "count": users.len(), "offset": paging.offset, "total": page.total }),
    )
}
