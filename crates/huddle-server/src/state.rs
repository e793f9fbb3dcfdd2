//! What every handler can reach: the application services and the request limiter.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use huddle_core::cluster::ClusterHub;
use huddle_core::{Error, Huddle};

use crate::realtime::RealtimeConfig;

#[derive(Clone)]
pub struct AppState {
    pub huddle: Arc<Huddle>,
    /// Password logins per client IP (guessing passwords is what this slows down).
    pub login_limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    /// Resume logins (with a session token) per client IP, counted apart: a token cannot be
    /// guessed, and many bots behind one address reconnecting at once must not lock each other
    /// (or the people behind that address) out of password logins.
    pub resume_limiter: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    pub version: &'static str,
    /// Buffer sizes, queue bound and heartbeat of realtime sockets.
    pub realtime: Arc<RealtimeConfig>,
    /// The bearer token `GET /metrics` asks for, if any.
    pub metrics_token: Option<Arc<str>>,
    /// Whether webhook targets may be on loopback, private or link-local addresses.
    pub webhook_allow_private: bool,
    /// Cluster mode: this node's hub (its id is shown by `/api/info`).
    pub cluster: Option<Arc<ClusterHub>>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`client_ip.rs`).
    pub trusted_proxies: Arc<[crate::client_ip::IpRange]>,
}

impl AppState {
    pub fn new(huddle: Arc<Huddle>, login_per_minute: u32) -> Self {
        AppState {
            huddle,
            login_limiter: limiter(login_per_minute),
            resume_limiter: limiter(DEFAULT_RESUME_LOGINS_PER_MINUTE),
            version: env!("CARGO_PKG_VERSION"),
            realtime: Arc::new(RealtimeConfig::default()),
            metrics_token: None,
            webhook_allow_private: false,
            cluster: None,
            trusted_proxies: Arc::from(Vec::new()),
        }
    }

    pub fn with_trusted_proxies(mut self, ranges: Vec<crate::client_ip::IpRange>) -> Self {
        self.trusted_proxies = Arc::from(ranges);
        self
    }

    pub fn with_webhook_allow_private(mut self, allow: bool) -> Self {
        self.webhook_allow_private = allow;
        self
    }

    pub fn with_cluster(mut self, cluster: Option<Arc<ClusterHub>>) -> Self {
        self.cluster = cluster;
        self
    }

    /// An empty token counts as none: a blank setting must not read as "protected".
    pub fn with_metrics_token(mut self, token: Option<String>) -> Self {
        self.metrics_token = token.filter(|t| !t.is_empty()).map(Arc::from);
        self
    }

    /// Resume logins per client IP per minute; 0 turns that limit off.
    pub fn with_resume_login_rate(mut self, per_minute: u32) -> Self {
        self.resume_limiter = limiter(per_minute);
        self
    }

    pub fn with_realtime(mut self, config: RealtimeConfig) -> Self {
        self.realtime = Arc::new(config);
        self
    }

    /// Refuses a login attempt from `ip` past the configured rate of its kind (`resume`: a
    /// login with a session token; otherwise a password).
    pub fn check_login_rate(&self, ip: IpAddr, resume: bool) -> Result<(), Error> {
        let limiter = if resume {
            &self.resume_limiter
        } else {
            &self.login_limiter
        };
        let Some(limiter) = limiter else {
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

/// Resume logins per IP per minute by default: enough for a few hundred bots behind one NAT to
/// reconnect within a minute or two, still a bound on a flood of bogus tokens.
pub const DEFAULT_RESUME_LOGINS_PER_MINUTE: u32 = 600;

fn limiter(per_minute: u32) -> Option<Arc<DefaultKeyedRateLimiter<IpAddr>>> {
    NonZeroU32::new(per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
}
