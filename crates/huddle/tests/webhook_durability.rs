//! Webhooks survive a crash: a real `huddle serve` takes a storm of membership changes from
//! both APIs (TalkJS-style participants, Rocket.Chat invites and kicks) with a webhook endpoint
//! registered, is killed with SIGKILL mid-storm, and is started again on the same database.
//! Every change it acknowledged must then reach the endpoint at least once (the delivery is
//! committed with the change, so a crash cannot keep one and lose the other); duplicates are
//! allowed (at-least-once is the contract) and counted. Runs on SQLite, and also on a fresh
//! PostgreSQL database when `HUDDLE_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{Serve, ServerProcess};

use serde_json::{json, Value};

const APP: &str = "wh-app";
const SECRET: &str = "sk_wh_durability";
/// Seals the app keys at rest (64 hex digits); fixed, as a deployment's would be.
const SECRETS_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const ADMIN: &str = "boss";
const ADMIN_PASSWORD: &str = "boss-pw-123";
/// Concurrent storm tasks: the first `TALK_TASKS` use the TalkJS-style API, the rest
/// Rocket.Chat's `channels.invite` / `channels.kick`.
const TASKS: usize = 8;
const TALK_TASKS: usize = 6;
/// More users per task than the storm can get through before the kill, so every task is still
/// sending when the server dies.
const USERS_PER_TASK: usize = 400;
const CONVERSATIONS: usize = 4;
/// The kill comes once this many changes were acknowledged.
const KILL_AFTER: u64 = 300;
/// The receiver answers each delivery this late, so the outbox holds a backlog at the kill and
/// the restarted server has deliveries left to make.
const RECEIVER_DELAY: Duration = Duration::from_millis(10);
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// A `huddle serve` process on a free port; killed by its PID when dropped, so a failed
/// assertion leaves nothing running. The test's runtime keeps serving the receiver meanwhile.
async fn start_server(db: &str) -> ServerProcess {
    Serve::new(db)
        .env("HUDDLE_APP_ID", APP)
        .env("HUDDLE_APP_SECRET", SECRET)
        // The same key across restarts: the database's secret keys are sealed with it (a
        // PostgreSQL server has no file beside its database to keep a generated one in).
        .env("HUDDLE_SECRETS_KEY", SECRETS_KEY)
        .env("HUDDLE_ADMIN_USERNAME", ADMIN)
        .env("HUDDLE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("HUDDLE_LOGIN_RATE_PER_MINUTE", "0")
        // The receiver listens on 127.0.0.1, which the SSRF guard refuses by default.
        .env("HUDDLE_WEBHOOK_ALLOW_PRIVATE", "true")
        .start_async()
        .await
}

/// A change or a delivery of one: `(type, conversation, user)`.
type Change = (&'static str, String, String);

/// One received delivery.
struct Delivery {
    id: String,
    change: Change,
}

/// The test's webhook endpoint: records every delivery (id and what it says), then answers 200
/// after `RECEIVER_DELAY`.
async fn receiver(log: Arc<Mutex<Vec<Delivery>>>) -> String {
    async fn hook(
        axum::extract::State(log): axum::extract::State<Arc<Mutex<Vec<Delivery>>>>,
        body: String,
    ) -> &'static str {
        let v: Value = serde_json::from_str(&body).expect("a delivery is JSON");
        let kind = match v["type"].as_str() {
            Some("participant.joined") => "participant.joined",
            Some("participant.left") => "participant.left",
            other => panic!("unexpected delivery type {other:?}: {body}"),
        };
        let data = &v["data"];
        let change = (
            kind,
            data["conversationId"].as_str().unwrap().to_string(),
            data["userId"].as_str().unwrap().to_string(),
        );
        let id = v["id"].as_str().unwrap().to_string();
        log.lock().unwrap().push(Delivery { id, change });
        tokio::time::sleep(RECEIVER_DELAY).await;
        "ok"
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(log);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

/// A fresh database: a SQLite file in `dir`, or a new PostgreSQL database when `postgres` (the
/// base URL) is given.
async fn database(dir: &std::path::Path, postgres: Option<&str>) -> String {
    let Some(base) = postgres else {
        return format!("sqlite://{}", dir.join("live.db").display());
    };
    use sqlx::Connection;
    let name = format!("huddle_wh_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(base)
        .await
        .expect("HUDDLE_TEST_POSTGRES_URL is set but PostgreSQL is unreachable");
    sqlx::Executor::execute(
        &mut conn,
        format!("DROP DATABASE IF EXISTS {name}").as_str(),
    )
    .await
    .unwrap();
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("postgres url has a database");
    format!("{prefix}/{name}")
}

/// Sends one request; `None` when the server did not answer (it was killed), else the status
/// and body.
async fn send(req: reqwest::RequestBuilder) -> Option<(u16, Value)> {
    let res = req.send().await.ok()?;
    let status = res.status().as_u16();
    let body = res.json().await.ok()?;
    Some((status, body))
}

fn backend(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
) -> reqwest::RequestBuilder {
    http.request(method, url)
        .header("Authorization", format!("Bearer {SECRET}"))
}

/// Everything the storm needs on the server: users, conversations, a Rocket.Chat channel, an
/// admin session and the webhook endpoint. Returns `(admin auth, channel id)`.
async fn prepare(
    server: &ServerProcess,
    http: &reqwest::Client,
    hook: &str,
) -> ((String, String), String) {
    let base = format!("{}/v1/{APP}", server.url);
    let (status, v) = send(
        backend(http, reqwest::Method::POST, format!("{base}/webhooks"))
            .json(&json!({ "url": hook, "events": ["participant.joined", "participant.left"] })),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{v}");
    // The batch endpoint takes at most 100 users a call.
    let all: Vec<String> = (0..TASKS)
        .flat_map(|t| (0..USERS_PER_TASK).map(move |i| user(t, i)))
        .collect();
    for chunk in all.chunks(100) {
        let users: serde_json::Map<String, Value> = chunk
            .iter()
            .map(|uid| (uid.clone(), json!({ "name": uid })))
            .collect();
        let (status, v) = send(
            backend(http, reqwest::Method::PUT, format!("{base}/users"))
                .json(&Value::Object(users)),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{v}");
    }
    for c in 0..CONVERSATIONS {
        let (status, v) = send(
            backend(
                http,
                reqwest::Method::PUT,
                format!("{base}/conversations/conv{c}"),
            )
            .json(&json!({ "subject": format!("storm {c}") })),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{v}");
    }
    let (status, v) = send(
        http.post(format!("{}/api/v1/login", server.url))
            .json(&json!({ "user": ADMIN, "password": ADMIN_PASSWORD })),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{v}");
    let auth = (
        v["data"]["userId"].as_str().unwrap().to_string(),
        v["data"]["authToken"].as_str().unwrap().to_string(),
    );
    let (status, v) = send(
        http.post(format!("{}/api/v1/channels.create", server.url))
            .header("X-User-Id", &auth.0)
            .header("X-Auth-Token", &auth.1)
            .json(&json!({ "name": "storm" })),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{v}");
    let rid = v["channel"]["_id"].as_str().unwrap().to_string();
    (auth, rid)
}

fn user(task: usize, i: usize) -> String {
    format!("t{task}u{i}")
}

/// One storm task: adds each of its users to a room and removes them again, one change at a
/// time, recording each acknowledged change, until the server stops answering. Returns whether
/// it ended that way (rather than by running out of users).
#[allow(clippy::too_many_arguments)]
async fn storm_task(
    task: usize,
    http: reqwest::Client,
    url: String,
    auth: (String, String),
    channel: String,
    acked: Arc<Mutex<Vec<Change>>>,
    count: Arc<AtomicU64>,
) -> bool {
    for i in 0..USERS_PER_TASK {
        let uid = user(task, i);
        let (rid, requests) = if task < TALK_TASKS {
            let cid = format!("conv{}", (task + i) % CONVERSATIONS);
            let at = format!("{url}/v1/{APP}/conversations/{cid}/participants/{uid}");
            let join = backend(&http, reqwest::Method::PUT, at.clone()).json(&json!({}));
            let leave = backend(&http, reqwest::Method::DELETE, at);
            (cid, [join, leave])
        } else {
            let rc = |path: &str| {
                http.post(format!("{url}/api/v1/{path}"))
                    .header("X-User-Id", &auth.0)
                    .header("X-Auth-Token", &auth.1)
                    .json(&json!({ "roomId": channel, "userId": uid }))
            };
            (
                channel.clone(),
                [rc("channels.invite"), rc("channels.kick")],
            )
        };
        for (kind, req) in ["participant.joined", "participant.left"]
            .into_iter()
            .zip(requests)
        {
            let Some((status, body)) = send(req).await else {
                return true;
            };
            assert_eq!(status, 200, "{kind} {rid} {uid}: {body}");
            acked.lock().unwrap().push((kind, rid.clone(), uid.clone()));
            count.fetch_add(1, Ordering::SeqCst);
        }
    }
    false
}

/// The acknowledged changes that no delivery in `log` reports yet.
fn missing(acked: &[Change], log: &[Delivery]) -> Vec<Change> {
    let delivered: HashSet<&Change> = log.iter().map(|d| &d.change).collect();
    acked
        .iter()
        .filter(|c| !delivered.contains(c))
        .cloned()
        .collect()
}

async fn storm_kill_restart(postgres: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), postgres).await;
    let http = reqwest::Client::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let hook = receiver(log.clone()).await;

    let server = start_server(&db).await;
    let (auth, channel) = prepare(&server, &http, &hook).await;

    let acked = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            tokio::spawn(storm_task(
                t,
                http.clone(),
                server.url.clone(),
                auth.clone(),
                channel.clone(),
                acked.clone(),
                count.clone(),
            ))
        })
        .collect();
    let start = Instant::now();
    while count.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the storm got only {} changes through in 60 s",
            count.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let pending_at_kill = {
        let log = log.lock().unwrap();
        missing(&acked.lock().unwrap(), &log).len()
    };
    for t in tasks {
        assert!(
            t.await.unwrap(),
            "a storm task ran out of work before the kill: it was not mid-storm"
        );
    }
    let acked = Arc::try_unwrap(acked).unwrap().into_inner().unwrap();
    assert!(
        acked.len() >= 50,
        "only {} changes acknowledged before the kill",
        acked.len()
    );
    assert!(
        pending_at_kill > 0,
        "every acknowledged change was delivered before the kill: the restart had nothing to prove"
    );

    let restarted = Instant::now();
    let server = start_server(&db).await;
    loop {
        let left = missing(&acked, &log.lock().unwrap()).len();
        if left == 0 {
            break;
        }
        assert!(
            restarted.elapsed() < DRAIN_LIMIT,
            "{left} acknowledged changes still undelivered {DRAIN_LIMIT:?} after the restart: {:?}",
            missing(&acked, &log.lock().unwrap())
                .into_iter()
                .take(10)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = restarted.elapsed();
    // Stopped before the count, so no delivery arrives while it runs.
    server.kill();

    {
        let log = log.lock().unwrap();
        // Each change happens once (every user joins one room once and leaves it once), so a
        // delivery id seen twice is a duplicate, and a change's deliveries must share one id.
        let mut ids: HashMap<&str, &Change> = HashMap::new();
        let mut duplicates = 0;
        for d in log.iter() {
            if let Some(prev) = ids.insert(&d.id, &d.change) {
                assert_eq!(prev, &d.change, "one delivery id for two changes");
                duplicates += 1;
            }
        }
        let acked_set: HashSet<&Change> = acked.iter().collect();
        let delivered = ids.values().filter(|c| acked_set.contains(*c)).count();
        let lost = missing(&acked, &log).len();
        let backend = if postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        println!(
            "figure ({backend}): {} acknowledged, {delivered} delivered, {duplicates} duplicates, \
         {:.1} seconds to drain after restart ({pending_at_kill} undelivered at the kill, {} \
         unacknowledged changes delivered too)",
            acked.len(),
            drained.as_secs_f64(),
            ids.len() - delivered,
        );
        assert_eq!(lost, 0);
        assert_eq!(delivered, acked.len());
    }
    if let Some(base) = postgres {
        drop_database(base, &db).await;
    }
}

/// Drops the database `database` made, once no server uses it.
async fn drop_database(base: &str, db: &str) {
    use sqlx::Connection;
    let (_, name) = db.rsplit_once('/').unwrap();
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    sqlx::Executor::execute(
        &mut conn,
        format!("DROP DATABASE {name} WITH (FORCE)").as_str(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_membership_change_is_delivered_after_a_crash_sqlite() {
    storm_kill_restart(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_membership_change_is_delivered_after_a_crash_postgres() {
    let Ok(base) = std::env::var("HUDDLE_TEST_POSTGRES_URL") else {
        eprintln!("HUDDLE_TEST_POSTGRES_URL is not set: skipped");
        return;
    };
    storm_kill_restart(Some(&base)).await;
}
