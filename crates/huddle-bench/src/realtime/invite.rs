//! `invite-to-event`: the admin invites a user to a fresh channel with `channels.invite`; timed
//! from just before the POST is sent until the invitee's socket, subscribed to
//! `stream-notify-user` `<uid>/subscriptions-changed`, has the frame about that room. One invite at
//! a time, each into a room created for the run, so any fixture (fresh or used) serves.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::{ddp, percentiles, token, Env, RtLoad, RtRow};
use crate::fixture;

/// The one invite in flight: which socket waits for which room.
struct Expect {
    socket: AtomicUsize,
    rid: Mutex<String>,
    at_ns: AtomicU64,
    start: Instant,
    done: Notify,
}

pub async fn run(env: &Env, load: &RtLoad) -> anyhow::Result<RtRow> {
    // Invitees are token users outside the fan-out room.
    let first = load.members + 1;
    let sockets = load
        .invitees()
        .min(env.token_users.saturating_sub(load.members));
    if sockets == 0 {
        bail!(
            "invite-to-event: no token users beyond the fan-out room's {} members",
            load.members
        );
    }
    let expect = Arc::new(Expect {
        socket: AtomicUsize::new(usize::MAX),
        rid: Mutex::new(String::new()),
        at_ns: AtomicU64::new(0),
        start: Instant::now(),
        done: Notify::new(),
    });
    let url = super::sessions_url(&env.base);
    let mut tasks = Vec::with_capacity(sockets);
    let closed = Arc::new(AtomicU64::new(0));
    let opened = futures::future::try_join_all((0..sockets).map(|j| {
        let url = url.clone();
        let user = first + j;
        let tok = token(env, user);
        let event = format!("{}/subscriptions-changed", fixture::user_id(user as u64));
        async move { ddp::session(&url, &tok, "stream-notify-user", &event).await }
    }))
    .await
    .context("invite-to-event: opening the invitees' sessions")?;
    for (j, ws) in opened.into_iter().enumerate() {
        let e = expect.clone();
        let on: ddp::OnFrame = Arc::new(move |text: &str, at: Instant| {
            if e.socket.load(Ordering::Acquire) != j || !text.contains("subscriptions-changed") {
                return;
            }
            let hit = e
                .rid
                .lock()
                .is_ok_and(|rid| !rid.is_empty() && text.contains(rid.as_str()));
            if hit {
                e.at_ns.store(
                    at.duration_since(e.start).as_nanos() as u64,
                    Ordering::Release,
                );
                e.done.notify_waiters();
            }
        });
        tasks.push(ddp::keep(ws, on, closed.clone()));
    }

    let mut lat = Vec::with_capacity(load.invites);
    let mut errors = vec![];
    let mut missed = 0;
    let mut rid = String::new();
    let tag = rand_tag();
    for k in 0..load.invites {
        let j = k % sockets;
        if j == 0 {
            rid = create_room(env, &format!("rt-invite-{tag}-{}", k / sockets)).await?;
        }
        let user = fixture::user_id((first + j) as u64);
        *expect.rid.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = rid.clone();
        expect.at_ns.store(0, Ordering::Release);
        expect.socket.store(j, Ordering::Release);
        let body = json!({"roomId": rid, "userId": user});
        let t0 = expect.start.elapsed().as_nanos() as u64;
        if let Err(e) = env
            .http
            .send(&crate::client::Req::post(
                "/api/v1/channels.invite",
                body,
                &env.admin,
            ))
            .await
        {
            errors.push(e);
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let notified = expect.done.notified();
            let at = expect.at_ns.load(Ordering::Acquire);
            if at > 0 {
                lat.push(at.saturating_sub(t0) as f64 / 1e6);
                break;
            }
            if Instant::now() >= deadline {
                missed += 1;
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(20), notified).await;
        }
    }
    for t in &tasks {
        t.abort();
    }
    let mut l = percentiles(lat);
    l.errors = errors;
    l.incomplete = missed;
    let mut row = RtRow::new(
        "invite-to-event",
        format!(
            "{} channels.invite, one at a time, to {sockets} invitees with a live socket; POST sent → subscriptions-changed",
            load.invites
        ),
    );
    row.connections = sockets;
    row.latency = Some(l);
    row.judge_latency(None, 5.0);
    Ok(row)
}

fn rand_tag() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 6)
        .to_lowercase()
}

/// `channels.create` as the admin; the new room's id.
async fn create_room(env: &Env, name: &str) -> anyhow::Result<String> {
    let v: Value = env
        .http
        .post_json(
            "/api/v1/channels.create",
            &json!({"name": name}),
            &env.admin,
        )
        .await?;
    v["channel"]["_id"]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("channels.create {name}: no channel id in {v}"))
}
