//! Huddle's HTTP layer: the Rocket.Chat-compatible REST API under `/api`, built on axum.
//! Handlers extract, call one service method and shape the response; rules live in
//! `huddle-core`.

pub mod rc;
pub mod realtime;
pub mod shape;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use huddle_core::events::LocalHub;
use huddle_core::services::{AdminBootstrap, Limits};
use huddle_core::Huddle;
use tokio::net::TcpListener;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

pub use realtime::RealtimeConfig;
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
    pub max_invite: usize,
    pub request_timeout: Duration,
    pub realtime: RealtimeConfig,
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
            .field("max_invite", &self.max_invite)
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
            max_invite: Limits::default().max_invite,
            request_timeout: Duration::from_secs(30),
            realtime: RealtimeConfig::default(),
        }
    }
}

/// A built server: the port is bound, the store open and migrated, the defaults in place.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

impl Application {
    pub async fn build(config: ServerConfig) -> anyhow_like::Result<Self> {
        let store =
            huddle_store::open(&config.database_url, huddle_store::StoreOptions::default()).await?;
        let huddle = Huddle::start(
            store,
            Arc::new(LocalHub::default()),
            Limits {
                max_invite: config.max_invite,
            },
        )
        .await?;
        if let Some(admin) = &config.admin {
            if huddle.ensure_admin(admin).await? {
                tracing::info!(username = %admin.username, "created admin account");
            }
        }
        let state = AppState::new(Arc::new(huddle), config.login_rate_per_minute)
            .with_realtime(config.realtime.clone());
        let listener = TcpListener::bind((config.listen.as_str(), config.port)).await?;
        let router = router(state.clone(), config.request_timeout);
        Ok(Application {
            listener,
            router,
            state,
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

    /// Serves until `shutdown` resolves; requests in flight finish first.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

pub fn router(state: AppState, timeout: Duration) -> Router {
    Router::new()
        .merge(rc::routes())
        .merge(realtime::routes())
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(rc::MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CorsLayer::permissive())
        .layer(TraceLayer::new_for_http())
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
