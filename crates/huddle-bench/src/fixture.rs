//! Fixture seeding: the users, rooms, memberships and login tokens the scenarios act on, written
//! set-wise into the server's SQLite file *before* the server starts. Creating a million
//! memberships and a hundred thousand Argon2-hashed users through the REST API would take hours
//! and is not what is measured; every measured operation goes through HTTP.
//!
//! The admin is created by the real `huddle admin create-user`, which also migrates the file and
//! writes the defaults (roles, permissions, settings, `general`), so the seeded rows sit in exactly
//! the server's schema (`crates/huddle-store/migrations/sqlite`). The layout is a pure function of
//! [`Sizes`]: ids, usernames and room ids are derived from numbers, so the load generator knows
//! them without reading the database back.

use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

use crate::cli::Sizes;

/// The write scenarios that get their own rooms (`write_rooms` each).
pub const WRITE_KINDS: &[&str] = &["inv", "kick", "join", "leave", "mix"];

pub fn user_id(i: u64) -> String {
    format!("bu{i:07}")
}

/// A member room of `members` users, for `members` and `size-scaling`.
pub fn member_room(members: u64) -> String {
    format!("m{members}")
}

pub fn write_room(kind: &str, i: u64) -> String {
    format!("{kind}-{i:03}")
}

pub fn bulk_group(size: u64, rep: u64) -> String {
    format!("bulk-{size}-{rep}")
}

pub fn memory_room(i: u64) -> String {
    format!("mem-{i}")
}

/// The room whose whole member list (`count=0`) `members-all` reads: a list as a client
/// fetches it for a mid-sized room, never written by any scenario.
pub const WHOLE_LIST_ROOM: &str = "all-members";
pub const WHOLE_LIST_SIZE: u64 = 2_000;

pub const POST_ROOM: &str = "post";
/// The small room `post` is compared with: posting must cost the same whatever the room's size.
pub const POST_ROOM_SMALL: &str = "post-10";
pub const POST_ROOM_SMALL_SIZE: u64 = 10;

/// A seeded login token of user `i`. Stored hashed, as the server stores its own.
pub fn token(secret: &str, i: u64) -> String {
    format!("bench-{secret}-{i}")
}

/// Which fixture a database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Everything but `memory`: a 1,000,000-member room and the rooms of each write scenario.
    Main,
    /// The memory target's data: `memory_users` users in rooms totalling `memory_memberships`.
    Memory,
}

/// One room and its members: users `1..=members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSpec {
    pub id: String,
    /// `c` public channel or `p` private group.
    pub t: &'static str,
    pub members: u64,
    /// The admin is a member with the `owner` room role, as the creator of a room is. Private
    /// groups need it: `groups.invite` is allowed to members holding `add-user-to-joined-room`.
    pub admin_owner: bool,
}

/// What one fixture holds.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Users `1..=users`.
    pub users: u64,
    /// Users `1..=token_users` have a seeded login token.
    pub token_users: u64,
    /// First user who is in no member room (`size-scaling` invites from here on).
    pub pool_start: u64,
    pub rooms: Vec<RoomSpec>,
}

impl Plan {
    pub fn new(kind: Kind, s: &Sizes) -> Plan {
        match kind {
            Kind::Main => Plan::main(s),
            Kind::Memory => Plan::memory(s),
        }
    }

    /// No users or rooms: only the admin (for a no-op-only run).
    pub fn empty() -> Plan {
        Plan {
            users: 0,
            token_users: 0,
            pool_start: 1,
            rooms: vec![],
        }
    }

    fn main(s: &Sizes) -> Plan {
        let largest = s.room_sizes.iter().copied().max().unwrap_or(1);
        let bulk = s.bulk_sizes.iter().copied().max().unwrap_or(1);
        // Every range a scenario draws users from must exist below the pool.
        let seeded = largest
            .max(s.post_room_size)
            .max(s.write_members)
            .max(s.token_users)
            .max(bulk);
        let mut rooms: Vec<RoomSpec> = s
            .room_sizes
            .iter()
            .map(|&n| RoomSpec {
                id: member_room(n),
                t: "c",
                members: n,
                admin_owner: false,
            })
            .collect();
        rooms.push(RoomSpec {
            id: WHOLE_LIST_ROOM.into(),
            t: "c",
            members: WHOLE_LIST_SIZE.min(seeded),
            admin_owner: false,
        });
        rooms.push(RoomSpec {
            id: POST_ROOM.into(),
            t: "c",
            members: s.post_room_size,
            admin_owner: false,
        });
        rooms.push(RoomSpec {
            id: POST_ROOM_SMALL.into(),
            t: "c",
            members: POST_ROOM_SMALL_SIZE.min(s.post_room_size),
            admin_owner: false,
        });
        for kind in WRITE_KINDS {
            let members = match *kind {
                "kick" => s.write_members,
                // Leavers act as themselves, so only token holders are seeded there.
                "leave" => s.write_members.min(s.token_users),
                _ => 0,
            };
            for i in 0..s.write_rooms {
                rooms.push(RoomSpec {
                    id: write_room(kind, i),
                    t: "c",
                    members,
                    admin_owner: false,
                });
            }
        }
        for &size in &s.bulk_sizes {
            for rep in 0..s.bulk_repeats {
                rooms.push(RoomSpec {
                    id: bulk_group(size, rep),
                    t: "p",
                    members: 0,
                    admin_owner: true,
                });
            }
        }
        Plan {
            users: seeded + s.pool,
            token_users: s.token_users,
            pool_start: seeded + 1,
            rooms,
        }
    }

    fn memory(s: &Sizes) -> Plan {
        let users = s.memory_users;
        let room_count = s.memory_memberships.div_ceil(users).max(1);
        let mut left = s.memory_memberships;
        let rooms = (0..room_count)
            .map(|i| {
                let members = left.min(users);
                left -= members;
                RoomSpec {
                    id: memory_room(i),
                    t: "c",
                    members,
                    admin_owner: false,
                }
            })
            .collect();
        Plan {
            users,
            token_users: s.token_users.min(users),
            pool_start: users + 1,
            rooms,
        }
    }

    pub fn memberships(&self) -> u64 {
        self.rooms
            .iter()
            .map(|r| r.members + u64::from(r.admin_owner))
            .sum()
    }
}

/// What `--server-url` runs need to know about a database seeded earlier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: Kind,
    pub admin_user: String,
    pub admin_password: String,
    pub token_secret: String,
    pub sizes: Sizes,
}

impl Manifest {
    pub fn generate(kind: Kind, sizes: Sizes) -> Manifest {
        Manifest {
            kind,
            admin_user: "bench-admin".into(),
            admin_password: random_text(24),
            token_secret: random_text(16),
            sizes,
        }
    }

    pub fn load(path: &Path) -> anyhow::Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading fixture manifest {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }
}

fn random_text(n: usize) -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), n)
}

/// How long seeding took, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct SeedStats {
    pub users: u64,
    pub memberships: u64,
    pub rooms: usize,
    pub seconds: f64,
}

/// `sqlite://PATH` or `sqlite:PATH` → PATH.
pub fn sqlite_path(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("fixture seeding writes SQLite only: want a sqlite:// URL")?;
    Ok(rest.split('?').next().unwrap_or(rest).to_string())
}

/// Creates the admin with the real CLI (migrating the file), then seeds `plan`.
pub async fn seed(
    db_path: &str,
    huddle_bin: &Path,
    plan: &Plan,
    manifest: &Manifest,
    say: &dyn Fn(String),
) -> anyhow::Result<SeedStats> {
    let started = Instant::now();
    say("creating the admin with `huddle admin create-user`".into());
    let out = tokio::process::Command::new(huddle_bin)
        .args(["admin", "--database-url"])
        .arg(format!("sqlite://{db_path}"))
        .args(["create-user", "--username", &manifest.admin_user])
        .args([
            "--password",
            &manifest.admin_password,
            "--roles",
            "admin,user",
        ])
        .env("HUDDLE_LOG", "warn")
        .output()
        .await
        .with_context(|| format!("running {}", huddle_bin.display()))?;
    if !out.status.success() {
        bail!(
            "`huddle admin create-user` failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut db = SqliteConnectOptions::from_str(&format!("sqlite://{db_path}"))?
        .journal_mode(SqliteJournalMode::Wal)
        // Seeding is not the measured write path: nothing here needs to survive a power cut,
        // and the file is checkpointed and synced once at the end.
        .synchronous(SqliteSynchronous::Off)
        .pragma("cache_size", "-262144")
        .disable_statement_logging()
        .connect()
        .await
        .context("opening the database to seed")?;
    let admin: (String, String) =
        sqlx::query_as("SELECT id, username FROM users WHERE username_lower = $1")
            .bind(manifest.admin_user.to_lowercase())
            .fetch_one(&mut db)
            .await
            .context("reading back the admin")?;
    let now = chrono::Utc::now().timestamp_millis();

    // The series below always yields its first row, so an empty plan must skip it.
    if plan.users > 0 {
        say(format!("seeding {} users", plan.users));
        let mut tx = db.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO users (id, username, username_lower, name, email_verified, roles, active, kind, \
             status, status_text, custom, created_at, updated_at) \
             SELECT 'bu' || printf('%07d', x), 'bench' || printf('%07d', x), 'bench' || printf('%07d', x), \
             'Bench User ' || x, 1, '[\"user\"]', 1, 'user', 'offline', '', '{{}}', $2, $2 FROM ({})",
            series()
        ))
        .bind(plan.users as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("seeding users")?;
        // The store keeps global roles twice (JSON list + searchable rows); so does the fixture.
        sqlx::query(&format!(
            "INSERT INTO user_roles (user_id, role) SELECT 'bu' || printf('%07d', x), 'user' FROM ({})",
            series()
        ))
        .bind(plan.users as i64)
        .execute(&mut *tx)
        .await
        .context("seeding user roles")?;
        tx.commit().await?;
    }

    say(format!("seeding {} login tokens", plan.token_users));
    let mut tx = db.begin().await?;
    let ids: Vec<u64> = (1..=plan.token_users).collect();
    for chunk in ids.chunks(500) {
        let values = vec!["(?, ?, 'session', NULL, ?, 0, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO login_tokens (hashed, user_id, kind, name, last_part, bypass_two_factor, created_at) VALUES {values}"
        );
        let mut q = sqlx::query(&sql);
        for &i in chunk {
            let t = token(&manifest.token_secret, i);
            let last = t[t.len().saturating_sub(6)..].to_string();
            q = q
                .bind(huddle_core::ids::hash_token(&t))
                .bind(user_id(i))
                .bind(last)
                .bind(now);
        }
        q.execute(&mut *tx).await.context("seeding tokens")?;
    }
    tx.commit().await?;

    say(format!(
        "seeding {} rooms and {} memberships",
        plan.rooms.len(),
        plan.memberships()
    ));
    let room_sql = "INSERT INTO rooms (id, t, name, fname, creator_id, creator_username, creator_name, \
                    users_count, created_at, updated_at) VALUES ($1, $2, $3, $3, $4, $5, $5, $6, $7, $7)";
    let owner_sql = "INSERT INTO subscriptions (id, rid, uid, u_username, u_name, t, name, fname, ts, open, \
                     alert, unread, user_mentions, group_mentions, roles, access, notify, updated_at) \
                     VALUES ($1, $2, $3, $4, $4, $5, $6, $6, $7, 1, 0, 0, 0, 0, '[\"owner\"]', 'ReadWrite', 'true', $7)";
    let sub_sql = format!(
        "INSERT INTO subscriptions (id, rid, uid, u_username, u_name, t, name, fname, ts, open, alert, \
         unread, user_mentions, group_mentions, roles, access, notify, updated_at) \
         SELECT $1 || printf('%07d', x), $2, 'bu' || printf('%07d', x), 'bench' || printf('%07d', x), \
         'Bench User ' || x, $3, $4, $4, $5, 1, 0, 0, 0, 0, '[]', 'ReadWrite', 'true', $5 FROM ({})",
        series_from(6)
    );
    for room in &plan.rooms {
        let mut tx = db.begin().await?;
        let name = format!("bench-{}", room.id);
        sqlx::query(room_sql)
            .bind(&room.id)
            .bind(room.t)
            .bind(&name)
            .bind(&admin.0)
            .bind(&admin.1)
            .bind((room.members + u64::from(room.admin_owner)) as i64)
            .bind(now)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seeding room {}", room.id))?;
        if room.admin_owner {
            sqlx::query(owner_sql)
                .bind(format!("bs-{}-owner", room.id))
                .bind(&room.id)
                .bind(&admin.0)
                .bind(&admin.1)
                .bind(room.t)
                .bind(&name)
                .bind(now)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("seeding the owner of {}", room.id))?;
        }
        if room.members > 0 {
            sqlx::query(&sub_sql)
                .bind(format!("bs-{}-", room.id))
                .bind(&room.id)
                .bind(room.t)
                .bind(&name)
                .bind(now)
                .bind(room.members as i64)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("seeding members of {}", room.id))?;
        }
        tx.commit().await?;
    }
    say("checkpointing".into());
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut db)
        .await?;
    db.close().await?;
    Ok(SeedStats {
        users: plan.users,
        memberships: plan.memberships(),
        rooms: plan.rooms.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `x` = 1..=$1, as a subquery.
fn series() -> String {
    series_from(1)
}

fn series_from(param: usize) -> String {
    format!(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${param}) SELECT x FROM c"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_plan_keeps_the_pool_out_of_every_room() {
        let s = Sizes::tiny();
        let plan = Plan::new(Kind::Main, &s);
        let most = plan.rooms.iter().map(|r| r.members).max().unwrap_or(0);
        assert!(plan.pool_start > most);
        assert_eq!(plan.users, plan.pool_start - 1 + s.pool);
        assert!(plan.rooms.iter().any(|r| r.id == member_room(1_000)));
        let whole = plan.rooms.iter().find(|r| r.id == WHOLE_LIST_ROOM);
        assert!(whole.is_some_and(|r| r.members > 0 && r.members < plan.pool_start));
        assert_eq!(
            plan.rooms
                .iter()
                .filter(|r| r.id.starts_with("join-"))
                .count() as u64,
            s.write_rooms
        );
    }

    #[test]
    fn memory_plan_has_exactly_the_memberships_asked() {
        let mut s = Sizes::tiny();
        s.memory_users = 300;
        s.memory_memberships = 1_000;
        let plan = Plan::new(Kind::Memory, &s);
        assert_eq!(plan.memberships(), 1_000);
        assert_eq!(plan.rooms.len(), 4);
        assert_eq!(plan.users, 300);
    }

    #[test]
    fn ids_match_the_seeding_sql() {
        // The SQL spells ids as 'bu' || printf('%07d', x).
        assert_eq!(user_id(42), "bu0000042");
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc").unwrap_or_default(),
            "/tmp/a.db"
        );
    }
}
