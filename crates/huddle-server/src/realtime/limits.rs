//! Per-connection limits of realtime sockets: how many frames of a kind a client may send per
//! minute, and how deeply its JSON may nest. One connection is one client; a client over its rate
//! is answered with its protocol's own error (nothing is done for that frame) and stays
//! connected, so a well-behaved client that bursts once only waits.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{clock::Clock, DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

/// Frames of one kind per minute on one connection. The whole minute's allowance may come as a
/// burst (as Meteor's fixed windows allow); after that they refill evenly.
pub struct FrameRate(Option<DefaultDirectRateLimiter>);

impl FrameRate {
    /// `per_minute == 0` turns the limit off.
    pub fn per_minute(per_minute: u32) -> Self {
        FrameRate(NonZeroU32::new(per_minute).map(|n| RateLimiter::direct(Quota::per_minute(n))))
    }

    /// Counts one frame; `Err(wait)` when over the rate, with the time until one more is allowed.
    pub fn check(&self) -> Result<(), Duration> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.check().map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }
}

/// Whether `v` nests arrays and objects deeper than `max` levels (a scalar is depth 0, `[]` 1).
/// Iterative, so no input can exhaust the stack here (serde_json already refuses more than 128
/// levels while parsing).
pub fn too_deep(v: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        let depth = depth + 1;
        if depth > max {
            return true;
        }
        stack.extend(children.map(|c| (c, depth)));
    }
    false
}

/// Whole seconds to tell a client to wait (at least 1), and the same in milliseconds.
pub fn wait_parts(wait: Duration) -> (u64, u64) {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    (ms.div_ceil(1000), ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth() {
        assert!(!too_deep(&json!(1), 0));
        assert!(too_deep(&json!([]), 0));
        assert!(!too_deep(&json!({"a": [1, {"b": 2}]}), 3));
        assert!(too_deep(&json!({"a": [1, {"b": []}]}), 3));
    }

    #[test]
    fn rate() {
        let r = FrameRate::per_minute(3);
        assert!(r.check().is_ok() && r.check().is_ok() && r.check().is_ok());
        let wait = r.check().unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        let off = FrameRate::per_minute(0);
        assert!((0..1000).all(|_| off.check().is_ok()));
    }
}
