//! Direct messages: `im.*` and their `dm.*` aliases (reference §5.13).

use axum::extract::State;
use huddle_core::services::RoomUpdate;
use huddle_core::{Actor, MemberQuery, Room, RoomKind, RoomLookup, RoomQuery, RoomType};
use serde_json::{json, Value};

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::room_reads::{counters_of, history_of, messages_of};
use super::{ok, ok_empty, ok_typed, shape};
use crate::openapi::schema::{array, object, rc_ok, rc_page, shape, string};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    // `roomId`, or the other member's `username`.
    let dm = |what| user(what).opt("roomId", Str).opt("username", Str);
    ApiRouter::new()
        .post(
            "/im.create",
            create,
            user("Open a direct message (one user or several)")
                .opt("username", Str)
                .opt("usernames", Str)
                .opt("excludeSelf", Bool)
                .ok(rc_ok(&[("room", object())])),
        )
        .post(
            "/dm.create",
            create,
            user("Open a direct message (one user or several)")
                .opt("username", Str)
                .opt("usernames", Str)
                .opt("excludeSelf", Bool)
                .ok(rc_ok(&[("room", object())])),
        )
        .get(
            "/im.list",
            list,
            user("The caller's direct messages")
                .paged()
                .ok(rc_page("ims", shape("Room"))),
        )
        .get(
            "/dm.list",
            list,
            user("The caller's direct messages")
                .paged()
                .ok(rc_page("ims", shape("Room"))),
        )
        .get(
            "/im.history",
            history,
            dm("A direct message's messages, newest first")
                .opt("latest", Str)
                .opt("oldest", Str)
                .opt("inclusive", Bool)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_ok(&[("messages", array(shape("Message")))])),
        )
        .get(
            "/dm.history",
            history,
            dm("A direct message's messages, newest first")
                .opt("latest", Str)
                .opt("oldest", Str)
                .opt("inclusive", Bool)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_ok(&[("messages", array(shape("Message")))])),
        )
        .get(
            "/im.members",
            members,
            dm("A direct message's members")
                .opt("filter", Str)
                .paged()
                .ok(rc_page("members", shape("User"))),
        )
        .get(
            "/dm.members",
            members,
            dm("A direct message's members")
                .opt("filter", Str)
                .paged()
                .ok(rc_page("members", shape("User"))),
        )
        .get(
            "/im.messages",
            messages,
            dm("A direct message's messages, paged")
                .paged()
                .ok(rc_page("messages", shape("Message"))),
        )
        .get(
            "/dm.messages",
            messages,
            dm("A direct message's messages, paged")
                .paged()
                .ok(rc_page("messages", shape("Message"))),
        )
        .post(
            "/im.open",
            open,
            dm("Show a direct message in the caller's list"),
        )
        .post(
            "/dm.open",
            open,
            dm("Show a direct message in the caller's list"),
        )
        .post(
            "/im.close",
            close,
            dm("Hide a direct message from the caller's list"),
        )
        .post(
            "/dm.close",
            close,
            dm("Hide a direct message from the caller's list"),
        )
        .get(
            "/im.counters",
            counters,
            dm("Unread and message counters").opt("userId", Str),
        )
        .get(
            "/dm.counters",
            counters,
            dm("Unread and message counters").opt("userId", Str),
        )
        .post(
            "/im.setTopic",
            set_topic,
            dm("Set the topic")
                .req("topic", Str)
                .ok(rc_ok(&[("topic", string())])),
        )
        .post(
            "/dm.setTopic",
            set_topic,
            dm("Set the topic")
                .req("topic", Str)
                .ok(rc_ok(&[("topic", string())])),
        )
        .post("/im.delete", delete, dm("Delete a direct message (admin)"))
        .post("/dm.delete", delete, dm("Delete a direct message (admin)"))
        .get(
            "/im.files",
            files,
            dm("A direct message's files (none: uploads are not kept)")
                .paged()
                .ok(rc_page("files", object())),
        )
        .get(
            "/dm.files",
            files,
            dm("A direct message's files (none: uploads are not kept)")
                .paged()
                .ok(rc_page("files", object())),
        )
        .get(
            "/im.messages.others",
            messages_others,
            user("Another users' direct message (admin)")
                .req("roomId", Str)
                .paged()
                .ok(rc_page("messages", shape("Message"))),
        )
        .get(
            "/dm.messages.others",
            messages_others,
            user("Another users' direct message (admin)")
                .req("roomId", Str)
                .paged()
                .ok(rc_page("messages", shape("Message"))),
        )
        .get(
            "/im.list.everyone",
            list_everyone,
            user("Every direct message (admin)")
                .paged()
                .ok(rc_page("ims", shape("Room"))),
        )
        .get(
            "/dm.list.everyone",
            list_everyone,
            user("Every direct message (admin)")
                .paged()
                .ok(rc_page("ims", shape("Room"))),
        )
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
    ok_typed(&shape::members_page(&page, query.paging.offset))
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
