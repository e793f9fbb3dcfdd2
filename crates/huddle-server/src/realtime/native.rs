//! The native event socket of the TalkJS-style API: `GET /v1/{appId}/realtime` (WebSocket),
//! versioned JSON frames (docs/REALTIME-NATIVE.md). Authenticated like the browser API
//! (`Huddle::authenticate_client`), from query parameters or a first `auth` frame. Access is
//! decided by the core router (`Topic::Conversation`, `Topic::Inbox`); this module parses
//! frames, answers them, and writes the router's deliveries.
//!
//! Backpressure as on DDP: one bounded queue per connection, offered to without waiting; a
//! connection whose queue is full is dropped from the router and closed with 1013. Event frames
//! are the same bytes for every recipient (no per-subscription field), encoded once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures::StreamExt;
use huddle_core::realtime::{
    ConnId, Delivery, Notice, Protocol, Replay, Sink, TalkChange, Topic, Verdict,
};
use huddle_core::services::talk::Viewer;
use huddle_core::services::{ClientActor, ClientCredentials};
use huddle_core::{Access, Error};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::realtime::socket::{offer_shared, write_loop, Beat, Heartbeat, Out, SLOW};
use crate::state::AppState;
use crate::talkjs::shape;

/// The frame format version; frames naming another are refused.
const VERSION: u64 = 1;
/// Longest subscription id accepted (ids are echoed back and kept per subscription).
const MAX_ID: usize = 128;

#[derive(Default)]
struct Flags {
    overflowed: AtomicBool,
    wake: Notify,
}

struct NativeSink {
    tx: mpsc::Sender<Out>,
    flags: Arc<Flags>,
}

impl Sink for NativeSink {
    fn offer(&self, delivery: Arc<Delivery>) -> bool {
        offer_shared(&self.tx, &self.flags.overflowed, &self.flags.wake, delivery)
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
            serve(socket, state, app, q).await
        })
}

fn text(v: Value) -> Utf8Bytes {
    Utf8Bytes::from(v.to_string())
}

fn error_frame(id: Option<&str>, code: &str, reason: &str) -> Utf8Bytes {
    text(json!({"v": VERSION, "type": "error", "id": id, "code": code, "reason": reason}))
}

fn core_error(id: Option<&str>, e: &Error) -> Utf8Bytes {
    match e {
        Error::NotFound(f) => error_frame(id, "NOT_FOUND", &f.reason),
        Error::Forbidden(f) | Error::LoginFailed(f) | Error::Invalid(f) => {
            error_frame(id, &f.code, &f.reason)
        }
        Error::Unauthenticated => error_frame(id, "UNAUTHENTICATED", "Unauthenticated"),
        other => {
            tracing::warn!(error = %other, "native realtime request failed");
            error_frame(id, "INTERNAL", "Internal error")
        }
    }
}

struct Conn {
    state: AppState,
    conn: ConnId,
    /// Who authenticated this socket: every frame acts as them.
    actor: ClientActor,
    /// The router's session id of this connection: its own typing notices skip it.
    session: String,
    tx: mpsc::Sender<Out>,
    flags: Arc<Flags>,
}

async fn serve(socket: WebSocket, state: AppState, app: String, q: AuthQuery) {
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
        state,
        conn,
        session: session_id,
        actor,
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
    async fn send(&self, frame: Utf8Bytes) {
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
        let v: Value = match serde_json::from_str(raw) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return self
                    .send(error_frame(None, "INVALID_FRAME", "Expected a JSON object"))
                    .await
            }
        };
        let id = v["id"].as_str().map(str::to_string);
        let idr = id.as_deref();
        if v["v"].as_u64() != Some(VERSION) {
            return self
                .send(error_frame(idr, "UNSUPPORTED_VERSION", "Send \"v\": 1"))
                .await;
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

    async fn subscribe(&mut self, id: String, v: &Value) {
        let since = match &v["since"] {
            Value::Null => None,
            s => match s.as_u64() {
                Some(n) => Some(n),
                None => {
                    return self
                        .send(error_frame(
                            Some(&id),
                            "INVALID_FRAME",
                            "since must be an event id",
                        ))
                        .await
                }
            },
        };
        let as_guest = v["asGuest"].as_bool().unwrap_or(false);
        let router = self.state.huddle.realtime().clone();
        // Read before the store check: a switch-off after this refuses the guest in the router.
        let epoch = router.guest_epoch();
        let topic = match (&v["conversation"], &v["inbox"]) {
            (Value::String(cid), Value::Null) => {
                let huddle = &self.state.huddle;
                let viewer = match huddle.talk_conversation(cid).await {
                    Ok(room) => huddle
                        .viewer(&room, &self.actor, as_guest)
                        .await
                        .map(|(viewer, _)| viewer),
                    Err(e) => Err(e),
                };
                match viewer {
                    Ok(Viewer::Guest) => Topic::Conversation {
                        rid: cid.clone(),
                        guest: true,
                    },
                    Ok(Viewer::Participant(s)) if s.access != Access::None => Topic::Conversation {
                        rid: cid.clone(),
                        guest: false,
                    },
                    Ok(Viewer::Participant(_)) => {
                        return self
                            .send(error_frame(
                                Some(&id),
                                "NOT_FOUND",
                                "No access to this conversation",
                            ))
                            .await
                    }
                    Err(e) => return self.send(core_error(Some(&id), &e)).await,
                }
            }
            (Value::Null, Value::Bool(true)) => Topic::Inbox,
            _ => {
                return self
                    .send(error_frame(
                        Some(&id),
                        "INVALID_FRAME",
                        "Subscribe to a conversation or to inbox: true",
                    ))
                    .await
            }
        };
        let guest = matches!(topic, Topic::Conversation { guest: true, .. });
        let (tx, flags, ready_id) = (self.tx.clone(), self.flags.clone(), id.clone());
        // Under the router's lock: "ready" and the replay precede every live event.
        let then = move |verdict: Verdict, replay: Replay| {
            if verdict != Verdict::Live {
                return;
            }
            let mut frames = vec![Out::Frame(text(
                json!({"v": VERSION, "type": "ready", "id": ready_id}),
            ))];
            match replay {
                Replay::None => {}
                Replay::Events(events) => frames.extend(events.into_iter().map(Out::Shared)),
                Replay::Resync => frames.push(Out::Frame(text(
                    json!({"v": VERSION, "type": "resync", "id": ready_id}),
                ))),
            }
            for f in frames {
                if tx.try_send(f).is_err() {
                    flags.overflowed.store(true, Ordering::SeqCst);
                    flags.wake.notify_one();
                }
            }
        };
        let f = match router
            .subscribe_talk(self.conn, &id, topic, epoch, since, then)
            .await
        {
            Ok(Verdict::Live) => return,
            Ok(Verdict::Duplicate) => {
                error_frame(Some(&id), "DUPLICATE_SUBSCRIPTION", "This id is in use")
            }
            Ok(_) if guest => error_frame(
                Some(&id),
                "GUEST_ACCESS_DISABLED",
                "Guest access to this conversation is disabled",
            ),
            Ok(_) => error_frame(Some(&id), "NOT_FOUND", "No access to this conversation"),
            Err(e) => core_error(Some(&id), &e),
        };
        self.send(f).await
    }
}

/// A routed notice as a native frame; notices of other protocols are skipped.
fn encode(n: &Notice) -> Option<Utf8Bytes> {
    match n {
        Notice::Talk {
            rid,
            event_id,
            change,
        } => {
            let (event, data) = match change {
                TalkChange::MessageCreated(m) => ("message.created", shape::message(m)),
                TalkChange::MessageUpdated(m) => ("message.updated", shape::message(m)),
                TalkChange::MessageDeleted { id } => ("message.deleted", json!({ "id": id })),
                TalkChange::ParticipantJoined(s) => (
                    "participant.joined",
                    json!({"userId": s.u.id, "participant": shape::participant(s)}),
                ),
                TalkChange::ParticipantUpdated(s) => (
                    "participant.updated",
                    json!({"userId": s.u.id, "participant": shape::participant(s)}),
                ),
                TalkChange::ParticipantLeft { uid } => {
                    ("participant.left", json!({ "userId": uid }))
                }
                TalkChange::ConversationUpdated(r) => {
                    let mut c = shape::conversation(r, &[], None);
                    if let Value::Object(o) = &mut c {
                        // Participants travel as participant.* events.
                        o.remove("participants");
                        o.remove("lastMessage");
                    }
                    ("conversation.updated", c)
                }
                TalkChange::ConversationDeleted => ("conversation.deleted", json!({ "id": rid })),
                TalkChange::GuestAccessChanged { allowed } => {
                    ("guestAccess.changed", json!({ "guestAccess": allowed }))
                }
            };
            Some(text(json!({
                "v": VERSION,
                "type": "event",
                "conversation": rid,
                "eventId": event_id,
                "event": event,
                "data": data,
            })))
        }
        Notice::Typing { rid, uid, typing } => Some(text(json!({
            "v": VERSION, "type": "typing", "conversation": rid, "userId": uid, "typing": typing,
        }))),
        Notice::Ended { sub_id, reason } => Some(text(
            json!({"v": VERSION, "type": "revoked", "sub": sub_id, "reason": reason.as_str()}),
        )),
        _ => None,
    }
}
