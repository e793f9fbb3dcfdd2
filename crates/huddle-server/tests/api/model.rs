//! A model-based test of room membership: random sequences of invites, kicks, joins, leaves and
//! owner changes, from Rocket.Chat's REST API (as the room's owner or as ordinary users) and the
//! TalkJS-style backend (adding and removing participants), run against a real server and a
//! small reference model of a public channel. After every step the server's answer (success or
//! refusal) must be the model's and `usersCount` must equal the model's member count; after
//! every sequence the member list and the owners must be the model's. Runs on both backends
//! (the harness picks the store). On failure proptest shrinks to a minimal sequence.
//!
//! The rules modelled are Rocket.Chat's defaults for a public channel: owners invite, kick and
//! change owners; anyone may join; members may leave; a person can never remove, kick or
//! demote the last owner (nor leave as it); re-invites and re-joins change nothing. The
//! TalkJS-style backend is a trusted principal: it adds and removes participants freely (both
//! idempotent), the last owner included, as any trusted principal may.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};

/// The people: 0 creates each room (its first owner), 1-3 are ordinary users.
const PEOPLE: usize = 4;

#[derive(Debug, Clone, Copy)]
enum Op {
    Invite { by: usize, target: usize },
    Kick { by: usize, target: usize },
    Join { who: usize },
    Leave { who: usize },
    AddOwner { by: usize, target: usize },
    RemoveOwner { by: usize, target: usize },
    BackendAdd { target: usize },
    BackendRemove { target: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let p = || 0..PEOPLE;
    prop_oneof![
        (p(), p()).prop_map(|(by, target)| Op::Invite { by, target }),
        (p(), p()).prop_map(|(by, target)| Op::Kick { by, target }),
        p().prop_map(|who| Op::Join { who }),
        p().prop_map(|who| Op::Leave { who }),
        (p(), p()).prop_map(|(by, target)| Op::AddOwner { by, target }),
        (p(), p()).prop_map(|(by, target)| Op::RemoveOwner { by, target }),
        p().prop_map(|target| Op::BackendAdd { target }),
        p().prop_map(|target| Op::BackendRemove { target }),
    ]
}

/// The reference model: who is a member, who is an owner.
#[derive(Debug, Clone)]
struct Model {
    members: BTreeSet<usize>,
    owners: BTreeSet<usize>,
}

impl Model {
    fn new() -> Self {
        Model {
            members: [0].into(),
            owners: [0].into(),
        }
    }

    fn owner(&self, p: usize) -> bool {
        self.owners.contains(&p)
    }

    fn last_owner(&self, p: usize) -> bool {
        self.owner(p) && self.owners.len() == 1
    }

    /// Applies `op` if the rules allow it; returns whether they did.
    fn apply(&mut self, op: Op) -> bool {
        let m = |s: &Self, p: usize| s.members.contains(&p);
        let ok = match op {
            // add-user-to-joined-room: owners (who are members).
            Op::Invite { by, .. } => self.owner(by),
            Op::Kick { by, target } => {
                self.owner(by) && m(self, target) && !self.last_owner(target)
            }
            Op::Join { .. } => true,
            Op::Leave { who } => m(self, who) && !self.last_owner(who),
            Op::AddOwner { by, target } => self.owner(by) && m(self, target) && !self.owner(target),
            Op::RemoveOwner { by, target } => {
                self.owner(by) && self.owner(target) && !self.last_owner(target)
            }
            Op::BackendAdd { .. } => true,
            // Idempotent: removing a non-participant answers 200 and changes nothing.
            Op::BackendRemove { .. } => true,
        };
        if ok {
            match op {
                Op::Invite { target, .. } | Op::BackendAdd { target } => {
                    self.members.insert(target);
                }
                Op::Join { who } => {
                    self.members.insert(who);
                }
                Op::Kick { target, .. } | Op::BackendRemove { target } => {
                    self.members.remove(&target);
                    self.owners.remove(&target);
                }
                Op::Leave { who } => {
                    self.members.remove(&who);
                    self.owners.remove(&who);
                }
                Op::AddOwner { target, .. } => {
                    self.owners.insert(target);
                }
                Op::RemoveOwner { target, .. } => {
                    self.owners.remove(&target);
                }
            }
        }
        ok
    }
}

/// Sends `op` to the server; returns whether it succeeded.
async fn send(app: &TestApp, people: &[Session], rid: &str, op: Op) -> Result<bool, String> {
    let id = |p: usize| people[p].user_id.clone();
    let rc = |by: usize, path: &'static str, body: Value| {
        let who = people[by].clone();
        async move { app.post(Some(&who), path, body).await }
    };
    let (status, v) = match op {
        Op::Invite { by, target } => {
            rc(
                by,
                "channels.invite",
                json!({"roomId": rid, "userId": id(target)}),
            )
            .await
        }
        Op::Kick { by, target } => {
            rc(
                by,
                "channels.kick",
                json!({"roomId": rid, "userId": id(target)}),
            )
            .await
        }
        Op::Join { who } => rc(who, "channels.join", json!({"roomId": rid})).await,
        Op::Leave { who } => rc(who, "channels.leave", json!({"roomId": rid})).await,
        Op::AddOwner { by, target } => {
            rc(
                by,
                "channels.addOwner",
                json!({"roomId": rid, "userId": id(target)}),
            )
            .await
        }
        Op::RemoveOwner { by, target } => {
            rc(
                by,
                "channels.removeOwner",
                json!({"roomId": rid, "userId": id(target)}),
            )
            .await
        }
        Op::BackendAdd { target } => {
            app.talk(
                "PUT",
                &format!("conversations/{rid}/participants/{}", id(target)),
                Some(json!({})),
            )
            .await
        }
        Op::BackendRemove { target } => {
            app.talk(
                "DELETE",
                &format!("conversations/{rid}/participants/{}", id(target)),
                None,
            )
            .await
        }
    };
    if status.is_server_error() {
        return Err(format!("{op:?} answered {status}: {v}"));
    }
    Ok(status == StatusCode::OK)
}

async fn users_count(app: &TestApp, rid: &str) -> u64 {
    app.room_info(&app.admin, rid).await["usersCount"]
        .as_u64()
        .unwrap_or(u64::MAX)
}

async fn run_case(app: &TestApp, people: &[Session], ops: &[Op]) -> Result<(), TestCaseError> {
    let (rid, _) = app.room(&people[0], "c", &[]).await;
    let mut model = Model::new();
    for (i, &op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        let got = send(app, people, &rid, op)
            .await
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            got,
            expected,
            "step {} {:?}: server and model disagree",
            i,
            op
        );
        let count = users_count(app, &rid).await;
        prop_assert_eq!(
            count,
            model.members.len() as u64,
            "step {} {:?}: usersCount is not the member count",
            i,
            op
        );
    }
    let members: BTreeSet<usize> = app
        .member_ids(&rid, "c")
        .await
        .iter()
        .map(|uid| {
            people
                .iter()
                .position(|p| &p.user_id == uid)
                .unwrap_or(usize::MAX)
        })
        .collect();
    prop_assert_eq!(&members, &model.members, "members after {:?}", ops);
    let roles = app
        .get_ok(&app.admin, "channels.roles", &[("roomId", &rid)])
        .await;
    let owners: BTreeSet<usize> = roles["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["roles"]
                .as_array()
                .is_some_and(|a| a.contains(&json!("owner")))
        })
        .filter_map(|r| {
            people
                .iter()
                .position(|p| p.user_id == r["u"]["_id"].as_str().unwrap_or(""))
        })
        .collect();
    prop_assert_eq!(&owners, &model.owners, "owners after {:?}", ops);
    Ok(())
}

#[test]
fn membership_matches_the_reference_model() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let app = rt.block_on(TestApp::spawn());
    let people: Vec<Session> = rt.block_on(async {
        let mut v = vec![];
        for i in 0..PEOPLE {
            v.push(app.user(&format!("m{i}")).await);
        }
        v
    });
    let cases = std::env::var("HUDDLE_MODEL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        // Each shrink step replays a sequence against the server: keep failures quick to report.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let steps = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&prop::collection::vec(op(), 1..30), |ops| {
        steps.fetch_add(ops.len(), std::sync::atomic::Ordering::Relaxed);
        rt.block_on(run_case(&app, &people, &ops))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    println!(
        "figure: {cases} random sequences ({} steps, both APIs) matched the model: answers, usersCount after every step, members and owners after each sequence",
        steps.load(std::sync::atomic::Ordering::Relaxed)
    );
}
