//! Realtime transports over WebSocket. `ddp` speaks Rocket.Chat's DDP on `/websocket`, `native`
//! the TalkJS-style event socket on `/v1/{appId}/realtime`; the
//! routing of events to connections lives in `huddle_core::realtime`.

pub mod ddp;
pub mod limits;
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
    /// DDP `method` frames one connection may send per minute (0 = no limit).
    pub ddp_methods_per_minute: u32,
    /// DDP `sub` frames one connection may send per minute (0 = no limit).
    pub ddp_subs_per_minute: u32,
    /// Native `typing` frames one connection may send per minute (0 = no limit).
    pub native_typing_per_minute: u32,
    /// Native `subscribe` frames one connection may send per minute (0 = no limit).
    pub native_subscribes_per_minute: u32,
    /// Deepest nesting of arrays and objects a frame may have.
    pub max_depth: usize,
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
            // Rocket.Chat's per-connection DDP limit (`DDP_Rate_Limit_Connection_Requests_Allowed`,
            // 600 per 60 s), for methods and subscriptions each.
            ddp_methods_per_minute: 600,
            ddp_subs_per_minute: 600,
            // A chat box sends a typing frame every few seconds at most; each costs store reads.
            native_typing_per_minute: 120,
            native_subscribes_per_minute: 600,
            // Real frames nest a handful of levels (a message with attachments and fields: ~6).
            max_depth: 32,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/websocket", get(ddp::upgrade))
        .route("/v1/{app}/realtime", get(native::upgrade))
}
