//! Memberships: idempotent adds, counters, races, bulk adds, removal, member lists, read state and roles, user deletion, renames.

#![allow(unused_imports)]

use super::*;

pub async fn add_members_is_idempotent_and_keeps_counters(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let users: Vec<_> =
        futures::future::join_all((0..4).map(|i| insert_user(&store, format!("u{i}")))).await;
    let room = create_room(&store, "team", RoomType::Channel).await;
    assert!(store.add_members(&room.id, &[]).await.unwrap().is_empty());

    let mut first: Vec<NewMember> = users[..3]
        .iter()
        .map(|u| member(&room, u, &admin.to_ref()))
        .collect();
    for (i, m) in first.iter_mut().enumerate() {
        m.message.as_mut().unwrap().ts = Timestamp(1_000 + i as i64 * 10);
    }
    first.push(member(&room, &users[0], &admin.to_ref())); // the same user twice in one request
    let added = store.add_members(&room.id, &first).await.unwrap();
    assert_eq!(
        added,
        users[..3].iter().map(|u| u.id.clone()).collect::<Vec<_>>()
    );
    let r = room_now(&store, &room.id).await;
    assert_eq!(
        (r.users_count, r.msgs, r.last_message_at),
        (3, 3, Some(Timestamp(1_020)))
    );

    // Two already in, one new: only the new one and its message are written.
    let again = vec![
        member(&room, &users[1], &admin.to_ref()),
        member(&room, &users[3], &admin.to_ref()),
        member(&room, &users[2], &admin.to_ref()),
    ];
    let added = store.add_members(&room.id, &again).await.unwrap();
    assert_eq!(added, vec![users[3].id.clone()]);
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (4, 4));
    assert_eq!(
        r.last_message_at,
        Some(again[1].message.as_ref().unwrap().ts)
    );
    let history = store
        .list_messages(
            &room.id,
            &MessageQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.total, 4);
    assert!(
        store
            .message_by_id(&again[0].message.as_ref().unwrap().id)
            .await
            .unwrap()
            .is_none(),
        "skipped member's message not written"
    );

    // Nothing new: nothing changes, not even updatedAt.
    let before = room_now(&store, &room.id).await;
    assert!(store
        .add_members(&room.id, &again)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(room_now(&store, &room.id).await, before);

    // A member without a message (room creation style) counts but writes nothing.
    let quiet = insert_user(&store, "quiet").await;
    let added = store
        .add_members(
            &room.id,
            &[NewMember {
                subscription: sub(&room, &quiet),
                message: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 1);
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (5, 4));

    assert!(matches!(
        store
            .add_members("no-room", &[member(&room, &admin, &admin.to_ref())])
            .await,
        Err(Error::NotFound(_))
    ));
}

pub async fn concurrent_add_of_same_user_adds_once(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let target = insert_user(&store, "target").await;
    let room = create_room(&store, "race", RoomType::Channel).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let m = member(&room, &target, &admin.to_ref());
            let rid = room.id.clone();
            tokio::spawn(async move { store.add_members(&rid, &[m]).await })
        })
        .collect();
    let mut added = 0;
    for t in tasks {
        added += t.await.unwrap().unwrap().len();
    }
    assert_eq!(added, 1, "exactly one request added the user");
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (1, 1));
    let history = store
        .list_messages(
            &room.id,
            &MessageQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.total, 1);
    let members = store
        .list_members(
            &room.id,
            &MemberQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(members.total, 1);
    assert_eq!(members.items.len(), 1);
}

pub async fn concurrent_membership_churn_keeps_counts_exact(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let users: Vec<_> =
        futures::future::join_all((0..10).map(|i| insert_user(&store, format!("c{i}")))).await;
    let rooms = vec![
        create_room(&store, "r1", RoomType::Channel).await,
        create_room(&store, "r2", RoomType::Group).await,
    ];
    let mut tasks = vec![];
    for round in 0..6 {
        for (i, u) in users.iter().enumerate() {
            let store = store.clone();
            let u = u.clone();
            let admin = admin.to_ref();
            let room = rooms[(i + round) % 2].clone();
            tasks.push(tokio::spawn(async move {
                if (i + round) % 3 == 0 {
                    let msg = Message::system(&room.id, "ru", admin, u.username_or_id());
                    store
                        .remove_member(&room.id, &u.id, Some(&msg))
                        .await
                        .map(|_| ())
                } else if (i + round) % 3 == 1 {
                    store
                        .add_members(&room.id, &[member(&room, &u, &admin)])
                        .await
                        .map(|_| ())
                } else {
                    store
                        .insert_message(&Message::new(&room.id, u.to_ref(), "hello".into(), None))
                        .await
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    for room in &rooms {
        let r = room_now(&store, &room.id).await;
        let members = store
            .list_members(
                &room.id,
                &MemberQuery {
                    paging: all(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            r.users_count,
            members.items.len() as i64,
            "usersCount matches the memberships"
        );
        assert_eq!(members.total, r.users_count);
        let history = store
            .list_messages(
                &room.id,
                &MessageQuery {
                    paging: all(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(r.msgs, history.total, "msgs matches the messages");
    }
}

pub async fn bulk_add_2000_members(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let room = create_room(&store, "big", RoomType::Channel).await;
    // Users go in through a room creation shortcut-free path: one insert each, concurrently.
    let mut users = vec![];
    for chunk in (0..2000).collect::<Vec<_>>().chunks(200) {
        let batch = futures::future::join_all(
            chunk
                .iter()
                .map(|i| insert_user(&store, format!("m{i:04}"))),
        )
        .await;
        users.extend(batch);
    }
    let members: Vec<NewMember> = users
        .iter()
        .map(|u| member(&room, u, &admin.to_ref()))
        .collect();
    // How fast this is belongs to the benchmark (huddle-bench invite-bulk), not to a test.
    let added = store.add_members(&room.id, &members).await.unwrap();
    assert_eq!(added.len(), 2000);
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (2000, 2000));
    let first = store
        .list_members(
            &room.id,
            &MemberQuery {
                paging: page(0, 50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.total, 2000);
    assert_eq!(first.items[0].user.username.as_deref(), Some("m0000"));
    let last = store
        .list_members(
            &room.id,
            &MemberQuery {
                paging: page(1990, 50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(last.items.len(), 10);
    assert_eq!(last.items[9].user.username.as_deref(), Some("m1999"));

    // Re-adding everyone plus one newcomer adds only the newcomer.
    let newcomer = insert_user(&store, "newcomer").await;
    let mut again = members.clone();
    again.push(member(&room, &newcomer, &admin.to_ref()));
    assert_eq!(
        store.add_members(&room.id, &again).await.unwrap(),
        vec![newcomer.id.clone()]
    );
    assert_eq!(room_now(&store, &room.id).await.users_count, 2001);

    // Bulk lookups chunk their IN lists.
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    assert_eq!(store.users_by_ids(&ids).await.unwrap().len(), 2000);
    let names: Vec<String> = users
        .iter()
        .map(|u| u.username.clone().unwrap().to_uppercase())
        .collect();
    assert_eq!(store.users_by_usernames(&names).await.unwrap().len(), 2000);
}

pub async fn remove_member_counters(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "team", RoomType::Channel).await;
    store
        .add_members(
            &room.id,
            &[
                member(&room, &admin, &admin.to_ref()),
                member(&room, &bob, &admin.to_ref()),
            ],
        )
        .await
        .unwrap();
    let mut kick = Message::system(&room.id, "ru", admin.to_ref(), "bob");
    kick.ts = Timestamp(Timestamp::now().0 + 60_000);
    assert!(store
        .remove_member(&room.id, &bob.id, Some(&kick))
        .await
        .unwrap());
    let r = room_now(&store, &room.id).await;
    assert_eq!(
        (r.users_count, r.msgs, r.last_message_at),
        (1, 3, Some(kick.ts))
    );
    assert!(store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .is_none());

    let again = Message::system(&room.id, "ru", admin.to_ref(), "bob");
    assert!(!store
        .remove_member(&room.id, &bob.id, Some(&again))
        .await
        .unwrap());
    assert!(
        store.message_by_id(&again.id).await.unwrap().is_none(),
        "no message when nothing was removed"
    );
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (1, 3));
    assert!(!store.remove_member("no-room", &bob.id, None).await.unwrap());
    assert!(store
        .remove_member(&room.id, &admin.id, None)
        .await
        .unwrap());
    assert_eq!(room_now(&store, &room.id).await.users_count, 0);
}

pub async fn list_members_paging_filter_total(store: Arc<dyn Store>) {
    let room = create_room(&store, "team", RoomType::Channel).await;
    let mut members = vec![];
    let mut active_names = vec![];
    for i in 0..30 {
        let mut u = user(&format!("p{i:02}"));
        u.name = if i == 7 {
            "Special_Agent".into()
        } else {
            format!("Person {i}")
        };
        u.status = if i % 2 == 0 {
            "online".into()
        } else {
            "offline".into()
        };
        u.active = i % 10 != 9; // p09, p19, p29 are deactivated
        store.insert_user(&u).await.unwrap();
        if u.active {
            active_names.push(u.username.clone().unwrap());
        }
        members.push(NewMember {
            subscription: sub(&room, &u),
            message: None,
        });
    }
    let outsider = insert_user(&store, "p99").await;
    store.add_members(&room.id, &members).await.unwrap();
    assert_eq!(room_now(&store, &room.id).await.users_count, 30);
    let names = |p: &huddle_core::Page<huddle_core::Member>| {
        p.items
            .iter()
            .map(|m| m.user.username.clone().unwrap())
            .collect::<Vec<_>>()
    };

    let q = |paging, text: Option<&str>, statuses: Vec<&str>, sort_desc| MemberQuery {
        text: text.map(str::to_string),
        statuses: statuses.into_iter().map(str::to_string).collect(),
        paging,
        sort_desc,
    };
    let first = store
        .list_members(&room.id, &q(page(0, 10), None, vec![], false))
        .await
        .unwrap();
    assert_eq!(first.total, 27, "inactive users are not listed");
    assert_eq!(names(&first), active_names[..10].to_vec());
    assert_eq!(first.items[0].subscription.u.id, first.items[0].user.id);
    let second = store
        .list_members(&room.id, &q(page(10, 10), None, vec![], false))
        .await
        .unwrap();
    assert_eq!(names(&second), active_names[10..20].to_vec());
    let everyone = store
        .list_members(&room.id, &q(all(), None, vec![], false))
        .await
        .unwrap();
    assert_eq!(names(&everyone), active_names);
    let desc = store
        .list_members(&room.id, &q(page(0, 3), None, vec![], true))
        .await
        .unwrap();
    let mut reversed = active_names.clone();
    reversed.reverse();
    assert_eq!(names(&desc), reversed[..3].to_vec());
    let past_end = store
        .list_members(&room.id, &q(page(100, 10), None, vec![], false))
        .await
        .unwrap();
    assert_eq!((past_end.items.len(), past_end.total), (0, 27));

    let p1 = store
        .list_members(&room.id, &q(all(), Some("P1"), vec![], false))
        .await
        .unwrap();
    assert_eq!(
        names(&p1),
        vec!["p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18"],
        "username, case-insensitive"
    );
    assert_eq!(p1.total, 9);
    let by_name = store
        .list_members(&room.id, &q(all(), Some("person 2"), vec![], false))
        .await
        .unwrap();
    assert_eq!(by_name.total, 10, "name matches (p02, p20..p28)");
    let literal = store
        .list_members(&room.id, &q(all(), Some("l_a"), vec![], false))
        .await
        .unwrap();
    assert_eq!(names(&literal), vec!["p07"], "underscore matched literally");
    assert_eq!(
        store
            .list_members(&room.id, &q(all(), Some("lxa"), vec![], false))
            .await
            .unwrap()
            .total,
        0
    );
    let online = store
        .list_members(&room.id, &q(page(0, 5), None, vec!["online"], false))
        .await
        .unwrap();
    assert_eq!(online.total, 15);
    assert_eq!(online.items.len(), 5);
    let mixed = store
        .list_members(
            &room.id,
            &q(all(), Some("p0"), vec!["offline", "away"], false),
        )
        .await
        .unwrap();
    assert_eq!(names(&mixed), vec!["p01", "p03", "p05", "p07"]);

    // Deactivating and reactivating a member moves the total at once.
    let mut p00 = store.user_by_username("p00").await.unwrap().unwrap();
    p00.active = false;
    store.update_user(&p00).await.unwrap();
    assert_eq!(
        store
            .list_members(&room.id, &q(page(0, 1), None, vec![], false))
            .await
            .unwrap()
            .total,
        26
    );
    assert!(
        store
            .list_members(&room.id, &q(all(), Some("p99"), vec![], false))
            .await
            .unwrap()
            .items
            .is_empty(),
        "{outsider:?} is not a member"
    );
    assert_eq!(
        store
            .list_members("no-room", &q(all(), None, vec![], false))
            .await
            .unwrap()
            .total,
        0
    );
}

pub async fn subscriptions_read_state_and_roles(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "team", RoomType::Group).await;
    let other = create_room(&store, "other", RoomType::Channel).await;
    let mut owner = sub(&room, &alice);
    owner.roles = vec!["owner".into()];
    store
        .add_members(
            &room.id,
            &[
                NewMember {
                    subscription: owner,
                    message: None,
                },
                member(&room, &bob, &alice.to_ref()),
            ],
        )
        .await
        .unwrap();
    let before = Timestamp::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .add_members(&other.id, &[member(&other, &bob, &bob.to_ref())])
        .await
        .unwrap();
    let all_subs = store.subscriptions_of_user(&bob.id, None).await.unwrap();
    assert_eq!(all_subs.len(), 2);
    let recent = store
        .subscriptions_of_user(&bob.id, Some(before))
        .await
        .unwrap();
    assert_eq!(
        recent.iter().map(|s| s.rid.clone()).collect::<Vec<_>>(),
        vec![other.id.clone()],
        "only memberships updated since"
    );

    assert_eq!(
        store.count_role_in_room(&room.id, "owner").await.unwrap(),
        1
    );
    let mut bob_sub = store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .unwrap();
    bob_sub.roles = vec!["co-owner".into(), "moderator".into()];
    bob_sub.open = false;
    bob_sub.notify = "MentionsOnly".into();
    bob_sub.access = huddle_core::Access::Read;
    bob_sub.updated_at = Timestamp::now();
    let mut msg = Message::system(&room.id, "subscription-role-added", alice.to_ref(), "bob");
    msg.extra
        .insert("role".into(), serde_json::json!("moderator"));
    store
        .update_subscription(&bob_sub, Some(&msg))
        .await
        .unwrap();
    assert_eq!(
        store.subscription(&room.id, &bob.id).await.unwrap(),
        Some(bob_sub.clone())
    );
    assert_eq!(
        store.count_role_in_room(&room.id, "owner").await.unwrap(),
        1,
        "co-owner is not owner"
    );
    assert_eq!(
        store
            .count_role_in_room(&room.id, "moderator")
            .await
            .unwrap(),
        1
    );
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.msgs, r.last_message_at), (2, Some(msg.ts)));
    assert_eq!(
        store
            .message_by_id(&msg.id)
            .await
            .unwrap()
            .unwrap()
            .extra
            .get("role"),
        Some(&serde_json::json!("moderator"))
    );
    let with_roles = store.members_with_roles(&room.id).await.unwrap();
    assert_eq!(
        with_roles
            .iter()
            .map(|s| s.u.id.clone())
            .collect::<Vec<_>>(),
        vec![alice.id.clone(), bob.id.clone()]
    );
    let mut stranger = sub(&room, &insert_user(&store, "carol").await);
    stranger.roles = vec!["owner".into()];
    assert!(
        store.update_subscription(&stranger, None).await.is_err(),
        "no membership to update"
    );

    // Post so bob has unread, then mark read.
    store
        .insert_message(&Message::new(&room.id, alice.to_ref(), "hi".into(), None))
        .await
        .unwrap();
    assert!(
        store
            .subscription(&room.id, &bob.id)
            .await
            .unwrap()
            .unwrap()
            .unread
            > 0
    );
    assert!(store.mark_read(&room.id, &bob.id).await.unwrap());
    let read = store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            read.unread,
            read.alert,
            read.user_mentions,
            read.group_mentions
        ),
        (0, false, 0, 0)
    );
    assert!(read.ls.is_some() && read.updated_at >= bob_sub.updated_at);
    assert!(!store.mark_read(&room.id, "nobody").await.unwrap());
}

pub async fn delete_user_keeps_users_count_exact(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let rooms = [
        create_room(&store, "one", RoomType::Channel).await,
        create_room(&store, "two", RoomType::Group).await,
        create_room(&store, "three", RoomType::Channel).await,
    ];
    for r in &rooms[..2] {
        store
            .add_members(
                &r.id,
                &[
                    member(r, &alice, &alice.to_ref()),
                    member(r, &bob, &alice.to_ref()),
                ],
            )
            .await
            .unwrap();
    }
    store
        .add_members(&rooms[2].id, &[member(&rooms[2], &bob, &bob.to_ref())])
        .await
        .unwrap();
    store
        .insert_token(&token(&bob.id, TokenKind::Session, None))
        .await
        .unwrap();
    let mut bob_admin = bob.clone();
    bob_admin.roles.push("admin".into());
    store.update_user(&bob_admin).await.unwrap();

    assert!(store.delete_user(&bob.id).await.unwrap());
    assert_eq!(room_now(&store, &rooms[0].id).await.users_count, 1);
    assert_eq!(room_now(&store, &rooms[1].id).await.users_count, 1);
    assert_eq!(room_now(&store, &rooms[2].id).await.users_count, 0);
    assert!(store
        .subscriptions_of_user(&bob.id, None)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .tokens_of_user(&bob.id, TokenKind::Session)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 0);
    assert_eq!(
        store
            .subscriptions_of_user(&alice.id, None)
            .await
            .unwrap()
            .len(),
        2,
        "others keep their memberships"
    );
    let members = store
        .list_members(
            &rooms[0].id,
            &MemberQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((members.total, members.items.len()), (1, 1));
    assert!(!store.delete_user(&bob.id).await.unwrap());
    // A membership for a deleted user cannot be created.
    assert!(store
        .add_members(&rooms[0].id, &[member(&rooms[0], &bob, &alice.to_ref())])
        .await
        .is_err());
    assert_eq!(room_now(&store, &rooms[0].id).await.users_count, 1);
}

pub async fn rename_follows_into_memberships(store: Arc<dyn Store>) {
    let room = create_room(&store, "team", RoomType::Channel).await;
    let mut zed = insert_user(&store, "zed").await;
    let amy = insert_user(&store, "amy").await;
    store
        .add_members(
            &room.id,
            &[
                member(&room, &zed, &zed.to_ref()),
                member(&room, &amy, &zed.to_ref()),
            ],
        )
        .await
        .unwrap();
    zed.username = Some("aaron".into());
    zed.name = "Aaron".into();
    store.update_user(&zed).await.unwrap();
    let members = store
        .list_members(
            &room.id,
            &MemberQuery {
                paging: all(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let listed: Vec<_> = members
        .items
        .iter()
        .map(|m| {
            (
                m.subscription.u.username.clone(),
                m.subscription.u.name.clone(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("aaron".to_string(), Some("Aaron".to_string())),
            ("amy".to_string(), Some("Name of amy".to_string()))
        ]
    );
}

/// Ended memberships are recorded for "since" queries: a removal and a room deletion, each with
/// the subscription's id, only for that user, only after the date asked.
pub async fn removals_are_recorded_for_since_queries(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let bob = insert_user(&store, "bob").await;
    let kicked = create_room(&store, "kicked", RoomType::Group).await;
    let gone = create_room(&store, "gone", RoomType::Channel).await;
    for room in [&kicked, &gone] {
        store
            .add_members(
                &room.id,
                &[
                    member(room, &admin, &admin.to_ref()),
                    member(room, &bob, &admin.to_ref()),
                ],
            )
            .await
            .unwrap();
    }
    let sub_id = |rid: String| {
        let store = store.clone();
        let uid = bob.id.clone();
        async move { store.subscription(&rid, &uid).await.unwrap().unwrap().id }
    };
    let (kicked_sub, gone_sub) = (
        sub_id(kicked.id.clone()).await,
        sub_id(gone.id.clone()).await,
    );
    let before = Timestamp(Timestamp::now().0 - 1);
    assert!(store
        .removals_of_user(&bob.id, before)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .remove_member(&kicked.id, &bob.id, None)
        .await
        .unwrap());
    // Removing a non-member records nothing.
    assert!(!store
        .remove_member(&kicked.id, &bob.id, None)
        .await
        .unwrap());
    assert!(store.delete_room(&gone.id).await.unwrap());

    let removed = store.removals_of_user(&bob.id, before).await.unwrap();
    let mut got: Vec<(String, String)> = removed
        .iter()
        .map(|r| (r.id.clone(), r.rid.clone()))
        .collect();
    got.sort();
    let mut want = vec![(kicked_sub, kicked.id.clone()), (gone_sub, gone.id.clone())];
    want.sort();
    assert_eq!(got, want);
    assert!(removed.iter().all(|r| r.removed_at > before));
    // The admin lost only the deleted room.
    let admin_removed = store.removals_of_user(&admin.id, before).await.unwrap();
    assert_eq!(admin_removed.len(), 1);
    assert_eq!(admin_removed[0].rid, gone.id);
    // Nothing after the last removal.
    let last = removed.iter().map(|r| r.removed_at).max().unwrap();
    assert!(store
        .removals_of_user(&bob.id, last)
        .await
        .unwrap()
        .is_empty());
}
