//! Snapshot tests (insta) of the main response bodies and of every seed error body, so that any
//! change of a field, a type or a string shows up in review as a diff of `snapshots/*.snap`.
//! What differs between runs or backends is replaced: ids and tokens by the name of what they
//! identify (so a snapshot still shows *which* id a field holds), dates by `[date]` after
//! checking their format. Snapshots are the same on SQLite and PostgreSQL.
//!
//! Update after an intended change: `INSTA_UPDATE=always cargo test -p huddle-server --test api
//! snapshots` (or `cargo insta review`), then read the diff. CI never writes snapshots: with
//! `CI` set (and `INSTA_UPDATE=no` in `.ci/run`) a mismatch or a missing snapshot fails.

use insta::internals::{Content, ContentPath};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};

/// Replaces each known random value (ids, tokens) by its name wherever it occurs, whole or
/// inside a longer string.
fn label(v: &Value, known: &[(&str, &str)]) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            for (value, name) in known {
                if !value.is_empty() {
                    out = out.replace(value, &format!("[{name}]"));
                }
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| label(i, known)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, i)| (k.clone(), label(i, known)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A date as Rocket.Chat writes it (ISO-8601, UTC, milliseconds), redacted once checked.
fn date(value: Content, path: ContentPath<'_>) -> String {
    let s = value.as_str().unwrap_or_default();
    let b = s.as_bytes();
    let ok = s.len() == 24
        && s.ends_with('Z')
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        ok,
        "{path} = {value:?} is not an ISO-8601 date with milliseconds"
    );
    "[date]".into()
}

/// `insta::assert_json_snapshot!` with every date field redacted (and checked), plus the
/// extra redactions given.
macro_rules! snapshot {
    ($name:expr, $value:expr $(, $selector:expr => $redaction:expr)* $(,)?) => {
        insta::assert_json_snapshot!($name, $value, {
            ".**.ts" => insta::dynamic_redaction(date),
            ".**._updatedAt" => insta::dynamic_redaction(date),
            ".**.lm" => insta::dynamic_redaction(date),
            ".**.createdAt" => insta::dynamic_redaction(date),
            ".**.lastLogin" => insta::dynamic_redaction(date)
            $(, $selector => $redaction)*
        })
    };
}

/// The fixture's people: fixed usernames (each test has its own database), random ids.
struct People {
    bob: Session,
    carol: Session,
    dave: Session,
}

async fn people(app: &TestApp) -> People {
    let mut made = Vec::new();
    for name in ["bob", "carol", "dave"] {
        app.ok(
            &app.admin,
            "users.create",
            json!({ "username": name, "name": name.to_uppercase(), "email": format!("{name}@example.com"), "password": "pw-123456" }),
        )
        .await;
        made.push(app.login(name, "pw-123456").await);
    }
    let dave = made.pop().expect("dave");
    let carol = made.pop().expect("carol");
    let bob = made.pop().expect("bob");
    People { bob, carol, dave }
}

/// The names of the random values of `app` and `p`, for `label`.
fn known<'a>(
    app: &'a TestApp,
    p: &'a People,
    rooms: &'a [(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut k = vec![
        (app.admin.user_id.as_str(), "admin.id"),
        (app.admin.token.as_str(), "admin.token"),
        (p.bob.user_id.as_str(), "bob.id"),
        (p.bob.token.as_str(), "bob.token"),
        (p.carol.user_id.as_str(), "carol.id"),
        (p.carol.token.as_str(), "carol.token"),
        (p.dave.user_id.as_str(), "dave.id"),
        (p.dave.token.as_str(), "dave.token"),
    ];
    k.extend(rooms.iter().copied());
    k
}

#[tokio::test]
async fn room_and_invite_bodies() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;

    let created = app
        .ok(
            &app.admin,
            "channels.create",
            json!({ "name": "town-square", "members": [p.bob.username] }),
        )
        .await;
    let cid = created["channel"]["_id"].as_str().expect("id").to_string();
    let group = app
        .ok(
            &app.admin,
            "groups.create",
            json!({ "name": "back-office" }),
        )
        .await;
    let gid = group["group"]["_id"].as_str().expect("id").to_string();
    let rooms = [(cid.as_str(), "channel.id"), (gid.as_str(), "group.id")];
    let k = known(&app, &p, &rooms);

    snapshot!("channels_create", label(&created, &k));

    let single = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": cid, "userId": p.carol.user_id }),
        )
        .await;
    snapshot!("channels_invite_single", label(&single, &k));

    let bulk = app
        .ok(
            &app.admin,
            "channels.invite",
            json!({ "roomId": cid, "userIds": [p.carol.user_id, p.dave.user_id] }),
        )
        .await;
    snapshot!("channels_invite_bulk", label(&bulk, &k));

    let grp = app
        .ok(
            &app.admin,
            "groups.invite",
            json!({ "roomName": "back-office", "usernames": [p.bob.username, p.carol.username] }),
        )
        .await;
    snapshot!("groups_invite", label(&grp, &k));

    let members = app
        .get_ok(&app.admin, "channels.members", &[("roomId", &cid)])
        .await;
    snapshot!("channels_members", label(&members, &k));
}

#[tokio::test]
async fn login_me_and_user_bodies() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let k = known(&app, &p, &[]);

    // A fresh login of bob (his token from `people` is named; this one is new).
    let (status, login) = app
        .post(
            None,
            "login",
            json!({ "user": "bob", "password": "pw-123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{login}");
    snapshot!("login", label(&login, &k), ".data.authToken" => "[new token]");

    let me = app.get_ok(&p.bob, "me", &[]).await;
    snapshot!("me", label(&me, &k));

    let full = app
        .get_ok(&app.admin, "users.info", &[("userId", &p.bob.user_id)])
        .await;
    snapshot!("users_info_as_admin", label(&full, &k));
    let public = app
        .get_ok(&p.carol, "users.info", &[("username", "bob")])
        .await;
    snapshot!("users_info_as_other_user", label(&public, &k));
}

#[tokio::test]
async fn im_create_body() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    let k = known(&app, &p, &[]);
    let v = app
        .ok(&p.bob, "im.create", json!({ "username": p.carol.username }))
        .await;
    // A DM's id is its two members' ids in sorted order, and `uids` is sorted the same way:
    // both orders depend on the random ids, so they are checked here and redacted below.
    let mut ids = [p.bob.user_id.clone(), p.carol.user_id.clone()];
    ids.sort();
    assert_eq!(v["room"]["_id"], json!(ids.concat()));
    assert_eq!(v["room"]["rid"], json!(ids.concat()));
    assert_eq!(v["room"]["uids"], json!(ids));
    snapshot!(
        "im_create",
        label(&v, &k),
        ".room._id" => "[bob.id and carol.id, sorted]",
        ".room.rid" => "[bob.id and carol.id, sorted]",
        ".room.uids" => insta::sorted_redaction(),
    );
}

/// Every error body the seeds (001–003) spell out, on both invite endpoints where they apply.
#[tokio::test]
async fn seed_error_bodies() {
    let app = TestApp::spawn().await;
    let p = people(&app).await;
    // Bob's private group: the admin is not in it, and add-user-to-any-p-room has no roles.
    let grp = app
        .ok(&p.bob, "groups.create", json!({ "name": "bobs-group" }))
        .await;
    let gid = grp["group"]["_id"].as_str().expect("id").to_string();
    let chan = app
        .ok(&app.admin, "channels.create", json!({ "name": "open" }))
        .await;
    let cid = chan["channel"]["_id"].as_str().expect("id").to_string();

    let mut bodies = Vec::new();
    for path in ["channels.invite", "groups.invite"] {
        let name = path.replace('.', "_");
        let no_room = app
            .post(Some(&app.admin), path, json!({ "userId": p.carol.user_id }))
            .await;
        bodies.push((format!("{name}_error_room_param_not_provided"), no_room));
        let room = if path == "groups.invite" { &gid } else { &cid };
        let who = if path == "groups.invite" {
            &p.bob
        } else {
            &app.admin
        };
        let no_users = app.post(Some(who), path, json!({ "roomId": room })).await;
        bodies.push((format!("{name}_error_users_params_not_provided"), no_users));
        let anonymous = app
            .post(
                None,
                path,
                json!({ "roomId": room, "userId": p.carol.user_id }),
            )
            .await;
        bodies.push((format!("{name}_unauthenticated"), anonymous));
    }
    let not_allowed = app
        .post(
            Some(&app.admin),
            "groups.invite",
            json!({ "roomId": gid, "userId": p.carol.user_id }),
        )
        .await;
    bodies.push(("groups_invite_error_not_allowed".into(), not_allowed));
    let not_allowed = app
        .post(
            Some(&p.dave),
            "channels.invite",
            json!({ "roomId": cid, "userId": p.carol.user_id }),
        )
        .await;
    bodies.push(("channels_invite_error_not_allowed".into(), not_allowed));

    for (name, (status, body)) in bodies {
        let expected = if name.ends_with("unauthenticated") {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, expected, "{name}: {body}");
        // No ids or dates in error bodies; the status is part of the snapshot.
        snapshot!(
            name.as_str(),
            json!({ "status": status.as_u16(), "body": body })
        );
    }
}
