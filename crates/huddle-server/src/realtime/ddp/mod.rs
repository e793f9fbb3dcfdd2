//! Rocket.Chat's realtime API: DDP (Meteor's protocol) over a raw WebSocket on `/websocket`, one
//! JSON object per text frame (reference `rocketchat-realtime.md` §1–§5).
//!
//! One module per concern: `wire` (frames in and out), `ejson` (dates), `errors` (Meteor error
//! objects), `session` (one connection: reader, writer, heartbeat), `streams` (subscriptions
//! and how routed notices become `changed` frames), `methods` (the method table).

pub(crate) mod ejson;
mod errors;
mod methods;
mod session;
mod streams;
pub(crate) mod wire;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::Response;

use crate::client_ip::ClientIp;
use crate::state::AppState;

/// `GET /websocket`: upgrades with deliberately sized buffers, then serves the session.
pub async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ws: WebSocketUpgrade,
) -> Response {
    let cfg = state.realtime.clone();
    ws.read_buffer_size(cfg.read_buffer)
        .write_buffer_size(cfg.write_buffer)
        .max_message_size(cfg.max_message)
        .max_frame_size(cfg.max_message)
        .on_upgrade(move |socket| async move {
            let _open = crate::metrics::OpenSocket::new("ddp");
            session::serve(socket, state, ip).await
        })
}
