//! An acknowledged write survives the process being killed (kill -9): a child process writes
//! to a database and reports each commit; the parent kills it mid-stream, reopens the database
//! and finds every reported write. Users on SQLite; and room changes with a webhook endpoint
//! registered, on SQLite and (with `HUDDLE_TEST_POSTGRES_URL`) PostgreSQL, whose event rows and
//! outbox rows must all be there: they commit with the change or not at all. The storm's posts
//! notify the room's members, so each acknowledged post must also have its notifications'
//! outbox rows and owed e-mails. Every room's counters must match its rows, and the SQLite file
//! must pass `integrity_check`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use huddle_core::ids::new_id;
use huddle_core::notify::NotifyFacts;
use huddle_core::store::{NewMember, RoomChange, RoomEventItem, RoomWrite};
use huddle_core::{
    Access, Message, Room, RoomType, Subscription, Timestamp, User, WebhookEndpoint,
};
use sqlx::Connection;

const DB_ENV: &str = "HUDDLE_DURABILITY_DB";
const PG_ENV: &str = "HUDDLE_TEST_POSTGRES_URL";

/// Runs one ignored test of this binary as a child writing to `url`.
fn spawn_child(test: &str, url: &str) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}

/// The child: eight concurrent writers insert users until killed, each id printed once its
/// insert has returned. Concurrent, so that SQLite's writer groups them into shared commits and
/// the test covers acknowledged writes inside a batch.
#[tokio::test]
#[ignore]
async fn child_writer() {
    let Ok(url) = std::env::var(DB_ENV) else {
        return;
    };
    let store = huddle_store::open(&url, Default::default()).await.unwrap();
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel();
    for w in 0..8 {
        let (store, acks) = (store.clone(), acks.clone());
        tokio::spawn(async move {
            for i in 0.. {
                let user = User::new(
                    format!("u{w}_{i}"),
                    Some(format!("user{w}_{i}")),
                    format!("User {w} {i}"),
                );
                store.insert_user(&user).await.unwrap();
                if acks.send(user.id).is_err() {
                    return;
                }
            }
        });
    }
    let mut out = std::io::stdout();
    while let Some(id) = acked.recv().await {
        writeln!(out, "ACK {id}").unwrap();
        out.flush().unwrap();
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/durable.db", dir.path().display());
    let (mut child, mut lines) = spawn_child("child_writer", &url);
    let mut acked = vec![];
    while acked.len() < 200 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.to_string());
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no flush
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(50));

    let store = huddle_store::open(&url, Default::default()).await.unwrap();
    for id in &acked {
        assert!(
            store.user_by_id(id).await.unwrap().is_some(),
            "acknowledged user {id} lost"
        );
    }
}

/// Rooms, writers and users per writer of the membership storm.
const ROOMS: usize = 4;
const WRITERS: usize = 8;
const USERS_EACH: usize = 400;
const HOOK: &str = "hook";

fn membership(room: &Room, user: &User) -> Subscription {
    let now = Timestamp::now();
    Subscription {
        id: new_id(),
        rid: room.id.clone(),
        u: user.to_ref(),
        t: room.t,
        name: room.name.clone().unwrap_or_default(),
        fname: room.fname.clone(),
        ts: now,
        ls: None,
        open: true,
        alert: false,
        unread: 0,
        user_mentions: 0,
        group_mentions: 0,
        roles: vec![],
        access: Access::ReadWrite,
        notify: "true".into(),
        revoked_at: None,
        favorite: false,
        ignored: vec![],
        updated_at: now,
    }
}

/// The child of the storm: eight concurrent writers add members to four rooms and remove every
/// third one again, each change with its system message and a webhook endpoint that wants
/// every event type; each change's room and event number are printed once `write_room` has
/// returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn child_room_writer() {
    let Ok(url) = std::env::var(DB_ENV) else {
        return;
    };
    let store = huddle_store::open(&url, Default::default()).await.unwrap();
    let hook = WebhookEndpoint {
        id: HOOK.into(),
        url: "http://127.0.0.1:9/hook".into(),
        events: vec![],
        enabled: true,
        created_at: Timestamp::now(),
    };
    store.insert_webhook_endpoint(&hook).await.unwrap();
    let rooms: Vec<Room> = (0..ROOMS)
        .map(|i| {
            Room::new(
                format!("room{i}"),
                RoomType::Channel,
                Some(format!("storm-{i}")),
                None,
            )
        })
        .collect();
    for r in &rooms {
        store.create_room(r, &[]).await.unwrap();
    }
    let users: Vec<User> = (0..WRITERS * USERS_EACH)
        .map(|i| {
            User::new(
                format!("u{i}"),
                Some(format!("user{i}")),
                format!("User {i}"),
            )
        })
        .collect();
    store.upsert_users(&users).await.unwrap();
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel();
    for w in 0..WRITERS {
        let (store, acks, rooms, hook) = (store.clone(), acks.clone(), rooms.clone(), hook.clone());
        let mine = users[w * USERS_EACH..(w + 1) * USERS_EACH].to_vec();
        tokio::spawn(async move {
            let room_of = |i: usize| &rooms[(w + i) % ROOMS];
            for (i, user) in mine.iter().enumerate() {
                let room = room_of(i);
                let mut changes = vec![
                    RoomChange::AddMembers(vec![NewMember {
                        subscription: membership(room, user),
                        message: Some(Message::system(&room.id, "au", user.to_ref(), &user.id)),
                    }]),
                    // Notifies the room's other members: webhooks and owed e-mails.
                    RoomChange::PostMessage(Message::new(
                        &room.id,
                        user.to_ref(),
                        format!("hello from {}", user.id),
                        None,
                    )),
                ];
                if i % 3 == 2 {
                    let (before, gone) = (room_of(i - 1), &mine[i - 1]);
                    changes.push(RoomChange::RemoveMember {
                        uid: gone.id.clone(),
                        message: Some(Message::system(&before.id, "ru", user.to_ref(), &gone.id)),
                    });
                }
                for change in changes {
                    let rid = match &change {
                        RoomChange::RemoveMember { .. } => room_of(i - 1).id.clone(),
                        _ => room.id.clone(),
                    };
                    let notify =
                        matches!(change, RoomChange::PostMessage(_)).then(|| NotifyFacts {
                            live: Default::default(),
                            email_window_ms: Some(3_600_000),
                        });
                    let write = RoomWrite {
                        rid: rid.clone(),
                        change,
                        webhooks: vec![hook.clone()],
                        notify,
                    };
                    let seq = store.write_room(write).await.unwrap().seq.unwrap();
                    if acks.send((rid, seq)).is_err() {
                        return;
                    }
                }
            }
        });
    }
    drop(acks);
    let mut out = std::io::stdout();
    while let Some((rid, seq)) = acked.recv().await {
        writeln!(out, "ACK {rid} {seq}").unwrap();
        out.flush().unwrap();
    }
}

/// Kills the storm's child after `want` acknowledged changes, reopens `url` and counts the
/// acknowledged changes missing their event or any of their outbox rows.
async fn storm_then_kill_9(url: &str, backend: &str, want: usize) {
    let (mut child, mut lines) = spawn_child("child_room_writer", url);
    let mut acked: Vec<(String, i64)> = vec![];
    while acked.len() < want {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(ack) = line.strip_prefix("ACK ") {
            let (rid, seq) = ack.split_once(' ').unwrap();
            acked.push((rid.to_string(), seq.parse().unwrap()));
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, no flush
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(50));

    let store = huddle_store::open(url, Default::default()).await.unwrap();
    let mut outbox: HashMap<(String, i64), usize> = HashMap::new();
    for item in store.outbox_of_endpoint(HOOK, i64::MAX).await.unwrap() {
        let (Some(rid), Some(seq)) = (item.rid, item.seq) else {
            continue;
        };
        *outbox.entry((rid, seq)).or_default() += 1;
    }
    // Every owed e-mail, whenever due.
    let mut emails: HashMap<String, usize> = HashMap::new();
    for batch in store
        .due_email_batches(Timestamp(i64::MAX / 2), i64::MAX)
        .await
        .unwrap()
    {
        for e in batch {
            *emails.entry(e.message_id).or_default() += 1;
        }
    }
    let (mut no_event, mut no_outbox, mut no_email, mut notified) = (0, 0, 0, 0);
    for (rid, seq) in &acked {
        let found = store.room_events(rid, seq - 1, 1).await.unwrap();
        match found.first() {
            Some(e) if e.seq == *seq => {
                let wanted = e
                    .items
                    .iter()
                    .filter(|i| i.webhook_type().is_some())
                    .count();
                if outbox.get(&(rid.clone(), *seq)) != Some(&wanted) {
                    no_outbox += 1;
                }
                let told = e
                    .items
                    .iter()
                    .filter(|i| matches!(i, RoomEventItem::NotificationTriggered { .. }))
                    .count();
                notified += told;
                for i in &e.items {
                    if let RoomEventItem::MessageCreated { message } = i {
                        if emails.get(&message.id).copied().unwrap_or(0) != told {
                            no_email += 1;
                        }
                    }
                }
            }
            _ => no_event += 1,
        }
    }
    // Whatever committed, acknowledged or not, is numbered without a gap.
    let mut events = 0;
    for r in 0..ROOMS {
        let log = store
            .room_events(&format!("room{r}"), 0, i64::MAX)
            .await
            .unwrap();
        let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=log.len() as i64).collect::<Vec<_>>(), "room{r}");
        events += log.len();
    }
    println!(
        "{backend}: kill -9 after {} acknowledged room changes: {no_event} lost their event, \
         {no_outbox} lost outbox rows, {no_email} posts lost owed e-mails ({events} events, {} \
         room-event outbox rows, {notified} notifications of acknowledged posts on disk)",
        acked.len(),
        outbox.values().sum::<usize>()
    );
    assert_eq!((no_event, no_outbox, no_email), (0, 0, 0));
    assert!(
        notified > 0,
        "the storm's posts notified nobody: the check would prove nothing"
    );
    counters_exact_and_file_intact(url, backend).await;
}

/// After the kill: every room's member and message counters match its rows (whatever
/// committed moved both in one transaction), and SQLite's file passes `integrity_check`.
async fn counters_exact_and_file_intact(url: &str, backend: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let (rooms, off): (i64, i64) = sqlx::query_as(
        "SELECT count(*), COALESCE(sum(CASE WHEN r.users_count = \
           (SELECT count(*) FROM subscriptions s WHERE s.rid = r.id) \
         AND r.msgs = (SELECT count(*) FROM messages m WHERE m.rid = r.id) \
         THEN 0 ELSE 1 END), 0) FROM rooms r",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((rooms, off), (ROOMS as i64, 0), "{backend}: counters off");
    if backend == "sqlite" {
        let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(check, "ok");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_room_changes_keep_their_events_and_webhooks_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/storm.db", dir.path().display());
    storm_then_kill_9(&url, "sqlite", 600).await;

    let Ok(base) = std::env::var(PG_ENV) else {
        eprintln!("{PG_ENV} not set: PostgreSQL run skipped");
        return;
    };
    // A schema of its own, dropped after.
    let schema = format!("t_durability_{}", new_id().to_lowercase());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let outcome = tokio::spawn(async move { storm_then_kill_9(&url, "postgres", 600).await }).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
