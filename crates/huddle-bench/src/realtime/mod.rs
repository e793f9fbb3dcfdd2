//! The realtime scenarios of issue 7 part 6, over real DDP sockets: `ddp-idle` (server memory
//! per idle logged-in connection), `fanout` (one post → the last of the room's live sockets),
//! `sustained` (a fixed message rate into that room, every delivery counted) and
//! `invite-to-event` (`channels.invite` → the invitee's `subscriptions-changed` frame). With
//! `--limits-url`, the bare limits server's WebSocket fan-out is measured by the same code in the
//! same run, for a ratio.

pub mod ddp;
pub mod fanout;
mod invite;
mod report;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use crate::client::{Creds, Http, Method, Req};
use crate::fixture::{self, POST_ROOM};
use crate::server;
use fanout::{Post, Track};
pub use report::{table, RtRow};

/// Warm-up posts at most before the fan-out is measured, and the latency that counts as settled.
const SETTLE_POSTS: usize = 200;
const SETTLED: Duration = Duration::from_millis(50);

/// The realtime scenarios, in run order.
pub const SCENARIOS: &[&str] = &["ddp-idle", "fanout", "sustained", "invite-to-event"];

/// Realtime knobs; each unset one takes its full-run or `--tiny` default.
#[derive(Args, Debug, Clone, Default)]
pub struct RtArgs {
    /// `ddp-idle`: logged-in DDP connections held open at once (full 10,000).
    #[arg(long)]
    pub rt_connections: Option<usize>,
    /// `ddp-idle`: seconds the connections stay idle (answering the server's pings) before the
    /// memory is read again (full 20: past one 15 s heartbeat).
    #[arg(long)]
    pub rt_idle_seconds: Option<f64>,
    /// `fanout`: messages posted one at a time.
    #[arg(long)]
    pub rt_posts: Option<usize>,
    /// `sustained`: messages per second.
    #[arg(long)]
    pub rt_rate: Option<usize>,
    /// `sustained`: seconds.
    #[arg(long)]
    pub rt_seconds: Option<f64>,
    /// `invite-to-event`: invites, one at a time.
    #[arg(long)]
    pub rt_invites: Option<usize>,
}

/// The realtime sizes in force.
#[derive(Debug, Clone, Serialize)]
pub struct RtLoad {
    pub connections: usize,
    pub idle_seconds: f64,
    /// Members of the fan-out room with a live socket (the fixture's `post_room_size`).
    pub members: usize,
    pub posts: usize,
    pub rate: usize,
    pub seconds: f64,
    pub invites: usize,
}

impl RtLoad {
    pub fn resolve(a: &RtArgs, tiny: bool, members: u64) -> RtLoad {
        let (connections, idle, posts, rate, seconds, invites) = if tiny {
            (200, 1.0, 30, 20, 2.0, 20)
        } else {
            (10_000, 20.0, 500, 100, 60.0, 500)
        };
        RtLoad {
            connections: a.rt_connections.unwrap_or(connections).max(1),
            idle_seconds: a.rt_idle_seconds.unwrap_or(idle).max(0.0),
            members: members as usize,
            posts: a.rt_posts.unwrap_or(posts).max(1),
            rate: a.rt_rate.unwrap_or(rate).max(1),
            seconds: a.rt_seconds.unwrap_or(seconds).max(0.1),
            invites: a.rt_invites.unwrap_or(invites).max(1),
        }
    }

    /// Token users a fixture needs: the idle connections, and the fan-out members plus one
    /// socket per invitee (invitees are token users outside the fan-out room).
    pub fn token_users(&self) -> u64 {
        (self.connections.max(self.members + self.invitees())) as u64
    }

    pub fn invitees(&self) -> usize {
        self.invites.min(500)
    }
}

/// Latency figures of one scenario, in ms.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Messages that did not reach every socket exactly once.
    pub incomplete: usize,
    pub errors: Vec<String>,
}

pub fn percentiles(mut v: Vec<f64>) -> Latency {
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        if v.is_empty() {
            f64::NAN
        } else {
            v[((v.len() as f64 - 1.0) * p).round() as usize]
        }
    };
    Latency {
        samples: v.len(),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: v.last().copied().unwrap_or(f64::NAN),
        incomplete: 0,
        errors: vec![],
    }
}

/// The server under test, as the realtime scenarios see it.
pub struct Env {
    pub http: Http,
    pub base: String,
    pub pid: Option<u32>,
    pub admin: Creds,
    pub token_secret: String,
    /// Users with a seeded token (`1..=token_users`).
    pub token_users: usize,
}

/// The bare limits server, for the fan-out ratio.
pub struct Limits {
    pub base: String,
    pub pid: Option<u32>,
}

/// Raises this process's open-files limit to its hard limit: 10,000 sockets need more than the
/// usual soft 1,024. A server spawned afterwards inherits it.
pub fn raise_nofile() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let cur = getrlimit(Resource::Nofile);
    let want = Rlimit {
        current: cur.maximum,
        maximum: cur.maximum,
    };
    setrlimit(Resource::Nofile, want).ok()?;
    getrlimit(Resource::Nofile).current
}

fn say(msg: String) {
    eprintln!("huddle-bench: {msg}");
}

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    pid.and_then(server::memory).map(|m| m.now_kib)
}

fn sessions_url(base: &str) -> String {
    ddp::ws_url(base, "/websocket")
}

fn token(env: &Env, user: usize) -> String {
    fixture::token(&env.token_secret, user as u64)
}

/// Runs the realtime scenarios of `names`.
pub async fn run(
    env: &Env,
    names: &[&str],
    load: &RtLoad,
    limits: Option<&Limits>,
) -> anyhow::Result<Vec<RtRow>> {
    let mut rows = vec![];
    if names.contains(&"ddp-idle") {
        rows.push(ddp_idle(env, load).await?);
        // The server closes 10,000 sessions (and marks their users offline) before the next
        // scenario starts.
        tokio::time::sleep(Duration::from_secs(if load.connections > 1000 {
            5
        } else {
            1
        }))
        .await;
    }
    let fan = names.contains(&"fanout");
    let sus = names.contains(&"sustained");
    if fan || sus {
        rows.extend(room_fanout(env, load, fan, sus).await?);
        if let Some(l) = limits {
            rows.extend(limits_fanout(l, load, fan, sus).await?);
        }
    }
    if names.contains(&"invite-to-event") {
        rows.push(invite::run(env, load).await?);
    }
    report::add_ratios(&mut rows);
    Ok(rows)
}

async fn ddp_idle(env: &Env, load: &RtLoad) -> anyhow::Result<RtRow> {
    let n = load.connections.min(env.token_users);
    if n < load.connections {
        say(format!(
            "ddp-idle: {n} connections (the fixture has {n} token users, not {})",
            load.connections
        ));
    }
    let url = sessions_url(&env.base);
    let before = rss_kib(env.pid);
    let track = Track::new(0, n);
    let started = std::time::Instant::now();
    let tasks = fanout::open_all(n, 64, &track, |i| {
        let (url, tok) = (url.clone(), token(env, i + 1));
        let event = format!("{}/subscriptions-changed", fixture::user_id(i as u64 + 1));
        async move { ddp::session(&url, &tok, "stream-notify-user", &event).await }
    })
    .await
    .context("ddp-idle: opening the sessions")?;
    let open_s = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let opened = rss_kib(env.pid);
    tokio::time::sleep(Duration::from_secs_f64(load.idle_seconds)).await;
    let after = rss_kib(env.pid);
    let closed = track.closed.load(Ordering::Relaxed);
    for t in &tasks {
        t.abort();
    }
    let per = match (before, opened) {
        (Some(b), Some(o)) => Some(o.saturating_sub(b) as f64 / n as f64),
        _ => None,
    };
    let mut row = RtRow::new(
        "ddp-idle",
        format!(
            "{n} sessions (connect, resume login, 1 stream-notify-user sub) opened in {open_s:.1} s, idle {:.0} s; {closed} closed by the server",
            load.idle_seconds
        ),
    );
    row.connections = n;
    row.rss_before_kib = before;
    row.rss_opened_kib = opened;
    row.rss_after_kib = after;
    row.kib_per_conn = per;
    row.closed = closed;
    row.judge_memory(20.0);
    Ok(row)
}

/// The Huddle post: `chat.postMessage` as member 1 of the fan-out room.
fn huddle_post(env: &Env) -> anyhow::Result<Post> {
    let creds = Creds::new(&fixture::user_id(1), &token(env, 1))?;
    let http = env.http.clone();
    Ok(Arc::new(move |seq| {
        let (http, creds) = (http.clone(), creds.clone());
        let body = serde_json::json!({"roomId": POST_ROOM, "text": ddp::message_text(seq)});
        Box::pin(async move {
            http.send(&Req::post("/api/v1/chat.postMessage", body, &creds))
                .await
        })
    }))
}

async fn room_fanout(env: &Env, load: &RtLoad, fan: bool, sus: bool) -> anyhow::Result<Vec<RtRow>> {
    let members = load.members.min(env.token_users);
    let url = sessions_url(&env.base);
    let sustained_count = (load.rate as f64 * load.seconds).round() as usize;
    let measured = load.posts + sustained_count;
    let track = Track::new(measured + SETTLE_POSTS, members);
    let tasks = fanout::open_all(members, 64, &track, |i| {
        let (url, tok) = (url.clone(), token(env, i + 1));
        async move { ddp::session(&url, &tok, "stream-room-messages", POST_ROOM).await }
    })
    .await
    .context("fanout: opening the members' sessions")?;
    let post = huddle_post(env)?;
    match fanout::settle(&track, &post, measured, SETTLE_POSTS, SETTLED).await {
        Some(n) => say(format!("fanout: server settled after {n} warm-up posts")),
        None => say(format!(
            "fanout: no warm-up post of {SETTLE_POSTS} reached every socket within {SETTLED:?}; measuring anyway"
        )),
    }
    let rows = measure_fanout("", &track, &post, load, members, (fan, sus), env.pid).await;
    for t in &tasks {
        t.abort();
    }
    Ok(rows)
}

async fn measure_fanout(
    prefix: &str,
    track: &Arc<Track>,
    post: &Post,
    load: &RtLoad,
    sockets: usize,
    (fan, sus): (bool, bool),
    pid: Option<u32>,
) -> Vec<RtRow> {
    let cpu = || pid.and_then(crate::server::cpu_ms);
    let per_post = |before: Option<f64>, posts: usize| {
        before
            .zip(cpu())
            .map(|(b, a)| (a - b) / posts.max(1) as f64)
    };
    let mut rows = vec![];
    if fan {
        let before = cpu();
        let l = fanout::serial(track, post, load.posts).await;
        let mut row = RtRow::new(
            &format!("{prefix}fanout"),
            format!(
                "{} posts, one at a time, to {sockets} live sockets; POST sent → last socket",
                load.posts
            ),
        );
        row.server_cpu_ms_per_post = per_post(before, load.posts);
        row.connections = sockets;
        row.expected = Some((load.posts * sockets) as u64);
        row.latency = Some(l);
        row.judge_latency(Some(5.0), 25.0);
        rows.push(row);
    }
    if sus {
        let before = cpu();
        let (l, delivered) =
            fanout::sustained(track, post, load.posts, load.rate, load.seconds).await;
        let count = (load.rate as f64 * load.seconds).round() as u64;
        let mut row = RtRow::new(
            &format!("{prefix}sustained"),
            format!(
                "{}/s for {:.0} s to {sockets} sockets ({} deliveries/s asked)",
                load.rate,
                load.seconds,
                load.rate * sockets
            ),
        );
        row.server_cpu_ms_per_post = per_post(before, count as usize);
        row.connections = sockets;
        row.deliveries = Some(delivered);
        row.expected = Some(count * sockets as u64);
        row.latency = Some(l);
        row.judge_latency(None, 50.0);
        rows.push(row);
    }
    rows
}

/// The limits server's `GET /ws` + `POST /post`, with as many sockets and posts.
async fn limits_fanout(
    l: &Limits,
    load: &RtLoad,
    fan: bool,
    sus: bool,
) -> anyhow::Result<Vec<RtRow>> {
    let sockets = load.members;
    let url = ddp::ws_url(&l.base, "/ws");
    let sustained_count = (load.rate as f64 * load.seconds).round() as usize;
    let measured = load.posts + sustained_count;
    let track = Track::new(measured + SETTLE_POSTS, sockets);
    let before = rss_kib(l.pid);
    let tasks = fanout::open_all(sockets, 64, &track, |_| {
        let url = url.clone();
        async move { ddp::open(&url).await }
    })
    .await
    .context("limits fan-out: opening sockets")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let opened = rss_kib(l.pid);
    let http = Http::new(&l.base, 64)?;
    let post: Post = Arc::new(move |seq| {
        let http = http.clone();
        let req = Req {
            method: Method::Post,
            path: "/post".into(),
            body: Some(serde_json::json!({"msg": ddp::message_text(seq)}).to_string()),
            creds: None,
        };
        Box::pin(async move { http.send(&req).await })
    });
    let _ = fanout::settle(&track, &post, measured, SETTLE_POSTS, SETTLED).await;
    let mut rows = measure_fanout("limits-", &track, &post, load, sockets, (fan, sus), l.pid).await;
    for t in &tasks {
        t.abort();
    }
    if let (Some(b), Some(o), Some(first)) = (before, opened, rows.first_mut()) {
        first.rss_before_kib = Some(b);
        first.rss_opened_kib = Some(o);
        first.kib_per_conn = Some(o.saturating_sub(b) as f64 / sockets.max(1) as f64);
    }
    for r in &mut rows {
        r.target = "ceiling".into();
        r.met = None;
    }
    Ok(rows)
}
