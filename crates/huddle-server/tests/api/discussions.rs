//! Discussions (`rooms.createDiscussion`, `rooms.getDiscussions`, `chat.getDiscussions`),
//! `chat.ignoreUser` and unread threads (`chat.getThreadsList?type=unread`), with their errors
//! and who may do what.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};

async fn post(app: &TestApp, who: &Session, rid: &str, text: &str) -> String {
    let v = app
        .ok(
            who,
            "chat.postMessage",
            json!({"roomId": rid, "text": text}),
        )
        .await;
    v["message"]["_id"].as_str().expect("id").to_string()
}

async fn discussion(app: &TestApp, who: &Session, body: Value) -> Value {
    app.ok(who, "rooms.createDiscussion", body).await["discussion"].clone()
}

/// Member ids of a group, as one of its members sees them.
async fn members(app: &TestApp, who: &Session, rid: &str) -> Vec<String> {
    let v = app
        .get_ok(who, "groups.members", &[("roomId", rid), ("count", "0")])
        .await;
    let mut ids = ids(&v["members"], "_id");
    ids.sort();
    ids
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|v| v[key].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_discussion_is_a_room_with_a_parent_and_a_note_in_it() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (rid, parent_name) = app
        .room(&alice, "p", &[&bob.username, &carol.username])
        .await;
    let d = discussion(
        &app,
        &alice,
        json!({"prid": rid, "t_name": "Launch plan", "users": [carol.username], "reply": "first!"}),
    )
    .await;
    let did = d["_id"].as_str().expect("id").to_string();
    assert_eq!(d["rid"], json!(did), "{d}");
    assert_eq!(d["prid"], json!(rid), "{d}");
    assert_eq!(d["fname"], "Launch plan", "{d}");
    assert_eq!(d["t"], "p", "a group's discussion is private: {d}");
    assert_eq!(d["topic"], json!(parent_name), "{d}");
    assert_ne!(d["name"], "Launch plan", "{d}");
    let joined = members(&app, &alice, &did).await;
    let mut want = vec![alice.user_id.clone(), carol.user_id.clone()];
    want.sort();
    assert_eq!(joined, want);
    // The reply is the discussion's first message.
    let history = app
        .get_ok(&carol, "groups.history", &[("roomId", &did)])
        .await;
    assert_eq!(history["messages"][0]["msg"], "first!", "{history}");
    // rooms.info shows the parent too.
    assert_eq!(app.room_info(&carol, &did).await["prid"], json!(rid));

    // The parent's note: `discussion-created`, naming the discussion, with its counts.
    let notes = app
        .get_ok(&bob, "chat.getDiscussions", &[("roomId", &rid)])
        .await;
    assert_eq!(notes["total"], 1, "{notes}");
    let note = &notes["messages"][0];
    assert_eq!(note["t"], "discussion-created", "{note}");
    assert_eq!(note["msg"], "Launch plan", "{note}");
    assert_eq!(note["drid"], json!(did), "{note}");
    assert_eq!(note["dcount"], 1, "{note}");
    assert!(note["dlm"].is_string(), "{note}");
    post(&app, &carol, &did, "second").await;
    let notes = app
        .get_ok(&bob, "chat.getDiscussions", &[("roomId", &rid)])
        .await;
    assert_eq!(notes["messages"][0]["dcount"], 2, "{notes}");
    // The room's own history shows the same counts.
    let history = app
        .get_ok(&bob, "groups.history", &[("roomId", &rid)])
        .await;
    let in_history = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["t"] == "discussion-created")
        .cloned()
        .expect("note in history");
    assert_eq!(in_history["dcount"], 2, "{in_history}");

    // From a message of someone else: its author joins, and asking again hands back the same.
    let mid = post(&app, &bob, &rid, "should we ship friday?").await;
    let from_msg = json!({"prid": rid, "pmid": mid, "t_name": "Friday"});
    let d2 = discussion(&app, &alice, from_msg.clone()).await;
    let d2id = d2["_id"].as_str().unwrap().to_string();
    assert_eq!(d2["description"], "should we ship friday?", "{d2}");
    assert!(members(&app, &alice, &d2id).await.contains(&bob.user_id));
    let again = discussion(&app, &alice, from_msg).await;
    assert_eq!(again["_id"], json!(d2id));
    let quoted = app
        .get_ok(
            &bob,
            "chat.getDiscussions",
            &[("roomId", &rid), ("text", "fri")],
        )
        .await;
    assert_eq!(ids(&quoted["messages"], "drid"), vec![d2id.clone()]);
    assert_eq!(
        quoted["messages"][0]["attachments"][0]["text"],
        "should we ship friday?"
    );

    // rooms.getDiscussions: by name, with paging.
    let listed = app
        .get_ok(&bob, "rooms.getDiscussions", &[("roomId", &rid)])
        .await;
    assert_eq!(listed["total"], 2, "{listed}");
    assert_eq!(
        ids(&listed["discussions"], "fname"),
        vec!["Friday", "Launch plan"]
    );
    assert_eq!(
        listed["discussions"][1]["lastMessage"]["msg"], "second",
        "{listed}"
    );
    let page = app
        .get_ok(
            &bob,
            "rooms.getDiscussions",
            &[("roomId", &rid), ("count", "1"), ("offset", "1")],
        )
        .await;
    assert_eq!(ids(&page["discussions"], "fname"), vec!["Launch plan"]);
    assert_eq!(page["count"], 1);

    // Only people who may read the parent come along: an outsider named in `users` is not
    // added to a private group's discussion.
    let outsider = app.user("out").await;
    let d3 = discussion(
        &app,
        &alice,
        json!({"prid": rid, "t_name": "Inner", "users": [outsider.username, bob.username]}),
    )
    .await;
    let joined = members(&app, &alice, d3["_id"].as_str().unwrap()).await;
    assert!(joined.contains(&bob.user_id), "{joined:?}");
    assert!(!joined.contains(&outsider.user_id), "{joined:?}");

    // A channel's discussions are channels.
    let (cid, _) = app.room(&alice, "c", &[]).await;
    let dc = discussion(&app, &bob, json!({"prid": cid, "t_name": "open"})).await;
    assert_eq!(dc["t"], "c", "{dc}");
}

#[tokio::test]
async fn discussions_refuse_bad_input_and_the_unauthorised() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let (other, _) = app.room(&alice, "p", &[]).await;
    let cases: Vec<(&str, &Session, Value, &str)> = vec![
        (
            "no prid",
            &alice,
            json!({"t_name": "x"}),
            "Body parameter \"prid\" is required.",
        ),
        (
            "no name",
            &alice,
            json!({"prid": rid}),
            "Body parameter \"t_name\" is required.",
        ),
        (
            "users not a list",
            &alice,
            json!({"prid": rid, "t_name": "x", "users": 5}),
            "Body parameter \"users\" must be an array.",
        ),
        (
            "encrypted not a boolean",
            &alice,
            json!({"prid": rid, "t_name": "x", "encrypted": "yes"}),
            "Body parameter \"encrypted\" must be a boolean when included.",
        ),
    ];
    for (name, who, body, error) in cases {
        let (status, v) = app.post(Some(who), "rooms.createDiscussion", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {v}");
        assert_eq!(v["error"], error, "{name}: {v}");
    }
    let coded: Vec<(&str, &Session, Value, &str)> = vec![
        (
            "unknown parent",
            &alice,
            json!({"prid": "nope", "t_name": "x"}),
            "error-invalid-room",
        ),
        (
            "outsider",
            &outsider,
            json!({"prid": rid, "t_name": "x"}),
            "error-not-allowed",
        ),
        (
            "message of another room",
            &alice,
            json!({"prid": rid, "t_name": "x", "pmid": post(&app, &alice, &other, "elsewhere").await}),
            "error-invalid-message",
        ),
        (
            "encrypted with a reply",
            &alice,
            json!({"prid": rid, "t_name": "x", "encrypted": true, "reply": "hi"}),
            "error-invalid-arguments",
        ),
    ];
    for (name, who, body, code) in coded {
        let (status, v) = app.post(Some(who), "rooms.createDiscussion", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {v}");
        assert_eq!(v["errorType"], code, "{name}: {v}");
    }
    // No nesting.
    let d = discussion(&app, &alice, json!({"prid": rid, "t_name": "one"})).await;
    let (_, v) = app
        .post(
            Some(&alice),
            "rooms.createDiscussion",
            json!({"prid": d["_id"], "t_name": "two"}),
        )
        .await;
    assert_eq!(v["errorType"], "error-nested-discussion", "{v}");

    // Without start-discussion-other-user, only from one's own messages.
    let bobs = post(&app, &bob, &rid, "bob's").await;
    let alices = post(&app, &alice, &rid, "alice's").await;
    app.ok(
        &app.admin,
        "permissions.update",
        json!({"permissions": [{"_id": "start-discussion-other-user", "roles": ["admin"]}]}),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&bob),
            "rooms.createDiscussion",
            json!({"prid": rid, "t_name": "x", "pmid": alices}),
        )
        .await;
    assert_eq!(v["errorType"], "error-action-not-allowed", "{v}");
    discussion(
        &app,
        &bob,
        json!({"prid": rid, "t_name": "mine", "pmid": bobs}),
    )
    .await;
    // Without either permission, none at all.
    app.ok(
        &app.admin,
        "permissions.update",
        json!({"permissions": [{"_id": "start-discussion", "roles": ["admin"]}]}),
    )
    .await;
    let (_, v) = app
        .post(
            Some(&bob),
            "rooms.createDiscussion",
            json!({"prid": rid, "t_name": "x"}),
        )
        .await;
    assert_eq!(v["errorType"], "error-action-not-allowed", "{v}");
    assert_eq!(
        v["error"],
        "You are not allowed to create a discussion [error-action-not-allowed]"
    );

    // The lists: only for those who may read the parent.
    let (status, v) = app
        .get(Some(&outsider), "chat.getDiscussions", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "error-not-allowed", "{v}");
    let (status, v) = app.get(Some(&alice), "chat.getDiscussions", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = app
        .get(Some(&outsider), "rooms.getDiscussions", &[("roomId", &rid)])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "Not Allowed", "{v}");
    let (_, v) = app.get(Some(&alice), "rooms.getDiscussions", &[]).await;
    assert_eq!(v["errorType"], "error-room-param-not-provided", "{v}");
}

#[tokio::test]
async fn ignoring_a_member_is_kept_on_the_subscription() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let sub = |who: Session| {
        let app = &app;
        let rid = rid.clone();
        async move {
            app.get_ok(&who, "subscriptions.getOne", &[("roomId", &rid)])
                .await["subscription"]
                .clone()
        }
    };
    app.get_ok(
        &alice,
        "chat.ignoreUser",
        &[("rid", &rid), ("userId", &bob.user_id)],
    )
    .await;
    assert_eq!(sub(alice.clone()).await["ignored"], json!([bob.user_id]));
    assert!(sub(bob.clone()).await.get("ignored").is_none());
    // Again changes nothing; `ignore=false` lifts it.
    app.get_ok(
        &alice,
        "chat.ignoreUser",
        &[("rid", &rid), ("userId", &bob.user_id), ("ignore", "true")],
    )
    .await;
    assert_eq!(sub(alice.clone()).await["ignored"], json!([bob.user_id]));
    app.get_ok(
        &alice,
        "chat.ignoreUser",
        &[("rid", &rid), ("userId", &bob.user_id), ("ignore", "false")],
    )
    .await;
    assert!(sub(alice.clone()).await.get("ignored").is_none());

    /// (case, caller, query, expected errorType)
    type Case<'a> = (&'a str, &'a Session, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no rid",
            &alice,
            vec![("userId", &bob.user_id)],
            "error-room-id-param-not-provided",
        ),
        (
            "no user",
            &alice,
            vec![("rid", &rid)],
            "error-user-id-param-not-provided",
        ),
        (
            "not a member",
            &alice,
            vec![("rid", &rid), ("userId", &outsider.user_id)],
            "error-invalid-subscription",
        ),
        (
            "caller not a member",
            &outsider,
            vec![("rid", &rid), ("userId", &bob.user_id)],
            "error-invalid-subscription",
        ),
    ];
    for (name, who, query, code) in cases {
        let (status, v) = app.get(Some(who), "chat.ignoreUser", &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {v}");
        assert_eq!(v["errorType"], code, "{name}: {v}");
    }
}

#[tokio::test]
async fn unread_threads_are_the_followed_ones_with_new_replies() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (rid, _) = app
        .room(&alice, "c", &[&bob.username, &carol.username])
        .await;
    let root = post(&app, &alice, &rid, "a question").await;
    let quiet = post(&app, &alice, &rid, "another").await;
    app.ok(
        &bob,
        "chat.postMessage",
        json!({"roomId": rid, "text": "an answer", "tmid": root}),
    )
    .await;
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "self", "tmid": quiet}),
    )
    .await;
    let unread = |who: Session| {
        let app = &app;
        let rid = rid.clone();
        async move {
            let v = app
                .get_ok(
                    &who,
                    "chat.getThreadsList",
                    &[("rid", &rid), ("type", "unread")],
                )
                .await;
            ids(&v["threads"], "_id")
        }
    };
    // The author follows their thread and has a reply to read; the replier wrote it; carol
    // follows nothing; alice's reply to her own thread is no news to her.
    assert_eq!(unread(alice.clone()).await, vec![root.clone()]);
    assert!(unread(bob.clone()).await.is_empty());
    assert!(unread(carol.clone()).await.is_empty());
    // Alice answers: now bob (a follower since his reply) has it unread.
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "thanks", "tmid": root}),
    )
    .await;
    assert_eq!(unread(bob.clone()).await, vec![root.clone()]);
    // Reading the room with its threads clears them.
    app.ok(
        &alice,
        "subscriptions.read",
        json!({"rid": rid, "readThreads": true}),
    )
    .await;
    assert!(unread(alice.clone()).await.is_empty());
    assert_eq!(unread(bob.clone()).await, vec![root.clone()]);
    // Reading without readThreads leaves them.
    app.ok(&bob, "subscriptions.read", json!({"rid": rid}))
        .await;
    assert_eq!(unread(bob.clone()).await, vec![root]);
    let (_, v) = app
        .get(
            Some(&bob),
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "mine")],
        )
        .await;
    assert_eq!(v["errorType"], "error-invalid-params", "{v}");
}

#[tokio::test]
async fn ddp_methods_for_stars_threads_ignores_discussions_and_invites() {
    use crate::ddp::Ddp;
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let id = post(&app, &bob, &rid, "star me").await;
    let mut a = Ddp::resume(&app, &alice).await;
    let mut b = Ddp::resume(&app, &bob).await;

    // Stars: the caller's own; an outsider's star is `false`.
    let star = json!([{"_id": id, "rid": rid, "starred": true}]);
    assert_eq!(a.ok("starMessage", star.clone()).await, true);
    let starred = app
        .get_ok(&alice, "chat.getStarredMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(ids(&starred["messages"], "_id"), vec![id.clone()]);
    let mut c = Ddp::resume(&app, &carol).await;
    assert_eq!(c.ok("starMessage", star).await, false);
    let e = a.err("starMessage", json!([{"_id": id}])).await;
    assert_eq!(e["reason"], "Match failed", "{e}");

    // Threads: follow, unfollow, read.
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "reply", "tmid": id}),
    )
    .await;
    assert_eq!(b.ok("unfollowMessage", json!([{"mid": id}])).await, true);
    let following = app
        .get_ok(
            &bob,
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "following")],
        )
        .await;
    assert_eq!(following["threads"], json!([]), "{following}");
    assert_eq!(b.ok("followMessage", json!([{"mid": id}])).await, true);
    let unread = app
        .get_ok(
            &bob,
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "unread")],
        )
        .await;
    assert_eq!(ids(&unread["threads"], "_id"), vec![id.clone()]);
    b.ok("readThreads", json!([id])).await;
    let unread = app
        .get_ok(
            &bob,
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "unread")],
        )
        .await;
    assert_eq!(unread["threads"], json!([]), "{unread}");
    let e = c.err("followMessage", json!([{"mid": id}])).await;
    assert_eq!(e["error"], "error-not-allowed", "{e}");

    // getThreadMessages: the first message, then the replies newest first; reading them
    // marks the thread read.
    app.ok(
        &alice,
        "chat.postMessage",
        json!({"roomId": rid, "text": "second reply", "tmid": id}),
    )
    .await;
    let texts = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("an array")
            .iter()
            .map(|m| m["msg"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let all = b.ok("getThreadMessages", json!([{"tmid": id}])).await;
    assert_eq!(texts(&all), ["star me", "second reply", "reply"], "{all}");
    let unread = app
        .get_ok(
            &bob,
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "unread")],
        )
        .await;
    assert_eq!(unread["threads"], json!([]), "{unread}");
    let page = b
        .ok(
            "getThreadMessages",
            json!([{"tmid": id, "limit": 1, "skip": 1}]),
        )
        .await;
    assert_eq!(texts(&page), ["star me", "reply"], "{page}");
    let e = b
        .err("getThreadMessages", json!([{"tmid": id, "limit": 101}]))
        .await;
    assert_eq!(e["reason"], "max limit: 100", "{e}");
    let e = c.err("getThreadMessages", json!([{"tmid": id}])).await;
    assert_eq!(e["error"], "error-not-allowed", "{e}");
    let lone = post(&app, &bob, &rid, "no thread here").await;
    assert_eq!(
        b.ok("getThreadMessages", json!([{"tmid": lone}])).await,
        json!([])
    );
    assert_eq!(
        b.ok("getThreadMessages", json!([{"tmid": "nope"}])).await,
        json!([])
    );
    let e = b.err("getThreadMessages", json!([{"tmid": 7}])).await;
    assert_eq!(e["reason"], "Match failed", "{e}");

    // Ignoring.
    assert_eq!(
        a.ok("ignoreUser", json!([{"rid": rid, "userId": bob.user_id}]))
            .await,
        true
    );
    let sub = app
        .get_ok(&alice, "subscriptions.getOne", &[("roomId", &rid)])
        .await;
    assert_eq!(sub["subscription"]["ignored"], json!([bob.user_id]));
    let e = c
        .err("ignoreUser", json!([{"rid": rid, "userId": bob.user_id}]))
        .await;
    assert_eq!(e["error"], "error-invalid-subscription", "{e}");

    // Discussions.
    let d = a
        .ok(
            "createDiscussion",
            json!([{"prid": rid, "pmid": id, "t_name": "from ddp", "reply": "go"}]),
        )
        .await;
    assert_eq!(d["prid"], json!(rid), "{d}");
    assert_eq!(d["rid"], d["_id"], "{d}");
    assert!(d["ts"]["$date"].is_i64(), "{d}");
    let e = c
        .err("createDiscussion", json!([{"prid": rid, "t_name": "x"}]))
        .await;
    assert_eq!(e["error"], "error-not-allowed", "{e}");

    // Invite links: made by the owner, used by carol, refused to a plain member.
    let inv = a
        .ok(
            "findOrCreateInvite",
            json!([{"rid": rid, "days": 1, "maxUses": 1}]),
        )
        .await;
    let token = inv["inviteToken"].as_str().expect("token").to_string();
    assert!(inv["expires"]["$date"].is_i64(), "{inv}");
    assert_eq!(c.ok("validateInviteToken", json!([token])).await, true);
    // Listing needs the permission globally: the administrator's.
    let e = a.err("listInvites", json!([])).await;
    assert_eq!(e["error"], "not_authorized", "{e}");
    let mut admin = Ddp::resume(&app, &app.admin).await;
    let listed = admin.ok("listInvites", json!([])).await;
    assert!(listed.to_string().contains(inv["_id"].as_str().unwrap()));
    assert!(!listed.to_string().contains(&token), "{listed}");
    let joined = c.ok("useInviteToken", json!([token])).await;
    assert_eq!(joined["room"]["rid"], json!(rid), "{joined}");
    assert_eq!(c.ok("validateInviteToken", json!([token])).await, false);
    let e = b
        .err(
            "findOrCreateInvite",
            json!([{"rid": rid, "days": 1, "maxUses": 1}]),
        )
        .await;
    assert_eq!(e["error"], "not_authorized", "{e}");
    assert_eq!(
        admin.ok("removeInvite", json!([{"_id": inv["_id"]}])).await,
        true
    );
    let e = admin
        .err("removeInvite", json!([{"_id": inv["_id"]}]))
        .await;
    assert_eq!(e["error"], "invalid-invitation-id", "{e}");
}
