//! The read endpoints of `channels.*` and `groups.*` (history, messages, counters, room
//! lists, `rooms.get`, `rooms.info`); `im.*` uses the same history, messages and counters.

use axum::extract::State;
use huddle_core::{Actor, MessageQuery, Room, RoomKind, RoomLookup, RoomQuery, Timestamp};
use serde_json::{json, Value};

use super::error::{coded, RcError, RcResult};
use super::extract::{Auth, Params};
use super::rooms::{resolve, Ch, Flavour, Gr};
use super::{ok, shape};
use crate::openapi::schema::{array, boolean, integer, rc_ok, rc_page, shape};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::shape::Dates;
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/channels.history",
            history::<Ch>,
            user("A room's messages, newest first")
                .room()
                .opt("latest", Str)
                .opt("oldest", Str)
                .opt("inclusive", Bool)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_ok(&[("messages", array(shape("Message")))])),
        )
        .get(
            "/groups.history",
            history::<Gr>,
            user("A room's messages, newest first")
                .room()
                .opt("latest", Str)
                .opt("oldest", Str)
                .opt("inclusive", Bool)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_ok(&[("messages", array(shape("Message")))])),
        )
        .get(
            "/channels.messages",
            messages::<Ch>,
            user("A room's messages, paged")
                .room()
                .paged()
                .ok(rc_page("messages", shape("Message"))),
        )
        .get(
            "/groups.messages",
            messages::<Gr>,
            user("A room's messages, paged")
                .room()
                .paged()
                .ok(rc_page("messages", shape("Message"))),
        )
        .get(
            "/channels.counters",
            counters::<Ch>,
            user("Unread and message counters")
                .room()
                .opt("userId", Str)
                .ok(rc_ok(&[
                    ("joined", boolean()),
                    ("members", integer()),
                    ("msgs", integer()),
                ])),
        )
        .get(
            "/groups.counters",
            counters::<Gr>,
            user("Unread and message counters")
                .room()
                .opt("userId", Str)
                .ok(rc_ok(&[
                    ("joined", boolean()),
                    ("members", integer()),
                    ("msgs", integer()),
                ])),
        )
        .get(
            "/channels.list",
            list_channels,
            user("Public channels")
                .opt("_id", Str)
                .paged()
                .ok(rc_page("channels", shape("Room"))),
        )
        .get(
            "/channels.list.joined",
            list_joined::<Ch>,
            user("Channels the caller is in")
                .paged()
                .ok(rc_page("channels", shape("Room"))),
        )
        .get(
            "/groups.list",
            list_joined::<Gr>,
            user("Private groups the caller is in")
                .paged()
                .ok(rc_page("groups", shape("Room"))),
        )
        .get(
            "/groups.listAll",
            list_all_groups,
            user("Every private group (admin)")
                .paged()
                .ok(rc_page("groups", shape("Room"))),
        )
        .get(
            "/rooms.get",
            rooms_get,
            user("The caller's rooms")
                .opt("updatedSince", Str)
                .ok(rc_ok(&[("update", array(shape("Room")))])),
        )
        .get(
            "/rooms.info",
            rooms_info,
            user("A room's information")
                .room()
                .ok(rc_ok(&[("room", shape("Room"))])),
        )
}

fn time_param(p: &Params, key: &str) -> Result<Option<Timestamp>, RcError> {
    match p.str(key)? {
        None => Ok(None),
        Some(v) => Timestamp::parse_iso(&v)
            .map(Some)
            .ok_or_else(|| coded("error-invalid-date", format!("Invalid date for `{key}`"))),
    }
}

/// `*.history`: newest first, `count` default 20, bounded by `latest`/`oldest`.
pub async fn history_of(s: &AppState, actor: &Actor, room: &Room, p: &Params) -> RcResult {
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, Some(count.unwrap_or(20)));
    let query = MessageQuery {
        latest: time_param(p, "latest")?,
        oldest: time_param(p, "oldest")?,
        inclusive: p.bool("inclusive")?.unwrap_or(false),
        paging,
        ascending: false,
        filter: None,
    };
    let page = s.huddle.history(actor, room, &query).await?;
    let messages: Vec<Value> = page.items.iter().map(shape::message).collect();
    ok(json!({ "messages": messages }))
}

async fn history<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, true).await?;
    history_of(&s, &actor, &room, &p).await
}

/// `*.messages`: paginated, newest first, with totals.
pub async fn messages_of(s: &AppState, actor: &Actor, room: &Room, p: &Params) -> RcResult {
    let (offset, count) = p.paging()?;
    let asc = p
        .json_object("sort", "error-invalid-sort", "sort")?
        .and_then(|m| m.get("ts").and_then(Value::as_i64))
        == Some(1);
    let query = MessageQuery {
        paging: s.huddle.paging(offset, count),
        ascending: asc,
        ..Default::default()
    };
    let page = s.huddle.history(actor, room, &query).await?;
    let messages: Vec<Value> = page.items.iter().map(shape::message).collect();
    ok(
        json!({ "messages": messages, "count": messages.len(), "offset": query.paging.offset, "total": page.total }),
    )
}

async fn messages<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, true).await?;
    messages_of(&s, &actor, &room, &p).await
}

/// `*.counters`: the caller's (or, with `view-room-administration`, another user's) view.
pub async fn counters_of(s: &AppState, actor: &Actor, room: &Room, p: &Params) -> RcResult {
    let user_id = p.str("userId")?;
    let (sub, members) = s.huddle.counters(actor, room, user_id.as_deref()).await?;
    ok(json!({
        "joined": sub.is_some(),
        "members": members,
        "unreads": sub.as_ref().map(|s| s.unread),
        "unreadsFrom": sub.as_ref().and_then(|s| s.ls).or(sub.as_ref().map(|s| s.ts)),
        "msgs": room.msgs,
        // Rocket.Chat: the last message's time, else the room's `_updatedAt` (always a date).
        "latest": room.last_message_at.unwrap_or(room.updated_at),
        "userMentions": sub.as_ref().map(|s| s.user_mentions).unwrap_or(0),
    }))
}

async fn counters<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, true).await?;
    counters_of(&s, &actor, &room, &p).await
}

/// A page of rooms, each with its `lastMessage` as the caller may see it.
async fn room_list(
    s: &AppState,
    actor: &Actor,
    key: &str,
    page: huddle_core::Page<Room>,
    offset: i64,
) -> RcResult {
    let rooms = crate::shape::rooms_with_last(&s.huddle, actor, &page.items, Dates::Iso).await?;
    ok(json!({ key: rooms, "count": rooms.len(), "offset": offset, "total": page.total }))
}

fn room_query(s: &AppState, p: &Params) -> Result<RoomQuery, RcError> {
    let (offset, count) = p.paging()?;
    let query = p.json_object("query", "error-invalid-query", "query")?;
    let text = query
        .as_ref()
        .and_then(|q| q.get("name"))
        .and_then(|n| n.get("$regex").or(Some(n)))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(RoomQuery {
        paging: s.huddle.paging(offset, count),
        sort_desc: p.sort_desc("name")?,
        text,
        ..Default::default()
    })
}

async fn list_channels(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let mut query = room_query(&s, &p)?;
    if let Some(id) = p.str("_id")? {
        query.ids = Some(vec![id]);
    }
    let offset = query.paging.offset;
    let page = s.huddle.list_channels(&actor, query).await?;
    room_list(&s, &actor, "channels", page, offset).await
}

async fn list_joined<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let mut query = room_query(&s, &p)?;
    query.types = vec![F::T];
    query.member = Some(actor.user().id.clone());
    let offset = query.paging.offset;
    let page = s.huddle.list_rooms(&query).await?;
    room_list(&s, &actor, F::LIST_KEY, page, offset).await
}

async fn list_all_groups(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let query = room_query(&s, &p)?;
    let offset = query.paging.offset;
    let page = s.huddle.list_all_groups(&actor, query).await?;
    room_list(&s, &actor, "groups", page, offset).await
}

/// `rooms.get`: every room the caller is in, `{update, remove}` (nothing is tracked as removed).
async fn rooms_get(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let since = time_param(&p, "updatedSince")?;
    let rooms = s.huddle.rooms_of(&actor, since).await?;
    let update = crate::shape::rooms_with_last(&s.huddle, &actor, &rooms, Dates::Iso).await?;
    ok(json!({ "update": update, "remove": [] }))
}

async fn rooms_info(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let lookup = match (p.str("roomId")?, p.str("roomName")?) {
        (Some(id), _) => RoomLookup::Id(id),
        (None, Some(n)) => RoomLookup::Name(n),
        _ => {
            return Err(coded(
                "error-room-param-not-provided",
                "The parameter \"roomId\" or \"roomName\" is required",
            ))
        }
    };
    let room = s.huddle.find_room(&lookup, RoomKind::Any, true).await?;
    if !s.huddle.may_read(&actor, &room).await? {
        return Err(huddle_core::Error::unauthorized().into());
    }
    let shaped = crate::shape::room_with_last(&s.huddle, &actor, &room, Dates::Iso).await?;
    ok(json!({ "room": shaped }))
}
