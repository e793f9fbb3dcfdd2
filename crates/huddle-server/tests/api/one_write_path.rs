//! The one write path under concurrency: invites, kicks, TalkJS-style joins, leaves and access
//! changes and posts from both APIs on one room. Afterwards the room's event log has no gap, it
//! agrees with the memberships and messages tables, and a socket subscribed throughout saw the
//! changes in exactly the log's order.

use std::time::Duration;

use huddle_core::services::sign_user_id;
use huddle_core::store::RoomEventItem;
use serde_json::{json, Value};

use crate::helpers::{TestApp, SECRET};
use crate::native::Native;

/// What a subscriber of the conversation sees of an item, in a form both sides share.
fn seen_of_item(item: &RoomEventItem) -> Option<String> {
    Some(match item {
        RoomEventItem::MemberAdded { subscription } => format!("joined {}", subscription.u.id),
        RoomEventItem::MemberRemoved { uid } => format!("left {uid}"),
        RoomEventItem::MemberUpdated { subscription } => format!("updated {}", subscription.u.id),
        RoomEventItem::MessageCreated { message } => format!("message {}", message.id),
        _ => return None,
    })
}

fn seen_of_frame(v: &Value) -> Option<String> {
    let data = &v["data"];
    Some(match v["event"].as_str()? {
        "participant.joined" => format!("joined {}", data["userId"].as_str()?),
        "participant.left" => format!("left {}", data["userId"].as_str()?),
        "participant.updated" => format!("updated {}", data["userId"].as_str()?),
        "message.created" => format!("message {}", data["id"].as_str()?),
        _ => return None,
    })
}

#[tokio::test]
async fn both_apis_on_one_room_make_one_gapless_order() {
    let app = TestApp::spawn().await;
    let users = futures::future::join_all((0..6).map(|_| app.user("mix"))).await;
    let (rid, _) = app.room(&app.admin, "p", &[]).await;
    // The owner watches the room on the native socket for the whole storm.
    let admin = &app.admin.user_id;
    let query = format!("userId={admin}&signature={}", sign_user_id(SECRET, admin));
    let mut socket = Native::open(&app, &query).await;
    assert_eq!(socket.recv().await["type"], "welcome");
    socket
        .sub(json!({ "v": 1, "type": "subscribe", "id": "s", "conversation": rid }))
        .await;

    let mut calls: Vec<futures::future::BoxFuture<'_, (reqwest::StatusCode, Value)>> = vec![];
    for round in 0..3 {
        for (i, u) in users.iter().enumerate() {
            let uid = u.user_id.clone();
            let rid = rid.clone();
            let app = &app;
            calls.push(Box::pin(async move {
                match (round + i) % 6 {
                    0 => {
                        app.post(
                            Some(&app.admin),
                            "groups.invite",
                            json!({ "roomId": rid, "userId": uid }),
                        )
                        .await
                    }
                    1 => {
                        app.post(
                            Some(&app.admin),
                            "groups.kick",
                            json!({ "roomId": rid, "userId": uid }),
                        )
                        .await
                    }
                    2 => {
                        app.talk(
                            "PUT",
                            &format!("conversations/{rid}/participants/{uid}"),
                            Some(json!({})),
                        )
                        .await
                    }
                    3 => {
                        app.talk(
                            "DELETE",
                            &format!("conversations/{rid}/participants/{uid}"),
                            None,
                        )
                        .await
                    }
                    4 => {
                        let body =
                            json!({ "access": if round % 2 == 0 { "Read" } else { "ReadWrite" } });
                        app.talk(
                            "PATCH",
                            &format!("conversations/{rid}/participants/{uid}"),
                            Some(body),
                        )
                        .await
                    }
                    _ => {
                        app.post(
                            Some(&app.admin),
                            "chat.postMessage",
                            json!({ "roomId": rid, "text": format!("r{round}u{i}") }),
                        )
                        .await
                    }
                }
            }));
        }
        let rid = rid.clone();
        let app = &app;
        calls.push(Box::pin(async move {
            let body = json!([{ "type": "SystemMessage", "text": format!("backend {round}") }]);
            app.talk("POST", &format!("conversations/{rid}/messages"), Some(body))
                .await
        }));
    }
    for (status, v) in futures::future::join_all(calls).await {
        // A PATCH or kick of someone not in the room is a clear refusal, never a 5xx.
        assert!(status.as_u16() < 500, "{status} {v}");
    }

    let store = huddle_store::open(app.database_url(), crate::helpers::store_options())
        .await
        .expect("open the store");
    let events = store
        .room_events(&rid, 0, 10_000)
        .await
        .expect("room events");
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let expected: Vec<i64> = (1..=events.len() as i64).collect();
    assert_eq!(seqs, expected, "the log has no gap");

    // Replaying the log gives the memberships and messages the tables hold.
    let mut members = std::collections::BTreeSet::new();
    let mut messages = 0;
    for item in events.iter().flat_map(|e| e.items.iter()) {
        match item {
            RoomEventItem::MemberAdded { subscription } => {
                members.insert(subscription.u.id.clone());
            }
            RoomEventItem::MemberRemoved { uid } => {
                members.remove(uid);
            }
            RoomEventItem::MessageCreated { .. } => messages += 1,
            _ => {}
        }
    }
    let listed: std::collections::BTreeSet<String> =
        app.member_ids(&rid, "p").await.into_iter().collect();
    assert_eq!(members, listed, "memberships replayed from the log");
    let info = app.room_info(&app.admin, &rid).await;
    assert_eq!(info["usersCount"], json!(listed.len()), "{info}");
    assert_eq!(
        info["msgs"],
        json!(messages),
        "messages replayed from the log: {info}"
    );

    // The socket saw exactly the log's order.
    // The socket subscribed after the room was made.
    let logged: Vec<String> = events
        .iter()
        .filter(|e| e.kind != "room.created")
        .flat_map(|e| e.items.iter())
        .filter_map(seen_of_item)
        .collect();
    let mut seen = vec![];
    while seen.len() < logged.len() {
        let Some(frame) = socket.next(Duration::from_secs(10)).await else {
            break;
        };
        if let Some(s) = seen_of_frame(&frame) {
            seen.push(s);
        }
    }
    assert_eq!(seen, logged, "the socket's order is the log's order");
    println!(
        "figure: {} events, {} items, {} members, {} messages, 0 gaps",
        events.len(),
        logged.len(),
        listed.len(),
        messages
    );
}
