//! The TalkJS-style REST API (`/v1/{appId}/...`): the backend API (secret key or app token),
//! the browser API (`/client/`, user token or signature), and app administration. HTTP status
//! is the signal; bodies are JSON.

mod admin;
mod backend;
mod client;
mod error;
mod extract;
pub(crate) mod shape;
pub mod webhook_target;
pub mod webhooks;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::Value;

pub use error::{TalkError, TalkResult};

use crate::openapi::{Api, ApiRouter};
use crate::state::AppState;

pub fn ok(body: Value) -> TalkResult<Response> {
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// Every route of the API, each with its description (the realtime socket at
/// `/v1/{appId}/realtime` is a WebSocket, served by `realtime`, not described here).
pub fn api() -> ApiRouter {
    ApiRouter::new()
        .merge(backend::routes())
        .merge(client::routes())
        .merge(admin::routes())
        .merge(webhooks::routes())
}

/// The API's router, its description at `/v1/openapi.json`.
pub fn routes() -> Router<AppState> {
    api().into_router(Api::TalkJs, "/v1/openapi.json")
}
