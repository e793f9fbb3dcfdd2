//! The command line: where the server is, what to run, how hard, and the fixture sizes. `--tiny`
//! swaps every size for a small one so the smoke run in `scripts/test` stays well under a minute.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};

/// Every scenario, in the order a full run executes them. `members` runs before `size-scaling`
/// because size-scaling grows the member rooms it shares with it.
pub const ALL_SCENARIOS: &[&str] = &[
    "noop",
    "invite",
    "invite-bulk",
    "kick",
    "join",
    "leave",
    "members",
    "size-scaling",
    "post",
    "mixed",
    "memory",
    // Password bursts, on a server of their own.
    "logins",
    // Realtime (issue 7), on a server of their own when spawned.
    "ddp-idle",
    "fanout",
    "sustained",
    "invite-to-event",
];

#[derive(Parser, Debug)]
#[command(
    name = "huddle-bench",
    version,
    about = "Membership benchmark for Huddle: drives a running server over HTTP",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fixture seeding only: create the admin (through `huddle admin`) and write the benchmark's
    /// users, rooms, memberships and tokens straight into a SQLite database that no server has
    /// open, then write the manifest `--server-url` runs need (`--fixture`).
    Seed(SeedArgs),
    /// Cluster mode (issue 13): fan-out, sustained rate and kick latency on one node and on a
    /// cluster, in one run, on private PostgreSQL databases and a private nats-server.
    Cluster(crate::cluster::ClusterArgs),
}

#[derive(Args, Debug)]
pub struct SeedArgs {
    /// The database to seed (`sqlite://PATH`); created and migrated if missing.
    #[arg(long)]
    pub database_url: String,
    /// Where to write the fixture manifest (admin credentials, token secret, sizes).
    #[arg(long)]
    pub out: PathBuf,
    /// The `huddle` binary (default: next to this one, else `huddle` on PATH).
    #[arg(long)]
    pub huddle_bin: Option<PathBuf>,
    /// Seed the memory fixture (100,000 users, 1,000,000 memberships) instead of the main one.
    #[arg(long)]
    pub memory_fixture: bool,
    #[arg(long)]
    pub tiny: bool,
    #[command(flatten)]
    pub sizes: SizeArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A running server to measure (needs `--fixture` from `huddle-bench seed` for all scenarios
    /// but `noop`).
    #[arg(long, conflicts_with = "spawn")]
    pub server_url: Option<String>,
    /// Start a fresh Huddle on a temporary, freshly seeded SQLite database (and a second one for
    /// `memory`), so one command measures everything.
    #[arg(long)]
    pub spawn: bool,
    /// The `huddle` binary to spawn (default: next to this one, else `huddle` on PATH).
    #[arg(long)]
    pub huddle_bin: Option<PathBuf>,
    /// Pid of the `--server-url` server, to read its memory from /proc (spawned servers are known).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Fixture manifest written by `huddle-bench seed` (for `--server-url`).
    #[arg(long)]
    pub fixture: Option<PathBuf>,
    /// Comma-separated scenarios (default: all). One of: noop, invite, invite-bulk, kick, join,
    /// leave, members, size-scaling, post, mixed, memory, and the realtime ddp-idle, fanout,
    /// sustained, invite-to-event.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Concurrent connections (one in-flight request each).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Seconds each timed scenario runs.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop each timed scenario after this many requests (whichever comes first with --duration).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Also measure the bare limits server (`/work/shared/bench/limits`, `GET /noop`,
    /// `POST /insert`) at this URL with the same client, for Huddle/limits ratios.
    #[arg(long)]
    pub limits_url: Option<String>,
    /// Pid of the limits server, to read its memory per idle WebSocket from /proc.
    #[arg(long)]
    pub limits_pid: Option<u32>,
    /// Write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Small sizes and short runs: the smoke test.
    #[arg(long)]
    pub tiny: bool,
    /// Directory for the spawned servers' databases and logs (default: a temporary directory,
    /// removed at the end unless --keep). Put it on the disk you want fsync measured on.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Keep the temporary directory (databases, server logs).
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub sizes: SizeArgs,
    #[command(flatten)]
    pub realtime: crate::realtime::RtArgs,
}

/// Fixture knobs; each unset one takes its full-run or `--tiny` default.
#[derive(Args, Debug, Clone, Default)]
pub struct SizeArgs {
    /// Room sizes for `members` (the smallest and largest also serve `size-scaling`).
    #[arg(long, value_delimiter = ',')]
    pub room_sizes: Vec<u64>,
    /// User counts for `invite-bulk` (one groups.invite each).
    #[arg(long, value_delimiter = ',')]
    pub bulk_sizes: Vec<u64>,
    /// Requests per bulk size (each into a fresh group).
    #[arg(long)]
    pub bulk_repeats: Option<u64>,
    /// Users beyond the largest room, invited by `size-scaling`.
    #[arg(long)]
    pub pool: Option<u64>,
    /// Rooms per write scenario (invite, kick, join, leave, mixed).
    #[arg(long)]
    pub write_rooms: Option<u64>,
    /// Seeded members of each kick and leave room.
    #[arg(long)]
    pub write_members: Option<u64>,
    /// Users given a login token (join, leave, post and mixed act as them).
    #[arg(long)]
    pub token_users: Option<u64>,
    /// Members of the room `post` writes to.
    #[arg(long)]
    pub post_room_size: Option<u64>,
    /// Users of the memory fixture.
    #[arg(long)]
    pub memory_users: Option<u64>,
    /// Memberships of the memory fixture (rooms of `memory_users` members each).
    #[arg(long)]
    pub memory_memberships: Option<u64>,
}

/// The sizes in force after defaults. Stored in the fixture manifest: the fixture's layout is a
/// pure function of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sizes {
    pub room_sizes: Vec<u64>,
    pub bulk_sizes: Vec<u64>,
    pub bulk_repeats: u64,
    pub pool: u64,
    pub write_rooms: u64,
    pub write_members: u64,
    pub token_users: u64,
    pub post_room_size: u64,
    pub memory_users: u64,
    pub memory_memberships: u64,
}

impl Sizes {
    pub fn full() -> Self {
        Sizes {
            room_sizes: vec![10, 10_000, 1_000_000],
            bulk_sizes: vec![1_000, 10_000],
            bulk_repeats: 5,
            pool: 200_000,
            write_rooms: 100,
            write_members: 2_000,
            token_users: 10_000,
            post_room_size: 1_000,
            memory_users: 100_000,
            memory_memberships: 1_000_000,
        }
    }

    pub fn tiny() -> Self {
        Sizes {
            room_sizes: vec![10, 100, 1_000],
            bulk_sizes: vec![10, 100],
            bulk_repeats: 2,
            pool: 1_000,
            write_rooms: 4,
            write_members: 50,
            token_users: 200,
            post_room_size: 20,
            memory_users: 500,
            memory_memberships: 2_000,
        }
    }

    /// Defaults (full or tiny) overridden by whatever was given, with the invariants the
    /// scenarios rely on enforced.
    pub fn resolve(args: &SizeArgs, tiny: bool) -> anyhow::Result<Self> {
        let base = if tiny { Sizes::tiny() } else { Sizes::full() };
        let pick = |given: &[u64], default: Vec<u64>| {
            if given.is_empty() {
                default
            } else {
                given.to_vec()
            }
        };
        let mut room_sizes = pick(&args.room_sizes, base.room_sizes);
        room_sizes.sort_unstable();
        room_sizes.dedup();
        let s = Sizes {
            room_sizes,
            bulk_sizes: pick(&args.bulk_sizes, base.bulk_sizes),
            bulk_repeats: args.bulk_repeats.unwrap_or(base.bulk_repeats).max(1),
            pool: args.pool.unwrap_or(base.pool).max(1),
            write_rooms: args.write_rooms.unwrap_or(base.write_rooms).max(1),
            write_members: args.write_members.unwrap_or(base.write_members).max(1),
            token_users: args.token_users.unwrap_or(base.token_users).max(1),
            post_room_size: args.post_room_size.unwrap_or(base.post_room_size).max(1),
            memory_users: args.memory_users.unwrap_or(base.memory_users).max(1),
            memory_memberships: args
                .memory_memberships
                .unwrap_or(base.memory_memberships)
                .max(1),
        };
        if s.room_sizes.contains(&0) || s.bulk_sizes.contains(&0) {
            anyhow::bail!("room and bulk sizes must be positive");
        }
        if s.bulk_sizes.iter().any(|&n| n > 10_000) {
            anyhow::bail!("Huddle caps one invite at 10,000 users (max_invite)");
        }
        Ok(s)
    }
}

/// How hard and how long: connections, seconds, request cap.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub connections: usize,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub requests: Option<u64>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Load {
    pub fn resolve(args: &RunArgs) -> anyhow::Result<Self> {
        let (c, d, r) = if args.tiny {
            (8, 2.0, Some(100))
        } else {
            (64, 10.0, None)
        };
        let duration = args.duration.unwrap_or(d);
        if !(duration > 0.0 && duration.is_finite()) {
            anyhow::bail!("--duration must be a positive number of seconds");
        }
        Ok(Load {
            connections: args.connections.unwrap_or(c).max(1),
            duration: Duration::from_secs_f64(duration),
            requests: args.requests.or(r),
        })
    }
}

/// The scenarios asked for, validated and in run order.
pub fn scenarios(asked: &[String]) -> anyhow::Result<Vec<&'static str>> {
    if asked.is_empty() {
        return Ok(ALL_SCENARIOS.to_vec());
    }
    for a in asked {
        if !ALL_SCENARIOS.contains(&a.as_str()) {
            anyhow::bail!(
                "unknown scenario {a:?}; known: {}",
                ALL_SCENARIOS.join(", ")
            );
        }
    }
    Ok(ALL_SCENARIOS
        .iter()
        .copied()
        .filter(|s| asked.iter().any(|a| a == s))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_run_in_canonical_order() {
        let asked = vec!["size-scaling".to_string(), "members".to_string()];
        assert_eq!(
            scenarios(&asked).unwrap_or_default(),
            vec!["members", "size-scaling"]
        );
        assert!(scenarios(&["nope".to_string()]).is_err());
    }

    #[test]
    fn bulk_sizes_respect_the_server_cap() {
        let args = SizeArgs {
            bulk_sizes: vec![20_000],
            ..Default::default()
        };
        assert!(Sizes::resolve(&args, false).is_err());
        let tiny = Sizes::resolve(&SizeArgs::default(), true).unwrap_or_else(|_| Sizes::tiny());
        assert_eq!(tiny, Sizes::tiny());
    }
}
