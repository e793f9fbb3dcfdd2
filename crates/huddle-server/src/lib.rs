//! Huddle's HTTP layer: the Rocket.Chat-compatible REST API under `/api`, built on axum.
//! Handlers extract, call one service method and shape the response; rules live in
//! `huddle-core`.

pub mod admin_ui;
pub mod client_ip;
pub mod mailer;
pub mod metrics;
pub mod openapi;
pub mod realtime;
pub mod refresher;
pub mod request_id;
pub mod rocketchat;
pub mod sdk_assets;
pub mod serve;
pub mod shape;
pub mod state;
pub mod talkjs;

#[cfg(test)]
mod fuzz_tests;
/// The parser checks the fuzzers share (proptest tests, cargo-fuzz targets in `fuzz/`).
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use huddle_core::cluster::{Bus, ClusterHub, ClusterOptions, ClusterTasks};
use huddle_core::events::{EventHub, LocalHub};
use huddle_core::services::{AdminBootstrap, Limits};
use huddle_core::Huddle;
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

pub use realtime::RealtimeConfig;
pub use serve::ServeOptions;
pub use state::AppState;

/// How to run the server. Built by the binary from defaults, file, environment and flags.
#[derive(Clone)]
pub struct ServerConfig {
    pub listen: String,
    pub port: u16,
    pub database_url: String,
    pub admin: Option<AdminBootstrap>,
    /// Login attempts allowed per client IP per minute; 0 turns the limit off.
    pub login_rate_per_minute: u32,
    /// Logins with a session token (`resume`) allowed per client IP per minute, counted apart
    /// from password attempts; 0 turns the limit off.
    pub resume_login_rate_per_minute: u32,
    pub max_invite: usize,
    /// Messages a user without `send-many-messages` may post through Rocket.Chat's API per
    /// `message_rate_limit_interval` (Rocket.Chat's `sendMessage` rule, 5 per second); 0 = off.
    pub message_rate_limit_calls: u32,
    pub message_rate_limit_interval: Duration,
    /// Longest a handler may run before the request answers 408.
    pub request_timeout: Duration,
    /// Fixes the TalkJS-style app id (otherwise made once, on first start).
    pub app_id: Option<String>,
    /// A secret key to make sure exists (deployments and tests know it in advance).
    pub app_secret: Option<String>,
    /// Turns identity verification off at start (stored, as the dashboard's switch would), so
    /// browsers may name a user id without proof: for local development only.
    pub insecure_browser_sessions: bool,
    /// Time a client has to send a complete request header (and the first bytes of a new
    /// connection); slower connections are closed.
    pub header_read_timeout: Duration,
    /// Open connections at most; new ones beyond it are closed at once.
    pub max_connections: usize,
    /// Largest request header in bytes (at least 8 KiB, hyper's minimum buffer).
    pub max_header_bytes: usize,
    /// How long a shutdown lets requests in flight finish.
    pub shutdown_timeout: Duration,
    pub realtime: RealtimeConfig,
    /// When set, `GET /metrics` needs `Authorization: Bearer <token>`; when not, it is open
    /// (firewall it).
    pub metrics_token: Option<String>,
    /// Lets webhooks target loopback, private and link-local addresses (SSRF guard off).
    pub webhook_allow_private: bool,
    /// Where the services read "now" for invite expiry; the system clock unless a test moves it.
    pub clock: Arc<dyn huddle_core::Clock>,
    /// Cluster mode: this node's bus to the others (needs PostgreSQL).
    pub cluster: Option<ClusterConfig>,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies), as addresses or
    /// ranges (`10.0.0.0/8`); empty: the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Where e-mail notifications go out; none are sent without it.
    pub smtp: Option<mailer::SmtpConfig>,
    /// Most database connections this process opens (PostgreSQL; SQLite's readers). Several
    /// nodes on one PostgreSQL server add theirs up against its `max_connections`.
    pub db_max_connections: u32,
    /// Seals the app's secret keys at rest (huddle-store's `SecretsKey`). `None`: the server
    /// cannot store or read them (it fails to start once there are any).
    pub secrets_key: Option<huddle_store::SecretsKey>,
}

/// How a node joins a cluster: its bus (NATS, made by the binary) and options.
#[derive(Clone)]
pub struct ClusterConfig {
    pub bus: Arc<dyn Bus>,
    pub options: ClusterOptions,
}

impl std::fmt::Debug for ServerConfig {
    // Hand-written so the admin password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("port", &self.port)
            .field("database_url", &redact_url(&self.database_url))
            .field("admin", &self.admin.as_ref().map(|a| &a.username))
            .field("login_rate_per_minute", &self.login_rate_per_minute)
            .field(
                "resume_login_rate_per_minute",
                &self.resume_login_rate_per_minute,
            )
            .field("max_invite", &self.max_invite)
            .field("message_rate_limit_calls", &self.message_rate_limit_calls)
            .field(
                "message_rate_limit_interval",
                &self.message_rate_limit_interval,
            )
            .field("app_id", &self.app_id)
            .field("app_secret", &self.app_secret.as_ref().map(|_| "***"))
            .field("insecure_browser_sessions", &self.insecure_browser_sessions)
            .field("request_timeout", &self.request_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field(
                "cluster",
                &self.cluster.as_ref().map(|c| c.options.node_id.as_str()),
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("smtp", &self.smtp)
            .finish()
    }
}

/// Hides a password in a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "0.0.0.0".into(),
            port: 3000,
            database_url: "sqlite://huddle.db".into(),
            admin: None,
            login_rate_per_minute: 30,
            resume_login_rate_per_minute: state::DEFAULT_RESUME_LOGINS_PER_MINUTE,
            max_invite: Limits::default().max_invite,
            message_rate_limit_calls: Limits::default().messages_per_interval,
            message_rate_limit_interval: Limits::default().message_interval,
            request_timeout: Duration::from_secs(30),
            app_id: None,
            app_secret: None,
            insecure_browser_sessions: false,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_header_bytes: 64 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            realtime: RealtimeConfig::default(),
            metrics_token: None,
            webhook_allow_private: false,
            clock: Arc::new(huddle_core::SystemClock),
            cluster: None,
            trusted_proxies: vec![],
            smtp: None,
            // The store's own default (StoreOptions).
            db_max_connections: 10,
            secrets_key: None,
        }
    }
}

/// A built server: the port is bound, the store open and migrated, the defaults in place.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// Tasks that live as long as the server: webhook writer and sender, and the refresher that
    /// picks up what other processes (the CLI) changed.
    background: talkjs::webhooks::Webhooks,
    mailer: Option<mailer::Mailer>,
    refresher: refresher::Refresher,
    /// Cluster mode's tasks (bus reader, heartbeat), stopped after serving.
    cluster: Option<ClusterTasks>,
    serve: ServeOptions,
}

impl Application {
    pub async fn build(config: ServerConfig) -> anyhow_like::Result<Self> {
        let serve = serve_options(&config)?;
        let trusted_proxies = config
            .trusted_proxies
            .iter()
            .map(|s| s.parse::<client_ip::IpRange>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow_like::BuildError(format!("invalid configuration: trusted_proxies: {e}"))
            })?;
        // Before the store opens, so its writer's figures are recorded from the start.
        metrics::install();
        let options = huddle_store::StoreOptions {
            max_connections: config.db_max_connections,
            secrets_key: config.secrets_key.clone(),
            ..huddle_store::StoreOptions::default()
        };
        let store = huddle_store::open(&config.database_url, options).await?;
        let (hub, cluster): (Arc<dyn EventHub>, _) = match &config.cluster {
            None => (Arc::new(LocalHub::default()), None),
            Some(c) => {
                if store.cluster().is_none() {
                    return Err(anyhow_like::BuildError(format!(
                        "cluster mode (a NATS URL) needs PostgreSQL: {} is one process's \
                         database; use a postgres:// URL, or drop the NATS URL to run one node",
                        store.backend()
                    )));
                }
                let hub = ClusterHub::new(c.options.clone(), c.bus.clone(), store.clone());
                (hub.clone() as Arc<dyn EventHub>, Some(hub))
            }
        };
        let huddle = Huddle::start(
            store,
            hub,
            Limits {
                max_invite: config.max_invite,
                messages_per_interval: config.message_rate_limit_calls,
                message_interval: config.message_rate_limit_interval,
            },
        )
        .await?
        .with_clock(config.clock.clone());
        huddle
            .provision_app(config.app_id.as_deref(), config.app_secret.as_deref())
            .await?;
        let mut settings = huddle.app_settings();
        if config.insecure_browser_sessions && settings.identity_verification {
            settings.identity_verification = false;
            // Logs the warning, as every switch-off does.
            huddle.set_app_settings(settings).await?;
        } else if !settings.identity_verification {
            // Said at every start for as long as it stays off.
            tracing::warn!("{}", huddle_core::services::INSECURE_BROWSER_SESSIONS);
        }
        if let Some(admin) = &config.admin {
            if huddle.ensure_admin(admin).await? {
                tracing::info!(username = %admin.username, "created admin account");
            }
        }
        let cluster_tasks = match &cluster {
            Some(hub) => {
                tracing::info!(node = %hub.id(), "joining the cluster");
                Some(hub.start(huddle.realtime()).await?)
            }
            None => None,
        };
        let huddle = Arc::new(huddle);
        // First: a bad [smtp] section fails the start before any task is running.
        let mailer = match &config.smtp {
            Some(smtp) => Some(
                mailer::spawn(huddle.clone(), smtp)
                    .map_err(|e| anyhow_like::BuildError(format!("invalid configuration: {e}")))?,
            ),
            None => None,
        };
        if config.webhook_allow_private {
            tracing::warn!("webhook_allow_private is on: webhooks may reach loopback, private and link-local addresses");
        }
        if let Some(hub) = &cluster {
            hub.bind(&huddle);
        }
        let background = talkjs::webhooks::spawn(huddle.clone(), config.webhook_allow_private);
        let refresher = refresher::spawn(huddle.clone());
        let state = AppState::new(huddle, config.login_rate_per_minute)
            .with_resume_login_rate(config.resume_login_rate_per_minute)
            .with_realtime(config.realtime.clone())
            .with_metrics_token(config.metrics_token.clone())
            .with_webhook_allow_private(config.webhook_allow_private)
            .with_cluster(cluster)
            .with_trusted_proxies(trusted_proxies);
        let listener = TcpListener::bind((config.listen.as_str(), config.port)).await?;
        let router = router(state.clone(), config.request_timeout);
        Ok(Application {
            listener,
            router,
            state,
            background,
            mailer,
            refresher,
            cluster: cluster_tasks,
            serve,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves: then the port closes at once and requests in flight
    /// finish, for at most `shutdown_timeout`; then the background tasks stop (queued webhooks
    /// stay in the outbox for the next start).
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = serve::serve(self.listener, self.router, self.serve, shutdown).await;
        drop(self.refresher);
        if let Some(mailer) = self.mailer {
            mailer.stop().await;
        }
        self.background.stop().await;
        if let Some(cluster) = self.cluster {
            cluster.stop().await;
        }
        result
    }
}

/// The serving limits, refused when they would disable themselves or make hyper panic.
fn serve_options(c: &ServerConfig) -> anyhow_like::Result<ServeOptions> {
    let invalid = |what: &str| {
        Err(anyhow_like::BuildError(format!(
            "invalid configuration: {what}"
        )))
    };
    if c.header_read_timeout.is_zero() {
        return invalid("header_read_timeout must be above zero");
    }
    if c.max_connections == 0 {
        return invalid("max_connections must be at least 1");
    }
    if c.max_header_bytes < serve::MIN_HEADER_BYTES {
        return invalid("max_header_bytes must be at least 8192");
    }
    Ok(ServeOptions {
        header_read_timeout: c.header_read_timeout,
        max_connections: c.max_connections,
        max_header_bytes: c.max_header_bytes,
        shutdown_timeout: c.shutdown_timeout,
    })
}

pub fn router(state: AppState, timeout: Duration) -> Router {
    Router::new()
        .merge(rocketchat::routes())
        .merge(talkjs::routes())
        .merge(realtime::routes())
        .merge(admin_ui::routes())
        .merge(sdk_assets::routes())
        .merge(metrics::routes())
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(rocketchat::MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
        // Outside the trace layer, so its lines (and every handler's) carry the request id.
        .layer(axum::middleware::from_fn(request_id::layer))
        // Outermost, so its timings include the other layers (a 408 from the timeout too).
        .layer(axum::middleware::from_fn(metrics::track))
}

/// Errors of building the application, for the binary to print.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, BuildError>;

    #[derive(Debug)]
    pub struct BuildError(pub String);

    impl std::fmt::Display for BuildError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for BuildError {}

    impl From<huddle_core::Error> for BuildError {
        fn from(e: huddle_core::Error) -> Self {
            BuildError(e.to_string())
        }
    }

    impl From<std::io::Error> for BuildError {
        fn from(e: std::io::Error) -> Self {
            BuildError(e.to_string())
        }
    }
}
