//! The TalkJS-style API: profiles, idempotency, revocation, conversations, batch upserts, cursors, app keys and webhooks.

#![allow(unused_imports)]

use super::*;

// ---- the TalkJS-style API: profiles, idempotency, revocation, conversations, batch upserts,
// cursors, app keys and webhooks

pub fn invalid_code<T: std::fmt::Debug>(result: huddle_core::Result<T>) -> String {
    match result {
        Err(Error::Invalid(f)) => f.code.to_string(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

pub fn full_profile() -> Profile {
    Profile {
        emails: vec!["a@work.example".into(), "a@home.example".into()],
        phones: vec!["+1 555 0100".into()],
        welcome_message: Some("Hi, ask me anything".into()),
        role: Some("support".into()),
        availability_text: Some("Back at 9".into()),
    }
}

pub async fn user_profile_round_trips(store: Arc<dyn Store>) {
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

pub async fn idempotency_keys_are_unique_per_room(store: Arc<dyn Store>) {
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
    assert!(store.delete_message(&room.id, &first.id).await.unwrap());
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

pub async fn subscription_revoked_at_round_trips(store: Arc<dyn Store>) {
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
pub async fn conversation(
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

pub async fn conversations_order_cursor_member_unread_bounds(store: Arc<dyn Store>) {
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
    assert!(store.delete_message("c1", &newest.id).await.unwrap());
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

pub async fn list_users_after_orders_by_id_bytewise(store: Arc<dyn Store>) {
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

pub async fn upsert_users_is_all_or_nothing(store: Arc<dyn Store>) {
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

pub async fn list_messages_after_cursor(store: Arc<dyn Store>) {
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
