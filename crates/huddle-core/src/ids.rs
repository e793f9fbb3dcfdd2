//! Identifiers and secrets: Meteor-style random ids and login tokens, and how tokens are stored.

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Meteor's `Random.id` alphabet: no look-alike characters.
const UNMISTAKABLE: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";

/// A new 17-character id, the shape Rocket.Chat clients expect for `_id`.
pub fn new_id() -> String {
    let mut rng = rand::thread_rng();
    (0..17)
        .map(|_| UNMISTAKABLE[rng.gen_range(0..UNMISTAKABLE.len())] as char)
        .collect()
}

/// A new 17-character id of the same shape whose first 8 characters are the time of its making
/// (milliseconds, base 55 in the alphabet's own order, which is ASCII order) and whose other 9
/// count on from a random start within that millisecond (55^9, about 2^52). For rows written
/// at a high rate (messages, e-mail notifications): each new id sorts after every one this
/// process made before it, even within one millisecond (a batch of messages posted in one
/// request keeps its order wherever rows are ordered by time, then id), and an id's index grows
/// at its right edge, where a batch of writes shares one page, instead of taking a random page
/// per row. The time it shows is the message's own `ts`, shown beside it anyway.
pub fn new_sortable_id() -> String {
    static LAST: std::sync::Mutex<(u64, [u8; 9])> = std::sync::Mutex::new((0, [0; 9]));
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    // A clock that steps back keeps the last millisecond: ids never go backwards.
    let next = if ms > last.0 {
        (ms, random_digits())
    } else {
        (last.0, count_on(last.1).unwrap_or_else(random_digits))
    };
    *last = next;
    sortable_id(next.0, next.1)
}

/// Nine random digits (indexes into the alphabet), the first below half so that counting on
/// from them cannot run out within a millisecond.
fn random_digits() -> [u8; 9] {
    let mut rng = rand::thread_rng();
    let base = UNMISTAKABLE.len() as u8;
    let mut digits = [0u8; 9];
    for (i, d) in digits.iter_mut().enumerate() {
        *d = rng.gen_range(0..if i == 0 { base / 2 } else { base });
    }
    digits
}

/// The digits plus one; `None` past the last.
fn count_on(mut digits: [u8; 9]) -> Option<[u8; 9]> {
    let base = UNMISTAKABLE.len() as u8;
    for d in digits.iter_mut().rev() {
        if *d + 1 < base {
            *d += 1;
            return Some(digits);
        }
        *d = 0;
    }
    None
}

fn sortable_id(mut ms: u64, digits: [u8; 9]) -> String {
    let base = UNMISTAKABLE.len() as u64;
    let mut id = [0u8; 17];
    for slot in id[..8].iter_mut().rev() {
        *slot = UNMISTAKABLE[(ms % base) as usize];
        ms /= base;
    }
    for (slot, d) in id[8..].iter_mut().zip(digits) {
        *slot = UNMISTAKABLE[d as usize];
    }
    id.iter().map(|&b| b as char).collect()
}

/// A new login token (43 url-safe characters, 256 bits), shown to the client once.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An invite's id: 16 hex characters (Rocket.Chat's `randomBytes(8)`).
pub fn new_invite_id() -> String {
    let bytes: [u8; 8] = rand::thread_rng().gen();
    hex::encode(bytes)
}

/// An invite link's token: a random (version 4) UUID, as Rocket.Chat makes them; unrelated to
/// the invite's id, so knowing an invite's id (lists show it) never lets anyone in.
pub fn new_invite_token() -> String {
    let mut b: [u8; 16] = rand::thread_rng().gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// How a token is kept at rest: base64(sha256(token)), as Meteor's `_hashLoginToken` does, so a
/// database leak does not leak sessions.
pub fn hash_token(token: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(token.as_bytes()))
}

/// Lower-case hex sha-256, the digest Rocket.Chat clients send as `{digest, algorithm: "sha-256"}`.
pub fn sha256_hex(input: &str) -> String {
    Sha256::digest(input.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_meteor_shape() {
        let id = new_id();
        assert_eq!(id.len(), 17);
        assert!(id.bytes().all(|b| UNMISTAKABLE.contains(&b)));
        assert_ne!(new_id(), id);
    }

    #[test]
    fn sortable_ids_have_meteor_shape_and_sort_by_time() {
        // Made back to back (most within one millisecond): each sorts after the one before.
        let made: Vec<String> = (0..10_000).map(|_| new_sortable_id()).collect();
        for id in &made {
            assert_eq!(id.len(), 17);
            assert!(id.bytes().all(|b| UNMISTAKABLE.contains(&b)));
        }
        assert!(made.windows(2).all(|w| w[0] < w[1]));
        // The alphabet is in ASCII order, so later times give greater strings, across a carry
        // of every time digit too; and 8 digits of base 55 reach past the year 4000.
        assert!(UNMISTAKABLE.windows(2).all(|w| w[0] < w[1]));
        let at = |ms: u64| sortable_id(ms, [0; 9]);
        let times = [
            0,
            1,
            54,
            55,
            1_796_000_000_000,
            1_796_000_000_001,
            64_000_000_000_000,
        ];
        for pair in times.windows(2) {
            assert!(at(pair[0]) < at(pair[1]), "{pair:?}");
        }
        assert_eq!(at(0), "22222222222222222");
        // Counting on carries, and runs out only past the last digits.
        let mut d = [0u8; 9];
        d[8] = 54;
        assert_eq!(count_on(d), Some([0, 0, 0, 0, 0, 0, 0, 1, 0]));
        assert_eq!(count_on([54; 9]), None);
        assert!(random_digits()[0] < 27);
    }

    #[test]
    fn invite_tokens_are_uuids_apart_from_ids() {
        let t = new_invite_token();
        assert_eq!(t.len(), 36);
        assert_eq!(&t[14..15], "4");
        assert_ne!(new_invite_token(), t);
        let id = new_invite_id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn token_hash_is_stable_and_not_the_token() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert_eq!(hash_token(&t), hash_token(&t));
        assert_ne!(hash_token(&t), t);
    }
}
