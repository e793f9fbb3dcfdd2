//! The server under test: finding the `huddle` binary, spawning it with its default
//! configuration on a seeded database, and reading its memory from /proc.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

/// `--huddle-bin`, else `huddle` next to this executable (cargo puts both in `target/<profile>`),
/// else `huddle` on PATH.
pub fn huddle_bin(given: Option<&Path>) -> PathBuf {
    if let Some(p) = given {
        return p.to_path_buf();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("huddle")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("huddle"))
}

/// A `huddle serve` child. Killed when dropped, so an aborted run leaves no server behind.
pub struct Spawned {
    child: tokio::process::Child,
    pub pid: u32,
    pub url: String,
    pub log: PathBuf,
}

/// A free loopback port: bind port 0, read it, let it go. Another process could take it in the
/// gap; the server then fails to bind and the run says so.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The server with the default configuration but for the message rate limit: the scenarios post
/// as ordinary users far faster than a person types (Rocket.Chat's limit is 5 a second per user),
/// and they measure the write path, not the limiter.
pub async fn spawn(bin: &Path, db_path: &str, log: PathBuf) -> anyhow::Result<Spawned> {
    let config = log.with_file_name("huddle.toml");
    std::fs::write(&config, format!("{NO_MESSAGE_RATE_LIMIT}\n"))
        .with_context(|| format!("writing {}", config.display()))?;
    spawn_with(bin, db_path, log, Some(&config)).await
}

/// The configuration line every spawned server gets (see [`spawn`]).
pub const NO_MESSAGE_RATE_LIMIT: &str = "message_rate_limit_calls = 0";

/// [`spawn`] with a configuration file (the realtime server's raised connection cap).
pub async fn spawn_with(
    bin: &Path,
    db_path: &str,
    log: PathBuf,
    config: Option<&Path>,
) -> anyhow::Result<Spawned> {
    let node = Node {
        database_url: format!("sqlite://{db_path}"),
        ..Node::default()
    };
    spawn_node(bin, &node, log, config).await
}

/// What a spawned server runs on besides its defaults: a database URL, and for a cluster node
/// the NATS URL and the app credentials (environment only, as the server takes them).
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub database_url: String,
    pub nats_url: Option<String>,
    pub env: Vec<(String, String)>,
}

/// [`spawn_with`] on any database, optionally as a cluster node.
pub async fn spawn_node(
    bin: &Path,
    node: &Node,
    log: PathBuf,
    config: Option<&Path>,
) -> anyhow::Result<Spawned> {
    let port = free_port()?;
    let log_file = std::fs::File::create(&log)
        .with_context(|| format!("creating server log {}", log.display()))?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1",
        "--port",
        &port.to_string(),
    ])
    .arg("--database-url")
    .arg(&node.database_url);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    if let Some(n) = &node.nats_url {
        cmd.arg("--nats-url").arg(n);
    }
    // The targets are for the default configuration: no HUDDLE_* setting from the caller's
    // environment (log level, rate limits, a config file) may leak into the measured server.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("HUDDLE_") {
            cmd.env_remove(&key);
        }
    }
    for (k, v) in &node.env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id().context("spawned server has no pid")?;
    let mut s = Spawned {
        child,
        pid,
        url: format!("http://127.0.0.1:{port}"),
        log,
    };
    s.wait_ready().await?;
    Ok(s)
}

impl Spawned {
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "huddle exited ({status}) before answering; log:\n{}",
                    tail(&self.log)
                );
            }
            let up = client.get(format!("{}/api/info", self.url)).send().await;
            if up.map(|r| r.status().is_success()).unwrap_or(false) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "huddle did not answer within 120 s; log:\n{}",
            tail(&self.log)
        )
    }

    /// SIGTERM (graceful), then SIGKILL if it lingers.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => Ok(self.child.kill().await?),
        }
    }

    /// Whether the server died under load (its log then says why).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!("{status}; log:\n{}", tail(&self.log))),
            _ => None,
        }
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// CPU time (user + system, all threads) of a process so far, in ms, from /proc/PID/stat's
/// `utime` and `stime`. The command name (field 2) may hold spaces, so the fields are counted
/// from its closing parenthesis; they tick in USER_HZ, which Linux fixes at 100 per second in
/// what it reports to user space whatever the kernel's own tick rate.
pub fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks * 10.0)
}

/// A process's resident memory, from /proc/PID/status.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    /// Peak resident set (VmHWM) since start or since the last [`reset_peak`].
    pub peak_kib: u64,
    /// Resident set now (VmRSS).
    pub now_kib: u64,
}

pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Memory {
        peak_kib: field("VmHWM:")?,
        now_kib: field("VmRSS:")?,
    })
}

/// Resets VmHWM to the current RSS (writing 5 to /proc/PID/clear_refs, Linux ≥ 4.0), so each
/// scenario reports its own peak. Needs the right to write there (same user or root); without
/// it the peaks are cumulative and the report says so.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// [`cpu_ms`] in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_ms(pid).map(|ms| ms / 1000.0)
}
