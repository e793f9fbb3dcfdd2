//! The calls whose bodies are checked against Rocket.Chat's OpenAPI schemas: representative
//! successes of every endpoint family, the seeds' error bodies and other documented failures.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{fixture, violations, Spec};
use crate::helpers::{Session, TestApp};

/// Violations that are the description's fault, not ours: `(case label, instance path with `*`
/// for any array index, why)`. Each must still occur (a stale entry fails the test), so the list
/// cannot rot.
const SPEC_GAPS: &[(&str, &str, &str)] = &[(
    "settings.public",
    "/settings/*/value",
    "`int` settings (Message_MaxAllowedSize = 5000) are numbers in Rocket.Chat; the \
     description's `value` admits only boolean or string",
)];

/// Whether an instance path matches a `SPEC_GAPS` pattern.
pub(super) fn path_matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter().zip(&q).all(|(a, b)| {
            *a == *b || (*a == "*" && !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
        })
}

/// One response to check, and the spec operation that describes it.
struct Case {
    label: String,
    method: &'static str,
    path: &'static str,
    status: u16,
    got: (StatusCode, Value),
}

#[derive(Default)]
struct Cases(Vec<Case>);

impl Cases {
    fn add(
        &mut self,
        label: impl Into<String>,
        (method, path, status): (&'static str, &'static str, u16),
        got: (StatusCode, Value),
    ) {
        self.0.push(Case {
            label: label.into(),
            method,
            path,
            status,
            got,
        });
    }
}

async fn get(app: &TestApp, who: &Session, path: &str, q: &[(&str, &str)]) -> (StatusCode, Value) {
    app.get(Some(who), path, q).await
}

async fn post(app: &TestApp, who: &Session, path: &str, body: Value) -> (StatusCode, Value) {
    app.post(Some(who), path, body).await
}

#[tokio::test]
async fn responses_match_rocket_chat_openapi_schemas() {
    let spec = Spec::load();
    let app = TestApp::spawn().await;
    let admin = app.admin.clone();
    let mut cases = Cases::default();

    // Authentication and users.
    cases.add(
        "login",
        ("post", "/api/v1/login", 200),
        app.post(
            None,
            "login",
            json!({ "user": crate::helpers::ADMIN, "password": crate::helpers::ADMIN_PASSWORD }),
        )
        .await,
    );
    cases.add(
        "me",
        ("get", "/api/v1/me", 200),
        get(&app, &admin, "me", &[]).await,
    );
    let created = post(
        &app,
        &admin,
        "users.create",
        json!({ "username": "bob", "name": "Bob", "email": "bob@example.com", "password": "pw-123456" }),
    )
    .await;
    let bob_id = created.1["user"]["_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    cases.add(
        "users.create",
        ("post", "/api/v1/users.create", 200),
        created,
    );
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let bob = app.login("bob", "pw-123456").await;
    cases.add(
        "users.info (admin sees full fields)",
        ("get", "/api/v1/users.info", 200),
        get(&app, &admin, "users.info", &[("userId", &bob_id)]).await,
    );
    cases.add(
        "users.info (another user)",
        ("get", "/api/v1/users.info", 200),
        get(&app, &carol, "users.info", &[("username", "bob")]).await,
    );
    cases.add(
        "users.list",
        ("get", "/api/v1/users.list", 200),
        get(&app, &admin, "users.list", &[]).await,
    );

    // Channels.
    let created = post(
        &app,
        &admin,
        "channels.create",
        json!({ "name": "town-square", "members": ["bob"] }),
    )
    .await;
    let cid = created.1["channel"]["_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    cases.add(
        "channels.create",
        ("post", "/api/v1/channels.create", 200),
        created,
    );
    cases.add(
        "channels.info",
        ("get", "/api/v1/channels.info", 200),
        get(&app, &admin, "channels.info", &[("roomId", &cid)]).await,
    );
    cases.add(
        "channels.invite (one user)",
        ("post", "/api/v1/channels.invite", 200),
        post(
            &app,
            &admin,
            "channels.invite",
            json!({ "roomId": cid, "userId": carol.user_id }),
        )
        .await,
    );
    cases.add(
        "channels.invite (bulk)",
        ("post", "/api/v1/channels.invite", 200),
        post(
            &app,
            &admin,
            "channels.invite",
            json!({ "roomId": cid, "userIds": [carol.user_id, dave.user_id] }),
        )
        .await,
    );
    cases.add(
        "channels.kick",
        ("post", "/api/v1/channels.kick", 200),
        post(
            &app,
            &admin,
            "channels.kick",
            json!({ "roomId": cid, "userId": dave.user_id }),
        )
        .await,
    );
    cases.add(
        "channels.members",
        ("get", "/api/v1/channels.members", 200),
        get(&app, &admin, "channels.members", &[("roomId", &cid)]).await,
    );
    cases.add(
        "channels.list",
        ("get", "/api/v1/channels.list", 200),
        get(&app, &admin, "channels.list", &[]).await,
    );
    cases.add(
        "channels.list.joined",
        ("get", "/api/v1/channels.list.joined", 200),
        get(&app, &bob, "channels.list.joined", &[]).await,
    );

    // Groups.
    let created = post(
        &app,
        &admin,
        "groups.create",
        json!({ "name": "back-office", "members": ["bob"] }),
    )
    .await;
    let gid = created.1["group"]["_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    cases.add(
        "groups.create",
        ("post", "/api/v1/groups.create", 200),
        created,
    );
    cases.add(
        "groups.invite (bulk by username)",
        ("post", "/api/v1/groups.invite", 200),
        post(
            &app,
            &admin,
            "groups.invite",
            json!({ "roomId": gid, "usernames": [carol.username] }),
        )
        .await,
    );
    cases.add(
        "groups.members",
        ("get", "/api/v1/groups.members", 200),
        get(&app, &admin, "groups.members", &[("roomId", &gid)]).await,
    );
    cases.add(
        "groups.list",
        ("get", "/api/v1/groups.list", 200),
        get(&app, &bob, "groups.list", &[]).await,
    );

    // Direct messages: Rocket.Chat documents `im.*` under its `dm.*` alias.
    cases.add(
        "im.create",
        ("post", "/api/v1/dm.create", 200),
        post(
            &app,
            &bob,
            "im.create",
            json!({ "username": carol.username }),
        )
        .await,
    );
    cases.add(
        "im.list",
        ("get", "/api/v1/dm.list", 200),
        get(&app, &bob, "im.list", &[]).await,
    );

    // Messages, subscriptions, permissions, settings, search.
    cases.add(
        "chat.postMessage",
        ("post", "/api/v1/chat.postMessage", 200),
        post(
            &app,
            &bob,
            "chat.postMessage",
            json!({ "roomId": cid, "text": "hello" }),
        )
        .await,
    );
    cases.add(
        "subscriptions.get",
        ("get", "/api/v1/subscriptions.get", 200),
        get(&app, &bob, "subscriptions.get", &[]).await,
    );
    cases.add(
        "permissions.listAll",
        ("get", "/api/v1/permissions.listAll", 200),
        get(&app, &admin, "permissions.listAll", &[]).await,
    );
    cases.add(
        "roles.list",
        ("get", "/api/v1/roles.list", 200),
        get(&app, &admin, "roles.list", &[]).await,
    );
    cases.add(
        "settings.public",
        ("get", "/api/v1/settings.public", 200),
        app.get(None, "settings.public", &[]).await,
    );
    cases.add(
        "directory (channels)",
        ("get", "/api/v1/directory", 200),
        get(&app, &bob, "directory", &[]).await,
    );
    cases.add(
        "directory (users)",
        ("get", "/api/v1/directory", 200),
        get(&app, &bob, "directory", &[("type", "users")]).await,
    );
    cases.add(
        "spotlight",
        ("get", "/api/v1/spotlight", 200),
        get(&app, &bob, "spotlight", &[("query", "town")]).await,
    );
    cases.add(
        "rooms.get",
        ("get", "/api/v1/rooms.get", 200),
        get(&app, &bob, "rooms.get", &[]).await,
    );
    cases.add(
        "rooms.info",
        ("get", "/api/v1/rooms.info", 200),
        get(&app, &bob, "rooms.info", &[("roomId", &cid)]).await,
    );

    // The seeds' error bodies (001–003). `channels.invite` documents no 400 response; its
    // errors have the same shape as `groups.invite`'s, which is described.
    for family in ["channels.invite", "groups.invite"] {
        let room = if family == "channels.invite" {
            &cid
        } else {
            &gid
        };
        cases.add(
            format!("{family} without a room (seed: error-room-param-not-provided)"),
            ("post", "/api/v1/groups.invite", 400),
            post(&app, &admin, family, json!({ "userId": carol.user_id })).await,
        );
        cases.add(
            format!("{family} without users (seed: error-users-params-not-provided)"),
            ("post", "/api/v1/groups.invite", 400),
            post(&app, &admin, family, json!({ "roomId": room })).await,
        );
        cases.add(
            format!("{family} unauthenticated (seed: 401)"),
            ("post", path_of(family), 401),
            app.post(
                None,
                family,
                json!({ "roomId": room, "userId": carol.user_id }),
            )
            .await,
        );
    }
    // Not allowed: a plain user inviting into a group they are not in.
    cases.add(
        "groups.invite not allowed (seed: error-not-allowed, details.method)",
        ("post", "/api/v1/groups.invite", 400),
        post(
            &app,
            &dave,
            "groups.invite",
            json!({ "roomId": gid, "userId": dave.user_id }),
        )
        .await,
    );

    // Other documented failures of the same families.
    cases.add(
        "users.info of an unknown user",
        ("get", "/api/v1/users.info", 400),
        get(&app, &admin, "users.info", &[("userId", "nobody")]).await,
    );
    cases.add(
        "users.create with a taken username",
        ("post", "/api/v1/users.create", 400),
        post(
            &app,
            &admin,
            "users.create",
            json!({ "username": "bob", "name": "Bob", "email": "bob2@example.com", "password": "pw-123456" }),
        )
        .await,
    );
    cases.add(
        "groups.create with a taken name",
        ("post", "/api/v1/groups.create", 400),
        post(
            &app,
            &admin,
            "groups.create",
            json!({ "name": "back-office" }),
        )
        .await,
    );
    cases.add(
        "groups.members of an unknown group",
        ("get", "/api/v1/groups.members", 400),
        get(&app, &admin, "groups.members", &[("roomId", "nothing")]).await,
    );
    cases.add(
        "rooms.info of an unknown room",
        ("get", "/api/v1/rooms.info", 400),
        get(&app, &admin, "rooms.info", &[("roomId", "nothing")]).await,
    );
    cases.add(
        "im.create with an unknown user",
        ("post", "/api/v1/dm.create", 400),
        post(&app, &bob, "im.create", json!({ "username": "nobody" })).await,
    );
    cases.add(
        "chat.postMessage without a room",
        ("post", "/api/v1/chat.postMessage", 400),
        post(&app, &bob, "chat.postMessage", json!({ "text": "hello" })).await,
    );

    // Read receipts: bob reads the admin's message in a group they share.
    let (receipts_rid, _) = app.room(&admin, "p", &["bob"]).await;
    let posted = post(
        &app,
        &admin,
        "chat.postMessage",
        json!({ "roomId": receipts_rid, "text": "read me" }),
    )
    .await;
    let read_id = posted.1["message"]["_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    post(
        &app,
        &bob,
        "subscriptions.read",
        json!({ "rid": receipts_rid }),
    )
    .await;
    let receipts = get(
        &app,
        &admin,
        "chat.getMessageReadReceipts",
        &[("messageId", &read_id)],
    )
    .await;
    assert_eq!(
        receipts.1["receipts"].as_array().map(Vec::len),
        Some(1),
        "{}",
        receipts.1
    );
    cases.add(
        "chat.getMessageReadReceipts",
        ("get", "/api/v1/chat.getMessageReadReceipts", 200),
        receipts,
    );
    cases.add(
        "chat.getMessageReadReceipts without messageId",
        ("get", "/api/v1/chat.getMessageReadReceipts", 400),
        get(&app, &admin, "chat.getMessageReadReceipts", &[]).await,
    );
    parity_cases(&app, &admin, &bob, &carol, &mut cases).await;

    // The fixture holds exactly what these cases (and `/api/info` below) look up: nothing
    // missing, nothing stale.
    let mut used: BTreeSet<String> = cases
        .0
        .iter()
        .map(|c| fixture::key(c.method, c.path, c.status))
        .collect();
    used.insert(fixture::key("get", "/api/info", 200));
    let listed: BTreeSet<String> = fixture::OPERATIONS
        .iter()
        .map(|&(m, p, s)| fixture::key(m, p, s))
        .collect();
    assert_eq!(
        used, listed,
        "fixture::OPERATIONS must list exactly the responses these cases check \
         (then run scripts/openapi-fixture)"
    );

    let mut failures = Vec::new();
    let mut gaps_seen = vec![false; SPEC_GAPS.len()];
    for case in &cases.0 {
        let (status, body) = &case.got;
        if status.as_u16() != case.status {
            failures.push(format!(
                "{}: expected HTTP {}, got {status}: {body}",
                case.label, case.status
            ));
            continue;
        }
        let Some(schema) = spec.schema(case.method, case.path, case.status) else {
            failures.push(format!(
                "{}: the spec has no JSON schema for {} {} {}",
                case.label, case.method, case.path, case.status
            ));
            continue;
        };
        for (path, message) in violations(&schema, body) {
            let gap = SPEC_GAPS
                .iter()
                .position(|(label, at, _)| *label == case.label && path_matches(at, &path));
            match gap {
                Some(i) => gaps_seen[i] = true,
                None => failures.push(format!(
                    "{} ({} {} {}): at {path}: {message}",
                    case.label, case.method, case.path, case.status
                )),
            }
        }
    }
    for (seen, (label, at, _)) in gaps_seen.iter().zip(SPEC_GAPS) {
        if !seen {
            failures.push(format!(
                "SPEC_GAPS entry ({label}, {at}) no longer occurs: remove it"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} response(s) do not match Rocket.Chat's OpenAPI schemas:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // `/api/info` is not in the description (checked, so that a later copy that adds it is
    // noticed here); its fields are pinned by the snapshot tests instead.
    assert!(spec.schema("get", "/api/info", 200).is_none());
    let (status, info) = app.get(None, "/api/info", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        info["version"].is_string() && info["success"] == json!(true),
        "{info}"
    );
}

fn path_of(family: &str) -> &'static str {
    match family {
        "channels.invite" => "/api/v1/channels.invite",
        _ => "/api/v1/groups.invite",
    }
}

/// The endpoints of the API parity work (issue 14): reactions, pins, stars, threads and syncs,
/// room settings, dm.* and rooms.* administration, preferences, avatars, reports.
async fn parity_cases(
    app: &TestApp,
    admin: &Session,
    bob: &Session,
    carol: &Session,
    cases: &mut Cases,
) {
    let (cid, _) = app.room(admin, "c", &[&bob.username]).await;
    let (gid, _) = app.room(admin, "p", &[&bob.username]).await;
    let posted = post(
        app,
        admin,
        "chat.postMessage",
        json!({"roomId": cid, "text": format!("hi @{}", bob.username)}),
    )
    .await;
    let mid = posted.1["message"]["_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let since = posted.1["message"]["ts"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    post(
        app,
        bob,
        "chat.postMessage",
        json!({"roomId": cid, "text": "reply", "tmid": mid}),
    )
    .await;
    let gone = post(
        app,
        bob,
        "chat.postMessage",
        json!({"roomId": cid, "text": "gone"}),
    )
    .await;
    post(
        app,
        bob,
        "chat.delete",
        json!({"roomId": cid, "msgId": gone.1["message"]["_id"]}),
    )
    .await;
    let m = mid.as_str();
    let c = cid.as_str();
    let since = since.as_str();

    cases.add(
        "chat.react",
        ("post", "/api/v1/chat.react", 200),
        post(
            app,
            bob,
            "chat.react",
            json!({"messageId": m, "emoji": "smile"}),
        )
        .await,
    );
    cases.add(
        "chat.react without messageId",
        ("post", "/api/v1/chat.react", 400),
        post(app, bob, "chat.react", json!({"emoji": "smile"})).await,
    );
    cases.add(
        "chat.pinMessage",
        ("post", "/api/v1/chat.pinMessage", 200),
        post(app, admin, "chat.pinMessage", json!({"messageId": m})).await,
    );
    cases.add(
        "chat.getPinnedMessages",
        ("get", "/api/v1/chat.getPinnedMessages", 200),
        get(app, bob, "chat.getPinnedMessages", &[("roomId", c)]).await,
    );
    cases.add(
        "chat.unPinMessage",
        ("post", "/api/v1/chat.unPinMessage", 200),
        post(app, admin, "chat.unPinMessage", json!({"messageId": m})).await,
    );
    cases.add(
        "chat.starMessage",
        ("post", "/api/v1/chat.starMessage", 200),
        post(app, bob, "chat.starMessage", json!({"messageId": m})).await,
    );
    cases.add(
        "chat.getStarredMessages",
        ("get", "/api/v1/chat.getStarredMessages", 200),
        get(app, bob, "chat.getStarredMessages", &[("roomId", c)]).await,
    );
    cases.add(
        "chat.followMessage",
        ("post", "/api/v1/chat.followMessage", 200),
        post(app, bob, "chat.followMessage", json!({"mid": m})).await,
    );
    cases.add(
        "chat.getThreadMessages",
        ("get", "/api/v1/chat.getThreadMessages", 200),
        get(app, bob, "chat.getThreadMessages", &[("tmid", m)]).await,
    );
    cases.add(
        "chat.getThreadsList",
        ("get", "/api/v1/chat.getThreadsList", 200),
        get(app, bob, "chat.getThreadsList", &[("rid", c)]).await,
    );
    cases.add(
        "chat.syncThreadsList",
        ("get", "/api/v1/chat.syncThreadsList", 200),
        get(
            app,
            bob,
            "chat.syncThreadsList",
            &[("rid", c), ("updatedSince", since)],
        )
        .await,
    );
    cases.add(
        "chat.syncThreadMessages",
        ("get", "/api/v1/chat.syncThreadMessages", 200),
        get(
            app,
            bob,
            "chat.syncThreadMessages",
            &[("tmid", m), ("updatedSince", since)],
        )
        .await,
    );
    cases.add(
        "chat.getDeletedMessages",
        ("get", "/api/v1/chat.getDeletedMessages", 200),
        get(
            app,
            bob,
            "chat.getDeletedMessages",
            &[("roomId", c), ("since", since)],
        )
        .await,
    );
    cases.add(
        "chat.syncMessages",
        ("get", "/api/v1/chat.syncMessages", 200),
        get(
            app,
            bob,
            "chat.syncMessages",
            &[("roomId", c), ("lastUpdate", since)],
        )
        .await,
    );
    cases.add(
        "chat.search",
        ("get", "/api/v1/chat.search", 200),
        get(
            app,
            bob,
            "chat.search",
            &[("roomId", c), ("searchText", "hi")],
        )
        .await,
    );
    cases.add(
        "chat.getMentionedMessages",
        ("get", "/api/v1/chat.getMentionedMessages", 200),
        get(app, bob, "chat.getMentionedMessages", &[("roomId", c)]).await,
    );
    cases.add(
        "chat.reportMessage",
        ("post", "/api/v1/chat.reportMessage", 200),
        post(
            app,
            bob,
            "chat.reportMessage",
            json!({"messageId": m, "description": "spam"}),
        )
        .await,
    );

    cases.add(
        "channels.setCustomFields",
        ("post", "/api/v1/channels.setCustomFields", 200),
        post(
            app,
            admin,
            "channels.setCustomFields",
            json!({"roomId": c, "customFields": {"team": "blue"}}),
        )
        .await,
    );
    cases.add(
        "channels.setPurpose",
        ("post", "/api/v1/channels.setPurpose", 200),
        post(
            app,
            admin,
            "channels.setPurpose",
            json!({"roomId": c, "purpose": "plans"}),
        )
        .await,
    );
    cases.add(
        "channels.setDefault",
        ("post", "/api/v1/channels.setDefault", 200),
        post(
            app,
            admin,
            "channels.setDefault",
            json!({"roomId": c, "default": false}),
        )
        .await,
    );
    cases.add(
        "groups.setEncrypted",
        ("post", "/api/v1/groups.setEncrypted", 200),
        post(
            app,
            admin,
            "groups.setEncrypted",
            json!({"roomId": gid, "encrypted": true}),
        )
        .await,
    );
    cases.add(
        "rooms.favorite",
        ("post", "/api/v1/rooms.favorite", 200),
        post(
            app,
            bob,
            "rooms.favorite",
            json!({"roomId": c, "favorite": true}),
        )
        .await,
    );
    cases.add(
        "channels.online",
        ("get", "/api/v1/channels.online", 200),
        get(app, bob, "channels.online", &[("_id", c)]).await,
    );
    cases.add(
        "channels.files",
        ("get", "/api/v1/channels.files", 200),
        get(app, bob, "channels.files", &[("roomId", c)]).await,
    );
    cases.add(
        "channels.getIntegrations",
        ("get", "/api/v1/channels.getIntegrations", 200),
        get(app, admin, "channels.getIntegrations", &[("roomId", c)]).await,
    );
    cases.add(
        "channels.getAllUserMentionsByChannel",
        ("get", "/api/v1/channels.getAllUserMentionsByChannel", 200),
        get(
            app,
            bob,
            "channels.getAllUserMentionsByChannel",
            &[("roomId", c)],
        )
        .await,
    );
    cases.add(
        "rooms.adminRooms",
        ("get", "/api/v1/rooms.adminRooms", 200),
        get(app, admin, "rooms.adminRooms", &[]).await,
    );

    let dm = post(app, bob, "dm.create", json!({"username": carol.username})).await;
    let dm_id = dm.1["room"]["_id"].as_str().unwrap_or_default().to_string();
    cases.add(
        "dm.setTopic",
        ("post", "/api/v1/dm.setTopic", 200),
        post(
            app,
            bob,
            "dm.setTopic",
            json!({"roomId": dm_id, "topic": "lunch"}),
        )
        .await,
    );
    cases.add(
        "dm.files",
        ("get", "/api/v1/dm.files", 200),
        get(app, bob, "dm.files", &[("roomId", &dm_id)]).await,
    );
    cases.add(
        "dm.list.everyone",
        ("get", "/api/v1/dm.list.everyone", 200),
        get(app, admin, "dm.list.everyone", &[]).await,
    );
    cases.add("rooms.cleanHistory", ("post", "/api/v1/rooms.cleanHistory", 200), post(app, admin, "rooms.cleanHistory", json!({"roomId": gid, "oldest": "2000-01-01T00:00:00.000Z", "latest": "2100-01-01T00:00:00.000Z"})).await);

    cases.add(
        "users.setPreferences",
        ("post", "/api/v1/users.setPreferences", 200),
        post(
            app,
            bob,
            "users.setPreferences",
            json!({"data": {"useEmojis": true}}),
        )
        .await,
    );
    cases.add(
        "users.getPreferences",
        ("get", "/api/v1/users.getPreferences", 200),
        get(app, bob, "users.getPreferences", &[]).await,
    );
    cases.add(
        "users.resetAvatar",
        ("post", "/api/v1/users.resetAvatar", 200),
        post(app, bob, "users.resetAvatar", json!({})).await,
    );
    cases.add(
        "users.forgotPassword",
        ("post", "/api/v1/users.forgotPassword", 200),
        app.post(
            None,
            "users.forgotPassword",
            json!({"email": "nobody@example.com"}),
        )
        .await,
    );
}
