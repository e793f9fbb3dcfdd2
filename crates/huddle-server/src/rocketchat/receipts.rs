//! `chat.getMessageReadReceipts`: who has read a message, from the members' read positions.

use axum::extract::State;
use serde_json::{json, Value};

use super::error::{plain, RcResult};
use super::extract::{Auth, Params};
use super::ok;
use crate::openapi::schema::{array, object, rc_ok};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new().get(
        "/chat.getMessageReadReceipts",
        receipts,
        user("Who has read a message")
            .req("messageId", Str)
            .opt("offset", Int)
            .opt("count", Int)
            .ok(rc_ok(&[("receipts", array(object()))])),
    )
}

async fn receipts(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let id = p
        .str("messageId")?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| plain("The required 'messageId' param is missing."))?;
    let paging = s.huddle.paging(p.i64("offset")?, p.i64("count")?);
    let (message, readers) = s.huddle.read_receipts(&actor, &id, paging).await?;
    let receipts: Vec<Value> = readers
        .iter()
        .map(|r| {
            json!({
                // One receipt per reader and message: its id is derived from both.
                "_id": format!("{}{}", message.id, r.uid),
                "roomId": message.rid,
                "userId": r.uid,
                "messageId": message.id,
                "ts": r.read_at.to_iso(),
                "user": { "_id": r.uid, "username": r.username, "name": r.name },
            })
        })
        .collect();
    ok(json!({ "receipts": receipts }))
}
