//! Notifications of new messages (TalkJS's `notify`): what the write path hands the store so it
//! can decide, inside the post's transaction, who is told (`crate::notify::recipients`), and
//! the switch the server turns on when it can send e-mail.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Huddle;
use crate::notify::NotifyFacts;
use crate::store::RoomChange;
use crate::{Origin, Room};

impl Huddle {
    /// E-mail notifications from now on, batched per recipient and conversation over `window`
    /// (the server calls this when SMTP is configured; its mailer sends what the posts queue).
    pub fn enable_email_notifications(&self, window: Duration) {
        let ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        self.email_window_ms.store(ms, Ordering::Relaxed);
    }

    /// The batching window while e-mail notifications are on.
    pub fn email_window(&self) -> Option<Duration> {
        let ms = self.email_window_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| Duration::from_millis(ms as u64))
    }

    /// What deciding the notifications of `change` needs, when it is a user message in a
    /// TalkJS-style conversation: who is looking at the conversation on this node now, and the
    /// e-mail window. Rocket.Chat's rooms have their own notification preferences, which
    /// Huddle does not implement, so their messages notify nobody here.
    pub(super) fn notify_facts(&self, room: &Room, change: &RoomChange) -> Option<NotifyFacts> {
        let RoomChange::PostMessage(message) = change else {
            return None;
        };
        if message.is_system() || room.origin != Origin::TalkJs {
            return None;
        }
        Some(NotifyFacts {
            live: self.realtime.live_viewers(&room.id),
            email_window_ms: self
                .email_window()
                .map(|w| i64::try_from(w.as_millis()).unwrap_or(i64::MAX)),
        })
    }
}
