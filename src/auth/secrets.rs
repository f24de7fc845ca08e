//! Client secrets: generated with the OS RNG, stored only as argon2id hashes, verified on the
//! blocking thread pool so a burst of token requests cannot stall the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;
use std::sync::LazyLock;

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
    tokio::task::spawn_blocking(move || hash_secret_blocking(&secret)).await?
}

/// Verified against when the client id is unknown, so that an unknown id costs the same time as a
/// wrong secret and response timing does not reveal which client ids exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_secret_blocking("no such client").expect("hashing a constant succeeds"));

/// Constant-time check of `secret` against a stored hash (`None`: unknown client).
pub async fn verify_secret(secret: String, stored_hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
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
