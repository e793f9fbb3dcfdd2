//! The browser API under `/v1/{appId}/client/`: what an SDK in a web page may do as its user.
//! Writes to users need "browser user sync", writes to conversations and participants need
//! "browser conversation sync"; reading and sending messages need neither. Non-participants
//! may enter a conversation as guests (`?asGuest=true`) while guests are allowed.

use axum::extract::{Path, Query, State};
use huddle_core::services::talk::TalkCaller;
use huddle_core::store::ConversationQuery;
use serde_json::{json, Value};

use super::backend::{conversation_fields, listing, participant_fields, user_fields};
use super::backend::{conversation_page, conversation_patch, participant_settings, user_patch};
use super::error::{bad_request, TalkResult};
use super::extract::{opt_str, string_object, Body, Client, Listing};
use super::{ok, shape};
use crate::openapi::schema::{array, boolean, obj, shape, talk_list};
use crate::openapi::{client, ApiRouter, Op, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    let as_guest = |op: Op| op.query("asGuest", Bool, false);
    ApiRouter::new()
        .get(
            "/v1/{app}/client/me",
            me,
            client("The session's user and the app's browser settings").ok(obj(
                &[("user", shape("User")), ("verified", boolean())],
                &["user"],
            )),
        )
        .get(
            "/v1/{app}/client/users/{uid}",
            get_user,
            client("One user (public fields)").ok(shape("User")),
        )
        .put(
            "/v1/{app}/client/users/{uid}",
            put_user,
            user_fields(client(
                "Create or update a user (when browser user sync is on)",
            )),
        )
        .get(
            "/v1/{app}/client/conversations",
            inbox,
            listing(client("The session user's conversations"))
                .ok(talk_list(shape("Conversation"))),
        )
        .get(
            "/v1/{app}/client/conversations/{cid}",
            get_conversation,
            as_guest(client("One conversation")).ok(shape("Conversation")),
        )
        .put(
            "/v1/{app}/client/conversations/{cid}",
            put_conversation,
            conversation_fields(client(
                "Create or update a conversation (when browser conversation sync is on)",
            )),
        )
        .put(
            "/v1/{app}/client/conversations/{cid}/participants/{uid}",
            put_participant,
            participant_fields(client("Add a participant")),
        )
        .patch(
            "/v1/{app}/client/conversations/{cid}/participants/{uid}",
            patch_participant,
            participant_fields(client("Change a participant")),
        )
        .delete(
            "/v1/{app}/client/conversations/{cid}/participants/{uid}",
            delete_participant,
            client("Remove a participant"),
        )
        .get(
            "/v1/{app}/client/conversations/{cid}/messages",
            messages,
            as_guest(listing(client("A conversation's messages"))).ok(obj(
                &[("data", array(shape("Message"))), ("guest", boolean())],
                &["data"],
            )),
        )
        .post(
            "/v1/{app}/client/conversations/{cid}/messages",
            send,
            as_guest(client("Send a message as the session user"))
                .req("text", Str)
                .opt("custom", Object)
                .opt("idempotencyKey", Str)
                .ok(shape("Message")),
        )
        .post(
            "/v1/{app}/client/conversations/{cid}/read",
            mark_read,
            client("Mark a conversation read"),
        )
}

async fn me(State(s): State<AppState>, Client(c): Client) -> TalkResult {
    let user = s.huddle.talk_user(c.user_id()).await?;
    ok(
        json!({ "user": shape::user(&user, false), "verified": c.verified(), "settings": settings_json(&s) }),
    )
}

fn settings_json(s: &AppState) -> Value {
    let a = s.huddle.app_settings();
    json!({ "browserUserSync": a.browser_user_sync, "browserConversationSync": a.browser_conversation_sync, "guestsAllowed": a.guests_allowed() })
}

async fn get_user(
    State(s): State<AppState>,
    _: Client,
    Path((_, uid)): Path<(String, String)>,
) -> TalkResult {
    ok(shape::user(&s.huddle.talk_user(&uid).await?, false))
}

/// Creating or updating users from a browser needs user sync.
async fn put_user(
    State(s): State<AppState>,
    _: Client,
    Path((_, uid)): Path<(String, String)>,
    body: Body,
) -> TalkResult {
    if !s.huddle.app_settings().browser_user_sync {
        return Err(huddle_core::services::talk::sync_disallowed("User").into());
    }
    s.huddle
        .upsert_talk_user(&uid, &user_patch(body.object()?)?)
        .await?;
    ok(json!({}))
}

async fn inbox(
    State(s): State<AppState>,
    Client(c): Client,
    Query(q): Query<Listing>,
) -> TalkResult {
    let query = ConversationQuery {
        member: Some(c.user_id().to_string()),
        starting_after: q.starting_after.clone(),
        limit: q.limit(20)?,
        ..Default::default()
    };
    ok(json!({ "data": conversation_page(&s, query, false).await? }))
}

/// The conversation for a participant (or a guest who asks); others get 404, as if it did not
/// exist.
async fn get_conversation(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid)): Path<(String, String)>,
    Query(q): Query<Listing>,
) -> TalkResult {
    let (room, members, last, viewer) = s
        .huddle
        .client_conversation(&c, &cid, Listing::flag(&q.as_guest))
        .await?;
    let mut v = shape::conversation(&room, &members, last.as_ref());
    v["guest"] = json!(viewer.is_guest());
    ok(v)
}

async fn put_conversation(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid)): Path<(String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .upsert_conversation(
            &cid,
            &conversation_patch(body.object()?)?,
            TalkCaller::Browser(&c),
        )
        .await?;
    ok(json!({}))
}

async fn put_participant(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid, uid)): Path<(String, String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .put_participant(
            &cid,
            &uid,
            &participant_settings(body.object()?)?,
            TalkCaller::Browser(&c),
        )
        .await?;
    ok(json!({}))
}

async fn patch_participant(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid, uid)): Path<(String, String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .patch_participant(
            &cid,
            &uid,
            &participant_settings(body.object()?)?,
            TalkCaller::Browser(&c),
        )
        .await?;
    ok(json!({}))
}

async fn delete_participant(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid, uid)): Path<(String, String, String)>,
) -> TalkResult {
    s.huddle
        .remove_participant(&cid, &uid, TalkCaller::Browser(&c))
        .await?;
    ok(json!({}))
}

async fn messages(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid)): Path<(String, String)>,
    Query(q): Query<Listing>,
) -> TalkResult {
    let (viewer, msgs) = s
        .huddle
        .client_messages(
            &c,
            &cid,
            Listing::flag(&q.as_guest),
            q.starting_after.as_deref(),
            q.limit(10)?,
        )
        .await?;
    let read_by = s.huddle.read_by(&msgs).await?;
    ok(json!({ "data": shape::messages_read_by(&msgs, &read_by), "guest": viewer.is_guest() }))
}

/// `{text, custom?, idempotencyKey?}`; `?asGuest=true` lets a non-participant send as a guest.
async fn send(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid)): Path<(String, String)>,
    Query(q): Query<Listing>,
    body: Body,
) -> TalkResult {
    let m = body.object()?;
    let text =
        opt_str(m, "text")?.ok_or_else(|| bad_request("INVALID_FIELD", "`text` is required"))?;
    let custom = string_object(m, "custom")?.flatten().unwrap_or_default();
    let msg = s
        .huddle
        .client_send_message(
            &c,
            &cid,
            text,
            custom,
            Listing::flag(&q.as_guest),
            opt_str(m, "idempotencyKey")?,
        )
        .await?;
    ok(shape::message(&msg))
}

async fn mark_read(
    State(s): State<AppState>,
    Client(c): Client,
    Path((_, cid)): Path<(String, String)>,
) -> TalkResult {
    s.huddle.client_mark_read(&c, &cid).await?;
    ok(json!({}))
}
