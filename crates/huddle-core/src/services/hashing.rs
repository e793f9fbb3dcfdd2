//! Password hashing on a small fixed pool of threads that keep their Argon2 memory.
//!
//! Argon2 with the default parameters fills 19 MiB per hash. Run on tokio's blocking threads
//! (up to 512 of them, each with its own malloc arena), a burst of logins left one such buffer
//! in the arena of every thread that had run a hash: 300 logins, 8 at a time, kept the server at
//! ~1.1 GB resident, and it stayed there when idle. Here a fixed set of threads (one per core,
//! at most [`MAX_THREADS`]) each allocate their buffer once and reuse it for every hash, so the
//! memory for hashing is bounded by `threads × 19 MiB` whatever the load, and hashes beyond the
//! pool's width wait in its queue instead of competing for the same cores.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex, OnceLock};

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::{Error, Result};

/// More hashing threads than cores only queue in the kernel instead of here; more than four would
/// let a many-core host keep > 76 MiB for hashing alone, for logins no client waits on in bulk.
const MAX_THREADS: usize = 4;

/// A hash asking for more than this many blocks (a stored hash with unusual parameters) gets a
/// buffer of its own for that one call rather than growing the kept one.
const KEEP_BLOCKS: usize = Params::DEFAULT_M_COST as usize;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

fn queue() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, MAX_THREADS);
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("huddle-hash-{i}"))
                .spawn(move || worker(&rx));
            if let Err(e) = spawned {
                tracing::error!("could not start password hashing thread: {e}");
            }
        }
        Mutex::new(tx)
    })
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // The lock is held only while taking one job, never while hashing.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else { return };
        // A panicking hash drops its answer channel (the caller sees an error); the thread and
        // its memory stay for the next job.
        if catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            memory = Vec::new();
        }
    }
}

/// Runs `f` on a hashing thread with that thread's kept memory.
async fn run<R: Send + 'static>(
    f: impl FnOnce(&mut Vec<Block>) -> R + Send + 'static,
) -> Result<R> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |memory| {
        let _ = tx.send(f(memory));
    });
    let sent = match queue().lock() {
        Ok(q) => q.send(job),
        Err(poisoned) => poisoned.into_inner().send(job),
    };
    sent.map_err(|_| Error::Internal("password hashing threads are gone".into()))?;
    rx.await
        .map_err(|_| Error::Internal("password hashing failed".into()))
}

/// Hashes with `argon` into `out`, in the kept buffer when it is big enough to keep.
fn hash_into(
    argon: &Argon2<'_>,
    blocks: usize,
    memory: &mut Vec<Block>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    if blocks > KEEP_BLOCKS {
        let mut own = vec![Block::default(); blocks];
        return argon.hash_password_into_with_memory(password, salt, out, &mut own);
    }
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
}

/// A PHC string of `password` with Argon2id and the default parameters, as
/// `Argon2::default().hash_password` would write it.
pub(crate) async fn hash(password: String) -> Result<String> {
    run(move |memory| {
        let params = Params::default();
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .as_salt()
            .decode_b64(&mut salt_buf)
            .map_err(|e| Error::Internal(format!("argon2 salt: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        hash_into(
            &argon,
            params.block_count(),
            memory,
            password.as_bytes(),
            salt_bytes,
            &mut out,
        )
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params)
                .map_err(|e| Error::Internal(format!("argon2 params: {e}")))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| Error::Internal(format!("argon2: {e}")))?),
        };
        Ok(phc.to_string())
    })
    .await?
}

/// Whether `password` matches the PHC string `hash` (any Argon2 variant and parameters it
/// names). A malformed hash never matches.
pub(crate) async fn verify(hash: String, password: String) -> bool {
    run(move |memory| verify_with(&hash, password.as_bytes(), memory).unwrap_or(false))
        .await
        .unwrap_or(false)
}

fn verify_with(hash: &str, password: &[u8], memory: &mut Vec<Block>) -> Option<bool> {
    let phc = PasswordHash::new(hash).ok()?;
    let (salt, expected) = (phc.salt?, phc.hash?);
    let algorithm = Algorithm::try_from(phc.algorithm).ok()?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&phc).ok()?;
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).ok()?;
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    hash_into(
        &argon,
        params.block_count(),
        memory,
        password,
        salt_bytes,
        &mut out,
    )
    .ok()?;
    // `Output`'s equality is constant-time.
    Some(Output::new(&out).ok()? == expected)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        #[allow(clippy::expect_used)]
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn pool_hashes_verify_with_the_crate_and_back() {
        rt().block_on(async {
            let ours = hash("s3cret".into()).await.unwrap_or_default();
            assert!(
                ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{ours}"
            );
            let parsed = PasswordHash::new(&ours);
            assert!(parsed.is_ok());
            if let Ok(p) = parsed {
                assert!(Argon2::default().verify_password(b"s3cret", &p).is_ok());
                assert!(Argon2::default().verify_password(b"other", &p).is_err());
            }
            assert!(verify(ours.clone(), "s3cret".into()).await);
            assert!(!verify(ours, "s3cret ".into()).await);

            let salt = SaltString::generate(&mut OsRng);
            let theirs = Argon2::default()
                .hash_password(b"pw", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(verify(theirs.clone(), "pw".into()).await);
            assert!(!verify(theirs, "pW".into()).await);
        });
    }

    #[test]
    fn other_parameters_and_garbage() {
        rt().block_on(async {
            // Argon2i, fewer blocks and a longer output than ours: read from the string.
            let params = Params::new(4096, 3, 1, Some(40)).ok();
            let argon = params.map(|p| Argon2::new(Algorithm::Argon2i, Version::V0x13, p));
            let salt = SaltString::generate(&mut OsRng);
            let other = argon
                .and_then(|a| a.hash_password(b"pw", &salt).ok().map(|h| h.to_string()))
                .unwrap_or_default();
            assert!(other.starts_with("$argon2i$"), "{other}");
            assert!(verify(other.clone(), "pw".into()).await);
            assert!(!verify(other, "px".into()).await);
            assert!(!verify("not a hash".into(), "pw".into()).await);
            assert!(!verify(String::new(), String::new()).await);
            assert!(
                !verify(
                    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ".into(),
                    "pw".into()
                )
                .await
            );
        });
    }
}
