//! The native event socket of the TalkJS-style API: `GET /v1/{appId}/realtime` (WebSocket),
//! versioned JSON frames (docs/REALTIME-NATIVE.md). Authenticated like the browser API
//! (`Huddle::authenticate_client`), from query parameters or a first `auth` frame. Access is
//! decided by the core router (`Topic::Conversation`, `Topic::Inbox`); this module parses
//! frames, answers them, and writes the router's deliveries.
//!
//! Backpressure as on DDP: one bounded queue per connection, offered to without waiting; a
//! connection whose queue is full is dropped from the router and closed with 1013. Event frames
//! are the same bytes for every recipient (no per-subscription field), encoded once.
//!
//! One module per concern, as in `ddp/`: `wire` (frames in and out, routed notices as event
//! frames), `session` (one connection: authentication, reader, heartbeat, the frame table),
//! `subscriptions` (subscribing to a conversation or the inbox, ready and replay).

mod session;
mod subscriptions;
pub(crate) mod wire;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::state::AppState;
pub use session::AuthQuery;

/// `GET /v1/{appId}/realtime`.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(app): Path<String>,
    Query(q): Query<AuthQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let cfg = state.realtime.clone();
    ws.read_buffer_size(cfg.read_buffer)
        .write_buffer_size(cfg.write_buffer)
        .max_message_size(cfg.max_message)
        .max_frame_size(cfg.max_message)
        .on_upgrade(move |socket| async move {
            let _open = crate::metrics::OpenSocket::new("native");
            session::serve(socket, state, app, q).await
        })
}
