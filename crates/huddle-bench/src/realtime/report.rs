//! The realtime rows: figures, targets (issue 7 part 6) and the ratio to the limits server's
//! fan-out of the same run.

use std::fmt::Write as _;

use serde::Serialize;

use super::Latency;

#[derive(Debug, Clone, Serialize)]
pub struct RtRow {
    pub scenario: String,
    pub note: String,
    /// Sockets held open during the scenario.
    pub connections: usize,
    pub latency: Option<Latency>,
    /// Deliveries counted / expected (messages × sockets).
    pub deliveries: Option<u64>,
    pub expected: Option<u64>,
    pub rss_before_kib: Option<u64>,
    pub rss_opened_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// (RSS with the sockets open − RSS before) / sockets.
    pub kib_per_conn: Option<f64>,
    /// Sockets the server closed during the scenario.
    pub closed: u64,
    /// The target, in words.
    pub target: String,
    pub met: Option<bool>,
    /// p50 / the limits server's p50 of the same scenario in the same run.
    pub vs_limits_p50: Option<f64>,
    pub vs_limits_p99: Option<f64>,
    /// The server process's CPU time (user + system) per post during the scenario, ms: the
    /// cost of one post's fan-out, which wall-clock latency on a shared machine hides.
    pub server_cpu_ms_per_post: Option<f64>,
}

impl RtRow {
    pub fn new(scenario: &str, note: String) -> RtRow {
        RtRow {
            scenario: scenario.into(),
            note,
            connections: 0,
            latency: None,
            deliveries: None,
            expected: None,
            rss_before_kib: None,
            rss_opened_kib: None,
            rss_after_kib: None,
            kib_per_conn: None,
            closed: 0,
            target: String::new(),
            met: None,
            vs_limits_p50: None,
            vs_limits_p99: None,
            server_cpu_ms_per_post: None,
        }
    }

    fn clean(&self) -> bool {
        let lossless = match (self.deliveries, self.expected) {
            (Some(d), Some(e)) => d == e,
            _ => true,
        };
        let l_ok = self
            .latency
            .as_ref()
            .is_none_or(|l| l.errors.is_empty() && l.incomplete == 0);
        lossless && l_ok && self.closed == 0
    }

    pub fn judge_latency(&mut self, p50: Option<f64>, p99: f64) {
        let Some(l) = &self.latency else { return };
        self.target = match p50 {
            Some(p) => format!("p50 ≤ {p} ms, p99 ≤ {p99} ms"),
            None => format!("p99 ≤ {p99} ms"),
        };
        if self.deliveries.is_some() {
            self.target.push_str(", no loss");
        }
        let fast = p50.is_none_or(|p| l.p50_ms <= p) && l.p99_ms <= p99;
        self.met = Some(fast && l.samples > 0 && self.clean());
    }

    pub fn judge_memory(&mut self, kib: f64) {
        self.target = format!("≤ {kib} KiB per idle connection");
        self.met = Some(self.kib_per_conn.is_some_and(|k| k <= kib) && self.clean());
    }

    /// Failures that make the run fail: requests or sessions that went wrong.
    pub fn errors(&self) -> usize {
        self.latency.as_ref().map_or(0, |l| l.errors.len())
    }

    /// Whether every message reached every socket (a bug, not a missed target, at tiny sizes).
    pub fn lossless(&self) -> bool {
        self.clean()
    }
}

/// Huddle's fan-out latencies as multiples of the limits server's.
pub fn add_ratios(rows: &mut [RtRow]) {
    let limits: Vec<(String, Option<Latency>)> = rows
        .iter()
        .filter_map(|r| {
            r.scenario
                .strip_prefix("limits-")
                .map(|s| (s.to_string(), r.latency.clone()))
        })
        .collect();
    for r in rows.iter_mut() {
        let Some((_, Some(ll))) = limits.iter().find(|(s, _)| *s == r.scenario) else {
            continue;
        };
        if let Some(l) = &r.latency {
            r.vs_limits_p50 = Some(l.p50_ms / ll.p50_ms);
            r.vs_limits_p99 = Some(l.p99_ms / ll.p99_ms);
        }
    }
}

pub fn table(rows: &[RtRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<18} {:>7} {:>9} {:>9} {:>9} {:>21} {:>12} {:>11}  {:<28} {:<4}",
        "realtime",
        "sockets",
        "p50 ms",
        "p99 ms",
        "max ms",
        "deliveries",
        "KiB/conn",
        "vs limits",
        "target",
        "met"
    );
    let f = |v: f64| format!("{v:.2}");
    for r in rows {
        let (p50, p99, max) = r
            .latency
            .as_ref()
            .map(|l| (f(l.p50_ms), f(l.p99_ms), f(l.max_ms)))
            .unwrap_or_else(|| ("-".into(), "-".into(), "-".into()));
        let deliveries = match (r.deliveries, r.expected) {
            (Some(d), Some(e)) => format!("{d}/{e}"),
            (None, Some(e)) => {
                let missing = r.latency.as_ref().map_or(0, |l| l.incomplete);
                format!(
                    "{} incomplete of {}",
                    missing,
                    e / r.connections.max(1) as u64
                )
            }
            _ => "-".into(),
        };
        let vs = match (r.vs_limits_p50, r.vs_limits_p99) {
            (Some(a), Some(b)) => format!("{a:.1}x/{b:.1}x"),
            _ => "-".into(),
        };
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let _ = writeln!(
            s,
            "{:<18} {:>7} {:>9} {:>9} {:>9} {:>21} {:>12} {:>11}  {:<28} {:<4}",
            r.scenario,
            r.connections,
            p50,
            p99,
            max,
            deliveries,
            r.kib_per_conn
                .map(|k| format!("{k:.1}"))
                .unwrap_or("-".into()),
            vs,
            r.target,
            met
        );
    }
    for r in rows {
        let _ = writeln!(s, "  {}: {}", r.scenario, r.note);
        if let Some(c) = r.server_cpu_ms_per_post {
            let _ = writeln!(s, "    server CPU {c:.2} ms per post (user + system)");
        }
        if let Some(l) = &r.latency {
            for e in l.errors.iter().take(3) {
                let _ = writeln!(s, "    error: {e}");
            }
        }
    }
    s
}
