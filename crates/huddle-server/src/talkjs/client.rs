//! The browser API under `/v1/{appId}/client/`: what an SDK in a web page may do as its user.
//! Writes to users need "browser user sync", writes to conversations and participants need
//! "browser conversation sync"; reading and sending messages need neither. Non-participants
//! may enter a conversation as guests (`?asGuest=true`) while guests are allowed.

use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::Router;
use huddle_core::services::talk::TalkCaller;
use huddle_core::store::ConversationQuery;
use serde_json::{json, Value};

use super::backend::{conversation_page, conversation_patch, participant_settings, user_patch};
use super::error::{bad_request, TalkResult};
use super::extract::{opt_str, string_object, Body, Client, Listing};
use super::{ok, shape};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/{app}/client/me", get(me))
        .route("/v1/{app}/client/users/{uid}", get(get_user).put(put_user))
        .route("/v1/{app}/client/conversations", get(inbox))
        .route(
            "/v1/{app}/client/conversations/{cid}",
            get(get_conversation).put(put_conversation),
        )
        .route(
            "/v1/{app}/client/conversations/{cid}/participants/{uid}",
            put(put_participant)
                .patch(patch_participant)
                .delete(delete_participant),
        )
        .route(
            "/v1/{app}/client/conversations/{cid}/messages",
            get(messages).post(send),
        )
        .route("/v1/{app}/client/conversations/{cid}/read", post(mark_read))
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
