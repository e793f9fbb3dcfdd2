//! fsync failing for 2 s in the middle of an invite storm (SQLite). A real `huddle serve` runs
//! under Debian's libfiu (`fiu-run -x`: the POSIX preload library, so the bundled SQLite's
//! `fsync`/`fdatasync` go through it); eight tasks invite users one at a time with
//! `channels.invite`; `fiu-ctrl` makes every `fsync` and `fdatasync` fail for 2 s, then lets them
//! succeed again. Checked:
//!
//! - no request that both began after the fault was on and ended before it was off (so its
//!   commit's fsync failed) was answered 200;
//! - every invite answered 200 is a member after a restart without libfiu;
//! - `PRAGMA integrity_check` is `ok`;
//! - the server either answered a 200 within 5 s of the fault clearing, or exited non-zero and
//!   restarted cleanly (which one happened is printed; Huddle stays up: a failed fsync fails
//!   that batch, which answers 503, and the next batch commits).
//!
//! Figures printed: acknowledged invites lost, statuses seen, seconds to recover.
//! Needs `fiu-run`/`fiu-ctrl` (Debian `fiu-utils`; `.ci/run` installs it): without them the
//! test fails and says so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{Serve, ServerProcess};

use serde_json::{json, Value};

const APP: &str = "fsync-app";
const SECRET: &str = "sk_fsync_fault";
const ADMIN: &str = "boss";
const ADMIN_PASSWORD: &str = "boss-pw-123";
const TASKS: usize = 8;
/// More than the storm gets through, so every task is still inviting when the fault ends.
const USERS_PER_TASK: usize = 2_000;
/// The storm runs this long before the fault, the fault this long, and the storm goes on this
/// long afterwards.
const BEFORE: Duration = Duration::from_millis(1500);
const FAULT: Duration = Duration::from_secs(2);
const AFTER: Duration = Duration::from_secs(6);
const RECOVERY_LIMIT: Duration = Duration::from_secs(5);
const POINTS: [&str; 2] = ["posix/io/sync/fsync", "posix/io/sync/fdatasync"];

fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("`{name}` is missing: install Debian's fiu-utils (apt-get install fiu-utils); .ci/run does")
        })
}

/// A `huddle serve` on a free port, optionally under `fiu-run -x`; killed by its PID when dropped.
async fn start_server(db: &str, fiu_prefix: Option<&Path>) -> ServerProcess {
    let mut serve = Serve::new(db)
        .env("HUDDLE_APP_ID", APP)
        .env("HUDDLE_APP_SECRET", SECRET)
        .env("HUDDLE_ADMIN_USERNAME", ADMIN)
        .env("HUDDLE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HUDDLE_LOGIN_RATE_PER_MINUTE", "0")
        .env("HUDDLE_LOG", "warn");
    if let Some(prefix) = fiu_prefix {
        // `fiu-run` execs the program: the child's PID is the server's.
        let (x, f, prefix) = ("-x".into(), "-f".into(), prefix.as_os_str().to_owned());
        serve = serve.wrapped_in(&tool("fiu-run"), &[&x, &f, &prefix]);
    }
    serve.start_async().await
}

/// `fiu-ctrl -f PREFIX -c CMD... PID`; returns once the process has applied the commands.
async fn fiu_ctrl(prefix: &Path, pid: u32, verb: &str) {
    let mut cmd = tokio::process::Command::new(tool("fiu-ctrl"));
    cmd.arg("-f").arg(prefix);
    for p in POINTS {
        cmd.arg("-c").arg(format!("{verb} name={p}"));
    }
    let out = cmd.arg(pid.to_string()).output().await.unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !text.contains("rror"),
        "fiu-ctrl {verb}: {text}"
    );
}

/// One invite as the storm saw it.
struct Attempt {
    uid: String,
    began: Instant,
    ended: Instant,
    /// HTTP status, or `None` when the server did not answer.
    status: Option<u16>,
}

fn user(t: usize, i: usize) -> String {
    format!("f{t}_{i}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fsync_failing_for_two_seconds_mid_storm_loses_no_acknowledged_invite() {
    // Both tools first, so a machine without them fails here with the install hint.
    tool("fiu-run");
    tool("fiu-ctrl");
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("fsync.db");
    let db = format!("sqlite://{}", db_path.display());
    let prefix = dir.path().join("fiu-ctrl");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let server = start_server(&db, Some(&prefix)).await;
    assert!(
        Path::new(&format!("{}-{}.in", prefix.display(), server.pid())).exists(),
        "fiu-run did not open its control pipe (is the preload library installed?)"
    );

    // Users (TalkJS-style batch upsert, 100 a call), the admin session and a channel.
    let base = format!("{}/v1/{APP}", server.url);
    let all: Vec<String> = (0..TASKS)
        .flat_map(|t| (0..USERS_PER_TASK).map(move |i| user(t, i)))
        .collect();
    for chunk in all.chunks(100) {
        let users: serde_json::Map<String, Value> = chunk
            .iter()
            .map(|uid| (uid.clone(), json!({ "name": uid })))
            .collect();
        let res = http
            .put(format!("{base}/users"))
            .bearer_auth(SECRET)
            .json(&Value::Object(users))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let v: Value = http
        .post(format!("{}/api/v1/login", server.url))
        .json(&json!({ "user": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let auth = Arc::new((
        v["data"]["userId"].as_str().unwrap().to_string(),
        v["data"]["authToken"].as_str().unwrap().to_string(),
    ));
    let v: Value = http
        .post(format!("{}/api/v1/channels.create", server.url))
        .header("X-User-Id", &auth.0)
        .header("X-Auth-Token", &auth.1)
        .json(&json!({ "name": "fsync-storm" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rid = v["channel"]["_id"].as_str().unwrap().to_string();

    // The storm: each task invites its own users one at a time until the deadline.
    let t0 = Instant::now();
    let deadline = t0 + BEFORE + FAULT + AFTER;
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let mut tasks = vec![];
    for t in 0..TASKS {
        let (http, auth, rid, attempts) =
            (http.clone(), auth.clone(), rid.clone(), attempts.clone());
        let url = format!("{}/api/v1/channels.invite", server.url);
        tasks.push(tokio::spawn(async move {
            for i in 0..USERS_PER_TASK {
                if Instant::now() >= deadline {
                    return;
                }
                let uid = user(t, i);
                let began = Instant::now();
                let res = http
                    .post(&url)
                    .header("X-User-Id", &auth.0)
                    .header("X-Auth-Token", &auth.1)
                    .json(&json!({ "roomId": rid, "userId": uid }))
                    .send()
                    .await;
                let status = res.ok().map(|r| r.status().as_u16());
                let ended = Instant::now();
                let refused = status.is_none();
                attempts.lock().unwrap().push(Attempt {
                    uid,
                    began,
                    ended,
                    status,
                });
                if refused {
                    // The server is gone (or going): do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    tokio::time::sleep(BEFORE).await;
    fiu_ctrl(&prefix, server.pid(), "enable").await;
    let fault_on = Instant::now();
    tokio::time::sleep(FAULT).await;
    let fault_clearing = Instant::now();
    let still_running = matches!(Command::new("kill").args(["-0", &server.pid().to_string()]).status(), Ok(s) if s.success());
    if still_running {
        fiu_ctrl(&prefix, server.pid(), "disable").await;
    }
    let fault_off = Instant::now();
    for t in tasks {
        t.await.unwrap();
    }
    let mut server = server;
    let exited = server.child.try_wait().unwrap();

    let attempts = std::mem::take(&mut *attempts.lock().unwrap());
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for a in &attempts {
        let key = a.status.map_or("no answer".to_string(), |s| s.to_string());
        *statuses.entry(key).or_default() += 1;
    }
    // Inside the fault: began after it was on, ended before it was being turned off.
    let inside: Vec<&Attempt> = attempts
        .iter()
        .filter(|a| a.began >= fault_on && a.ended <= fault_clearing)
        .collect();
    let acked_inside = inside.iter().filter(|a| a.status == Some(200)).count();
    let recovered = attempts
        .iter()
        .filter(|a| a.began >= fault_off && a.status == Some(200))
        .map(|a| a.ended.duration_since(fault_off))
        .min();
    let acked: HashSet<&str> = attempts
        .iter()
        .filter(|a| a.status == Some(200))
        .map(|a| a.uid.as_str())
        .collect();

    // Restart without libfiu (a clean start either way) and read the members back.
    let outcome = match exited {
        Some(status) => {
            assert!(
                !status.success(),
                "the server exited with success during the fault"
            );
            format!("exited with {status} during the fault and restarted clean")
        }
        None => {
            let r = recovered.expect("no invite succeeded after the fault cleared");
            assert!(
                r <= RECOVERY_LIMIT,
                "first 200 only {:.2} s after the fault cleared",
                r.as_secs_f64()
            );
            server.stop();
            format!(
                "stayed up and served a 200 {:.2} s after the fault cleared",
                r.as_secs_f64()
            )
        }
    };
    let server = start_server(&db, None).await;
    let v: Value = http
        .get(format!("{}/api/v1/channels.members", server.url))
        .header("X-User-Id", &auth.0)
        .header("X-Auth-Token", &auth.1)
        .query(&[("roomId", rid.as_str()), ("count", "0")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let members: HashSet<String> = v["members"]
        .as_array()
        .unwrap_or_else(|| panic!("members: {v}"))
        .iter()
        .filter_map(|m| m["_id"].as_str().map(str::to_string))
        .collect();
    let lost: Vec<&&str> = acked.iter().filter(|u| !members.contains(**u)).collect();
    server.stop();

    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    println!(
        "figure: fsync+fdatasync failing for {:.1} s mid-storm ({} invites tried, {} acknowledged): \
         acknowledged lost {}, statuses seen {statuses:?}, {} requests wholly inside the fault \
         ({} answered 200), server {outcome}, integrity_check {check}",
        fault_clearing.duration_since(fault_on).as_secs_f64(),
        attempts.len(),
        acked.len(),
        lost.len(),
        inside.len(),
        acked_inside,
    );
    assert_eq!(
        acked_inside, 0,
        "requests answered 200 while every fsync failed"
    );
    assert!(lost.is_empty(), "acknowledged invites lost: {lost:?}");
    assert_eq!(check, "ok");
    assert!(
        statuses.keys().any(|s| s != "200"),
        "the fault never reached a request: {statuses:?}"
    );
}
