//! The store's contract, checked identically on SQLite and (with `HUDDLE_TEST_POSTGRES_URL`)
//! PostgreSQL: every `async fn` listed in `conformance!` runs once per backend on a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use huddle_core::ids::new_id;
use huddle_core::store::{ConversationQuery, NewMember, Store};
use huddle_core::{
    Access, AppKey, Error, LoginToken, MemberQuery, Message, MessageQuery, OutboxItem, Paging,
    Permission, Profile, Role, RoleScope, Room, RoomQuery, RoomType, Subscription, Timestamp,
    TokenKind, User, UserQuery, WebhookEndpoint,
};
use support::*;

conformance!(
    users_crud_and_case_insensitive_lookups,
    user_conflicts,
    list_users_filters_and_roles,
    tokens,
    rooms_round_trip_update_delete,
    room_name_conflicts,
    add_members_is_idempotent_and_keeps_counters,
    concurrent_add_of_same_user_adds_once,
    concurrent_membership_churn_keeps_counts_exact,
    bulk_add_2000_members,
    remove_member_counters,
    list_members_paging_filter_total,
    list_rooms_filters,
    messages_post_list_edit_delete,
    subscriptions_read_state_and_roles,
    settings_permissions_roles,
    delete_user_keeps_users_count_exact,
    rename_follows_into_memberships,
    user_profile_round_trips,
    idempotency_keys_are_unique_per_room,
    subscription_revoked_at_round_trips,
    conversations_order_cursor_member_unread_bounds,
    list_users_after_orders_by_id_bytewise,
    upsert_users_is_all_or_nothing,
    list_messages_after_cursor,
    app_keys_insert_revoke_list,
    webhook_endpoints_and_outbox,
    reactions_toggle_and_concurrent_reactions_are_all_kept,
);

fn all() -> Paging {
    Paging {
        offset: 0,
        count: None,
    }
}

fn page(offset: i64, count: i64) -> Paging {
    Paging {
        offset,
        count: Some(count),
    }
}

fn conflict_code(result: huddle_core::Result<()>) -> (String, String) {
    match result {
        Err(Error::Conflict(f)) => (f.code.to_string(), f.reason.to_string()),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn users_crud_and_case_insensitive_lookups(store: Arc<dyn Store>) {
    let mut alice = user("Alice");
    alice.roles = vec!["user".into(), "admin".into()];
    alice.custom = BTreeMap::from([("team".to_string(), "blue".to_string())]);
    alice.email_verified = true;
    alice.password_hash = Some("$argon2id$hash".into());
    alice.photo_url = Some("https://example.com/a.png".into());
    alice.locale = Some("fr".into());
    alice.last_login = Some(Timestamp(1_700_000_000_123));
    store.insert_user(&alice).await.unwrap();

    assert_eq!(
        store.user_by_id(&alice.id).await.unwrap(),
        Some(alice.clone()),
        "every field round-trips"
    );
    assert_eq!(
        store.user_by_username("alice").await.unwrap().map(|u| u.id),
        Some(alice.id.clone())
    );
    assert_eq!(
        store.user_by_username("ALICE").await.unwrap().map(|u| u.id),
        Some(alice.id.clone())
    );
    assert_eq!(
        store
            .user_by_email("ALICE@Example.COM")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(alice.id.clone())
    );
    assert!(store.user_by_username("alic").await.unwrap().is_none());
    assert!(store.user_by_id("nope").await.unwrap().is_none());

    let bob = insert_user(&store, "bob").await;
    let mut nameless = user("x");
    nameless.username = None;
    nameless.email = None;
    store.insert_user(&nameless).await.unwrap();

    let found = store
        .users_by_ids(&[
            bob.id.clone(),
            "unknown".into(),
            alice.id.clone(),
            bob.id.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        vec![bob.id.as_str(), alice.id.as_str()]
    );
    let found = store
        .users_by_usernames(&["BOB".into(), "alice".into(), "Alice".into(), "carol".into()])
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        vec![bob.id.as_str(), alice.id.as_str()]
    );

    let mut renamed = alice.clone();
    renamed.username = Some("Alicia".into());
    renamed.email = Some("alicia@example.com".into());
    renamed.active = false;
    renamed.roles = vec!["user".into()];
    renamed.updated_at = Timestamp(renamed.updated_at.0 + 5);
    store.update_user(&renamed).await.unwrap();
    assert_eq!(
        store.user_by_id(&alice.id).await.unwrap(),
        Some(renamed.clone())
    );
    assert!(store.user_by_username("alice").await.unwrap().is_none());
    assert_eq!(
        store
            .user_by_username("ALICIA")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(alice.id.clone())
    );
    assert_eq!(
        store.count_users_with_role("admin").await.unwrap(),
        0,
        "roles follow updates"
    );

    let mut ghost = user("ghost");
    ghost.id = "ghost-id".into();
    assert!(
        store.update_user(&ghost).await.is_err(),
        "updating a missing user fails"
    );

    assert!(store.delete_user(&bob.id).await.unwrap());
    assert!(!store.delete_user(&bob.id).await.unwrap());
    assert!(store.user_by_username("bob").await.unwrap().is_none());
}

async fn user_conflicts(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let mut dup = user("ALICE");
    dup.email = Some("other@example.com".into());
    let (code, reason) = conflict_code(store.insert_user(&dup).await);
    assert_eq!(code, "error-field-unavailable");
    assert_eq!(reason, "ALICE is already in use :(");

    let mut dup_mail = user("alice2");
    dup_mail.email = Some("Alice@Example.com".into());
    let (code, reason) = conflict_code(store.insert_user(&dup_mail).await);
    assert_eq!(code, "error-field-unavailable");
    assert_eq!(reason, "Alice@Example.com is already in use :(");

    let mut bob = insert_user(&store, "bob").await;
    bob.username = Some("Alice".into());
    let (code, _) = conflict_code(store.update_user(&bob).await);
    assert_eq!(code, "error-field-unavailable");
    assert_eq!(
        store.user_by_username("bob").await.unwrap().map(|u| u.id),
        Some(bob.id.clone()),
        "failed update changed nothing"
    );

    // Users without username or email do not collide with each other.
    for _ in 0..2 {
        let mut u = user("unused");
        u.username = None;
        u.email = None;
        store.insert_user(&u).await.unwrap();
    }
    assert_eq!(
        store
            .user_by_id(&alice.id)
            .await
            .unwrap()
            .unwrap()
            .username
            .as_deref(),
        Some("alice")
    );
}

async fn list_users_filters_and_roles(store: Arc<dyn Store>) {
    let mut names = vec![];
    for i in 0..12 {
        let mut u = user(&format!("user{i:02}"));
        if i % 3 == 0 {
            u.roles.push("admin".into());
        }
        if i == 5 {
            u.name = "Zoë Percent_100%".into();
        }
        if i >= 10 {
            u.active = false;
        }
        store.insert_user(&u).await.unwrap();
        names.push(u.username.clone().unwrap());
    }
    let everyone = store
        .list_users(&UserQuery {
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(everyone.total, 12);
    assert_eq!(
        everyone
            .items
            .iter()
            .map(|u| u.username.clone().unwrap())
            .collect::<Vec<_>>(),
        names,
        "sorted by username"
    );

    let p = store
        .list_users(&UserQuery {
            paging: page(3, 4),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.total, 12);
    assert_eq!(
        p.items
            .iter()
            .map(|u| u.username.clone().unwrap())
            .collect::<Vec<_>>(),
        names[3..7].to_vec()
    );

    let admins = store
        .list_users(&UserQuery {
            role: Some("admin".into()),
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(admins.total, 4);
    assert!(admins.items.iter().all(|u| u.has_role("admin")));
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 4);
    assert_eq!(store.count_users_with_role("user").await.unwrap(), 12);
    assert_eq!(store.count_users_with_role("nobody").await.unwrap(), 0);

    let active = store
        .list_users(&UserQuery {
            active: Some(true),
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(active.total, 10);
    let inactive = store
        .list_users(&UserQuery {
            active: Some(false),
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(inactive.total, 2);

    let by_text = |t: &str| UserQuery {
        text: Some(t.into()),
        paging: all(),
        ..Default::default()
    };
    assert_eq!(
        store.list_users(&by_text("USER0")).await.unwrap().total,
        10,
        "username, case-insensitive"
    );
    assert_eq!(
        store
            .list_users(&by_text("name of user11"))
            .await
            .unwrap()
            .total,
        1,
        "name"
    );
    assert_eq!(
        store
            .list_users(&by_text("user03@EXAMPLE"))
            .await
            .unwrap()
            .total,
        1,
        "email"
    );
    assert_eq!(
        store
            .list_users(&by_text("percent_100%"))
            .await
            .unwrap()
            .total,
        1,
        "wildcards are literal"
    );
    assert_eq!(
        store.list_users(&by_text("r_1")).await.unwrap().total,
        0,
        "underscore is not a wildcard"
    );
    let combined = UserQuery {
        text: Some("user1".into()),
        role: Some("admin".into()),
        active: Some(false),
        paging: all(),
    };
    assert_eq!(store.list_users(&combined).await.unwrap().items.len(), 0);

    let ids = store.all_user_ids(true, 100).await.unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!(store.all_user_ids(false, 100).await.unwrap().len(), 12);
    assert_eq!(store.all_user_ids(false, 5).await.unwrap().len(), 5);
}

fn token(user_id: &str, kind: TokenKind, name: Option<&str>) -> LoginToken {
    LoginToken {
        user_id: user_id.into(),
        hashed: new_id(),
        kind,
        name: name.map(str::to_string),
        last_part: "abc123".into(),
        bypass_two_factor: name.is_some(),
        created_at: Timestamp::now(),
    }
}

async fn tokens(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let s1 = token(&alice.id, TokenKind::Session, None);
    let s2 = token(&alice.id, TokenKind::Session, None);
    let pat = token(&alice.id, TokenKind::PersonalAccess, Some("ci"));
    for t in [&s1, &s2, &pat] {
        store.insert_token(t).await.unwrap();
    }
    store
        .insert_token(&token(&bob.id, TokenKind::PersonalAccess, Some("ci")))
        .await
        .unwrap();
    let (code, _) = conflict_code(
        store
            .insert_token(&token(&alice.id, TokenKind::PersonalAccess, Some("ci")))
            .await,
    );
    assert_eq!(code, "error-token-already-exists");
    assert!(matches!(
        store
            .insert_token(&token("no-such-user", TokenKind::Session, None))
            .await,
        Err(Error::NotFound(_))
    ));

    let (u, t) = store.user_by_token(&pat.hashed).await.unwrap().unwrap();
    assert_eq!(u, alice);
    assert_eq!(t, pat);
    assert!(store.user_by_token("unknown").await.unwrap().is_none());
    assert_eq!(
        store
            .tokens_of_user(&alice.id, TokenKind::Session)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        store
            .tokens_of_user(&alice.id, TokenKind::PersonalAccess)
            .await
            .unwrap(),
        vec![pat.clone()]
    );

    assert!(store.delete_named_token(&alice.id, "ci").await.unwrap());
    assert!(!store.delete_named_token(&alice.id, "ci").await.unwrap());
    assert_eq!(
        store
            .tokens_of_user(&bob.id, TokenKind::PersonalAccess)
            .await
            .unwrap()
            .len(),
        1,
        "bob's token of the same name stays"
    );
    assert!(store.delete_token(&s1.hashed).await.unwrap());
    assert!(!store.delete_token(&s1.hashed).await.unwrap());
    store.delete_tokens_of_user(&alice.id).await.unwrap();
    assert!(store.user_by_token(&s2.hashed).await.unwrap().is_none());
}

async fn rooms_round_trip_update_delete(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let mut room = room("dev", RoomType::Channel);
    room.creator = Some(alice.to_ref());
    room.topic = Some("topic".into());
    room.read_only = true;
    room.default = true;
    room.join_code = Some("1234".into());
    room.subject = Some("subject".into());
    room.photo_url = Some("https://example.com/r.png".into());
    room.welcome_messages = vec!["hi".into(), "there".into()];
    room.custom = BTreeMap::from([("k".to_string(), "v".to_string())]);
    room.guest_access = true;
    room.users_count = 99; // the store counts what it writes
    let mut owner = sub(&room, &alice);
    owner.roles = vec!["owner".into()];
    store
        .create_room(&room, &[owner.clone(), sub(&room, &bob), sub(&room, &bob)])
        .await
        .unwrap();
    let mut expected = room.clone();
    expected.users_count = 2;
    assert_eq!(
        store.room_by_id(&room.id).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.room_by_name("dev").await.unwrap().map(|r| r.id),
        Some(room.id.clone())
    );
    assert!(
        store.room_by_name("DEV").await.unwrap().is_none(),
        "room names are exact"
    );
    assert_eq!(
        store.subscription(&room.id, &alice.id).await.unwrap(),
        Some(owner)
    );
    assert_eq!(
        store
            .default_rooms()
            .await
            .unwrap()
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        vec![room.id.clone()]
    );

    // A direct message: no name, member lists embedded.
    let mut dm = huddle_core::Room::new(
        format!("{}{}", alice.id, bob.id),
        RoomType::Direct,
        None,
        None,
    );
    dm.dm_usernames = vec!["alice".into(), "bob".into()];
    dm.dm_uids = vec![alice.id.clone(), bob.id.clone()];
    store
        .create_room(&dm, &[sub(&dm, &alice), sub(&dm, &bob)])
        .await
        .unwrap();
    let got = room_now(&store, &dm.id).await;
    assert_eq!(
        (got.name, got.dm_usernames, got.users_count),
        (None, dm.dm_usernames.clone(), 2)
    );
    let (code, _) = conflict_code(store.create_room(&dm, &[]).await);
    assert_eq!(
        code, "error-duplicate-channel-name",
        "the same DM created twice"
    );

    // Settings change with a system message; counters stay the store's.
    let mut changed = expected.clone();
    changed.name = Some("dev2".into());
    changed.fname = Some("dev2".into());
    changed.t = RoomType::Group;
    changed.topic = None;
    changed.archived = true;
    changed.msgs = 1000;
    changed.users_count = 1000;
    changed.updated_at = Timestamp(changed.updated_at.0 + 10);
    let mut msg = Message::new(&room.id, alice.to_ref(), "dev2".into(), Some("r"));
    msg.ts = Timestamp(1_800_000_000_000);
    store.update_room(&changed, Some(&msg)).await.unwrap();
    let got = room_now(&store, &room.id).await;
    assert_eq!(got.name.as_deref(), Some("dev2"));
    assert_eq!(got.t, RoomType::Group);
    assert!(got.archived && got.topic.is_none());
    assert_eq!(
        (got.msgs, got.users_count, got.last_message_at),
        (1, 2, Some(msg.ts))
    );
    assert_eq!(
        store.message_by_id(&msg.id).await.unwrap(),
        Some(msg.clone())
    );
    let bob_sub = store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bob_sub.t, bob_sub.name.as_str(), bob_sub.fname.as_deref()),
        (RoomType::Group, "dev2", Some("dev2"))
    );
    assert!(store.room_by_name("dev").await.unwrap().is_none());

    // Without a message nothing but settings change.
    let mut quiet = got.clone();
    quiet.announcement = Some("hello".into());
    store.update_room(&quiet, None).await.unwrap();
    let got = room_now(&store, &room.id).await;
    assert_eq!((got.announcement.as_deref(), got.msgs), (Some("hello"), 1));

    let missing = huddle_core::Room::new(
        "missing".into(),
        RoomType::Channel,
        Some("missing".into()),
        None,
    );
    assert!(matches!(
        store.update_room(&missing, None).await,
        Err(Error::NotFound(_))
    ));

    assert!(store.delete_room(&room.id).await.unwrap());
    assert!(!store.delete_room(&room.id).await.unwrap());
    assert!(store.room_by_id(&room.id).await.unwrap().is_none());
    assert!(store
        .subscription(&room.id, &bob.id)
        .await
        .unwrap()
        .is_none());
    assert!(store.message_by_id(&msg.id).await.unwrap().is_none());
    assert_eq!(
        store
            .subscriptions_of_user(&bob.id, None)
            .await
            .unwrap()
            .len(),
        1,
        "only the DM is left"
    );
}

async fn room_name_conflicts(store: Arc<dyn Store>) {
    create_room(&store, "general", RoomType::Channel).await;
    let (code, reason) = conflict_code(
        store
            .create_room(&room("general", RoomType::Group), &[])
            .await,
    );
    assert_eq!(code, "error-duplicate-channel-name");
    assert_eq!(reason, "A channel with name 'general' exists");
    let other = create_room(&store, "random", RoomType::Channel).await;
    let mut renamed = other.clone();
    renamed.name = Some("general".into());
    let (code, _) = conflict_code(store.update_room(&renamed, None).await);
    assert_eq!(code, "error-duplicate-channel-name");
    assert_eq!(
        room_now(&store, &other.id).await.name.as_deref(),
        Some("random")
    );
}

async fn add_members_is_idempotent_and_keeps_counters(store: Arc<dyn Store>) {
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

async fn concurrent_add_of_same_user_adds_once(store: Arc<dyn Store>) {
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

async fn concurrent_membership_churn_keeps_counts_exact(store: Arc<dyn Store>) {
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

async fn bulk_add_2000_members(store: Arc<dyn Store>) {
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

async fn remove_member_counters(store: Arc<dyn Store>) {
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

async fn list_members_paging_filter_total(store: Arc<dyn Store>) {
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

async fn list_rooms_filters(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let mut channels = vec![];
    for name in ["alpha", "beta", "Gamma", "delta_x", "deltax"] {
        channels.push(create_room(&store, name, RoomType::Channel).await);
    }
    let secret = create_room(&store, "secret-alpha", RoomType::Group).await;
    let mut dm = huddle_core::Room::new(
        format!("{}{}", alice.id, bob.id),
        RoomType::Direct,
        None,
        None,
    );
    dm.dm_uids = vec![alice.id.clone(), bob.id.clone()];
    store
        .create_room(&dm, &[sub(&dm, &alice), sub(&dm, &bob)])
        .await
        .unwrap();
    store
        .add_members(
            &channels[1].id,
            &[member(&channels[1], &alice, &alice.to_ref())],
        )
        .await
        .unwrap();
    store
        .add_members(&secret.id, &[member(&secret, &alice, &alice.to_ref())])
        .await
        .unwrap();

    let names = |p: &huddle_core::Page<huddle_core::Room>| {
        p.items
            .iter()
            .map(|r| r.name.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    let q = |types: Vec<RoomType>| RoomQuery {
        types,
        paging: all(),
        ..Default::default()
    };

    let all_rooms = store.list_rooms(&q(vec![])).await.unwrap();
    assert_eq!(all_rooms.total, 7);
    assert_eq!(
        all_rooms.items.last().map(|r| r.id.clone()),
        Some(dm.id.clone()),
        "unnamed rooms sort last"
    );
    let chans = store.list_rooms(&q(vec![RoomType::Channel])).await.unwrap();
    assert_eq!(
        names(&chans),
        vec!["Gamma", "alpha", "beta", "delta_x", "deltax"],
        "byte order, as Rocket.Chat sorts"
    );
    let desc = store
        .list_rooms(&RoomQuery {
            sort_desc: true,
            ..q(vec![RoomType::Channel])
        })
        .await
        .unwrap();
    assert_eq!(
        names(&desc),
        vec!["deltax", "delta_x", "beta", "alpha", "Gamma"]
    );
    let paged = store
        .list_rooms(&RoomQuery {
            paging: page(1, 2),
            ..q(vec![RoomType::Channel])
        })
        .await
        .unwrap();
    assert_eq!(
        (names(&paged), paged.total),
        (vec!["alpha".to_string(), "beta".to_string()], 5)
    );

    let mine = store
        .list_rooms(&RoomQuery {
            member: Some(alice.id.clone()),
            ..q(vec![])
        })
        .await
        .unwrap();
    assert_eq!(mine.total, 3);
    let mine_groups = store
        .list_rooms(&RoomQuery {
            member: Some(alice.id.clone()),
            ..q(vec![RoomType::Group, RoomType::Channel])
        })
        .await
        .unwrap();
    assert_eq!(names(&mine_groups), vec!["beta", "secret-alpha"]);

    let text = |t: &str| RoomQuery {
        text: Some(t.into()),
        ..q(vec![])
    };
    assert_eq!(
        names(&store.list_rooms(&text("ALPHA")).await.unwrap()),
        vec!["alpha", "secret-alpha"]
    );
    assert_eq!(
        names(&store.list_rooms(&text("gam")).await.unwrap()),
        vec!["Gamma"]
    );
    assert_eq!(
        names(&store.list_rooms(&text("a_x")).await.unwrap()),
        vec!["delta_x"]
    );

    let ids = RoomQuery {
        ids: Some(vec![
            channels[0].id.clone(),
            secret.id.clone(),
            "nope".into(),
        ]),
        ..q(vec![])
    };
    assert_eq!(
        names(&store.list_rooms(&ids).await.unwrap()),
        vec!["alpha", "secret-alpha"]
    );
    let none = RoomQuery {
        ids: Some(vec![]),
        ..q(vec![])
    };
    assert_eq!(store.list_rooms(&none).await.unwrap().total, 0);
}

async fn messages_post_list_edit_delete(store: Arc<dyn Store>) {
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
    store.delete_message(&system.id).await.unwrap();

    let texts =
        |p: &huddle_core::Page<Message>| p.items.iter().map(|m| m.msg.clone()).collect::<Vec<_>>();
    let q = |latest: Option<i64>, oldest: Option<i64>, inclusive, ascending, paging| MessageQuery {
        latest: latest.map(Timestamp),
        oldest: oldest.map(Timestamp),
        inclusive,
        paging,
        ascending,
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

    assert!(store.delete_message(&posted[9].id).await.unwrap());
    assert!(!store.delete_message(&posted[9].id).await.unwrap());
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

async fn subscriptions_read_state_and_roles(store: Arc<dyn Store>) {
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

async fn settings_permissions_roles(store: Arc<dyn Store>) {
    let defaults = vec![
        Permission {
            id: "create-c".into(),
            roles: vec!["admin".into(), "user".into()],
            updated_at: Timestamp(1),
        },
        Permission {
            id: "delete-c".into(),
            roles: vec!["admin".into()],
            updated_at: Timestamp(1),
        },
    ];
    store.ensure_permissions(&defaults).await.unwrap();
    store
        .set_permission_roles("create-c", &["admin".to_string()])
        .await
        .unwrap();
    store.ensure_permissions(&defaults).await.unwrap(); // a restart keeps the admin's edit
    let perms = store.permissions().await.unwrap();
    assert_eq!(perms.len(), 2);
    assert_eq!(perms[0].id, "create-c");
    assert_eq!(perms[0].roles, vec!["admin"]);
    assert!(perms[0].updated_at > Timestamp(1));
    assert_eq!(perms[1], defaults[1]);
    let many: Vec<Permission> = (0..1200)
        .map(|i| Permission {
            id: format!("p{i:04}"),
            roles: vec![],
            updated_at: Timestamp(2),
        })
        .collect();
    store.ensure_permissions(&many).await.unwrap();
    assert_eq!(store.permissions().await.unwrap().len(), 1202);

    let roles = vec![
        Role {
            name: "admin".into(),
            scope: RoleScope::Users,
            description: "Admin".into(),
            protected: true,
        },
        Role {
            name: "owner".into(),
            scope: RoleScope::Subscriptions,
            description: "Owner".into(),
            protected: true,
        },
        Role {
            name: "bot".into(),
            scope: RoleScope::Users,
            description: String::new(),
            protected: false,
        },
    ];
    store.ensure_roles(&roles).await.unwrap();
    store.ensure_roles(&roles[..1]).await.unwrap();
    let got = store.roles().await.unwrap();
    assert_eq!(
        got,
        vec![roles[0].clone(), roles[2].clone(), roles[1].clone()]
    );

    let settings = vec![
        ("Site_Name".to_string(), serde_json::json!("Huddle")),
        ("API_Default_Count".to_string(), serde_json::json!(50)),
        (
            "Accounts_AllowDeleteOwnAccount".to_string(),
            serde_json::json!(false),
        ),
    ];
    store.ensure_settings(&settings).await.unwrap();
    store
        .set_setting("Site_Name", &serde_json::json!("Renamed"))
        .await
        .unwrap();
    store.ensure_settings(&settings).await.unwrap();
    store
        .set_setting("New_One", &serde_json::json!({"a": [1, 2]}))
        .await
        .unwrap();
    let got: BTreeMap<_, _> = store.settings().await.unwrap().into_iter().collect();
    assert_eq!(got.len(), 4);
    assert_eq!(got["Site_Name"], serde_json::json!("Renamed"));
    assert_eq!(got["API_Default_Count"], serde_json::json!(50));
    assert_eq!(
        got["Accounts_AllowDeleteOwnAccount"],
        serde_json::json!(false)
    );
    assert_eq!(got["New_One"], serde_json::json!({"a": [1, 2]}));
}

async fn delete_user_keeps_users_count_exact(store: Arc<dyn Store>) {
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

async fn rename_follows_into_memberships(store: Arc<dyn Store>) {
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

// ---- the TalkJS-style API: profiles, idempotency, revocation, conversations, batch upserts,
// cursors, app keys and webhooks

fn invalid_code<T: std::fmt::Debug>(result: huddle_core::Result<T>) -> String {
    match result {
        Err(Error::Invalid(f)) => f.code.to_string(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn full_profile() -> Profile {
    Profile {
        emails: vec!["a@work.example".into(), "a@home.example".into()],
        phones: vec!["+1 555 0100".into()],
        welcome_message: Some("Hi, ask me anything".into()),
        role: Some("support".into()),
        availability_text: Some("Back at 9".into()),
    }
}

async fn user_profile_round_trips(store: Arc<dyn Store>) {
    let plain = insert_user(&store, "plain").await;
    assert_eq!(
        store.user_by_id(&plain.id).await.unwrap().unwrap().profile,
        Profile::default()
    );

    let mut alice = user("alice");
    alice.profile = full_profile();
    store.insert_user(&alice).await.unwrap();
    assert_eq!(
        store.user_by_id(&alice.id).await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.users_by_ids(&[alice.id.clone()]).await.unwrap(),
        vec![alice.clone()]
    );
    let listed = store
        .list_users(&UserQuery {
            text: Some("alice".into()),
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.items, vec![alice.clone()]);

    alice.profile.emails.clear();
    alice.profile.welcome_message = None;
    alice.profile.role = Some("default".into());
    store.update_user(&alice).await.unwrap();
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
}

async fn idempotency_keys_are_unique_per_room(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let room = create_room(&store, "a", RoomType::Group).await;
    let other = create_room(&store, "b", RoomType::Group).await;
    for r in [&room, &other] {
        store
            .add_members(
                &r.id,
                &[
                    NewMember {
                        subscription: sub(r, &alice),
                        message: None,
                    },
                    NewMember {
                        subscription: sub(r, &bob),
                        message: None,
                    },
                ],
            )
            .await
            .unwrap();
        store.mark_read(&r.id, &bob.id).await.unwrap();
    }

    let mut first = message_at(&room, &alice, "once", 1_000);
    first.idempotency_key = Some("key-1".into());
    store.insert_message(&first).await.unwrap();
    assert_eq!(
        store.message_by_id(&first.id).await.unwrap(),
        Some(first.clone()),
        "the key round-trips"
    );

    let mut retry = message_at(&room, &alice, "once (retried)", 2_000);
    retry.idempotency_key = Some("key-1".into());
    let (code, _) = conflict_code(store.insert_message(&retry).await);
    assert_eq!(code, "IDEMPOTENCY_KEY_USED");
    assert!(store.message_by_id(&retry.id).await.unwrap().is_none());
    let r = room_now(&store, &room.id).await;
    assert_eq!(
        (r.msgs, r.last_message_at),
        (1, Some(Timestamp(1_000))),
        "a refused message leaves the counters alone"
    );
    assert_eq!(
        store
            .subscription(&room.id, &bob.id)
            .await
            .unwrap()
            .unwrap()
            .unread,
        1
    );

    // Same key elsewhere, and messages without keys, do not collide.
    let mut elsewhere = message_at(&other, &alice, "other room", 1_000);
    elsewhere.idempotency_key = Some("key-1".into());
    store.insert_message(&elsewhere).await.unwrap();
    for i in 0..2 {
        store
            .insert_message(&message_at(&room, &alice, "no key", 3_000 + i))
            .await
            .unwrap();
    }
    let mut other_key = message_at(&room, &alice, "other key", 4_000);
    other_key.idempotency_key = Some("key-2".into());
    store.insert_message(&other_key).await.unwrap();
    assert_eq!(room_now(&store, &room.id).await.msgs, 4);

    assert_eq!(
        store
            .message_by_idempotency_key(&room.id, "key-1")
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store
            .message_by_idempotency_key(&other.id, "key-1")
            .await
            .unwrap(),
        Some(elsewhere)
    );
    assert!(store
        .message_by_idempotency_key(&room.id, "key-3")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .message_by_idempotency_key("no-room", "key-1")
        .await
        .unwrap()
        .is_none());

    // Deleting the message frees its key.
    assert!(store.delete_message(&first.id).await.unwrap());
    store.insert_message(&retry).await.unwrap();
    assert_eq!(
        store
            .message_by_idempotency_key(&room.id, "key-1")
            .await
            .unwrap()
            .map(|m| m.id),
        Some(retry.id)
    );
}

async fn subscription_revoked_at_round_trips(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let room = room("talk", RoomType::Group);
    let mut revoked = sub(&room, &alice);
    revoked.access = Access::None;
    revoked.revoked_at = Some(Timestamp(1_700_000_000_500));
    store
        .create_room(&room, std::slice::from_ref(&revoked))
        .await
        .unwrap();
    assert_eq!(
        store.subscription(&room.id, &alice.id).await.unwrap(),
        Some(revoked.clone())
    );

    let mut joined = sub(&room, &bob);
    joined.revoked_at = Some(Timestamp(42));
    store
        .add_members(
            &room.id,
            &[NewMember {
                subscription: joined.clone(),
                message: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        store.subscription(&room.id, &bob.id).await.unwrap(),
        Some(joined.clone())
    );

    // Access given back clears it; taking it again sets it, with a system message.
    let mut back = revoked.clone();
    back.access = Access::Read;
    back.revoked_at = None;
    store.update_subscription(&back, None).await.unwrap();
    assert_eq!(
        store.subscription(&room.id, &alice.id).await.unwrap(),
        Some(back.clone())
    );
    let mut again = back.clone();
    again.access = Access::None;
    again.revoked_at = Some(Timestamp(1_700_000_009_000));
    let msg = Message::system(
        &room.id,
        "participant-access-changed",
        alice.to_ref(),
        "alice",
    );
    store.update_subscription(&again, Some(&msg)).await.unwrap();
    assert_eq!(
        store.subscription(&room.id, &alice.id).await.unwrap(),
        Some(again.clone())
    );
    assert_eq!(
        store.subscriptions_of_user(&alice.id, None).await.unwrap(),
        vec![again]
    );
}

/// A room with a chosen id, creation time and newest-message time, created with `members`.
async fn conversation(
    store: &Arc<dyn Store>,
    id: &str,
    created_at: i64,
    lm: Option<i64>,
    members: &[Subscription],
) -> Room {
    let mut r = room(&format!("name-{id}"), RoomType::Group);
    r.id = id.to_string();
    r.created_at = Timestamp(created_at);
    r.last_message_at = lm.map(Timestamp);
    let members: Vec<Subscription> = members
        .iter()
        .map(|s| Subscription {
            rid: r.id.clone(),
            ..s.clone()
        })
        .collect();
    store.create_room(&r, &members).await.unwrap();
    r
}

async fn conversations_order_cursor_member_unread_bounds(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let bob = insert_user(&store, "bob").await;
    let loner = insert_user(&store, "loner").await;
    let template = room("template", RoomType::Group);
    let membership = |u: &User, unread: i64, alert: bool| Subscription {
        unread,
        alert,
        ..sub(&template, u)
    };
    // Activity (lm, else creation): c5 4000, c2 3000, Conv-B 2000, conv-a 2000, c1 1000.
    // "Conv-B" sorts before "conv-a" bytewise (not in a case-insensitive collation).
    conversation(&store, "c1", 1_000, None, &[membership(&alice, 0, false)]).await;
    conversation(
        &store,
        "c2",
        500,
        Some(3_000),
        &[membership(&alice, 3, false), membership(&bob, 0, false)],
    )
    .await;
    conversation(&store, "Conv-B", 2_000, None, &[]).await;
    conversation(
        &store,
        "conv-a",
        100,
        Some(2_000),
        &[membership(&alice, 0, true)],
    )
    .await;
    conversation(&store, "c5", 4_000, None, &[]).await;

    let list = |q: ConversationQuery| {
        let store = store.clone();
        async move {
            store
                .list_conversations(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|(r, s)| {
                    if let Some(s) = &s {
                        assert_eq!(s.rid, r.id, "the membership is of its room");
                    }
                    (r.id, s.map(|s| s.u.id))
                })
                .collect::<Vec<_>>()
        }
    };
    let ids = |v: Vec<(String, Option<String>)>| v.into_iter().map(|(r, _)| r).collect::<Vec<_>>();
    let q = |after: Option<&str>, limit: i64| ConversationQuery {
        starting_after: after.map(str::to_string),
        limit,
        ..Default::default()
    };

    let everything = list(q(None, 100)).await;
    assert_eq!(
        ids(everything.clone()),
        vec!["c5", "c2", "Conv-B", "conv-a", "c1"]
    );
    assert!(
        everything.iter().all(|(_, s)| s.is_none()),
        "no memberships without a member"
    );
    assert_eq!(ids(list(q(None, 2)).await), vec!["c5", "c2"]);
    assert_eq!(ids(list(q(Some("c2"), 2)).await), vec!["Conv-B", "conv-a"]);
    assert_eq!(
        ids(list(q(Some("Conv-B"), 10)).await),
        vec!["conv-a", "c1"],
        "a tie continues by id"
    );
    assert_eq!(ids(list(q(Some("conv-a"), 2)).await), vec!["c1"]);
    assert!(list(q(Some("c1"), 2)).await.is_empty());
    assert!(list(q(None, 0)).await.is_empty());
    assert_eq!(
        invalid_code(store.list_conversations(&q(Some("nope"), 10)).await),
        "INVALID_CURSOR"
    );

    // Bounds are on the newest message, strict, and leave out rooms without one.
    let bounded =
        |before: Option<i64>, after: Option<i64>, cursor: Option<&str>| ConversationQuery {
            last_message_before: before.map(Timestamp),
            last_message_after: after.map(Timestamp),
            ..q(cursor, 100)
        };
    assert_eq!(
        ids(list(bounded(Some(3_000), None, None)).await),
        vec!["conv-a"]
    );
    assert_eq!(
        ids(list(bounded(Some(3_001), None, None)).await),
        vec!["c2", "conv-a"]
    );
    assert_eq!(
        ids(list(bounded(None, Some(2_000), None)).await),
        vec!["c2"]
    );
    assert_eq!(
        ids(list(bounded(Some(3_001), Some(1_999), None)).await),
        vec!["c2", "conv-a"]
    );
    assert!(list(bounded(Some(2_000), None, None)).await.is_empty());
    assert_eq!(
        ids(list(bounded(None, Some(1_000), Some("c2"))).await),
        vec!["conv-a"]
    );

    // One member's conversations come with their membership.
    let of = |uid: &str, unread_only: bool, after: Option<&str>| ConversationQuery {
        member: Some(uid.to_string()),
        unread_only,
        ..q(after, 100)
    };
    let a = Some(alice.id.clone());
    assert_eq!(
        list(of(&alice.id, false, None)).await,
        vec![
            ("c2".to_string(), a.clone()),
            ("conv-a".to_string(), a.clone()),
            ("c1".to_string(), a.clone())
        ]
    );
    let (r, s) = store
        .list_conversations(&of(&alice.id, false, None))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        Some(s.unwrap()),
        store.subscription(&r.id, &alice.id).await.unwrap()
    );
    assert_eq!(ids(list(of(&bob.id, false, None)).await), vec!["c2"]);
    assert!(list(of(&loner.id, false, None)).await.is_empty());
    assert!(list(of("nobody", false, None)).await.is_empty());
    assert_eq!(
        ids(list(of(&alice.id, true, None)).await),
        vec!["c2", "conv-a"],
        "unread messages or an alert"
    );
    assert_eq!(
        ids(list(of(&alice.id, false, Some("c2"))).await),
        vec!["conv-a", "c1"]
    );
    assert_eq!(
        ids(list(of(&alice.id, false, Some("c5"))).await),
        vec!["c2", "conv-a", "c1"],
        "the cursor need not be one of the member's"
    );
    assert_eq!(
        ids(list(of(&alice.id, true, Some("c2"))).await),
        vec!["conv-a"]
    );
    assert_eq!(
        ids(list(ConversationQuery {
            member: Some(alice.id.clone()),
            limit: 1,
            last_message_after: Some(Timestamp(0)),
            ..Default::default()
        })
        .await),
        vec!["c2"]
    );
    assert_eq!(
        list(ConversationQuery {
            unread_only: true,
            ..q(None, 100)
        })
        .await
        .len(),
        5,
        "unread_only means nothing without a member"
    );

    // The order follows lm as messages come and go.
    let c1 = room_now(&store, "c1").await;
    let newest = message_at(&c1, &alice, "bump", 5_000);
    store.insert_message(&newest).await.unwrap();
    assert_eq!(
        ids(list(q(None, 100)).await),
        vec!["c1", "c5", "c2", "Conv-B", "conv-a"]
    );
    assert_eq!(
        ids(list(of(&alice.id, true, None)).await),
        vec!["c2", "conv-a"],
        "the author's own message raises no unread"
    );
    store.delete_message(&newest.id).await.unwrap();
    assert_eq!(
        ids(list(q(None, 100)).await),
        vec!["c5", "c2", "Conv-B", "conv-a", "c1"],
        "back to the creation time once the room has no message"
    );
    store.delete_room("c2").await.unwrap();
    assert_eq!(
        invalid_code(store.list_conversations(&q(Some("c2"), 10)).await),
        "INVALID_CURSOR"
    );
}

async fn list_users_after_orders_by_id_bytewise(store: Arc<dyn Store>) {
    // Bytewise: upper case, then '_', then lower case; not a case-insensitive order.
    let mut made = vec![];
    for (id, username) in [
        ("carol", "carol"),
        ("Zed", "zed"),
        ("alice", "alice"),
        ("_x", "x"),
        ("b-2", "b2"),
        ("Bob", "bob"),
    ] {
        let mut u = user(username);
        u.id = id.to_string();
        u.profile.role = Some(format!("role of {id}"));
        store.insert_user(&u).await.unwrap();
        made.push(u);
    }
    let ids = |v: Vec<User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_users_after(None, 100).await.unwrap()),
        vec!["Bob", "Zed", "_x", "alice", "b-2", "carol"]
    );
    assert_eq!(
        ids(store.list_users_after(None, 2).await.unwrap()),
        vec!["Bob", "Zed"]
    );
    assert_eq!(
        ids(store.list_users_after(Some("Zed"), 2).await.unwrap()),
        vec!["_x", "alice"]
    );
    assert_eq!(
        ids(store.list_users_after(Some("b"), 10).await.unwrap()),
        vec!["b-2", "carol"],
        "any string is a cursor"
    );
    assert!(store
        .list_users_after(Some("carol"), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_users_after(None, 0).await.unwrap().is_empty());
    let alice = made.iter().find(|u| u.id == "alice").unwrap();
    assert_eq!(
        store.list_users_after(Some("_x"), 1).await.unwrap(),
        vec![alice.clone()],
        "whole users, profile included"
    );
}

async fn upsert_users_is_all_or_nothing(store: Arc<dyn Store>) {
    let mut alice = user("alice");
    alice.roles = vec!["user".into(), "admin".into()];
    store.insert_user(&alice).await.unwrap();
    let room = create_room(&store, "team", RoomType::Group).await;
    store
        .add_members(&room.id, &[member(&room, &alice, &alice.to_ref())])
        .await
        .unwrap();
    let bystander = insert_user(&store, "bystander").await;
    store.upsert_users(&[]).await.unwrap();

    // One new, one existing with every field changed.
    let mut carol = user("carol");
    carol.roles = vec!["user".into()];
    carol.profile = full_profile();
    let mut alicia = alice.clone();
    alicia.username = Some("Alicia".into());
    alicia.name = "Alicia A.".into();
    alicia.email = Some("alicia@example.com".into());
    alicia.email_verified = true;
    alicia.password_hash = Some("hash".into());
    alicia.roles = vec!["user".into(), "bot".into()];
    alicia.active = false;
    alicia.kind = "bot".into();
    alicia.status = "away".into();
    alicia.status_text = "lunch".into();
    alicia.custom = BTreeMap::from([("k".to_string(), "v".to_string())]);
    alicia.photo_url = Some("https://example.com/p.png".into());
    alicia.locale = Some("de".into());
    alicia.require_password_change = true;
    alicia.created_at = Timestamp(1);
    alicia.updated_at = Timestamp(2);
    alicia.last_login = Some(Timestamp(3));
    alicia.profile = full_profile();
    store
        .upsert_users(&[carol.clone(), alicia.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.user_by_id(&carol.id).await.unwrap(),
        Some(carol.clone())
    );
    assert_eq!(
        store.user_by_id(&alice.id).await.unwrap(),
        Some(alicia.clone())
    );
    assert_eq!(
        store.user_by_id(&bystander.id).await.unwrap(),
        Some(bystander)
    );
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 0);
    assert_eq!(store.count_users_with_role("bot").await.unwrap(), 1);
    assert_eq!(store.count_users_with_role("user").await.unwrap(), 3);
    let membership = store
        .subscription(&room.id, &alice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (membership.u.username, membership.u.name),
        ("Alicia".to_string(), Some("Alicia A.".to_string())),
        "memberships follow the rename"
    );

    // A taken username anywhere in the batch: nothing is written.
    let dave = user("dave");
    let mut carol2 = carol.clone();
    carol2.name = "Carol Changed".into();
    carol2.roles = vec!["admin".into()];
    let mut erin = user("ALICIA");
    erin.email = None;
    let (code, reason) = conflict_code(
        store
            .upsert_users(&[dave.clone(), carol2, erin.clone()])
            .await,
    );
    assert_eq!(code, "error-field-unavailable");
    assert_eq!(reason, "ALICIA is already in use :(");
    assert!(store.user_by_id(&dave.id).await.unwrap().is_none());
    assert!(store.user_by_id(&erin.id).await.unwrap().is_none());
    assert_eq!(
        store.user_by_id(&carol.id).await.unwrap(),
        Some(carol.clone())
    );
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 0);

    // A taken email, and a clash inside the batch itself.
    let mut frank = user("frank");
    frank.email = Some("ALICIA@example.com".into());
    let (code, reason) = conflict_code(store.upsert_users(&[frank.clone()]).await);
    assert_eq!(code, "error-field-unavailable");
    assert_eq!(reason, "ALICIA@example.com is already in use :(");
    let mut twin = user("gina");
    twin.email = None;
    let mut twin2 = user("Gina");
    twin2.email = None;
    let (code, _) = conflict_code(store.upsert_users(&[twin.clone(), twin2.clone()]).await);
    assert_eq!(code, "error-field-unavailable");
    assert!(store.user_by_id(&twin.id).await.unwrap().is_none());
    assert!(store.user_by_id(&twin2.id).await.unwrap().is_none());

    // Listed twice: written once, as listed last.
    let mut first = user("harry");
    first.name = "first".into();
    first.roles = vec!["admin".into()];
    let mut last = first.clone();
    last.name = "last".into();
    last.roles = vec!["user".into()];
    store.upsert_users(&[first, last.clone()]).await.unwrap();
    assert_eq!(store.user_by_id(&last.id).await.unwrap(), Some(last));
    assert_eq!(store.count_users_with_role("admin").await.unwrap(), 0);
}

async fn list_messages_after_cursor(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let room = create_room(&store, "history", RoomType::Group).await;
    let other = create_room(&store, "other", RoomType::Group).await;
    let mut posted = BTreeMap::new();
    // Two messages in the same millisecond: "m-tie" sorts after "M-tie" bytewise.
    for (id, ts) in [
        ("a", 1_000),
        ("b", 1_100),
        ("M-tie", 1_200),
        ("m-tie", 1_200),
        ("e", 1_300),
        ("f", 1_400),
    ] {
        let mut m = message_at(&room, &alice, id, ts);
        m.id = id.to_string();
        store.insert_message(&m).await.unwrap();
        posted.insert(id, m);
    }
    let mut elsewhere = message_at(&other, &alice, "elsewhere", 1_250);
    elsewhere.id = "x".into();
    store.insert_message(&elsewhere).await.unwrap();

    let ids = |v: Vec<Message>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let page = |after: Option<&'static str>, limit: i64| {
        let store = store.clone();
        let rid = room.id.clone();
        async move { ids(store.list_messages_after(&rid, after, limit).await.unwrap()) }
    };
    assert_eq!(
        page(None, 100).await,
        vec!["f", "e", "m-tie", "M-tie", "b", "a"]
    );
    assert_eq!(page(None, 3).await, vec!["f", "e", "m-tie"]);
    assert_eq!(page(Some("m-tie"), 3).await, vec!["M-tie", "b", "a"]);
    assert_eq!(page(Some("M-tie"), 3).await, vec!["b", "a"]);
    assert_eq!(page(Some("f"), 1).await, vec!["e"]);
    assert!(page(Some("a"), 3).await.is_empty());
    assert!(page(None, 0).await.is_empty());
    assert_eq!(
        store.list_messages_after(&room.id, None, 1).await.unwrap(),
        vec![posted["f"].clone()]
    );
    assert_eq!(
        invalid_code(store.list_messages_after(&room.id, Some("nope"), 3).await),
        "INVALID_CURSOR"
    );
    assert_eq!(
        invalid_code(store.list_messages_after(&room.id, Some("x"), 3).await),
        "INVALID_CURSOR",
        "a message of another room is no cursor here"
    );
    assert!(store
        .list_messages_after("no-room", None, 3)
        .await
        .unwrap()
        .is_empty());
}

async fn app_keys_insert_revoke_list(store: Arc<dyn Store>) {
    assert!(store.app_keys().await.unwrap().is_empty());
    let key = |id: &str, created: i64, revoked: Option<i64>| AppKey {
        id: id.to_string(),
        secret: format!("sk_live_{id}"),
        created_at: Timestamp(created),
        revoked_at: revoked.map(Timestamp),
    };
    let k1 = key("k1", 1_000, None);
    let k2 = key("k2", 2_000, None);
    let k3 = key("k3", 1_500, None);
    let old = key("k0", 500, Some(600));
    for k in [&k1, &k2, &k3, &old] {
        store.insert_app_key(k).await.unwrap();
    }
    assert_eq!(
        store.app_keys().await.unwrap(),
        vec![old.clone(), k1.clone(), k3.clone(), k2.clone()],
        "oldest first, revoked ones included"
    );
    let mut dup = k1.clone();
    dup.secret = "other".into();
    assert!(matches!(
        store.insert_app_key(&dup).await,
        Err(Error::Conflict(_))
    ));

    assert!(store.revoke_app_key("k3", Timestamp(5_000)).await.unwrap());
    assert!(
        store.revoke_app_key("k3", Timestamp(6_000)).await.unwrap(),
        "revoking twice still finds the key"
    );
    assert!(!store
        .revoke_app_key("nope", Timestamp(5_000))
        .await
        .unwrap());
    let keys = store.app_keys().await.unwrap();
    let revoked: Vec<(String, Option<Timestamp>)> =
        keys.into_iter().map(|k| (k.id, k.revoked_at)).collect();
    assert_eq!(
        revoked,
        vec![
            ("k0".to_string(), Some(Timestamp(600))),
            ("k1".to_string(), None),
            ("k3".to_string(), Some(Timestamp(5_000))),
            ("k2".to_string(), None),
        ],
        "the first revocation time stays"
    );
}

fn outbox_item(id: &str, endpoint: &str, next: i64, created: i64, attempts: i64) -> OutboxItem {
    OutboxItem {
        id: id.to_string(),
        endpoint_id: endpoint.to_string(),
        event_type: "message.sent".into(),
        body: format!(r#"{{"id":"{id}","data":{{"text":"héllo"}}}}"#),
        attempts,
        next_attempt_at: Timestamp(next),
        delivered_at: None,
        last_error: None,
        created_at: Timestamp(created),
    }
}

async fn webhook_endpoints_and_outbox(store: Arc<dyn Store>) {
    let e1 = WebhookEndpoint {
        id: "e1".into(),
        url: "https://example.com/hook".into(),
        events: vec!["message.sent".into(), "user.updated".into()],
        enabled: true,
        created_at: Timestamp(1_000),
    };
    let e2 = WebhookEndpoint {
        id: "e2".into(),
        url: "https://example.org/all".into(),
        events: vec![],
        enabled: false,
        created_at: Timestamp(2_000),
    };
    store.insert_webhook_endpoint(&e2).await.unwrap();
    store.insert_webhook_endpoint(&e1).await.unwrap();
    assert_eq!(
        store.webhook_endpoints().await.unwrap(),
        vec![e1.clone(), e2.clone()]
    );
    assert!(matches!(
        store.insert_webhook_endpoint(&e1).await,
        Err(Error::Conflict(_))
    ));

    let due_now = outbox_item("o1", "e1", 1_000, 1_000, 0);
    let later = outbox_item("o2", "e1", 3_000, 1_100, 0);
    // "O-6" sorts before "o-3" bytewise: equal next_attempt_at falls back on id.
    let tie_a = outbox_item("o-3", "e2", 1_500, 1_200, 0);
    let tie_b = outbox_item("O-6", "e2", 1_500, 1_400, 1);
    let exhausted = outbox_item("o4", "e1", 500, 900, 5);
    let delivered = OutboxItem {
        delivered_at: Some(Timestamp(1_250)),
        attempts: 1,
        ..outbox_item("o5", "e1", 1_200, 1_300, 0)
    };
    store.enqueue_outbox(&[]).await.unwrap();
    store
        .enqueue_outbox(&[
            due_now.clone(),
            later.clone(),
            tie_a.clone(),
            tie_b.clone(),
            exhausted.clone(),
            delivered.clone(),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.outbox_item("o5").await.unwrap(),
        Some(delivered.clone())
    );
    assert!(store.outbox_item("nope").await.unwrap().is_none());

    let due = |now: i64, max: i64, limit: i64| {
        let store = store.clone();
        async move {
            store
                .due_outbox(Timestamp(now), max, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(2_000, 5, 10).await, vec!["o1", "O-6", "o-3"]);
    assert_eq!(due(2_000, 5, 2).await, vec!["o1", "O-6"]);
    assert_eq!(
        due(2_000, 6, 10).await,
        vec!["o4", "o1", "O-6", "o-3"],
        "attempts below the maximum"
    );
    assert_eq!(due(1_500, 1, 10).await, vec!["o1", "o-3"]);
    assert_eq!(due(3_000, 5, 10).await, vec!["o1", "O-6", "o-3", "o2"]);
    assert!(due(999, 5, 10).await.is_empty());
    assert_eq!(
        store.due_outbox(Timestamp(2_000), 5, 1).await.unwrap(),
        vec![due_now.clone()]
    );

    // A failed attempt is retried later; a delivered item is never due again.
    let failed = OutboxItem {
        attempts: 1,
        next_attempt_at: Timestamp(2_500),
        last_error: Some("HTTP 500".into()),
        ..due_now.clone()
    };
    store.record_attempt(&failed).await.unwrap();
    assert_eq!(store.outbox_item("o1").await.unwrap(), Some(failed.clone()));
    assert_eq!(due(2_000, 5, 10).await, vec!["O-6", "o-3"]);
    assert_eq!(due(2_600, 5, 10).await, vec!["O-6", "o-3", "o1"]);
    let done = OutboxItem {
        attempts: 2,
        delivered_at: Some(Timestamp(2_600)),
        last_error: None,
        ..failed.clone()
    };
    store.record_attempt(&done).await.unwrap();
    assert_eq!(store.outbox_item("o1").await.unwrap(), Some(done.clone()));
    assert_eq!(due(10_000, 5, 10).await, vec!["O-6", "o-3", "o2"]);
    store
        .record_attempt(&outbox_item("gone", "e1", 0, 0, 1))
        .await
        .unwrap();

    // The delivery log of an endpoint, newest first.
    let log = |endpoint: &'static str, limit: i64| {
        let store = store.clone();
        async move {
            store
                .outbox_of_endpoint(endpoint, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(log("e1", 10).await, vec!["o5", "o2", "o1", "o4"]);
    assert_eq!(log("e1", 2).await, vec!["o5", "o2"]);
    assert_eq!(log("e2", 10).await, vec!["O-6", "o-3"]);
    assert!(log("nope", 10).await.is_empty());
    assert_eq!(
        store.outbox_of_endpoint("e1", 1).await.unwrap(),
        vec![delivered.clone()]
    );

    // Enqueueing for an unknown endpoint fails the whole batch.
    let orphan = outbox_item("o7", "nope", 1_000, 1_000, 0);
    let fine = outbox_item("o8", "e1", 1_000, 1_000, 0);
    assert!(matches!(
        store.enqueue_outbox(&[fine.clone(), orphan]).await,
        Err(Error::NotFound(_))
    ));
    assert!(store.outbox_item("o8").await.unwrap().is_none());

    // Deleting an endpoint deletes its outbox, and nothing else.
    assert!(store.delete_webhook_endpoint("e1").await.unwrap());
    assert!(!store.delete_webhook_endpoint("e1").await.unwrap());
    assert_eq!(store.webhook_endpoints().await.unwrap(), vec![e2]);
    for id in ["o1", "o2", "o4", "o5"] {
        assert!(store.outbox_item(id).await.unwrap().is_none(), "{id} gone");
    }
    assert!(log("e1", 10).await.is_empty());
    assert_eq!(log("e2", 10).await, vec!["O-6", "o-3"]);
    assert_eq!(due(10_000, 5, 10).await, vec!["O-6", "o-3"]);
    assert!(matches!(
        store.enqueue_outbox(&[fine]).await,
        Err(Error::NotFound(_))
    ));
}

async fn reactions_toggle_and_concurrent_reactions_are_all_kept(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    let room = create_room(&store, "react", RoomType::Channel).await;
    let m = message_at(&room, &alice, "hello", 1_000);
    store.insert_message(&m).await.unwrap();
    assert_eq!(
        store
            .set_reaction("nope", ":x:", "alice", None)
            .await
            .unwrap(),
        None
    );
    let reacted = store
        .set_reaction(&m.id, ":smile:", "alice", None)
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
        .set_reaction(&m.id, ":smile:", "alice", Some(true))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        again.extra["reactions"][":smile:"]["usernames"],
        serde_json::json!(["alice"])
    );
    let gone = store
        .set_reaction(&m.id, ":smile:", "alice", None)
        .await
        .unwrap()
        .unwrap();
    assert!(!gone.extra.contains_key("reactions"), "{:?}", gone.extra);
    // 20 users react at once: every reaction is kept.
    let mut tasks = vec![];
    for i in 0..20 {
        let store = store.clone();
        let id = m.id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .set_reaction(&id, ":tada:", &format!("u{i}"), Some(true))
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

// ---- backend-specific behaviour, outside the matrix

#[tokio::test]
async fn sqlite_data_survives_reopen_and_migrate_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}/nested/dir/huddle.db", dir.path().display());
    huddle_store::migrate(&url).await.unwrap();
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    let u = insert_user(&store, "alice").await;
    drop(store);
    huddle_store::migrate(&url).await.unwrap();
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.user_by_id(&u.id).await.unwrap(), Some(u));
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = huddle_store::open("sqlite::memory:", huddle_store::StoreOptions::default())
        .await
        .unwrap();
    let u = insert_user(&store, "alice").await;
    let room = create_room(&store, "x", RoomType::Channel).await;
    store
        .add_members(&room.id, &[member(&room, &u, &u.to_ref())])
        .await
        .unwrap();
    assert_eq!(room_now(&store, &room.id).await.users_count, 1);
}

#[tokio::test]
async fn unreachable_postgres_is_unavailable_fast() {
    let opts = huddle_store::StoreOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
    };
    let started = Instant::now();
    let result = huddle_store::open("postgres://postgres@127.0.0.1:1/none", opts).await;
    assert!(
        matches!(result, Err(Error::Unavailable(_))),
        "got {:?}",
        result.err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unknown_scheme_is_refused() {
    assert!(matches!(
        huddle_store::open("mysql://x", Default::default()).await,
        Err(Error::Internal(_))
    ));
}

#[tokio::test]
async fn sqlite_upgrade_from_0001_fills_the_new_columns() {
    // A database made by the first migration alone, with a row in every changed table.
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("migrations");
    std::fs::create_dir(&first).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_init.sql"
        ),
        first.join("0001_init.sql"),
    )
    .unwrap();
    let url = format!("sqlite:{}/huddle.db?mode=rwc", dir.path().display());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(first.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO users (id, username, username_lower, name, kind, status, status_text, created_at, updated_at) \
             VALUES ('u1', 'old', 'old', 'Old', 'user', 'offline', '', 1, 1)",
            "INSERT INTO rooms (id, t, name, created_at, updated_at) VALUES ('r1', 'p', 'old-room', 1, 1)",
            "INSERT INTO subscriptions (id, rid, uid, u_username, t, name, ts, updated_at) \
             VALUES ('s1', 'r1', 'u1', 'old', 'p', 'old-room', 1, 1)",
            "INSERT INTO messages (id, rid, msg, ts, u_id, u_username, updated_at) \
             VALUES ('m1', 'r1', 'hi', 5, 'u1', 'old', 5)",
            "UPDATE rooms SET lm = 5, msgs = 1, users_count = 1 WHERE id = 'r1'",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let store = huddle_store::open(&url, huddle_store::StoreOptions::default())
        .await
        .unwrap();
    let user = store.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!(user.profile, Profile::default());
    let sub = store.subscription("r1", "u1").await.unwrap().unwrap();
    assert_eq!(sub.revoked_at, None);
    let message = store.message_by_id("m1").await.unwrap().unwrap();
    assert_eq!(message.idempotency_key, None);
    let listed = store
        .list_conversations(&ConversationQuery {
            member: Some("u1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0.last_message_at, Some(Timestamp(5)));
}
