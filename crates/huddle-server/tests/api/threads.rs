//! Reactions, pins, stars, threads and the message lists and syncs around them (`chat.*`),
//! with their errors and who may do what.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::ddp::Ddp;
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

async fn reply(app: &TestApp, who: &Session, rid: &str, tmid: &str, text: &str) -> Value {
    app.ok(
        who,
        "chat.postMessage",
        json!({"roomId": rid, "text": text, "tmid": tmid}),
    )
    .await["message"]
        .clone()
}

async fn message(app: &TestApp, who: &Session, id: &str) -> Value {
    app.get_ok(who, "chat.getMessage", &[("msgId", id)]).await["message"].clone()
}

fn texts(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["msg"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn react_sets_and_clears_and_refuses_bad_input() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let id = post(&app, &alice, &rid, "react to me").await;
    app.ok(
        &bob,
        "chat.react",
        json!({"messageId": id, "emoji": "smile"}),
    )
    .await;
    app.ok(
        &alice,
        "chat.react",
        json!({"messageId": id, "reaction": ":smile:", "shouldReact": true}),
    )
    .await;
    let m = message(&app, &alice, &id).await;
    let mut names: Vec<String> = m["reactions"][":smile:"]["usernames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    names.sort();
    let mut want = vec![alice.username.clone(), bob.username.clone()];
    want.sort();
    assert_eq!(names, want);
    // Toggling removes; shouldReact=false on a missing one changes nothing.
    app.ok(
        &bob,
        "chat.react",
        json!({"messageId": id, "emoji": "smile"}),
    )
    .await;
    app.ok(
        &bob,
        "chat.react",
        json!({"messageId": id, "emoji": "smile", "shouldReact": false}),
    )
    .await;
    let m = message(&app, &alice, &id).await;
    assert_eq!(
        m["reactions"][":smile:"]["usernames"],
        json!([alice.username])
    );

    let cases = [
        (
            json!({"emoji": "smile"}),
            "error-messageid-param-not-provided",
        ),
        (
            json!({"messageId": "nope", "emoji": "smile"}),
            "error-message-not-found",
        ),
        (json!({"messageId": id}), "error-emoji-param-not-provided"),
        (
            json!({"messageId": id, "emoji": "a b"}),
            "error-not-allowed",
        ),
    ];
    for (body, code) in cases {
        let (status, v) = app.post(Some(&bob), "chat.react", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {v}");
        assert_eq!(v["errorType"], code, "{body} -> {v}");
    }
    // Someone who cannot see the private group learns nothing of the message.
    let (status, v) = app
        .post(
            Some(&outsider),
            "chat.react",
            json!({"messageId": id, "emoji": "smile"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-message-not-found", "{v}");
    let (status, _) = app
        .post(
            None,
            "chat.react",
            json!({"messageId": id, "emoji": "smile"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pins_need_pin_message_and_write_a_note() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let moderator = app.user("mod").await;
    let reader = app.user("reader").await;
    let (rid, _) = app
        .room(&owner, "c", &[&member.username, &moderator.username])
        .await;
    app.ok(
        &owner,
        "channels.addModerator",
        json!({"roomId": rid, "userId": moderator.user_id}),
    )
    .await;
    let id = post(&app, &member, &rid, "pin me").await;

    // Who may pin: owner, moderator and admin members; not a plain member, not a reader of the
    // public channel who is no member.
    for (who, allowed) in [
        (&member, false),
        (&reader, false),
        (&moderator, true),
        (&owner, true),
    ] {
        let (status, v) = app
            .post(Some(who), "chat.pinMessage", json!({"messageId": id}))
            .await;
        if allowed {
            assert_eq!(status, StatusCode::OK, "{} -> {v}", who.username);
            // Pinning what is pinned changes nothing more.
            continue;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST, "{} -> {v}", who.username);
        assert!(
            ["not-authorized", "error-action-not-allowed"]
                .contains(&v["errorType"].as_str().unwrap_or("")),
            "{v}"
        );
    }
    let pinned = message(&app, &owner, &id).await;
    assert_eq!(pinned["pinned"], true);
    assert_eq!(pinned["pinnedBy"]["_id"], json!(moderator.user_id));
    assert!(
        pinned["pinnedAt"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z')),
        "{pinned}"
    );
    // One note, by the first pinner, quoting the message.
    let history = app
        .get_ok(&owner, "channels.history", &[("roomId", &rid)])
        .await;
    let notes: Vec<&Value> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["t"] == "message_pinned")
        .collect();
    assert_eq!(notes.len(), 1, "{history}");
    assert_eq!(notes[0]["u"]["_id"], json!(moderator.user_id));
    assert_eq!(notes[0]["attachments"][0]["text"], "pin me");
    assert_eq!(
        notes[0]["attachments"][0]["author_name"],
        json!(member.username)
    );

    let list = app
        .get_ok(&member, "chat.getPinnedMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(texts(&list["messages"]), ["pin me"]);
    assert_eq!(list["total"], 1);

    let (status, v) = app
        .post(Some(&member), "chat.unPinMessage", json!({"messageId": id}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    app.ok(&owner, "chat.unPinMessage", json!({"messageId": id}))
        .await;
    let list = app
        .get_ok(&member, "chat.getPinnedMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(list["total"], 0);
    assert_eq!(message(&app, &owner, &id).await["pinned"], false);

    let (status, v) = app
        .post(
            Some(&owner),
            "chat.pinMessage",
            json!({"messageId": "missing"}),
        )
        .await;
    assert_eq!(
        (status, v["errorType"].clone()),
        (StatusCode::BAD_REQUEST, json!("error-message-not-found"))
    );
    let (status, v) = app.post(Some(&owner), "chat.pinMessage", json!({})).await;
    assert_eq!(
        v["errorType"], "error-messageid-param-not-provided",
        "{status} {v}"
    );
}

#[tokio::test]
async fn pinned_list_of_a_private_group_is_for_its_readers() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&owner, "p", &[]).await;
    let id = post(&app, &owner, &rid, "secret").await;
    app.ok(&owner, "chat.pinMessage", json!({"messageId": id}))
        .await;
    let (status, v) = app
        .get(
            Some(&outsider),
            "chat.getPinnedMessages",
            &[("roomId", &rid)],
        )
        .await;
    assert_ne!(status, StatusCode::OK, "{v}");
    assert!(v.to_string().find("secret").is_none(), "{v}");
}

#[tokio::test]
async fn stars_are_each_users_own() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let one = post(&app, &alice, &rid, "one").await;
    let two = post(&app, &alice, &rid, "two").await;
    app.ok(&bob, "chat.starMessage", json!({"messageId": one}))
        .await;
    app.ok(&bob, "chat.starMessage", json!({"messageId": two}))
        .await;
    app.ok(&alice, "chat.starMessage", json!({"messageId": two}))
        .await;
    app.ok(&bob, "chat.unStarMessage", json!({"messageId": two}))
        .await;
    let b = app
        .get_ok(&bob, "chat.getStarredMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(texts(&b["messages"]), ["one"]);
    assert_eq!(b["messages"][0]["starred"], json!([{"_id": bob.user_id}]));
    let a = app
        .get_ok(&alice, "chat.getStarredMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(texts(&a["messages"]), ["two"]);
    // A star is no room change: the message others see is unchanged.
    assert!(message(&app, &alice, &one).await.get("starred").is_none());
    let (status, v) = app
        .post(
            Some(&outsider),
            "chat.starMessage",
            json!({"messageId": one}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["errorType"], "error-action-not-allowed", "{v}");
}

#[tokio::test]
async fn threads_count_replies_and_list_and_sync() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let outsider = app.user("out").await;
    let (rid, _) = app
        .room(&alice, "p", &[&bob.username, &carol.username])
        .await;
    let (other_rid, _) = app.room(&alice, "p", &[]).await;
    let root = post(&app, &alice, &rid, "a question").await;
    let before = message(&app, &alice, &root).await["_updatedAt"]
        .as_str()
        .unwrap()
        .to_string();
    let r1 = reply(&app, &bob, &rid, &root, "answer one").await;
    assert_eq!(r1["tmid"], json!(root));
    // A reply to a reply joins the first message's thread.
    let r2 = reply(
        &app,
        &carol,
        &rid,
        r1["_id"].as_str().unwrap(),
        "answer two",
    )
    .await;
    assert_eq!(r2["tmid"], json!(root));
    let m = message(&app, &alice, &root).await;
    assert_eq!(m["tcount"], 2);
    assert_eq!(m["tlm"], r2["ts"]);
    let mut replies: Vec<String> = serde_json::from_value(m["replies"].clone()).unwrap();
    replies.sort();
    let mut want = vec![
        alice.user_id.clone(),
        bob.user_id.clone(),
        carol.user_id.clone(),
    ];
    want.sort();
    assert_eq!(replies, want);

    // A thread id from another room, or none at all, is refused and posts nothing.
    let (status, v) = app
        .post(
            Some(&alice),
            "chat.postMessage",
            json!({"roomId": other_rid, "text": "x", "tmid": root}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errorType"], "error-invalid-message");

    let t = app
        .get_ok(&carol, "chat.getThreadMessages", &[("tmid", &root)])
        .await;
    assert_eq!(texts(&t["messages"]), ["answer one", "answer two"]);
    assert_eq!(t["total"], 2);
    let (status, v) = app
        .get(
            Some(&outsider),
            "chat.getThreadMessages",
            &[("tmid", &root)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(!v.to_string().contains("answer"), "{v}");
    let (_, v) = app.get(Some(&carol), "chat.getThreadMessages", &[]).await;
    assert_eq!(v["errorType"], "error-invalid-params", "{v}");
    let (_, v) = app
        .get(Some(&carol), "chat.getThreadMessages", &[("tmid", "nope")])
        .await;
    assert_eq!(v["errorType"], "error-invalid-message", "{v}");

    // Lists: every thread, or the ones the caller follows.
    post(&app, &alice, &rid, "no thread here").await;
    let all = app
        .get_ok(&carol, "chat.getThreadsList", &[("rid", &rid)])
        .await;
    assert_eq!(texts(&all["threads"]), ["a question"]);
    app.ok(&carol, "chat.unfollowMessage", json!({"mid": root}))
        .await;
    let following = app
        .get_ok(
            &carol,
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "following")],
        )
        .await;
    assert_eq!(following["threads"], json!([]), "{following}");
    app.ok(&carol, "chat.followMessage", json!({"mid": root}))
        .await;
    let following = app
        .get_ok(
            &carol,
            "chat.getThreadsList",
            &[("rid", &rid), ("type", "following")],
        )
        .await;
    assert_eq!(texts(&following["threads"]), ["a question"]);
    let (_, v) = app
        .post(Some(&outsider), "chat.followMessage", json!({"mid": root}))
        .await;
    assert_eq!(v["errorType"], "error-not-allowed", "{v}");

    // Syncs: what changed since a moment, and what was deleted.
    let since = app
        .get_ok(
            &carol,
            "chat.syncThreadsList",
            &[("rid", &rid), ("updatedSince", &before)],
        )
        .await;
    assert_eq!(texts(&since["threads"]["update"]), ["a question"]);
    app.ok(
        &bob,
        "chat.delete",
        json!({"roomId": rid, "msgId": r1["_id"]}),
    )
    .await;
    let sync = app
        .get_ok(
            &carol,
            "chat.syncThreadMessages",
            &[("tmid", &root), ("updatedSince", &before)],
        )
        .await;
    assert_eq!(texts(&sync["messages"]["update"]), ["answer two"]);
    assert_eq!(sync["messages"]["remove"][0]["_id"], r1["_id"]);
    let (_, v) = app
        .get(
            Some(&carol),
            "chat.syncThreadMessages",
            &[("tmid", &root), ("updatedSince", "yesterday")],
        )
        .await;
    assert_eq!(v["errorType"], "error-invalid-date", "{v}");
}

#[tokio::test]
async fn deleted_and_changed_messages_sync_search_and_mentions() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let old = post(&app, &alice, &rid, "old news").await;
    let since = message(&app, &alice, &old).await["_updatedAt"]
        .as_str()
        .unwrap()
        .to_string();
    let gone = post(&app, &bob, &rid, "Typo here").await;
    post(
        &app,
        &alice,
        &rid,
        &format!("hello @{} how are you", bob.username),
    )
    .await;
    app.ok(&bob, "chat.delete", json!({"roomId": rid, "msgId": gone}))
        .await;

    let d = app
        .get_ok(
            &alice,
            "chat.getDeletedMessages",
            &[("roomId", &rid), ("since", &since)],
        )
        .await;
    assert_eq!(d["messages"], json!([{"_id": gone}]));
    assert_eq!(d["total"], 1);
    let (_, v) = app
        .get(Some(&alice), "chat.getDeletedMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(v["errorType"], "error-param-not-provided", "{v}");

    let s = app
        .get_ok(
            &bob,
            "chat.syncMessages",
            &[("roomId", &rid), ("lastUpdate", &since)],
        )
        .await;
    let updated = texts(&s["result"]["updated"]);
    assert!(updated.iter().any(|t| t.starts_with("hello")), "{s}");
    assert!(!updated.contains(&"old news".to_string()), "{s}");
    assert_eq!(s["result"]["deleted"][0]["_id"], json!(gone));

    let found = app
        .get_ok(
            &bob,
            "chat.search",
            &[("roomId", &rid), ("searchText", "NEWS")],
        )
        .await;
    assert_eq!(texts(&found["messages"]), ["old news"]);
    // LIKE wildcards are text, not patterns.
    let none = app
        .get_ok(
            &bob,
            "chat.search",
            &[("roomId", &rid), ("searchText", "%")],
        )
        .await;
    assert_eq!(none["messages"], json!([]));
    let mentions = app
        .get_ok(&bob, "chat.getMentionedMessages", &[("roomId", &rid)])
        .await;
    assert_eq!(
        mentions["messages"].as_array().map(Vec::len),
        Some(1),
        "{mentions}"
    );
    assert!(texts(&mentions["messages"])[0].starts_with("hello"));

    for (path, q) in [
        (
            "chat.search",
            vec![("roomId", rid.as_str()), ("searchText", "news")],
        ),
        (
            "chat.getDeletedMessages",
            vec![("roomId", rid.as_str()), ("since", since.as_str())],
        ),
        (
            "chat.syncMessages",
            vec![("roomId", rid.as_str()), ("lastUpdate", since.as_str())],
        ),
        ("chat.getMentionedMessages", vec![("roomId", rid.as_str())]),
        ("chat.getStarredMessages", vec![("roomId", rid.as_str())]),
    ] {
        let (status, v) = app.get(Some(&outsider), path, &q).await;
        assert_ne!(status, StatusCode::OK, "{path}: {v}");
        assert!(!v.to_string().contains("news"), "{path}: {v}");
    }
}

#[tokio::test]
async fn ddp_pins_and_reactions_reach_the_room_stream() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner").await;
    let member = app.user("member").await;
    let (rid, _) = app.room(&owner, "p", &[&member.username]).await;
    let id = post(&app, &member, &rid, "via ddp").await;
    let mut o = Ddp::resume(&app, &owner).await;
    let mut m = Ddp::resume(&app, &member).await;
    m.sub_ready("stream-room-messages", &rid).await;
    let note = o.ok("pinMessage", json!([{"_id": id, "rid": rid}])).await;
    assert_eq!(note["t"], "message_pinned");
    assert!(note["ts"]["$date"].is_i64());
    let updated = m
        .next_where(|v| {
            v["fields"]["args"][0]["_id"] == json!(id) && v["fields"]["args"][0]["pinned"] == true
        })
        .await;
    assert!(
        updated["fields"]["args"][0]["pinnedAt"]["$date"].is_i64(),
        "{updated}"
    );
    m.next_where(|v| v["fields"]["args"][0]["t"] == "message_pinned")
        .await;
    // A plain member may not.
    let e = m.err("unpinMessage", json!([{"_id": id}])).await;
    assert_eq!(e["error"], "not-authorized", "{e}");
    assert_eq!(o.ok("unpinMessage", json!([{"_id": id}])).await, true);
    // Thread replies and the thread's counters come on the stream too.
    reply(&app, &owner, &rid, &id, "in thread").await;
    let v = m
        .next_where(|v| v["fields"]["args"][0]["msg"] == "in thread")
        .await;
    assert_eq!(v["fields"]["args"][0]["tmid"], json!(id));
    let v = m
        .next_where(|v| {
            v["fields"]["args"][0]["_id"] == json!(id) && v["fields"]["args"][0]["tcount"] == 1
        })
        .await;
    assert!(v["fields"]["args"][0]["tlm"]["$date"].is_i64(), "{v}");
}

#[tokio::test]
async fn reports_are_stored_for_administrators() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let outsider = app.user("out").await;
    let (rid, _) = app.room(&alice, "p", &[&bob.username]).await;
    let id = post(&app, &alice, &rid, "rude words").await;
    app.ok(
        &bob,
        "chat.reportMessage",
        json!({"messageId": id, "description": "abusive"}),
    )
    .await;
    // The report keeps the message as reported, even once edited.
    app.ok(
        &alice,
        "chat.update",
        json!({"roomId": rid, "msgId": id, "text": "kind words"}),
    )
    .await;
    let v = app
        .get_ok(&app.admin, "moderation.reports", &[("msgId", &id)])
        .await;
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["reports"][0]["description"], "abusive");
    assert_eq!(v["reports"][0]["message"]["msg"], "rude words");
    assert_eq!(v["reports"][0]["reportedBy"]["_id"], json!(bob.user_id));
    // Members cannot read reports; outsiders cannot report what they cannot see.
    let (status, _) = app
        .get(Some(&alice), "moderation.reports", &[("msgId", &id)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = app
        .post(
            Some(&outsider),
            "chat.reportMessage",
            json!({"messageId": id, "description": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    for body in [
        json!({"messageId": id}),
        json!({"messageId": id, "description": "  "}),
        json!({"description": "x"}),
        json!({"messageId": "missing", "description": "x"}),
    ] {
        let (status, v) = app
            .post(Some(&bob), "chat.reportMessage", body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {v}");
    }
    let v = app
        .get_ok(&app.admin, "moderation.reports", &[("msgId", &id)])
        .await;
    assert_eq!(v["total"], 1);
}
