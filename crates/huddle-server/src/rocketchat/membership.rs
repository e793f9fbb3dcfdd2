//! Membership endpoints (reference §5.1–§5.12): invite, kick, join, leave, addAll, room roles
//! and member lists for `channels.*`, `groups.*` and `rooms.leave`.

use axum::extract::State;
use axum::routing::{post, MethodRouter};
use huddle_core::services::{RoleChange, RoomRole};
use huddle_core::{Error, MemberQuery, Room, RoomKind, RoomLookup, RoomType};
use serde_json::{json, Value};

use super::error::{RcError, RcResult};
use super::extract::{Auth, Params};
use super::rooms::room_out;
use super::rooms::{resolve, Ch, Flavour, Gr};
use super::{ok, ok_empty, ok_typed, shape};
use crate::openapi::schema::{array, object, rc_ok, rc_page, shape};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;
use utoipa::openapi::HttpMethod::Post;

pub fn routes() -> ApiRouter {
    use RoleChange::{Add, Remove};
    use RoomRole::{Leader, Moderator, Owner};
    let role_op = |what| user(what).room().user_sel();
    ApiRouter::new()
        .post(
            "/channels.invite",
            invite::<Ch>,
            user("Add users to a room")
                .room()
                .users()
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.invite",
            invite::<Gr>,
            user("Add users to a room")
                .room()
                .users()
                .ok(room_out::<Gr>()),
        )
        .post(
            "/channels.kick",
            kick::<Ch>,
            user("Remove a user from a room")
                .room()
                .user_sel()
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.kick",
            kick::<Gr>,
            user("Remove a user from a room").room().user_sel(),
        )
        .post(
            "/channels.join",
            join,
            user("Join a public channel")
                .room()
                .opt("joinCode", Str)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/channels.leave",
            leave::<Ch>,
            user("Leave a room").room().ok(room_out::<Ch>()),
        )
        .post("/groups.leave", leave::<Gr>, user("Leave a room").room())
        .post(
            "/channels.addAll",
            add_all::<Ch>,
            user("Add every user to a room (admin)")
                .room()
                .opt("activeUsersOnly", Bool)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.addAll",
            add_all::<Gr>,
            user("Add every user to a room (admin)")
                .room()
                .opt("activeUsersOnly", Bool)
                .ok(room_out::<Gr>()),
        )
        .get(
            "/channels.members",
            members::<Ch>,
            user("A room's members")
                .room()
                .opt("filter", Str)
                .opt("status", StrList)
                .paged()
                .ok(rc_page("members", shape("User"))),
        )
        .get(
            "/groups.members",
            members::<Gr>,
            user("A room's members")
                .room()
                .opt("filter", Str)
                .opt("status", StrList)
                .paged()
                .ok(rc_page("members", shape("User"))),
        )
        .get(
            "/channels.moderators",
            moderators::<Ch>,
            user("A room's moderators")
                .room()
                .ok(rc_ok(&[("moderators", array(shape("UserRef")))])),
        )
        .get(
            "/groups.moderators",
            moderators::<Gr>,
            user("A room's moderators")
                .room()
                .ok(rc_ok(&[("moderators", array(shape("UserRef")))])),
        )
        .get(
            "/channels.roles",
            roles::<Ch>,
            user("Members with a room role")
                .room()
                .ok(rc_ok(&[("roles", array(object()))])),
        )
        .get(
            "/groups.roles",
            roles::<Gr>,
            user("Members with a room role")
                .room()
                .ok(rc_ok(&[("roles", array(object()))])),
        )
        .post(
            "/rooms.leave",
            rooms_leave,
            user("Leave a room of any kind").room(),
        )
        .at(
            Post,
            "/channels.addOwner",
            set_role_route::<Ch>(Owner, Add),
            role_op("Make a member an owner"),
        )
        .at(
            Post,
            "/groups.addOwner",
            set_role_route::<Gr>(Owner, Add),
            role_op("Make a member an owner"),
        )
        .at(
            Post,
            "/channels.removeOwner",
            set_role_route::<Ch>(Owner, Remove),
            role_op("Take the owner role away"),
        )
        .at(
            Post,
            "/groups.removeOwner",
            set_role_route::<Gr>(Owner, Remove),
            role_op("Take the owner role away"),
        )
        .at(
            Post,
            "/channels.addModerator",
            set_role_route::<Ch>(Moderator, Add),
            role_op("Make a member a moderator"),
        )
        .at(
            Post,
            "/groups.addModerator",
            set_role_route::<Gr>(Moderator, Add),
            role_op("Make a member a moderator"),
        )
        .at(
            Post,
            "/channels.removeModerator",
            set_role_route::<Ch>(Moderator, Remove),
            role_op("Take the moderator role away"),
        )
        .at(
            Post,
            "/groups.removeModerator",
            set_role_route::<Gr>(Moderator, Remove),
            role_op("Take the moderator role away"),
        )
        .at(
            Post,
            "/channels.addLeader",
            set_role_route::<Ch>(Leader, Add),
            role_op("Make a member a leader"),
        )
        .at(
            Post,
            "/groups.addLeader",
            set_role_route::<Gr>(Leader, Add),
            role_op("Make a member a leader"),
        )
        .at(
            Post,
            "/channels.removeLeader",
            set_role_route::<Ch>(Leader, Remove),
            role_op("Take the leader role away"),
        )
        .at(
            Post,
            "/groups.removeLeader",
            set_role_route::<Gr>(Leader, Remove),
            role_op("Take the leader role away"),
        )
}

/// `POST` of one room-role change: one generic handler for every role, direction and flavour.
fn set_role_route<F: Flavour>(role: RoomRole, change: RoleChange) -> MethodRouter<AppState> {
    post(move |s, a, p| set_role::<F>(s, a, p, role, change))
}

/// The room an invite names. `groups.invite` looks a group up by id or name without an access
/// or archived check (the permission check follows); `channels.invite` refuses archived rooms.
async fn invite_room<F: Flavour>(s: &AppState, p: &Params) -> Result<Room, RcError> {
    let lookup = p.room()?;
    if F::T == RoomType::Group {
        let key = match lookup {
            RoomLookup::Id(k) | RoomLookup::Name(k) | RoomLookup::IdOrName(k) => k,
        };
        return Ok(s
            .huddle
            .find_room(&RoomLookup::IdOrName(key), RoomKind::Group, true)
            .await?);
    }
    Ok(s.huddle.find_room(&lookup, F::KIND, false).await?)
}

/// `channels.invite` / `groups.invite` (seeds 001–003).
async fn invite<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = invite_room::<F>(&s, &p).await?;
    let (keys, by_id) = p.user_list()?;
    let users = s.huddle.find_invitees(&keys, by_id).await?;
    if users.is_empty() && F::T == RoomType::Channel {
        // Rocket.Chat's channels.invite swaps the two arguments of its failure helper; clients
        // written against it see exactly this body.
        return swapped_invite_failure();
    }
    let usernames: Vec<String> = users.iter().filter_map(|u| u.username.clone()).collect();
    let outcome = s.huddle.invite(&actor, room, users).await?;
    let mut body = shape::room(&outcome.room);
    body["usernames"] = json!(usernames);
    ok(json!({ F::KEY: body }))
}

fn swapped_invite_failure() -> RcResult {
    use axum::response::IntoResponse;
    Ok((
        axum::http::StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "success": false,
            "error": "invalid-user-invite-list",
            "errorType": "Cannot invite if no users are provided"
        })),
    )
        .into_response())
}

/// `channels.kick` answers the room; `groups.kick` answers only `success`.
async fn kick<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let lookup = p.room()?;
    let room = match F::T {
        RoomType::Channel => s.huddle.find_room(&lookup, F::KIND, false).await?,
        _ => s.huddle.find_room(&lookup, F::KIND, true).await?,
    };
    let room = s.huddle.kick(&actor, room, &target(&p)?).await?;
    match F::T {
        RoomType::Channel => ok(json!({ F::KEY: shape::room(&room) })),
        _ => ok_empty(),
    }
}

fn target(p: &Params) -> Result<huddle_core::UserLookup, RcError> {
    p.user()?.ok_or_else(|| {
        RcError(Error::invalid(
            "error-user-param-not-provided",
            "The required \"userId\" or \"username\" param was not provided",
        ))
    })
}

async fn join(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = s
        .huddle
        .find_room(&p.room()?, RoomKind::Channel, false)
        .await?;
    let room = s
        .huddle
        .join(&actor, room, p.str("joinCode")?.as_deref())
        .await?;
    ok(json!({ "channel": shape::room(&room) }))
}

async fn leave<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    let room = s.huddle.leave(&actor, room).await?;
    match F::T {
        RoomType::Channel => ok(json!({ F::KEY: shape::room(&room) })),
        _ => ok_empty(),
    }
}

async fn rooms_leave(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = s.huddle.find_room(&p.room()?, RoomKind::Any, true).await?;
    s.huddle.leave(&actor, room).await?;
    ok_empty()
}

async fn add_all<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    let room = s
        .huddle
        .add_all(&actor, room, p.bool("activeUsersOnly")?.unwrap_or(false))
        .await?;
    ok(json!({ F::KEY: shape::room(&room) }))
}

async fn set_role<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
    role: RoomRole,
    change: RoleChange,
) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    s.huddle
        .change_room_role(&actor, room, &target(&p)?, role, change)
        .await?;
    ok_empty()
}

/// Channel member lists need room access (Rocket.Chat 7's `canAccessRoom`), 403 otherwise.
async fn readable_room<F: Flavour>(
    s: &AppState,
    actor: &huddle_core::Actor,
    p: &Params,
) -> Result<Room, RcError> {
    let room = resolve::<F>(s, actor, p, true).await?;
    if F::T == RoomType::Channel && !s.huddle.may_read(actor, &room).await? {
        return Err(Error::unauthorized().into());
    }
    Ok(room)
}

async fn members<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = readable_room::<F>(&s, &actor, &p).await?;
    let (offset, count) = p.paging()?;
    let query = MemberQuery {
        text: p.str("filter")?,
        statuses: p.list("status")?.unwrap_or_default(),
        paging: s.huddle.paging(offset, count),
        sort_desc: p.sort_desc("username")?,
    };
    let page = s.huddle.members(&room, &query).await?;
    ok_typed(&shape::members_page(&page, query.paging.offset))
}

async fn moderators<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let room = readable_room::<F>(&s, &actor, &p).await?;
    let subs = s.huddle.room_roles(&room).await?;
    let mods: Vec<Value> = subs
        .iter()
        .filter(|s| s.has_role("moderator"))
        .map(|s| shape::user_ref(&s.u))
        .collect();
    ok(json!({ "moderators": mods }))
}

async fn roles<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = readable_room::<F>(&s, &actor, &p).await?;
    let subs = s.huddle.room_roles(&room).await?;
    let roles: Vec<Value> = subs
        .iter()
        .map(|s| json!({ "_id": s.id, "rid": s.rid, "u": shape::user_ref(&s.u), "roles": s.roles }))
        .collect();
    ok(json!({ "roles": roles }))
}
