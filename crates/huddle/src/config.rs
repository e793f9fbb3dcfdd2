//! Configuration: defaults < file (`--config`, TOML) < `HUDDLE_*` environment < CLI flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use huddle_core::services::AdminBootstrap;
use huddle_server::mailer::{SmtpConfig, SmtpTls};
use huddle_server::ServerConfig;
use serde::{Deserialize, Serialize};

use crate::secrets_key::{self, KeySource};

/// The file format; every field optional, so a file may set only what it changes.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub port: Option<u16>,
    pub database_url: Option<String>,
    pub login_rate_per_minute: Option<u32>,
    pub resume_login_rate_per_minute: Option<u32>,
    pub max_invite: Option<usize>,
    pub message_rate_limit_calls: Option<u32>,
    pub message_rate_limit_interval_ms: Option<u64>,
    pub ddp_methods_per_minute: Option<u32>,
    pub ddp_subs_per_minute: Option<u32>,
    pub native_typing_per_minute: Option<u32>,
    pub native_subscribes_per_minute: Option<u32>,
    pub max_frame_depth: Option<usize>,
    pub max_ws_message_bytes: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub header_read_timeout_secs: Option<u64>,
    pub max_connections: Option<usize>,
    pub db_max_connections: Option<u32>,
    pub max_header_bytes: Option<usize>,
    pub shutdown_timeout_secs: Option<u64>,
    pub metrics_token: Option<String>,
    /// The key that seals the app's secret keys at rest (`secrets_key.rs`); relative to this
    /// file's directory. Default: `secrets.key` beside the SQLite database, or (PostgreSQL)
    /// beside this file.
    pub secrets_key_file: Option<String>,
    /// Traces to an OpenTelemetry collector (OTLP/HTTP); `--otlp-endpoint` wins.
    pub otlp_endpoint: Option<String>,
    pub insecure_browser_sessions: Option<bool>,
    pub webhook_allow_private: Option<bool>,
    pub trusted_proxies: Option<Vec<String>>,
    pub admin: Option<FileAdmin>,
    pub smtp: Option<FileSmtp>,
}

/// `[smtp]`: e-mail notifications. Without it none are sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSmtp {
    pub host: String,
    /// Defaults to the TLS mode's port: 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    pub from: String,
    pub username: Option<String>,
    /// Prefer `HUDDLE_SMTP_PASSWORD`.
    pub password: Option<String>,
    /// `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
    pub batch_window_secs: Option<u64>,
}

/// How long e-mail notifications of one conversation are gathered before they go out.
pub const DEFAULT_BATCH_WINDOW_SECS: u64 = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdmin {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
}

/// Flags and environment, already merged by clap (flag wins over `HUDDLE_*`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Address to listen on.
    #[arg(long, env = "HUDDLE_LISTEN")]
    pub listen: Option<String>,
    /// Port to listen on (Rocket.Chat's default is 3000).
    #[arg(long, env = "HUDDLE_PORT")]
    pub port: Option<u16>,
    /// `sqlite://PATH` or `postgres://...`.
    #[arg(long, env = "HUDDLE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Login attempts per client IP per minute (0 = unlimited).
    #[arg(long, env = "HUDDLE_LOGIN_RATE_PER_MINUTE")]
    pub login_rate_per_minute: Option<u32>,
    /// A TOML configuration file.
    #[arg(long, env = "HUDDLE_CONFIG")]
    pub config: Option<std::path::PathBuf>,
}

/// `huddle serve`'s own flags, beside those every command shares.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub overrides: Overrides,
    /// Turn identity verification off at start: browsers may act as any user by naming its id.
    /// For local development only (`--insecure-browser-sessions` alone means true).
    #[arg(
        long,
        env = "HUDDLE_INSECURE_BROWSER_SESSIONS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure_browser_sessions: Option<bool>,
    /// Run as a node of a cluster: `nats://host:4222` (several comma-separated). Needs a
    /// `postgres://` database shared by every node.
    #[arg(long, env = "HUDDLE_NATS_URL")]
    pub nats_url: Option<String>,
    /// Export traces (request and write spans) to an OpenTelemetry collector over OTLP/HTTP:
    /// `http://collector:4318` (`/v1/traces` is added). Off unless set.
    #[arg(long, env = "HUDDLE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// What `huddle serve` runs with, before the secrets key is read (`with_secrets_key`), so that
/// logging (and trace export) is set up first and reports the key's generation.
pub struct Serve {
    pub config: ServerConfig,
    /// The collector's URL, when traces are exported.
    pub otlp_endpoint: Option<String>,
    key: KeySource,
}

impl Serve {
    pub fn with_secrets_key(self) -> anyhow::Result<ServerConfig> {
        let mut c = self.config;
        c.secrets_key = Some(secrets_key::resolve(&self.key, &c.database_url)?);
        Ok(c)
    }
}

/// The configuration of `huddle serve`: `load` plus the flags only serving has.
pub fn load_serve(a: &ServeArgs) -> anyhow::Result<Serve> {
    let (mut c, key, file_otlp) = load_parts(&a.overrides)?;
    if let Some(v) = a.insecure_browser_sessions {
        c.insecure_browser_sessions = v;
    }
    let otlp_endpoint = a
        .otlp_endpoint
        .clone()
        .or(file_otlp)
        .filter(|e| !e.trim().is_empty());
    Ok(Serve {
        config: c,
        otlp_endpoint,
        key,
    })
}

/// The configuration without the secrets key: for commands that never read the app's secret
/// keys (backup, restore), so they do not generate a key file.
pub fn load(o: &Overrides) -> anyhow::Result<ServerConfig> {
    Ok(load_parts(o)?.0)
}

/// The configuration with the secrets key resolved (generating its file on first start).
pub fn load_keyed(o: &Overrides) -> anyhow::Result<ServerConfig> {
    let (mut c, source, _) = load_parts(o)?;
    c.secrets_key = Some(secrets_key::resolve(&source, &c.database_url)?);
    Ok(c)
}

/// The configuration, where its secrets key comes from, and the file's `otlp_endpoint`.
fn load_parts(o: &Overrides) -> anyhow::Result<(ServerConfig, KeySource, Option<String>)> {
    let file = match &o.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let mut source = KeySource {
        key: std::env::var("HUDDLE_SECRETS_KEY").ok(),
        file: std::env::var_os("HUDDLE_SECRETS_KEY_FILE")
            .filter(|f| !f.is_empty())
            .map(PathBuf::from),
        config: o.config.clone(),
    };
    if let (None, Some(f), Some(config)) = (&source.file, &file.secrets_key_file, &o.config) {
        source.file = Some(secrets_key::dir_of(config).join(f));
    }
    let otlp_endpoint = file.otlp_endpoint.clone();
    let mut c = ServerConfig::default();
    apply_file(&mut c, file)?;
    // A secret, so the environment rather than the file when it can.
    if let (Some(smtp), Ok(password)) = (c.smtp.as_mut(), std::env::var("HUDDLE_SMTP_PASSWORD")) {
        smtp.password = Some(password).filter(|v| !v.is_empty());
    }
    // Admin bootstrap comes from the environment only (secrets stay out of argv).
    if let (Ok(username), Ok(password)) = (
        std::env::var("HUDDLE_ADMIN_USERNAME"),
        std::env::var("HUDDLE_ADMIN_PASSWORD"),
    ) {
        if !username.is_empty() && !password.is_empty() {
            c.admin = Some(AdminBootstrap {
                username,
                password,
                email: std::env::var("HUDDLE_ADMIN_EMAIL")
                    .ok()
                    .filter(|e| !e.is_empty()),
            });
        }
    }
    // App credentials too come from the environment only.
    if let Ok(id) = std::env::var("HUDDLE_APP_ID") {
        c.app_id = Some(id).filter(|v| !v.is_empty());
    }
    // A secret, so the environment rather than a flag (argv is visible to every local user).
    if let Ok(token) = std::env::var("HUDDLE_METRICS_TOKEN") {
        c.metrics_token = Some(token).filter(|v| !v.is_empty());
    }
    if let Ok(v) = std::env::var("HUDDLE_WEBHOOK_ALLOW_PRIVATE") {
        c.webhook_allow_private = match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "" | "0" | "false" | "no" | "off" => false,
            other => {
                anyhow::bail!("HUDDLE_WEBHOOK_ALLOW_PRIVATE: expected true or false, got {other:?}")
            }
        };
    }
    if let Ok(secret) = std::env::var("HUDDLE_APP_SECRET") {
        c.app_secret = Some(secret).filter(|v| !v.is_empty());
    }
    if let Some(v) = &o.listen {
        c.listen = v.clone();
    }
    if let Some(v) = o.port {
        c.port = v;
    }
    if let Some(v) = &o.database_url {
        c.database_url = v.clone();
    }
    if let Some(v) = o.login_rate_per_minute {
        c.login_rate_per_minute = v;
    }
    Ok((c, source, otlp_endpoint))
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn apply_file(c: &mut ServerConfig, f: FileConfig) -> anyhow::Result<()> {
    if let Some(v) = f.listen {
        c.listen = v;
    }
    if let Some(v) = f.port {
        c.port = v;
    }
    if let Some(v) = f.database_url {
        c.database_url = v;
    }
    if let Some(v) = f.login_rate_per_minute {
        c.login_rate_per_minute = v;
    }
    if let Some(v) = f.resume_login_rate_per_minute {
        c.resume_login_rate_per_minute = v;
    }
    if let Some(v) = f.max_invite {
        c.max_invite = v;
    }
    if let Some(v) = f.message_rate_limit_calls {
        c.message_rate_limit_calls = v;
    }
    if let Some(v) = f.message_rate_limit_interval_ms {
        c.message_rate_limit_interval = std::time::Duration::from_millis(v);
    }
    if let Some(v) = f.ddp_methods_per_minute {
        c.realtime.ddp_methods_per_minute = v;
    }
    if let Some(v) = f.ddp_subs_per_minute {
        c.realtime.ddp_subs_per_minute = v;
    }
    if let Some(v) = f.native_typing_per_minute {
        c.realtime.native_typing_per_minute = v;
    }
    if let Some(v) = f.native_subscribes_per_minute {
        c.realtime.native_subscribes_per_minute = v;
    }
    if let Some(v) = f.max_frame_depth {
        c.realtime.max_depth = v;
    }
    if let Some(v) = f.max_ws_message_bytes {
        c.realtime.max_message = v;
    }
    if let Some(v) = f.request_timeout_secs {
        c.request_timeout = std::time::Duration::from_secs(v);
    }
    if let Some(v) = f.header_read_timeout_secs {
        c.header_read_timeout = std::time::Duration::from_secs(v);
    }
    if let Some(v) = f.max_connections {
        c.max_connections = v;
    }
    if let Some(v) = f.db_max_connections {
        anyhow::ensure!(v > 0, "db_max_connections must be at least 1");
        c.db_max_connections = v;
    }
    if let Some(v) = f.max_header_bytes {
        c.max_header_bytes = v;
    }
    if let Some(v) = f.shutdown_timeout_secs {
        c.shutdown_timeout = std::time::Duration::from_secs(v);
    }
    if let Some(v) = f.metrics_token {
        c.metrics_token = Some(v).filter(|v| !v.is_empty());
    }
    if let Some(v) = f.insecure_browser_sessions {
        c.insecure_browser_sessions = v;
    }
    if let Some(v) = f.webhook_allow_private {
        c.webhook_allow_private = v;
    }
    if let Some(v) = f.trusted_proxies {
        c.trusted_proxies = v;
    }
    if let Some(a) = f.admin {
        c.admin = Some(AdminBootstrap {
            username: a.username,
            password: a.password,
            email: a.email,
        });
    }
    if let Some(m) = f.smtp {
        let mode = m.tls.as_deref().unwrap_or("starttls");
        let tls = SmtpTls::parse(mode).with_context(|| {
            format!("smtp.tls must be \"starttls\", \"tls\" or \"none\", not {mode:?}")
        })?;
        c.smtp = Some(SmtpConfig {
            host: m.host,
            port: m.port.unwrap_or(tls.default_port()),
            from: m.from,
            username: m.username.filter(|u| !u.is_empty()),
            password: m.password.filter(|p| !p.is_empty()),
            tls,
            batch_window: std::time::Duration::from_secs(
                m.batch_window_secs.unwrap_or(DEFAULT_BATCH_WINDOW_SECS),
            ),
        });
    }
    Ok(())
}

/// The defaults as a commented TOML file (`huddle config print-default`).
pub fn default_toml() -> String {
    let d = ServerConfig::default();
    format!(
        "# Huddle configuration. Every key is optional; HUDDLE_* environment variables and flags override it.\n\
         listen = {:?}\n\
         port = {}\n\
         # sqlite://PATH (created if missing) or postgres://user:pass@host/db\n\
         database_url = {:?}\n\
         # Login attempts per client IP per minute; 0 turns the limit off.\n\
         login_rate_per_minute = {}\n\
         # Logins with a session token (resume, REST or DDP) per client IP per minute, counted apart\n\
         # from password attempts so bots reconnecting behind one address do not lock others out; 0 = off.\n\
         resume_login_rate_per_minute = {}\n\
         # Most users one invite request may name.\n\
         max_invite = {}\n\
         # Messages a user may post through Rocket.Chat's API (chat.postMessage, chat.sendMessage,\n\
         # DDP sendMessage) per interval, as Rocket.Chat's sendMessage rule (5 per 1000 ms); users\n\
         # with the permission send-many-messages (admin, bot, app) are not limited. 0 = off.\n\
         message_rate_limit_calls = {}\n\
         message_rate_limit_interval_ms = {}\n\
         # Per realtime connection, frames per minute (0 = off): DDP method calls and subscriptions\n\
         # (Rocket.Chat's per-connection DDP limit is 600 a minute), native typing and subscribe frames.\n\
         ddp_methods_per_minute = {}\n\
         ddp_subs_per_minute = {}\n\
         native_typing_per_minute = {}\n\
         native_subscribes_per_minute = {}\n\
         # Deepest nesting of arrays and objects in a realtime frame (DDP, native socket).\n\
         max_frame_depth = {}\n\
         # Largest WebSocket message (and frame) a client may send; larger ones close the socket (1009).\n\
         max_ws_message_bytes = {}\n\
         # Longest a request may take before it answers 408.\n\
         request_timeout_secs = {}\n\
         # Seconds a client has to send a whole request header; slower connections are closed.\n\
         header_read_timeout_secs = {}\n\
         # Open connections at most; new ones beyond it are closed at once.\n\
         max_connections = {}\n\
         # Database connections this process opens at most (its pool). In a cluster, PostgreSQL's\n\
         # max_connections must exceed the sum over the nodes.\n\
         db_max_connections = {}\n\
         # Largest request header in bytes (at least 8192).\n\
         max_header_bytes = {}\n\
         # Seconds a shutdown lets requests in flight finish.\n\
         shutdown_timeout_secs = {}\n\
         # GET /metrics (Prometheus) is open unless this is set; then it needs Authorization: Bearer <token>.\n\
         # metrics_token = \"change-me\"\n\
         # The key that seals the app's secret keys in the database (AES-256-GCM): a file holding\n\
         # 64 hex digits, relative to this file. Generated (mode 0600) if missing. Default:\n\
         # secrets.key beside the SQLite database, or (PostgreSQL) beside this file.\n\
         # HUDDLE_SECRETS_KEY (the key itself) overrides it. Back it\n\
         # up apart from the database; every node of a cluster needs the same key.\n\
         # secrets_key_file = \"secrets.key\"\n\
         # Export traces (request and write spans) to an OpenTelemetry collector over OTLP/HTTP\n\
         # (/v1/traces is added). Off unless set; --otlp-endpoint / HUDDLE_OTLP_ENDPOINT win.\n\
         # otlp_endpoint = \"http://127.0.0.1:4318\"\n\
         # true turns identity verification off at start: browsers may then act as any user by\n\
         # naming its id, with no token or signature. For local development only; a warning is\n\
         # logged at every start while verification is off.\n\
         insecure_browser_sessions = {}\n\
         # true lets webhooks reach loopback, private and link-local addresses (checked after DNS\n\
         # resolution and on redirects); off, such targets are refused (SSRF). Also HUDDLE_WEBHOOK_ALLOW_PRIVATE.\n\
         webhook_allow_private = {}\n\
         # Reverse proxies (addresses or ranges) whose X-Forwarded-For names the client for the\n\
         # per-address login limits; the header of any other peer is ignored. E.g. [\"127.0.0.1\", \"10.0.0.0/8\"]\n\
         trusted_proxies = []\n\
         # [admin] is created at start when missing (prefer HUDDLE_ADMIN_USERNAME / _PASSWORD / _EMAIL).\n\
         # [admin]\n# username = \"admin\"\n# password = \"change-me\"\n# email = \"admin@example.com\"\n\
         # [smtp] turns e-mail notifications on (TalkJS-style `notify`): each participant who is\n\
         # notified of a message and has an e-mail address gets one e-mail per conversation for\n\
         # the messages of batch_window_secs, unless they read them first. Without [smtp] only the\n\
         # notification.triggered webhooks fire. tls: \"starttls\" (default, port 587), \"tls\"\n\
         # (port 465) or \"none\" (port 25, a local relay only). Prefer HUDDLE_SMTP_PASSWORD.\n\
         # [smtp]\n# host = \"smtp.example.com\"\n# port = 587\n# from = \"Huddle <chat@example.com>\"\n\
         # username = \"huddle\"\n# password = \"change-me\"\n# tls = \"starttls\"\n# batch_window_secs = {}\n",
        d.listen,
        d.port,
        d.database_url,
        d.login_rate_per_minute,
        d.resume_login_rate_per_minute,
        d.max_invite,
        d.message_rate_limit_calls,
        d.message_rate_limit_interval.as_millis(),
        d.realtime.ddp_methods_per_minute,
        d.realtime.ddp_subs_per_minute,
        d.realtime.native_typing_per_minute,
        d.realtime.native_subscribes_per_minute,
        d.realtime.max_depth,
        d.realtime.max_message,
        d.request_timeout.as_secs(),
        d.header_read_timeout.as_secs(),
        d.max_connections,
        d.db_max_connections,
        d.max_header_bytes,
        d.shutdown_timeout.as_secs(),
        d.insecure_browser_sessions,
        d.webhook_allow_private,
        DEFAULT_BATCH_WINDOW_SECS
    )
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn printed_defaults_parse_back() {
        let f: FileConfig = toml::from_str(&default_toml()).expect("default config parses");
        assert_eq!(f.port, Some(3000));
        let mut c = ServerConfig {
            port: 1,
            header_read_timeout: std::time::Duration::ZERO,
            message_rate_limit_calls: 0,
            message_rate_limit_interval: std::time::Duration::ZERO,
            realtime: huddle_server::RealtimeConfig {
                ddp_methods_per_minute: 0,
                native_typing_per_minute: 0,
                max_depth: 0,
                max_message: 0,
                ..Default::default()
            },
            ..ServerConfig::default()
        };
        apply_file(&mut c, f).expect("defaults apply");
        let d = ServerConfig::default();
        assert_eq!(c.port, d.port);
        assert_eq!(
            c.resume_login_rate_per_minute,
            d.resume_login_rate_per_minute
        );
        assert_eq!(c.header_read_timeout, d.header_read_timeout);
        assert_eq!(c.max_connections, d.max_connections);
        assert_eq!(c.message_rate_limit_calls, d.message_rate_limit_calls);
        assert_eq!(c.message_rate_limit_interval, d.message_rate_limit_interval);
        assert_eq!(
            c.realtime.ddp_methods_per_minute,
            d.realtime.ddp_methods_per_minute
        );
        assert_eq!(
            c.realtime.native_typing_per_minute,
            d.realtime.native_typing_per_minute
        );
        assert_eq!(c.realtime.max_depth, d.realtime.max_depth);
        assert_eq!(c.realtime.max_message, d.realtime.max_message);
        assert_eq!(c.max_header_bytes, d.max_header_bytes);
        assert_eq!(c.shutdown_timeout, d.shutdown_timeout);
        assert!(!c.insecure_browser_sessions, "secure by default");
        assert!(!c.webhook_allow_private, "SSRF guard on by default");
        assert!(c.smtp.is_none(), "no e-mail unless configured");
        // The commented [smtp] example, uncommented, is a valid section.
        let example: String = default_toml()
            .lines()
            .skip_while(|l| *l != "# [smtp]")
            .map(|l| l.trim_start_matches("# "))
            .collect::<Vec<_>>()
            .join("\n");
        let f: FileConfig = toml::from_str(&example).expect("the [smtp] example parses");
        let mut c = ServerConfig::default();
        apply_file(&mut c, f).expect("the [smtp] example applies");
        let smtp = c.smtp.expect("smtp set");
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::StartTls));
        assert_eq!(
            smtp.batch_window,
            std::time::Duration::from_secs(DEFAULT_BATCH_WINDOW_SECS)
        );
    }

    #[test]
    fn smtp_section_defaults_its_port_and_refuses_unknown_tls() {
        let mut c = ServerConfig::default();
        let f: FileConfig =
            toml::from_str("[smtp]\nhost = \"h\"\nfrom = \"a@b\"\ntls = \"tls\"\n").expect("parse");
        apply_file(&mut c, f).expect("apply");
        assert_eq!(c.smtp.as_ref().map(|s| s.port), Some(465));
        let f: FileConfig =
            toml::from_str("[smtp]\nhost = \"h\"\nfrom = \"a@b\"\ntls = \"ssl\"\n").expect("parse");
        let err = apply_file(&mut ServerConfig::default(), f).expect_err("ssl is no mode");
        assert!(err.to_string().contains("smtp.tls"), "{err}");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile_path();
        std::fs::write(
            &dir,
            "port = 4000\nlisten = \"127.0.0.1\"\nmetrics_token = \"tok\"\n",
        )
        .expect("write");
        let o = Overrides {
            port: Some(5000),
            config: Some(dir.clone()),
            ..Default::default()
        };
        let c = load(&o).expect("load");
        assert_eq!(c.port, 5000);
        assert_eq!(c.listen, "127.0.0.1");
        if std::env::var_os("HUDDLE_METRICS_TOKEN").is_none() {
            assert_eq!(c.metrics_token.as_deref(), Some("tok"));
        }
        let _ = std::fs::remove_file(dir);
    }

    fn tempfile_path() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("huddle-config-test-{}.toml", std::process::id()))
    }
}
