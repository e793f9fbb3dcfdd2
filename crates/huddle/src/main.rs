//! The `huddle` binary: `serve`, `migrate`, `healthcheck`, `backup`, `restore`, `admin ...`,
//! `config print-default`.

mod config;
mod secrets_key;
mod telemetry;

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use huddle_core::events::LocalHub;
use huddle_core::services::{Limits, NewUserInput};
use huddle_core::{Huddle, UserLookup};
use huddle_server::Application;

#[derive(Parser)]
#[command(
    name = "huddle",
    version,
    about = "A self-hosted group-chat server speaking Rocket.Chat's REST API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Log lines as text (default) or as JSON objects, one a line, with the request id and
    /// other span fields (for log collectors).
    #[arg(long, global = true, env = "HUDDLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default command).
    Serve(config::ServeArgs),
    /// Apply database migrations and exit.
    Migrate(config::Overrides),
    /// Exit 0 when the server at the address answers.
    Healthcheck {
        /// Base URL of the server.
        #[arg(long, env = "HUDDLE_URL", default_value = "http://127.0.0.1:3000")]
        url: String,
    },
    /// Copy the SQLite database to a new file, consistently, while a server may be running
    /// (PostgreSQL: use pg_dump).
    Backup {
        #[command(flatten)]
        overrides: config::Overrides,
        /// The file to write; it must not exist.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Replace the SQLite database with a backup, after checking the backup's integrity
    /// (PostgreSQL: use pg_restore). Stop the server first.
    Restore {
        #[command(flatten)]
        overrides: config::Overrides,
        /// The backup to restore.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace an existing database (never one that a running server has open).
        #[arg(long)]
        force: bool,
    },
    /// Manage accounts directly in the database.
    Admin {
        #[command(flatten)]
        overrides: config::Overrides,
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a user account.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Global roles, comma-separated (default `user`).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Set a user's password.
    SetPassword {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
    },
    /// Give a user a global role (e.g. admin, bot).
    AddRole {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Show the app id, its keys and security settings (TalkJS-style API).
    AppInfo,
    /// Create a new secret key (print it once). Old keys keep working until revoked.
    CreateSecret,
    /// Revoke a secret key by id.
    RevokeSecret {
        #[arg(long)]
        id: String,
    },
    /// Change the app's security settings.
    AppSettings {
        /// Allow browsers to create and update users.
        #[arg(long)]
        browser_user_sync: Option<bool>,
        /// Allow browsers to create and update conversations and participants.
        #[arg(long)]
        browser_conversation_sync: Option<bool>,
        /// Require browsers to prove the user (token or signature).
        #[arg(long)]
        identity_verification: Option<bool>,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print the default configuration file.
    PrintDefault,
}

/// Logs to stderr (text or JSON), and with an OTLP endpoint the same spans to a collector.
fn init_tracing(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<Option<telemetry::Telemetry>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("HUDDLE_LOG")
            .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into())
    };
    // Colours only for a terminal: a log file or a collector gets plain lines, and the server
    // does not format escape codes into every request's span fields for them.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        // One object a line: timestamp, level, target, fields, and the spans it happened in
        // (`request` with `request_id` for anything logged while a request runs).
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .boxed(),
    };
    let (telemetry, otel) = match otlp_endpoint {
        Some(endpoint) => {
            let (t, tracer) = telemetry::Telemetry::start(endpoint)?;
            // Huddle's own spans only (request, write), whatever HUDDLE_LOG says: the exporter's
            // HTTP client would otherwise trace its own exports.
            let only_huddle = tracing_subscriber::filter::filter_fn(|m| {
                m.is_span() && m.target().starts_with("huddle")
            });
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(only_huddle);
            (Some(t), Some(layer))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(fmt.with_filter(filter()))
        .with(otel)
        .init();
    if let Some(endpoint) = otlp_endpoint {
        tracing::info!(endpoint = %telemetry::traces_url(endpoint), "exporting traces over OTLP/HTTP");
    }
    Ok(telemetry)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let log_format = cli.log_format;
    match cli.command.unwrap_or_else(default_command) {
        Command::Serve(a) => {
            let loaded = config::load_serve(&a)?;
            let telemetry = init_tracing(log_format, loaded.otlp_endpoint.as_deref())?;
            let nats = a.nats_url.clone().filter(|u| !u.is_empty());
            let served = match loaded.with_secrets_key() {
                Ok(c) => serve(c, nats).await,
                Err(e) => Err(e),
            };
            if let Some(t) = telemetry {
                t.shutdown();
            }
            served
        }
        Command::Migrate(o) => {
            init_tracing(log_format, None)?;
            let c = config::load_keyed(&o)?;
            huddle_store::open(&c.database_url, store_options(&c))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "migrations applied to {}",
                huddle_server::redact_url(&c.database_url)
            );
            Ok(())
        }
        Command::Healthcheck { url } => healthcheck(&url).await,
        Command::Backup { overrides, out } => {
            let c = config::load(&overrides)?;
            let copy = huddle_store::backup(&c.database_url, &out)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "backup of {} written to {}: {}",
                huddle_server::redact_url(&c.database_url),
                out.display(),
                copy.describe()
            );
            Ok(())
        }
        Command::Restore {
            overrides,
            from,
            force,
        } => {
            let c = config::load(&overrides)?;
            let copy = huddle_store::restore(&c.database_url, &from, force)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} restored into {}: {}",
                from.display(),
                huddle_server::redact_url(&c.database_url),
                copy.describe()
            );
            Ok(())
        }
        Command::Admin { overrides, action } => {
            admin(config::load_keyed(&overrides)?, action).await
        }
        Command::Config {
            action: ConfigAction::PrintDefault,
        } => {
            print!("{}", config::default_toml());
            Ok(())
        }
    }
}

/// `huddle` alone is `huddle serve`, parsed as such so that its `HUDDLE_*` variables count (a
/// default-constructed `ServeArgs` would ignore `HUDDLE_PORT` and the like).
fn default_command() -> Command {
    Cli::parse_from(["huddle", "serve"])
        .command
        .unwrap_or(Command::Serve(config::ServeArgs::default()))
}

async fn serve(mut c: huddle_server::ServerConfig, nats_url: Option<String>) -> anyhow::Result<()> {
    let db = huddle_server::redact_url(&c.database_url);
    if let Some(url) = nats_url {
        c.cluster = Some(cluster(&c, &url).await?);
    }
    let app = Application::build(c).await.context("starting huddle")?;
    tracing::info!(address = %app.local_addr(), database = %db, "huddle listening on http://{} with data in {}", app.local_addr(), db);
    app.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Cluster mode: refused on SQLite before anything connects; otherwise a fresh node id and a
/// NATS connection.
async fn cluster(
    c: &huddle_server::ServerConfig,
    url: &str,
) -> anyhow::Result<huddle_server::ClusterConfig> {
    let db = c.database_url.to_ascii_lowercase();
    if !(db.starts_with("postgres://") || db.starts_with("postgresql://")) {
        anyhow::bail!(
            "--nats-url (HUDDLE_NATS_URL) runs a node of a cluster, which needs a PostgreSQL \
             database shared by every node; {} is SQLite, one process's file. Use a postgres:// \
             database URL, or drop the NATS URL to run one node.",
            huddle_server::redact_url(&c.database_url)
        );
    }
    let node_id = huddle_core::cluster::new_node_id();
    tracing::info!(node = %node_id, nats = %url, "cluster node");
    let bus = huddle_cluster::NatsBus::connect(url, &format!("huddle-{node_id}"))
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    Ok(huddle_server::ClusterConfig {
        bus,
        options: huddle_core::cluster::ClusterOptions::new(node_id),
    })
}

/// SIGINT or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn healthcheck(url: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?;
    let res = client
        .get(format!("{}/api/info", url.trim_end_matches('/')))
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    if !res.status().is_success() {
        bail!("{url} answered {}", res.status());
    }
    println!("ok");
    Ok(())
}

fn print_settings(a: &huddle_core::AppSettings) {
    println!(
        "browser user sync: {}",
        if a.browser_user_sync {
            "allowed"
        } else {
            "disallowed"
        }
    );
    println!(
        "browser conversation sync: {}",
        if a.browser_conversation_sync {
            "allowed"
        } else {
            "disallowed"
        }
    );
    println!(
        "identity verification: {}",
        if a.identity_verification {
            "required"
        } else {
            "off"
        }
    );
    println!(
        "guest access: {}",
        if a.guests_allowed() { "on" } else { "off" }
    );
}

/// The store as the CLI opens it: with the secrets key, so it reads and seals as the server does.
fn store_options(c: &huddle_server::ServerConfig) -> huddle_store::StoreOptions {
    huddle_store::StoreOptions {
        secrets_key: c.secrets_key.clone(),
        ..huddle_store::StoreOptions::default()
    }
}

async fn admin(c: huddle_server::ServerConfig, action: AdminAction) -> anyhow::Result<()> {
    let store = huddle_store::open(&c.database_url, store_options(&c))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let huddle = Huddle::start(store, Arc::new(LocalHub::default()), Limits::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let err = |e: huddle_core::Error| anyhow::anyhow!("{e}");
    match action {
        AdminAction::CreateUser {
            username,
            password,
            email,
            name,
            roles,
        } => {
            let user = huddle
                .create_user_unchecked(NewUserInput {
                    name: name.unwrap_or_else(|| username.clone()),
                    username,
                    email,
                    password: Some(password),
                    roles: if roles.is_empty() { None } else { Some(roles) },
                    verified: true,
                    join_default_channels: true,
                    ..Default::default()
                })
                .await
                .map_err(err)?;
            println!(
                "created user {} ({}) with roles {}",
                user.username_or_id(),
                user.id,
                user.roles.join(",")
            );
        }
        AdminAction::SetPassword { username, password } => {
            let user = huddle
                .find_user(Some(&UserLookup::Username(username)))
                .await
                .map_err(err)?;
            huddle
                .set_password_unchecked(&user.id, &password)
                .await
                .map_err(err)?;
            println!("password set for {}", user.username_or_id());
        }
        AdminAction::AddRole { username, role } => {
            let (role, user) = huddle
                .add_user_to_role(None, &role, &UserLookup::Username(username))
                .await
                .map_err(err)?;
            println!("{} now has role {}", user.username_or_id(), role.name);
        }
        AdminAction::AppInfo => {
            huddle
                .provision_app(c.app_id.as_deref(), c.app_secret.as_deref())
                .await
                .map_err(err)?;
            println!("app id: {}", huddle.app_id());
            print_settings(&huddle.app_settings());
            for k in huddle.app_keys().await.map_err(err)? {
                let state = if k.is_live() { "live" } else { "revoked" };
                println!("key {} ({state}): ...{}", k.id, k.hint());
            }
        }
        AdminAction::CreateSecret => {
            let key = huddle.create_app_key().await.map_err(err)?;
            println!("key {}: {}", key.id, key.secret);
        }
        AdminAction::RevokeSecret { id } => {
            huddle.revoke_app_key(&id).await.map_err(err)?;
            println!("key {id} revoked");
        }
        AdminAction::AppSettings {
            browser_user_sync,
            browser_conversation_sync,
            identity_verification,
        } => {
            let mut a = huddle.app_settings();
            a.browser_user_sync = browser_user_sync.unwrap_or(a.browser_user_sync);
            a.browser_conversation_sync =
                browser_conversation_sync.unwrap_or(a.browser_conversation_sync);
            a.identity_verification = identity_verification.unwrap_or(a.identity_verification);
            let saved = huddle.set_app_settings(a).await.map_err(err)?;
            print_settings(&saved);
            if !saved.identity_verification {
                eprintln!(
                    "warning: {}",
                    huddle_core::services::INSECURE_BROWSER_SESSIONS
                );
            }
            // A running server re-reads settings every few seconds (`Huddle::refresh`);
            // PUT /v1/{appId}/settings changes it at once.
            println!("saved; a running server applies it within 5 seconds");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn serve_args(args: &[&str]) -> config::ServeArgs {
        match Cli::try_parse_from(args).expect("parses").command {
            Some(Command::Serve(a)) => a,
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn insecure_browser_sessions_is_a_flag_that_takes_an_optional_value() {
        let a = serve_args(&[
            "huddle",
            "serve",
            "--insecure-browser-sessions",
            "--port",
            "4000",
        ]);
        assert_eq!(a.insecure_browser_sessions, Some(true));
        assert_eq!(a.overrides.port, Some(4000), "the next flag is not eaten");
        let a = serve_args(&["huddle", "serve", "--insecure-browser-sessions=false"]);
        assert_eq!(a.insecure_browser_sessions, Some(false));
        assert!(
            Cli::try_parse_from(["huddle", "serve", "--insecure-browser-sessions=maybe"]).is_err()
        );
    }
}
