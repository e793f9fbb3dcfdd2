//! Unread state read from the room's post counter and each membership's read position
//! (migration 0006): memberships added in bulk after posts (past the 500-row statement chunk)
//! start from what they were given, later posts count for everyone but their sender, reads and
//! writes of one's own state fold the position in, and every read path agrees.

use super::*;

fn unread_of(subs: &[Subscription], uid: &str) -> (i64, bool) {
    let s = subs.iter().find(|s| s.u.id == uid).expect("member listed");
    (s.unread, s.alert)
}

pub async fn unread_is_read_from_room_counters_and_read_positions(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let room = create_room(&store, "busy", RoomType::Channel).await;
    let mut first = sub(&room, &alice);
    (first.unread, first.alert) = (0, false);
    store
        .add_members(
            &room.id,
            &[NewMember {
                subscription: first,
                message: None,
            }],
        )
        .await
        .unwrap();
    for i in 0..3 {
        let m = message_at(&room, &alice, &format!("early {i}"), 1_000 + i);
        store.insert_message(&m).await.unwrap();
    }
    // 600 members after three posts: more than one chunk of the bulk insert.
    let mut users = vec![];
    for chunk in (0..600).collect::<Vec<_>>().chunks(100) {
        users.extend(
            futures::future::join_all(
                chunk
                    .iter()
                    .map(|i| insert_user(&store, format!("r{i:03}"))),
            )
            .await,
        );
    }
    let members: Vec<NewMember> = users
        .iter()
        .map(|u| member(&room, u, &alice.to_ref()))
        .collect();
    assert_eq!(
        store.add_members(&room.id, &members).await.unwrap().len(),
        600
    );
    for u in [&users[0], &users[599]] {
        let s = store.subscription(&room.id, &u.id).await.unwrap().unwrap();
        assert_eq!(
            (s.unread, s.alert),
            (1, true),
            "the invite's own marker only"
        );
    }
    let alice_now = store
        .subscription(&room.id, &alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((alice_now.unread, alice_now.alert), (0, false), "own posts");

    let before = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let m = message_at(&room, &users[7], "late", 2_000);
    store.insert_message(&m).await.unwrap();
    let listed = store
        .list_members(
            &room.id,
            &MemberQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let subs: Vec<Subscription> = listed.items.into_iter().map(|m| m.subscription).collect();
    assert_eq!(subs.len(), 601);
    assert_eq!(unread_of(&subs, &users[0].id), (2, true));
    assert_eq!(
        unread_of(&subs, &users[7].id),
        (1, true),
        "the sender's post is not theirs to read"
    );
    assert_eq!(unread_of(&subs, &alice.id), (1, true));
    let with_roles = store.members_with_roles(&room.id).await.unwrap();
    assert!(with_roles.is_empty());

    // Changed since `before`: everyone who has the late post unread, not its sender.
    for (u, expected) in [(&users[0], true), (&alice, true), (&users[7], false)] {
        let since = store
            .subscriptions_of_user(&u.id, Some(before))
            .await
            .unwrap();
        assert_eq!(since.iter().any(|s| s.rid == room.id), expected, "{}", u.id);
        let all_subs = store.subscriptions_of_user(&u.id, None).await.unwrap();
        let s = all_subs.iter().find(|s| s.rid == room.id).unwrap();
        assert!(s.updated_at >= before || !expected);
    }

    // Reading folds the position in; one's own state written back keeps what it was given.
    assert!(store.mark_read(&room.id, &users[0].id).await.unwrap());
    let read = store
        .subscription(&room.id, &users[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.unread, read.alert), (0, false));
    let mut own = store
        .subscription(&room.id, &users[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(own.unread, 2);
    own.open = false;
    assert!(store.set_own_state(&own).await.unwrap());
    let m = message_at(&room, &alice, "later", 3_000);
    store.insert_message(&m).await.unwrap();
    let own = store
        .subscription(&room.id, &users[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((own.unread, own.alert, own.open), (3, true, false));
    let read = store
        .subscription(&room.id, &users[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.unread, read.alert), (1, true));

    // The member-facing conversation listing filters on the same unread state.
    let unread_only = |uid: &str| ConversationQuery {
        member: Some(uid.to_string()),
        unread_only: true,
        limit: 10,
        ..Default::default()
    };
    assert!(store.mark_read(&room.id, &users[0].id).await.unwrap());
    let none = store
        .list_conversations(&unread_only(&users[0].id))
        .await
        .unwrap();
    assert!(none.iter().all(|(r, _)| r.id != room.id));
    let m = message_at(&room, &alice, "again", 4_000);
    store.insert_message(&m).await.unwrap();
    let some = store
        .list_conversations(&unread_only(&users[0].id))
        .await
        .unwrap();
    let (_, s) = some.iter().find(|(r, _)| r.id == room.id).expect("listed");
    assert_eq!(s.as_ref().map(|s| (s.unread, s.alert)), Some((1, true)));
}
