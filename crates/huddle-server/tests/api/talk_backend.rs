//! The TalkJS-style backend API: credentials, users, conversations, participants, messages.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{unique, TestApp, APP_ID, SECRET};

fn app_token(secret: &str, iss: &str, exp_in: i64, token_type: &str) -> String {
    let exp = chrono_now() + exp_in;
    encode(
        &Header::default(),
        &json!({ "tokenType": token_type, "iss": iss, "exp": exp }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

pub fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn credentials_secret_key_and_app_tokens() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.talk_with(Some(SECRET), "GET", "users", None).await.0,
        StatusCode::OK
    );
    let (status, v) = app.talk_with(None, "GET", "users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(
        app.talk_with(Some("sk_wrong"), "GET", "users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.talk_with(
            Some(&app_token(SECRET, APP_ID, 30, "app")),
            "GET",
            "users",
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let (status, v) = app
        .talk_with(
            Some(&app_token(SECRET, APP_ID, -30, "app")),
            "GET",
            "users",
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an expired token is refused"
    );
    assert_eq!(v["reason"], json!("The token has expired"));
    assert_eq!(
        app.talk_with(
            Some(&app_token(SECRET, "other-app", 30, "app")),
            "GET",
            "users",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.talk_with(
            Some(&app_token(SECRET, APP_ID, 30, "user")),
            "GET",
            "users",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.talk_with(
            Some(&app_token("sk_other", APP_ID, 30, "app")),
            "GET",
            "users",
            None
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.talk_with(Some("not.a.jwt"), "GET", "users", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app
        .client
        .get(format!("{}/v1/wrong-app/users", app.base))
        .bearer_auth(SECRET)
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "a wrong app id is 404");
}

#[tokio::test]
async fn key_rotation_without_downtime() {
    let app = TestApp::spawn().await;
    let new = app.talk_ok("POST", "keys", None).await;
    let new_secret = new["secret"].as_str().unwrap().to_string();
    assert_eq!(
        app.talk_with(Some(&new_secret), "GET", "users", None)
            .await
            .0,
        StatusCode::OK
    );
    let keys = app.talk_ok("GET", "keys", None).await;
    let old_id = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] != new["id"])
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app
        .talk_with(Some(&new_secret), "DELETE", &format!("keys/{old_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.talk_with(Some(SECRET), "GET", "users", None).await.0,
        StatusCode::UNAUTHORIZED,
        "revoked at once"
    );
}

#[tokio::test]
async fn users_upsert_is_patch_like_and_null_deletes() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .talk("PUT", "users/u1", Some(json!({ "email": ["a@x.io"] })))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "name is required to create: {v}"
    );
    app.talk_ok("PUT", "users/u1", Some(json!({ "name": "Ann", "email": ["a@x.io"], "custom": { "team": "red", "tier": "gold" }, "role": "agent", "locale": "en-US" }))).await;
    app.talk_ok(
        "PUT",
        "users/u1",
        Some(json!({ "photoUrl": "https://p/1.png", "custom": { "tier": null } })),
    )
    .await;
    let u = app.talk_ok("GET", "users/u1", None).await;
    assert_eq!(u["id"], json!("u1"));
    assert_eq!(u["name"], json!("Ann"), "fields not sent stay");
    assert_eq!(u["email"], json!(["a@x.io"]));
    assert_eq!(
        u["custom"],
        json!({ "team": "red" }),
        "a null key deletes that key"
    );
    assert_eq!(u["role"], json!("agent"));
    assert_eq!(u["photoUrl"], json!("https://p/1.png"));
    assert!(u["createdAt"].is_i64());
    app.talk_ok(
        "PUT",
        "users/u1",
        Some(json!({ "email": null, "custom": null, "role": null })),
    )
    .await;
    let u = app.talk_ok("GET", "users/u1", None).await;
    assert_eq!(u["email"], Value::Null);
    assert_eq!(u["custom"], json!({}));
    assert_eq!(u["role"], json!("default"));
    let (status, _) = app.talk("GET", "users/nobody", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .talk("PUT", "users/u1", Some(json!({ "custom": { "n": 1 } })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "custom values are strings");
    let (status, _) = app.talk("PUT", "users/u1", Some(json!("x"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_upsert_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let (status, v) = app
        .talk(
            "PUT",
            "users",
            Some(json!({ "b1": { "name": "B1" }, "b2": { "email": ["x@y.z"] } })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["errors"]["b2"].is_string(), "{v}");
    assert_eq!(
        app.talk("GET", "users/b1", None).await.0,
        StatusCode::NOT_FOUND,
        "nothing applied"
    );
    app.talk_ok(
        "PUT",
        "users",
        Some(json!({ "b1": { "name": "B1" }, "b2": { "name": "B2" } })),
    )
    .await;
    assert_eq!(
        app.talk_ok("GET", "users/b2", None).await["name"],
        json!("B2")
    );
    let many: serde_json::Map<String, Value> = (0..101)
        .map(|i| (format!("m{i}"), json!({ "name": "M" })))
        .collect();
    let (status, _) = app.talk("PUT", "users", Some(Value::Object(many))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "more than 100 users");
}

#[tokio::test]
async fn users_list_with_cursor() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        app.talk_ok(
            "PUT",
            &format!("users/list{i}"),
            Some(json!({ "name": format!("L{i}") })),
        )
        .await;
    }
    let page = app.talk_ok("GET", "users?limit=2", None).await;
    let ids: Vec<String> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let next = app
        .talk_ok(
            "GET",
            &format!("users?limit=2&startingAfter={}", ids[1]),
            None,
        )
        .await;
    let next_ids: Vec<&str> = next["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(
        next_ids.iter().all(|id| *id > ids[1].as_str()),
        "{next_ids:?} after {ids:?}"
    );
}

async fn users(app: &TestApp, ids: &[&str]) {
    for id in ids {
        app.talk_ok(
            "PUT",
            &format!("users/{id}"),
            Some(json!({ "name": id.to_uppercase() })),
        )
        .await;
    }
}

#[tokio::test]
async fn conversations_upsert_merge_participants_and_delete() {
    let app = TestApp::spawn().await;
    users(&app, &["ann", "bob", "cat"]).await;
    let cid = unique("conv");
    app.talk_ok("PUT", &format!("conversations/{cid}"), Some(json!({ "subject": "Hi", "participants": ["ann", "bob"], "custom": { "k": "v" }, "welcomeMessages": ["Welcome"] }))).await;
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(c["id"], json!(cid));
    assert_eq!(c["subject"], json!("Hi"));
    assert_eq!(c["custom"], json!({ "k": "v" }));
    assert_eq!(c["welcomeMessages"], json!(["Welcome"]));
    assert_eq!(c["guestAccess"], json!(true));
    assert_eq!(
        c["participants"]["ann"],
        json!({ "access": "ReadWrite", "notify": true, "isUnread": false, "joinedAt": c["participants"]["ann"]["joinedAt"] })
    );
    assert_eq!(c["participants"].as_object().unwrap().len(), 2);
    // participants only adds.
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": ["cat"], "subject": null })),
    )
    .await;
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(c["participants"].as_object().unwrap().len(), 3);
    assert_eq!(c["subject"], Value::Null);
    let (status, _) = app
        .talk(
            "PUT",
            &format!("conversations/{cid}"),
            Some(json!({ "participants": ["ghost"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "participants must exist");
    let mine = app.talk_ok("GET", "users/ann/conversations", None).await;
    assert_eq!(mine["data"][0]["id"], json!(cid));
    assert_eq!(mine["data"][0]["access"], json!("ReadWrite"));
    let all = app.talk_ok("GET", "conversations", None).await;
    assert!(all["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == json!(cid)));
    app.talk_ok("DELETE", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(
        app.talk("GET", &format!("conversations/{cid}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.talk("DELETE", &format!("conversations/{cid}"), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.talk_ok("GET", "users/ann/conversations", None).await["data"],
        json!([])
    );
    assert_eq!(
        app.talk("GET", "users/nobody/conversations", None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = app
        .talk("PUT", "conversations/bad%2Fid", Some(json!({})))
        .await;
    assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn participants_join_modify_leave_are_idempotent_and_recorded() {
    let app = TestApp::spawn().await;
    users(&app, &["ann", "bob"]).await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": ["ann"] })),
    )
    .await;
    let p = format!("conversations/{cid}/participants/bob");
    app.talk_ok("PUT", &p, Some(json!({}))).await;
    app.talk_ok("PUT", &p, Some(json!({}))).await;
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(c["participants"]["bob"]["access"], json!("ReadWrite"));
    assert_eq!(c["participants"]["bob"]["notify"], json!(true));
    app.talk_ok(
        "PUT",
        &p,
        Some(json!({ "access": "Read", "notify": "MentionsOnly" })),
    )
    .await;
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(
        c["participants"]["bob"],
        json!({ "access": "Read", "notify": "MentionsOnly", "isUnread": false, "joinedAt": c["participants"]["bob"]["joinedAt"] })
    );
    app.talk_ok("PATCH", &p, Some(json!({ "notify": false })))
        .await;
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert_eq!(
        c["participants"]["bob"]["access"],
        json!("Read"),
        "PATCH keeps fields not given"
    );
    assert_eq!(c["participants"]["bob"]["notify"], json!(false));
    app.talk_ok("PATCH", &p, Some(json!({ "access": "None" })))
        .await;
    let c = app
        .talk_ok("GET", &format!("conversations/{cid}"), None)
        .await;
    assert!(
        c["participants"].get("bob").is_none(),
        "access None is not listed"
    );
    let (status, _) = app
        .talk("PUT", &p, Some(json!({ "access": "Bogus" })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .talk(
            "PATCH",
            &format!("conversations/{cid}/participants/ghost"),
            Some(json!({ "notify": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.talk_ok("DELETE", &p, None).await;
    app.talk_ok("DELETE", &p, None).await;
    assert_eq!(
        app.talk_ok("GET", "users/bob/conversations", None).await["data"],
        json!([]),
        "leaving removes it from the list"
    );
    let msgs = app
        .talk_ok(
            "GET",
            &format!("conversations/{cid}/messages?limit=50"),
            None,
        )
        .await;
    let system: Vec<String> = msgs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == json!("SystemMessage"))
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    // joined, access to Read, access to None, left; the repeated PUT/DELETE and the notify-only
    // change write nothing. Their text is a sentence an app can show as it is.
    let mut system = system;
    system.sort();
    assert_eq!(
        system,
        vec![
            "bob joined",
            "bob left",
            "bob's access changed to None",
            "bob's access changed to Read",
        ],
        "{system:?}"
    );
}

#[tokio::test]
async fn messages_post_list_edit_delete_and_idempotency() {
    let app = TestApp::spawn().await;
    users(&app, &["ann", "bob", "rita"]).await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": ["ann", "rita"], "guestAccess": false })),
    )
    .await;
    app.talk_ok(
        "PATCH",
        &format!("conversations/{cid}/participants/rita"),
        Some(json!({ "access": "Read" })),
    )
    .await;
    let path = format!("conversations/{cid}/messages");
    let ids = app
        .talk_ok("POST", &path, Some(json!([
            { "text": "hello", "sender": "ann", "type": "UserMessage", "custom": { "x": "1" }, "idempotencyKey": "k1" },
            { "text": "Meeting starts", "type": "SystemMessage" }
        ])))
        .await;
    assert_eq!(ids.as_array().unwrap().len(), 2);
    let again = app.talk_ok("POST", &path, Some(json!([{ "text": "hello", "sender": "ann", "type": "UserMessage", "idempotencyKey": "k1" }]))).await;
    assert_eq!(
        again[0]["id"], ids[0]["id"],
        "the same idempotency key lands once"
    );
    for (body, why) in [
        (
            json!([{ "text": "x", "sender": "bob", "type": "UserMessage" }]),
            "not a participant and guests off",
        ),
        (
            json!([{ "text": "x", "sender": "rita", "type": "UserMessage" }]),
            "read-only participant",
        ),
        (
            json!([{ "text": "x", "sender": "ann" }]),
            "type missing with a sender",
        ),
        (
            json!([{ "text": "x", "sender": "ann", "type": "SystemMessage" }]),
            "system messages have no sender",
        ),
        (json!({ "text": "x" }), "not an array"),
        (json!([]), "empty"),
        (
            Value::Array(
                (0..11)
                    .map(|_| json!({ "text": "x", "type": "SystemMessage" }))
                    .collect(),
            ),
            "more than 10",
        ),
    ] {
        let (status, v) = app.talk("POST", &path, Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {v}");
    }
    let list = app.talk_ok("GET", &format!("{path}?limit=10"), None).await;
    let user_msgs: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == json!("UserMessage"))
        .collect();
    assert_eq!(user_msgs.len(), 1);
    assert_eq!(user_msgs[0]["senderId"], json!("ann"));
    assert_eq!(user_msgs[0]["custom"], json!({ "x": "1" }));
    assert_eq!(user_msgs[0]["conversationId"], json!(cid));
    let mid = ids[0]["id"].as_str().unwrap();
    app.talk_ok(
        "PUT",
        &format!("{path}/{mid}"),
        Some(json!({ "text": "hello!", "custom": null })),
    )
    .await;
    let m = app.talk_ok("GET", &format!("{path}/{mid}"), None).await;
    assert_eq!(m["text"], json!("hello!"));
    assert_eq!(m["custom"], json!({}));
    assert!(m["editedAt"].is_i64());
    app.talk_ok("DELETE", &format!("{path}/{mid}"), None).await;
    assert_eq!(
        app.talk("GET", &format!("{path}/{mid}"), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.talk(
            "POST",
            "conversations/nope/messages",
            Some(json!([{ "text": "x", "type": "SystemMessage" }]))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

/// The messages of one request keep the order they were sent in, though they are usually
/// made within one millisecond: history orders by time, then id, and ids made by one server
/// always increase.
#[tokio::test]
async fn messages_posted_together_keep_their_order() {
    let app = TestApp::spawn().await;
    let cid = crate::native::conversation(&app, &["ann"]).await;
    let path = format!("conversations/{cid}/messages");
    let sent: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let batch: Vec<Value> = sent
        .iter()
        .map(|t| json!({ "text": t, "sender": "ann", "type": "UserMessage" }))
        .collect();
    app.talk_ok("POST", &path, Some(Value::Array(batch))).await;
    let list = app.talk_ok("GET", &format!("{path}?limit=10"), None).await;
    let newest_first: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = sent.iter().rev().map(String::as_str).collect();
    assert_eq!(newest_first, want);
}

#[tokio::test]
async fn a_conversation_is_a_room_in_the_rocket_chat_api() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let cid = unique("conv");
    app.talk_ok(
        "PUT",
        &format!("conversations/{cid}"),
        Some(json!({ "participants": [bob.user_id] })),
    )
    .await;
    let v = app.get_ok(&bob, "groups.info", &[("roomId", &cid)]).await;
    assert_eq!(v["group"]["usersCount"], json!(1));
    let v = app
        .get_ok(&bob, "groups.members", &[("roomId", &cid)])
        .await;
    assert_eq!(v["members"][0]["_id"], json!(bob.user_id));
}
