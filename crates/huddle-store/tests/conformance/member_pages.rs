//! Deep member pages of a large room (served through the store's in-memory member index) are
//! exactly the plain listing's slices: same rows, order and total, in both directions, with
//! inactive members skipped, and still after adds, removes, renames, deactivations and
//! concurrent membership churn.

#![allow(unused_imports)]

use super::*;

use huddle_core::{Member, Page};

/// Above the size and offset from which the store pages through its index.
const ROOM_SIZE: usize = 6_000;
const OFFSETS: &[i64] = &[
    0, 499, 500, 501, 777, 1_024, 2_048, 2_049, 3_000, 4_321, 5_000, 5_940, 5_949, 5_950, 5_999,
    6_000, 7_000,
];

fn rows(page: &Page<Member>) -> Vec<(Subscription, User)> {
    page.items
        .iter()
        .map(|m| (m.subscription.clone(), m.user.clone()))
        .collect()
}

/// Compares pages of 50 (and of 7) at many offsets, both directions, against one plain scan.
async fn pages_match_scan(store: &Arc<dyn Store>, rid: &str, what: &str) {
    for desc in [false, true] {
        let scan = store
            .list_members(
                rid,
                &MemberQuery {
                    paging: all(),
                    sort_desc: desc,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let scan_rows = rows(&scan);
        assert_eq!(scan.total, scan_rows.len() as i64, "{what}: total");
        for &offset in OFFSETS {
            for count in [50, 7] {
                let got = store
                    .list_members(
                        rid,
                        &MemberQuery {
                            paging: page(offset, count),
                            sort_desc: desc,
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap();
                let from = (offset as usize).min(scan_rows.len());
                let to = (from + count as usize).min(scan_rows.len());
                assert_eq!(
                    got.total, scan.total,
                    "{what}: total at {offset} desc={desc}"
                );
                assert!(
                    rows(&got) == scan_rows[from..to],
                    "{what}: page at offset {offset} count {count} desc={desc} differs"
                );
            }
        }
    }
}

pub async fn deep_member_pages_match_a_plain_scan(store: Arc<dyn Store>) {
    let admin = insert_user(&store, "admin").await;
    // Shuffled names, some sharing a prefix, some without a username ('' in memberships),
    // some with multi-byte characters and colons.
    let mut users: Vec<User> = (0..ROOM_SIZE)
        .map(|i| {
            let mut u = user(&format!("m{:05}", (i * 7_919) % ROOM_SIZE));
            if i % 997 == 0 {
                u.username = None;
                u.email = None;
            } else if i % 499 == 3 {
                // Bytes that are not ASCII and the index loader's field separator.
                u.username = Some(format!("ünï:{i}:ß"));
            }
            u.active = i % 101 != 5;
            u
        })
        .collect();
    for batch in users.chunks(2_000) {
        store.upsert_users(batch).await.unwrap();
    }
    let room = create_room(&store, "huge", RoomType::Channel).await;
    let members: Vec<NewMember> = users
        .iter()
        .map(|u| NewMember {
            subscription: sub(&room, u),
            message: None,
        })
        .collect();
    store.add_members(&room.id, &members).await.unwrap();
    pages_match_scan(&store, &room.id, "fresh").await;

    // Adds and removes after the index is loaded.
    let extra: Vec<User> = (0..300).map(|i| user(&format!("x{i:03}"))).collect();
    store.upsert_users(&extra).await.unwrap();
    let adds: Vec<NewMember> = extra
        .iter()
        .map(|u| member(&room, u, &admin.to_ref()))
        .collect();
    store.add_members(&room.id, &adds).await.unwrap();
    for u in users.iter().step_by(13) {
        assert!(store.remove_member(&room.id, &u.id, None).await.unwrap());
    }
    pages_match_scan(&store, &room.id, "after adds and removes").await;

    // Renames (to the front and the back of the order) and deactivations.
    for (i, u) in users.iter_mut().enumerate().skip(1).step_by(211).take(10) {
        u.username = Some(if i % 2 == 0 {
            format!("a-renamed{i}")
        } else {
            format!("zz-renamed{i}")
        });
        u.active = i % 3 != 0;
        store.update_user(u).await.unwrap();
    }
    pages_match_scan(&store, &room.id, "after renames and deactivations").await;

    // Concurrent churn while pages are read, then compared once quiet.
    let mut tasks = vec![];
    for (i, u) in users.iter().enumerate().skip(2).step_by(17).take(120) {
        let writer = store.clone();
        let r = room.clone();
        let u = u.clone();
        let admin = admin.to_ref();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                writer.remove_member(&r.id, &u.id, None).await.map(|_| ())
            } else {
                writer
                    .add_members(&r.id, &[member(&r, &u, &admin)])
                    .await
                    .map(|_| ())
            }
        }));
        if i % 5 == 0 {
            let reader = store.clone();
            let rid = room.id.clone();
            tasks.push(tokio::spawn(async move {
                reader
                    .list_members(
                        &rid,
                        &MemberQuery {
                            paging: page(3_000, 50),
                            ..Default::default()
                        },
                    )
                    .await
                    .map(|p| assert!(p.items.len() <= 50))
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    pages_match_scan(&store, &room.id, "after concurrent churn").await;

    // The text filter still works on a large room (and is not served by the index).
    let found = store
        .list_members(
            &room.id,
            &MemberQuery {
                text: Some("X29".into()),
                paging: page(0, 50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found
            .items
            .iter()
            .map(|m| m.subscription.u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["x290", "x291", "x292", "x293", "x294", "x295", "x296", "x297", "x298", "x299"]
    );
}
