//! Discussions: `rooms.createDiscussion`, `rooms.getDiscussions`, `chat.getDiscussions`.

use axum::extract::State;
use huddle_core::{NewDiscussion, RoomKind, RoomLookup};
use serde_json::{json, Value};

use super::error::{plain, RcResult};
use super::extract::{Auth, Params};
use super::{ok, shape};
use crate::openapi::schema::{rc_ok, rc_page, shape as schema};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .post(
            "/rooms.createDiscussion",
            create,
            user("Start a discussion: a room with a parent room (and message)")
                .req("prid", Str)
                .req("t_name", Str)
                .opt("pmid", Str)
                .opt("users", StrList)
                .opt("reply", Str)
                .opt("topic", Str)
                .opt("encrypted", Bool)
                .ok(rc_ok(&[("discussion", schema("Room"))])),
        )
        .get(
            "/rooms.getDiscussions",
            room_discussions,
            user("A room's discussions")
                .opt("roomId", Str)
                .opt("roomName", Str)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_page("discussions", schema("Room"))),
        )
        .get(
            "/chat.getDiscussions",
            discussion_messages,
            user("The messages of a room that started discussions")
                .req("roomId", Str)
                .opt("text", Str)
                .opt("offset", Int)
                .opt("count", Int)
                .ok(rc_page("messages", schema("Message"))),
        )
}

/// The body Rocket.Chat's handler checks before its method runs, with its plain failures.
pub(crate) fn new_discussion(p: &Params) -> Result<NewDiscussion, super::RcError> {
    let prid = p
        .str("prid")?
        .ok_or_else(|| plain("Body parameter \"prid\" is required."))?;
    let t_name = p
        .str("t_name")?
        .ok_or_else(|| plain("Body parameter \"t_name\" is required."))?;
    let users = match p.0.get("users") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
            .collect(),
        Some(_) => return Err(plain("Body parameter \"users\" must be an array.")),
    };
    let encrypted = match p.0.get("encrypted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(plain(
                "Body parameter \"encrypted\" must be a boolean when included.",
            ))
        }
    };
    Ok(NewDiscussion {
        prid,
        pmid: p.str("pmid")?,
        t_name,
        users,
        reply: p.str("reply")?,
        encrypted,
        topic: p.str("topic")?,
    })
}

/// `{discussion}`: the new room with its id also as `rid`, as Rocket.Chat answers.
async fn create(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let input = new_discussion(&p)?;
    let room = s.huddle.create_discussion(&actor, input).await?;
    let mut discussion = shape::room(&room);
    discussion["rid"] = json!(room.id);
    ok(json!({ "discussion": discussion }))
}

async fn room_discussions(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let lookup: RoomLookup = p.room()?;
    let room = s.huddle.find_room(&lookup, RoomKind::Any, true).await?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s.huddle.room_discussions(&actor, &room, paging).await?;
    let discussions =
        shape::rooms_with_last(&s.huddle, &actor, &page.items, shape::Dates::Iso).await?;
    ok(json!({
        "discussions": discussions,
        "count": discussions.len(),
        "offset": paging.offset,
        "total": page.total,
    }))
}

async fn discussion_messages(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p
        .str("roomId")?
        .ok_or_else(|| plain("The required \"roomId\" query param is missing."))?;
    let room = s
        .huddle
        .find_room(&RoomLookup::Id(rid), RoomKind::Any, true)
        .await
        .map_err(|_| plain("error-not-allowed"))?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s
        .huddle
        .discussion_messages(&actor, &room, p.text("text")?, paging)
        .await?;
    let messages: Vec<Value> = page.items.iter().map(shape::message).collect();
    ok(json!({
        "messages": messages,
        "count": messages.len(),
        "offset": paging.offset,
        "total": page.total,
    }))
}
