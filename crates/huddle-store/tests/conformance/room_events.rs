//! The write path's event log: every change to a room is numbered by the room (1, 2, ... with
//! no gap, in commit order), its items read back as written, a change that changes nothing
//! takes no number, and the webhook outbox rows of an event are written with it or not at all.

#![allow(unused_imports)]

use std::collections::HashSet;

use huddle_core::store::{RoomChange, RoomEvent, RoomEventItem, RoomWrite, RoomWritten};
use huddle_core::Origin;

use super::*;

pub async fn write(
    store: &Arc<dyn Store>,
    rid: &str,
    change: RoomChange,
    hooks: &[WebhookEndpoint],
) -> huddle_core::Result<RoomWritten> {
    store
        .write_room(RoomWrite {
            rid: rid.to_string(),
            change,
            webhooks: hooks.to_vec(),
            notify: None,
        })
        .await
}

pub async fn events(store: &Arc<dyn Store>, rid: &str) -> Vec<RoomEvent> {
    store.room_events(rid, 0, 100_000).await.unwrap()
}

pub fn endpoint(id: &str, events: &[&str], enabled: bool) -> WebhookEndpoint {
    WebhookEndpoint {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        events: events.iter().map(|e| e.to_string()).collect(),
        enabled,
        created_at: Timestamp(1_000),
    }
}

pub async fn outbox(store: &Arc<dyn Store>, endpoint: &str) -> Vec<OutboxItem> {
    store.outbox_of_endpoint(endpoint, 100_000).await.unwrap()
}

/// Every kind of change, in turn: numbered 1..=10, each event holding the items `write_room`
/// answered, in the order the contract gives.
pub async fn room_events_number_every_change_kind(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let mut room = room("evented", RoomType::Group);
    room.origin = Origin::TalkJs;
    let rid = room.id.clone();
    let created = write(
        &store,
        &rid,
        RoomChange::Create {
            room: room.clone(),
            members: vec![sub(&room, &alice), sub(&room, &alice)],
        },
        &[],
    )
    .await
    .unwrap();
    assert_eq!(created.seq, Some(1));
    match created.items.as_slice() {
        [RoomEventItem::RoomCreated { room: r }, RoomEventItem::MemberAdded { subscription }] => {
            assert_eq!((r.users_count, r.origin), (1, Origin::TalkJs));
            assert_eq!(subscription.u.id, alice.id);
        }
        other => panic!("create: {other:?}"),
    }
    assert_eq!(room_now(&store, &rid).await.origin, Origin::TalkJs);

    let invite = member(&room, &bob, &alice.to_ref());
    let added = write(
        &store,
        &rid,
        RoomChange::AddMembers(vec![invite.clone()]),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(added.seq, Some(2));
    assert_eq!(
        added.items,
        vec![
            RoomEventItem::MemberAdded {
                subscription: Box::new(invite.subscription.clone())
            },
            RoomEventItem::MessageCreated {
                message: Box::new(invite.message.clone().unwrap())
            },
        ]
    );
    assert_eq!(added.counters.map(|c| c.users_count), Some(2));

    let kick = Message::system(&rid, "ru", alice.to_ref(), "bob");
    let removed = RoomChange::RemoveMember {
        uid: bob.id.clone(),
        message: Some(kick.clone()),
    };
    let removed = write(&store, &rid, removed, &[]).await.unwrap();
    assert_eq!(removed.seq, Some(3));
    assert!(matches!(
        removed.items.as_slice(),
        [RoomEventItem::MemberRemoved { uid }, RoomEventItem::MessageCreated { message }]
            if *uid == bob.id && message.id == kick.id
    ));

    let mut owner = store.subscription(&rid, &alice.id).await.unwrap().unwrap();
    owner.roles = vec!["owner".into()];
    let updated = RoomChange::UpdateMember {
        subscription: owner.clone(),
        message: None,
    };
    let updated = write(&store, &rid, updated, &[]).await.unwrap();
    assert_eq!(updated.seq, Some(4));
    assert_eq!(updated.counters, None, "no counter moved");

    let post = message_at(&room, &alice, "hello", 5_000);
    let posted = write(&store, &rid, RoomChange::PostMessage(post.clone()), &[])
        .await
        .unwrap();
    assert_eq!(posted.seq, Some(5));
    let mut edited = post.clone();
    edited.msg = "hello!".into();
    edited.edited_at = Some(Timestamp(6_000));
    let edit = RoomChange::EditMessage(edited.clone());
    assert_eq!(write(&store, &rid, edit, &[]).await.unwrap().seq, Some(6));
    let react = RoomChange::React {
        id: post.id.clone(),
        emoji: ":tada:".into(),
        username: "alice".into(),
        react: Some(true),
    };
    let reacted = write(&store, &rid, react, &[]).await.unwrap();
    assert_eq!(reacted.seq, Some(7));
    match reacted.items.as_slice() {
        [RoomEventItem::MessageUpdated { message }] => {
            assert_eq!(message.msg, "hello!");
            assert_eq!(
                message.extra["reactions"],
                serde_json::json!({":tada:": {"usernames": ["alice"]}})
            );
        }
        other => panic!("react: {other:?}"),
    }
    let deleted = RoomChange::DeleteMessage {
        id: post.id.clone(),
    };
    let deleted = write(&store, &rid, deleted, &[]).await.unwrap();
    assert_eq!(deleted.seq, Some(8));
    assert_eq!(deleted.counters.map(|c| c.msgs), Some(2));

    let mut settings = room_now(&store, &rid).await;
    settings.subject = Some("Plans".into());
    settings.guest_access = true;
    let note = Message::system(&rid, "room_changed_topic", alice.to_ref(), "alice");
    let change = RoomChange::UpdateRoom {
        room: settings.clone(),
        message: Some(note.clone()),
        guest_access: Some(true),
    };
    let changed = write(&store, &rid, change, &[]).await.unwrap();
    assert_eq!(changed.seq, Some(9));
    match changed.items.as_slice() {
        [RoomEventItem::RoomUpdated { room: r }, RoomEventItem::GuestAccessChanged { allowed: true }, RoomEventItem::MessageCreated { message }] =>
        {
            assert_eq!(**r, room_now(&store, &rid).await, "the room as it now is");
            assert_eq!(message.id, note.id);
        }
        other => panic!("update room: {other:?}"),
    }
    let gone = write(&store, &rid, RoomChange::DeleteRoom, &[])
        .await
        .unwrap();
    assert_eq!(gone.seq, Some(10));
    assert_eq!(gone.items, vec![RoomEventItem::RoomDeleted]);

    // The log reads back what each write answered, in order, kinds included.
    let answered = [
        created, added, removed, updated, posted, reacted, deleted, changed, gone,
    ];
    let log = events(&store, &rid).await;
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(
        log.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        vec![
            "room.created",
            "members.added",
            "member.removed",
            "member.updated",
            "message.created",
            "message.updated",
            "message.reacted",
            "message.deleted",
            "room.updated",
            "room.deleted",
        ]
    );
    for w in &answered {
        let e = &log[w.seq.unwrap() as usize - 1];
        assert_eq!((e.rid.as_str(), &e.items), (rid.as_str(), &w.items));
    }
    assert_eq!(
        log[5].items,
        vec![RoomEventItem::MessageUpdated {
            message: Box::new(edited)
        }]
    );
    assert!(log.iter().all(|e| e.created_at.0 > 0));
    // Paging: after a number, at most `limit`.
    let page = store.room_events(&rid, 4, 3).await.unwrap();
    assert_eq!(
        page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![5, 6, 7]
    );
    assert!(store.room_events(&rid, 10, 5).await.unwrap().is_empty());
    assert!(store.room_events("no-room", 0, 5).await.unwrap().is_empty());
}

/// A change that changes nothing writes no event, takes no number and answers the default.
pub async fn no_op_changes_write_no_event(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "quiet", RoomType::Channel).await;
    let rid = room.id.clone();
    let join = member(&room, &alice, &alice.to_ref());
    write(
        &store,
        &rid,
        RoomChange::AddMembers(vec![join.clone()]),
        &[],
    )
    .await
    .unwrap();
    let hooks = [endpoint("all", &[], true)];
    store.insert_webhook_endpoint(&hooks[0]).await.unwrap();
    let noops = [
        RoomChange::AddMembers(vec![]),
        RoomChange::AddMembers(vec![member(&room, &alice, &alice.to_ref())]),
        RoomChange::RemoveMember {
            uid: bob.id.clone(),
            message: Some(Message::system(&rid, "ru", alice.to_ref(), "bob")),
        },
        RoomChange::DeleteMessage { id: "nope".into() },
        RoomChange::React {
            id: "nope".into(),
            emoji: ":x:".into(),
            username: "alice".into(),
            react: None,
        },
    ];
    for change in noops {
        let what = format!("{change:?}");
        let written = write(&store, &rid, change, &hooks).await.unwrap();
        assert!(
            !written.changed() && written.items.is_empty() && written.counters.is_none(),
            "{what}: {written:?}"
        );
    }
    // Nothing in the missing room's log either.
    let missing = RoomChange::RemoveMember {
        uid: alice.id.clone(),
        message: None,
    };
    assert!(!write(&store, "no-room", missing, &hooks)
        .await
        .unwrap()
        .changed());
    assert!(!write(&store, "no-room", RoomChange::DeleteRoom, &hooks)
        .await
        .unwrap()
        .changed());
    assert!(events(&store, "no-room").await.is_empty());
    // The room's log: its creation and the one real add; no outbox row for the no-ops; the
    // system message of the skipped add was not written.
    assert_eq!(
        events(&store, &rid)
            .await
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(outbox(&store, "all").await.is_empty());
    assert_eq!(room_now(&store, &rid).await.msgs, 1);
    // The next real change takes the next number.
    let post = message_at(&room, &alice, "hi", 1_000);
    let posted = write(&store, &rid, RoomChange::PostMessage(post), &hooks)
        .await
        .unwrap();
    assert_eq!(posted.seq, Some(3));
}

/// Outbox rows: one per item an endpoint wants, per endpoint (disabled ones and types not
/// asked for get none), pointing at the event and the item, with no body yet.
pub async fn room_event_outbox_rows_follow_wanted_types(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let joins = endpoint("joins", &["participant.joined"], true);
    let all = endpoint("all", &[], true);
    let off = endpoint("off", &[], false);
    let posts = endpoint("posts", &["message.sent"], true);
    // Registered when the write began, deleted before it ran: skipped, not an error.
    let deleted = endpoint("deleted", &[], true);
    for e in [&joins, &all, &off, &posts] {
        store.insert_webhook_endpoint(e).await.unwrap();
    }
    let hooks = vec![joins, all, off, posts, deleted];
    let room = room("hooked", RoomType::Group);
    let rid = room.id.clone();
    let create = RoomChange::Create {
        room: room.clone(),
        members: vec![sub(&room, &alice)],
    };
    write(&store, &rid, create, &hooks).await.unwrap();
    // RoomCreated has no webhook type; its MemberAdded (item 1) does.
    let first: Vec<(String, Option<i64>, Option<i64>)> = outbox(&store, "all")
        .await
        .into_iter()
        .map(|o| (o.event_type, o.seq, o.item))
        .collect();
    assert_eq!(
        first,
        vec![("participant.joined".to_string(), Some(1), Some(1))]
    );
    let invite = RoomChange::AddMembers(vec![member(&room, &bob, &alice.to_ref())]);
    let added = write(&store, &rid, invite, &hooks).await.unwrap();
    assert_eq!(added.seq, Some(2));
    let of = |items: Vec<OutboxItem>| {
        let mut v: Vec<(String, i64, i64)> = items
            .into_iter()
            .filter(|o| o.seq == Some(2))
            .map(|o| {
                assert_eq!(o.rid.as_deref(), Some(rid.as_str()));
                assert_eq!((o.body.as_str(), o.attempts), ("", 0));
                assert!(o.delivered_at.is_none());
                (o.event_type, o.seq.unwrap(), o.item.unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let joined = ("participant.joined".to_string(), 2, 0);
    let sent = ("message.sent".to_string(), 2, 1);
    assert_eq!(of(outbox(&store, "joins").await), vec![joined.clone()]);
    assert_eq!(of(outbox(&store, "all").await), vec![sent.clone(), joined]);
    assert_eq!(of(outbox(&store, "posts").await), vec![sent]);
    assert!(outbox(&store, "off").await.is_empty());
    assert!(outbox(&store, "deleted").await.is_empty());
    // Outbox rows are due at once, oldest first, like any delivery.
    let due = store.due_outbox(Timestamp::now(), 12, 100).await.unwrap();
    // joins: 2 (one per event), all: 3, posts: 1.
    assert_eq!(due.len(), 6);
    // An event no endpoint wants writes no outbox row.
    let mut settings = room_now(&store, &rid).await;
    settings.subject = Some("quiet".into());
    let change = RoomChange::UpdateRoom {
        room: settings,
        message: None,
        guest_access: None,
    };
    write(&store, &rid, change, &hooks).await.unwrap();
    assert_eq!(outbox(&store, "all").await.len(), 3);
}

/// A change whose SQL fails leaves no event, no outbox row and no number taken.
pub async fn failed_changes_leave_no_event_and_no_outbox_row(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let all = endpoint("all", &[], true);
    store.insert_webhook_endpoint(&all).await.unwrap();
    let hooks = [all];
    let taken = room("taken", RoomType::Channel);
    let create = |room: &Room| RoomChange::Create {
        room: room.clone(),
        members: vec![sub(room, &alice)],
    };
    write(&store, &taken.id, create(&taken), &hooks)
        .await
        .unwrap();
    assert_eq!(outbox(&store, "all").await.len(), 1);
    // Same name, another id: a conflict, and nothing of it written.
    let twin = room("taken", RoomType::Channel);
    let (code, _) = conflict_code(
        write(&store, &twin.id, create(&twin), &hooks)
            .await
            .map(|_| ()),
    );
    assert_eq!(code, "error-duplicate-channel-name");
    assert!(events(&store, &twin.id).await.is_empty());
    assert!(store.room_by_id(&twin.id).await.unwrap().is_none());
    assert_eq!(outbox(&store, "all").await.len(), 1);
    // A repeated idempotency key: the post fails whole, and the room's numbering goes on
    // without a gap.
    let mut first = message_at(&taken, &alice, "once", 1_000);
    first.idempotency_key = Some("k".into());
    let mut again = message_at(&taken, &alice, "twice", 2_000);
    again.idempotency_key = Some("k".into());
    let rid = taken.id.clone();
    let posted = write(&store, &rid, RoomChange::PostMessage(first), &hooks)
        .await
        .unwrap();
    assert_eq!(posted.seq, Some(2));
    let (code, _) = conflict_code(
        write(&store, &rid, RoomChange::PostMessage(again), &hooks)
            .await
            .map(|_| ()),
    );
    assert_eq!(code, "IDEMPOTENCY_KEY_USED");
    assert_eq!(outbox(&store, "all").await.len(), 2);
    // Missing rooms and memberships keep their errors.
    let nowhere = room("x", RoomType::Channel);
    let missing_room = |r: huddle_core::Result<RoomWritten>| {
        assert!(
            matches!(&r, Err(Error::NotFound(f)) if f.code == "error-room-not-found"),
            "{r:?}"
        )
    };
    let orphan = message_at(&nowhere, &alice, "x", 1);
    missing_room(write(&store, &nowhere.id, RoomChange::PostMessage(orphan), &hooks).await);
    let invite = RoomChange::AddMembers(vec![member(&nowhere, &alice, &alice.to_ref())]);
    missing_room(write(&store, &nowhere.id, invite, &hooks).await);
    let note = Message::system(&nowhere.id, "r", alice.to_ref(), "alice");
    let with_note = RoomChange::UpdateMember {
        subscription: sub(&nowhere, &alice),
        message: Some(note),
    };
    missing_room(write(&store, &nowhere.id, with_note, &hooks).await);
    let mut stranger = sub(&taken, &insert_user(&store, "bob").await);
    stranger.roles = vec!["owner".into()];
    let update = RoomChange::UpdateMember {
        subscription: stranger,
        message: None,
    };
    assert!(matches!(
        write(&store, &rid, update, &hooks).await,
        Err(Error::Invalid(f)) if f.code == "error-invalid-subscription"
    ));
    let post = message_at(&taken, &alice, "next", 3_000);
    let next = write(&store, &rid, RoomChange::PostMessage(post), &hooks)
        .await
        .unwrap();
    assert_eq!(next.seq, Some(3));
    assert_eq!(
        events(&store, &rid)
            .await
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(outbox(&store, "all").await.len(), 3);
}

/// A deleted room keeps its events, its deletion last; a room made again with its id numbers
/// on after them.
pub async fn a_deleted_room_keeps_its_events(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let room = room("short-lived", RoomType::Channel);
    let rid = room.id.clone();
    let create = |room: &Room| RoomChange::Create {
        room: room.clone(),
        members: vec![sub(room, &alice)],
    };
    write(&store, &rid, create(&room), &[]).await.unwrap();
    let post = message_at(&room, &alice, "bye", 1_000);
    write(&store, &rid, RoomChange::PostMessage(post), &[])
        .await
        .unwrap();
    assert!(store.delete_room(&rid).await.unwrap());
    assert!(store.room_by_id(&rid).await.unwrap().is_none());
    let log = events(&store, &rid).await;
    assert_eq!(
        log.iter()
            .map(|e| (e.seq, e.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (1, "room.created"),
            (2, "message.created"),
            (3, "room.deleted")
        ]
    );
    assert!(!store.delete_room(&rid).await.unwrap());
    assert_eq!(
        events(&store, &rid).await.len(),
        3,
        "deleting again adds nothing"
    );
    // Made again under the same id (a direct message, a client-chosen conversation id).
    let again = write(&store, &rid, create(&room), &[]).await.unwrap();
    assert_eq!(again.seq, Some(4));
    // Deleted and made again at once, often in one SQLite batch (whose event rows are written
    // at its end): the new room still numbers on after the deletion.
    for _ in 0..10 {
        let (gone, made) = tokio::join!(
            store.delete_room(&rid),
            write(&store, &rid, create(&room), &[])
        );
        assert!(gone.unwrap());
        if let Err(e) = made {
            // PostgreSQL may run the creation first, while the room still exists.
            assert!(matches!(e, Error::Conflict(_)), "{e:?}");
            write(&store, &rid, create(&room), &[]).await.unwrap();
        }
    }
    let log = events(&store, &rid).await;
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=24).collect::<Vec<_>>()
    );
}
