//! Realtime transports over WebSocket. `ddp` speaks Rocket.Chat's DDP on `/websocket`, `native`
//! the TalkJS-style event socket on `/v1/{appId}/realtime`; the
//! routing of events to connections lives in `huddle_core::realtime`.

pub mod ddp;
pub mod native;
mod socket;

use std::time::Duration;

use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// How realtime sockets are sized and kept alive.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// Per-socket read buffer. Small on purpose: with tungstenite's 128 KiB default an idle
    /// socket costs ~134 KiB; with 4 KiB ~6.4 KiB (DESIGN §5, `bench/limits/run-fanout.sh`).
    pub read_buffer: usize,
    /// Bytes written are gathered up to this size before a write to the socket.
    pub write_buffer: usize,
    /// Largest inbound message (and frame) a client may send; larger ones close the socket.
    pub max_message: usize,
    /// Deliveries queued per connection before it counts as too slow and is closed.
    pub queue: usize,
    /// Silence after which the server pings (Meteor: 15 s).
    pub heartbeat_interval: Duration,
    /// Further silence after the ping before the socket is closed (Meteor: 15 s).
    pub heartbeat_timeout: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            read_buffer: 4 * 1024,
            write_buffer: 4 * 1024,
            max_message: 256 * 1024,
            queue: 1024,
            heartbeat_interval: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(15),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/websocket", get(ddp::upgrade))
        .route("/v1/{app}/realtime", get(native::upgrade))
}
