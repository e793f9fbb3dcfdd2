//! The disk under a SQLite database fills up: a small tmpfs holds the database, a filler file
//! takes the rest of it. Writes then answer 503 with `Retry-After` (not 500, never a 200 for a
//! message that was not stored, never a hang), or 200 for a write SQLite found room for in the
//! space its log already has; once the filler is gone they succeed again, and every message that
//! was acknowledged is there, none that was refused. Needs `mount` (root); skipped with the reason
//! otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use super::{answer, assert_unavailable, Answer};
use crate::helpers::{TestApp, APP_ID, SECRET};

/// The tmpfs' size: the migrated database and its WAL fit, with room for the test's messages.
const TMPFS_SIZE: &str = "24m";
/// A write on a full disk fails at once; this only tells that from a hang.
const HANG_LIMIT: Duration = Duration::from_secs(2);
/// Posts tried on the full disk before the test gives up waiting for one to fail: SQLite reuses
/// the space of its WAL file after a checkpoint, so the first few may still fit.
const MAX_POSTS: usize = 3000;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: the server's pools may still hold the files open while the test unwinds.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros into `path` until the file system says it is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                break;
            }
        }
    }
    // The last partial pages too.
    while let Ok(n) = file.write(&[0u8; 512]) {
        if n == 0 {
            break;
        }
        written += n as u64;
    }
    written
}

#[tokio::test]
async fn a_full_disk_answers_503_and_writes_resume_once_space_is_freed() {
    let tmpfs = match Tmpfs::mount() {
        Ok(t) => t,
        Err(reason) => {
            println!("skipped: disk-full test needs a tmpfs: {reason}");
            return;
        }
    };
    let db: PathBuf = tmpfs.path().join("huddle.db");
    let url = format!("sqlite://{}", db.display());
    let mut app = TestApp::spawn_with(|c| c.database_url = url).await;
    let (rid, _) = app.room(&app.admin, "c", &[]).await;
    app.talk_ok(
        "PUT",
        "conversations/full",
        Some(json!({ "subject": "full" })),
    )
    .await;
    let text = "x".repeat(4000);
    let post = |i: usize| {
        app.client
            .post(app.url("chat.postMessage"))
            .header("X-User-Id", &app.admin.user_id)
            .header("X-Auth-Token", &app.admin.token)
            .json(&json!({ "roomId": rid, "text": format!("{i} {text}") }))
    };

    // Acknowledged before the disk fills: these must survive what follows.
    const BEFORE: usize = 20;
    let mut acknowledged = vec![];
    for i in 0..BEFORE {
        let a = answer(post(i)).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
        acknowledged.push(i);
    }
    let filler = tmpfs.path().join("filler");
    let filled = fill(&filler);
    let mut refused: Option<(usize, Answer)> = None;
    let mut slowest = Duration::ZERO;
    for i in BEFORE..MAX_POSTS {
        let a = answer(post(i)).await;
        slowest = slowest.max(a.took);
        assert!(a.took < HANG_LIMIT, "post {i} took {:?}", a.took);
        if a.status == StatusCode::OK {
            acknowledged.push(i);
            continue;
        }
        assert_unavailable(&a, false);
        refused = Some((i, a));
        break;
    }
    let (refused_at, refused) =
        refused.unwrap_or_else(|| panic!("{MAX_POSTS} posts fit on a full disk"));
    // The disk is still full. Each write answers at once, in both APIs' shapes: refused as
    // before, or stored, when a checkpoint meanwhile let the log start over inside the file it
    // has already (the checkpointer runs beside the writer) and the write fits there; a write
    // answered 200 is then kept like any other.
    let again = answer(post(MAX_POSTS)).await;
    if again.status == StatusCode::OK {
        acknowledged.push(MAX_POSTS);
    } else {
        assert_unavailable(&again, false);
    }
    let talk = answer(
        app.client
            .post(format!(
                "{}/v1/{APP_ID}/conversations/full/messages",
                app.base
            ))
            .bearer_auth(SECRET)
            .json(&json!([{ "text": "on a full disk", "type": "SystemMessage" }])),
    )
    .await;
    let talk_kept = talk.status == StatusCode::OK;
    if !talk_kept {
        assert_unavailable(&talk, true);
    }
    for a in [&again, &talk] {
        slowest = slowest.max(a.took);
        assert!(a.took < HANG_LIMIT, "{a:?}");
    }

    std::fs::remove_file(&filler).expect("free the space");
    let after = answer(post(MAX_POSTS + 1)).await;
    assert_eq!(after.status, StatusCode::OK, "{after:?}");
    acknowledged.push(MAX_POSTS + 1);

    // A fresh server reads back every acknowledged message from the file.
    app.restart().await;
    let v = app
        .get_ok(
            &app.admin,
            "channels.messages",
            &[("roomId", rid.as_str()), ("count", "0")],
        )
        .await;
    let stored: std::collections::BTreeSet<usize> = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["msg"].as_str()?.split(' ').next()?.parse().ok())
        .collect();
    let lost: Vec<&usize> = acknowledged
        .iter()
        .filter(|i| !stored.contains(i))
        .collect();
    assert!(lost.is_empty(), "acknowledged messages lost: {lost:?}");
    let refused_posts = [
        Some(refused_at),
        (again.status != StatusCode::OK).then_some(MAX_POSTS),
    ];
    for i in refused_posts.into_iter().flatten() {
        assert!(
            !stored.contains(&i),
            "refused message {i} was stored anyway"
        );
    }
    let talk_messages = app
        .talk_ok("GET", "conversations/full/messages?limit=100", None)
        .await
        .to_string();
    assert_eq!(
        talk_messages.contains("on a full disk"),
        talk_kept,
        "the TalkJS message is stored exactly when it was acknowledged: {talk_messages}"
    );
    println!(
        "figure: disk full (tmpfs {TMPFS_SIZE}, filler {} KiB): {} posts fit in space SQLite had \
         already, then 503 with Retry-After {} s (slowest answer {} ms, no 500, no 200 for a \
         refused write); the first write after freeing the space succeeded; {} acknowledged, 0 lost",
        filled / 1024,
        acknowledged.len() - BEFORE - 1,
        refused.retry_after.as_deref().unwrap_or("?"),
        slowest.as_millis(),
        acknowledged.len(),
    );
}
