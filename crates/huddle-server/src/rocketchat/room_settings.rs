//! Room settings and room views scripts call beside the core ones: custom fields, purpose,
//! default rooms, encryption, favourites, online members, mentions, and the file and
//! integration lists (empty until Huddle stores uploads and integrations).

use std::collections::BTreeMap;

use axum::extract::State;
use huddle_core::services::RoomUpdate;
use huddle_core::store::CleanHistory;
use huddle_core::{Error, MessageFilter, RoomKind, RoomLookup, RoomQuery, RoomType, Timestamp};
use serde_json::{json, Value};

use super::error::{coded, plain, RcResult};
use super::extract::{Auth, Params};
use super::rooms::room_out;
use super::rooms::{resolve, Ch, Flavour, Gr};
use super::{ok, ok_empty, shape};
use crate::openapi::schema::{array, boolean, integer, object, rc_ok, rc_page, shape, string};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .post(
            "/channels.setCustomFields",
            set_custom_fields::<Ch>,
            user("Set a room's custom fields")
                .room()
                .req("customFields", Object)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.setCustomFields",
            set_custom_fields::<Gr>,
            user("Set a room's custom fields")
                .room()
                .req("customFields", Object)
                .ok(room_out::<Gr>()),
        )
        .post(
            "/channels.setPurpose",
            set_purpose::<Ch>,
            user("Set the purpose (description)")
                .room()
                .req("purpose", Str)
                .ok(rc_ok(&[("purpose", string())])),
        )
        .post(
            "/groups.setPurpose",
            set_purpose::<Gr>,
            user("Set the purpose (description)")
                .room()
                .req("purpose", Str)
                .ok(rc_ok(&[("purpose", string())])),
        )
        .post(
            "/channels.setDefault",
            set_default,
            user("Make a channel one new users join")
                .room()
                .req("default", Bool)
                .ok(room_out::<Ch>()),
        )
        .post(
            "/groups.setEncrypted",
            set_encrypted,
            user("Mark a group end-to-end encrypted")
                .room()
                .req("encrypted", Bool)
                .ok(rc_ok(&[("encrypted", boolean())])),
        )
        .post(
            "/rooms.favorite",
            favorite,
            user("Star a room in the caller's list")
                .room()
                .req("favorite", Bool),
        )
        .post(
            "/rooms.cleanHistory",
            clean_history,
            user("Delete a room's messages in a time range")
                .room()
                .req("latest", Str)
                .req("oldest", Str)
                .opt("inclusive", Bool)
                .opt("excludePinned", Bool)
                .opt("users", StrList)
                .opt("limit", Int)
                .ok(rc_ok(&[("_id", string()), ("count", integer())])),
        )
        .get(
            "/rooms.adminRooms",
            admin_rooms,
            user("Every room (admin)")
                .opt("types", StrList)
                .opt("filter", Str)
                .paged()
                .ok(rc_page("rooms", shape("Room"))),
        )
        .get(
            "/channels.online",
            online::<Ch>,
            user("Members online now")
                .strs(&["roomId", "_id", "query"])
                .ok(rc_ok(&[("online", array(object()))])),
        )
        .get(
            "/groups.online",
            online::<Gr>,
            user("Members online now")
                .strs(&["roomId", "_id", "query"])
                .ok(rc_ok(&[("online", array(object()))])),
        )
        .get(
            "/channels.files",
            files::<Ch>,
            user("A room's files (none: uploads are not kept)")
                .room()
                .paged()
                .ok(rc_page("files", object())),
        )
        .get(
            "/groups.files",
            files::<Gr>,
            user("A room's files (none: uploads are not kept)")
                .room()
                .paged()
                .ok(rc_page("files", object())),
        )
        .get(
            "/channels.getIntegrations",
            integrations::<Ch>,
            user("A room's integrations (none)")
                .room()
                .paged()
                .ok(rc_page("integrations", object())),
        )
        .get(
            "/groups.getIntegrations",
            integrations::<Gr>,
            user("A room's integrations (none)")
                .room()
                .paged()
                .ok(rc_page("integrations", object())),
        )
        .get(
            "/channels.getAllUserMentionsByChannel",
            mentions_by_channel,
            user("Messages mentioning the caller in a channel")
                .room()
                .paged()
                .ok(rc_page("mentions", shape("Message"))),
        )
}

async fn set_custom_fields<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let fields = match p.0.get("customFields") {
        None | Some(Value::Null) => {
            return Err(plain("The bodyParam \"customFields\" is required"));
        }
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(coded(
                "invalid-params",
                "must have property 'customFields' of type object",
            ))
        }
    };
    // Huddle keeps custom fields as strings (the same map the TalkJS-style API calls `custom`).
    let mut map = BTreeMap::new();
    for (k, v) in fields {
        let Value::String(text) = v else {
            return Err(coded(
                "invalid-params",
                format!("customFields.{k} must be a string"),
            ));
        };
        map.insert(k.clone(), text.clone());
    }
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    let room = s
        .huddle
        .update_room(&actor, room, RoomUpdate::CustomFields(map))
        .await?;
    ok(json!({ F::KEY: shape::room(&room) }))
}

async fn set_purpose<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let purpose = p
        .text("purpose")?
        .ok_or_else(|| plain("The bodyParam \"purpose\" is required"))?;
    let room = resolve::<F>(&s, &actor, &p, false).await?;
    // Rocket.Chat's purpose is the room's description.
    s.huddle
        .update_room(&actor, room, RoomUpdate::Description(purpose.clone()))
        .await?;
    ok(json!({ "purpose": purpose }))
}

async fn set_default(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let default = p
        .bool("default")?
        .ok_or_else(|| plain("The bodyParam \"default\" is required"))?;
    let room = resolve::<Ch>(&s, &actor, &p, false).await?;
    let room = s
        .huddle
        .update_room(&actor, room, RoomUpdate::Default(default))
        .await?;
    ok(json!({ "channel": shape::room(&room) }))
}

async fn set_encrypted(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let encrypted = p
        .bool("encrypted")?
        .ok_or_else(|| plain("The bodyParam \"encrypted\" is required"))?;
    let room = resolve::<Gr>(&s, &actor, &p, false).await?;
    let room = s
        .huddle
        .update_room(&actor, room, RoomUpdate::Encrypted(encrypted))
        .await?;
    ok(json!({ "encrypted": room.encrypted }))
}

async fn favorite(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let favorite = p
        .bool("favorite")?
        .ok_or_else(|| plain("The 'favorite' param is required"))?;
    let room = s.huddle.find_room(&p.room()?, RoomKind::Any, true).await?;
    s.huddle.set_favorite(&actor, &room.id, favorite).await?;
    ok_empty()
}

/// `channels.online` / `groups.online`: the room by `roomId`, `_id`, or a `query` of `{_id}`.
async fn online<F: Flavour>(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let from_query = p
        .json_object("query", "invalid-params", "query")?
        .and_then(|q| q.get("_id").and_then(Value::as_str).map(str::to_string));
    let rid = match (p.str("roomId")?, p.str("_id")?, from_query) {
        (Some(id), _, _) | (None, Some(id), _) | (None, None, Some(id)) => id,
        _ => return Err(coded("error-room-id-param-not-provided", "Invalid room id")),
    };
    let room = s
        .huddle
        .find_room(&RoomLookup::Id(rid), F::KIND, true)
        .await?;
    let users = s.huddle.online_members(&actor, &room).await?;
    let online: Vec<Value> = users
        .iter()
        .map(|u| json!({ "_id": u.id, "username": u.username_or_id() }))
        .collect();
    ok(json!({ "online": online }))
}

/// The room, for a caller who may read it (as the message lists require).
async fn readable<F: Flavour>(
    s: &AppState,
    actor: &huddle_core::Actor,
    p: &Params,
) -> Result<huddle_core::Room, super::RcError> {
    let room = resolve::<F>(s, actor, p, true).await?;
    if !s.huddle.may_read(actor, &room).await? {
        return Err(Error::unauthorized().into());
    }
    Ok(room)
}

/// Huddle stores no uploads yet: Rocket.Chat's answer for a room without files.
pub async fn files<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    readable::<F>(&s, &actor, &p).await?;
    let (offset, _) = p.paging()?;
    ok(json!({ "files": [], "count": 0, "offset": offset.unwrap_or(0), "total": 0 }))
}

/// Huddle has no integrations yet: Rocket.Chat's answer for a room without any, to those who
/// may manage integrations.
async fn integrations<F: Flavour>(
    State(s): State<AppState>,
    Auth(actor): Auth,
    p: Params,
) -> RcResult {
    let allowed = [
        "manage-incoming-integrations",
        "manage-own-incoming-integrations",
        "manage-outgoing-integrations",
        "manage-own-outgoing-integrations",
    ]
    .iter()
    .any(|perm| s.huddle.has_permission(actor.user(), perm));
    if !allowed {
        return Err(Error::unauthorized().into());
    }
    resolve::<F>(&s, &actor, &p, true).await?;
    let (offset, _) = p.paging()?;
    ok(json!({ "integrations": [], "count": 0, "offset": offset.unwrap_or(0), "total": 0 }))
}

async fn mentions_by_channel(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = readable::<Ch>(&s, &actor, &p).await?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let filter = MessageFilter::Mentions(actor.user().username_or_id().to_string());
    let page = s
        .huddle
        .filtered_messages(&actor, &room, filter, paging)
        .await?;
    let mentions: Vec<Value> = page.items.iter().map(shape::message).collect();
    ok(
        json!({ "mentions": mentions, "count": mentions.len(), "offset": paging.offset, "total": page.total }),
    )
}

async fn clean_history(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = s.huddle.find_room(&p.room()?, RoomKind::Any, true).await?;
    let date = |key: &str| -> Result<Timestamp, super::RcError> {
        let v = p
            .str(key)?
            .ok_or_else(|| plain(format!("Body parameter \"{key}\" is required.")))?;
        Timestamp::parse_iso(&v)
            .ok_or_else(|| coded("error-invalid-date", format!("Invalid date for `{key}`")))
    };
    let clean = CleanHistory {
        latest: date("latest")?,
        oldest: date("oldest")?,
        inclusive: p.bool("inclusive")?.unwrap_or(false),
        exclude_pinned: p.bool("excludePinned")?.unwrap_or(false),
        usernames: p.list("users")?.unwrap_or_default(),
        limit: p.i64("limit")?.filter(|l| *l > 0),
    };
    let count = s.huddle.clean_history(&actor, &room, clean).await?;
    ok(json!({ "_id": room.id, "count": count }))
}

/// `rooms.adminRooms`: every room, by name and type, for `view-room-administration`.
async fn admin_rooms(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let types = p
        .list("types")?
        .unwrap_or_default()
        .iter()
        .filter_map(|t| RoomType::parse(t))
        .collect();
    let (offset, count) = p.paging()?;
    let query = RoomQuery {
        types,
        text: p.str("filter")?,
        paging: s.huddle.paging(offset, count),
        ..Default::default()
    };
    let page = s.huddle.admin_rooms(&actor, &query).await?;
    let rooms: Vec<Value> = page.items.iter().map(shape::room).collect();
    ok(
        json!({ "rooms": rooms, "count": rooms.len(), "offset": query.paging.offset, "total": page.total }),
    )
}
