//! Messages: post, list, edit, delete, reactions.

#![allow(unused_imports)]

use super::*;

pub async fn messages_post_list_edit_delete(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "chat", RoomType::Channel).await;
    store
        .add_members(
            &room.id,
            &[
                NewMember {
                    subscription: sub(&room, &alice),
                    message: None,
                },
                NewMember {
                    subscription: sub(&room, &bob),
                    message: None,
                },
            ],
        )
        .await
        .unwrap();
    store.mark_read(&room.id, &bob.id).await.unwrap();
    store.mark_read(&room.id, &alice.id).await.unwrap();

    let mut posted = vec![];
    for i in 0..10 {
        let mut m = message_at(&room, &alice, &format!("m{i}"), 1_000 + i * 100);
        if i == 0 {
            m.extra.insert("alias".into(), serde_json::json!("Al"));
            m.extra
                .insert("attachments".into(), serde_json::json!([{"title": "t"}]));
        }
        store.insert_message(&m).await.unwrap();
        posted.push(m);
    }
    assert_eq!(
        store.message_by_id(&posted[0].id).await.unwrap(),
        Some(posted[0].clone()),
        "extra round-trips"
    );
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.msgs, r.last_message_at), (10, Some(Timestamp(1_900))));
    let bob_sub = store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bob_sub.unread, bob_sub.alert),
        (10, true),
        "others get unread"
    );
    let alice_sub = store
        .subscription(&room.id, &alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (alice_sub.unread, alice_sub.alert),
        (0, false),
        "the author does not"
    );
    let system = Message::system(&room.id, "uj", bob.to_ref(), "bob");
    store.insert_message(&system).await.unwrap();
    assert_eq!(
        store
            .subscription(&room.id, &alice.id)
            .await
            .unwrap()
            .unwrap()
            .unread,
        0,
        "system messages raise no unread"
    );
    store.delete_message(&room.id, &system.id).await.unwrap();

    let texts =
        |p: &huddle_core::Page<Message>| p.items.iter().map(|m| m.msg.clone()).collect::<Vec<_>>();
    let q = |latest: Option<i64>, oldest: Option<i64>, inclusive, ascending, paging| MessageQuery {
        latest: latest.map(Timestamp),
        oldest: oldest.map(Timestamp),
        inclusive,
        paging,
        ascending,
        filter: None,
    };
    let newest = store
        .list_messages(&room.id, &q(None, None, false, false, page(0, 3)))
        .await
        .unwrap();
    assert_eq!(
        (texts(&newest), newest.total),
        (vec!["m9".into(), "m8".into(), "m7".into()], 10)
    );
    let older = store
        .list_messages(&room.id, &q(None, None, false, false, page(3, 3)))
        .await
        .unwrap();
    assert_eq!(texts(&older), vec!["m6", "m5", "m4"]);
    let exclusive = store
        .list_messages(&room.id, &q(Some(1_500), Some(1_200), false, false, all()))
        .await
        .unwrap();
    assert_eq!(
        (texts(&exclusive), exclusive.total),
        (vec!["m4".into(), "m3".into()], 2)
    );
    let inclusive = store
        .list_messages(&room.id, &q(Some(1_500), Some(1_200), true, false, all()))
        .await
        .unwrap();
    assert_eq!(texts(&inclusive), vec!["m5", "m4", "m3", "m2"]);
    let ascending = store
        .list_messages(&room.id, &q(None, Some(1_700), false, true, all()))
        .await
        .unwrap();
    assert_eq!(texts(&ascending), vec!["m8", "m9"]);
    let only_latest = store
        .list_messages(&room.id, &q(Some(1_100), None, true, true, all()))
        .await
        .unwrap();
    assert_eq!(texts(&only_latest), vec!["m0", "m1"]);
    assert_eq!(
        store
            .list_messages("no-room", &q(None, None, false, false, all()))
            .await
            .unwrap()
            .total,
        0
    );

    let mut edited = posted[9].clone();
    edited.msg = "m9 (edited)".into();
    edited.edited_at = Some(Timestamp(5_000));
    edited.edited_by = Some(bob.to_ref());
    edited.updated_at = Timestamp(5_000);
    store.update_message(&edited).await.unwrap();
    assert_eq!(
        store.message_by_id(&edited.id).await.unwrap(),
        Some(edited.clone())
    );
    let mut ghost = edited.clone();
    ghost.id = "ghost".into();
    assert!(store.update_message(&ghost).await.is_err());

    // A message is deleted through its own room only.
    assert!(!store
        .delete_message("no-room", &posted[9].id)
        .await
        .unwrap());
    let other = create_room(&store, "other", RoomType::Channel).await;
    assert!(!store
        .delete_message(&other.id, &posted[9].id)
        .await
        .unwrap());
    assert!(store.delete_message(&room.id, &posted[9].id).await.unwrap());
    assert!(!store.delete_message(&room.id, &posted[9].id).await.unwrap());
    let r = room_now(&store, &room.id).await;
    assert_eq!(
        (r.msgs, r.last_message_at),
        (9, Some(Timestamp(1_800))),
        "lm falls back to the newest left"
    );

    let orphan = Message::new("no-room", alice.to_ref(), "x".into(), None);
    assert!(matches!(
        store.insert_message(&orphan).await,
        Err(Error::NotFound(_))
    ));
}

pub async fn reactions_toggle_and_concurrent_reactions_are_all_kept(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let room = create_room(&store, "react", RoomType::Channel).await;
    let m = message_at(&room, &alice, "hello", 1_000);
    store.insert_message(&m).await.unwrap();
    assert_eq!(
        store
            .set_reaction(&room.id, "nope", ":x:", "alice", None)
            .await
            .unwrap(),
        None
    );
    // Not through another room.
    let elsewhere = create_room(&store, "elsewhere", RoomType::Channel).await;
    assert_eq!(
        store
            .set_reaction(&elsewhere.id, &m.id, ":x:", "alice", None)
            .await
            .unwrap(),
        None
    );
    let reacted = store
        .set_reaction(&room.id, &m.id, ":smile:", "alice", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reacted.extra["reactions"],
        serde_json::json!({":smile:": {"usernames": ["alice"]}})
    );
    assert!(reacted.updated_at > m.updated_at);
    // Adding again is no change; toggling removes; the emptied map disappears.
    let again = store
        .set_reaction(&room.id, &m.id, ":smile:", "alice", Some(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.extra["reactions"][":smile:"]["usernames"],
        serde_json::json!(["alice"])
    );
    let gone = store
        .set_reaction(&room.id, &m.id, ":smile:", "alice", None)
        .await
        .unwrap()
        .unwrap();
    assert!(!gone.extra.contains_key("reactions"), "{:?}", gone.extra);
    // 20 users react at once: every reaction is kept.
    let mut tasks = vec![];
    for i in 0..20 {
        let store = store.clone();
        let (rid, id) = (room.id.clone(), m.id.clone());
        tasks.push(tokio::spawn(async move {
            store
                .set_reaction(&rid, &id, ":tada:", &format!("u{i}"), Some(true))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stored = store.message_by_id(&m.id).await.unwrap().unwrap();
    let names = stored.extra["reactions"][":tada:"]["usernames"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(names, 20);
    assert_eq!(stored.msg, "hello");
}

/// Threads counted in the post's transaction, pins as message patches, the list filters, stars
/// and the deletion log, alike on both backends.
pub async fn threads_pins_stars_filters_and_deletions(store: Arc<dyn Store>) {
    use huddle_core::store::{MessagePatch, RoomChange, RoomWrite};
    use huddle_core::MessageFilter;
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "chat", RoomType::Channel).await;
    let mut root = Message::new(&room.id, alice.to_ref(), "Root 100%".into(), None);
    root.ts = Timestamp(1_000);
    store.insert_message(&root).await.unwrap();
    let mut reply = Message::new(&room.id, bob.to_ref(), "hi @alice".into(), None);
    reply.ts = Timestamp(2_000);
    reply
        .extra
        .insert("tmid".into(), serde_json::json!(root.id));
    let written = store
        .write_room(RoomWrite::new(
            &room.id,
            RoomChange::PostMessage(reply.clone()),
        ))
        .await
        .unwrap();
    assert_eq!(
        written.items.len(),
        2,
        "the reply and its thread's first message"
    );
    let parent = store.message_by_id(&root.id).await.unwrap().unwrap();
    assert_eq!(parent.extra["tcount"], 1);
    assert_eq!(parent.extra["tlm"], 2_000);
    assert_eq!(
        parent.extra["replies"],
        serde_json::json!([alice.id, bob.id])
    );

    let pin = RoomChange::PatchMessage {
        id: reply.id.clone(),
        patch: MessagePatch::Pin {
            by: alice.to_ref(),
            at: Timestamp(3_000),
        },
        message: None,
    };
    assert!(store
        .write_room(RoomWrite::new(&room.id, pin.clone()))
        .await
        .unwrap()
        .changed());
    // Pinning again changes nothing and takes no event number.
    assert!(!store
        .write_room(RoomWrite::new(&room.id, pin))
        .await
        .unwrap()
        .changed());

    let list = |filter: MessageFilter| {
        let store = store.clone();
        let rid = room.id.clone();
        async move {
            let q = MessageQuery {
                paging: huddle_core::Paging {
                    offset: 0,
                    count: None,
                },
                filter: Some(filter),
                ..Default::default()
            };
            let mut ids: Vec<String> = store
                .list_messages(&rid, &q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|m| m.id)
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(list(MessageFilter::Pinned).await, [reply.id.clone()]);
    assert_eq!(list(MessageFilter::Threads).await, [root.id.clone()]);
    assert_eq!(
        list(MessageFilter::ThreadReplies(root.id.clone())).await,
        [reply.id.clone()]
    );
    assert_eq!(
        list(MessageFilter::Text("100%".into())).await,
        [root.id.clone()]
    );
    assert!(list(MessageFilter::Text("_".into())).await.is_empty());
    assert_eq!(
        list(MessageFilter::Mentions("alice".into())).await,
        [reply.id.clone()]
    );
    assert_eq!(
        list(MessageFilter::Ids(vec![root.id.clone(), "x".into()])).await,
        [root.id.clone()]
    );

    assert!(store
        .set_star(&bob.id, &room.id, &root.id, true)
        .await
        .unwrap());
    assert!(!store
        .set_star(&bob.id, &room.id, &root.id, true)
        .await
        .unwrap());
    assert_eq!(
        store.starred_ids(&bob.id, &room.id).await.unwrap(),
        [root.id.clone()]
    );
    assert!(store
        .starred_ids(&alice.id, &room.id)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .set_star(&bob.id, &room.id, &root.id, false)
        .await
        .unwrap());

    let all = huddle_core::Paging {
        offset: 0,
        count: None,
    };
    let before = Timestamp(Timestamp::now().0 - 1);
    assert!(store.delete_message(&room.id, &reply.id).await.unwrap());
    assert!(store.delete_message(&room.id, &root.id).await.unwrap());
    let gone = store
        .deleted_messages(&room.id, before, None, all)
        .await
        .unwrap();
    assert_eq!(gone.total, 2);
    let replies = MessageFilter::ThreadReplies(root.id.clone());
    let gone = store
        .deleted_messages(&room.id, before, Some(&replies), all)
        .await
        .unwrap();
    assert_eq!(
        gone.items
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        [reply.id.clone()]
    );
    let gone = store
        .deleted_messages(&room.id, before, Some(&MessageFilter::Threads), all)
        .await
        .unwrap();
    assert_eq!(
        gone.items
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        [root.id.clone()]
    );
    let last = gone.items[0].1;
    assert_eq!(
        store
            .deleted_messages(&room.id, last, None, all)
            .await
            .unwrap()
            .total,
        0
    );
}
