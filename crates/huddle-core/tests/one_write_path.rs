//! Every change to a room goes through `services/write.rs`: no other file of the core calls
//! the store's room writes. A source check, so a new service cannot quietly add a second path.

// A test that cannot go on should stop loudly; expect is its assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

const ROOM_WRITES: &[&str] = &[
    "write_room",
    "add_members(",
    "add_members_counted(",
    "remove_member(",
    "remove_member_counted(",
    "update_subscription(",
    "insert_message(",
    "update_message(",
    "delete_message(",
    "set_reaction(",
    "create_room(",
    "update_room(",
    "delete_room(",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_the_write_path_writes_rooms() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut offenders = vec![];
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .to_string();
        // The contract itself, and the one path.
        if rel.starts_with("store") || rel == "services/write.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for call in ROOM_WRITES {
                if code.contains(&format!("store.{call}"))
                    || code.contains(&format!("store().{call}"))
                {
                    offenders.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "room writes outside services/write.rs:\n{}",
        offenders.join("\n")
    );
}
