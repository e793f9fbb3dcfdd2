//! `huddle-bench cluster` (issue 13 part 5): the same fan-out, sustained-rate and kick
//! measurements against one `huddle serve` and against a cluster of several, in one run, each
//! on a private PostgreSQL database the bench creates (and drops), the cluster's nodes joined by
//! a `nats-server` the bench starts on a free port (killed at the end). Sockets are the native
//! TalkJS-style ones (signed user ids: no password hashing to seed 1,000 users), spread
//! round-robin over the nodes; messages are posted through the first node.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::realtime::fanout::{self, Post, Track};
use crate::realtime::{ddp, percentiles, Latency};
use crate::server::{self, Node, Spawned};

const APP: &str = "bench";
const CONVERSATION: &str = "fan";

#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// The `huddle` binary (default: next to this one, else `huddle` on PATH).
    #[arg(long)]
    pub huddle_bin: Option<PathBuf>,
    /// A PostgreSQL database URL whose server the bench may create databases on.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// The `nats-server` binary.
    #[arg(long, default_value = "nats-server")]
    pub nats_bin: PathBuf,
    /// Nodes of the cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Members of the fan-out conversation, each with a live socket.
    #[arg(long, default_value_t = 1000)]
    pub sockets: usize,
    /// `fanout`: posts one at a time.
    #[arg(long, default_value_t = 300)]
    pub posts: usize,
    /// `sustained`: posts per second ...
    #[arg(long, default_value_t = 100)]
    pub rate: usize,
    /// ... for this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub seconds: f64,
    /// `kick`: participants removed one at a time, each with a live socket.
    #[arg(long, default_value_t = 200)]
    pub kicks: usize,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// One measured row.
#[derive(Debug, Serialize)]
pub struct Row {
    pub target: String,
    pub scenario: String,
    pub latency: Latency,
    /// Deliveries counted / expected (fan-out, sustained).
    pub delivered: Option<(u64, u64)>,
    /// CPU time each server process used during the scenario, ms (user + system).
    pub cpu_ms: Vec<f64>,
}

use crate::server::cpu_ms;

fn say(msg: String) {
    eprintln!("huddle-bench: {msg}");
}

/// A private database on the server of `base`, dropped by `drop_database`.
async fn create_database(base: &str, name: &str) -> anyhow::Result<String> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(base)
        .await
        .with_context(|| format!("connecting to {base}"))?;
    sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str()).await?;
    let (prefix, _) = base
        .rsplit_once('/')
        .context("a database URL with a path")?;
    Ok(format!("{prefix}/{name}"))
}

async fn drop_database(base: &str, name: &str) {
    use sqlx::Connection;
    if let Ok(mut c) = sqlx::PgConnection::connect(base).await {
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = sqlx::Executor::execute(&mut c, sql.as_str()).await {
            say(format!("dropping {name}: {e}"));
        }
    }
}

/// The servers of one target (one node, or a cluster) and how to talk to them.
struct Target {
    name: String,
    nodes: Vec<Spawned>,
    secret: String,
    http: reqwest::Client,
}

impl Target {
    fn url(&self, node: usize, path: &str) -> String {
        format!(
            "{}/v1/{APP}/{path}",
            self.nodes[node % self.nodes.len()].url
        )
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<(), String> {
        let r = self
            .http
            .request(method, self.url(0, path))
            .bearer_auth(&self.secret)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("{path}: {}", r.status()));
        }
        Ok(())
    }

    async fn users(&self, ids: &[String]) -> anyhow::Result<()> {
        let results: Vec<Result<(), String>> = futures::stream::iter(ids)
            .map(|u| async move {
                let path = format!("users/{u}");
                self.call(reqwest::Method::PUT, &path, json!({ "name": u }))
                    .await
            })
            .buffer_unordered(16)
            .collect()
            .await;
        results
            .into_iter()
            .collect::<Result<(), String>>()
            .map_err(anyhow::Error::msg)
    }

    /// A native socket of `uid` on node `node`, subscribed to `cid`.
    async fn socket(&self, node: usize, uid: &str, cid: &str) -> anyhow::Result<ddp::Ws> {
        let sig = huddle_core::services::sign_user_id(&self.secret, uid);
        let base = ddp::ws_url(&self.nodes[node % self.nodes.len()].url, "");
        let mut ws = ddp::open(&format!(
            "{base}/v1/{APP}/realtime?userId={uid}&signature={sig}"
        ))
        .await?;
        let sub = json!({"v": 1, "type": "subscribe", "id": "s", "conversation": cid});
        ws.send(Message::text(sub.to_string())).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some(Ok(m))) = tokio::time::timeout(left, ws.next()).await else {
                bail!("no ready for {uid}");
            };
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).unwrap_or_default();
            match v["type"].as_str() {
                Some("ready") => return Ok(ws),
                Some("error") => bail!("subscribe refused: {v}"),
                _ => {}
            }
        }
    }

    fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.pid).collect()
    }
}

fn cpu_all(pids: &[u32]) -> Vec<f64> {
    pids.iter()
        .map(|p| cpu_ms(*p).unwrap_or(f64::NAN))
        .collect()
}

fn cpu_since(before: &[f64], pids: &[u32]) -> Vec<f64> {
    cpu_all(pids)
        .iter()
        .zip(before)
        .map(|(a, b)| a - b)
        .collect()
}

/// Starts `n` nodes on `database_url` (`nats` for a cluster).
async fn start(
    a: &ClusterArgs,
    name: &str,
    n: usize,
    database_url: String,
    nats: Option<String>,
    dir: &std::path::Path,
) -> anyhow::Result<Target> {
    let bin = server::huddle_bin(a.huddle_bin.as_deref());
    let secret = format!("sk_bench_{}", rand_tag());
    let config = dir.join(format!("{name}.toml"));
    // Rate limits off (the bench posts and subscribes far faster than people), room for the
    // sockets, and a small pool: several nodes share one PostgreSQL server with other users.
    std::fs::write(
        &config,
        format!(
            "{}\nmax_connections = 5000\ndb_max_connections = 5\nnative_subscribes_per_minute = 0\n",
            server::NO_MESSAGE_RATE_LIMIT
        ),
    )?;
    let mut nodes = vec![];
    for i in 0..n {
        let node = Node {
            database_url: database_url.clone(),
            nats_url: nats.clone(),
            env: vec![
                ("HUDDLE_APP_ID".into(), APP.into()),
                ("HUDDLE_APP_SECRET".into(), secret.clone()),
            ],
        };
        let log = dir.join(format!("{name}-{i}.log"));
        nodes.push(server::spawn_node(&bin, &node, log, Some(&config)).await?);
    }
    Ok(Target {
        name: name.into(),
        nodes,
        secret,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
    })
}

fn rand_tag() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 8)
        .to_lowercase()
}

/// Fan-out, sustained and kick on one target.
async fn measure(t: &Target, a: &ClusterArgs) -> anyhow::Result<Vec<Row>> {
    let members: Vec<String> = (1..=a.sockets).map(|i| format!("m{i}")).collect();
    let kicked: Vec<String> = (1..=a.kicks).map(|i| format!("k{i}")).collect();
    t.users(&members).await?;
    t.users(&kicked).await?;
    t.call(
        reqwest::Method::PUT,
        &format!("conversations/{CONVERSATION}"),
        json!({ "participants": members }),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let sustained_count = (a.rate as f64 * a.seconds).round() as usize;
    let settle_posts = 200;
    let track = Track::new(a.posts + sustained_count + settle_posts, a.sockets);
    let tasks = fanout::open_all(a.sockets, 32, &track, |i| {
        let uid = members[i].clone();
        async move { t.socket(i, &uid, CONVERSATION).await }
    })
    .await
    .context("opening the members' sockets")?;
    let http = t.http.clone();
    let (url, secret) = (
        t.url(0, &format!("conversations/{CONVERSATION}/messages")),
        t.secret.clone(),
    );
    let post: Post = Arc::new(move |seq| {
        let (http, url, secret) = (http.clone(), url.clone(), secret.clone());
        Box::pin(async move {
            let body =
                json!([{"text": ddp::message_text(seq), "sender": "m1", "type": "UserMessage"}]);
            let r = http
                .post(url)
                .bearer_auth(secret)
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("post: {}", r.status()));
            }
            Ok(())
        })
    });
    let first_settle = a.posts + sustained_count;
    let settled = fanout::settle(
        &track,
        &post,
        first_settle,
        settle_posts,
        Duration::from_millis(50),
    )
    .await;
    say(format!(
        "{}: settled after {settled:?} warm-up posts",
        t.name
    ));
    let pids = t.pids();
    let mut rows = vec![];

    let before = cpu_all(&pids);
    let l = fanout::serial(&track, &post, a.posts).await;
    rows.push(Row {
        target: t.name.clone(),
        scenario: "fanout".into(),
        delivered: Some(((a.posts - l.incomplete) as u64, a.posts as u64)),
        latency: l,
        cpu_ms: cpu_since(&before, &pids),
    });

    let before = cpu_all(&pids);
    let (l, delivered) = fanout::sustained(&track, &post, a.posts, a.rate, a.seconds).await;
    rows.push(Row {
        target: t.name.clone(),
        scenario: "sustained".into(),
        delivered: Some((delivered, (sustained_count * a.sockets) as u64)),
        latency: l,
        cpu_ms: cpu_since(&before, &pids),
    });
    for task in &tasks {
        task.abort();
    }

    // Kicks: a conversation of the kicked users, each with a live socket somewhere.
    let cid = "kick";
    t.call(
        reqwest::Method::PUT,
        &format!("conversations/{cid}"),
        json!({ "participants": kicked }),
    )
    .await
    .map_err(anyhow::Error::msg)?;
    let ktrack = Track::new(1, a.kicks);
    let ktasks = fanout::open_all(a.kicks, 32, &ktrack, |i| {
        let uid = kicked[i].clone();
        async move { t.socket(i, &uid, cid).await }
    })
    .await
    .context("opening the kicked users' sockets")?;
    let before = cpu_all(&pids);
    let mut lat = vec![];
    let mut errors = vec![];
    for u in &kicked {
        let t0 = Instant::now();
        match t
            .call(
                reqwest::Method::DELETE,
                &format!("conversations/{cid}/participants/{u}"),
                json!({}),
            )
            .await
        {
            Ok(()) => lat.push(t0.elapsed().as_secs_f64() * 1e3),
            Err(e) => errors.push(e),
        }
    }
    let mut l = percentiles(lat);
    l.errors = errors;
    rows.push(Row {
        target: t.name.clone(),
        scenario: "kick".into(),
        delivered: None,
        latency: l,
        cpu_ms: cpu_since(&before, &pids),
    });
    for task in &ktasks {
        task.abort();
    }
    Ok(rows)
}

/// A private `nats-server` on a free port, killed when dropped.
async fn start_nats(bin: &std::path::Path) -> anyhow::Result<(tokio::process::Child, String)> {
    let port = server::free_port()?;
    let child = tokio::process::Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} (apt-get install nats-server)", bin.display()))?;
    let until = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > until {
            bail!("nats-server did not listen on {port}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((child, format!("nats://127.0.0.1:{port}")))
}

pub async fn run(a: ClusterArgs) -> anyhow::Result<()> {
    if let Some(n) = crate::realtime::raise_nofile() {
        say(format!("open files limit {n}"));
    }
    let dir = tempfile::tempdir()?;
    let tag = rand_tag();
    let (single_db, cluster_db) = (
        format!("huddle_bench_{tag}_one"),
        format!("huddle_bench_{tag}_n"),
    );
    let result = async {
        let (_nats, nats_url) = start_nats(&a.nats_bin).await?;
        let mut rows = vec![];
        // Each target alone on the machine while it is measured.
        let url = create_database(&a.postgres_url, &single_db).await?;
        let one = start(&a, "single", 1, url, None, dir.path()).await?;
        rows.extend(measure(&one, &a).await?);
        for n in one.nodes {
            n.stop().await?;
        }
        let url = create_database(&a.postgres_url, &cluster_db).await?;
        let name = format!("cluster-{}", a.nodes);
        let many = start(&a, &name, a.nodes, url, Some(nats_url.clone()), dir.path()).await?;
        // Every node sees the others before the sockets open.
        tokio::time::sleep(Duration::from_secs(3)).await;
        rows.extend(measure(&many, &a).await?);
        for n in many.nodes {
            n.stop().await?;
        }
        anyhow::Ok(rows)
    }
    .await;
    drop_database(&a.postgres_url, &single_db).await;
    drop_database(&a.postgres_url, &cluster_db).await;
    let rows = result?;
    println!("| target | scenario | p50 ms | p99 ms | max ms | delivered | CPU ms per node |");
    println!("|---|---|---:|---:|---:|---|---|");
    for r in &rows {
        let cpu: Vec<String> = r.cpu_ms.iter().map(|c| format!("{c:.0}")).collect();
        let delivered = r
            .delivered
            .map(|(d, e)| format!("{d}/{e}"))
            .unwrap_or_default();
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.1} | {} | {} |",
            r.target,
            r.scenario,
            r.latency.p50_ms,
            r.latency.p99_ms,
            r.latency.max_ms,
            delivered,
            cpu.join(" / ")
        );
        for e in r.latency.errors.iter().take(3) {
            println!("  error: {e}");
        }
    }
    if let Some(p) = &a.json {
        std::fs::write(
            p,
            serde_json::to_string_pretty(&json!({ "cluster": rows }))?,
        )?;
    }
    let lost = rows
        .iter()
        .any(|r| r.latency.incomplete > 0 || !r.latency.errors.is_empty());
    if lost {
        bail!("a message did not reach every socket exactly once, or a call failed");
    }
    Ok(())
}
