//! Users: CRUD, case-insensitive lookups, conflicts, listing, tokens.

#![allow(unused_imports)]

use super::*;

pub async fn users_crud_and_case_insensitive_lookups(store: Arc<dyn Store>) {
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

pub async fn user_conflicts(store: Arc<dyn Store>) {
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

pub async fn list_users_filters_and_roles(store: Arc<dyn Store>) {
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
        ..Default::default()
    };
    assert_eq!(store.list_users(&combined).await.unwrap().items.len(), 0);

    let ids = store.all_user_ids(true, 100).await.unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!(store.all_user_ids(false, 100).await.unwrap().len(), 12);
    assert_eq!(store.all_user_ids(false, 5).await.unwrap().len(), 5);
}

pub fn token(user_id: &str, kind: TokenKind, name: Option<&str>) -> LoginToken {
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

pub async fn tokens(store: Arc<dyn Store>) {
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

/// Avatars: set, replace, read back byte for byte, delete; a deleted user's avatar goes too.
pub async fn avatars_round_trip(store: Arc<dyn Store>) {
    let alice = insert_user(&store, "alice").await;
    assert!(store.avatar(&alice.id).await.unwrap().is_none());
    let mut a = huddle_core::Avatar {
        content_type: "image/png".into(),
        data: "iVBORw0KGgo=".into(),
        url: None,
        etag: "e1".into(),
        updated_at: Timestamp(1_000),
    };
    store.set_avatar(&alice.id, Some(&a)).await.unwrap();
    assert_eq!(store.avatar(&alice.id).await.unwrap(), Some(a.clone()));
    a.url = Some("https://example.com/a.png".into());
    a.etag = "e2".into();
    store.set_avatar(&alice.id, Some(&a)).await.unwrap();
    assert_eq!(store.avatar(&alice.id).await.unwrap(), Some(a.clone()));
    store.set_avatar(&alice.id, None).await.unwrap();
    assert!(store.avatar(&alice.id).await.unwrap().is_none());
    store.set_avatar(&alice.id, Some(&a)).await.unwrap();
    assert!(store.delete_user(&alice.id).await.unwrap());
    assert!(store.avatar(&alice.id).await.unwrap().is_none());
}
