//! Invite links and room bans.

#![allow(unused_imports)]

use huddle_core::store::{RoomChange, RoomWrite};
use huddle_core::{Invite, RoomBan};

use super::*;

fn invite(id: &str, token: &str, rid: &str, max_uses: i64, expires: Option<i64>) -> Invite {
    Invite {
        id: id.into(),
        token: token.into(),
        rid: rid.into(),
        user_id: "u1".into(),
        days: if expires.is_some() { 1 } else { 0 },
        max_uses,
        uses: 0,
        created_at: Timestamp(100),
        expires: expires.map(Timestamp),
        updated_at: Timestamp(100),
    }
}

pub async fn invites_reuse_expiry_and_counted_uses(store: Arc<dyn Store>) {
    let a = invite("i1", "t1", "r1", 2, Some(1_000));
    let b = invite("i2", "t2", "r1", 0, None);
    store.insert_invite(&a).await.unwrap();
    store.insert_invite(&b).await.unwrap();
    assert_eq!(store.invite_by_id("i1").await.unwrap(), Some(a.clone()));
    assert_eq!(store.invite_by_token("t2").await.unwrap(), Some(b.clone()));
    assert_eq!(
        store.invite_by_token("i2").await.unwrap(),
        None,
        "an id is no token"
    );
    assert_eq!(store.list_invites().await.unwrap().len(), 2);
    let reuse = |days, max, now| store.reusable_invite("u1", "r1", days, max, Timestamp(now));
    assert_eq!(
        reuse(1, 2, 500).await.unwrap().map(|i| i.id),
        Some("i1".into())
    );
    assert_eq!(
        reuse(1, 2, 1_000).await.unwrap(),
        None,
        "expired at its time"
    );
    assert_eq!(
        reuse(0, 0, 9_999).await.unwrap().map(|i| i.id),
        Some("i2".into())
    );
    assert_eq!(reuse(1, 5, 500).await.unwrap(), None, "other settings");
    // Uses: at most max_uses, never after expiry.
    assert!(store.count_invite_use("i1", Timestamp(500)).await.unwrap());
    assert!(!store
        .count_invite_use("i1", Timestamp(1_000))
        .await
        .unwrap());
    assert!(store.count_invite_use("i1", Timestamp(501)).await.unwrap());
    assert!(!store.count_invite_use("i1", Timestamp(502)).await.unwrap());
    assert_eq!(store.invite_by_id("i1").await.unwrap().unwrap().uses, 2);
    assert_eq!(reuse(1, 2, 600).await.unwrap(), None, "used up");
    // Concurrent uses of a link with room for 5 count exactly 5.
    let c = invite("i3", "t3", "r1", 5, None);
    store.insert_invite(&c).await.unwrap();
    let tries: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.count_invite_use("i3", Timestamp(700)).await })
        })
        .collect();
    let mut granted = 0;
    for t in tries {
        if t.await.unwrap().unwrap() {
            granted += 1;
        }
    }
    assert_eq!(granted, 5);
    assert_eq!(store.invite_by_id("i3").await.unwrap().unwrap().uses, 5);
    assert!(store.delete_invite("i1").await.unwrap());
    assert!(!store.delete_invite("i1").await.unwrap());
    assert_eq!(store.invite_by_token("t1").await.unwrap(), None);
}

pub async fn bans_remove_the_member_and_keep_them_out(store: Arc<dyn Store>) {
    let room = create_room(&store, "banned-room", RoomType::Channel).await;
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    store
        .add_members(
            &room.id,
            &[
                member(&room, &alice, &alice.to_ref()),
                member(&room, &bob, &alice.to_ref()),
            ],
        )
        .await
        .unwrap();
    let ban = RoomBan {
        rid: room.id.clone(),
        uid: bob.id.clone(),
        username: "bob".into(),
        name: Some("Bob".into()),
        by: alice.id.clone(),
        ts: Timestamp(200),
    };
    let msg = Message::system(&room.id, "user-banned", alice.to_ref(), "bob");
    let written = store
        .write_room(RoomWrite::new(
            &room.id,
            RoomChange::Ban {
                ban: ban.clone(),
                message: msg,
            },
        ))
        .await
        .unwrap();
    assert!(written.changed());
    assert_eq!(written.counters.unwrap().users_count, 1);
    assert!(store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.room_ban(&room.id, &bob.id).await.unwrap(),
        Some(ban.clone())
    );
    let both = vec![alice.id.clone(), bob.id.clone()];
    assert_eq!(
        store.banned_among(&room.id, &both).await.unwrap(),
        vec![bob.id.clone()]
    );
    let page = store.room_bans(&room.id, all()).await.unwrap();
    assert_eq!((page.total, page.items.len()), (1, 1));
    // Banning a non-member changes nothing.
    let again = store
        .write_room(RoomWrite::new(
            &room.id,
            RoomChange::Ban {
                ban: ban.clone(),
                message: Message::system(&room.id, "user-banned", alice.to_ref(), "bob"),
            },
        ))
        .await
        .unwrap();
    assert!(!again.changed());
    // Lifting: the row goes, the member does not come back.
    let lift = |store: Arc<dyn Store>| {
        let (rid, uid, by) = (room.id.clone(), bob.id.clone(), alice.to_ref());
        async move {
            store
                .write_room(RoomWrite::new(
                    &rid,
                    RoomChange::Unban {
                        uid,
                        message: Message::system(&rid, "user-unbanned", by, "bob"),
                    },
                ))
                .await
                .unwrap()
        }
    };
    assert!(lift(store.clone()).await.changed());
    assert!(!lift(store.clone()).await.changed());
    assert!(store.room_ban(&room.id, &bob.id).await.unwrap().is_none());
    assert!(store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .is_none());
    // Adding a banned user adds nobody (a ban that raced an add keeps its user out).
    store
        .add_members(&room.id, &[member(&room, &bob, &alice.to_ref())])
        .await
        .unwrap();
    let banned = store
        .write_room(RoomWrite::new(
            &room.id,
            RoomChange::Ban {
                ban: ban.clone(),
                message: Message::system(&room.id, "user-banned", alice.to_ref(), "bob"),
            },
        ))
        .await
        .unwrap();
    assert!(banned.changed());
    let added = store
        .add_members(&room.id, &[member(&room, &bob, &alice.to_ref())])
        .await
        .unwrap();
    assert!(added.is_empty());
    assert!(store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .is_none());
    assert!(store.room_ban(&room.id, &bob.id).await.unwrap().is_some());
    // A deleted room takes its bans and links along.
    store
        .insert_invite(&invite("i9", "t9", &room.id, 0, None))
        .await
        .unwrap();
    store.delete_room(&room.id).await.unwrap();
    assert!(store.invite_by_id("i9").await.unwrap().is_none());
}
