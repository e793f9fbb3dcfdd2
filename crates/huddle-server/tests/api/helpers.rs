//! The test harness: a real `Application` on `127.0.0.1:0` with its own database (a temp SQLite
//! file, or a fresh PostgreSQL database when `HUDDLE_TEST_BACKEND=postgres`), and a small
//! client that speaks the Rocket.Chat headers.

use std::sync::atomic::{AtomicU64, Ordering};

use huddle_core::services::AdminBootstrap;
use huddle_server::{Application, ServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-pass-123";

/// Who makes a request.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub token: String,
    pub username: String,
}

pub struct TestApp {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub client: reqwest::Client,
    pub admin: Session,
    config: ServerConfig,
    /// Resolving it starts the server's graceful shutdown (see `begin_shutdown`).
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The running server's state (cluster tests read its hub's counters).
    pub state: Option<huddle_server::AppState>,
    _dir: tempfile::TempDir,
}

/// The TalkJS-style app every test server has.
pub const APP_ID: &str = "test-app";
pub const SECRET: &str = "sk_test_secret_0123456789";

/// The key sealing the app's secret keys at rest, one per test process: every app and every
/// second store a test opens on an app's database (`store_options`) share it, as a cluster's
/// nodes must.
pub static SECRETS_KEY: std::sync::LazyLock<huddle_store::SecretsKey> =
    std::sync::LazyLock::new(huddle_store::SecretsKey::generate);

/// Options for a second store on an app's database (another process's view of it).
pub fn store_options() -> huddle_store::StoreOptions {
    huddle_store::StoreOptions {
        secrets_key: Some(SECRETS_KEY.clone()),
        ..huddle_store::StoreOptions::default()
    }
}

/// How a browser request authenticates in tests.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// Only `X-Huddle-User-Id`: refused unless identity verification was turned off, which a
    /// test must do explicitly (it is on by default).
    Bare(String),
    /// `X-Huddle-User-Id` + `X-Huddle-Signature`.
    Signed(String, String),
    /// `Authorization: Bearer <user token>`.
    Token(String),
}

impl ClientAuth {
    /// A browser session as `user_id`, signed with the test app's secret (what tests use unless
    /// they are about authentication itself).
    pub fn signed(user_id: &str) -> ClientAuth {
        ClientAuth::Signed(
            user_id.to_string(),
            huddle_core::services::sign_user_id(SECRET, user_id),
        )
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::process::id()
    )
}

/// The database for one test app: SQLite by default; PostgreSQL (a fresh database per app) when
/// `HUDDLE_TEST_BACKEND=postgres`, which then must work: a broken PostgreSQL fails the test.
async fn database_url(dir: &tempfile::TempDir) -> String {
    if std::env::var("HUDDLE_TEST_BACKEND").as_deref() == Ok("postgres") {
        let base = std::env::var("HUDDLE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!(
            "huddle_api_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .expect("HUDDLE_TEST_BACKEND=postgres but PostgreSQL is unreachable");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let (prefix, _) = base.rsplit_once('/').expect("postgres url has a database");
        return format!("{prefix}/{name}");
    }
    format!("sqlite://{}", dir.path().join("huddle.db").display())
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut ServerConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = ServerConfig {
            listen: "127.0.0.1".into(),
            port: 0,
            database_url: database_url(&dir).await,
            admin: Some(AdminBootstrap {
                username: ADMIN.into(),
                password: ADMIN_PASSWORD.into(),
                email: Some("admin@example.com".into()),
            }),
            login_rate_per_minute: 0,
            resume_login_rate_per_minute: 0,
            // Off, as Rocket.Chat turns its rate limits off in TEST_MODE: tests post as fast as
            // they can as ordinary users; `limits.rs` turns it on where it is the subject.
            message_rate_limit_calls: 0,
            // The webhook tests' receivers listen on 127.0.0.1, which the SSRF guard refuses by
            // default; `security.rs` turns it back off to test the guard.
            webhook_allow_private: true,
            app_id: Some(APP_ID.into()),
            app_secret: Some(SECRET.into()),
            secrets_key: Some(SECRETS_KEY.clone()),
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let has_admin = config.admin.is_some();
        let client = reqwest::Client::new();
        let mut t = TestApp {
            base: String::new(),
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            config,
            client,
            shutdown: None,
            server: None,
            state: None,
            admin: Session {
                user_id: String::new(),
                token: String::new(),
                username: ADMIN.into(),
            },
            _dir: dir,
        };
        t.start().await;
        if has_admin {
            t.admin = t.login(ADMIN, ADMIN_PASSWORD).await;
        }
        t
    }

    async fn start(&mut self) {
        let app = Application::build(self.config.clone())
            .await
            .expect("build app");
        self.addr = app.local_addr();
        self.base = format!("http://{}", self.addr);
        self.state = Some(app.state().clone());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        self.shutdown = Some(shutdown);
        self.server = Some(tokio::spawn(app.run_until(async move {
            // A dropped sender (the TestApp went away) is not a request to stop.
            if stop.await.is_err() {
                std::future::pending::<()>().await;
            }
        })));
    }

    /// Changes the configuration the next `restart` uses.
    pub fn reconfigure(&mut self, adjust: impl FnOnce(&mut ServerConfig)) {
        adjust(&mut self.config);
    }

    /// Stops the server (gracefully) and starts a new one on the same database.
    pub async fn restart(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
        self.start().await;
    }

    /// A TalkJS-style backend call with the secret key (`path` is below `/v1/{appId}/`).
    pub async fn talk(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.talk_with(Some(SECRET), method, path, body).await
    }

    /// A TalkJS-style backend call with the given bearer token (or none).
    pub async fn talk_with(
        &self,
        bearer: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}/v1/{APP_ID}/{path}", self.base);
        let mut rb = self.client.request(method.parse().expect("method"), url);
        if let Some(b) = bearer {
            rb = rb.bearer_auth(b);
        }
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        read(rb.send().await.expect("request")).await
    }

    /// A TalkJS-style call that must answer 200.
    pub async fn talk_ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.talk(method, path, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{method} {path} {body:?} -> {v}");
        v
    }

    /// A browser call below `/v1/{appId}/client/`.
    pub async fn client_call(
        &self,
        auth: &ClientAuth,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}/v1/{APP_ID}/client/{path}", self.base);
        let mut rb = self.client.request(method.parse().expect("method"), url);
        rb = match auth {
            ClientAuth::Bare(u) => rb.header("X-Huddle-User-Id", u),
            ClientAuth::Signed(u, sig) => rb
                .header("X-Huddle-User-Id", u)
                .header("X-Huddle-Signature", sig),
            ClientAuth::Token(t) => rb.bearer_auth(t),
        };
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        read(rb.send().await.expect("request")).await
    }

    /// Starts the server's graceful shutdown; the handle resolves when the server has stopped.
    pub fn begin_shutdown(&mut self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        let _ = self.shutdown.take().expect("shutdown begun once").send(());
        self.server.take().expect("server running")
    }

    /// The server's database, for tests that write it as another process would, or read the
    /// room event log through the store.
    pub fn database_url(&self) -> &str {
        &self.config.database_url
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/") {
            format!("{}{}", self.base, path)
        } else {
            format!("{}/api/v1/{}", self.base, path)
        }
    }

    fn with_auth(
        &self,
        rb: reqwest::RequestBuilder,
        who: Option<&Session>,
    ) -> reqwest::RequestBuilder {
        match who {
            Some(s) => rb
                .header("X-User-Id", &s.user_id)
                .header("X-Auth-Token", &s.token),
            None => rb,
        }
    }

    /// POST a JSON body; returns the status and the parsed body.
    pub async fn post(
        &self,
        who: Option<&Session>,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let rb = self.with_auth(self.client.post(self.url(path)).json(&body), who);
        read(rb.send().await.expect("request")).await
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(
        &self,
        who: Option<&Session>,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let rb = self.with_auth(
            self.client
                .post(self.url(path))
                .header("Content-Type", content_type)
                .body(body.to_string()),
            who,
        );
        read(rb.send().await.expect("request")).await
    }

    /// GET with query parameters.
    pub async fn get(
        &self,
        who: Option<&Session>,
        path: &str,
        query: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let rb = self.with_auth(self.client.get(self.url(path)).query(query), who);
        read(rb.send().await.expect("request")).await
    }

    /// POST that must succeed; returns the body.
    pub async fn ok(&self, who: &Session, path: &str, body: Value) -> Value {
        let (status, v) = self.post(Some(who), path, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path} {body} -> {v}");
        assert_eq!(v["success"], json!(true), "{path} -> {v}");
        v
    }

    /// GET that must succeed.
    pub async fn get_ok(&self, who: &Session, path: &str, query: &[(&str, &str)]) -> Value {
        let (status, v) = self.get(Some(who), path, query).await;
        assert_eq!(status, StatusCode::OK, "{path} {query:?} -> {v}");
        v
    }

    pub async fn login(&self, user: &str, password: &str) -> Session {
        let (status, v) = self
            .post(None, "login", json!({ "user": user, "password": password }))
            .await;
        assert_eq!(status, StatusCode::OK, "login {user}: {v}");
        Session {
            user_id: v["data"]["userId"].as_str().expect("userId").into(),
            token: v["data"]["authToken"].as_str().expect("authToken").into(),
            username: user.into(),
        }
    }

    /// Creates a user (as admin) and logs them in.
    pub async fn user(&self, prefix: &str) -> Session {
        let username = unique(prefix);
        self.ok(
            &self.admin,
            "users.create",
            json!({ "username": username, "name": username, "email": format!("{username}@example.com"), "password": "pw-123456" }),
        )
        .await;
        self.login(&username, "pw-123456").await
    }

    /// Creates a channel (`c`) or group (`p`) owned by `owner`; returns its id.
    pub async fn room(&self, owner: &Session, t: &str, members: &[&str]) -> (String, String) {
        let name = unique(if t == "c" { "chan" } else { "grp" });
        let path = if t == "c" {
            "channels.create"
        } else {
            "groups.create"
        };
        let key = if t == "c" { "channel" } else { "group" };
        let v = self
            .ok(owner, path, json!({ "name": name, "members": members }))
            .await;
        (v[key]["_id"].as_str().expect("room id").to_string(), name)
    }

    pub async fn room_info(&self, who: &Session, rid: &str) -> Value {
        self.get_ok(who, "rooms.info", &[("roomId", rid)]).await["room"].clone()
    }

    pub async fn member_ids(&self, rid: &str, t: &str) -> Vec<String> {
        let path = if t == "c" {
            "channels.members"
        } else {
            "groups.members"
        };
        let v = self
            .get_ok(
                &self.admin_member_view(),
                path,
                &[("roomId", rid), ("count", "0")],
            )
            .await;
        v["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m["_id"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn admin_member_view(&self) -> Session {
        self.admin.clone()
    }

    /// System messages of a room, oldest first, as `(t, msg)`.
    pub async fn system_messages(&self, who: &Session, rid: &str) -> Vec<(String, String)> {
        let v = self.get_ok(who, "rooms.info", &[("roomId", rid)]).await;
        let t = v["room"]["t"].as_str().unwrap_or("c").to_string();
        let path = match t.as_str() {
            "c" => "channels.messages",
            "p" => "groups.messages",
            _ => "im.messages",
        };
        let v = self
            .get_ok(
                who,
                path,
                &[("roomId", rid), ("count", "0"), ("sort", "{\"ts\":1}")],
            )
            .await;
        v["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m.get("t").is_some())
            .map(|m| {
                (
                    m["t"].as_str().unwrap_or_default().to_string(),
                    m["msg"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

pub async fn read(res: reqwest::Response) -> (StatusCode, Value) {
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.expect("body");
    if text.is_empty() {
        return (status, Value::Null);
    }
    assert_eq!(ct, "application/json", "content type of {text}");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}")),
    )
}
