//! `huddle-bench`: the membership benchmark of issue #4. Seeds a fixture (or reads the manifest of
//! one seeded earlier), drives a Huddle server over HTTP with many concurrent connections, and
//! prints a table (and JSON) of throughput, latency percentiles and server memory per scenario,
//! with ratios to the no-op and to the bare limits server measured in the same run.

mod bursts;
mod cli;
mod client;
mod cluster;
mod fixture;
mod realtime;
mod report;
mod runner;
mod scenarios;
mod server;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::json;

use cli::{Cli, Command, Load, RunArgs, SeedArgs, Sizes};
use client::{Creds, Http};
use fixture::{Kind, Manifest, Plan, SeedStats};
use report::Row;
use scenarios::Ctx;
use server::Spawned;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Seed(args)) => seed_command(args).await.map(|_| ExitCode::SUCCESS),
        Some(Command::Cluster(args)) => cluster::run(args).await.map(|_| ExitCode::SUCCESS),
        None => run(cli.run).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("huddle-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn say(msg: String) {
    eprintln!("huddle-bench: {msg}");
}

async fn seed_command(args: SeedArgs) -> anyhow::Result<()> {
    let sizes = Sizes::resolve(&args.sizes, args.tiny)?;
    let kind = if args.memory_fixture {
        Kind::Memory
    } else {
        Kind::Main
    };
    let manifest = Manifest::generate(kind, sizes.clone());
    let plan = Plan::new(kind, &sizes);
    let path = fixture::sqlite_path(&args.database_url)?;
    let bin = server::huddle_bin(args.huddle_bin.as_deref());
    let stats = seed_with_spinner(&path, &bin, &plan, &manifest).await?;
    manifest.save(&args.out)?;
    say(format!(
        "seeded {} users, {} memberships in {} rooms in {:.1} s; manifest: {} (start the server on this database, then run with --server-url URL --fixture {})",
        stats.users,
        stats.memberships,
        stats.rooms,
        stats.seconds,
        args.out.display(),
        args.out.display()
    ));
    Ok(())
}

async fn seed_with_spinner(
    db_path: &str,
    bin: &Path,
    plan: &Plan,
    manifest: &Manifest,
) -> anyhow::Result<SeedStats> {
    let bar = runner::spinner("fixture seeding");
    let b = bar.clone();
    let stats = fixture::seed(db_path, bin, plan, manifest, &move |m| b.set_message(m)).await;
    bar.finish_and_clear();
    stats
}

/// A server being measured: spawned by us, or given by URL.
struct Target {
    http: Http,
    pid: Option<u32>,
    spawned: Option<Spawned>,
    manifest: Option<Manifest>,
}

/// Seeds a fresh database of `kind` in `dir` and starts `huddle serve` on it.
async fn spawn_target(
    dir: &Path,
    kind: Kind,
    plan: &Plan,
    sizes: &Sizes,
    args: &RunArgs,
    load: &Load,
    seeds: &mut Vec<serde_json::Value>,
) -> anyhow::Result<Target> {
    let sub = dir.join(match kind {
        Kind::Main => "main",
        Kind::Memory => "memory",
    });
    std::fs::create_dir_all(&sub)?;
    let db = sub.join("huddle.db");
    let db = db
        .to_str()
        .context("work dir path is not UTF-8")?
        .to_string();
    let bin = server::huddle_bin(args.huddle_bin.as_deref());
    let manifest = Manifest::generate(kind, sizes.clone());
    let stats = seed_with_spinner(&db, &bin, plan, &manifest).await?;
    say(format!(
        "fixture {kind:?}: {} users, {} memberships, {} rooms seeded in {:.1} s",
        stats.users, stats.memberships, stats.rooms, stats.seconds
    ));
    seeds.push(json!({ "fixture": kind, "stats": stats }));
    let spawned = server::spawn(&bin, &db, sub.join("server.log")).await?;
    say(format!(
        "spawned {} (pid {}) at {}",
        bin.display(),
        spawned.pid,
        spawned.url
    ));
    Ok(Target {
        http: Http::new(&spawned.url, load.connections)?,
        pid: Some(spawned.pid),
        spawned: Some(spawned),
        manifest: Some(manifest),
    })
}

async fn context(t: &Target, kind: Kind, plan: Plan, load: &Load) -> anyhow::Result<Option<Ctx>> {
    let Some(m) = &t.manifest else {
        return Ok(None);
    };
    if m.kind != kind {
        return Ok(None);
    }
    let admin = t.http.login(&m.admin_user, &m.admin_password).await?;
    let tokens = (1..=plan.token_users)
        .map(|i| Creds::new(&fixture::user_id(i), &fixture::token(&m.token_secret, i)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(Ctx {
        admin,
        tokens: Arc::new(tokens),
        sizes: m.sizes.clone(),
        plan,
        load: load.clone(),
    }))
}

/// Runs the steps of `names` against `t`, one row each.
async fn measure(
    t: &mut Target,
    ctx: Option<&Ctx>,
    load: &Load,
    names: &[&str],
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    for &name in names {
        let steps = match (name, ctx) {
            // The no-op needs no fixture.
            ("noop", _) => scenarios::noop(load),
            (_, Some(ctx)) => scenarios::steps(name, ctx),
            (_, None) => {
                say(format!(
                    "{name}: skipped (needs a fixture manifest of the right kind: --fixture)"
                ));
                continue;
            }
        };
        for step in steps {
            // The memory target is about the whole life of a server holding the data, so its
            // peak is not reset; every other step reports its own.
            let per_step = name != "memory" && t.pid.is_some_and(server::reset_peak);
            let cpu_before = t.pid.and_then(server::cpu_seconds);
            let o = runner::run(&t.http, step.spec).await;
            let cpu_after = t.pid.and_then(server::cpu_seconds);
            let mem = t.pid.and_then(server::memory);
            let mut row = Row::new(&o, step.class, step.note, mem, per_step);
            if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
                row.set_server_cpu(b - a);
            }
            say(format!(
                "{:<22} {:>8} req {:>4} err {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms{}",
                row.scenario,
                row.requests,
                row.errors,
                row.rps,
                row.p50_ms,
                row.p99_ms,
                row.max_ms,
                row.server_peak_rss_mib
                    .map(|m| format!("  peak RSS {m:.0} MiB"))
                    .unwrap_or_default()
                    + &row
                        .server_cpu_us_per_request
                        .map(|c| format!("  server CPU {c:.0} µs/req"))
                        .unwrap_or_default()
            ));
            for e in &row.first_errors {
                say(format!("  error: {e}"));
            }
            rows.push(row);
            if let Some(s) = t.spawned.as_mut() {
                if let Some(why) = s.exited() {
                    bail!("the server exited during {name}: {why}");
                }
            }
        }
    }
    Ok(())
}

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    if !args.spawn && args.server_url.is_none() {
        bail!("give --spawn (start a fresh server) or --server-url URL");
    }
    let sizes = Sizes::resolve(&args.sizes, args.tiny)?;
    let load = Load::resolve(&args)?;
    let names = cli::scenarios(&args.scenarios)?;
    let started = chrono::Local::now();
    let load_before = loadavg();
    let mut rows: Vec<Row> = vec![];
    let mut seeds = vec![];

    let http_scenarios = names.iter().any(|n| !realtime::SCENARIOS.contains(n));
    if let (Some(url), true) = (&args.limits_url, http_scenarios) {
        let http = Http::new(url, load.connections)?;
        let mut t = Target {
            http,
            pid: None,
            spawned: None,
            manifest: None,
        };
        for step in scenarios::limits(&load) {
            let o = runner::run(&t.http, step.spec).await;
            let row = Row::new(&o, step.class, step.note, None, false);
            say(format!(
                "{:<22} {:>8} req {:>4} err {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
                row.scenario, row.requests, row.errors, row.rps, row.p50_ms, row.p99_ms
            ));
            rows.push(row);
        }
        t.spawned = None;
    }

    let rt_names: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| realtime::SCENARIOS.contains(n))
        .collect();
    if !rt_names.is_empty() {
        match realtime::raise_nofile() {
            Some(n) => say(format!("open-files limit: {n}")),
            None => {
                say("could not raise the open-files limit (ddp-idle may run out of sockets)".into())
            }
        }
    }
    let mut rt_rows: Vec<realtime::RtRow> = vec![];
    let mut rt_load = None;
    let main_names: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| *n != "memory" && *n != bursts::NAME && !realtime::SCENARIOS.contains(n))
        .collect();
    let wants_memory = names.contains(&"memory");
    let wants_bursts = names.contains(&bursts::NAME);
    let work = work_dir(&args)?;

    if args.spawn {
        if !main_names.is_empty() {
            let needs_fixture = main_names.iter().any(|n| *n != "noop");
            let plan = if needs_fixture {
                Plan::new(Kind::Main, &sizes)
            } else {
                Plan::empty()
            };
            let mut t = spawn_target(
                work.path(),
                Kind::Main,
                &plan,
                &sizes,
                &args,
                &load,
                &mut seeds,
            )
            .await?;
            let ctx = context(&t, Kind::Main, plan, &load).await?;
            let result = measure(&mut t, ctx.as_ref(), &load, &main_names, &mut rows).await;
            if let Some(s) = t.spawned.take() {
                s.stop().await?;
            }
            result?;
        }
        if wants_memory {
            let plan = Plan::new(Kind::Memory, &sizes);
            let mut t = spawn_target(
                work.path(),
                Kind::Memory,
                &plan,
                &sizes,
                &args,
                &load,
                &mut seeds,
            )
            .await?;
            let ctx = context(&t, Kind::Memory, plan, &load).await?;
            let result = measure(&mut t, ctx.as_ref(), &load, &["memory"], &mut rows).await;
            if let Some(s) = t.spawned.take() {
                s.stop().await?;
            }
            result?;
        }
        if wants_bursts {
            rows.extend(bursts::run(work.path(), &args, &mut seeds).await?);
        }
        if !rt_names.is_empty() {
            let rl = realtime::RtLoad::resolve(&args.realtime, args.tiny, sizes.post_room_size);
            let (env, spawned) = spawn_realtime(work.path(), &rl, &args, &mut seeds).await?;
            let result = realtime::run(&env, &rt_names, &rl, limits_of(&args).as_ref()).await;
            spawned.stop().await?;
            rt_rows = result?;
            rt_load = Some(rl);
        }
    } else if let Some(url) = &args.server_url {
        let manifest = match &args.fixture {
            Some(p) => Some(Manifest::load(p)?),
            None => None,
        };
        let kind = manifest.as_ref().map(|m| m.kind).unwrap_or(Kind::Main);
        let plan = manifest
            .as_ref()
            .map(|m| Plan::new(m.kind, &m.sizes))
            .unwrap_or_else(Plan::empty);
        let mut t = Target {
            http: Http::new(url, load.connections)?,
            pid: args.server_pid,
            spawned: None,
            manifest,
        };
        let ctx = context(&t, kind, plan, &load).await?;
        let names: Vec<&str> = match kind {
            Kind::Main => main_names.clone(),
            // A memory-fixture database has none of the main fixture's rooms.
            Kind::Memory => names
                .iter()
                .copied()
                .filter(|n| matches!(*n, "noop" | "memory"))
                .collect(),
        };
        if wants_bursts {
            say("logins: skipped (needs --spawn: it measures a server of its own)".into());
        }
        if kind == Kind::Main && wants_memory {
            say("memory: skipped (needs --spawn, or a server on a `seed --memory-fixture` database)".into());
        }
        measure(&mut t, ctx.as_ref(), &load, &names, &mut rows).await?;
        if !rt_names.is_empty() {
            match (&t.manifest, &ctx) {
                (Some(m), Some(ctx)) if m.kind == Kind::Main => {
                    let rl = realtime::RtLoad::resolve(
                        &args.realtime,
                        args.tiny,
                        m.sizes.post_room_size,
                    );
                    let env = realtime::Env {
                        http: t.http.clone(),
                        base: url.clone(),
                        pid: t.pid,
                        admin: ctx.admin.clone(),
                        token_secret: m.token_secret.clone(),
                        token_users: m.sizes.token_users as usize,
                    };
                    rt_rows =
                        realtime::run(&env, &rt_names, &rl, limits_of(&args).as_ref()).await?;
                    rt_load = Some(rl);
                }
                _ => say("realtime: skipped (needs --fixture with a main-fixture manifest)".into()),
            }
        }
    }

    report::add_ratios(&mut rows);
    let full_size = !args.tiny && sizes == Sizes::full();
    let targets = report::targets(&rows, full_size, load.connections);
    if !rows.is_empty() {
        println!("\n{}", report::table(&rows));
        println!("Targets (issue #4; judged only at full size and 64 connections):");
        println!("{}", report::targets_table(&targets));
    }
    if !rt_rows.is_empty() {
        println!("\nRealtime (issue 7; the targets are for full size: 10,000 idle, 1,000 members, 100/s):");
        println!("{}", realtime::table(&rt_rows));
    }
    let rt_errors: usize = rt_rows.iter().map(|r| r.errors()).sum();
    let errors: u64 = rows.iter().map(|r| r.errors).sum::<u64>() + rt_errors as u64;
    if let Some(path) = &args.json {
        let doc = json!({
            "date": started.to_rfc3339(),
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "machine": {
                "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "loadavg_before": load_before,
                "loadavg_after": loadavg(),
            },
            "load": load,
            "sizes": sizes,
            "seeding": seeds,
            "server_url": args.server_url,
            "limits_url": args.limits_url,
            "rows": rows,
            "targets": targets,
            "realtime_load": rt_load,
            "realtime": rt_rows,
            "errors": errors,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
        say(format!("results written to {}", path.display()));
    }
    if let Some(kept) = work.keep(args.keep) {
        say(format!(
            "kept databases and server logs in {}",
            kept.display()
        ));
    }
    if errors > 0 {
        say(format!("{errors} requests failed"));
        return Ok(ExitCode::FAILURE);
    }
    // At tiny sizes nothing is under load: a lost delivery there is a bug, not a missed target.
    if args.tiny && rt_rows.iter().any(|r| !r.lossless()) {
        say("realtime: a message did not reach every socket exactly once".into());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn limits_of(args: &RunArgs) -> Option<realtime::Limits> {
    args.limits_url.as_ref().map(|u| realtime::Limits {
        base: u.clone(),
        pid: args.limits_pid,
    })
}

/// Seeds a small main fixture for the realtime scenarios (token users for every socket, the
/// fan-out room, none of the big rooms) and spawns a server on it configured for them: room for
/// the `ddp-idle` sockets beside the accept loop's default cap of 10,000, and no login rate
/// limit (every socket logs in from 127.0.0.1).
async fn spawn_realtime(
    dir: &Path,
    rl: &realtime::RtLoad,
    args: &RunArgs,
    seeds: &mut Vec<serde_json::Value>,
) -> anyhow::Result<(realtime::Env, Spawned)> {
    let sub = dir.join("realtime");
    std::fs::create_dir_all(&sub)?;
    let sizes = Sizes {
        room_sizes: vec![10],
        bulk_sizes: vec![10],
        bulk_repeats: 1,
        pool: 10,
        write_rooms: 1,
        write_members: 10,
        token_users: rl.token_users(),
        post_room_size: rl.members as u64,
        memory_users: 1,
        memory_memberships: 1,
    };
    let plan = Plan::new(Kind::Main, &sizes);
    let db = sub.join("huddle.db");
    let db = db
        .to_str()
        .context("work dir path is not UTF-8")?
        .to_string();
    let bin = server::huddle_bin(args.huddle_bin.as_deref());
    let manifest = Manifest::generate(Kind::Main, sizes.clone());
    let stats = seed_with_spinner(&db, &bin, &plan, &manifest).await?;
    say(format!(
        "realtime fixture: {} users ({} with tokens), fan-out room of {} seeded in {:.1} s",
        stats.users, sizes.token_users, rl.members, stats.seconds
    ));
    seeds.push(json!({ "fixture": "realtime", "stats": stats }));
    let config = sub.join("huddle.toml");
    let cap = rl.connections + rl.members + rl.invitees() + 1_000;
    std::fs::write(
        &config,
        format!(
            "max_connections = {cap}\nlogin_rate_per_minute = 0\nresume_login_rate_per_minute = 0\n{}\n",
            server::NO_MESSAGE_RATE_LIMIT
        ),
    )?;
    let spawned = server::spawn_with(&bin, &db, sub.join("server.log"), Some(&config)).await?;
    say(format!(
        "spawned {} (pid {}) at {} with max_connections = {cap}, login limits off (password and resume)",
        bin.display(),
        spawned.pid,
        spawned.url
    ));
    let http = Http::new(&spawned.url, 64)?;
    let admin = http
        .login(&manifest.admin_user, &manifest.admin_password)
        .await?;
    let env = realtime::Env {
        http,
        base: spawned.url.clone(),
        pid: Some(spawned.pid),
        admin,
        token_secret: manifest.token_secret.clone(),
        token_users: sizes.token_users as usize,
    };
    Ok((env, spawned))
}

/// The directory spawned servers keep their databases and logs in.
struct WorkDir {
    dir: tempfile::TempDir,
}

impl WorkDir {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn keep(self, keep: bool) -> Option<PathBuf> {
        keep.then(|| self.dir.keep())
    }
}

fn work_dir(args: &RunArgs) -> anyhow::Result<WorkDir> {
    let mut b = tempfile::Builder::new();
    b.prefix("huddle-bench-");
    let dir = match &args.work_dir {
        Some(p) => {
            std::fs::create_dir_all(p)?;
            b.tempdir_in(p)?
        }
        None => b.tempdir()?,
    };
    Ok(WorkDir { dir })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
