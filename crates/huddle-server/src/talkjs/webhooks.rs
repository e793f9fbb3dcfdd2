//! Webhooks: domain events become signed JSON deliveries. Deliveries of room events (messages,
//! participants, a conversation's guest access, its deletion, the notifications a post
//! triggered) are outbox rows the write path commits with the change itself
//! (`RoomWriteStore::write_room`), pointing at the room event and its item, with no body yet;
//! the writer task here only queues what is not a room change (user events, the app-wide
//! guest-access switch, `message.read`), one row per interested endpoint. A sender task posts
//! due rows and records the outcome, retrying with backoff; before a room event's first attempt
//! it builds the body from the event item and stores it, so every retry signs the same bytes.
//! The outbox is in the database, so a restart (or a crash) loses no queued delivery.
//! Signature: `X-Huddle-Signature = HEX(HMAC-SHA256(secret, timestamp + "." + body))` with
//! `X-Huddle-Timestamp`, the scheme TalkJS uses under its own header names.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use hmac::{Hmac, Mac};
use huddle_core::events::Event;
use huddle_core::store::{RoomEvent, RoomEventItem};
use huddle_core::{ids, Huddle, Message, OutboxItem, Timestamp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast::error::RecvError;

use super::error::{bad_request, TalkResult};
use super::extract::{App, Body};
use super::{ok, shape};
use crate::openapi::schema::{obj, object, string, talk_list};
use crate::openapi::{backend, ApiRouter, Ty::*};
use crate::state::AppState;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .get(
            "/v1/{app}/webhooks",
            list,
            backend("The app's webhook endpoints").ok(talk_list(object())),
        )
        .post(
            "/v1/{app}/webhooks",
            create,
            backend("Add a webhook endpoint (no `events`: all of them)")
                .req("url", Str)
                .opt("events", StrList)
                .ok(object()),
        )
        .delete(
            "/v1/{app}/webhooks/{wid}",
            remove,
            backend("Remove a webhook endpoint"),
        )
        .get(
            "/v1/{app}/webhooks/{wid}/deliveries",
            deliveries,
            backend("An endpoint's latest deliveries").ok(talk_list(object())),
        )
        .post(
            "/v1/{app}/webhooks/{wid}/deliveries/{did}/redeliver",
            redeliver,
            backend("Send a delivery again").ok(obj(&[("id", string())], &["id"])),
        )
}

fn endpoint_json(e: &huddle_core::WebhookEndpoint) -> Value {
    json!({ "id": e.id, "url": e.url, "events": e.events, "enabled": e.enabled, "createdAt": e.created_at.millis() })
}

async fn list(State(s): State<AppState>, _: App) -> TalkResult {
    let all = s.huddle.webhooks().await?;
    ok(json!({ "data": all.iter().map(endpoint_json).collect::<Vec<_>>() }))
}

/// `{url, events?: [...]}`; no events means all.
async fn create(State(s): State<AppState>, _: App, body: Body) -> TalkResult {
    let m = body.object()?;
    let url = m
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("INVALID_FIELD", "`url` is required"))?;
    super::webhook_target::check(url, s.webhook_allow_private)
        .await
        .map_err(|reason| bad_request("INVALID_URL", reason))?;
    let events = match m.get("events") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad_request("INVALID_FIELD", "`events` must be strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad_request("INVALID_FIELD", "`events` must be a list")),
    };
    ok(endpoint_json(&s.huddle.create_webhook(url, events).await?))
}

async fn remove(
    State(s): State<AppState>,
    _: App,
    Path((_, wid)): Path<(String, String)>,
) -> TalkResult {
    s.huddle.delete_webhook(&wid).await?;
    ok(json!({}))
}

async fn deliveries(
    State(s): State<AppState>,
    _: App,
    Path((_, wid)): Path<(String, String)>,
) -> TalkResult {
    let items = s.huddle.webhook_deliveries(&wid, 100).await?;
    let data: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({ "id": i.id, "type": i.event_type, "attempts": i.attempts, "deliveredAt": i.delivered_at.map(|t| t.millis()),
                    "nextAttemptAt": i.next_attempt_at.millis(), "lastError": i.last_error, "createdAt": i.created_at.millis() })
        })
        .collect();
    ok(json!({ "data": data }))
}

async fn redeliver(
    State(s): State<AppState>,
    _: App,
    Path((_, wid, did)): Path<(String, String, String)>,
) -> TalkResult {
    let item = s.huddle.redeliver(&wid, &did).await?;
    ok(json!({ "id": item.id }))
}

/// Signs a body for a receiver to verify.
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The webhook type of an event the writer task queues itself: what is not a room change. A
/// room change's deliveries are written with it (`RoomWriteStore`).
fn kind(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::UserCreated(_) => "user.created",
        Event::UserUpdated(_) => "user.updated",
        // The app-wide switch (a settings change); one conversation's is a room change.
        Event::GuestAccessChanged { rid: None, .. } => "guestAccess.changed",
        Event::MessagesRead { .. } => "message.read",
        _ => return None,
    })
}

/// The bodies of `message.read`, one per message read: TalkJS's `recipient` (the reader),
/// `sender`, `conversation` and `message` (with its `readBy` as it is now).
async fn read_bodies(h: &Huddle, rid: &str, uid: &str, messages: &[Message]) -> Vec<String> {
    let recipient = h.talk_user(uid).await.ok();
    let room = h.talk_conversation(rid).await.ok();
    let read_by = h.read_by(messages).await.unwrap_or_default();
    let conversation = room
        .as_ref()
        .map(|r| shape::conversation(r, &[], None))
        .unwrap_or_else(|| json!({ "id": rid }));
    let mut senders: HashMap<String, Value> = HashMap::new();
    let mut out = Vec::with_capacity(messages.len());
    for (m, message) in messages
        .iter()
        .zip(shape::messages_read_by(messages, &read_by))
    {
        if !senders.contains_key(&m.u.id) {
            let sender = h.talk_user(&m.u.id).await.ok();
            let shown = sender.as_ref().map(|u| shape::user(u, false));
            senders.insert(m.u.id.clone(), json!(shown));
        }
        let data = json!({
            "recipient": recipient.as_ref().map(|u| shape::user(u, false)).unwrap_or_else(|| json!({ "id": uid })),
            "sender": senders[&m.u.id],
            "conversation": conversation,
            "message": message,
        });
        out.push(json!({ "id": format!("evt_{}", ids::new_id()), "type": "message.read", "createdAt": Timestamp::now().millis(), "data": data }).to_string());
    }
    out
}

/// The webhook type of an event published after a room change committed deliveries of it, if
/// any: the sender is woken for those at once instead of at its next poll.
fn room_kind(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::MessageCreated { .. } => "message.sent",
        Event::MessageUpdated { .. } => "message.updated",
        Event::MessageDeleted { .. } => "message.deleted",
        Event::RoomDeleted { .. } => "conversation.deleted",
        Event::MemberAdded { .. } => "participant.joined",
        Event::MemberUpdated(_) => "participant.updated",
        Event::MemberRemoved { .. } => "participant.left",
        Event::GuestAccessChanged { rid: Some(_), .. } => "guestAccess.changed",
        _ => return None,
    })
}

/// The webhook type and `data` of an event the writer task queues.
fn payload(event: &Event) -> Option<(&'static str, Value)> {
    Some(match event {
        Event::UserCreated(u) => ("user.created", json!({ "user": shape::user(u, false) })),
        Event::UserUpdated(u) => ("user.updated", json!({ "user": shape::user(u, false) })),
        Event::GuestAccessChanged { rid: None, allowed } => (
            "guestAccess.changed",
            json!({ "conversationId": Value::Null, "allowed": allowed }),
        ),
        _ => return None,
    })
}

/// The webhook type and `data` of item `item` of an event of room `rid`, if webhooks carry it.
/// Conversation and sender are read when the body is built (the first attempt): a conversation
/// deleted by then is shown by its id alone.
async fn item_payload(
    h: &Huddle,
    rid: &str,
    item: &RoomEventItem,
    event: &RoomEvent,
) -> Option<(&'static str, Value)> {
    let kind = item.webhook_type()?;
    let data = match item {
        RoomEventItem::MessageCreated { message: m } => {
            let sender = if m.u.id.is_empty() {
                None
            } else {
                h.talk_user(&m.u.id).await.ok()
            };
            let room = h.talk_conversation(&m.rid).await.ok();
            json!({
                "message": shape::message(m),
                "sender": sender.as_ref().map(|u| shape::user(u, false)),
                "conversation": room.as_ref().map(|r| shape::conversation(r, &[], None)).unwrap_or_else(|| json!({ "id": m.rid })),
            })
        }
        RoomEventItem::MessageUpdated { message: m } => json!({ "message": shape::message(m) }),
        RoomEventItem::MessageDeleted { id } => {
            json!({ "message": { "id": id, "conversationId": rid } })
        }
        RoomEventItem::RoomDeleted => json!({ "conversation": { "id": rid } }),
        RoomEventItem::MemberAdded { subscription: s }
        | RoomEventItem::MemberUpdated { subscription: s } => {
            json!({ "conversationId": s.rid, "userId": s.u.id, "participant": shape::participant(s) })
        }
        RoomEventItem::MemberRemoved { uid } => json!({ "conversationId": rid, "userId": uid }),
        RoomEventItem::GuestAccessChanged { allowed } => {
            json!({ "conversationId": rid, "allowed": allowed })
        }
        RoomEventItem::NotificationTriggered { uid, message_id } => {
            notification_data(h, rid, uid, message_id, event).await
        }
        RoomEventItem::RoomCreated { .. } | RoomEventItem::RoomUpdated { .. } => return None,
    };
    Some((kind, data))
}

/// `notification.triggered` as TalkJS sends it: the recipient (with their e-mail addresses, as
/// a receiver sending its own e-mail needs them), the sender, the conversation and the messages
/// the notification is about (here the one message of the post), plus its id.
async fn notification_data(
    h: &Huddle,
    rid: &str,
    uid: &str,
    message_id: &str,
    event: &RoomEvent,
) -> Value {
    let message = event.items.iter().find_map(|i| match i {
        RoomEventItem::MessageCreated { message } if message.id == message_id => Some(message),
        _ => None,
    });
    let recipient = h.talk_user(uid).await.ok();
    let sender = match message {
        Some(m) if !m.u.id.is_empty() => h.talk_user(&m.u.id).await.ok(),
        _ => None,
    };
    let room = h.talk_conversation(rid).await.ok();
    json!({
        "notificationId": notification_id(message_id, uid),
        "recipient": recipient.as_ref().map(|u| shape::user(u, true)).unwrap_or_else(|| json!({ "id": uid })),
        "sender": sender.as_ref().map(|u| shape::user(u, false)),
        "conversation": room.as_ref().map(|r| shape::conversation(r, &[], None)).unwrap_or_else(|| json!({ "id": rid })),
        "messages": message.map(|m| vec![shape::message(m)]).unwrap_or_default(),
    })
}

/// The id of the notification of message `message_id` to `uid`: the same for every endpoint and
/// attempt, so a receiver can drop duplicates.
pub fn notification_id(message_id: &str, uid: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(message_id.as_bytes());
    hash.update([0]);
    hash.update(uid.as_bytes());
    format!("ntf_{}", hex::encode(&hash.finalize()[..12]))
}

/// The webhook event id of item `item` of event `seq` of room `rid`: the same for every endpoint
/// and every attempt (and a redelivery), so a receiver can drop duplicates.
pub fn room_event_id(rid: &str, seq: i64, item: i64) -> String {
    let mut hash = Sha256::new();
    hash.update(rid.as_bytes());
    hash.update([0]);
    hash.update(seq.to_be_bytes());
    hash.update(item.to_be_bytes());
    format!("evt_{}", hex::encode(&hash.finalize()[..12]))
}

/// The room events the sender read lately: one event's deliveries (its items, each endpoint)
/// come together, and a large event (a 10,000-member invite) is read and decoded once, not
/// once per delivery.
#[derive(Default)]
struct RecentEvents(VecDeque<Arc<RoomEvent>>);

impl RecentEvents {
    const KEPT: usize = 8;

    async fn get(&mut self, h: &Huddle, rid: &str, seq: i64) -> Result<Arc<RoomEvent>, String> {
        if let Some(e) = self.0.iter().find(|e| e.seq == seq && e.rid == rid) {
            return Ok(e.clone());
        }
        let found = h
            .room_events(rid, seq - 1, 1)
            .await
            .map_err(|e| format!("reading its room event: {e}"))?;
        let event = found
            .into_iter()
            .find(|e| e.seq == seq)
            .map(Arc::new)
            .ok_or("its room event is missing")?;
        if self.0.len() == Self::KEPT {
            self.0.pop_front();
        }
        self.0.push_back(event.clone());
        Ok(event)
    }
}

/// Gives a delivery of a room event its body before its first attempt: built from the event
/// item and stored, so that every retry signs and sends the same bytes.
async fn prepare(
    h: &Huddle,
    recent: &mut RecentEvents,
    item: &mut OutboxItem,
) -> Result<(), String> {
    if !item.body.is_empty() {
        return Ok(());
    }
    let (Some(rid), Some(seq), Some(index)) = (item.rid.as_deref(), item.seq, item.item) else {
        return Err("the delivery has no body and no room event".into());
    };
    let event = recent.get(h, rid, seq).await?;
    let entry = usize::try_from(index)
        .ok()
        .and_then(|i| event.items.get(i))
        .ok_or("its event item is missing")?;
    let (kind, data) = item_payload(h, rid, entry, &event)
        .await
        .ok_or("its event item is not a webhook event")?;
    let body = json!({ "id": room_event_id(rid, seq, index), "type": kind, "createdAt": event.created_at.millis(), "data": data }).to_string();
    let stored = h
        .set_delivery_body(&item.id, &body)
        .await
        .map_err(|e| format!("storing its body: {e}"))?;
    item.body = if stored {
        body
    } else {
        // Another sender (a second server on the same database) stored one first: send that.
        h.delivery(&item.id)
            .await
            .map_err(|e| format!("reading its body: {e}"))?
            .map(|i| i.body)
            .filter(|b| !b.is_empty())
            .ok_or("the delivery is gone")?
    };
    Ok(())
}

/// Starts the writer (events → outbox) and the sender (outbox → HTTP). Both run until the
/// process ends; the sender resumes whatever the outbox holds after a restart.
/// The webhook tasks of a running server.
pub struct Webhooks {
    stop: tokio::sync::watch::Sender<bool>,
    writer: tokio::task::JoinHandle<()>,
    sender: tokio::task::JoinHandle<()>,
}

impl Webhooks {
    /// Graceful stop: the writer first queues every event already published (so a restart
    /// loses none of them), then the sender stops; undelivered rows wait in the outbox.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(10), self.writer)
            .await
            .is_err()
        {
            tracing::warn!("webhook writer did not drain in 10 s");
        }
        self.sender.abort();
    }
}

/// Turns one event into outbox rows, if any endpoint wants it.
async fn write(h: &Huddle, event: &Event) -> bool {
    // Most events interest no endpoint: decide that before reading anything.
    if !kind(event).is_some_and(|k| h.webhook_wanted(k)) {
        return false;
    }
    if let Event::MessagesRead { rid, uid, messages } = event {
        let mut queued = false;
        for body in read_bodies(h, rid, uid, messages).await {
            match h.enqueue_webhook("message.read", &body).await {
                Ok(n) => queued |= n > 0,
                Err(e) => tracing::error!(error = %e, "could not queue webhook"),
            }
        }
        return queued;
    }
    let Some((kind, data)) = payload(event) else {
        return false;
    };
    let body = json!({ "id": format!("evt_{}", ids::new_id()), "type": kind, "createdAt": Timestamp::now().millis(), "data": data }).to_string();
    match h.enqueue_webhook(kind, &body).await {
        Ok(n) => n > 0,
        Err(e) => {
            tracing::error!(error = %e, "could not queue webhook");
            false
        }
    }
}

/// How often the sender counts the outbox for `huddle_webhook_outbox_pending`.
const OUTBOX_DEPTH_EVERY: Duration = Duration::from_secs(2);

/// Starts the writer (events → outbox) and the sender (outbox → HTTP). The sender resumes
/// whatever the outbox holds after a restart.
pub fn spawn(huddle: Arc<Huddle>, allow_private: bool) -> Webhooks {
    let mut rx = huddle.hub().subscribe();
    let writer = huddle.clone();
    let (wake_tx, mut wake_rx) = tokio::sync::mpsc::channel::<()>(1);
    let (stop, mut stopping) = tokio::sync::watch::channel(false);
    let writer_task = tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                r = rx.recv() => r,
                _ = stopping.changed() => {
                    // Drain what was published before the stop, then end.
                    while let Ok(event) = rx.try_recv() {
                        write(&writer, &event).await;
                    }
                    return;
                }
            };
            let event = match event {
                Ok(e) => e,
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        missed = n,
                        "webhook writer lagged behind the event hub; those events get no webhook"
                    );
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let committed = room_kind(&event).is_some_and(|k| writer.webhook_wanted(k));
            if write(&writer, &event).await || committed {
                let _ = wake_tx.try_send(());
            }
        }
    });
    let sender_task = tokio::spawn(async move {
        let client = match super::webhook_target::client(allow_private) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook sender has no HTTP client");
                return;
            }
        };
        let mut recent = RecentEvents::default();
        // The outbox depth gauge is refreshed at most this often (a count over pending rows).
        let mut depth_at: Option<std::time::Instant> = None;
        loop {
            if depth_at.is_none_or(|t| t.elapsed() >= OUTBOX_DEPTH_EVERY) {
                depth_at = Some(std::time::Instant::now());
                match huddle.pending_deliveries().await {
                    Ok(n) => crate::metrics::outbox_depth(n),
                    Err(e) => tracing::debug!(error = %e, "could not count the webhook outbox"),
                }
            }
            match huddle.due_deliveries(50).await {
                Ok(items) if !items.is_empty() => {
                    for mut item in items {
                        let outcome = match prepare(&huddle, &mut recent, &mut item).await {
                            Ok(()) => send(&huddle, &client, &item, allow_private).await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = huddle.record_delivery(item, outcome).await {
                            tracing::error!(error = %e, "could not record a webhook attempt");
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the webhook outbox"),
            }
            // Wake on new work, or poll for retries that became due.
            let _ = tokio::time::timeout(Duration::from_millis(500), wake_rx.recv()).await;
        }
    });
    Webhooks {
        stop,
        writer: writer_task,
        sender: sender_task,
    }
}

async fn send(
    h: &Huddle,
    client: &reqwest::Client,
    item: &OutboxItem,
    allow_private: bool,
) -> Result<(), String> {
    let endpoints = h.webhooks().await.map_err(|e| e.to_string())?;
    let endpoint = endpoints
        .iter()
        .find(|e| e.id == item.endpoint_id)
        .ok_or("endpoint removed")?;
    // Stored before the setting was turned off, or an address literal (the resolver only sees
    // names): refused here, and recorded as the attempt's error.
    super::webhook_target::refuse_literal(&endpoint.url, allow_private)?;
    let secret = h
        .webhook_secret()
        .ok_or("no live secret key to sign with")?;
    let ts = Timestamp::now().millis().to_string();
    let res = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("x-huddle-timestamp", &ts)
        .header("x-huddle-signature", sign(&secret, &ts, &item.body))
        .body(item.body.clone())
        .send()
        .await
        .map_err(|e| {
            // reqwest wraps the resolver's or redirect policy's refusal; say it plainly.
            let mut source: Option<&dyn std::error::Error> = Some(&e);
            while let Some(s) = source {
                if s.to_string().contains(super::webhook_target::REFUSED) {
                    return format!("refused: {}", super::webhook_target::REFUSED);
                }
                source = s.source();
            }
            format!("request failed: {e}")
        })?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("endpoint answered {}", res.status()))
    }
}
