//! `channels.*` and `groups.*` room endpoints (creation, info, lists, settings, history).
//! Both families share handlers, parameterised by `Flavour`; membership endpoints live in
//! `membership.rs`.

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use huddle_core::services::{CreateRoom, RoomUpdate};
use huddle_core::{
    Actor, MessageQuery, Room, RoomKind, RoomLookup, RoomQuery, RoomType, Timestamp,
};
use serde_json::{json, Value};

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty, shape};
use crate::shape::Dates;
use crate::state::AppState;

/// What differs between `channels.*`, `groups.*` and `im.*`.
pub trait Flavour: Send + Sync + 'static {
    const KIND: RoomKind;
    const T: RoomType;
    /// The key of the room object in responses (`channel`, `group`, `room`).
    const KEY: &'static str;
    /// The key of room lists (`channels`, `groups`, `ims`).
    const LIST_KEY: &'static str;
}

pub struct Ch;
pub struct Gr;

impl Flavour for Ch {
    const KIND: RoomKind = RoomKind::Channel;
    const T: RoomType = RoomType::Channel;
    const KEY: &'static str = "channel";
    const LIST_KEY: &'static str = "channels";
}

impl Flavour for Gr {
    const KIND: RoomKind = RoomKind::Group;
    const T: RoomType = RoomType::Group;
    const KEY: &'static str = "group";
    const LIST_KEY: &'static str = "groups";
}

/// Finds the room of a request. Channels are visible to all; groups only to those who can
/// access them (others get the same "not found").
pub async fn resolve<F: Flavour>(
    s: &AppState,
    actor: &Actor,
    p: &Params,
    allow_archived: bool,
) -> Result<Room, RcError> {
    let lookup = p.room()?;
    let room = match F::KIND {
        RoomKind::Group => {
            s.huddle
                .find_accessible_room(actor.user(), &lookup, F::KIND, allow_archived)
                .await?
        }
        _ => s.huddle.find_room(&lookup, F::KIND, allow_archived).await?,
    };
    Ok(room)
}

pub fn routes() -> Router<AppState> {
    // Written out, `/channels.x` beside `/groups.x`, so a search for a path finds its line; the
    // handlers stay generic over the flavour.
    Router::new()
        .route("/channels.create", post(create::<Ch>))
        .route("/groups.create", post(create::<Gr>))
        .route("/channels.info", get(info::<Ch>))
        .route("/groups.info", get(info::<Gr>))
        .route("/channels.delete", post(delete::<Ch>))
        .route("/groups.delete", post(delete::<Gr>))
        .route("/channels.rename", post(rename::<Ch>))
        .route("/groups.rename", post(rename::<Gr>))
        .route("/channels.setTopic", post(set_topic::<Ch>))
        .route("/groups.setTopic", post(set_topic::<Gr>))
        .route("/channels.setDescription", post(set_description::<Ch>))
        .route("/groups.setDescription", post(set_description::<Gr>))
        .route("/channels.setAnnouncement", post(set_announcement::<Ch>))
        .route("/groups.setAnnouncement", post(set_announcement::<Gr>))
        .route("/channels.setReadOnly", post(set_read_only::<Ch>))
        .route("/groups.setReadOnly", post(set_read_only::<Gr>))
        .route("/channels.setType", post(set_type::<Ch>))
        .route("/groups.setType", post(set_type::<Gr>))
        .route("/channels.archive", post(archive::<Ch>))
        .route("/groups.archive", post(archive::<Gr>))
        .route("/channels.unarchive", post(unarchive::<Ch>))
        .route("/groups.unarchive", post(unarchive::<Gr>))
        .route("/channels.open", post(open::<Ch>))
        .route("/groups.open", post(open::<Gr>))
        .route("/channels.close", post(close::<Ch>))
        .route("/groups.close", post(close::<Gr>))
        .route("/channels.history", get(history::<Ch>))
        .route("/groups.history", get(history::<Gr>))
        .route("/channels.messages", get(messages::<Ch>))
        .route("/groups.messages", get(messages::<Gr>))
        .route("/channels.counters", get(counters::<Ch>))
        .route("/groups.counters", get(counters::<Gr>))
        .route("/channels.setJoinCode", post(set_join_code::<Ch>))
        .route("/groups.setJoinCode", post(set_join_code::<Gr>))
        .route("/channels.list", get(list_channels))
        .route("/channels.list.joined", get(list_joined::<Ch>))
        .route("/groups.list", get(list_joined::<Gr>))
        .route("/groups.listAll", get(list_all_groups))
        .route("/rooms.get", get(rooms_get))
        .route("/rooms.info", get(rooms_info))
}

fn room_body<F: Flavour>(room: &Room) -> Value {
    json!({ F::KEY: shape::room(room) })
}

async fn create<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let prefix = if F::T == RoomType::Group {
        "Body param "
    } else {
        "Param "
    };
    let name = p
        .str("name")?
        .ok_or_else(|| plain(format!("{prefix}\"name\" is required")))?;
    let members = match p.0.get("members") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(_)) => p.list("members")?.unwrap_or_default(),
        Some(_) => {
            return Err(plain(format!(
                "{prefix}\"members\" must be an array if provided"
            )))
        }
    };
    let extra = p.0.get("extraData").and_then(Value::as_object);
    let input = CreateRoom {
        name,
        members,
        read_only: p.bool("readOnly")?.unwrap_or(false),
        exclude_self: p.bool("excludeSelf")?.unwrap_or(false),
        topic: extra
            .and_then(|e| e.get("topic"))
            .and_then(Value::as_str)
            .map(str::to_string),
        description: extra
            .and_then(|e| e.get("description"))
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let room = s.huddle.create_room(&actor, F::T, input).await?;
    ok(room_body::<F>(&room))
}

async fn info<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, true).await?;
    let shaped = crate::shape::room_with_last(&s.huddle, &actor, &room, Dates::Iso).await?;
    ok(json!({ F::KEY: shaped }))
}

async fn delete<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve::<F>(&s, &actor, &p, true).await?;
    s.huddle.delete_room(&actor, room.clone()).await?;
    ok(room_body::<F>(&room))
}

/// Runs one setting change and answers the updated room.
async fn change<F: Flavour>(
    s: &AppState,
    actor: &Actor,
    p: &Params,
    update: RoomUpdate,
    allow_archived: bool,
) -> Result<Room, RcError> {
    let room = resolve::<F>(s, actor, p, allow_archived).await?;
    Ok(s.huddle.update_room(actor, room, update).await?)
}

async fn rename<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let name = p
        .str("name")?
        .ok_or_else(|| plain("The bodyParam \"name\" is required"))?;
    let room = change::<F>(&s, &actor, &p, RoomUpdate::Name(name), false).await?;
    ok(room_body::<F>(&room))
}

async fn set_topic<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let topic = p
        .text("topic")?
        .ok_or_else(|| plain("The bodyParam \"topic\" is required"))?;
    change::<F>(&s, &actor, &p, RoomUpdate::Topic(topic.clone()), false).await?;
    ok(json!({ "topic": topic }))
}

async fn set_description<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let d = p
        .text("description")?
        .ok_or_else(|| plain("The bodyParam \"description\" is required"))?;
    change::<F>(&s, &actor, &p, RoomUpdate::Description(d.clone()), false).await?;
    ok(json!({ "description": d }))
}

async fn set_announcement<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let a = p
        .text("announcement")?
        .ok_or_else(|| plain("The bodyParam \"announcement\" is required"))?;
    change::<F>(&s, &actor, &p, RoomUpdate::Announcement(a.clone()), false).await?;
    ok(json!({ "announcement": a }))
}

async fn set_join_code<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let code = p
        .text("joinCode")?
        .ok_or_else(|| plain("The bodyParam \"joinCode\" is required"))?;
    let room = change::<F>(&s, &actor, &p, RoomUpdate::JoinCode(code), false).await?;
    ok(room_body::<F>(&room))
}

async fn set_read_only<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let ro = p
        .bool("readOnly")?
        .ok_or_else(|| plain("The bodyParam \"readOnly\" is required"))?;
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    if room.read_only == ro {
        return Err(plain(format!(
            "The {} read only setting is the same as what it would be changed to.",
            F::KEY
        )));
    }
    let room = s
        .huddle
        .update_room(&actor, room, RoomUpdate::ReadOnly(ro))
        .await?;
    ok(room_body::<F>(&room))
}

async fn set_type<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let t = p
        .str("type")?
        .ok_or_else(|| plain("The bodyParam \"type\" is required"))?;
    let t = match RoomType::parse(&t) {
        Some(t @ (RoomType::Channel | RoomType::Group)) => t,
        _ => {
            return Err(coded(
                "error-invalid-room-type",
                format!("{t} is not a valid room type"),
            ))
        }
    };
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    if room.t == t {
        return Err(plain(format!(
            "The {} type is the same as what it would be changed to.",
            F::KEY
        )));
    }
    let room = s
        .huddle
        .update_room(&actor, room, RoomUpdate::Type(t))
        .await?;
    ok(room_body::<F>(&room))
}

async fn archive<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    change::<F>(&s, &actor, &p, RoomUpdate::Archived(true), false).await?;
    ok_empty()
}

async fn unarchive<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    change::<F>(&s, &actor, &p, RoomUpdate::Archived(false), true).await?;
    ok_empty()
}

async fn set_open<F: Flavour>(s: &AppState, actor: &Actor, p: &Params, open: bool) -> RcResult {
    let room = resolve::<F>(s, actor, p, true).await?;
    let sub = s.huddle.own_subscription(actor, &room.id).await?;
    if sub.open == open {
        let state = if open { "open" } else { "closed" };
        return Err(plain(format!(
            "The {} of name \"{}\" is already {state}",
            F::KEY,
            room.display_name()
        )));
    }
    s.huddle.set_open(actor, &room.id, open).await?;
    ok_empty()
}

async fn open<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    set_open::<F>(&s, &actor, &p, true).await
}

async fn close<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    set_open::<F>(&s, &actor, &p, false).await
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
