//! Each DDP method: a success and at least one refusal, with Rocket.Chat's error objects.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Ddp;
use crate::helpers::TestApp;

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn login_three_ways_and_refusals() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut d = Ddp::connect(&app).await;
    let r = d.login(&alice.username, "pw-123456").await;
    assert_eq!(r["id"], json!(alice.user_id));
    assert_eq!(r["type"], "password");
    assert!(r["tokenExpires"]["$date"].as_i64().unwrap() > 0, "{r}");
    let token = r["token"].as_str().unwrap().to_string();
    // The DDP token works for REST too.
    let me = app
        .client
        .get(app.url("me"))
        .header("X-User-Id", &alice.user_id)
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let mut d = Ddp::connect(&app).await;
    let digest = json!({"digest": sha256_hex("pw-123456"), "algorithm": "sha-256"});
    let by_email = format!("{}@example.com", alice.username);
    let r = d
        .ok(
            "login",
            json!([{"user": {"email": by_email}, "password": digest}]),
        )
        .await;
    assert_eq!(
        (r["id"].clone(), r["type"].clone()),
        (json!(alice.user_id), json!("password"))
    );

    let mut d = Ddp::connect(&app).await;
    let r = d.ok("login", json!([{"resume": token}])).await;
    assert_eq!(r["type"], "resume");
    assert_eq!(r["token"], json!(token));

    let mut d = Ddp::connect(&app).await;
    let e = d
        .err(
            "login",
            json!([{"user": {"username": alice.username}, "password": "wrong"}]),
        )
        .await;
    assert_eq!(
        e,
        json!({"isClientSafe": true, "error": 403, "reason": "User not found",
               "message": "User not found [403]", "errorType": "Meteor.Error"})
    );
    let e = d
        .err(
            "login",
            json!([{"user": {"username": "nobody-here"}, "password": "x"}]),
        )
        .await;
    assert_eq!(e["reason"], "User not found");
    let e = d.err("login", json!([{"resume": "not-a-token"}])).await;
    assert_eq!(e["error"], 403);
    assert_eq!(
        e["reason"],
        "You've been logged out by the server. Please log in again."
    );
}

#[tokio::test]
async fn resume_tokens_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let token = {
        let mut d = Ddp::connect(&app).await;
        d.login(&bob.username, "pw-123456").await["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    app.restart().await;
    let mut d = Ddp::connect(&app).await;
    let r = d.ok("login", json!([{"resume": token}])).await;
    assert_eq!(r["id"], json!(bob.user_id));
}

#[tokio::test]
async fn logout_ends_the_login() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut d = Ddp::resume(&app, &alice).await;
    assert_eq!(d.ok("logout", json!([])).await, Value::Null);
    let e = d.err("subscriptions/get", json!([])).await;
    assert_eq!(e["error"], "error-invalid-user");
    assert_eq!(e["details"]["method"], "subscriptions/get");
    // The token is gone for REST too.
    let (status, _) = app.get(Some(&alice), "me", &[]).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn send_update_react_and_history() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&alice, "p", &[]).await;
    let mut a = Ddp::resume(&app, &alice).await;
    let m = a
        .ok(
            "sendMessage",
            json!([{"_id": "clientMsgId1", "rid": rid, "msg": "hello", "bot": {"i": "js.SDK"}}]),
        )
        .await;
    assert_eq!(m["_id"], "clientMsgId1");
    assert_eq!(m["msg"], "hello");
    assert!(m["ts"]["$date"].is_i64(), "EJSON dates: {m}");
    assert_eq!(m["bot"], json!({"i": "js.SDK"}));
    // A stranger to the private group is refused.
    let mut b = Ddp::resume(&app, &bob).await;
    let e = b
        .err("sendMessage", json!([{"rid": rid, "msg": "let me in"}]))
        .await;
    assert_eq!(e["error"], "error-not-allowed");
    assert_eq!(e["details"]["method"], "sendMessage");
    // A clock far off is refused.
    let e = a
        .err(
            "sendMessage",
            json!([{"rid": rid, "msg": "late", "ts": {"$date": 1000}}]),
        )
        .await;
    assert_eq!(e["error"], "error-message-ts-out-of-sync");

    assert_eq!(
        a.ok(
            "updateMessage",
            json!([{"_id": "clientMsgId1", "rid": rid, "msg": "hello!"}])
        )
        .await,
        Value::Null
    );
    let e = b
        .err(
            "updateMessage",
            json!([{"_id": "clientMsgId1", "rid": rid, "msg": "mine now"}]),
        )
        .await;
    assert_eq!(e["error"], "error-not-allowed");

    assert_eq!(
        a.ok("setReaction", json!([":thumbsup:", "clientMsgId1"]))
            .await,
        Value::Null
    );
    let e = a
        .err("setReaction", json!(["not an emoji", "clientMsgId1"]))
        .await;
    assert_eq!(e["error"], "error-not-allowed");
    let e = b
        .err("setReaction", json!([":smile:", "clientMsgId1"]))
        .await;
    assert_eq!(e["error"], "error-not-allowed");

    for i in 0..5 {
        a.ok("sendMessage", json!([{"rid": rid, "msg": format!("m{i}")}]))
            .await;
    }
    let h = a.ok("loadHistory", json!([rid, null, 3, null])).await;
    let texts: Vec<&str> = h["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["msg"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["m4", "m3", "m2"], "newest first: {h}");
    let edited = a.ok("loadHistory", json!([rid, null, 50])).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["_id"] == "clientMsgId1")
        .cloned()
        .unwrap();
    assert_eq!(edited["msg"], "hello!");
    assert!(edited["editedAt"]["$date"].is_i64());
    assert_eq!(
        edited["reactions"],
        json!({":thumbsup:": {"usernames": [alice.username]}})
    );
    // `end` bounds the page; `ls` reports what the page did not reach.
    let oldest_ts = h["messages"][2]["ts"].clone();
    let older = a.ok("loadHistory", json!([rid, oldest_ts, 10])).await;
    assert!(older["messages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["ts"]["$date"].as_i64() < oldest_ts["$date"].as_i64()));
    let with_ls = a
        .ok("loadHistory", json!([rid, null, 1, {"$date": 0}]))
        .await;
    assert!(
        with_ls["unreadNotLoaded"].as_i64().unwrap() >= 5,
        "{with_ls}"
    );
    assert!(with_ls["firstUnread"]["_id"].is_string());
    // No access: false, not an error.
    assert_eq!(
        b.ok("loadHistory", json!([rid, null, 20])).await,
        json!(false)
    );

    assert_eq!(a.ok("readMessages", json!([rid])).await, Value::Null);
    let e = b.err("readMessages", json!([rid])).await;
    assert_eq!(e["error"], "error-invalid-subscription");
}

#[tokio::test]
async fn room_lookups_and_roles() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (gid, gname) = app.room(&alice, "p", &[]).await;
    let (cid, cname) = app.room(&alice, "c", &[]).await;
    let mut a = Ddp::resume(&app, &alice).await;
    let mut b = Ddp::resume(&app, &bob).await;
    assert_eq!(
        a.ok("getRoomIdByNameOrId", json!([gname])).await,
        json!(gid)
    );
    assert_eq!(a.ok("getRoomIdByNameOrId", json!([gid])).await, json!(gid));
    assert_eq!(
        b.ok("getRoomIdByNameOrId", json!([cname])).await,
        json!(cid)
    );
    let e = b.err("getRoomIdByNameOrId", json!([gname])).await;
    assert_eq!(e["error"], "error-not-allowed");
    assert_eq!(e["details"]["method"], "getRoomIdByNameOrId");

    assert_eq!(a.ok("getRoomNameById", json!([gid])).await, json!(gname));
    assert_eq!(b.ok("getRoomNameById", json!([cid])).await, json!(cname));
    let e = b.err("getRoomNameById", json!([gid])).await;
    assert_eq!(e["error"], "error-not-allowed");

    let roles = a.ok("getRoomRoles", json!([gid])).await;
    assert_eq!(roles[0]["u"]["_id"], json!(alice.user_id));
    assert_eq!(roles[0]["roles"], json!(["owner"]));
    assert_eq!(roles[0]["rid"], json!(gid));
    let e = b.err("getRoomRoles", json!([gid])).await;
    assert_eq!(e["error"], "error-not-allowed");

    let subs = a.ok("subscriptions/get", json!([])).await;
    assert!(subs
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["rid"] == json!(gid)));
    assert!(subs[0]["ts"]["$date"].is_i64());
    let since = a.ok("subscriptions/get", json!([{"$date": 0}])).await;
    assert!(
        since["update"].is_array() && since["remove"].is_array(),
        "{since}"
    );
    let rooms = a.ok("rooms/get", json!([])).await;
    assert!(rooms
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["_id"] == json!(cid)));
    let since = a.ok("rooms/get", json!([{"$date": 0}])).await;
    assert!(since["update"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["_id"] == json!(gid) && r["_updatedAt"]["$date"].is_i64()));
    let future = a
        .ok("rooms/get", json!([{"$date": 32503680000000i64}]))
        .await;
    assert_eq!(future["update"], json!([]));
    let e = a.err("rooms/get", json!([{"$date": "x"}])).await;
    assert_eq!(e["error"], 400);
    let mut anon = Ddp::connect(&app).await;
    let e = anon.err("rooms/get", json!([])).await;
    assert_eq!(e["error"], "error-invalid-user");
}

async fn group_members(app: &TestApp, who: &crate::helpers::Session, gid: &str) -> Vec<String> {
    let v = app
        .get_ok(who, "groups.members", &[("roomId", gid), ("count", "0")])
        .await;
    v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn membership_methods() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (cid, _) = app.room(&alice, "c", &[]).await;
    let (gid, _) = app.room(&alice, "p", &[]).await;
    let mut a = Ddp::resume(&app, &alice).await;
    let mut b = Ddp::resume(&app, &bob).await;

    assert_eq!(b.ok("joinRoom", json!([cid])).await, json!(true));
    assert_eq!(
        b.ok("joinRoom", json!([cid])).await,
        Value::Null,
        "already in"
    );
    let e = b.err("joinRoom", json!([gid])).await;
    assert_eq!(e["error"], "error-not-allowed");
    let e = b.err("joinRoom", json!(["no-such-room"])).await;
    assert_eq!(e["error"], "error-invalid-room");

    assert_eq!(b.ok("leaveRoom", json!([cid])).await, Value::Null);
    let e = b.err("leaveRoom", json!([cid])).await;
    assert_eq!(e["error"], "error-user-not-in-room");
    let e = a.err("leaveRoom", json!([gid])).await;
    assert_eq!(e["error"], "error-you-are-last-owner");

    assert_eq!(
        a.ok(
            "addUsersToRoom",
            json!([{"rid": gid, "users": [bob.username]}])
        )
        .await,
        json!(true)
    );
    assert!(group_members(&app, &alice, &gid)
        .await
        .contains(&bob.user_id));
    let e = a
        .err(
            "addUsersToRoom",
            json!([{"rid": gid, "users": ["nobody-like-this"]}]),
        )
        .await;
    assert_eq!(e["error"], "error-invalid-username");
    let e = b
        .err(
            "addUsersToRoom",
            json!([{"rid": gid, "users": [carol.username]}]),
        )
        .await;
    assert_eq!(e["error"], "error-not-allowed");
    assert_eq!(e["details"]["method"], "addUsersToRoom");

    let e = b
        .err(
            "removeUserFromRoom",
            json!([{"rid": gid, "username": alice.username}]),
        )
        .await;
    assert_eq!(e["error"], "error-not-allowed");
    assert_eq!(
        a.ok(
            "removeUserFromRoom",
            json!([{"rid": gid, "username": bob.username}])
        )
        .await,
        json!(true)
    );
    assert!(!group_members(&app, &alice, &gid)
        .await
        .contains(&bob.user_id));

    let dm = a.ok("createDirectMessage", json!([bob.username])).await;
    assert_eq!(dm["t"], "d");
    assert!(dm["rid"].as_str().unwrap().contains(&alice.user_id));
    assert!(dm["usernames"]
        .as_array()
        .unwrap()
        .contains(&json!(bob.username)));
    let e = a.err("createDirectMessage", json!(["ghost-user"])).await;
    assert_eq!(e["error"], "error-invalid-user");
}

#[tokio::test]
async fn presence_methods() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let mut a = Ddp::resume(&app, &alice).await;
    let status = |v: Value| v["user"]["status"].clone();
    // A realtime login brings an offline user online.
    let info = app
        .get_ok(&alice, "users.info", &[("userId", &alice.user_id)])
        .await;
    assert_eq!(status(info), "online");
    assert_eq!(
        a.ok("UserPresence:setDefaultStatus", json!(["busy"])).await,
        json!(true)
    );
    let info = app
        .get_ok(&alice, "users.info", &[("userId", &alice.user_id)])
        .await;
    assert_eq!(status(info), "busy");
    let e = a
        .err("UserPresence:setDefaultStatus", json!(["dancing"]))
        .await;
    assert_eq!(e["error"], "error-invalid-status");
    assert_eq!(a.ok("UserPresence:away", json!([])).await, json!(true));
    assert_eq!(a.ok("UserPresence:online", json!([])).await, json!(true));
    // The last socket closing takes the user offline.
    drop(a);
    let mut offline = false;
    for _ in 0..50 {
        let info = app
            .get_ok(&alice, "users.info", &[("userId", &alice.user_id)])
            .await;
        if status(info) == "offline" {
            offline = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(offline);
}
