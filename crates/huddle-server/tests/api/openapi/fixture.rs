//! The committed fixture `fixture/responses.json`: the response schemas the OpenAPI tests use,
//! extracted from Rocket.Chat's OpenAPI description (`shared/reference/rocketchat-openapi/*.yaml`,
//! beside the repository, or `HUDDLE_OPENAPI_DIR`) with `$ref`s inlined and converted to draft-4
//! JSON Schema. The tests read only the fixture, so a clone without `shared/` runs them.
//!
//! `the_fixture_is_what_the_description_gives` rebuilds it from the YAML and compares it with
//! the committed file; with `HUDDLE_OPENAPI_WRITE_FIXTURE=1` (what `scripts/openapi-fixture`
//! sets) it writes the file instead. When the default `shared/` folder is absent that one check
//! is skipped, since there is nothing to compare with; a `HUDDLE_OPENAPI_DIR` that is set must
//! exist.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::{resolve, to_json_schema};

/// Every response `responses.rs` looks up: `(method, path, status)`; it checks that its cases
/// use exactly these (and `parity.rs` likewise with its own list), so the fixture holds nothing
/// unused. A response the description
/// does not have is recorded as `null` (`/api/info`: its absence is itself checked).
pub const OPERATIONS: &[(&str, &str, u16)] = &[
    ("get", "/api/info", 200),
    ("get", "/api/v1/channels.info", 200),
    ("get", "/api/v1/channels.list", 200),
    ("get", "/api/v1/channels.list.joined", 200),
    ("get", "/api/v1/channels.members", 200),
    ("get", "/api/v1/chat.getMessageReadReceipts", 200),
    ("get", "/api/v1/chat.getMessageReadReceipts", 400),
    ("get", "/api/v1/directory", 200),
    ("get", "/api/v1/dm.list", 200),
    ("get", "/api/v1/groups.list", 200),
    ("get", "/api/v1/groups.members", 200),
    ("get", "/api/v1/groups.members", 400),
    ("get", "/api/v1/me", 200),
    ("get", "/api/v1/permissions.listAll", 200),
    ("get", "/api/v1/roles.list", 200),
    ("get", "/api/v1/rooms.get", 200),
    ("get", "/api/v1/rooms.info", 200),
    ("get", "/api/v1/rooms.info", 400),
    ("get", "/api/v1/settings.public", 200),
    ("get", "/api/v1/spotlight", 200),
    ("get", "/api/v1/subscriptions.get", 200),
    ("get", "/api/v1/users.info", 200),
    ("get", "/api/v1/users.info", 400),
    ("get", "/api/v1/users.list", 200),
    ("post", "/api/v1/channels.create", 200),
    ("post", "/api/v1/channels.invite", 200),
    ("post", "/api/v1/channels.invite", 401),
    ("post", "/api/v1/channels.kick", 200),
    ("post", "/api/v1/chat.postMessage", 200),
    ("post", "/api/v1/chat.postMessage", 400),
    ("post", "/api/v1/dm.create", 200),
    ("post", "/api/v1/dm.create", 400),
    ("post", "/api/v1/groups.create", 200),
    ("post", "/api/v1/groups.create", 400),
    ("post", "/api/v1/groups.invite", 200),
    ("post", "/api/v1/groups.invite", 400),
    ("post", "/api/v1/groups.invite", 401),
    ("post", "/api/v1/login", 200),
    ("post", "/api/v1/users.create", 200),
    ("post", "/api/v1/users.create", 400),
    ("get", "/api/v1/chat.getDeletedMessages", 200),
    ("get", "/api/v1/chat.getMentionedMessages", 200),
    ("get", "/api/v1/chat.getPinnedMessages", 200),
    ("get", "/api/v1/chat.getStarredMessages", 200),
    ("get", "/api/v1/chat.getThreadMessages", 200),
    ("get", "/api/v1/chat.getThreadsList", 200),
    ("get", "/api/v1/chat.search", 200),
    ("get", "/api/v1/chat.syncMessages", 200),
    ("get", "/api/v1/chat.syncThreadMessages", 200),
    ("get", "/api/v1/chat.syncThreadsList", 200),
    ("get", "/api/v1/channels.files", 200),
    ("get", "/api/v1/channels.getAllUserMentionsByChannel", 200),
    ("get", "/api/v1/channels.getIntegrations", 200),
    ("get", "/api/v1/channels.online", 200),
    ("get", "/api/v1/dm.files", 200),
    ("get", "/api/v1/dm.list.everyone", 200),
    ("get", "/api/v1/rooms.adminRooms", 200),
    ("get", "/api/v1/users.getPreferences", 200),
    ("post", "/api/v1/channels.setCustomFields", 200),
    ("post", "/api/v1/channels.setDefault", 200),
    ("post", "/api/v1/channels.setPurpose", 200),
    ("post", "/api/v1/chat.followMessage", 200),
    ("post", "/api/v1/chat.pinMessage", 200),
    ("post", "/api/v1/chat.react", 200),
    ("post", "/api/v1/chat.react", 400),
    ("post", "/api/v1/chat.reportMessage", 200),
    ("post", "/api/v1/chat.starMessage", 200),
    ("post", "/api/v1/chat.unPinMessage", 200),
    ("post", "/api/v1/dm.setTopic", 200),
    ("post", "/api/v1/groups.setEncrypted", 200),
    ("post", "/api/v1/rooms.cleanHistory", 200),
    ("post", "/api/v1/rooms.favorite", 200),
    ("post", "/api/v1/users.forgotPassword", 200),
    ("post", "/api/v1/users.resetAvatar", 200),
    ("post", "/api/v1/users.setPreferences", 200),
];

/// The files of the description that cover what Huddle speaks; each must be there.
const EXPECTED_FILES: &[&str] = &[
    "authentication.yaml",
    "messaging.yaml",
    "miscellaneous.yaml",
    "rooms.yaml",
    "settings.yaml",
    "user-management.yaml",
];

/// The fixture's key for one response.
pub fn key(method: &str, path: &str, status: u16) -> String {
    format!("{method} {path} {status}")
}

pub fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/openapi/fixture/responses.json")
}

/// Where the YAML is: `(dir, required)`. `HUDDLE_OPENAPI_DIR` is required to exist when set;
/// the default `shared/` beside the repository may be absent (a plain clone).
fn spec_dir() -> (PathBuf, bool) {
    match std::env::var("HUDDLE_OPENAPI_DIR") {
        Ok(dir) => (PathBuf::from(dir), true),
        Err(_) => (
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/reference/rocketchat-openapi"),
            false,
        ),
    }
}

/// Rocket.Chat's OpenAPI documents, as JSON, sorted by file name.
fn load_description(dir: &std::path::Path) -> Vec<(String, Value)> {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {} ({e})", dir.display()));
    let mut docs = Vec::new();
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read yaml");
        let doc: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        docs.push((name, doc));
    }
    docs.sort_by(|a, b| a.0.cmp(&b.0));
    for name in EXPECTED_FILES {
        assert!(
            docs.iter().any(|(file, _)| file == name),
            "{name} is missing from {}: Rocket.Chat's OpenAPI description is incomplete",
            dir.display()
        );
    }
    docs
}

/// The JSON Schema of one response's JSON body, or `null` when the description has none.
fn schema_of(docs: &[(String, Value)], method: &str, path: &str, status: u16) -> Value {
    let found = docs.iter().find_map(|(_, doc)| {
        let op = doc.get("paths")?.get(path)?.get(method)?;
        Some((doc, op))
    });
    let Some((doc, op)) = found else {
        return Value::Null;
    };
    let Some(response) = op.get("responses").and_then(|r| r.get(status.to_string())) else {
        return Value::Null;
    };
    let response = resolve(doc, response, 0);
    response
        .get("content")
        .and_then(|c| c.get("application/json"))
        .and_then(|c| c.get("schema"))
        .map(to_json_schema)
        .unwrap_or(Value::Null)
}

/// The fixture's text as the description gives it (pretty JSON, keys sorted, one trailing
/// newline), so a regeneration is byte-for-byte stable.
fn generate(dir: &std::path::Path) -> String {
    let docs = load_description(dir);
    let responses: BTreeMap<String, Value> = OPERATIONS
        .iter()
        .chain(super::parity::OPERATIONS)
        .chain(super::discussions::OPERATIONS)
        .map(|&(method, path, status)| {
            (
                key(method, path, status),
                schema_of(&docs, method, path, status),
            )
        })
        .collect();
    let fixture = json!({
        "source": "Rocket.Chat's OpenAPI description (shared/reference/rocketchat-openapi); \
                   response schemas with $refs inlined, as draft-4 JSON Schema. Generated by \
                   scripts/openapi-fixture: do not edit by hand.",
        "responses": responses,
    });
    let mut text = serde_json::to_string_pretty(&fixture).expect("serialize the fixture");
    text.push('\n');
    text
}

#[test]
fn the_fixture_is_what_the_description_gives() {
    let write = std::env::var("HUDDLE_OPENAPI_WRITE_FIXTURE").as_deref() == Ok("1");
    let (dir, required) = spec_dir();
    if !dir.is_dir() {
        assert!(
            !required && !write,
            "Rocket.Chat's OpenAPI description is missing: {} is not a directory",
            dir.display()
        );
        eprintln!(
            "skipped: {} is absent, so the committed fixture cannot be compared with it",
            dir.display()
        );
        return;
    }
    let fresh = generate(&dir);
    let path = fixture_path();
    if write {
        std::fs::create_dir_all(path.parent().expect("fixture dir")).expect("mkdir fixture");
        std::fs::write(&path, &fresh).expect("write the fixture");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} differs from what {} gives: run scripts/openapi-fixture and commit the result",
        path.display(),
        dir.display()
    );
}
