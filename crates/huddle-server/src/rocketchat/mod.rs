//! The Rocket.Chat-compatible REST API (`/api/info`, `/api/v1/...`): same paths, parameters,
//! bodies, status codes and error strings as Rocket.Chat. One module per resource.

mod auth;
mod avatars;
mod bans;
mod chat;
pub(crate) mod discussions;
mod error;
pub(crate) mod extract;
mod im;
mod invites;
mod membership;
mod misc;
mod permissions;
mod receipts;
mod room_reads;
mod room_settings;
mod rooms;
mod subscriptions;
mod threads;
mod users;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub(crate) use crate::shape;
pub(crate) use chat::extras as message_extras;
pub use error::{with_retry_after, RcError, RcResult};
pub use extract::MAX_BODY;

use crate::openapi::schema::{object, rc_ok, string};
use crate::openapi::{public, Api, ApiRouter};
use crate::state::AppState;

/// `API.v1.success`: the result object with `success: true` appended.
pub fn ok(mut body: Value) -> RcResult {
    if let Value::Object(o) = &mut body {
        o.insert("success".into(), Value::Bool(true));
    }
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// A success body serialised straight from a typed document that carries `success: true`
/// itself (for large lists, where building a `Value` tree first is most of the work).
pub fn ok_typed(body: &impl serde::Serialize) -> RcResult {
    Ok((StatusCode::OK, Json(body)).into_response())
}

pub fn ok_empty() -> RcResult {
    ok(json!({}))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"status": "error", "message": "API endpoint not found"})),
    )
        .into_response()
}

/// Every route of the API, each with its description.
pub fn api() -> ApiRouter {
    let v1 = ApiRouter::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(avatars::routes())
        .merge(rooms::routes())
        .merge(room_reads::routes())
        .merge(room_settings::routes())
        .merge(membership::routes())
        .merge(im::routes())
        .merge(chat::routes())
        .merge(receipts::routes())
        .merge(threads::routes())
        .merge(subscriptions::routes())
        .merge(permissions::routes())
        .merge(invites::routes())
        .merge(bans::routes())
        .merge(discussions::routes())
        .merge(misc::routes())
        .fallback(not_found);
    ApiRouter::new()
        .get(
            "/api/info",
            misc::info,
            public("The server's version").ok(rc_ok(&[("version", string()), ("info", object())])),
        )
        .merge(avatars::image_routes())
        .nest("/api/v1", v1)
}

/// The API's router, its description at `/api/openapi.json`, and the health probes.
pub fn routes() -> Router<AppState> {
    api()
        .into_router(Api::RocketChat, "/api/openapi.json")
        .route("/health", get(|| async { "OK" }))
        .route("/livez", get(|| async { "OK" }))
        .fallback(not_found)
}
