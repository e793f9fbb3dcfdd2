//! An acknowledged write survives the process being killed (kill -9): a child process writes
//! users to a SQLite file and reports each commit; the parent kills it mid-stream, reopens the
//! file and finds every reported user.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use huddle_core::User;

const DB_ENV: &str = "HUDDLE_DURABILITY_DB";

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
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = vec![];
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
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
