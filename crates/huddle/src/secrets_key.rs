//! Where the key that seals the app's secret keys at rest comes from (huddle-store's
//! `SecretsKey`). It must never sit in the database it protects, and every node of a cluster
//! needs the same one. In order:
//!
//! 1. `HUDDLE_SECRETS_KEY`: the key itself (64 hex digits or base64 of 32 bytes);
//! 2. `HUDDLE_SECRETS_KEY_FILE` or the config's `secrets_key_file`: a file holding it;
//! 3. otherwise `secrets.key` beside the SQLite database (whatever the configuration file, so the
//!    server and a `huddle admin` run with or without `--config` find the same key), or, for
//!    PostgreSQL, beside the configuration file.
//!
//! A key file that does not exist yet is generated (owner-only, 0600) on first start. With
//! PostgreSQL and neither a key nor a configuration file there is no safe place to generate one
//! (each node would make its own), so the server refuses to start and says what to set. An
//! in-memory SQLite database gets a key that lives as long as it does.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use huddle_store::SecretsKey;

/// The default key file's name, beside the configuration file or the SQLite database.
pub const DEFAULT_FILE: &str = "secrets.key";

/// What decides the key (see the module comment).
#[derive(Debug, Default, Clone)]
pub struct KeySource {
    /// `HUDDLE_SECRETS_KEY`.
    pub key: Option<String>,
    /// `HUDDLE_SECRETS_KEY_FILE`, else the config's `secrets_key_file` (relative to the
    /// configuration file's directory).
    pub file: Option<PathBuf>,
    /// The configuration file, if one was given.
    pub config: Option<PathBuf>,
}

/// The key for a database, generating its file on first start.
pub fn resolve(source: &KeySource, database_url: &str) -> anyhow::Result<SecretsKey> {
    if let Some(text) = source.key.as_deref().filter(|k| !k.trim().is_empty()) {
        return SecretsKey::parse(text).map_err(|e| anyhow::anyhow!("HUDDLE_SECRETS_KEY: {e}"));
    }
    let path = match (&source.file, sqlite_path(database_url), &source.config) {
        (Some(file), _, _) => file.clone(),
        (None, Some(None), _) => return Ok(SecretsKey::generate()),
        (None, Some(Some(db)), _) => dir_of(Path::new(&db)).join(DEFAULT_FILE),
        (None, None, Some(config)) => dir_of(config).join(DEFAULT_FILE),
        (None, None, None) => anyhow::bail!(
            "no secrets key: with a PostgreSQL database set HUDDLE_SECRETS_KEY (64 hex \
                 digits, the same on every node; `openssl rand -hex 32` makes one), \
                 HUDDLE_SECRETS_KEY_FILE, or secrets_key_file in a --config file"
        ),
    };
    read_or_generate(&path)
}

/// The directory a relative `secrets_key_file` of a configuration file is read from.
pub fn dir_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `Some(Some(path))` for a SQLite file, `Some(None)` for an in-memory SQLite database, `None`
/// for anything else.
fn sqlite_path(url: &str) -> Option<Option<String>> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || rest.contains("mode=memory") {
        return Some(None);
    }
    Some(Some(path.to_string()))
}

fn read_or_generate(path: &Path) -> anyhow::Result<SecretsKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_shared(path);
            SecretsKey::parse(&text)
                .map_err(|e| anyhow::anyhow!("secrets key file {}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => generate(path),
        Err(e) => Err(e).with_context(|| format!("reading secrets key file {}", path.display())),
    }
}

/// Writes a new key to `path`, owner-only. `create_new`: two processes starting at once do not
/// overwrite each other's key; the loser reads the winner's.
fn generate(path: &Path) -> anyhow::Result<SecretsKey> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = SecretsKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read_or_generate(path),
        Err(e) => {
            return Err(e).with_context(|| format!("creating secrets key file {}", path.display()))
        }
    };
    file.write_all(format!("{}\n", key.to_text()).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing secrets key file {}", path.display()))?;
    tracing::warn!(
        path = %path.display(),
        "generated a new secrets key: back it up apart from the database (without it the app's \
         secret keys in the database cannot be read)"
    );
    Ok(key)
}

/// A key file others can read defeats its purpose; said at every start until fixed.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the secrets key file is readable by other users: chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_generated_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/data/huddle.db", dir.path().display());
        let first = resolve(&KeySource::default(), &db).unwrap();
        let file = dir.path().join("data").join(DEFAULT_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = resolve(&KeySource::default(), &db).unwrap();
        assert_eq!(first.to_text(), again.to_text());
        // SQLite: beside the database even with a configuration file, so the server and a CLI
        // run without `--config` agree; PostgreSQL: beside the configuration file.
        let config = dir.path().join("etc").join("huddle.toml");
        let source = KeySource {
            config: Some(config),
            ..KeySource::default()
        };
        assert_eq!(resolve(&source, &db).unwrap().to_text(), first.to_text());
        let beside = resolve(&source, "postgres://u@h/db").unwrap();
        assert!(dir.path().join("etc").join(DEFAULT_FILE).exists());
        assert_ne!(beside.to_text(), first.to_text());
    }

    #[test]
    fn the_environment_wins_and_bad_keys_are_refused() {
        let key = SecretsKey::generate();
        let source = KeySource {
            key: Some(key.to_text()),
            file: Some(PathBuf::from("/nonexistent/never-read")),
            config: None,
        };
        assert_eq!(
            resolve(&source, "postgres://x/y").unwrap().to_text(),
            key.to_text()
        );
        let bad = KeySource {
            key: Some("short".into()),
            ..KeySource::default()
        };
        let e = resolve(&bad, "sqlite::memory:").unwrap_err().to_string();
        assert!(e.contains("HUDDLE_SECRETS_KEY"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        std::fs::write(&file, "not a key").unwrap();
        let from_file = KeySource {
            file: Some(file),
            ..KeySource::default()
        };
        assert!(resolve(&from_file, "sqlite::memory:").is_err());
    }

    #[test]
    fn postgres_without_a_key_or_config_refuses_to_guess() {
        let e = resolve(&KeySource::default(), "postgres://u@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("HUDDLE_SECRETS_KEY"), "{e}");
        // In-memory SQLite: a key for as long as the database lives, no file.
        assert!(resolve(&KeySource::default(), "sqlite::memory:").is_ok());
    }
}
