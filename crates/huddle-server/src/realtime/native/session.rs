//! One native connection: authentication (query or first frame), the router registration,
//! the reader with its heartbeat, and the table of client frames.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures::StreamExt;
use huddle_core::realtime::{ConnId, Delivery, Protocol, Sink};
use huddle_core::services::{ClientActor, ClientCredentials};
use huddle_core::Error;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Notify};

use super::wire::{core_error, encode, error_frame, text, MAX_ID, VERSION};
use crate::realtime::limits::{wait_parts, FrameRate};
use crate::realtime::socket::{offer_shared, write_loop, Beat, Heartbeat, Out, SLOW};
use crate::state::AppState;

#[derive(Default)]
pub(super) struct Flags {
    /// Set (with its code and reason) when the node ends the connection.
    pub(super) closed_by_node: std::sync::Mutex<Option<(u16, &'static str)>>,
    pub(super) overflowed: AtomicBool,
    pub(super) wake: Notify,
}

struct NativeSink {
    tx: mpsc::Sender<Out>,
    flags: Arc<Flags>,
}

impl Sink for NativeSink {
    fn offer(&self, delivery: Arc<Delivery>) -> bool {
        offer_shared(&self.tx, &self.flags.overflowed, &self.flags.wake, delivery)
    }
    fn close(&self, code: u16, reason: &'static str) {
        if let Ok(mut c) = self.flags.closed_by_node.lock() {
            *c = Some((code, reason));
        }
        self.flags.wake.notify_one();
    }
}

/// Credentials in the query string (browsers cannot set headers on a WebSocket).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthQuery {
    token: Option<String>,
    #[serde(rename = "userId")]
    user_id: Option<String>,
    signature: Option<String>,
}

impl AuthQuery {
    fn creds(&self) -> Option<ClientCredentials> {
        let c = ClientCredentials {
            token: self.token.clone(),
            user_id: self.user_id.clone(),
            signature: self.signature.clone(),
        };
        (c.token.is_some() || c.user_id.is_some()).then_some(c)
    }
}

pub(super) struct Conn {
    pub(super) state: AppState,
    pub(super) conn: ConnId,
    /// Who authenticated this socket: every frame acts as them.
    pub(super) actor: ClientActor,
    /// The router's session id of this connection: its own typing notices skip it.
    session: String,
    pub(super) tx: mpsc::Sender<Out>,
    pub(super) flags: Arc<Flags>,
    /// Typing and subscribe frames this connection may still send (`RealtimeConfig`).
    typing_rate: FrameRate,
    subscribe_rate: FrameRate,
}

pub(super) async fn serve(socket: WebSocket, state: AppState, app: String, q: AuthQuery) {
    let (ws_tx, mut ws_rx) = socket.split();
    let (tx, rx) = mpsc::channel(state.realtime.queue.max(1));
    let (close_tx, close_rx) = oneshot::channel::<(u16, &'static str)>();
    let writer = tokio::spawn(write_loop(ws_tx, rx, close_rx, Protocol::Native, encode));
    let close = session(&mut ws_rx, state, app, q, tx).await;
    let _ = close_tx.send(close);
    let mut writer = writer;
    if tokio::time::timeout(Duration::from_secs(5), &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

type Reader = futures::stream::SplitStream<WebSocket>;

/// Authenticates, then serves frames until either side ends. Returns the close code.
async fn session(
    rx: &mut Reader,
    state: AppState,
    app: String,
    q: AuthQuery,
    tx: mpsc::Sender<Out>,
) -> (u16, &'static str) {
    let wait = state.realtime.heartbeat_interval + state.realtime.heartbeat_timeout;
    // Credentials from the query, or else the first frame must be `auth`.
    let creds = match q.creds() {
        Some(c) => c,
        None => match tokio::time::timeout(wait, rx.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => match serde_json::from_str::<Value>(t.as_str()) {
                Ok(v) if v["type"] == "auth" => ClientCredentials {
                    token: v["token"].as_str().map(str::to_string),
                    user_id: v["userId"].as_str().map(str::to_string),
                    signature: v["signature"].as_str().map(str::to_string),
                },
                _ => {
                    let f = error_frame(None, "UNAUTHENTICATED", "Send an auth frame first");
                    let _ = tx.send(Out::Frame(f)).await;
                    return (4401, "unauthenticated");
                }
            },
            _ => return (4401, "unauthenticated"),
        },
    };
    let huddle = state.huddle.clone();
    let user = match huddle.authenticate_client(&app, &creds) {
        // Boxed (as the router's login and every frame's handling below): inline, the largest
        // await's state would stay allocated for the socket's whole life.
        Ok(actor) => match Box::pin(huddle.talk_user(actor.user_id())).await {
            Ok(u) => Ok((u, actor)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (user, actor) = match user {
        Ok(u) => u,
        Err(e) => {
            let f = match &e {
                Error::NotFound(f) if f.code == "APP_NOT_FOUND" => {
                    error_frame(None, "NOT_FOUND", &f.reason)
                }
                Error::NotFound(f) | Error::LoginFailed(f) => {
                    error_frame(None, "UNAUTHENTICATED", &f.reason)
                }
                other => core_error(None, other),
            };
            let _ = tx.send(Out::Frame(f)).await;
            return (4401, "unauthenticated");
        }
    };
    let flags = Arc::new(Flags::default());
    let router = huddle.realtime().clone();
    let sink = Arc::new(NativeSink {
        tx: tx.clone(),
        flags: flags.clone(),
    });
    let session_id = huddle_core::ids::new_id();
    let conn = router.open(&session_id, sink);
    if let Err(e) = Box::pin(router.login(conn, &user, None)).await {
        router.close(conn);
        let _ = tx.send(Out::Frame(core_error(None, &e))).await;
        return (1011, "internal");
    }
    let mut c = Conn {
        typing_rate: FrameRate::per_minute(state.realtime.native_typing_per_minute),
        subscribe_rate: FrameRate::per_minute(state.realtime.native_subscribes_per_minute),
        state,
        conn,
        actor,
        session: session_id,
        tx,
        flags,
    };
    c.send(text(
        json!({"v": VERSION, "type": "welcome", "userId": user.id, "verified": c.actor.verified()}),
    ))
    .await;
    let close = c.read_loop(rx).await;
    // Native sockets do not drive presence: only the router's tables are released.
    router.close(conn);
    close
}

impl Conn {
    /// Queues a reply, waiting for space but not forever: a client that sends without reading
    /// is closed like a slow consumer.
    pub(super) async fn send(&self, frame: Utf8Bytes) {
        self.queue(Out::Frame(frame)).await
    }

    async fn queue(&self, out: Out) {
        let wait = self.state.realtime.heartbeat_interval + self.state.realtime.heartbeat_timeout;
        if tokio::time::timeout(wait, self.tx.send(out)).await.is_err() {
            self.flags.overflowed.store(true, Ordering::SeqCst);
            self.flags.wake.notify_one();
        }
    }

    /// Serves frames until the client leaves, falls silent or cannot keep up. After
    /// `heartbeat_interval` without a frame from the client the server sends a WebSocket ping
    /// (answered by the client's WebSocket stack, no SDK code needed); after a further
    /// `heartbeat_timeout` of silence it closes with 4000.
    async fn read_loop(&mut self, rx: &mut Reader) -> (u16, &'static str) {
        let cfg = &self.state.realtime;
        let mut beat = Heartbeat::new(cfg.heartbeat_interval, cfg.heartbeat_timeout);
        loop {
            tokio::select! {
                _ = self.flags.wake.notified() => {
                    if self.flags.overflowed.load(Ordering::SeqCst) {
                        return (SLOW, "too slow");
                    }
                    if let Some(c) = self.flags.closed_by_node.lock().ok().and_then(|c| *c) {
                        return c;
                    }
                }
                b = beat.check(true) => match b {
                    Some(Beat::Close) => return (4000, "TIMEOUT"),
                    Some(Beat::Ping) => self.queue(Out::Ping).await,
                    None => {}
                },
                msg = rx.next() => {
                    // Anything from the client (a frame, a pong, its own ping) shows it is there.
                    beat.seen();
                    match msg {
                        Some(Ok(Message::Text(t))) => Box::pin(self.handle(t.as_str())).await,
                        Some(Ok(Message::Binary(_))) => {
                            self.send(error_frame(None, "INVALID_FRAME", "Frames are JSON text")).await
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return (1000, ""),
                    }
                }
            }
        }
    }

    async fn handle(&mut self, raw: &str) {
        let v = match super::wire::parse_frame(raw, self.state.realtime.max_depth) {
            Ok(v) => v,
            Err(refusal) => return self.send(refusal).await,
        };
        let id = v["id"].as_str().map(str::to_string);
        let idr = id.as_deref();
        // Typing and subscribing cost store reads: over the connection's rate they are refused
        // before any work, with the wait in the reason.
        let rate = match v["type"].as_str() {
            Some("typing") => Some(&self.typing_rate),
            Some("subscribe") => Some(&self.subscribe_rate),
            _ => None,
        };
        if let Some(Err(wait)) = rate.map(FrameRate::check) {
            let (secs, _) = wait_parts(wait);
            let reason = format!("Too many frames of this type; retry in {secs} s");
            return self.send(error_frame(idr, "RATE_LIMITED", &reason)).await;
        }
        match v["type"].as_str() {
            Some("ping") => {
                self.send(text(json!({"v": VERSION, "type": "pong", "id": id})))
                    .await
            }
            Some("subscribe") => match id {
                Some(id) if !id.is_empty() && id.len() <= MAX_ID => self.subscribe(id, &v).await,
                _ => {
                    self.send(error_frame(
                        idr,
                        "INVALID_FRAME",
                        "A subscription needs an id (1-128 characters)",
                    ))
                    .await
                }
            },
            Some("unsubscribe") => {
                let Some(id) = idr else {
                    return self
                        .send(error_frame(
                            None,
                            "INVALID_FRAME",
                            "Name the subscription id",
                        ))
                        .await;
                };
                let existed = self.state.huddle.realtime().unsubscribe(self.conn, id);
                let f = if existed {
                    text(json!({"v": VERSION, "type": "unsubscribed", "id": id}))
                } else {
                    error_frame(idr, "NOT_FOUND", "No such subscription")
                };
                self.send(f).await
            }
            Some("typing") => self.typing(idr, &v).await,
            Some("auth") => {
                self.send(error_frame(idr, "INVALID_FRAME", "Already authenticated"))
                    .await
            }
            _ => {
                self.send(error_frame(idr, "INVALID_FRAME", "Unknown frame type"))
                    .await
            }
        }
    }

    /// `{"type":"typing","conversation":cid,"typing":bool,"asGuest"?}`: no answer unless refused.
    async fn typing(&self, id: Option<&str>, v: &Value) {
        let (Value::String(cid), Value::Bool(typing)) = (&v["conversation"], &v["typing"]) else {
            let reason = "typing needs a conversation and typing: true|false";
            return self.send(error_frame(id, "INVALID_FRAME", reason)).await;
        };
        let as_guest = v["asGuest"].as_bool().unwrap_or(false);
        let origin = Some(self.session.clone());
        if let Err(e) = self
            .state
            .huddle
            .client_typing(&self.actor, cid, as_guest, *typing, origin)
            .await
        {
            self.send(core_error(id, &e)).await
        }
    }
}
