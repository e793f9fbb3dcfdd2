//! Server information and search: `/api/info`, `directory`, `spotlight`.

use axum::extract::State;
use serde_json::{json, Value};

use super::error::{coded, RcResult};
use super::extract::{Auth, Params};
use super::{ok, shape};
use crate::openapi::schema::{array, object, rc_ok, rc_page};
use crate::openapi::{user, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/directory",
            directory,
            user("Search public rooms or users")
                .strs(&["type", "text"])
                .paged()
                .ok(rc_page("result", object())),
        )
        .get(
            "/spotlight",
            spotlight,
            user("Quick search of users and rooms")
                .opt("query", Str)
                .ok(rc_ok(&[
                    ("users", array(object())),
                    ("rooms", array(object())),
                ])),
        )
}

/// `GET /api/info`: the version clients check before talking to the server.
pub async fn info(State(s): State<AppState>) -> RcResult {
    let mut info = json!({ "version": rocket_chat_version(), "huddle": s.version });
    if let Some(cluster) = &s.cluster {
        // Cluster mode: which node answered (operators and load-balancer checks).
        info["node"] = json!(cluster.id());
    }
    ok(json!({ "version": rocket_chat_version(), "info": info }))
}

/// The Rocket.Chat version whose API Huddle speaks; clients gate features on it.
fn rocket_chat_version() -> &'static str {
    "6.14.0"
}

/// `directory`: `type` `channels` (default) or `users`, `text`, paging.
async fn directory(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let (offset, count) = p.paging()?;
    let paging = s.huddle.paging(offset, count);
    let query = p.json_object("query", "error-invalid-query", "query")?;
    let get = |k: &str| {
        query
            .as_ref()
            .and_then(|q| q.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let kind = p
        .str("type")?
        .or(get("type"))
        .unwrap_or_else(|| "channels".into());
    let text = p.str("text")?.or(get("text")).filter(|t| !t.is_empty());
    let (result, total): (Vec<Value>, i64) = match kind.as_str() {
        "channels" => {
            let page = s.huddle.search_rooms(&actor, text, paging).await?;
            (page.items.iter().map(shape::room).collect(), page.total)
        }
        "users" => {
            let page = s.huddle.search_users(text, paging).await?;
            (
                page.items.iter().map(shape::user_public).collect(),
                page.total,
            )
        }
        other => {
            return Err(coded(
                "error-invalid-type",
                format!("Invalid directory type: {other}"),
            ))
        }
    };
    ok(json!({ "result": result, "count": result.len(), "offset": paging.offset, "total": total }))
}

async fn spotlight(State(s): State<AppState>, Auth(actor): Auth, p: Params) -> RcResult {
    let query = p.str("query")?.unwrap_or_default();
    let text = query.trim_start_matches(['@', '#']).to_string();
    let (users, rooms) = s.huddle.spotlight(&actor, &text).await?;
    let users: Vec<Value> = users
        .iter()
        .map(|u| json!({ "_id": u.id, "username": u.username, "name": u.name, "status": u.status }))
        .collect();
    let rooms: Vec<Value> = rooms
        .iter()
        .map(|r| json!({ "_id": r.id, "name": r.name, "t": r.t.as_str() }))
        .collect();
    ok(json!({ "users": users, "rooms": rooms }))
}
