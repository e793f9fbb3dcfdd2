//! Cluster mode (issue 13): several in-process nodes on one private PostgreSQL database and a
//! private `nats-server` on a free port, killed by its PID. They run in the PostgreSQL pass
//! (`HUDDLE_TEST_BACKEND=postgres`); the SQLite pass checks that SQLite refuses a cluster.

mod delivery;
mod notify;
mod outages;
mod presence;
mod resume;
mod revocation;
mod webhooks;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_core::cluster::{new_node_id, ClusterHub, ClusterOptions};
use huddle_server::ClusterConfig;

use crate::helpers::TestApp;

/// How long a test waits for a condition that must come true.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A private `nats-server` (Debian's package; `HUDDLE_NATS_SERVER` names another binary).
pub struct NatsServer {
    child: Option<Child>,
    pub url: String,
    port: u16,
    dir: tempfile::TempDir,
}

fn nats_binary() -> PathBuf {
    if let Ok(p) = std::env::var("HUDDLE_NATS_SERVER") {
        return PathBuf::from(p);
    }
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join("nats-server");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "cluster tests need nats-server: apt-get install nats-server (or set HUDDLE_NATS_SERVER \
         to its path); .ci/run installs it"
    );
}

impl NatsServer {
    /// Starts on a free port (`-p -1`) and reads the port the server chose from its ports file.
    pub fn start() -> NatsServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new(nats_binary())
            .args(["-a", "127.0.0.1", "-p", "-1", "--ports_file_dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let file = dir.path().join(format!("nats-server_{}.ports", child.id()));
        let until = Instant::now() + DEADLINE;
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                    if let Some(u) = v["nats"][0].as_str() {
                        break u.to_string();
                    }
                }
            }
            assert!(Instant::now() < until, "nats-server wrote no ports file");
            std::thread::sleep(Duration::from_millis(20));
        };
        let port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in the nats url");
        NatsServer {
            child: Some(child),
            url,
            port,
            dir,
        }
    }

    /// Stands in while the real server is moved to a thread that restarts it.
    pub fn placeholder() -> NatsServer {
        NatsServer {
            child: None,
            url: String::new(),
            port: 0,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `kill -9`, by the PID this test started.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(nats_binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("--ports_file_dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restart nats-server");
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether this pass runs on PostgreSQL (cluster tests need it).
pub fn on_postgres() -> bool {
    std::env::var("HUDDLE_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// A fresh private PostgreSQL database (dropped with the harness's `huddle_api_%` ones).
async fn fresh_database() -> String {
    let base = std::env::var("HUDDLE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("huddle_api_{}", crate::helpers::unique("cluster"));
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("PostgreSQL is unreachable");
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("postgres url has a database");
    format!("{prefix}/{name}")
}

pub struct Cluster {
    pub nodes: Vec<TestApp>,
    pub nats: NatsServer,
    pub database_url: String,
    /// One cluster at a time: three nodes' pools each, beside the rest of the suite, would
    /// exhaust PostgreSQL's connections (and two cores).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

static TURN: std::sync::LazyLock<Arc<tokio::sync::Mutex<()>>> =
    std::sync::LazyLock::new(Arc::default);

/// A node of the cluster: a `TestApp` on `database_url` whose bus is a new NATS connection.
pub async fn node(nats_url: &str, database_url: &str, adjust: fn(&mut ClusterOptions)) -> TestApp {
    let node_id = new_node_id();
    let mut options = ClusterOptions::new(node_id.clone());
    adjust(&mut options);
    let bus = huddle_cluster::NatsBus::connect(nats_url, &node_id)
        .await
        .expect("connect to the test's nats-server");
    let db = database_url.to_string();
    TestApp::spawn_with(move |c| {
        c.database_url = db;
        // Three nodes beside the rest of the suite (and other suites) on one PostgreSQL server.
        c.db_max_connections = 4;
        c.cluster = Some(ClusterConfig { bus, options });
    })
    .await
}

impl Cluster {
    /// `n` nodes, each seeing the others live. `None` (the test is skipped, saying so) unless
    /// the pass runs on PostgreSQL.
    pub async fn start(n: usize) -> Option<Cluster> {
        Self::start_with(n, |_| {}).await
    }

    /// `start`, with each node's options adjusted.
    pub async fn start_with(n: usize, adjust: fn(&mut ClusterOptions)) -> Option<Cluster> {
        if !on_postgres() {
            eprintln!("cluster test skipped: needs HUDDLE_TEST_BACKEND=postgres");
            return None;
        }
        let turn = TURN.clone().lock_owned().await;
        let nats = NatsServer::start();
        let database_url = fresh_database().await;
        let mut nodes = vec![];
        for _ in 0..n {
            nodes.push(node(&nats.url, &database_url, adjust).await);
        }
        let c = Cluster {
            nodes,
            nats,
            database_url,
            _turn: turn,
        };
        c.wait_peers().await;
        Some(c)
    }

    /// Waits until every node sees every other one live.
    pub async fn wait_peers(&self) {
        let n = self.nodes.len();
        wait_for("every node sees the others", || {
            self.nodes.iter().all(|a| hub(a).peers().len() == n - 1)
        })
        .await;
    }
}

pub fn hub(app: &TestApp) -> Arc<ClusterHub> {
    app.state
        .as_ref()
        .and_then(|s| s.cluster.clone())
        .expect("a cluster node")
}

/// Polls `cond` until it holds, failing the test at `DEADLINE`.
pub async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `wait_for` with an asynchronous condition (a database read).
pub async fn wait_for_async<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + DEADLINE;
    while !cond().await {
        assert!(Instant::now() < until, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
