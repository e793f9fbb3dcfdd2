//! A PostgreSQL of the test's own, so a test can stop and restart it without touching the
//! shared server: Debian's binaries (`/usr/lib/postgresql/*/bin`), a data directory in a temp
//! folder, a free port on 127.0.0.1, its socket in the data directory. As root the server runs
//! as the `postgres` user (PostgreSQL refuses root). Dropping it kills the postmaster by its PID.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// Runs the binaries as `postgres` when the test runs as root.
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl PrivatePg {
    /// Creates and starts the cluster; `Err` says why it cannot (no binaries), so the caller can
    /// print the reason and skip.
    pub fn start() -> Result<PrivatePg, String> {
        let bin = newest_bin().ok_or("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("huddle-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| e.to_string())?;
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path()))?;
            // The temp folder is private to root; postgres must reach its data directory.
            run(Command::new("chmod").arg("755").arg(dir.path()))?;
        }
        let port = free_port()?;
        let pg = PrivatePg {
            bin,
            data,
            port,
            as_postgres,
            _dir: dir,
        };
        pg.pg(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
        )
        .map_err(|e| format!("initdb: {e}"))?;
        pg.start_again()?;
        Ok(pg)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `pg_ctl start -w`: returns once the server accepts connections.
    pub fn start_again(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        let log = log.to_string_lossy();
        self.pg(
            "pg_ctl",
            &["start", "-w", "-t", "60", "-o", &options, "-l", &log],
        )
        .map(|_| ())
        .map_err(|e| format!("pg_ctl start: {e}"))
    }

    /// `pg_ctl stop -m immediate`: the postmaster and its backends quit at once, without a
    /// checkpoint, as on a crash; returns once they are gone.
    pub fn stop_immediate(&self) {
        self.pg("pg_ctl", &["stop", "-w", "-m", "immediate"])
            .expect("pg_ctl stop");
    }

    /// Runs `bin/name args... -D <data>`, as `postgres` when the test is root.
    fn pg(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let program = self.bin.join(name);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        // The binaries must not pick up a cluster of the environment's choosing.
        command.env_remove("PGDATA").env_remove("PGPORT");
        command.args(args).arg("-D").arg(&self.data);
        run(&mut command)
    }

    fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        // By its PID only: never a broad kill that could reach the shared server.
        if let Some(pid) = self.postmaster_pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

fn run(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn newest_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            Path::new(&bin.join("pg_ctl")).exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
