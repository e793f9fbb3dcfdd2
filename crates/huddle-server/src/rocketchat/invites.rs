//! Invite links: `findOrCreateInvite`, `listInvites`, `removeInvite/{_id}`, `useInviteToken`,
//! `validateInviteToken` (no login needed), `sendInvitationEmail`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use huddle_core::{Error, Invite};
use serde_json::{json, Value};

use super::error::{coded, failure_body, RcError, RcResult};
use super::extract::{Auth, Params};
use super::ok;
use crate::openapi::schema::{array, boolean, object, rc_ok, string};
use crate::openapi::{public, user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .post(
            "/findOrCreateInvite",
            find_or_create,
            user("An invite link to a room")
                .req("rid", Str)
                .req("days", Int)
                .req("maxUses", Int)
                .ok(rc_ok(&[("_id", string()), ("inviteToken", string())])),
        )
        .get(
            "/listInvites",
            list,
            // A bare array, as Rocket.Chat answers.
            user("The invites the caller may manage").ok(array(object())),
        )
        .delete(
            "/removeInvite/{_id}",
            remove,
            // The bare JSON `true`, as Rocket.Chat answers.
            user("Remove an invite").ok(boolean()),
        )
        .post(
            "/useInviteToken",
            use_token,
            user("Join a room with an invite token")
                .req("token", Str)
                .ok(rc_ok(&[("room", object())])),
        )
        .post(
            "/validateInviteToken",
            validate,
            public("Whether an invite token is valid")
                .req("token", Str)
                .ok(rc_ok(&[("valid", boolean())])),
        )
        .post(
            "/sendInvitationEmail",
            send_email,
            user("E-mail invitations to the server").req("emails", StrList),
        )
}

/// An invite as lists show it: never its token (whoever lists invites could otherwise use any).
fn summary(i: &Invite) -> Value {
    json!({
        "_id": i.id, "rid": i.rid, "userId": i.user_id, "days": i.days, "maxUses": i.max_uses,
        "uses": i.uses, "createdAt": i.created_at, "expires": i.expires, "_updatedAt": i.updated_at,
    })
}

/// An integer body field that must be there (Rocket.Chat validates the body first).
fn required_int(p: &Params, key: &str) -> Result<i64, RcError> {
    p.i64(key)?.ok_or_else(|| {
        coded(
            "invalid-params",
            format!("must have required property '{key}'"),
        )
    })
}

async fn find_or_create(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p.required("rid")?;
    let days = required_int(&p, "days")?;
    let max_uses = required_int(&p, "maxUses")?;
    let invite = s
        .huddle
        .find_or_create_invite(&actor, &rid, days, max_uses)
        .await?;
    let mut body = summary(&invite);
    body["inviteToken"] = json!(invite.token);
    ok(body)
}

/// A bare JSON array, as Rocket.Chat's `API.v1.success(array)` answers.
async fn list(State(s): State<AppState>, Auth(actor): Auth) -> RcResult {
    let invites = s.huddle.list_invites(&actor).await?;
    let body: Vec<Value> = invites.iter().map(summary).collect();
    Ok((StatusCode::OK, Json(Value::Array(body))).into_response())
}

/// The body is the bare JSON `true`.
async fn remove(State(s): State<AppState>, Auth(actor): Auth, Path(id): Path<String>) -> RcResult {
    s.huddle.remove_invite(&actor, &id).await?;
    Ok((StatusCode::OK, Json(Value::Bool(true))).into_response())
}

async fn use_token(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let token = p.required("token")?;
    let room = s.huddle.use_invite_token(&actor, &token).await?;
    let mut r = json!({ "rid": room.id, "t": room.t.as_str() });
    if let Some(name) = &room.name {
        r["name"] = json!(name);
        r["fname"] = json!(room.fname.as_ref().unwrap_or(name));
    }
    ok(json!({ "room": r }))
}

/// Any failure is `valid: false` (Rocket.Chat answers 200 either way).
async fn validate(State(s): State<AppState>, p: Params) -> RcResult {
    let token = p.required("token")?;
    let valid = s.huddle.validate_invite_token(&token).await.is_ok();
    ok(json!({ "valid": valid }))
}

/// Rocket.Chat's handler answers every failure as `{success: false, error: <message>}` (no
/// `errorType`).
async fn send_email(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let emails = p
        .list("emails")?
        .ok_or_else(|| coded("invalid-params", "must have required property 'emails'"))?;
    match s.huddle.send_invitation_email(&actor, &emails).await {
        Ok(_) => ok(json!({})),
        Err(e @ (Error::Unavailable(_) | Error::Internal(_))) => Err(e.into()),
        Err(e) => {
            let message = e
                .failure()
                .map(|f| failure_body(f)["error"].clone())
                .unwrap_or(Value::Null);
            Ok((
                StatusCode::BAD_REQUEST,
                Json(json!({ "success": false, "error": message })),
            )
                .into_response())
        }
    }
}
