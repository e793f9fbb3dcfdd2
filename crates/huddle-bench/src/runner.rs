//! The load loop: `connections` workers, each with one request in flight at a time (a closed
//! loop, like wrk), until the time is up, the request cap is reached or the scenario has no
//! more distinct work. Every latency lands in an HDR histogram (microseconds, 3 significant
//! digits); failures are counted and the first few kept verbatim.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

use crate::client::{Http, Req};

/// A worker's request source: given the run-wide sequence number, the next request, or `None`
/// when the scenario's distinct work (users to invite, members to kick, ...) is used up.
pub type Source = Box<dyn FnMut(u64) -> Option<Req> + Send>;

/// Makes worker `w`'s source. Per worker, so a worker can keep state (mixed: join, then leave).
pub type MakeSource = Arc<dyn Fn(usize) -> Source + Send + Sync>;

pub struct Spec {
    pub name: String,
    pub connections: usize,
    /// Stop after this long (`None`: only the cap or exhaustion stops it).
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    pub source: MakeSource,
}

pub struct Outcome {
    pub name: String,
    pub requests: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub hist: Histogram<u64>,
    pub first_errors: Vec<String>,
    /// The scenario ran out of distinct work before its time was up.
    pub exhausted: bool,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }

    pub fn ms_at(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.hist.max() as f64 / 1000.0
    }

    pub fn mean_ms(&self) -> f64 {
        self.hist.mean() / 1000.0
    }
}

#[allow(clippy::expect_used)]
fn new_hist() -> Histogram<u64> {
    // 1 µs .. 10 min at 3 significant digits. Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant histogram bounds are valid")
}

pub async fn run(http: &Http, spec: Spec) -> Outcome {
    let bar = progress(&spec);
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let exhausted = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors_kept = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let deadline = spec.duration.map(|d| started + d);

    let mut workers = Vec::with_capacity(spec.connections);
    for w in 0..spec.connections {
        let mut source = (spec.source)(w);
        let (http, next, stop, exhausted, done, kept) = (
            http.clone(),
            next.clone(),
            stop.clone(),
            exhausted.clone(),
            done.clone(),
            errors_kept.clone(),
        );
        let cap = spec.requests;
        workers.push(tokio::spawn(async move {
            let mut hist = new_hist();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                if cap.is_some_and(|c| k >= c) {
                    break;
                }
                let Some(req) = source(k) else {
                    exhausted.store(true, Ordering::Relaxed);
                    stop.store(true, Ordering::Relaxed);
                    break;
                };
                let t0 = Instant::now();
                let result = http.send(&req).await;
                let us = t0.elapsed().as_micros().max(1) as u64;
                let _ = hist.record(us.min(600_000_000));
                if let Err(e) = result {
                    errors += 1;
                    if let Ok(mut v) = kept.lock() {
                        if v.len() < 5 {
                            v.push(e);
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            (hist, errors)
        }));
    }

    let ticker = {
        let (bar, done, stop) = (bar.clone(), done.clone(), stop.clone());
        let by_time = spec.duration.is_some();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = done.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64();
                if by_time {
                    bar.set_position(started.elapsed().as_millis() as u64);
                } else {
                    bar.set_position(n);
                }
                bar.set_message(format!("{n} req, {:.0}/s", n as f64 / secs.max(1e-9)));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let mut hist = new_hist();
    let mut errors = 0;
    for w in workers {
        if let Ok((h, e)) = w.await {
            let _ = hist.add(&h);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.await;
    let requests = done.load(Ordering::Relaxed);
    bar.finish_and_clear();
    let first_errors = errors_kept.lock().map(|v| v.clone()).unwrap_or_default();
    Outcome {
        name: spec.name,
        requests,
        errors,
        elapsed,
        hist,
        first_errors,
        exhausted: exhausted.load(Ordering::Relaxed),
    }
}

fn progress(spec: &Spec) -> ProgressBar {
    let len = match (spec.duration, spec.requests) {
        (Some(d), _) => d.as_millis() as u64,
        (None, Some(r)) => r,
        (None, None) => 0,
    };
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix:>22} [{bar:30}] {elapsed_precise} {msg}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(spec.name.clone());
    bar
}

/// A spinner for the untimed steps (seeding, spawning).
pub fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(150));
    bar
}

/// A cheap, deterministic pseudo-random number from a sequence number (splitmix64): scenarios
/// pick offsets and request kinds from it without sharing an RNG between workers.
pub fn mix(k: u64) -> u64 {
    let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_reports_milliseconds() {
        let mut hist = new_hist();
        for us in [1_000u64, 2_000, 3_000, 100_000] {
            let _ = hist.record(us);
        }
        let o = Outcome {
            name: "t".into(),
            requests: 4,
            errors: 0,
            elapsed: Duration::from_secs(2),
            hist,
            first_errors: vec![],
            exhausted: false,
        };
        assert_eq!(o.rps(), 2.0);
        assert!((o.ms_at(0.5) - 2.0).abs() < 0.01);
        assert!((o.max_ms() - 100.0).abs() < 0.1);
    }

    #[test]
    fn mix_spreads_neighbours() {
        assert_ne!(mix(1) % 100, mix(2) % 100);
    }
}
