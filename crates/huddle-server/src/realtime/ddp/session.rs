//! One DDP connection. The reader handles the client's messages strictly in order (a method
//! blocks the next message, as in Meteor); the writer drains one bounded queue that carries both
//! the replies and the router's deliveries, gathering frames into few socket writes.
//!
//! Backpressure: the router offers deliveries without waiting. A connection whose queue is full
//! cannot keep up; it is dropped from the router at once and closed (1013, "too slow") rather
//! than slowing anyone else down. Replies to the client's own requests wait for queue space
//! instead, which simply slows that client's reading.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures::stream::SplitStream;
use futures::StreamExt;
use huddle_core::realtime::{ConnId, Delivery, Notice, Protocol, Router, Sink, Topic, Verdict};
use huddle_core::{Actor, Huddle};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, Notify};

use super::errors::MeteorError;
use super::streams::{self, SubRequest};
use super::{methods, wire};
use crate::realtime::limits::FrameRate;
use crate::realtime::socket::{offer_shared, write_loop, Beat, Close, Heartbeat, Out, SLOW};
use crate::state::AppState;

/// Signals from the router's side to the reader.
#[derive(Default)]
struct Flags {
    /// Set (with its code and reason) when the node ends the connection.
    pub(super) closed_by_node: std::sync::Mutex<Option<(u16, &'static str)>>,
    overflowed: AtomicBool,
    logged_out: AtomicBool,
    wake: Notify,
}

/// The connection as the router sees it.
struct DdpSink {
    tx: mpsc::Sender<Out>,
    flags: Arc<Flags>,
}

impl Sink for DdpSink {
    fn offer(&self, delivery: Arc<Delivery>) -> bool {
        if matches!(delivery.notice(), Notice::LoggedOut) {
            self.flags.logged_out.store(true, Ordering::SeqCst);
            self.flags.wake.notify_one();
            return true;
        }
        offer_shared(&self.tx, &self.flags.overflowed, &self.flags.wake, delivery)
    }
    fn close(&self, code: u16, reason: &'static str) {
        if let Ok(mut c) = self.flags.closed_by_node.lock() {
            *c = Some((code, reason));
        }
        self.flags.wake.notify_one();
    }
}

/// How long a closing connection's writer may take before it is aborted.
const WRITER_GRACE: Duration = Duration::from_secs(5);

pub struct Session {
    pub state: AppState,
    pub ip: IpAddr,
    pub conn: ConnId,
    /// The DDP session id (also the router's, so typing notices skip their sender).
    pub id: String,
    pub actor: Option<Actor>,
    tx: mpsc::Sender<Out>,
    flags: Arc<Flags>,
    connected: bool,
    /// Collections whose stream document (`added`) this client has already received.
    stream_docs: HashSet<String>,
    /// Method calls and subscriptions this connection may still send (`RealtimeConfig`).
    methods_rate: FrameRate,
    subs_rate: FrameRate,
}

/// Serves one upgraded socket until either side closes it.
pub async fn serve(socket: WebSocket, state: AppState, ip: IpAddr) {
    let (ws_tx, mut ws_rx) = socket.split();
    let (tx, rx) = mpsc::channel(state.realtime.queue.max(1));
    let (close_tx, close_rx) = oneshot::channel::<Close>();
    let writer = tokio::spawn(write_loop(
        ws_tx,
        rx,
        close_rx,
        Protocol::Ddp,
        streams::encode,
    ));
    let flags = Arc::new(Flags::default());
    let id = huddle_core::ids::new_id();
    let router = state.huddle.realtime().clone();
    let sink = Arc::new(DdpSink {
        tx: tx.clone(),
        flags: flags.clone(),
    });
    let conn = router.open(&id, sink);
    let mut session = Session {
        state: state.clone(),
        ip,
        conn,
        id,
        actor: None,
        tx,
        flags,
        connected: false,
        stream_docs: HashSet::new(),
        methods_rate: FrameRate::per_minute(state.realtime.ddp_methods_per_minute),
        subs_rate: FrameRate::per_minute(state.realtime.ddp_subs_per_minute),
    };
    // Meteor's legacy welcome; ddp.js skips it, other clients ignore it.
    session
        .send(Utf8Bytes::from_static(r#"{"server_id":"0"}"#))
        .await;
    let close = session.read_loop(&mut ws_rx).await;
    if let Some(uid) = router.close(conn) {
        // Boxed, as every store call here: an async fn's state is as large as its largest
        // await, and this task lives as long as the socket (see `read_loop`).
        if let Err(e) = Box::pin(session.huddle().presence_disconnected(&uid)).await {
            tracing::warn!(error = %e, "presence update on disconnect failed");
        }
    }
    let _ = close_tx.send(close.unwrap_or((1000, "")));
    drop(session);
    // A writer stuck on a client that stopped reading must not keep the socket forever.
    let mut writer = writer;
    if tokio::time::timeout(WRITER_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

impl Session {
    pub fn huddle(&self) -> &Arc<Huddle> {
        &self.state.huddle
    }

    pub fn router(&self) -> &Arc<Router> {
        self.state.huddle.realtime()
    }

    /// Queues a frame for this client, waiting for room in the queue, but not forever: a client
    /// that sends requests without reading the answers is closed like a slow consumer.
    pub async fn send(&self, frame: Utf8Bytes) {
        let wait = self.state.realtime.heartbeat_interval + self.state.realtime.heartbeat_timeout;
        match tokio::time::timeout(wait, self.tx.send(Out::Frame(frame))).await {
            // A closed queue means the writer is gone; the reader notices on its next read.
            Ok(_) => {}
            Err(_) => {
                self.flags.overflowed.store(true, Ordering::SeqCst);
                self.flags.wake.notify_one();
            }
        }
    }

    /// The logged-in caller, or Rocket.Chat's `error-invalid-user`.
    pub fn actor(&self, method: &str) -> Result<&Actor, MeteorError> {
        self.actor
            .as_ref()
            .ok_or_else(|| MeteorError::invalid_user(method))
    }

    /// Drops the login if the router said the account's sessions ended.
    fn check_logged_out(&mut self) {
        if self.flags.logged_out.swap(false, Ordering::SeqCst) {
            self.actor = None;
        }
    }

    async fn read_loop(&mut self, rx: &mut SplitStream<WebSocket>) -> Option<Close> {
        let cfg = &self.state.realtime;
        let mut beat = Heartbeat::new(cfg.heartbeat_interval, cfg.heartbeat_timeout);
        loop {
            tokio::select! {
                _ = self.flags.wake.notified() => {
                    if self.flags.overflowed.load(Ordering::SeqCst) {
                        return Some((SLOW, "too slow"));
                    }
                    if let Some(c) = self.flags.closed_by_node.lock().ok().and_then(|c| *c) {
                        return Some(c);
                    }
                    self.check_logged_out();
                }
                b = beat.check(self.connected) => match b {
                    Some(Beat::Close) => return Some((4000, "TIMEOUT")),
                    Some(Beat::Ping) => self.send(wire::ping()).await,
                    None => {}
                },
                msg = rx.next() => {
                    // Any inbound message counts as a pong.
                    beat.seen();
                    match msg {
                        Some(Ok(Message::Text(text))) => {
                            // Boxed: a method call's future (store queries, Argon2) is many
                            // KiB; inline it would be held by every idle connection.
                            if let Some(close) = Box::pin(self.handle(text.as_str())).await {
                                return Some(close);
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            self.send(wire::error("Bad request", None)).await;
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                    }
                }
            }
        }
    }

    /// Handles one text frame; `Some` closes the connection.
    async fn handle(&mut self, text: &str) -> Option<Close> {
        let offending = || serde_json::from_str::<Value>(text).ok();
        match wire::parse(text, self.state.realtime.max_depth) {
            wire::Inbound::Connect { version, support } => {
                if self.connected {
                    self.send(wire::error("Already connected", offending()))
                        .await;
                    return None;
                }
                match wire::negotiate(version.as_deref(), &support) {
                    Ok(_) => {
                        self.connected = true;
                        self.send(wire::connected(&self.id)).await;
                    }
                    Err(version) => {
                        self.send(wire::failed(version)).await;
                        return Some((1000, ""));
                    }
                }
            }
            wire::Inbound::Refused { id, sub, error } => {
                if sub {
                    self.send(wire::nosub(&id, Some(error))).await;
                } else {
                    // As every method answer, `updated` first (Meteor sends it for refusals too).
                    self.send(wire::updated(&id)).await;
                    self.send(wire::result(&id, Err(error))).await;
                }
            }
            wire::Inbound::Bad { reason, offending } => {
                self.send(wire::error(reason, offending)).await;
            }
            _ if !self.connected => {
                self.send(wire::error("Must connect first", offending()))
                    .await;
            }
            wire::Inbound::Ping { id } => self.send(wire::pong(id)).await,
            wire::Inbound::Pong => {}
            wire::Inbound::Method { id, method, params } => {
                // Over the connection's rate: refused as Meteor's rate limiter refuses, and
                // nothing runs (no store read, no Argon2).
                if let Err(wait) = self.methods_rate.check() {
                    let err = MeteorError::too_many_requests(wait);
                    self.send(wire::updated(&id)).await;
                    self.send(wire::result(&id, Err(err))).await;
                    return None;
                }
                self.check_logged_out();
                let outcome = methods::call(self, &method, params).await;
                self.send(wire::updated(&id)).await;
                self.send(wire::result(&id, outcome)).await;
            }
            wire::Inbound::Sub { id, name, params } => match self.subs_rate.check() {
                Ok(()) => self.subscribe(id, &name, &params).await,
                Err(wait) => {
                    let err = MeteorError::too_many_requests(wait);
                    self.send(wire::nosub(&id, Some(err))).await
                }
            },
            wire::Inbound::Unsub { id } => {
                self.router().unsubscribe(self.conn, &id);
                self.send(wire::nosub(&id, None)).await;
            }
        }
        None
    }

    async fn subscribe(&mut self, id: String, name: &str, params: &[Value]) {
        let (collection, event_name, topic, use_collection) = match streams::parse(name, params) {
            SubRequest::Empty => return self.send(wire::ready(&id)).await,
            SubRequest::Refused(e) => return self.send(wire::nosub(&id, Some(e))).await,
            SubRequest::Stream {
                collection,
                event_name,
                topic,
                use_collection,
            } => (collection, event_name, topic, use_collection),
        };
        if topic == Topic::Presence {
            // Rocket.Chat: each sub adjusts the watched users; only the first one lives on,
            // later ones end at once.
            let (added, removed) = streams::presence_lists(params);
            if self.router().watch_presence(self.conn, &added, &removed) {
                return self.send(wire::nosub(&id, None)).await;
            }
        }
        let first_doc = !self.stream_docs.contains(&collection);
        let tx = self.tx.clone();
        let flags = self.flags.clone();
        let ready_id = id.clone();
        // Queued under the router's lock: "added"/"ready" precede the first event. A full queue
        // here means the client is not reading: it is closed like any slow consumer.
        let then = move |v: Verdict| {
            if matches!(v, Verdict::Live | Verdict::Dormant) {
                let mut frames = vec![];
                if use_collection {
                    frames.push(wire::stream_doc(&collection, &event_name, first_doc));
                }
                frames.push(wire::ready(&ready_id));
                for f in frames {
                    if tx.try_send(Out::Frame(f)).is_err() {
                        flags.overflowed.store(true, Ordering::SeqCst);
                        flags.wake.notify_one();
                    }
                }
            }
        };
        let router = self.router().clone();
        match router.subscribe_then(self.conn, &id, topic, then).await {
            Ok(Verdict::Live | Verdict::Dormant) => {
                if use_collection {
                    self.stream_docs.insert(name.to_string());
                }
            }
            Ok(Verdict::Denied) => {
                self.send(wire::nosub(&id, Some(streams::not_allowed())))
                    .await
            }
            Ok(Verdict::Duplicate) => {}
            Err(e) => {
                let err = MeteorError::from_core(e, "subscribe");
                self.send(wire::nosub(&id, Some(err))).await
            }
        }
    }
}
