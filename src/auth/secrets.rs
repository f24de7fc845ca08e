//! Client secrets: generated with the OS RNG, stored only as argon2id hashes, verified on the
//! blocking thread pool, one per CPU at a time, so a burst of token requests can neither stall
//! the async runtime nor grow memory.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use std::sync::LazyLock;
use tokio::sync::Semaphore;

/// Argon2 (the crate's default, argon2id with 19 MiB) needs a fresh 19 MiB buffer per hash. At
/// most one hash per CPU runs at a time: more would not finish sooner, and a burst of token
/// requests would each hold a buffer (measured: 2.3 GB of RSS with 10 clients requesting tokens
/// non-stop). Waiting requests queue here without holding a thread.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Runs an argon2 computation on the blocking pool, one per CPU at a time.
async fn with_argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = HASHING.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

/// A fresh random secret: 32 bytes, base64url without padding (43 characters).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashes on the calling thread; use [`hash_secret`] from async code.
pub fn hash_secret_blocking(secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a secret failed: {e}"))
}

pub async fn hash_secret(secret: String) -> anyhow::Result<String> {
    with_argon2(move || hash_secret_blocking(&secret))
        .await
        .unwrap_or_else(|| Err(anyhow::anyhow!("hashing a secret was interrupted")))
}

/// Verified against when the client id is unknown, so that an unknown id costs the same time as a
/// wrong secret and response timing does not reveal which client ids exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_secret_blocking("no such client").expect("hashing a constant succeeds"));

/// Constant-time check of `secret` against a stored hash (`None`: unknown client).
pub async fn verify_secret(secret: String, stored_hash: Option<String>) -> bool {
    with_argon2(move || {
        let known = stored_hash.is_some();
        let hash = stored_hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .unwrap_or(false)
}
