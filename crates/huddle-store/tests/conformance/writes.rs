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

/// Token and room reads are served from memory after the first read; every write that changes
/// them makes the next read see the change.
pub async fn cached_reads_follow_writes(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let session = token(&alice.id, TokenKind::Session, None);
    let other = token(&alice.id, TokenKind::Session, None);
    let pat = token(&alice.id, TokenKind::PersonalAccess, Some("ci"));
    for t in [&session, &other, &pat] {
        store.insert_token(t).await.unwrap();
    }
    let cached = |hashed: String| {
        let store = store.clone();
        async move {
            // Twice: the second read is the cached one.
            store.user_by_token(&hashed).await.unwrap();
            store.user_by_token(&hashed).await.unwrap()
        }
    };
    assert!(cached(session.hashed.clone()).await.is_some());
    // Logout: the token is gone for the very next request.
    assert!(store.delete_token(&session.hashed).await.unwrap());
    assert!(cached(session.hashed.clone()).await.is_none());
    // A named token deleted by name.
    assert!(cached(pat.hashed.clone()).await.is_some());
    assert!(store.delete_named_token(&alice.id, "ci").await.unwrap());
    assert!(cached(pat.hashed.clone()).await.is_none());
    // Deactivation and a role change are seen through a cached token.
    let (u, _) = cached(other.hashed.clone()).await.unwrap();
    assert!(u.active);
    let mut changed = u.clone();
    changed.active = false;
    changed.roles = vec!["user".into(), "bot".into()];
    store.update_user(&changed).await.unwrap();
    let (u, _) = cached(other.hashed.clone()).await.unwrap();
    assert!(!u.active);
    assert_eq!(u.roles, changed.roles);
    // All of a user's tokens at once; then the user deleted.
    store.delete_tokens_of_user(&alice.id).await.unwrap();
    assert!(cached(other.hashed.clone()).await.is_none());
    let bobs = token(&bob.id, TokenKind::Session, None);
    store.insert_token(&bobs).await.unwrap();
    assert!(cached(bobs.hashed.clone()).await.is_some());
    assert!(store.delete_user(&bob.id).await.unwrap());
    assert!(cached(bobs.hashed.clone()).await.is_none());

    // Rooms: rename, counters, deletion.
    let carol = insert_user(&store, "carol").await;
    let room = create_room(&store, "cached", RoomType::Channel).await;
    let read = |id: String| {
        let store = store.clone();
        async move {
            store.room_by_id(&id).await.unwrap();
            store.room_by_id(&id).await.unwrap()
        }
    };
    let mut r = read(room.id.clone()).await.unwrap();
    r.fname = Some("Renamed".into());
    r.topic = Some("new topic".into());
    store.update_room(&r, None).await.unwrap();
    let now = read(room.id.clone()).await.unwrap();
    assert_eq!(
        (now.fname.as_deref(), now.topic.as_deref()),
        (Some("Renamed"), Some("new topic"))
    );
    store
        .add_members(&room.id, &[member(&room, &carol, &carol.to_ref())])
        .await
        .unwrap();
    assert_eq!(read(room.id.clone()).await.unwrap().users_count, 1);
    store
        .insert_message(&message_at(&room, &carol, "hi", 1_000))
        .await
        .unwrap();
    assert_eq!(read(room.id.clone()).await.unwrap().msgs, 2);
    assert!(store
        .remove_member(&room.id, &carol.id, None)
        .await
        .unwrap());
    assert_eq!(read(room.id.clone()).await.unwrap().users_count, 0);
    assert!(store.delete_room(&room.id).await.unwrap());
    assert!(read(room.id.clone()).await.is_none());
}
