//! Direct messages: `im.*` and their `dm.*` aliases (reference §5.13).

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use huddle_core::services::RoomUpdate;
use huddle_core::{Actor, MemberQuery, Room, RoomKind, RoomLookup, RoomQuery, RoomType};
use serde_json::{json, Value};

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::rooms::{counters_of, history_of, messages_of};
use super::{ok, ok_empty, shape};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    // `dm.*` are Rocket.Chat's newer names for the same endpoints.
    Router::new()
        .route("/im.create", post(create))
        .route("/dm.create", post(create))
        .route("/im.list", get(list))
        .route("/dm.list", get(list))
        .route("/im.history", get(history))
        .route("/dm.history", get(history))
        .route("/im.members", get(members))
        .route("/dm.members", get(members))
        .route("/im.messages", get(messages))
        .route("/dm.messages", get(messages))
        .route("/im.open", post(open))
        .route("/dm.open", post(open))
        .route("/im.close", post(close))
        .route("/dm.close", post(close))
        .route("/im.counters", get(counters))
        .route("/dm.counters", get(counters))
        .route("/im.setTopic", post(set_topic))
        .route("/dm.setTopic", post(set_topic))
        .route("/im.delete", post(delete))
        .route("/dm.delete", post(delete))
        .route("/im.files", get(files))
        .route("/dm.files", get(files))
        .route("/im.messages.others", get(messages_others))
        .route("/dm.messages.others", get(messages_others))
        .route("/im.list.everyone", get(list_everyone))
        .route("/dm.list.everyone", get(list_everyone))
}

async fn set_topic(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let topic = p
        .text("topic")?
        .ok_or_else(|| plain("The bodyParam \"topic\" is required"))?;
    let room = resolve(&s, &actor, &p).await?;
    s.huddle
        .update_room(&actor, room, RoomUpdate::Topic(topic.clone()))
        .await?;
    ok(json!({ "topic": topic }))
}

/// `dm.delete`: `delete-d` (admins by default), through the one room deletion.
async fn delete(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = match (p.str("roomId")?, p.str("username")?) {
        (Some(id), _) => {
            s.huddle
                .find_room(&RoomLookup::Id(id), RoomKind::Direct, true)
                .await?
        }
        (None, Some(u)) => s.huddle.find_dm_with(&actor, &u).await?,
        _ => return Err(plain("Body param \"roomId\" or \"username\" is required")),
    };
    s.huddle
        .delete_room(&actor, room)
        .await
        .map_err(|e| match e {
            huddle_core::Error::Forbidden(_) => RcError(huddle_core::Error::unauthorized()),
            other => RcError(other),
        })?;
    ok_empty()
}

/// Huddle stores no uploads yet: the empty list, to members of the conversation.
async fn files(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    resolve(&s, &actor, &p).await?;
    let (offset, _) = p.paging()?;
    ok(json!({ "files": [], "count": 0, "offset": offset.unwrap_or(0), "total": 0 }))
}

/// `dm.messages.others`: another conversation's messages, for `view-room-administration`,
/// while `API_Enable_Direct_Message_History_EndPoint` is on.
async fn messages_others(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p.required("roomId")?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s
        .huddle
        .direct_messages_of_others(&actor, &rid, paging)
        .await?;
    let messages: Vec<Value> = page.items.iter().map(shape::message).collect();
    ok(
        json!({ "messages": messages, "count": messages.len(), "offset": paging.offset, "total": page.total }),
    )
}

/// `dm.list.everyone`: every direct message, for `view-room-administration`.
async fn list_everyone(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (offset, count) = p.paging()?;
    let query = RoomQuery {
        types: vec![RoomType::Direct],
        paging: s.huddle.paging(offset, count),
        ..Default::default()
    };
    let page = s.huddle.admin_rooms(&actor, &query).await?;
    let ims: Vec<Value> = page.items.iter().map(shape::room).collect();
    ok(
        json!({ "ims": ims, "count": ims.len(), "offset": query.paging.offset, "total": page.total }),
    )
}

async fn create(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let names: Vec<String> = match (p.str("usernames")?, p.str("username")?) {
        (Some(list), _) => list
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect(),
        (None, Some(u)) => vec![u],
        _ => {
            return Err(coded(
                "invalid-params",
                "must have required property 'username'",
            ))
        }
    };
    let room = s
        .huddle
        .create_dm(&actor, &names, p.bool("excludeSelf")?.unwrap_or(false))
        .await?;
    let mut body = shape::room(&room);
    body["rid"] = json!(room.id);
    ok(json!({ "room": body }))
}

/// The DM a request names (`roomId`, or `username` of the other member), which the caller must
/// be in.
async fn resolve(s: &AppState, actor: &Actor, p: &Params) -> Result<Room, RcError> {
    let room = match (p.str("roomId")?, p.str("username")?) {
        (Some(id), _) => {
            s.huddle
                .find_room(&RoomLookup::Id(id), RoomKind::Direct, true)
                .await?
        }
        (None, Some(u)) => s.huddle.find_dm_with(actor, &u).await?,
        _ => return Err(plain("Body param \"roomId\" or \"username\" is required")),
    };
    if !s.huddle.may_read(actor, &room).await? {
        return Err(RoomKind::Direct.not_found().into());
    }
    Ok(room)
}

async fn list(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (offset, count) = p.paging()?;
    let query = RoomQuery {
        types: vec![RoomType::Direct],
        member: Some(actor.user().id.clone()),
        paging: s.huddle.paging(offset, count),
        ..Default::default()
    };
    let page = s.huddle.list_rooms(&query).await?;
    let ims =
        crate::shape::rooms_with_last(&s.huddle, &actor, &page.items, crate::shape::Dates::Iso)
            .await?;
    ok(
        json!({ "ims": ims, "count": ims.len(), "offset": query.paging.offset, "total": page.total }),
    )
}

async fn history(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve(&s, &actor, &p).await?;
    history_of(&s, &actor, &room, &p).await
}

async fn messages(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve(&s, &actor, &p).await?;
    messages_of(&s, &actor, &room, &p).await
}

async fn counters(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve(&s, &actor, &p).await?;
    counters_of(&s, &actor, &room, &p).await
}

async fn members(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = resolve(&s, &actor, &p).await?;
    let (offset, count) = p.paging()?;
    let query = MemberQuery {
        text: p.str("filter")?,
        paging: s.huddle.paging(offset, count),
        ..Default::default()
    };
    let page = s.huddle.members(&room, &query).await?;
    let members: Vec<Value> = page.items.iter().map(shape::member).collect();
    ok(
        json!({ "members": members, "count": members.len(), "offset": query.paging.offset, "total": page.total }),
    )
}

async fn set_open(s: &AppState, actor: &Actor, p: &Params, open: bool) -> RcResult {
    let room = resolve(s, actor, p).await?;
    s.huddle.set_open(actor, &room.id, open).await?;
    ok_empty()
}

async fn open(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    set_open(&s, &actor, &p, true).await
}

async fn close(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    set_open(&s, &actor, &p, false).await
}
