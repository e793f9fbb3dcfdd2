//! What each scenario sends. Every write acts on a (room, user) pair no earlier request of the
//! run touched, derived from the sequence number, so an invite really adds, a kick really
//! removes, and no two workers fight over one row. A scenario that runs out of such pairs ends
//! early and the report says so.

use std::sync::Arc;

use serde_json::json;

use crate::cli::{Load, Sizes};
use crate::client::{Creds, Req};
use crate::fixture::{self, Plan, POST_ROOM};
use crate::runner::{mix, MakeSource, Source, Spec};

/// What a figure is compared with on the bare server: its no-op or its durable insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Read,
    Write,
}

pub struct Step {
    pub spec: Spec,
    pub class: Class,
    /// What the figure means, for the table.
    pub note: String,
}

/// What the scenarios act with.
pub struct Ctx {
    pub admin: Creds,
    /// Token of user `i` at index `i - 1`.
    pub tokens: Arc<Vec<Creds>>,
    pub sizes: Sizes,
    pub plan: Plan,
    pub load: Load,
}

impl Ctx {
    fn timed(&self, name: &str, source: MakeSource) -> Spec {
        Spec {
            name: name.to_string(),
            connections: self.load.connections,
            duration: Some(self.load.duration),
            requests: self.load.requests,
            source,
        }
    }

    fn token(&self, user: u64) -> Option<Creds> {
        let i = usize::try_from(user).ok()?.checked_sub(1)?;
        self.tokens.get(i).cloned()
    }
}

/// A source that ignores the worker: `f(k)` for every k.
fn shared(f: impl Fn(u64) -> Option<Req> + Send + Sync + 'static) -> MakeSource {
    let f = Arc::new(f);
    Arc::new(move |_w| {
        let f = f.clone();
        Box::new(move |k| f(k)) as Source
    })
}

/// `(room index, user)` for the k-th write over `rooms` rooms and users `1..=users`: round-robin
/// over the rooms, then the next user, so consecutive requests hit different rooms.
fn pair(k: u64, rooms: u64, users: u64) -> Option<(u64, u64)> {
    let user = k / rooms + 1;
    (user <= users).then_some((k % rooms, user))
}

fn members_path(room: &str, offset: u64) -> String {
    format!("/api/v1/channels.members?roomId={room}&count=50&offset={offset}")
}

pub fn noop(load: &Load) -> Vec<Step> {
    vec![Step {
        spec: Spec {
            name: "noop".into(),
            connections: load.connections,
            duration: Some(load.duration),
            requests: load.requests,
            source: shared(|_| Some(Req::get("/api/info".into(), None))),
        },
        class: Class::Read,
        note: "GET /api/info".into(),
    }]
}

pub fn invite(ctx: &Ctx) -> Vec<Step> {
    let (admin, rooms, users) = (ctx.admin.clone(), ctx.sizes.write_rooms, ctx.plan.users);
    vec![Step {
        spec: ctx.timed(
            "invite",
            shared(move |k| {
                let (r, u) = pair(k, rooms, users)?;
                let body =
                    json!({"roomId": fixture::write_room("inv", r), "userId": fixture::user_id(u)});
                Some(Req::post("/api/v1/channels.invite", body, &admin))
            }),
        ),
        class: Class::Write,
        note: format!("channels.invite, 1 user/call, {rooms} rooms"),
    }]
}

pub fn invite_bulk(ctx: &Ctx) -> Vec<Step> {
    ctx.sizes
        .bulk_sizes
        .iter()
        .map(|&size| {
            let admin = ctx.admin.clone();
            let ids: Arc<Vec<String>> = Arc::new((1..=size).map(fixture::user_id).collect());
            Step {
                spec: Spec {
                    name: format!("invite-bulk-{size}"),
                    // One request at a time: the figure is one bulk request's latency.
                    connections: 1,
                    duration: None,
                    requests: Some(ctx.sizes.bulk_repeats),
                    source: shared(move |k| {
                        let body = json!({"roomId": fixture::bulk_group(size, k), "userIds": *ids});
                        Some(Req::post("/api/v1/groups.invite", body, &admin))
                    }),
                },
                class: Class::Write,
                note: format!("groups.invite of {size} userIds into an empty group, serial"),
            }
        })
        .collect()
}

pub fn kick(ctx: &Ctx) -> Vec<Step> {
    let (admin, rooms, members) = (
        ctx.admin.clone(),
        ctx.sizes.write_rooms,
        ctx.sizes.write_members,
    );
    vec![Step {
        spec: ctx.timed(
            "kick",
            shared(move |k| {
                let (r, u) = pair(k, rooms, members)?;
                let body = json!({"roomId": fixture::write_room("kick", r), "userId": fixture::user_id(u)});
                Some(Req::post("/api/v1/channels.kick", body, &admin))
            }),
        ),
        class: Class::Write,
        note: format!("channels.kick by admin, {rooms} rooms of {members}"),
    }]
}

pub fn join(ctx: &Ctx) -> Vec<Step> {
    let tokens = ctx.tokens.clone();
    let rooms = ctx.sizes.write_rooms;
    vec![Step {
        spec: ctx.timed(
            "join",
            shared(move |k| {
                let (r, u) = pair(k, rooms, tokens.len() as u64)?;
                let creds = tokens.get(usize::try_from(u - 1).ok()?)?;
                let body = json!({"roomId": fixture::write_room("join", r)});
                Some(Req::post("/api/v1/channels.join", body, creds))
            }),
        ),
        class: Class::Write,
        note: format!("channels.join as the user, {rooms} public rooms"),
    }]
}

pub fn leave(ctx: &Ctx) -> Vec<Step> {
    let tokens = ctx.tokens.clone();
    let rooms = ctx.sizes.write_rooms;
    let members = ctx.sizes.write_members.min(tokens.len() as u64);
    vec![Step {
        spec: ctx.timed(
            "leave",
            shared(move |k| {
                let (r, u) = pair(k, rooms, members)?;
                let creds = tokens.get(usize::try_from(u - 1).ok()?)?;
                let body = json!({"roomId": fixture::write_room("leave", r)});
                Some(Req::post("/api/v1/channels.leave", body, creds))
            }),
        ),
        class: Class::Write,
        note: format!("channels.leave as the user, {rooms} rooms of {members}"),
    }]
}

pub fn members(ctx: &Ctx) -> Vec<Step> {
    let mut steps = vec![];
    let largest = ctx.sizes.room_sizes.iter().copied().max().unwrap_or(0);
    for &size in &ctx.sizes.room_sizes {
        let admin = ctx.admin.clone();
        let room = fixture::member_room(size);
        let span = size.saturating_sub(50) + 1;
        steps.push(Step {
            spec: ctx.timed(
                &format!("members-{size}"),
                shared(move |k| Some(Req::get(members_path(&room, mix(k) % span), Some(&admin)))),
            ),
            class: Class::Read,
            note: format!("channels.members count=50, offsets uniform over 0..{span}"),
        });
    }
    {
        // The same pages one at a time: the service time of one page, without the queueing that
        // 64 concurrent readers add in front of the server's 10 reader connections.
        let admin = ctx.admin.clone();
        let room = fixture::member_room(largest);
        let span = largest.saturating_sub(50) + 1;
        let mut spec = ctx.timed(
            &format!("members-{largest}-1conn"),
            shared(move |k| Some(Req::get(members_path(&room, mix(k) % span), Some(&admin)))),
        );
        spec.connections = 1;
        steps.push(Step {
            spec,
            class: Class::Read,
            note: format!("as members-{largest}, one connection (unloaded latency)"),
        });
    }
    if let Some(whole) = ctx
        .plan
        .rooms
        .iter()
        .find(|r| r.id == fixture::WHOLE_LIST_ROOM)
    {
        // The whole list in one answer, as a client asks for a mid-sized room's members.
        let admin = ctx.admin.clone();
        let path = format!(
            "/api/v1/channels.members?roomId={}&count=0",
            fixture::WHOLE_LIST_ROOM
        );
        steps.push(Step {
            spec: ctx.timed(
                &format!("members-all-{}", whole.members),
                shared(move |_| Some(Req::get(path.clone(), Some(&admin)))),
            ),
            class: Class::Read,
            note: format!("channels.members count=0: all {} members", whole.members),
        });
    }
    if largest > 1_000 {
        let admin = ctx.admin.clone();
        let room = fixture::member_room(largest);
        steps.push(Step {
            spec: ctx.timed(
                &format!("members-{largest}-head"),
                shared(move |k| Some(Req::get(members_path(&room, mix(k) % 1_000), Some(&admin)))),
            ),
            class: Class::Read,
            note: "channels.members count=50, offsets 0..1000 (the pages clients read)".into(),
        });
    }
    steps
}

pub fn size_scaling(ctx: &Ctx) -> Vec<Step> {
    let smallest = ctx.sizes.room_sizes.iter().copied().min().unwrap_or(10);
    let largest = ctx.sizes.room_sizes.iter().copied().max().unwrap_or(10);
    [smallest, largest]
        .into_iter()
        .map(|size| {
            let admin = ctx.admin.clone();
            let room = fixture::member_room(size);
            let (start, pool) = (ctx.plan.pool_start, ctx.sizes.pool);
            Step {
                spec: ctx.timed(
                    &format!("invite-into-{size}"),
                    shared(move |k| {
                        (k < pool).then(|| {
                            let body =
                                json!({"roomId": room, "userId": fixture::user_id(start + k)});
                            Req::post("/api/v1/channels.invite", body, &admin)
                        })
                    }),
                ),
                class: Class::Write,
                note: format!("channels.invite, 1 user/call, all into one room of {size}"),
            }
        })
        .collect()
}

pub fn post(ctx: &Ctx) -> Vec<Step> {
    let small = fixture::POST_ROOM_SMALL_SIZE.min(ctx.sizes.post_room_size);
    vec![
        post_into(ctx, "post-into-10", fixture::POST_ROOM_SMALL, small),
        post_into(ctx, "post", POST_ROOM, ctx.sizes.post_room_size),
    ]
}

/// `chat.postMessage` into `room` by its `size` members (users 1..=size), round-robin.
fn post_into(ctx: &Ctx, name: &str, room: &'static str, size: u64) -> Step {
    let posters: Vec<Creds> = (1..=size.min(ctx.tokens.len() as u64))
        .filter_map(|u| ctx.token(u))
        .collect();
    let posters = Arc::new(posters);
    Step {
        spec: ctx.timed(
            name,
            shared(move |k| {
                let creds = posters.get(usize::try_from(k).ok()? % posters.len().max(1))?;
                let body = json!({"roomId": room, "text": format!("bench message {k}")});
                Some(Req::post("/api/v1/chat.postMessage", body, creds))
            }),
        ),
        class: Class::Write,
        note: format!("chat.postMessage by members into a room of {size}"),
    }
}

/// 90% reads (members pages from the top of a room, channels.info, me), 10% membership writes
/// (each worker, as its own user, joins a room and later leaves it).
pub fn mixed(ctx: &Ctx) -> Vec<Step> {
    let tokens = ctx.tokens.clone();
    let read_rooms: Arc<Vec<(String, u64)>> = Arc::new(
        ctx.sizes
            .room_sizes
            .iter()
            .map(|&n| (fixture::member_room(n), n))
            .collect(),
    );
    let rooms = ctx.sizes.write_rooms;
    let source: MakeSource = Arc::new(move |w| {
        let n = tokens.len().max(1);
        // The last tokens, away from the posters and leavers at the front.
        let me = tokens.get(n - 1 - (w % n)).cloned();
        let read_rooms = read_rooms.clone();
        let mut writes = 0u64;
        Box::new(move |k| {
            let me = me.as_ref()?;
            let r = mix(k);
            let (room, size) = read_rooms.get((r >> 8) as usize % read_rooms.len().max(1))?;
            Some(match r % 100 {
                0..=9 => {
                    let j = writes;
                    writes += 1;
                    let body = json!({"roomId": fixture::write_room("mix", (j / 2) % rooms)});
                    let path = if j & 1 == 0 {
                        "/api/v1/channels.join"
                    } else {
                        "/api/v1/channels.leave"
                    };
                    Req::post(path, body, me)
                }
                10..=54 => {
                    let offset = (r >> 32) % (size.saturating_sub(50).min(1_000) + 1);
                    Req::get(members_path(room, offset), Some(me))
                }
                55..=89 => Req::get(format!("/api/v1/channels.info?roomId={room}"), Some(me)),
                _ => Req::get("/api/v1/me".into(), Some(me)),
            })
        }) as Source
    });
    vec![Step {
        spec: ctx.timed("mixed", source),
        class: Class::Read,
        note: "45% members, 35% channels.info, 10% me, 10% join/leave".into(),
    }]
}

/// On the memory fixture: every room read at every depth by many users, so whatever the server
/// keeps per user, per room or per page is in memory when the peak is read.
pub fn memory(ctx: &Ctx) -> Vec<Step> {
    let tokens = ctx.tokens.clone();
    let rooms: Arc<Vec<(String, u64)>> = Arc::new(
        ctx.plan
            .rooms
            .iter()
            .map(|r| (r.id.clone(), r.members))
            .collect(),
    );
    let note = format!(
        "{} users, {} memberships: members pages at any offset, channels.info",
        ctx.plan.users,
        ctx.plan.memberships()
    );
    vec![Step {
        spec: ctx.timed(
            "memory",
            shared(move |k| {
                let r = mix(k);
                let creds = tokens.get((r >> 40) as usize % tokens.len().max(1))?;
                let (room, size) = rooms.get((r >> 8) as usize % rooms.len().max(1))?;
                Some(if r & 1 == 0 {
                    let offset = (r >> 16) % (size.saturating_sub(50) + 1);
                    Req::get(members_path(room, offset), Some(creds))
                } else {
                    Req::get(format!("/api/v1/channels.info?roomId={room}"), Some(creds))
                })
            }),
        ),
        class: Class::Read,
        note,
    }]
}

/// The bare limits server, with the same client and load: its no-op and its durable insert.
pub fn limits(load: &Load) -> Vec<Step> {
    let timed = |name: &str, source: MakeSource| Spec {
        name: name.into(),
        connections: load.connections,
        duration: Some(load.duration),
        requests: load.requests,
        source,
    };
    let insert = Req {
        method: crate::client::Method::Post,
        path: "/insert".into(),
        body: Some(r#"{"roomId":"GENERAL","userId":"u"}"#.into()),
        creds: None,
    };
    vec![
        Step {
            spec: timed(
                "limits-noop",
                shared(|_| Some(Req::get("/noop".into(), None))),
            ),
            class: Class::Read,
            note: "bare axum: GET /noop".into(),
        },
        Step {
            spec: timed("limits-insert", shared(move |_| Some(insert.clone()))),
            class: Class::Write,
            note: "bare axum+SQLite: POST /insert (as started: see bench/run.sh)".into(),
        },
    ]
}

/// The steps of one scenario name.
pub fn steps(name: &str, ctx: &Ctx) -> Vec<Step> {
    match name {
        "noop" => noop(&ctx.load),
        "invite" => invite(ctx),
        "invite-bulk" => invite_bulk(ctx),
        "kick" => kick(ctx),
        "join" => join(ctx),
        "leave" => leave(ctx),
        "members" => members(ctx),
        "size-scaling" => size_scaling(ctx),
        "post" => post(ctx),
        "mixed" => mixed(ctx),
        "memory" => memory(ctx),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_distinct_and_bounded() {
        let mut seen = std::collections::HashSet::new();
        for k in 0..(3 * 4) {
            let p = pair(k, 3, 4);
            assert!(p.is_some());
            assert!(seen.insert(p));
        }
        assert_eq!(pair(12, 3, 4), None);
        assert_eq!(pair(0, 3, 4), Some((0, 1)));
    }
}
