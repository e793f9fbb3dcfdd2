//! Races: many simultaneous invites, joins and kicks of overlapping users leave exact counts,
//! one membership per user and one system message per real change — never a 500.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn hundred_concurrent_invites_of_one_user_make_one_membership() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let calls = (0..100).map(|_| {
        app.post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": rid, "userId": bob.user_id }),
        )
    });
    for (status, v) in futures::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let info = app.room_info(&app.admin, &rid).await;
    assert_eq!(info["usersCount"], json!(2));
    assert_eq!(info["msgs"], json!(1));
    assert_eq!(
        app.system_messages(&app.admin, &rid).await,
        vec![("au".to_string(), bob.username.clone())]
    );
}

#[tokio::test]
async fn overlapping_invites_joins_and_kicks_keep_counts_exact() {
    let app = TestApp::spawn().await;
    let users = futures::future::join_all((0..8).map(|_| app.user("u"))).await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    let ids: Vec<String> = users.iter().map(|u| u.user_id.clone()).collect();
    let mut calls = vec![];
    for round in 0..4 {
        // Overlapping bulk invites: users 0..6 and 2..8.
        let slice = if round % 2 == 0 {
            &ids[0..6]
        } else {
            &ids[2..8]
        };
        calls.push(app.post(
            Some(&app.admin),
            "channels.invite",
            json!({ "roomId": rid, "userIds": slice }),
        ));
    }
    for u in &users {
        calls.push(app.post(Some(u), "channels.join", json!({ "roomId": rid })));
    }
    for (status, v) in futures::future::join_all(calls).await {
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let info = app.room_info(&app.admin, &rid).await;
    assert_eq!(info["usersCount"], json!(9));
    assert_eq!(info["msgs"], json!(8), "one au/uj per user");
    let (app_ref, rid_ref) = (&app, &rid);
    let kicks = users[0..4].iter().flat_map(|u| {
        (0..3).map(move |_| {
            app_ref.post(
                Some(&app_ref.admin),
                "channels.kick",
                json!({ "roomId": rid_ref, "userId": u.user_id }),
            )
        })
    });
    for (status, v) in futures::future::join_all(kicks).await {
        // Concurrent kicks of one user: the first removes; the others find nothing to remove
        // (the admin may kick non-members) and change nothing.
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let info = app.room_info(&app.admin, &rid).await;
    assert_eq!(info["usersCount"], json!(5));
    assert_eq!(info["msgs"], json!(12), "one ru per removed user");
    let members = app.member_ids(&rid, "c").await;
    assert_eq!(members.len(), 5);
    let kinds: Vec<String> = app
        .system_messages(&app.admin, &rid)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(kinds.iter().filter(|t| *t == "ru").count(), 4);
    assert_eq!(kinds.iter().filter(|t| *t == "au" || *t == "uj").count(), 8);
}

#[tokio::test]
async fn concurrent_dm_creation_yields_one_room() {
    let app = TestApp::spawn().await;
    let bob = app.user("bob").await;
    let calls = (0..20).map(|_| {
        app.post(
            Some(&app.admin),
            "im.create",
            json!({ "username": bob.username }),
        )
    });
    let ids: std::collections::HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|(status, v)| {
            assert_eq!(status, StatusCode::OK, "{v}");
            v["room"]["_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    let v = app.get_ok(&app.admin, "im.list", &[]).await;
    assert_eq!(v["total"], json!(1));
}
