//! Lists and rows bound as one JSON parameter: lookups, bulk adds and batch upserts of 10,000
//! entries in one call, and values that JSON or SQL could mangle (quotes, backslashes, unicode,
//! wildcards, the empty list).

#![allow(unused_imports)]

use super::*;
use huddle_core::Invitee;

/// Usernames that are awkward in SQL, JSON and `LIKE` alike.
const ODD: &[&str] = &[
    "o'brien",
    "say\"hi\"",
    "back\\slash",
    "pct%_under",
    "Ünïcødé",
    "日本語",
    "emoji🎉",
    "brackets[]{},:",
    "null",
    "",
];

fn odd_user(i: usize, name: &str) -> User {
    let mut u = user(&format!("{name}{i}"));
    u.name = format!("Name \"{name}\" ' {i}");
    u.roles = vec!["user".into(), format!("role'{name}\"")];
    u
}

pub async fn ten_thousand_users_in_one_call_keep_order_and_skip_unknown(store: Arc<dyn Store>) {
    let users: Vec<User> = (0..10_000)
        .map(|i| odd_user(i, ODD[i % ODD.len()]))
        .collect();
    for batch in users.chunks(2_500) {
        store.upsert_users(batch).await.unwrap();
    }
    // Reversed, with unknown ids and duplicates mixed in: found in the asked order, once each.
    let mut ids: Vec<String> = users.iter().rev().map(|u| u.id.clone()).collect();
    ids.insert(5, "no-such-id".into());
    ids.insert(7, "it's \"odd\"".into());
    ids.push(users[9_999].id.clone());
    let found = store.users_by_ids(&ids).await.unwrap();
    assert_eq!(found.len(), 10_000);
    let want: Vec<&str> = users.iter().rev().map(|u| u.id.as_str()).collect();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        want
    );
    assert_eq!(found[0], users[9_999], "every field round-trips");

    // Usernames, case-folded, including the unicode and quoted ones.
    let names: Vec<String> = users
        .iter()
        .take(40)
        .map(|u| u.username.clone().unwrap().to_uppercase())
        .chain(["nobody".to_string()])
        .collect();
    let found = store.users_by_usernames(&names).await.unwrap();
    assert_eq!(
        found.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        users
            .iter()
            .take(40)
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>()
    );
    assert!(store.users_by_ids(&[]).await.unwrap().is_empty());
    assert!(store.users_by_usernames(&[]).await.unwrap().is_empty());

    // The invitee read answers the same users in the same order, by id and by username.
    let by_id = store.invitees(&ids, true).await.unwrap();
    let full = store.users_by_ids(&ids).await.unwrap();
    assert_eq!(
        by_id,
        full.iter().map(Invitee::from).collect::<Vec<_>>(),
        "same users, order and fields as users_by_ids"
    );
    let by_name = store.invitees(&names, false).await.unwrap();
    assert_eq!(
        by_name,
        users.iter().take(40).map(Invitee::from).collect::<Vec<_>>()
    );
    assert!(store.invitees(&[], true).await.unwrap().is_empty());
    assert!(store.invitees(&[], false).await.unwrap().is_empty());

    // Roles went in through the JSON rows as well, quotes and all.
    assert_eq!(
        store
            .count_users_with_role(&format!("role'{}\"", ODD[1]))
            .await
            .unwrap(),
        1_000
    );
}

pub async fn bulk_add_10000_odd_members_in_one_call(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    let users: Vec<User> = (0..10_000)
        .map(|i| odd_user(i, ODD[i % ODD.len()]))
        .collect();
    for batch in users.chunks(2_500) {
        store.upsert_users(batch).await.unwrap();
    }
    let room = create_room(&store, "big'\"room", RoomType::Group).await;
    let mut members: Vec<NewMember> = users
        .iter()
        .map(|u| member(&room, u, &admin.to_ref()))
        .collect();
    members[3].subscription.roles = vec!["owner".into(), "it's".into()];
    // The same user twice in one call is added once.
    members.push(member(&room, &users[0], &admin.to_ref()));
    let added = store.add_members(&room.id, &members).await.unwrap();
    assert_eq!(added.len(), 10_000);
    assert_eq!(added[0], users[0].id, "in the order asked");
    let r = room_now(&store, &room.id).await;
    assert_eq!((r.users_count, r.msgs), (10_000, 10_000));

    // Again, with one new user: only they are added.
    let late = insert_user(&store, "late").await;
    members.push(member(&room, &late, &admin.to_ref()));
    let added = store.add_members(&room.id, &members).await.unwrap();
    assert_eq!(added, vec![late.id.clone()]);

    let sub = store
        .subscription(&room.id, &users[3].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sub, {
        let mut want = members[3].subscription.clone();
        want.rid = room.id.clone();
        want
    });
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
    assert_eq!(listed.total, 10_001);
    let mut want: Vec<(String, String)> = users
        .iter()
        .chain([&late])
        .map(|u| (u.username.clone().unwrap(), u.id.clone()))
        .collect();
    want.sort();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|m| (m.subscription.u.username.clone(), m.user.id.clone()))
            .collect::<Vec<_>>(),
        want,
        "username order, bytewise"
    );
    let history = store
        .list_messages(
            &room.id,
            &MessageQuery {
                paging: page(0, 1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(history.total, 10_001);

    // Rooms by a list of ids, odd ones included.
    let other = create_room(&store, "other", RoomType::Channel).await;
    let mut ids: Vec<String> = (0..10_000).map(|i| format!("missing-{i}'\"")).collect();
    ids.push(other.id.clone());
    ids.push(room.id.clone());
    let rooms = store
        .list_rooms(&RoomQuery {
            ids: Some(ids),
            paging: all(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rooms.total, 2);
}
