//! The event log under concurrent writers: one room's numbers stay 1..N without a gap, and
//! the memberships, messages and outbox agree with the events.

#![allow(unused_imports)]

use std::collections::HashSet;

use huddle_core::store::{RoomChange, RoomEventItem};

use super::room_events::{endpoint, events, outbox, write};
use super::*;

/// Eight writers adding members and posting into one room at once: the room's events are
/// 1..=N with no gap, and the memberships, messages and outbox agree with them.
pub async fn concurrent_writers_number_without_gaps(store: Arc<dyn Store>) {
    const WRITERS: usize = 8;
    const EACH: usize = 50;
    let alice = insert_user(&store, "alice").await;
    let every = endpoint("all", &[], true);
    store.insert_webhook_endpoint(&every).await.unwrap();
    let hooks = vec![every];
    let room = room("busy", RoomType::Channel);
    let rid = room.id.clone();
    let create = RoomChange::Create {
        room: room.clone(),
        members: vec![sub(&room, &alice)],
    };
    write(&store, &rid, create, &hooks).await.unwrap();
    let mut users = vec![];
    for i in 0..WRITERS * EACH / 2 {
        users.push(insert_user(&store, format!("u{i}")).await);
    }
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, room, alice, hooks) =
                (store.clone(), room.clone(), alice.clone(), hooks.clone());
            let mine: Vec<User> = users.iter().skip(w).step_by(WRITERS).cloned().collect();
            tokio::spawn(async move {
                let mut seqs = vec![];
                for i in 0..EACH {
                    let change = if i % 2 == 0 {
                        let u = &mine[i / 2];
                        RoomChange::AddMembers(vec![member(&room, u, &alice.to_ref())])
                    } else {
                        let text = format!("w{w} m{i}");
                        RoomChange::PostMessage(message_at(&room, &alice, &text, 1_000 + i as i64))
                    };
                    let written = write(&store, &room.id, change, &hooks).await.unwrap();
                    seqs.push(written.seq.expect("every change changed something"));
                }
                seqs
            })
        })
        .collect();
    let mut seqs = vec![1];
    for t in tasks {
        let mine = t.await.unwrap();
        assert!(
            mine.windows(2).all(|p| p[0] < p[1]),
            "one writer's own order"
        );
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    let n = (WRITERS * EACH + 1) as i64;
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>(), "answered numbers");
    let log = events(&store, &rid).await;
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "stored numbers"
    );
    let mut added = HashSet::new();
    let mut messages = HashSet::new();
    let mut deliveries = 0;
    for item in log.iter().flat_map(|e| &e.items) {
        match item {
            RoomEventItem::MemberAdded { subscription } => {
                assert!(added.insert(subscription.u.id.clone()));
            }
            RoomEventItem::MessageCreated { message } => {
                assert!(messages.insert(message.id.clone()));
            }
            _ => {}
        }
        deliveries += usize::from(item.webhook_type().is_some());
    }
    let r = room_now(&store, &rid).await;
    assert_eq!(r.users_count as usize, added.len());
    assert_eq!(added.len(), 1 + WRITERS * EACH / 2);
    for uid in &added {
        assert!(store.subscription(&rid, uid).await.unwrap().is_some());
    }
    let stored = store
        .list_messages(
            &rid,
            &MessageQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.msgs as usize, messages.len());
    assert_eq!(
        stored
            .items
            .into_iter()
            .map(|m| m.id)
            .collect::<HashSet<_>>(),
        messages
    );
    assert_eq!(outbox(&store, "all").await.len(), deliveries);
}
