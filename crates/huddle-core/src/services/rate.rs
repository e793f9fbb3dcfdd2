//! The message rate limit of Rocket.Chat's `sendMessage` (`RateLimiter.limitMethod('sendMessage',
//! 5, 1000, …)`): a user may post `calls` messages per `interval`, unless they hold
//! `send-many-messages` (admin, bot, app). Counted in fixed windows, as Meteor's rate limiter
//! does: the first call opens a window, and the wait told to a refused caller is what is left of
//! it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rocket.Chat's numbers for `sendMessage`.
pub const DEFAULT_MESSAGES_PER_INTERVAL: u32 = 5;
pub const DEFAULT_MESSAGE_INTERVAL: Duration = Duration::from_secs(1);

/// Past this many tracked users, windows that have ended are swept on the next call, so the map
/// stays as large as the set of users posting right now.
const SWEEP_AT: usize = 4096;

#[derive(Debug)]
pub(super) struct MessageRate {
    calls: u32,
    interval: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl MessageRate {
    /// `calls == 0` or a zero interval turns the limit off.
    pub(super) fn new(calls: u32, interval: Duration) -> Self {
        MessageRate {
            calls,
            interval,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn enabled(&self) -> bool {
        self.calls > 0 && !self.interval.is_zero()
    }

    /// Counts one call of `uid`; `Err(wait)` when it is over the limit, with the time left until
    /// the window ends.
    pub(super) fn hit(&self, uid: &str, now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            let interval = self.interval;
            windows.retain(|_, (start, _)| now.duration_since(*start) < interval);
        }
        let entry = windows.entry(uid.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.interval {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        if entry.1 > self.calls {
            Err(self.interval.saturating_sub(now.duration_since(entry.0)))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_per_user() {
        let r = MessageRate::new(2, Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(r.hit("a", t0).is_ok());
        assert!(r.hit("a", t0).is_ok());
        let wait = r.hit("a", t0 + Duration::from_millis(400)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(600));
        // Another user has a window of their own.
        assert!(r.hit("b", t0).is_ok());
        // The window ends: counted afresh.
        assert!(r.hit("a", t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn zero_turns_it_off() {
        let r = MessageRate::new(0, Duration::from_secs(1));
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(r.hit("a", t0).is_ok());
        }
    }
}
