//! Subscriptions of a native connection: a conversation (as a participant or a guest) or the
//! inbox. The REST rule is checked once here (`Huddle::viewer`); the core router keeps the
//! subscription afterwards and sends `ready` and any replay under its lock, so they precede
//! every live event.

use std::sync::atomic::Ordering;

use huddle_core::realtime::{Replay, Topic, Verdict};
use huddle_core::services::talk::Viewer;
use huddle_core::Access;
use serde_json::{json, Value};

use super::session::Conn;
use super::wire::{core_error, error_frame, text, VERSION};
use crate::realtime::socket::Out;

impl Conn {
    pub(super) async fn subscribe(&mut self, id: String, v: &Value) {
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
