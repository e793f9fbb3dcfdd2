//! Read positions and notifications: `readers_of` answers who has read a message from the
//! members' read state; a post with notification facts decides its recipients in its own
//! transaction and carries them as `NotificationTriggered` items (with their outbox rows).

use std::collections::HashSet;

use huddle_core::notify::NotifyFacts;
use huddle_core::store::{RoomChange, RoomEventItem, RoomWrite};
use huddle_core::Origin;

use super::*;

pub async fn readers_are_members_read_at_or_after_the_message(store: Arc<dyn Store>) {
    let ann = insert_user(&store, "ann").await;
    let bob = insert_user(&store, "bob").await;
    let cat = insert_user(&store, "cat").await;
    let dan = insert_user(&store, "dan").await;
    let room = create_room(&store, "reads", RoomType::Group).await;
    for u in [&ann, &bob, &cat, &dan] {
        store
            .add_members(&room.id, &[member(&room, u, &ann.to_ref())])
            .await
            .unwrap();
    }
    let now = Timestamp::now().0;
    let old = message_at(&room, &ann, "old", now - 60_000);
    store.insert_message(&old).await.unwrap();
    // bob read a minute ago, just before `old`'s time: not a reader of it; cat read it.
    for (u, ls) in [(&bob, now - 60_001), (&cat, now - 30_000)] {
        let mut s = store.subscription(&room.id, &u.id).await.unwrap().unwrap();
        s.ls = Some(Timestamp(ls));
        assert!(store.set_own_state(&s).await.unwrap());
    }
    let readers = store.readers_of(&room.id, &old, 10).await.unwrap();
    let ids: Vec<&str> = readers.iter().map(|r| r.uid.as_str()).collect();
    assert_eq!(ids, vec![cat.id.as_str()]);
    assert_eq!(readers[0].username, "cat");
    assert_eq!(readers[0].read_at, Timestamp(now - 30_000));

    // dan marks read now; the sender (ann) is never her own reader, even after reading.
    assert!(store.mark_read(&room.id, &dan.id).await.unwrap());
    assert!(store.mark_read(&room.id, &ann.id).await.unwrap());
    let readers = store.readers_of(&room.id, &old, 10).await.unwrap();
    let ids: Vec<&str> = readers.iter().map(|r| r.uid.as_str()).collect();
    assert_eq!(
        ids,
        vec![cat.id.as_str(), dan.id.as_str()],
        "earliest first"
    );
    assert_eq!(store.readers_of(&room.id, &old, 1).await.unwrap().len(), 1);
    // A message after every read position has no reader.
    let later = message_at(&room, &ann, "later", Timestamp::now().0 + 60_000);
    store.insert_message(&later).await.unwrap();
    assert!(store
        .readers_of(&room.id, &later, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_post_carries_its_notifications(store: Arc<dyn Store>) {
    let ann = insert_user(&store, "ann").await;
    let bob = insert_user(&store, "bob").await;
    let cat = insert_user(&store, "cat").await;
    let dan = insert_user(&store, "dan").await;
    let eve = insert_user(&store, "eve").await;
    let mut room = room("notified", RoomType::Group);
    room.origin = Origin::TalkJs;
    let mut subs = vec![];
    for (u, notify) in [
        (&ann, "true"),
        (&bob, "true"),
        (&cat, "false"),
        (&dan, "MentionsOnly"),
        (&eve, "true"),
    ] {
        let mut s = sub(&room, u);
        s.notify = notify.into();
        subs.push(s);
    }
    store.create_room(&room, &subs).await.unwrap();
    let hook = endpoint("notify-hook", &["notification.triggered"], true);
    store.insert_webhook_endpoint(&hook).await.unwrap();
    let post = |text: &str, facts: Option<NotifyFacts>| RoomWrite {
        rid: room.id.clone(),
        change: RoomChange::PostMessage(Message::new(&room.id, ann.to_ref(), text.into(), None)),
        webhooks: vec![hook.clone()],
        notify: facts,
    };
    let facts = NotifyFacts {
        live: HashSet::from([eve.id.clone()]),
        email_window_ms: None,
    };
    let written = store
        .write_room(post("hi @dan", Some(facts.clone())))
        .await
        .unwrap();
    let message_id = match &written.items[0] {
        RoomEventItem::MessageCreated { message } => message.id.clone(),
        other => panic!("{other:?}"),
    };
    let notified: Vec<&str> = written.items[1..]
        .iter()
        .map(|i| match i {
            RoomEventItem::NotificationTriggered { uid, message_id: m } => {
                assert_eq!(*m, message_id);
                uid.as_str()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let mut notified = notified;
    notified.sort_unstable();
    let mut want = vec![bob.id.as_str(), dan.id.as_str()];
    want.sort_unstable();
    assert_eq!(notified, want);
    // The event log holds them; each has its outbox row, written with the post.
    let event = store
        .room_events(&room.id, written.seq.unwrap() - 1, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(event.items, written.items);
    let rows = outbox(&store, &hook.id).await;
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.event_type == "notification.triggered" && r.body.is_empty()));
    // Without facts (a Rocket.Chat room, a system message) nobody is notified.
    let quiet = store.write_room(post("hi all", None)).await.unwrap();
    assert_eq!(quiet.items.len(), 1);
    assert_eq!(outbox(&store, &hook.id).await.len(), 2);
}

pub async fn owed_emails_are_batched_per_recipient_and_room(store: Arc<dyn Store>) {
    use huddle_core::store::EmailOutcome;
    let ann = insert_user(&store, "ann").await;
    let bob = insert_user(&store, "bob").await;
    let cat = insert_user(&store, "cat").await;
    let mut rooms = vec![];
    for name in ["mail-a", "mail-b"] {
        let mut r = room(name, RoomType::Group);
        r.origin = Origin::TalkJs;
        store
            .create_room(&r, &[sub(&r, &ann), sub(&r, &bob), sub(&r, &cat)])
            .await
            .unwrap();
        rooms.push(r);
    }
    let post = |r: &Room, text: &str, window: i64| RoomWrite {
        rid: r.id.clone(),
        change: RoomChange::PostMessage(Message::new(&r.id, ann.to_ref(), text.into(), None)),
        webhooks: vec![],
        notify: Some(NotifyFacts {
            live: HashSet::new(),
            email_window_ms: Some(window),
        }),
    };
    // Two messages in room a, one in room b; a long window for b.
    store.write_room(post(&rooms[0], "a1", 0)).await.unwrap();
    store.write_room(post(&rooms[0], "a2", 0)).await.unwrap();
    store
        .write_room(post(&rooms[1], "b1", 3_600_000))
        .await
        .unwrap();
    let due = store.due_email_batches(Timestamp::now(), 10).await.unwrap();
    // bob's and cat's batches of room a; room b's are not due for an hour.
    assert_eq!(due.len(), 2, "{due:?}");
    for batch in &due {
        assert_eq!(batch.len(), 2);
        assert!(batch
            .iter()
            .all(|e| e.rid == rooms[0].id && e.uid == batch[0].uid));
        assert!(batch[0].created_at <= batch[1].created_at);
    }
    assert_eq!(
        store
            .due_email_batches(Timestamp::now(), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let later = Timestamp(Timestamp::now().0 + 7_200_000);
    assert_eq!(store.due_email_batches(later, 10).await.unwrap().len(), 4);

    // Sent rows are done; a retry moves its rows to the retry time and counts the attempt.
    let ids = |b: &Vec<huddle_core::store::EmailNotification>| {
        b.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    };
    store
        .finish_emails(&ids(&due[0]), &EmailOutcome::Sent)
        .await
        .unwrap();
    let retry_at = Timestamp(Timestamp::now().0 + 60_000);
    store
        .finish_emails(
            &ids(&due[1]),
            &EmailOutcome::Retry {
                at: retry_at,
                error: "421 busy".into(),
            },
        )
        .await
        .unwrap();
    assert!(store
        .due_email_batches(Timestamp::now(), 10)
        .await
        .unwrap()
        .is_empty());
    let retried = store.due_email_batches(retry_at, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert!(retried[0].iter().all(|e| e.attempts == 1));
    store
        .finish_emails(&ids(&retried[0]), &EmailOutcome::Failed("550 no".into()))
        .await
        .unwrap();
    assert!(store
        .due_email_batches(retry_at, 10)
        .await
        .unwrap()
        .is_empty());
    // Finished rows are not finished again; an empty list is nothing.
    store
        .finish_emails(&ids(&due[0]), &EmailOutcome::Skipped("x".into()))
        .await
        .unwrap();
    store.finish_emails(&[], &EmailOutcome::Sent).await.unwrap();
    // Without an e-mail window (e-mails off) a post owes none.
    let mut quiet = post(&rooms[0], "a3", 0);
    quiet.notify = Some(NotifyFacts::default());
    store.write_room(quiet).await.unwrap();
    assert!(store
        .due_email_batches(later, 10)
        .await
        .unwrap()
        .iter()
        .all(|b| b[0].rid == rooms[1].id));
}
