//! Results: one row per measured step, ratios to the no-op and to the bare limits server of the
//! same run, the targets checked against them, a table for people and JSON for tools.

use std::fmt::Write as _;

use serde::Serialize;

use crate::runner::Outcome;
use crate::scenarios::Class;
use crate::server::Memory;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub class: Class,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    /// Server peak RSS during this step (VmHWM after a reset), MiB.
    pub server_peak_rss_mib: Option<f64>,
    /// Whether the peak is this step's own (reset before it) or since server start.
    pub peak_is_per_step: bool,
    pub server_rss_mib: Option<f64>,
    /// The server's CPU time (user + system, /proc/PID/stat) over the step divided by its
    /// requests, µs: what one request costs the server, whatever the load generator took.
    pub server_cpu_us_per_request: Option<f64>,
    /// rps / Huddle noop rps of this run.
    pub vs_noop: Option<f64>,
    /// rps / the limits server's noop (reads) or insert (writes) of this run.
    pub vs_limits: Option<f64>,
    pub exhausted: bool,
    pub note: String,
    pub first_errors: Vec<String>,
}

impl Row {
    pub fn new(
        o: &Outcome,
        class: Class,
        note: String,
        mem: Option<Memory>,
        peak_is_per_step: bool,
    ) -> Row {
        let mib = |kib: u64| kib as f64 / 1024.0;
        Row {
            scenario: o.name.clone(),
            class,
            requests: o.requests,
            errors: o.errors,
            seconds: o.elapsed.as_secs_f64(),
            rps: o.rps(),
            p50_ms: o.ms_at(0.5),
            p99_ms: o.ms_at(0.99),
            max_ms: o.max_ms(),
            mean_ms: o.mean_ms(),
            server_peak_rss_mib: mem.map(|m| mib(m.peak_kib)),
            peak_is_per_step,
            server_rss_mib: mem.map(|m| mib(m.now_kib)),
            server_cpu_us_per_request: None,
            vs_noop: None,
            vs_limits: None,
            exhausted: o.exhausted,
            note,
            first_errors: o.first_errors.clone(),
        }
    }
}

impl Row {
    /// Records `seconds` of server CPU spent over this step's requests.
    pub fn set_server_cpu(&mut self, seconds: f64) {
        if self.requests > 0 {
            self.server_cpu_us_per_request = Some(seconds * 1e6 / self.requests as f64);
        }
    }
}

/// Fills the ratio columns from the rows of the same run.
pub fn add_ratios(rows: &mut [Row]) {
    let rps = |name: &str| {
        rows.iter()
            .find(|r| r.scenario == name && r.rps > 0.0)
            .map(|r| r.rps)
    };
    let (noop, l_noop, l_insert) = (rps("noop"), rps("limits-noop"), rps("limits-insert"));
    for r in rows.iter_mut() {
        // Bursts are paced by Argon2, not by the write path: no ceiling of the limits server fits.
        if r.scenario.starts_with("limits-")
            || r.scenario.starts_with("invite-bulk")
            || r.scenario.ends_with("-burst")
        {
            continue;
        }
        r.vs_noop = noop.map(|n| r.rps / n);
        r.vs_limits = match r.class {
            Class::Read => l_noop,
            Class::Write => l_insert,
        }
        .map(|l| r.rps / l);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub target: String,
    pub measured: String,
    /// `None`: not measured in this run (scenario not run, or sizes too small to count).
    pub pass: Option<bool>,
}

/// The targets (#4 §3). They count only at full size and 64 connections; other runs
/// still show them, marked as not applicable.
pub fn targets(rows: &[Row], full_size: bool, connections: usize) -> Vec<Target> {
    let row = |name: &str| rows.iter().find(|r| r.scenario == name);
    let applies = full_size && connections == 64;
    let judge = |ok: bool| applies.then_some(ok);
    let mut out = vec![];
    let mut push = |target: &str, measured: Option<(String, bool)>| {
        out.push(match measured {
            Some((m, ok)) => Target {
                target: target.into(),
                measured: m,
                pass: judge(ok),
            },
            None => Target {
                target: target.into(),
                measured: "not run".into(),
                pass: None,
            },
        })
    };
    push(
        "invite >= 15,000 single invites/s at 64 connections",
        row("invite").map(|r| (format!("{:.0}/s", r.rps), r.rps >= 15_000.0)),
    );
    push(
        "invite >= 40% of noop (same run)",
        row("invite")
            .and_then(|r| r.vs_noop)
            .map(|v| (format!("{:.1}%", v * 100.0), v >= 0.40)),
    );
    push(
        "invite p99 < 10 ms",
        row("invite").map(|r| (format!("{:.2} ms", r.p99_ms), r.p99_ms < 10.0)),
    );
    push(
        "invite-bulk of 10,000 users < 150 ms (median request)",
        row("invite-bulk-10000").map(|r| {
            (
                format!("{:.1} ms (max {:.1})", r.p50_ms, r.max_ms),
                r.p50_ms < 150.0,
            )
        }),
    );
    let scaling = match (row("invite-into-10"), row("invite-into-1000000")) {
        (Some(a), Some(b)) if a.p50_ms > 0.0 && b.rps > 0.0 => {
            let lat = b.p50_ms / a.p50_ms;
            let thr = a.rps / b.rps;
            Some((
                format!("p50 {lat:.2}x, throughput {thr:.2}x"),
                lat <= 1.5 && thr <= 1.5,
            ))
        }
        _ => None,
    };
    push(
        "invite into a 1,000,000-member room within 1.5x of a 10-member room",
        scaling,
    );
    push(
        "members page at 1,000,000 members < 5 ms p50 (any offset, 64 connections)",
        row("members-1000000").map(|r| (format!("{:.2} ms", r.p50_ms), r.p50_ms < 5.0)),
    );
    push(
        "members page at 1,000,000 members < 5 ms p50 (any offset, 1 connection)",
        row("members-1000000-1conn").map(|r| (format!("{:.2} ms", r.p50_ms), r.p50_ms < 5.0)),
    );
    push(
        "1,000,000 memberships and 100,000 users served in < 500 MB RSS",
        row("memory").and_then(|r| r.server_peak_rss_mib).map(|m| {
            let mb = m * 1.048_576;
            (format!("{mb:.0} MB peak"), mb < 500.0)
        }),
    );
    let posting = match (row("post-into-10"), row("post")) {
        (Some(a), Some(b)) if a.p50_ms > 0.0 && b.rps > 0.0 => {
            let lat = b.p50_ms / a.p50_ms;
            let thr = a.rps / b.rps;
            Some((
                format!("p50 {lat:.2}x, throughput {thr:.2}x"),
                lat <= 1.2 && thr <= 1.2,
            ))
        }
        _ => None,
    };
    push(
        "post into a 1,000-member room within 1.2x of a 10-member room",
        posting,
    );
    for (name, what) in [
        (
            "login-burst",
            "RSS settled after 300 logins, 8 at a time, < 150 MB",
        ),
        (
            "create-burst",
            "RSS settled after 400 users.create, 8 at a time, < 150 MB",
        ),
    ] {
        push(
            what,
            row(name).and_then(|r| r.server_rss_mib).map(|m| {
                let mb = m * 1.048_576;
                (format!("{mb:.0} MB settled"), mb < 150.0)
            }),
        );
    }
    out
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

pub fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:>9} {:>6} {:>10} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9} {:>11}",
        "scenario",
        "requests",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "vs noop",
        "vs limits",
        "peak RSS",
        "CPU µs/req"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<22} {:>9} {:>6} {:>10.0} {:>8.2} {:>8.2} {:>9.2} {:>8} {:>8} {:>9} {:>11}{}",
            r.scenario,
            r.requests,
            r.errors,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            opt(r.vs_noop, |v| format!("{:.0}%", v * 100.0)),
            opt(r.vs_limits, |v| format!("{:.0}%", v * 100.0)),
            opt(r.server_peak_rss_mib, |m| format!("{m:.0} MiB")),
            opt(r.server_cpu_us_per_request, |c| format!("{c:.0}")),
            if r.exhausted { "  (pairs used up)" } else { "" }
        );
    }
    s
}

pub fn targets_table(targets: &[Target]) -> String {
    let mut s = String::new();
    for t in targets {
        let verdict = match t.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "n/a ",
        };
        let _ = writeln!(s, "{verdict}  {:<78} {}", t.target, t.measured);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, class: Class, rps: f64) -> Row {
        Row {
            scenario: name.into(),
            class,
            requests: 1,
            errors: 0,
            seconds: 1.0,
            rps,
            p50_ms: 1.0,
            p99_ms: 2.0,
            max_ms: 3.0,
            mean_ms: 1.0,
            server_peak_rss_mib: None,
            peak_is_per_step: true,
            server_rss_mib: None,
            server_cpu_us_per_request: None,
            vs_noop: None,
            vs_limits: None,
            exhausted: false,
            note: String::new(),
            first_errors: vec![],
        }
    }

    #[test]
    fn ratios_use_the_matching_limits_figure() {
        let mut rows = vec![
            row("limits-noop", Class::Read, 100.0),
            row("limits-insert", Class::Write, 40.0),
            row("noop", Class::Read, 50.0),
            row("invite", Class::Write, 20.0),
        ];
        add_ratios(&mut rows);
        assert_eq!(rows[2].vs_limits, Some(0.5));
        assert_eq!(rows[3].vs_limits, Some(0.5));
        assert_eq!(rows[3].vs_noop, Some(0.4));
        let t = targets(&rows, true, 64);
        assert_eq!(t[1].pass, Some(true));
        assert_eq!(t[0].pass, Some(false));
        assert!(targets(&rows, false, 64).iter().all(|t| t.pass.is_none()));
    }
}
