//! `subscriptions.*`: the caller's memberships and their read state.

use axum::extract::State;
use huddle_core::Timestamp;
use serde_json::{json, Value};

use super::error::{coded, plain, RcResult};
use super::extract::{Auth, Params};
use super::{ok, ok_empty, shape};
use crate::openapi::schema::{array, rc_ok, shape};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/subscriptions.get",
            get_all,
            user("The caller's subscriptions")
                .opt("updatedSince", Str)
                .ok(rc_ok(&[("update", array(shape("Subscription")))])),
        )
        .get(
            "/subscriptions.getOne",
            get_one,
            user("The caller's subscription to one room").req("roomId", Str),
        )
        .post(
            "/subscriptions.read",
            read,
            user("Mark a room read").opt("rid", Str).opt("roomId", Str),
        )
        .post(
            "/subscriptions.unread",
            unread,
            user("Mark a room unread from a message")
                .opt("roomId", Str)
                .opt("firstUnreadMessage", Object),
        )
        .get(
            "/chat.ignoreUser",
            ignore_user,
            user("Ignore, or stop ignoring, a user's messages in a room")
                .req("rid", Str)
                .req("userId", Str)
                .opt("ignore", Str),
        )
}

/// `chat.ignoreUser` (a GET in Rocket.Chat): `ignore` defaults to true; a string is true when
/// it contains `true` or `1`, as Rocket.Chat reads it.
async fn ignore_user(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p.str("rid")?.ok_or_else(|| {
        coded(
            "error-room-id-param-not-provided",
            "The required \"rid\" param is missing.",
        )
    })?;
    let uid = p.str("userId")?.ok_or_else(|| {
        coded(
            "error-user-id-param-not-provided",
            "The required \"userId\" param is missing.",
        )
    })?;
    let ignore = match p.0.get("ignore") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(v)) => v.contains("true") || v.contains('1'),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(_) => false,
    };
    s.huddle.ignore_user(&actor, &rid, &uid, ignore).await?;
    ok_empty()
}

async fn get_all(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let since = match p.str("updatedSince")? {
        Some(v) => Some(Timestamp::parse_iso(&v).ok_or_else(|| {
            coded(
                "error-roomId-param-invalid",
                "The \"lastUpdate\" query parameter must be a valid date.",
            )
        })?),
        None => None,
    };
    let subs = s.huddle.subscriptions(&actor, since).await?;
    let update: Vec<Value> = subs.iter().map(shape::subscription).collect();
    ok(json!({ "update": update, "remove": [] }))
}

async fn get_one(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = p
        .str("roomId")?
        .ok_or_else(|| plain("The 'roomId' param is required"))?;
    let sub = s.huddle.own_membership(&actor, &rid).await?;
    ok(json!({ "subscription": sub.as_ref().map(shape::subscription) }))
}

async fn read(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = match p.str("rid")? {
        Some(r) => r,
        None => p
            .str("roomId")?
            .ok_or_else(|| coded("invalid-params", "must have required property 'rid'"))?,
    };
    s.huddle.mark_read(&actor, &rid).await?;
    if p.bool("readThreads")? == Some(true) {
        s.huddle.read_all_threads(&actor, &rid).await?;
    }
    ok_empty()
}

async fn unread(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let rid = match p.str("roomId")? {
        Some(r) => r,
        None => {
            let first =
                p.0.get("firstUnreadMessage")
                    .and_then(|m| m.get("_id"))
                    .and_then(Value::as_str);
            match first {
                Some(mid) => s.huddle.get_message(&actor, mid).await?.rid,
                None => return Err(plain(
                    "At least one of \"roomId\" or \"firstUnreadMessage._id\" param is required",
                )),
            }
        }
    };
    s.huddle.mark_unread(&actor, &rid).await?;
    ok_empty()
}
