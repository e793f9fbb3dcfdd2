//! Fan-out: N live sockets on one room, a message posted over HTTP, timed from just before the
//! POST is sent until the **last** socket has it. Serial (one post at a time, each awaited) for
//! `fanout`, a fixed rate for `sustained`. The same code measures the bare limits server's
//! `GET /ws` + `POST /post`, so the two are read as a ratio of one run.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::ddp::{self, OnFrame};
use super::{percentiles, Latency};

/// What every socket saw, per message sequence number.
pub struct Track {
    got: Vec<AtomicU32>,
    last: Vec<AtomicU64>,
    pub total: AtomicU64,
    pub closed: Arc<AtomicU64>,
    start: Instant,
    sockets: u32,
    done: Notify,
}

impl Track {
    pub fn new(messages: usize, sockets: usize) -> Arc<Track> {
        Arc::new(Track {
            got: (0..messages).map(|_| AtomicU32::new(0)).collect(),
            last: (0..messages).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            closed: Arc::new(AtomicU64::new(0)),
            start: Instant::now(),
            sockets: sockets as u32,
            done: Notify::new(),
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The frame callback for one socket.
    pub fn on_frame(self: &Arc<Self>) -> OnFrame {
        let t = self.clone();
        Arc::new(move |text: &str, at: Instant| {
            let Some(seq) = ddp::seq_of(text) else { return };
            let Some(got) = t.got.get(seq) else { return };
            t.total.fetch_add(1, Ordering::Relaxed);
            if got.fetch_add(1, Ordering::AcqRel) + 1 == t.sockets {
                let ns = at.duration_since(t.start).as_nanos() as u64;
                t.last[seq].store(ns, Ordering::Release);
                t.done.notify_waiters();
            }
        })
    }

    /// When the last socket had `seq` (ns since start), waiting up to `limit`.
    pub async fn wait_last(&self, seq: usize, limit: Duration) -> Option<u64> {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.done.notified();
            let l = self.last[seq].load(Ordering::Acquire);
            if l > 0 {
                return Some(l);
            }
            if Instant::now() >= deadline {
                return None;
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
        }
    }

    pub fn last_ns(&self, seq: usize) -> Option<u64> {
        let l = self.last[seq].load(Ordering::Acquire);
        (l > 0).then_some(l)
    }

    /// Messages in `range` that did not reach every socket exactly once.
    pub fn incomplete(&self, range: std::ops::Range<usize>) -> usize {
        range
            .filter(|&s| self.got[s].load(Ordering::Acquire) != self.sockets)
            .count()
    }
}

/// Sends one message; `Err` says why it failed.
pub type Post =
    Arc<dyn Fn(usize) -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Opens `n` sockets with `open(i)`, `width` at a time, each kept by a reader feeding `track`.
pub async fn open_all<F, Fut>(
    n: usize,
    width: usize,
    track: &Arc<Track>,
    open: F,
) -> anyhow::Result<Vec<JoinHandle<()>>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ddp::Ws>>,
{
    let opened: Vec<anyhow::Result<ddp::Ws>> = futures::stream::iter(0..n)
        .map(open)
        .buffer_unordered(width)
        .collect()
        .await;
    let mut tasks = Vec::with_capacity(n);
    for ws in opened {
        tasks.push(ddp::keep(ws?, track.on_frame(), track.closed.clone()));
    }
    Ok(tasks)
}

/// `posts` messages one at a time, each waited for on every socket (up to 5 s).
pub async fn serial(track: &Arc<Track>, post: &Post, posts: usize) -> Latency {
    let mut lat = Vec::with_capacity(posts);
    let mut errors = vec![];
    for seq in 0..posts {
        let t0 = track.now_ns();
        if let Err(e) = post(seq).await {
            errors.push(e);
            continue;
        }
        if let Some(l) = track.wait_last(seq, Duration::from_secs(5)).await {
            lat.push((l.saturating_sub(t0)) as f64 / 1e6);
        }
    }
    let incomplete = track.incomplete(0..posts);
    let mut l = percentiles(lat);
    l.errors = errors;
    l.incomplete = incomplete;
    l
}

/// Posts warm-up messages (sequence numbers from `first`, `count` at most) one at a time until
/// one reaches every socket within `quick`: the sockets' logins leave the server work (presence
/// writes, one per session) that would otherwise be measured as delivery latency. Returns how
/// many were needed, or `None` if the server never settled.
pub async fn settle(
    track: &Arc<Track>,
    post: &Post,
    first: usize,
    count: usize,
    quick: Duration,
) -> Option<usize> {
    for i in 0..count {
        let seq = first + i;
        let t0 = track.now_ns();
        if post(seq).await.is_err() {
            continue;
        }
        if let Some(l) = track.wait_last(seq, Duration::from_secs(30)).await {
            if Duration::from_nanos(l.saturating_sub(t0)) <= quick {
                return Some(i + 1);
            }
        }
    }
    None
}

/// `rate` messages per second for `secs` seconds, sequence numbers from `first`; every
/// delivery counted, the latency of each message taken at its last socket.
pub async fn sustained(
    track: &Arc<Track>,
    post: &Post,
    first: usize,
    rate: usize,
    secs: f64,
) -> (Latency, u64) {
    let count = (rate as f64 * secs).round() as usize;
    let before = track.total.load(Ordering::Relaxed);
    let tick = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let began = tokio::time::Instant::now();
    let mut sent = Vec::with_capacity(count);
    let mut posts = Vec::with_capacity(count);
    for i in 0..count {
        tokio::time::sleep_until(began + tick * i as u32).await;
        let seq = first + i;
        sent.push((seq, track.now_ns()));
        posts.push(tokio::spawn(post(seq)));
    }
    let mut errors = vec![];
    for p in posts {
        match p.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(e.to_string()),
        }
    }
    // Let the tail arrive: every message's last delivery, or 5 s.
    if let Some(&(last, _)) = sent.last() {
        let _ = track.wait_last(last, Duration::from_secs(5)).await;
    }
    let settle = Instant::now() + Duration::from_secs(5);
    while track.incomplete(first..first + count) > 0 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lat: Vec<f64> = sent
        .iter()
        .filter_map(|&(s, t0)| track.last_ns(s).map(|l| l.saturating_sub(t0) as f64 / 1e6))
        .collect();
    let delivered = track.total.load(Ordering::Relaxed) - before;
    let mut l = percentiles(lat);
    l.errors = errors;
    l.incomplete = track.incomplete(first..first + count);
    (l, delivered)
}
