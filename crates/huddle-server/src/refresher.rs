//! The task that keeps this server's copies of app keys, settings and permissions in step with
//! what other processes write to the store (`huddle admin ...` beside a running server, another
//! server on the same PostgreSQL database). It calls `Huddle::refresh` every
//! `REFRESH_INTERVAL`; requests never wait for it.

use std::sync::Arc;

use huddle_core::services::REFRESH_INTERVAL;
use huddle_core::Huddle;
use tokio::time::MissedTickBehavior;

/// The running refresher; it ends when dropped (an `Application` built but never run must not
/// leave it behind).
pub struct Refresher {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Refresher {
    fn drop(&mut self) {
        // Nothing is in flight that matters: an interrupted re-read changes nothing.
        self.task.abort();
    }
}

pub fn spawn(huddle: Arc<Huddle>) -> Refresher {
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_INTERVAL);
        // A slow store delays the next read instead of causing a burst of them.
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first tick is immediate and the copies were just loaded at start.
        tick.tick().await;
        let mut failing = false;
        loop {
            tick.tick().await;
            match huddle.refresh().await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("re-reading keys, settings and permissions works again");
                }
                Ok(()) => {}
                // Logged once per outage, not every tick; the copies in memory stay as they were.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "could not re-read keys, settings and permissions; keeping the last ones read");
                }
                Err(_) => {}
            }
        }
    });
    Refresher { task }
}
