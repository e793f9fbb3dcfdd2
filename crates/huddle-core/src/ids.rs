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

/// A new login token (43 url-safe characters, 256 bits), shown to the client once.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::thread_rng().gen();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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
    fn token_hash_is_stable_and_not_the_token() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert_eq!(hash_token(&t), hash_token(&t));
        assert_ne!(hash_token(&t), t);
    }
}
