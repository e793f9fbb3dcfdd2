//! The permission matrix: every membership endpoint × caller × room type → Rocket.Chat's outcome
//! with the default permissions.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    NoAuth,
    NonMember,
    Member,
    Moderator,
    Owner,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Public,
    Private,
    Direct,
}

/// Expected outcome: HTTP status and, for failures, `errorType` (or the bare `error`).
#[derive(Debug, PartialEq)]
struct Outcome {
    status: u16,
    error: Option<String>,
}

fn ok() -> Outcome {
    Outcome {
        status: 200,
        error: None,
    }
}
fn err(code: &str) -> Outcome {
    Outcome {
        status: 400,
        error: Some(code.into()),
    }
}
fn unauth() -> Outcome {
    Outcome {
        status: 401,
        error: None,
    }
}

/// One fresh room per row: owner, moderator, member, a target outside and a target inside.
struct Fixture {
    rid: String,
    target_out: Session,
    target_in: Session,
    callers: Vec<(Caller, Option<Session>)>,
}

/// The six accounts every cell uses (creating accounts is the slow part: Argon2).
struct People {
    owner: Session,
    moderator: Session,
    member: Session,
    outsider: Session,
    target_out: Session,
    target_in: Session,
}

async fn people(app: &TestApp) -> People {
    People {
        owner: app.user("own").await,
        moderator: app.user("mod").await,
        member: app.user("mem").await,
        outsider: app.user("out").await,
        target_out: app.user("tout").await,
        target_in: app.user("tin").await,
    }
}

async fn fixture(app: &TestApp, kind: Kind, p: &People) -> Fixture {
    let (owner, moderator, member, outsider, target_out, target_in) = (
        p.owner.clone(),
        p.moderator.clone(),
        p.member.clone(),
        p.outsider.clone(),
        p.target_out.clone(),
        p.target_in.clone(),
    );
    let rid = match kind {
        Kind::Direct => {
            // A group DM with owner, member, target_in: DMs have no roles, so "owner" and
            // "moderator" are plain DM members here.
            let v = app
                .ok(&owner, "im.create", json!({ "usernames": format!("{},{},{}", member.username, target_in.username, moderator.username) }))
                .await;
            v["room"]["_id"].as_str().unwrap().to_string()
        }
        _ => {
            let t = if kind == Kind::Public { "c" } else { "p" };
            let (rid, _) = app
                .room(
                    &owner,
                    t,
                    &[&moderator.username, &member.username, &target_in.username],
                )
                .await;
            let prefix = if kind == Kind::Public {
                "channels"
            } else {
                "groups"
            };
            app.ok(
                &owner,
                &format!("{prefix}.addModerator"),
                json!({ "roomId": rid, "userId": moderator.user_id }),
            )
            .await;
            rid
        }
    };
    Fixture {
        rid,
        target_out,
        target_in,
        callers: vec![
            (Caller::NoAuth, None),
            (Caller::NonMember, Some(outsider)),
            (Caller::Member, Some(member)),
            (Caller::Moderator, Some(moderator)),
            (Caller::Owner, Some(owner)),
            (Caller::Admin, Some(app.admin.clone())),
        ],
    }
}

fn prefix(kind: Kind) -> &'static str {
    match kind {
        Kind::Public => "channels",
        Kind::Private => "groups",
        Kind::Direct => "im",
    }
}

async fn outcome(app: &TestApp, who: Option<&Session>, path: &str, body: Value) -> Outcome {
    let (status, v) = if path.ends_with(".members") {
        let rid = body["roomId"].as_str().unwrap_or_default().to_string();
        app.get(who, path, &[("roomId", &rid)]).await
    } else {
        app.post(who, path, body).await
    };
    let error = if status == StatusCode::OK || status == StatusCode::UNAUTHORIZED {
        None
    } else {
        v.get("errorType")
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Outcome {
        status: status.as_u16(),
        error,
    }
}

/// What Rocket.Chat answers for `op` by `caller` in a room of `kind`.
fn expected(op: &str, caller: Caller, kind: Kind) -> Outcome {
    use Caller::*;
    use Kind::*;
    if caller == NoAuth {
        return unauth();
    }
    let not_found = "error-room-not-found";
    match (op, kind) {
        // DMs are never invited to, kicked from or left; the group/channel endpoints do not find them.
        (_, Direct) if op == "members" => match caller {
            NonMember | Admin => err(not_found),
            _ => ok(),
        },
        (_, Direct) => err(not_found),
        ("invite", Public) => match caller {
            Moderator | Owner | Admin => ok(),
            _ => err("error-not-allowed"),
        },
        ("invite", Private) => match caller {
            Moderator | Owner => ok(),
            _ => err("error-not-allowed"), // admin too: add-user-to-any-p-room has no roles
        },
        ("kick", Public) => match caller {
            Moderator | Owner | Admin => ok(),
            _ => err("error-not-allowed"),
        },
        ("kick", Private) => match caller {
            Moderator | Owner => ok(),
            Admin => err(not_found), // not a member, no kick-user-from-any-p-room
            _ => err("error-not-allowed"),
        },
        ("leave", Public) => match caller {
            NonMember | Admin => err("error-user-not-in-room"),
            Owner => err("error-you-are-last-owner"),
            _ => ok(),
        },
        ("leave", Private) => match caller {
            NonMember | Admin => err(not_found),
            Owner => err("error-you-are-last-owner"),
            _ => ok(),
        },
        ("members", Public) => ok(),
        ("members", Private) => match caller {
            NonMember | Admin => err(not_found),
            _ => ok(),
        },
        ("addModerator", Public) => match caller {
            Owner | Admin => ok(),
            _ => err("error-not-allowed"),
        },
        ("addModerator", Private) => match caller {
            Owner => ok(),
            NonMember | Admin => err(not_found),
            _ => err("error-not-allowed"),
        },
        _ => unreachable!("no expectation for {op}"),
    }
}

#[tokio::test]
async fn membership_permission_matrix() {
    let app = TestApp::spawn().await;
    let people = people(&app).await;
    let mut failures = vec![];
    for kind in [Kind::Public, Kind::Private, Kind::Direct] {
        for op in ["invite", "kick", "leave", "members", "addModerator"] {
            for caller_index in 0..6 {
                // A fresh room for every cell, so one cell's change cannot leak into the next.
                let f = fixture(&app, kind, &people).await;
                let (caller, who) = f.callers[caller_index].clone();
                let p = prefix(kind);
                let (path, body) = match op {
                    "invite" => (
                        format!("{p}.invite"),
                        json!({ "roomId": f.rid, "userId": f.target_out.user_id }),
                    ),
                    "kick" => (
                        format!("{p}.kick"),
                        json!({ "roomId": f.rid, "userId": f.target_in.user_id }),
                    ),
                    "leave" => (format!("{p}.leave"), json!({ "roomId": f.rid })),
                    "members" => (format!("{p}.members"), json!({ "roomId": f.rid })),
                    _ => (
                        format!("{p}.addModerator"),
                        json!({ "roomId": f.rid, "userId": f.target_in.user_id }),
                    ),
                };
                let path = if kind == Kind::Direct && op != "members" {
                    format!("groups.{op}")
                } else {
                    path
                };
                let got = outcome(&app, who.as_ref(), &path, body).await;
                let want = expected(op, caller, kind);
                if got != want {
                    failures.push(format!(
                        "{op} {kind:?} by {caller:?}: got {got:?}, want {want:?}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "permission matrix mismatches:\n{}",
        failures.join("\n")
    );
}
