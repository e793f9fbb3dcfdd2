//! Secrets at rest: the app's secret keys are sealed with AES-256-GCM under a key that is not in
//! the database (`SecretsKey`, from the operator's configuration), so a copy of the database
//! file, a backup or a row dump does not give away the keys that sign tokens and webhooks.
//!
//! A sealed value is `v1:` + base64(nonce ‖ ciphertext ‖ tag). The row's id is the associated
//! data: a sealed secret moved to another row does not open.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use huddle_core::Error;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// The 256-bit key that seals secrets at rest. Its `Debug` does not show it.
#[derive(Clone)]
pub struct SecretsKey(Key<Aes256Gcm>);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

impl SecretsKey {
    /// A fresh random key (the operating system's generator).
    pub fn generate() -> SecretsKey {
        SecretsKey(Aes256Gcm::generate_key(OsRng))
    }

    /// The key from its text form: 64 hex digits or the standard base64 of 32 bytes (surrounding
    /// whitespace ignored, so a file with a trailing newline reads). The error never quotes it.
    pub fn parse(text: &str) -> Result<SecretsKey, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| "not valid hex".to_string())?
        } else {
            STANDARD
                .decode(text)
                .map_err(|_| "expected 64 hex digits or the base64 of 32 bytes".to_string())?
        };
        if bytes.len() != 32 {
            return Err(format!(
                "expected a 256-bit key (32 bytes), got {} bytes",
                bytes.len()
            ));
        }
        Ok(SecretsKey(*Key::<Aes256Gcm>::from_slice(&bytes)))
    }

    /// The text form `parse` reads (hex), for writing a generated key to its file.
    pub fn to_text(&self) -> String {
        hex::encode(self.0.as_slice())
    }

    /// Seals `clear` for the row `id`.
    pub(crate) fn seal(&self, id: &str, clear: &str) -> Result<String, Error> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = Aes256Gcm::new(&self.0)
            .encrypt(
                &nonce,
                Payload {
                    msg: clear.as_bytes(),
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("sealing a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens what `seal` made for the row `id`. Fails (without saying more) on a wrong key, a
    /// tampered value or a value moved from another row.
    pub(crate) fn open(&self, id: &str, sealed: &str) -> Result<String, Error> {
        let wrong = || {
            Error::Unavailable(format!(
                "the secrets key does not open the stored secret key {id}: this is not the key \
                 the database was sealed with (check HUDDLE_SECRETS_KEY / secrets_key_file)"
            ))
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or_else(wrong)?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let clear = Aes256Gcm::new(&self.0)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(clear).map_err(|_| wrong())
    }
}

/// The error when a secret must be stored or read and no key was configured.
pub(crate) fn no_key() -> Error {
    Error::Unavailable(
        "no secrets key is configured, so app secret keys can be neither stored nor read \
         (set HUDDLE_SECRETS_KEY or secrets_key_file)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_row() {
        let key = SecretsKey::generate();
        let sealed = key.seal("k1", "sk_live_abc").unwrap();
        assert!(!sealed.contains("sk_live_abc"));
        assert_eq!(key.open("k1", &sealed).unwrap(), "sk_live_abc");
        // A fresh nonce each time: the same secret seals differently.
        assert_ne!(key.seal("k1", "sk_live_abc").unwrap(), sealed);
        assert!(key.open("k2", &sealed).is_err(), "moved to another row");
        assert!(
            SecretsKey::generate().open("k1", &sealed).is_err(),
            "another key"
        );
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(key.open("k1", &tampered).is_err(), "tampered");
        for junk in ["", "v1:", "v1:!!!", "sk_live_abc", "v1:AAAA"] {
            assert!(key.open("k1", junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_nothing_else() {
        let key = SecretsKey::generate();
        let again = SecretsKey::parse(&format!("{}\n", key.to_text())).unwrap();
        assert_eq!(again.0, key.0);
        let b64 = STANDARD.encode(key.0.as_slice());
        assert_eq!(SecretsKey::parse(&b64).unwrap().0, key.0);
        for bad in [
            "",
            "abc",
            &"0".repeat(62),
            &STANDARD.encode([7u8; 16]),
            "zz",
        ] {
            assert!(SecretsKey::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format!("{key:?}"), "SecretsKey(..)");
    }
}
