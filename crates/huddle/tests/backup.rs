//! `huddle backup` and `huddle restore` end to end: a backup taken from a real `huddle serve`
//! while clients write holds every write acknowledged before it began and a gap-free prefix of
//! the rest; a second server runs on the copy; restore checks the copy and never replaces a
//! database without `--force`, nor one a server has open.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{fails_with, huddle, ok, Serve, ServerProcess};

const ADMIN: &str = "boss";
const ADMIN_PASSWORD: &str = "boss-pw-123";

/// A `huddle serve` with the admin bootstrapped, and an HTTP client for it.
struct Server {
    process: ServerProcess,
    url: String,
    http: reqwest::Client,
}

impl Server {
    async fn start(db: &str) -> Server {
        let process = Serve::new(db)
            .env("HUDDLE_ADMIN_USERNAME", ADMIN)
            .env("HUDDLE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HUDDLE_LOGIN_RATE_PER_MINUTE", "0")
            .start_async()
            .await;
        Server {
            url: process.url.clone(),
            process,
            http: reqwest::Client::new(),
        }
    }

    /// Logs the admin in: `(user id, token)`.
    async fn login(&self) -> (String, String) {
        let v = self
            .call(
                None,
                "POST",
                "login",
                json!({ "user": ADMIN, "password": ADMIN_PASSWORD }),
            )
            .await;
        let data = &v["data"];
        (
            data["userId"].as_str().unwrap().to_string(),
            data["authToken"].as_str().unwrap().to_string(),
        )
    }

    /// One Rocket.Chat call that must succeed.
    async fn call(
        &self,
        auth: Option<&(String, String)>,
        method: &str,
        path: &str,
        body: Value,
    ) -> Value {
        let (status, v) = try_call(&self.http, &self.url, auth, method, path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }

    fn stop(self) {
        self.process.stop();
    }
}

async fn try_call(
    http: &reqwest::Client,
    base: &str,
    auth: Option<&(String, String)>,
    method: &str,
    path: &str,
    body: Value,
) -> (reqwest::StatusCode, Value) {
    let url = format!("{base}/api/v1/{path}");
    let mut req = if method == "GET" {
        http.get(url)
    } else {
        http.post(url).json(&body)
    };
    if let Some((uid, token)) = auth {
        req = req.header("X-User-Id", uid).header("X-Auth-Token", token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Writes `{prefix}1`, `{prefix}2`, ... one after another until `stop`, counting the
/// acknowledged ones in `acked`: messages into `rid`, or channels when `rid` is `None`.
fn writer(
    server: &Server,
    auth: (String, String),
    rid: Option<String>,
    prefix: &'static str,
    acked: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (http, base) = (server.http.clone(), server.url.clone());
    tokio::spawn(async move {
        let mut i = 1u64;
        while !stop.load(Ordering::Relaxed) {
            let name = format!("{prefix}{i}");
            let (path, body) = match &rid {
                Some(rid) => ("chat.postMessage", json!({ "roomId": rid, "text": name })),
                None => ("channels.create", json!({ "name": name })),
            };
            let (status, v) = try_call(&http, &base, Some(&auth), "POST", path, body).await;
            assert!(status.is_success(), "{path} {name}: {status} {v}");
            acked.store(i, Ordering::SeqCst);
            i += 1;
        }
    })
}

/// The numbers `n` of the names `{prefix}n` among `names`, sorted.
fn numbers<'a>(names: impl Iterator<Item = &'a str>, prefix: &str) -> Vec<u64> {
    let mut n: Vec<u64> = names
        .filter_map(|s| s.strip_prefix(prefix)?.parse().ok())
        .collect();
    n.sort_unstable();
    n
}

/// The copy holds `1..=k` exactly (no gap: one snapshot), with every write acknowledged before
/// the backup began and none that was not yet sent when it ended (`after`, plus the one in
/// flight). Returns `k`.
fn assert_prefix(found: &[u64], before: u64, after: u64, what: &str) -> u64 {
    let k = found.len() as u64;
    assert!(
        found.iter().copied().eq(1..=k),
        "{what}: the copy has a gap: {found:?}"
    );
    assert!(
        k >= before,
        "{what}: {before} were acknowledged before the backup began, the copy has {k}"
    );
    assert!(
        k <= after + 1,
        "{what}: the copy has {k}, only {after} were sent"
    );
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_server_writes_holds_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("live.db").display());
    let copy_path = dir.path().join("copy.db");
    let copy = copy_path.to_str().unwrap().to_string();

    let server = Server::start(&live).await;
    let admin = server.login().await;
    let town = server
        .call(
            Some(&admin),
            "POST",
            "channels.create",
            json!({ "name": "town" }),
        )
        .await["channel"]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    for name in ["ann", "bob", "cid"] {
        server
            .call(
                Some(&admin),
                "POST",
                "users.create",
                json!({ "username": name, "name": name, "email": format!("{name}@example.com"), "password": "pw-123456" }),
            )
            .await;
    }

    // Some bulk, so that the copy takes a while and writes are acknowledged while it runs.
    let filler = "x".repeat(4000);
    for _ in 0..300 {
        let body = json!({ "roomId": town, "text": filler });
        server
            .call(Some(&admin), "POST", "chat.postMessage", body)
            .await;
    }

    // Two clients write without pause: messages into `town`, and new channels.
    let (messages, channels) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stop = Arc::new(AtomicBool::new(false));
    let writers = [
        writer(
            &server,
            admin.clone(),
            Some(town.clone()),
            "w-",
            messages.clone(),
            stop.clone(),
        ),
        writer(
            &server,
            admin.clone(),
            None,
            "live-",
            channels.clone(),
            stop.clone(),
        ),
    ];
    let start = Instant::now();
    while messages.load(Ordering::SeqCst) < 20 || channels.load(Ordering::SeqCst) < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "writes do not go through"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let before = (
        messages.load(Ordering::SeqCst),
        channels.load(Ordering::SeqCst),
    );
    let took = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
        .args(["backup", "--out", &copy])
        .env("HUDDLE_DATABASE_URL", &live)
        .env_remove("RUST_BACKTRACE")
        .output()
        .await
        .unwrap();
    let after = (
        messages.load(Ordering::SeqCst),
        channels.load(Ordering::SeqCst),
    );
    let took = took.elapsed();
    let report = ok(&out);
    assert!(
        after.0 > before.0,
        "no write was acknowledged while the backup ran ({before:?} -> {after:?}): it proved nothing"
    );
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    server.stop();

    // Never overwritten.
    let bytes = std::fs::read(&copy_path).unwrap();
    fails_with(&huddle(&live, &["backup", "--out", &copy]), "exists");
    assert_eq!(
        std::fs::read(&copy_path).unwrap(),
        bytes,
        "the copy was touched"
    );

    // A second server on the copy sees the acknowledged data.
    let second = Server::start(&format!("sqlite://{copy}")).await;
    let admin = second.login().await;
    for name in ["ann", "bob", "cid"] {
        let v = second
            .call(
                Some(&admin),
                "GET",
                &format!("users.info?username={name}"),
                Value::Null,
            )
            .await;
        assert_eq!(v["user"]["username"], name);
    }
    let history = second
        .call(
            Some(&admin),
            "GET",
            &format!("channels.messages?roomId={town}&count=0"),
            Value::Null,
        )
        .await;
    let texts = history["messages"].as_array().unwrap();
    let posted = numbers(texts.iter().filter_map(|m| m["msg"].as_str()), "w-");
    let k_messages = assert_prefix(&posted, before.0, after.0, "messages");
    let list = second
        .call(Some(&admin), "GET", "channels.list?count=0", Value::Null)
        .await;
    let names = list["channels"].as_array().unwrap();
    let made = numbers(names.iter().filter_map(|c| c["name"].as_str()), "live-");
    let k_channels = assert_prefix(&made, before.1, after.1, "channels");
    second.stop();

    println!("{}", report.trim());
    println!(
        "figure: the backup took {took:?}; acknowledged before it began {} messages and {} channels, \
         when it ended {} and {}; the copy holds {k_messages} and {k_channels}",
        before.0, before.1, after.0, after.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_checks_the_copy_and_never_replaces_a_database_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("live.db").display());
    let copy_path = dir.path().join("copy.db");
    let copy = copy_path.to_str().unwrap().to_string();
    let user = |name: &str| {
        huddle(
            &live,
            &[
                "admin",
                "create-user",
                "--username",
                name,
                "--password",
                "pw-1",
            ],
        )
    };
    let exists = |name: &str| {
        huddle(
            &live,
            &[
                "admin",
                "set-password",
                "--username",
                name,
                "--password",
                "pw-2",
            ],
        )
        .status
        .success()
    };
    ok(&user("early"));
    assert!(ok(&huddle(&live, &["backup", "--out", &copy])).contains(" rows ("));
    ok(&user("late"));

    // An existing database is replaced only with --force.
    fails_with(&huddle(&live, &["restore", "--from", &copy]), "--force");
    assert!(exists("late"), "a refused restore changed the database");

    // Never under a running server, even with --force.
    let server = Server::start(&live).await;
    fails_with(
        &huddle(&live, &["restore", "--from", &copy, "--force"]),
        "in use",
    );
    server.stop();
    assert!(exists("late"));

    // A damaged copy or a foreign file is refused before anything is touched.
    let mut damaged = std::fs::read(&copy_path).unwrap();
    assert!(
        damaged.len() > 12 * 4096,
        "the copy is smaller than expected"
    );
    for b in &mut damaged[2 * 4096..12 * 4096] {
        *b = 0x5a;
    }
    let bad = dir.path().join("damaged.db");
    std::fs::write(&bad, damaged).unwrap();
    fails_with(
        &huddle(
            &live,
            &["restore", "--from", bad.to_str().unwrap(), "--force"],
        ),
        "integrity",
    );
    let other = dir.path().join("other.db");
    let made = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import sqlite3;c=sqlite3.connect('{}');c.execute('create table t(x)');c.commit()",
                other.display()
            ),
        ])
        .status()
        .unwrap();
    assert!(made.success());
    fails_with(
        &huddle(
            &live,
            &["restore", "--from", other.to_str().unwrap(), "--force"],
        ),
        "not a Huddle database",
    );
    assert!(exists("late"));

    // The real restore: back to the moment of the backup.
    let report = ok(&huddle(&live, &["restore", "--from", &copy, "--force"]));
    assert!(report.contains("restored into"), "{report}");
    assert!(exists("early"));
    assert!(!exists("late"), "written after the backup, so gone");
    // Into a new file, too.
    let fresh = format!("sqlite://{}", dir.path().join("new/restored.db").display());
    ok(&huddle(&fresh, &["restore", "--from", &copy]));

    // PostgreSQL has its own tools.
    let pg = "postgres://huddle@127.0.0.1:1/huddle";
    fails_with(&huddle(pg, &["backup", "--out", &copy]), "pg_dump");
    fails_with(&huddle(pg, &["restore", "--from", &copy]), "pg_restore");
}
