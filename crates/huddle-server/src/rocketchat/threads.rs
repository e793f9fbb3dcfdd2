//! `chat.*` beyond posting: reactions, pins, stars, threads and their syncs, deleted-message
//! and changed-message syncs, search and mentions over one room.

use axum::extract::State;
use huddle_core::{MessageFilter, Room, RoomKind, RoomLookup, ThreadsOf, Timestamp};
use serde_json::{json, Value};

use super::error::{coded, RcError, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty, shape};
use crate::openapi::schema::{array, object, rc_ok, rc_page, shape};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let on_message = |what| user(what).req("messageId", Str);
    let in_room = |what| user(what).req("roomId", Str).paged();
    let messages = || rc_page("messages", shape("Message"));
    ApiRouter::new()
        .post(
            "/chat.react",
            react,
            on_message("Add or remove a reaction")
                .opt("emoji", Str)
                .opt("reaction", Str)
                .opt("shouldReact", Bool),
        )
        .post(
            "/chat.pinMessage",
            pin,
            on_message("Pin a message").ok(rc_ok(&[("message", shape("Message"))])),
        )
        .post("/chat.unPinMessage", unpin, on_message("Unpin a message"))
        .get(
            "/chat.getPinnedMessages",
            pinned,
            in_room("A room's pinned messages").ok(messages()),
        )
        .post("/chat.starMessage", star, on_message("Star a message"))
        .post(
            "/chat.unStarMessage",
            unstar,
            on_message("Unstar a message"),
        )
        .get(
            "/chat.getStarredMessages",
            starred,
            in_room("The caller's starred messages in a room").ok(messages()),
        )
        .post(
            "/chat.followMessage",
            follow,
            user("Follow a thread").req("mid", Str),
        )
        .post(
            "/chat.unfollowMessage",
            unfollow,
            user("Stop following a thread").req("mid", Str),
        )
        .get(
            "/chat.getThreadMessages",
            thread_messages,
            user("A thread's replies")
                .req("tmid", Str)
                .paged()
                .ok(messages()),
        )
        .get(
            "/chat.syncThreadMessages",
            sync_thread_messages,
            user("A thread's replies changed since a time")
                .req("tmid", Str)
                .req("updatedSince", Str)
                .ok(rc_ok(&[("messages", object())])),
        )
        .get(
            "/chat.getThreadsList",
            threads_list,
            user("A room's threads")
                .req("rid", Str)
                .opt("type", Str)
                .opt("text", Str)
                .paged()
                .ok(rc_page("threads", shape("Message"))),
        )
        .get(
            "/chat.syncThreadsList",
            sync_threads_list,
            user("A room's threads changed since a time")
                .req("rid", Str)
                .req("updatedSince", Str)
                .ok(rc_ok(&[("threads", object())])),
        )
        .get(
            "/chat.getDeletedMessages",
            deleted,
            in_room("Messages deleted since a time")
                .req("since", Str)
                .ok(rc_page("messages", object())),
        )
        .get(
            "/chat.syncMessages",
            sync_messages,
            user("A room's messages changed since a time")
                .req("roomId", Str)
                .req("lastUpdate", Str)
                .ok(rc_ok(&[("result", object())])),
        )
        .get(
            "/chat.search",
            search,
            user("Search a room's messages")
                .req("roomId", Str)
                .req("searchText", Str)
                .paged()
                .ok(rc_ok(&[("messages", array(shape("Message")))])),
        )
        .get(
            "/chat.getMentionedMessages",
            mentioned,
            in_room("Messages mentioning the caller").ok(messages()),
        )
        .post(
            "/chat.reportMessage",
            report,
            on_message("Report a message to the moderators").opt("description", Str),
        )
        .get(
            "/moderation.reports",
            reports,
            user("The reports of a message (moderators)")
                .req("msgId", Str)
                .paged()
                .ok(rc_page("reports", object())),
        )
}

async fn report(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = message_id(&p)?;
    let description = p.text("description")?.unwrap_or_default();
    s.huddle.report_message(&actor, &id, &description).await?;
    ok_empty()
}

/// The reports of one message (`msgId`), newest first, for administrators.
async fn reports(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = p.required("msgId")?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s.huddle.message_reports(&actor, &id, paging).await?;
    let items = page
        .items
        .iter()
        .map(|r| {
            json!({
                "_id": r.id,
                "description": r.description,
                "ts": r.ts.to_iso(),
                "reportedBy": { "_id": r.reporter.id, "username": r.reporter.username },
                "message": shape::message(&r.message),
                "room": { "_id": r.message.rid },
            })
        })
        .collect();
    page_body("reports", items, paging.offset, page.total)
}

/// `messageId` (Rocket.Chat's own error when it is missing).
fn message_id(p: &Params) -> Result<String, RcError> {
    p.str("messageId")?.ok_or_else(|| {
        coded(
            "error-messageid-param-not-provided",
            "The required \"messageId\" param is missing.",
        )
    })
}

/// The room a list names by `roomId` (`rid` for the thread lists), which the caller must be
/// able to read (the service checks).
async fn room_param(s: &AppState, p: &Params, key: &str) -> Result<Room, RcError> {
    let rid = p.str(key)?.ok_or_else(|| {
        coded(
            "error-room-id-param-not-provided",
            format!("The required \"{key}\" query param is missing."),
        )
    })?;
    Ok(s.huddle
        .find_room(&RoomLookup::Id(rid), RoomKind::Any, true)
        .await?)
}

/// A required ISO date parameter.
fn date_param(p: &Params, key: &str) -> Result<Timestamp, RcError> {
    let v = p.str(key)?.ok_or_else(|| {
        coded(
            "error-param-not-provided",
            format!("The required \"{key}\" query param is missing."),
        )
    })?;
    Timestamp::parse_iso(&v).ok_or_else(|| {
        coded(
            "error-invalid-date",
            format!("The \"{key}\" query parameter must be a valid date."),
        )
    })
}

fn page_body(key: &str, items: Vec<Value>, offset: i64, total: i64) -> RcResult {
    let count = items.len();
    ok(json!({ key: items, "count": count, "offset": offset, "total": total }))
}

async fn react(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = message_id(&p)?;
    let emoji = match (p.str("emoji")?, p.str("reaction")?) {
        (Some(e), _) | (None, Some(e)) => e,
        _ => {
            return Err(coded(
                "error-emoji-param-not-provided",
                "The required \"emoji\" param is missing.",
            ))
        }
    };
    let should = p.bool("shouldReact")?;
    // Rocket.Chat checks the message before the reaction.
    if s.huddle.get_message(&actor, &id).await.is_err() {
        return Err(coded(
            "error-message-not-found",
            "The provided \"messageId\" does not match any existing message.",
        ));
    }
    s.huddle.set_reaction(&actor, &emoji, &id, should).await?;
    ok_empty()
}

async fn pin(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = message_id(&p)?;
    let note = s.huddle.pin_message(&actor, &id, "pinMessage").await?;
    ok(json!({ "message": shape::message(&note) }))
}

async fn unpin(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = message_id(&p)?;
    s.huddle.unpin_message(&actor, &id, "unpinMessage").await?;
    ok_empty()
}

async fn star(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = message_id(&p)?;
    s.huddle.star_message(&actor, &id, true).await?;
    ok_empty()
}

async fn unstar(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = message_id(&p)?;
    s.huddle.star_message(&actor, &id, false).await?;
    ok_empty()
}

async fn listed(
    s: &AppState,
    p: &Params,
    list: impl AsyncFnOnce(
        &Room,
        huddle_core::Paging,
    ) -> huddle_core::Result<huddle_core::Page<huddle_core::Message>>,
) -> RcResult {
    let room = room_param(s, p, "roomId").await?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = list(&room, paging).await?;
    let items = page.items.iter().map(shape::message).collect();
    page_body("messages", items, paging.offset, page.total)
}

async fn pinned(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    listed(&s, &p, async |room, paging| {
        s.huddle.pinned_messages(&actor, room, paging).await
    })
    .await
}

async fn starred(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    listed(&s, &p, async |room, paging| {
        s.huddle.starred_messages(&actor, room, paging).await
    })
    .await
}

async fn search(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let text = p.text("searchText")?.ok_or_else(|| {
        coded(
            "error-param-not-provided",
            "The required \"searchText\" query param is missing.",
        )
    })?;
    let room = room_param(&s, &p, "roomId").await?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s
        .huddle
        .filtered_messages(&actor, &room, MessageFilter::Text(text), paging)
        .await?;
    let messages: Vec<Value> = page.items.iter().map(shape::message).collect();
    ok(json!({ "messages": messages }))
}

async fn mentioned(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let username = actor.user().username_or_id().to_string();
    listed(&s, &p, async |room, paging| {
        let filter = MessageFilter::Mentions(username);
        s.huddle
            .filtered_messages(&actor, room, filter, paging)
            .await
    })
    .await
}

async fn follow(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let mid = p.required("mid")?;
    s.huddle.follow_thread(&actor, &mid, true).await?;
    ok_empty()
}

async fn unfollow(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let mid = p.required("mid")?;
    s.huddle.follow_thread(&actor, &mid, false).await?;
    ok_empty()
}

fn tmid_param(p: &Params) -> Result<String, RcError> {
    p.str("tmid")?.ok_or_else(|| {
        coded(
            "error-invalid-params",
            "The required \"tmid\" query param is missing.",
        )
    })
}

async fn thread_messages(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let tmid = tmid_param(&p)?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s.huddle.thread_messages(&actor, &tmid, paging).await?;
    let items = page.items.iter().map(shape::message).collect();
    page_body("messages", items, paging.offset, page.total)
}

/// `{update, remove}` as the sync endpoints answer.
fn changes(c: &huddle_core::Changes) -> Value {
    let update: Vec<Value> = c.updated.iter().map(shape::message).collect();
    let remove: Vec<Value> = c
        .deleted
        .iter()
        .map(|(id, at)| json!({ "_id": id, "_deletedAt": at.to_iso() }))
        .collect();
    json!({ "update": update, "remove": remove })
}

async fn sync_thread_messages(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let tmid = tmid_param(&p)?;
    let since = date_param(&p, "updatedSince")?;
    let c = s.huddle.sync_thread_messages(&actor, &tmid, since).await?;
    ok(json!({ "messages": changes(&c) }))
}

async fn threads_list(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = room_param(&s, &p, "rid").await?;
    let of = match p.str("type")?.as_deref() {
        None | Some("all") => ThreadsOf::All,
        Some("following") => ThreadsOf::Following,
        Some("unread") => ThreadsOf::Unread,
        Some(_) => {
            return Err(coded(
                "error-invalid-params",
                "must be equal to one of the allowed values: all, following, unread",
            ))
        }
    };
    let text = p.text("text")?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s
        .huddle
        .threads(&actor, &room, of, text.as_deref(), paging)
        .await?;
    let items = page.items.iter().map(shape::message).collect();
    page_body("threads", items, paging.offset, page.total)
}

async fn sync_threads_list(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = room_param(&s, &p, "rid").await?;
    let since = date_param(&p, "updatedSince")?;
    let c = s.huddle.sync_threads(&actor, &room, since).await?;
    ok(json!({ "threads": changes(&c) }))
}

async fn deleted(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = room_param(&s, &p, "roomId").await?;
    let since = date_param(&p, "since")?;
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let page = s
        .huddle
        .deleted_messages(&actor, &room, since, paging)
        .await?;
    let items = page
        .items
        .iter()
        .map(|(id, _)| json!({ "_id": id }))
        .collect();
    page_body("messages", items, paging.offset, page.total)
}

async fn sync_messages(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let room = room_param(&s, &p, "roomId").await?;
    let since = date_param(&p, "lastUpdate")?;
    let c = s.huddle.sync_messages(&actor, &room, since).await?;
    let updated: Vec<Value> = c.updated.iter().map(shape::message).collect();
    let deleted: Vec<Value> = c
        .deleted
        .iter()
        .map(|(id, at)| json!({ "_id": id, "_deletedAt": at.to_iso() }))
        .collect();
    ok(json!({ "result": { "updated": updated, "deleted": deleted } }))
}
