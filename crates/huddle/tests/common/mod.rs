//! What the binary's real-process tests share: running `huddle` commands, and a `huddle serve`
//! child on a free port that is ended by its PID when dropped, so a failed assertion leaves
//! nothing running. Each test file takes what it needs (`mod common;`).

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Variables of the developer's shell that would change what a test's server does.
const CLEARED_ENV: [&str; 10] = [
    "HUDDLE_CONFIG",
    "HUDDLE_ADMIN_USERNAME",
    "HUDDLE_APP_ID",
    "HUDDLE_APP_SECRET",
    "HUDDLE_INSECURE_BROWSER_SESSIONS",
    "HUDDLE_LOG",
    "HUDDLE_LOG_FORMAT",
    "HUDDLE_NATS_URL",
    "HUDDLE_SECRETS_KEY",
    "RUST_BACKTRACE",
];

const START_LIMIT: Duration = Duration::from_secs(30);

/// Runs one `huddle` command against `db` and returns its output.
pub fn huddle(db: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_huddle"));
    cmd.args(args).env("HUDDLE_DATABASE_URL", db);
    for name in CLEARED_ENV {
        cmd.env_remove(name);
    }
    cmd.output().expect("run huddle")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command succeeded: its standard output.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(out)
}

/// The command failed, and its error says `needle`.
pub fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(needle),
        "expected a failure mentioning {needle:?}; stdout: {}\nstderr: {err}",
        stdout(out)
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("local address")
        .port()
}

/// How to start a `huddle serve`: `Serve::new(db)`, adjusted, then `start` (or `start_async`
/// inside a test whose runtime must keep running meanwhile, e.g. to serve a webhook receiver).
pub struct Serve {
    db: String,
    before: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    wrapper: Option<(PathBuf, Vec<OsString>)>,
    log: Option<PathBuf>,
}

impl Serve {
    pub fn new(db: &str) -> Serve {
        Serve {
            db: db.to_string(),
            before: vec![],
            args: vec![],
            env: vec![],
            wrapper: None,
            log: None,
        }
    }

    /// Global options, written before `serve` (`--log-format json`).
    pub fn global(mut self, args: &[&str]) -> Serve {
        self.before.extend(args.iter().map(OsString::from));
        self
    }

    /// Options of `serve` itself.
    pub fn args(mut self, args: &[&str]) -> Serve {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    pub fn env(mut self, name: &str, value: &str) -> Serve {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs the server under `program args... huddle serve ...`; the program must exec the
    /// server so that the child's PID is the server's (`fiu-run -x` does).
    pub fn wrapped_in(mut self, program: &Path, args: &[&OsString]) -> Serve {
        self.wrapper = Some((
            program.to_path_buf(),
            args.iter().map(|a| (*a).clone()).collect(),
        ));
        self
    }

    /// Sends the server's standard error (its log) to `path`; otherwise it is discarded.
    pub fn log_to(mut self, path: &Path) -> Serve {
        self.log = Some(path.to_path_buf());
        self
    }

    fn spawn(self) -> ServerProcess {
        let port = free_port();
        let bin = env!("CARGO_BIN_EXE_huddle");
        let mut cmd = match &self.wrapper {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(&self.before)
            .args(["serve", "--listen", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(&self.args)
            .env("HUDDLE_DATABASE_URL", &self.db);
        for name in CLEARED_ENV {
            cmd.env_remove(name);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(match &self.log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("create the log")),
                None => Stdio::null(),
            });
        let child = cmd.spawn().expect("start huddle serve");
        ServerProcess {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            log: self.log,
        }
    }

    /// Starts the server and waits (blocking this thread) until it answers.
    pub fn start(self) -> ServerProcess {
        let mut server = self.spawn();
        let start = Instant::now();
        while !server.answers() {
            server.still_starting(start);
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `start`, waiting without blocking the test's runtime.
    pub async fn start_async(self) -> ServerProcess {
        let mut server = self.spawn();
        let start = Instant::now();
        while !server.answers() {
            server.still_starting(start);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }
}

/// A running `huddle serve`; killed by its PID when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub port: u16,
    pub url: String,
    log: Option<PathBuf>,
}

impl ServerProcess {
    /// A server a test started its own way (not `huddle serve`), ended by its PID like the rest.
    pub fn adopt(child: Child, port: u16) -> ServerProcess {
        ServerProcess {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
            log: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far (empty unless started with `log_to`).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    }

    /// Whether `/api/info` answers 200 now.
    fn answers(&self) -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = "GET /api/info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        let mut head = [0u8; 12];
        s.write_all(req.as_bytes()).is_ok()
            && s.read_exact(&mut head).is_ok()
            && head.starts_with(b"HTTP/1.1 200")
    }

    fn still_starting(&mut self, since: Instant) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("huddle serve exited at start ({status}):\n{}", self.log());
        }
        assert!(
            since.elapsed() < START_LIMIT,
            "huddle serve did not come up in {START_LIMIT:?}:\n{}",
            self.log()
        );
    }

    /// SIGTERM by PID, then waits for the exit: a graceful stop. Panics if it takes over 30 s.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for huddle serve") {
                return status;
            }
            assert!(
                start.elapsed() < START_LIMIT,
                "huddle serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL by PID: no graceful stop, nothing flushed that was not committed.
    pub fn kill(mut self) {
        self.child.kill().expect("kill huddle serve");
        self.child.wait().expect("reap huddle serve");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
