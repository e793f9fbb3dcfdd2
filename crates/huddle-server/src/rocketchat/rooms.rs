//! `channels.*` and `groups.*` room endpoints (creation, info, settings). Both families share
//! handlers, parameterised by `Flavour`; reads (history, lists) live in `room_reads.rs`,
//! membership endpoints in `membership.rs`.

use axum::extract::State;
use huddle_core::services::{CreateRoom, RoomUpdate};
use huddle_core::{Actor, Room, RoomKind, RoomType};
use serde_json::{json, Value};

use super::error::{coded, plain, RcError, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty, shape};
use crate::openapi::schema::{rc_ok, shape, string};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::shape::Dates;
use crate::state::AppState;
use utoipa::openapi::{RefOr, Schema};

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

pub fn routes() -> ApiRouter {
    // Written out, `/channels.x` beside `/groups.x`, so a search for a path finds its line; the
    // handlers stay generic over the flavour.
    ApiRouter::new()
        .post(
            "/channels.create",
            create::<Ch>,
            user("Create a room")
                .req("name", Str)
                .opt("members", StrList)
                .opt("readOnly", Bool)
                .opt("excludeSelf", Bool)
                .opt("extraData", Object)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.create",
            create::<Gr>,
            user("Create a room")
                .req("name", Str)
                .opt("members", StrList)
                .opt("readOnly", Bool)
                .opt("excludeSelf", Bool)
                .opt("extraData", Object)
                .ok(room_out::<Gr>()),
        )
        .get(
            "/channels.info",
            info::<Ch>,
            user("A room's information").room().ok(room_out::<Ch>()),
        )
        .get(
            "/groups.info",
            info::<Gr>,
            user("A room's information").room().ok(room_out::<Gr>()),
        )
        .post(
            "/channels.delete",
            delete::<Ch>,
            user("Delete a room").room(),
        )
        .post("/groups.delete", delete::<Gr>, user("Delete a room").room())
        .post(
            "/channels.rename",
            rename::<Ch>,
            user("Rename a room")
                .room()
                .req("name", Str)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.rename",
            rename::<Gr>,
            user("Rename a room")
                .room()
                .req("name", Str)
                .ok(room_out::<Gr>()),
        )
        .post(
            "/channels.setTopic",
            set_topic::<Ch>,
            user("Set the topic")
                .room()
                .req("topic", Str)
                .ok(rc_ok(&[("topic", string())])),
        )
        .post(
            "/groups.setTopic",
            set_topic::<Gr>,
            user("Set the topic")
                .room()
                .req("topic", Str)
                .ok(rc_ok(&[("topic", string())])),
        )
        .post(
            "/channels.setDescription",
            set_description::<Ch>,
            user("Set the description")
                .room()
                .req("description", Str)
                .ok(rc_ok(&[("description", string())])),
        )
        .post(
            "/groups.setDescription",
            set_description::<Gr>,
            user("Set the description")
                .room()
                .req("description", Str)
                .ok(rc_ok(&[("description", string())])),
        )
        .post(
            "/channels.setAnnouncement",
            set_announcement::<Ch>,
            user("Set the announcement")
                .room()
                .req("announcement", Str)
                .ok(rc_ok(&[("announcement", string())])),
        )
        .post(
            "/groups.setAnnouncement",
            set_announcement::<Gr>,
            user("Set the announcement")
                .room()
                .req("announcement", Str)
                .ok(rc_ok(&[("announcement", string())])),
        )
        .post(
            "/channels.setReadOnly",
            set_read_only::<Ch>,
            user("Make a room read-only or not")
                .room()
                .req("readOnly", Bool)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.setReadOnly",
            set_read_only::<Gr>,
            user("Make a room read-only or not")
                .room()
                .req("readOnly", Bool)
                .ok(room_out::<Gr>()),
        )
        .post(
            "/channels.setType",
            set_type::<Ch>,
            user("Turn a channel private or a group public")
                .room()
                .req("type", Str)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.setType",
            set_type::<Gr>,
            user("Turn a channel private or a group public")
                .room()
                .req("type", Str)
                .ok(room_out::<Gr>()),
        )
        .post(
            "/channels.archive",
            archive::<Ch>,
            user("Archive a room").room(),
        )
        .post(
            "/groups.archive",
            archive::<Gr>,
            user("Archive a room").room(),
        )
        .post(
            "/channels.unarchive",
            unarchive::<Ch>,
            user("Unarchive a room").room(),
        )
        .post(
            "/groups.unarchive",
            unarchive::<Gr>,
            user("Unarchive a room").room(),
        )
        .post(
            "/channels.open",
            open::<Ch>,
            user("Show a room in the caller's list").room(),
        )
        .post(
            "/groups.open",
            open::<Gr>,
            user("Show a room in the caller's list").room(),
        )
        .post(
            "/channels.close",
            close::<Ch>,
            user("Hide a room from the caller's list").room(),
        )
        .post(
            "/groups.close",
            close::<Gr>,
            user("Hide a room from the caller's list").room(),
        )
        .post(
            "/channels.setJoinCode",
            set_join_code::<Ch>,
            user("Set the join code")
                .room()
                .req("joinCode", Str)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.setJoinCode",
            set_join_code::<Gr>,
            user("Set the join code")
                .room()
                .req("joinCode", Str)
                .ok(room_out::<Gr>()),
        )
}

/// The success body of a `channels.*`/`groups.*` endpoint that answers the room.
pub(super) fn room_out<F: Flavour>() -> RefOr<Schema> {
    rc_ok(&[(F::KEY, shape("Room"))])
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
