//! What every handler can reach: the application services and the request limiter.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use huddle_core::{Error, Huddle};

use crate::realtime::RealtimeConfig;

#[derive(Clone)]
pub struct AppState {
    pub huddle: Arc<Huddle>,
    pub login_limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    pub version: &'static str,
    /// Buffer sizes, queue bound and heartbeat of realtime sockets.
    pub realtime: Arc<RealtimeConfig>,
    /// The bearer token `GET /metrics` asks for, if any.
    pub metrics_token: Option<Arc<str>>,
}

impl AppState {
    pub fn new(huddle: Arc<Huddle>, login_per_minute: u32) -> Self {
        let login_limiter = NonZeroU32::new(login_per_minute)
            .map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))));
        AppState {
            huddle,
            login_limiter,
            version: env!("CARGO_PKG_VERSION"),
            realtime: Arc::new(RealtimeConfig::default()),
            metrics_token: None,
        }
    }

    /// An empty token counts as none: a blank setting must not read as "protected".
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token.filter(|t| !t.is_empty()).map(Arc::from);
        self
    }

    pub fn with_realtime(mut self, config: RealtimeConfig) -> Self {
        self.realtime = Arc::new(config);
        self
    }

    /// Refuses a login attempt from `ip` past the configured rate.
    pub fn check_login_rate(&self, ip: IpAddr) -> Result<(), Error> {
        let Some(limiter) = &self.login_limiter else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            Error::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }
}
