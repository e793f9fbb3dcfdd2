//! `logins`: bursts of password work (issue 15 §6), on a server of its own so nothing else has
//! touched its memory: `login-burst` (password logins as the admin, a few at a time, each an
//! Argon2 verification) and then `create-burst` (`users.create`, each an Argon2 hash). Each row
//! reports the server's peak RSS during the burst and its RSS after it has been idle a while
//! (`settled`): memory that a burst takes and never gives back shows up there.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use crate::cli::{RunArgs, Sizes};
use crate::client::{Http, Method, Req};
use crate::fixture::{Kind, Manifest, Plan};
use crate::report::Row;
use crate::runner::{self, Source, Spec};
use crate::scenarios::Class;
use crate::server::{self, Spawned};

pub const NAME: &str = "logins";

/// The sizes of the bursts: the 300 logins and 400 creations, 8 at a time.
struct Burst {
    logins: u64,
    creates: u64,
    concurrency: usize,
    settle: Duration,
}

impl Burst {
    fn new(tiny: bool) -> Burst {
        if tiny {
            Burst {
                logins: 16,
                creates: 16,
                concurrency: 4,
                settle: Duration::from_millis(500),
            }
        } else {
            Burst {
                logins: 300,
                creates: 400,
                concurrency: 8,
                settle: Duration::from_secs(5),
            }
        }
    }
}

/// Spawns a server on a database holding only the admin (no login rate limit: every login comes
/// from 127.0.0.1), runs both bursts and stops it.
pub async fn run(
    dir: &Path,
    args: &RunArgs,
    seeds: &mut Vec<serde_json::Value>,
) -> anyhow::Result<Vec<Row>> {
    let sub = dir.join("logins");
    std::fs::create_dir_all(&sub)?;
    let db = sub.join("huddle.db");
    let db = db
        .to_str()
        .context("work dir path is not UTF-8")?
        .to_string();
    let bin = server::huddle_bin(args.huddle_bin.as_deref());
    let sizes = Sizes::resolve(&args.sizes, true)?;
    let manifest = Manifest::generate(Kind::Main, sizes);
    let stats = crate::fixture::seed(&db, &bin, &Plan::empty(), &manifest, &|_| {}).await?;
    seeds.push(json!({ "fixture": "logins", "stats": stats }));
    let config = sub.join("huddle.toml");
    std::fs::write(&config, "login_rate_per_minute = 0\n")?;
    let spawned = server::spawn_with(&bin, &db, sub.join("server.log"), Some(&config)).await?;
    crate::say(format!(
        "spawned {} (pid {}) at {} for the login bursts, login_rate_per_minute = 0",
        bin.display(),
        spawned.pid,
        spawned.url
    ));
    let result = bursts(&spawned, &manifest, Burst::new(args.tiny)).await;
    spawned.stop().await?;
    result
}

async fn bursts(s: &Spawned, m: &Manifest, b: Burst) -> anyhow::Result<Vec<Row>> {
    let http = Http::new(&s.url, b.concurrency)?;
    let admin = http.login(&m.admin_user, &m.admin_password).await?;
    let login = Req {
        method: Method::Post,
        path: "/api/v1/login".into(),
        body: Some(json!({ "user": m.admin_user, "password": m.admin_password }).to_string()),
        creds: None,
    };
    let login_spec = spec("login-burst", b.logins, b.concurrency, move |_| {
        Some(login.clone())
    });
    let create_spec = spec("create-burst", b.creates, b.concurrency, move |k| {
        Some(Req::post(
            "/api/v1/users.create",
            json!({
                "username": format!("burst{k}"),
                "email": format!("burst{k}@example.com"),
                "name": format!("Burst {k}"),
                "password": format!("burst-password-{k}"),
            }),
            &admin,
        ))
    });
    let mut rows = vec![];
    for (spec, what) in [
        (login_spec, "password logins as one user (Argon2 verify)"),
        (create_spec, "users.create (Argon2 hash)"),
    ] {
        let per_step = server::reset_peak(s.pid);
        let o = runner::run(&http, spec).await;
        // Settled: what the burst left behind once the server has been idle a while.
        tokio::time::sleep(b.settle).await;
        let mem = server::memory(s.pid);
        let note = format!(
            "{what}, {} at a time; RSS {} after {:.1} s idle",
            b.concurrency,
            mem.map(|m| format!("{:.0} MiB", m.now_kib as f64 / 1024.0))
                .unwrap_or_else(|| "-".into()),
            b.settle.as_secs_f64()
        );
        let row = Row::new(&o, Class::Write, note, mem, per_step);
        crate::say(format!(
            "{:<22} {:>8} req {:>4} err {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  peak RSS {} settled {}",
            row.scenario,
            row.requests,
            row.errors,
            row.rps,
            row.p50_ms,
            row.p99_ms,
            row.server_peak_rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_default(),
            row.server_rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_default(),
        ));
        for e in &row.first_errors {
            crate::say(format!("  error: {e}"));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn spec(
    name: &str,
    requests: u64,
    connections: usize,
    f: impl Fn(u64) -> Option<Req> + Send + Sync + 'static,
) -> Spec {
    let f = Arc::new(f);
    Spec {
        name: name.into(),
        connections,
        duration: None,
        requests: Some(requests),
        source: Arc::new(move |_w| {
            let f = f.clone();
            Box::new(move |k| f(k)) as Source
        }),
    }
}
