//! The backend REST API under `/v1/{appId}/`: users, conversations, participants, messages.
//! Authenticated with a secret key or an app token (`extract::App`).

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::Json;
use huddle_core::services::talk::TalkCaller;
use huddle_core::services::talk::{
    ConversationPatch, ParticipantSettings, TalkMessageInput, TalkUserPatch,
};
use huddle_core::store::ConversationQuery;
use huddle_core::Access;
use serde_json::{json, Map, Value};

use super::error::{bad_request, TalkError, TalkResult};
use super::extract::{
    custom, nullable_list, nullable_str, opt_bool, opt_str, string_object, App, Body, Listing,
};
use super::{ok, shape};
use crate::openapi::schema::{array, map_of, obj, object, of, shape, string, talk_list};
use crate::openapi::{backend, ApiRouter, Op, Ty::*};
use crate::state::AppState;
use utoipa::openapi::{RefOr, Schema};

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/v1/{app}/users",
            list_users,
            listing(backend("List users")).ok(talk_list(shape("User"))),
        )
        .put(
            "/v1/{app}/users",
            batch_users,
            backend("Create or update many users at once (all or nothing)")
                .body(map_of(user_fields_schema())),
        )
        .get(
            "/v1/{app}/users/{uid}",
            get_user,
            backend("One user").ok(shape("User")),
        )
        .put(
            "/v1/{app}/users/{uid}",
            put_user,
            user_fields(backend("Create or update a user")),
        )
        .get(
            "/v1/{app}/users/{uid}/conversations",
            user_conversations,
            listing(backend("A user's conversations")).ok(talk_list(shape("Conversation"))),
        )
        .get(
            "/v1/{app}/conversations",
            list_conversations,
            listing(backend("List conversations")).ok(talk_list(shape("Conversation"))),
        )
        .get(
            "/v1/{app}/conversations/{cid}",
            get_conversation,
            backend("One conversation").ok(shape("Conversation")),
        )
        .put(
            "/v1/{app}/conversations/{cid}",
            put_conversation,
            conversation_fields(backend("Create or update a conversation")),
        )
        .delete(
            "/v1/{app}/conversations/{cid}",
            delete_conversation,
            backend("Delete a conversation"),
        )
        .get(
            "/v1/{app}/conversations/{cid}/participants",
            list_participants,
            backend("A conversation's participants").ok(talk_list(object())),
        )
        .put(
            "/v1/{app}/conversations/{cid}/participants/{uid}",
            put_participant,
            participant_fields(backend("Add a participant or set their access")),
        )
        .patch(
            "/v1/{app}/conversations/{cid}/participants/{uid}",
            patch_participant,
            participant_fields(backend("Change a participant's access or notifications")),
        )
        .delete(
            "/v1/{app}/conversations/{cid}/participants/{uid}",
            delete_participant,
            backend("Remove a participant"),
        )
        .get(
            "/v1/{app}/conversations/{cid}/messages",
            list_messages,
            listing(backend("A conversation's messages, newest first"))
                .ok(talk_list(shape("Message"))),
        )
        .post(
            "/v1/{app}/conversations/{cid}/messages",
            post_messages,
            backend("Post user or system messages (an array)").body(array(obj(
                &[
                    ("text", string()),
                    ("type", string()),
                    ("sender", string()),
                    ("custom", map_of(string())),
                    ("idempotencyKey", string()),
                ],
                &["text", "type"],
            ))),
        )
        .post(
            "/v1/{app}/conversations/{cid}/readBy/{uid}",
            mark_read,
            backend("Mark a conversation read for a user"),
        )
        .get(
            "/v1/{app}/conversations/{cid}/messages/{mid}",
            get_message,
            backend("One message").ok(shape("Message")),
        )
        .put(
            "/v1/{app}/conversations/{cid}/messages/{mid}",
            edit_message,
            backend("Edit a message's text or custom data")
                .opt("text", Str)
                .opt("custom", Object),
        )
        .delete(
            "/v1/{app}/conversations/{cid}/messages/{mid}",
            delete_message,
            backend("Delete a message"),
        )
}

/// The paging and filter query parameters of TalkJS lists (`Listing`).
pub(super) fn listing(op: Op) -> Op {
    op.query("limit", Int, false)
        .query("startingAfter", Str, false)
        .query("unreadsOnly", Bool, false)
        .query("lastMessageBefore", Int, false)
        .query("lastMessageAfter", Int, false)
}

/// The fields `user_patch` reads (`null` deletes one).
pub(super) fn user_fields(op: Op) -> Op {
    op.opt("name", Str)
        .opt("email", StrOrList)
        .opt("phone", StrOrList)
        .strs(&[
            "welcomeMessage",
            "photoUrl",
            "locale",
            "role",
            "availabilityText",
        ])
        .opt("custom", Object)
}

fn user_fields_schema() -> RefOr<Schema> {
    let f = user_fields(backend(""));
    let props: Vec<(&str, RefOr<Schema>)> = f.fields.iter().map(|f| (f.name, of(f.ty))).collect();
    obj(&props, &[])
}

/// The fields `conversation_patch` reads.
pub(super) fn conversation_fields(op: Op) -> Op {
    op.opt("participants", StrList)
        .strs(&["subject", "photoUrl"])
        .opt("welcomeMessages", StrList)
        .opt("custom", Object)
        .opt("guestAccess", Bool)
}

/// The fields `participant_settings` reads.
pub(super) fn participant_fields(op: Op) -> Op {
    op.opt("access", Str).opt("notify", Any)
}

pub fn user_patch(m: &Map<String, Value>) -> Result<TalkUserPatch, TalkError> {
    Ok(TalkUserPatch {
        name: opt_str(m, "name")?,
        email: nullable_list(m, "email")?,
        phone: nullable_list(m, "phone")?,
        welcome_message: nullable_str(m, "welcomeMessage")?,
        photo_url: nullable_str(m, "photoUrl")?,
        locale: nullable_str(m, "locale")?,
        role: nullable_str(m, "role")?,
        availability_text: nullable_str(m, "availabilityText")?,
        custom: custom(m, "custom")?,
    })
}

async fn put_user(
    State(s): State<AppState>,
    _: App,
    Path((_, uid)): Path<(String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .upsert_talk_user(&uid, &user_patch(body.object()?)?)
        .await?;
    ok(json!({}))
}

async fn get_user(
    State(s): State<AppState>,
    _: App,
    Path((_, uid)): Path<(String, String)>,
) -> TalkResult {
    ok(shape::user(&s.huddle.talk_user(&uid).await?, true))
}

async fn list_users(State(s): State<AppState>, _: App, Query(q): Query<Listing>) -> TalkResult {
    let users = s
        .huddle
        .list_talk_users(q.starting_after.as_deref(), q.limit(10)?)
        .await?;
    ok(json!({ "data": users.iter().map(|u| shape::user(u, true)).collect::<Vec<_>>() }))
}

/// `PUT /users` `{userId: {...}}`: all or nothing; per-user errors in a 400.
async fn batch_users(State(s): State<AppState>, _: App, body: Body) -> TalkResult {
    let mut batch = Vec::new();
    for (uid, v) in body.object()? {
        let m = v
            .as_object()
            .ok_or_else(|| bad_request("INVALID_BODY", format!("`{uid}` must be an object")))?;
        batch.push((uid.clone(), user_patch(m)?));
    }
    match s.huddle.upsert_talk_users(&batch).await? {
        Ok(_) => ok(json!({})),
        Err(errors) => Ok((
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({ "errorCode": "INVALID_USERS", "errors": errors })),
        )
            .into_response()),
    }
}

fn conversation_query(q: &Listing, member: Option<String>) -> Result<ConversationQuery, TalkError> {
    Ok(ConversationQuery {
        member,
        unread_only: Listing::flag(&q.unreads_only),
        last_message_before: Listing::millis(&q.last_message_before, "lastMessageBefore")?,
        last_message_after: Listing::millis(&q.last_message_after, "lastMessageAfter")?,
        starting_after: q.starting_after.clone(),
        limit: q.limit(30)?,
    })
}

/// Lists conversations with the last message their reader may see (one small read per
/// conversation, pages are capped at 100).
pub async fn conversation_page(
    s: &AppState,
    query: ConversationQuery,
    with_participants: bool,
) -> TalkResult<Vec<Value>> {
    let views = s.huddle.list_talk_conversations(&query).await?;
    let mut out = Vec::with_capacity(views.len());
    for v in views {
        if with_participants {
            let members = s.huddle.talk_participants(&v.room).await?;
            out.push(shape::conversation(
                &v.room,
                &members,
                v.last_message.as_ref(),
            ));
        } else {
            out.push(shape::own_conversation(&v));
        }
    }
    Ok(out)
}

async fn list_conversations(
    State(s): State<AppState>,
    _: App,
    Query(q): Query<Listing>,
) -> TalkResult {
    let page = conversation_page(&s, conversation_query(&q, None)?, true).await?;
    ok(json!({ "data": page }))
}

async fn user_conversations(
    State(s): State<AppState>,
    _: App,
    Path((_, uid)): Path<(String, String)>,
    Query(q): Query<Listing>,
) -> TalkResult {
    let page = conversation_page(&s, conversation_query(&q, Some(uid))?, false).await?;
    ok(json!({ "data": page }))
}

pub fn conversation_patch(m: &Map<String, Value>) -> Result<ConversationPatch, TalkError> {
    let participants = match m.get("participants") {
        None | Some(Value::Null) => None,
        Some(_) => nullable_list(m, "participants")?.flatten(),
    };
    Ok(ConversationPatch {
        subject: nullable_str(m, "subject")?,
        photo_url: nullable_str(m, "photoUrl")?,
        welcome_messages: nullable_list(m, "welcomeMessages")?,
        custom: custom(m, "custom")?,
        participants,
        guest_access: opt_bool(m, "guestAccess")?,
    })
}

async fn put_conversation(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid)): Path<(String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .upsert_conversation(
            &cid,
            &conversation_patch(body.object()?)?,
            TalkCaller::Backend(&app),
        )
        .await?;
    ok(json!({}))
}

async fn get_conversation(
    State(s): State<AppState>,
    _: App,
    Path((_, cid)): Path<(String, String)>,
) -> TalkResult {
    let (room, members, last) = s.huddle.talk_conversation_full(&cid).await?;
    ok(shape::conversation(&room, &members, last.as_ref()))
}

async fn delete_conversation(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid)): Path<(String, String)>,
) -> TalkResult {
    s.huddle.delete_conversation(&cid, &app).await?;
    ok(json!({}))
}

pub fn participant_settings(m: &Map<String, Value>) -> Result<ParticipantSettings, TalkError> {
    let access = match opt_str(m, "access")? {
        None => None,
        Some(a) => Some(Access::parse(&a).ok_or_else(|| {
            bad_request(
                "INVALID_ACCESS",
                "access must be \"ReadWrite\", \"Read\" or \"None\"",
            )
        })?),
    };
    let notify = match m.get("notify") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::String(s)) if s == "MentionsOnly" => Some(s.clone()),
        Some(_) => {
            return Err(bad_request(
                "INVALID_NOTIFY",
                "notify must be true, false or \"MentionsOnly\"",
            ))
        }
    };
    Ok(ParticipantSettings { access, notify })
}

/// Every participant with their name, access `None` included (the conversation resource leaves
/// those out; an administrator needs to see and change them).
async fn list_participants(
    State(s): State<AppState>,
    _: App,
    Path((_, cid)): Path<(String, String)>,
) -> TalkResult {
    let room = s.huddle.talk_conversation(&cid).await?;
    let members = s.huddle.all_talk_participants(&room).await?;
    let data: Vec<Value> = members
        .iter()
        .map(|m| {
            let mut p = shape::participant(&m.subscription);
            p["id"] = json!(m.user.id);
            p["name"] = json!(m.user.name);
            p
        })
        .collect();
    ok(json!({ "data": data }))
}

async fn put_participant(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid, uid)): Path<(String, String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .put_participant(
            &cid,
            &uid,
            &participant_settings(body.object()?)?,
            TalkCaller::Backend(&app),
        )
        .await?;
    ok(json!({}))
}

async fn patch_participant(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid, uid)): Path<(String, String, String)>,
    body: Body,
) -> TalkResult {
    s.huddle
        .patch_participant(
            &cid,
            &uid,
            &participant_settings(body.object()?)?,
            TalkCaller::Backend(&app),
        )
        .await?;
    ok(json!({}))
}

async fn delete_participant(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid, uid)): Path<(String, String, String)>,
) -> TalkResult {
    s.huddle
        .remove_participant(&cid, &uid, TalkCaller::Backend(&app))
        .await?;
    ok(json!({}))
}

fn message_input(v: &Value) -> Result<TalkMessageInput, TalkError> {
    let m = v
        .as_object()
        .ok_or_else(|| bad_request("INVALID_BODY", "Each message must be an object"))?;
    let text =
        opt_str(m, "text")?.ok_or_else(|| bad_request("INVALID_FIELD", "`text` is required"))?;
    let custom = string_object(m, "custom")?.flatten().unwrap_or_default();
    let idempotency_key = opt_str(m, "idempotencyKey")?;
    match (opt_str(m, "type")?.as_deref(), opt_str(m, "sender")?) {
        (Some("UserMessage"), Some(sender)) => Ok(TalkMessageInput::User {
            sender,
            text,
            custom,
            idempotency_key,
        }),
        (Some("SystemMessage"), None) => Ok(TalkMessageInput::System {
            text,
            custom,
            idempotency_key,
        }),
        (Some("SystemMessage"), Some(_)) => Err(bad_request(
            "INVALID_FIELD",
            "System messages have no sender",
        )),
        (Some("UserMessage"), None) => Err(bad_request(
            "INVALID_FIELD",
            "User messages need a `sender`",
        )),
        (None, Some(_)) => Err(bad_request(
            "INVALID_FIELD",
            "`type` must be \"UserMessage\" when `sender` is given",
        )),
        _ => Err(bad_request(
            "INVALID_FIELD",
            "`type` must be \"UserMessage\" or \"SystemMessage\"",
        )),
    }
}

/// `POST .../messages`: an array of up to 10 messages; answers their ids in order.
async fn post_messages(
    State(s): State<AppState>,
    _: App,
    Path((_, cid)): Path<(String, String)>,
    body: Body,
) -> TalkResult {
    let items = body
        .0
        .as_array()
        .ok_or_else(|| bad_request("INVALID_BODY", "The body must be an array of messages"))?;
    let inputs = items
        .iter()
        .map(message_input)
        .collect::<Result<Vec<_>, _>>()?;
    let stored = s.huddle.post_talk_messages(&cid, inputs).await?;
    ok(json!(stored
        .iter()
        .map(|m| json!({ "id": m.id }))
        .collect::<Vec<_>>()))
}

async fn list_messages(
    State(s): State<AppState>,
    _: App,
    Path((_, cid)): Path<(String, String)>,
    Query(q): Query<Listing>,
) -> TalkResult {
    let messages = s
        .huddle
        .talk_messages(&cid, q.starting_after.as_deref(), q.limit(10)?)
        .await?;
    let read_by = s.huddle.read_by(&messages).await?;
    ok(json!({ "data": shape::messages_read_by(&messages, &read_by) }))
}

async fn get_message(
    State(s): State<AppState>,
    _: App,
    Path((_, cid, mid)): Path<(String, String, String)>,
) -> TalkResult {
    let message = s.huddle.talk_message(&cid, &mid).await?;
    let read_by = s.huddle.read_by(std::slice::from_ref(&message)).await?;
    ok(shape::messages_read_by(&[message], &read_by).remove(0))
}

/// `POST .../conversations/{id}/readBy/{userId}`: marks the conversation read for a
/// participant (their unread state clears, `message.read` webhooks follow).
async fn mark_read(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid, uid)): Path<(String, String, String)>,
) -> TalkResult {
    s.huddle.talk_mark_read(&app, &cid, &uid).await?;
    ok(json!({}))
}

async fn edit_message(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid, mid)): Path<(String, String, String)>,
    body: Body,
) -> TalkResult {
    let m = body.object()?;
    let custom = string_object(m, "custom")?;
    s.huddle
        .edit_talk_message(&app, &cid, &mid, opt_str(m, "text")?, custom)
        .await?;
    ok(json!({}))
}

async fn delete_message(
    State(s): State<AppState>,
    App(app): App,
    Path((_, cid, mid)): Path<(String, String, String)>,
) -> TalkResult {
    s.huddle.delete_talk_message(&app, &cid, &mid).await?;
    ok(json!({}))
}
