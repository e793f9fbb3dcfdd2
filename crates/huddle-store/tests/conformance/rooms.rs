//! Rooms: round trip, update, delete, name conflicts, listing filters.

#![allow(unused_imports)]

use super::*;

pub async fn rooms_round_trip_update_delete(store: Arc<dyn Store>) {
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

pub async fn room_name_conflicts(store: Arc<dyn Store>) {
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

pub async fn list_rooms_filters(store: Arc<dyn Store>) {
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
