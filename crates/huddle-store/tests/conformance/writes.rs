//! How writes commit: answers only once committed, a failing write undoing only itself among
//! concurrent ones (SQLite runs them in one group-committed transaction, one savepoint each),
//! and the room counters a membership write returns.

#![allow(unused_imports)]

use super::*;

/// Many concurrent writes, some of which fail (a username taken, a room that does not exist):
/// each failure is that write's alone, every success is committed before it is answered (a
/// reader connection sees it at once), and the counters stay exact.
pub async fn concurrent_writes_fail_alone_and_answer_after_commit(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let room = create_room(&store, "batch", RoomType::Channel).await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = store.clone();
            let (room, admin) = (room.clone(), admin.clone());
            tokio::spawn(async move {
                match i % 3 {
                    // A taken username: a conflict for this write only.
                    0 => {
                        let taken = User::new(new_id(), Some("admin".into()), "Twin".into());
                        (i, store.insert_user(&taken).await.map(|_| None))
                    }
                    // A fresh user joining the room: must be visible when answered.
                    1 => {
                        let u = user(&format!("w{i}"));
                        if let Err(e) = store.insert_user(&u).await {
                            return (i, Err(e));
                        }
                        let added = store
                            .add_members(&room.id, &[member(&room, &u, &admin.to_ref())])
                            .await;
                        (i, added.map(|_| Some(u.id)))
                    }
                    // A room that does not exist: NotFound, nothing written.
                    _ => {
                        let u = user(&format!("w{i}"));
                        let missing = super::room("nowhere", RoomType::Channel);
                        if let Err(e) = store.insert_user(&u).await {
                            return (i, Err(e));
                        }
                        let added = store
                            .add_members(&missing.id, &[member(&missing, &u, &admin.to_ref())])
                            .await;
                        (i, added.map(|_| None))
                    }
                }
            })
        })
        .collect();
    let mut joined = vec![];
    for t in tasks {
        let (i, result) = t.await.unwrap();
        match (i % 3, result) {
            (0, Err(Error::Conflict(_))) => {}
            (1, Ok(Some(uid))) => {
                // Answered, so committed: a reader sees it now, not eventually.
                assert!(
                    store.subscription(&room.id, &uid).await.unwrap().is_some(),
                    "answered membership of {uid} not visible"
                );
                joined.push(uid);
            }
            (2, Err(Error::NotFound(_))) => {}
            (_, other) => panic!("write {i}: unexpected {other:?}"),
        }
    }
    assert_eq!(joined.len(), 20);
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (20, 20));
    let twins = store
        .list_users(&UserQuery {
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    // admin, 20 joiners and the 20 users whose room was missing (their own write succeeded).
    assert_eq!(twins.total, 41);
}

/// A membership write returns the room's counters as it left them, equal to a fresh read.
pub async fn membership_writes_return_the_room_counters(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "counted", RoomType::Channel).await;
    let (added, counters) = store
        .add_members_counted(&room.id, &[member(&room, &bob, &admin.to_ref())])
        .await
        .unwrap();
    assert_eq!(added, vec![bob.id.clone()]);
    let now = room_now(&store, &room.id).await;
    let counters = counters.expect("someone was added");
    assert_eq!(counters.apply(room.clone()), now);
    // Nobody new: no counters.
    let (added, counters) = store
        .add_members_counted(&room.id, &[member(&room, &bob, &admin.to_ref())])
        .await
        .unwrap();
    assert!(added.is_empty() && counters.is_none());
    let kick = Message::system(&room.id, "ru", admin.to_ref(), "bob");
    let counters = store
        .remove_member_counted(&room.id, &bob.id, Some(&kick))
        .await
        .unwrap()
        .expect("bob was removed");
    let now = room_now(&store, &room.id).await;
    assert_eq!(counters.apply(room.clone()), now);
    assert_eq!((now.users_count, now.msgs), (0, 2));
    assert!(store
        .remove_member_counted(&room.id, &bob.id, None)
        .await
        .unwrap()
        .is_none());
}
