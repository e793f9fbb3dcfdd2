//! What the fuzzers share (built for tests and with the `fuzzing` feature, never into the
//! server): the seed corpora in `fuzz/corpus/`, the byte-level mutation the proptest fuzz tests
//! apply to them, and the checks of the token and signature parsers. Each check takes raw input,
//! runs the code under test and panics when a property breaks, so the proptest tests (in the
//! ordinary test run) and the cargo-fuzz targets (`fuzz/`, coverage-guided) test the same
//! thing with the same code.

use crate::services::app::{sign_user_id, signature_matches};

/// The app id and secret the token checks sign and verify with.
pub const APP: &str = "fuzz-app";
pub const SECRET: &str = "sk_fuzz";

/// Cases per proptest fuzz test: `HUDDLE_FUZZ_CASES` for a long run, else 2,000.
pub fn cases() -> u32 {
    std::env::var("HUDDLE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// The committed seeds of one target (`fuzz/corpus/<dir>/`), sorted; panics when there are none.
pub fn corpus(dir: &str) -> Vec<String> {
    let path = format!("{}/../../fuzz/corpus/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .filter_map(|e| {
            Some(String::from_utf8_lossy(&std::fs::read(e.ok()?.path()).ok()?).into_owned())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{path} holds no seed");
    out
}

/// Characters that reach parsers' nesting and quoting paths faster than random bytes.
pub const STRUCTURAL: &[u8] = b"{}[]\",:\\$&=%0-.";

/// `seed` with `edits` applied: each is (position, kind, byte) where kind 0 replaces, 1 inserts
/// the byte, 2 inserts a structural character, 3 deletes. Invalid UTF-8 is replaced, as a
/// text frame's would be refused before any parser saw it.
pub fn mutate(seed: &str, edits: &[(u16, u8, u8)]) -> String {
    let mut b = seed.as_bytes().to_vec();
    for &(pos, kind, byte) in edits {
        let at = if b.is_empty() {
            0
        } else {
            pos as usize % b.len()
        };
        match kind % 4 {
            0 if !b.is_empty() => b[at] = byte,
            1 => b.insert(at, byte),
            2 => b.insert(at, STRUCTURAL[byte as usize % STRUCTURAL.len()]),
            3 if !b.is_empty() => {
                b.remove(at);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// A genuine user token for `alice`, signed with `SECRET` (valid until 2100).
pub fn valid_token() -> String {
    let claims = serde_json::json!({"tokenType": "user", "sub": "alice", "iss": APP, "exp": 4_102_444_800u64});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap_or_default()
}

/// A token is verified without panicking, and whatever verifies carries the claims of the one
/// genuine token: no edit of it forges another subject or kind.
pub fn check_jwt(token: &str) {
    if let Ok(c) = crate::services::app::verify_jwt(APP, token, &[SECRET.to_string()]) {
        assert_eq!(c.sub.as_deref(), Some("alice"), "{token:?}");
        assert_eq!(c.token_type.as_deref(), Some("user"), "{token:?}");
    }
}

/// A user-id signature matches exactly when it is the true one (in any letter case).
pub fn check_signature(given: &str, user_id: &str) {
    let ok = signature_matches(SECRET, user_id, given);
    assert_eq!(
        ok,
        given.eq_ignore_ascii_case(&sign_user_id(SECRET, user_id)),
        "{given:?} for {user_id:?}"
    );
}
