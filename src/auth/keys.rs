//! EdDSA (Ed25519) token signing keys, generated and stored by the server, published as a JWKS.
//!
//! Rotation inserts a new key and retires the others: the newest unretired key signs from then
//! on, and a retired key keeps verifying until the last token it can have signed has expired.
//! Every replica reads the keys from the database, so a key rotated on one replica is picked up
//! by the others at their next refresh (at most [`REFRESH_EVERY`] later, or at once when a token
//! with an unknown `kid` arrives).

use crate::store::{DynStore, SigningKeyRecord};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

pub const ALGORITHM: &str = "EdDSA";
/// How often a replica re-reads the keys to pick up rotations made elsewhere.
const REFRESH_EVERY: Duration = Duration::from_secs(30);
/// An unknown `kid` triggers a reload at most this often (a flood of forged kids costs nothing).
const UNKNOWN_KID_RELOAD_EVERY: Duration = Duration::from_secs(1);
/// Tokens are checked with a few seconds of leeway; retired keys verify that much longer.
const EXPIRY_MARGIN_MS: i64 = 60_000;

struct Loaded {
    signing: Option<(String, EncodingKey)>,
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
    loaded_at: Instant,
}

pub struct KeyRing {
    store: DynStore,
    token_ttl: Duration,
    loaded: RwLock<Loaded>,
    /// When a token with an unknown `kid` last caused a reload.
    unknown_kid_reload: Mutex<Option<Instant>>,
}

/// A new Ed25519 key pair as stored.
fn generate() -> anyhow::Result<SigningKeyRecord> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| anyhow::anyhow!("generating an Ed25519 key failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("reading a new Ed25519 key failed"))?;
    let public_key = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let now_ms = chrono::Utc::now().timestamp_millis();
    Ok(SigningKeyRecord {
        kid: format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%d"),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ),
        algorithm: ALGORITHM.to_owned(),
        private_key: STANDARD.encode(pkcs8.as_ref()),
        public_key,
        created_at_ms: now_ms,
        retired_at_ms: None,
    })
}

/// Creates a new signing key and retires the others. Returns the new `kid`.
pub async fn rotate(store: &DynStore) -> anyhow::Result<String> {
    let key = generate()?;
    store.insert_signing_key(&key).await?;
    store
        .retire_signing_keys(&key.kid, key.created_at_ms)
        .await?;
    Ok(key.kid)
}

impl KeyRing {
    /// Loads the keys, creating the first one on a fresh database.
    pub async fn load(store: DynStore, token_ttl: Duration) -> anyhow::Result<Self> {
        let ring = Self {
            store,
            token_ttl,
            loaded: RwLock::new(Self::empty()),
            unknown_kid_reload: Mutex::new(None),
        };
        let records = ring.records().await?;
        if !records.iter().any(|k| k.retired_at_ms.is_none()) {
            // Two replicas starting together may both create one: both stay valid, the newer signs.
            ring.store.insert_signing_key(&generate()?).await?;
        }
        ring.reload().await?;
        Ok(ring)
    }

    fn empty() -> Loaded {
        Loaded {
            signing: None,
            verifying: HashMap::new(),
            jwks: json!({"keys": []}),
            loaded_at: Instant::now(),
        }
    }

    async fn records(&self) -> anyhow::Result<Vec<SigningKeyRecord>> {
        let horizon = chrono::Utc::now().timestamp_millis()
            - self.token_ttl.as_millis() as i64
            - EXPIRY_MARGIN_MS;
        Ok(self.store.list_signing_keys(horizon).await?)
    }

    /// Re-reads the keys from the database.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let records = self.records().await?;
        let mut loaded = Self::empty();
        let mut published = Vec::new();
        for record in &records {
            if record.algorithm != ALGORITHM {
                continue;
            }
            let decoding = DecodingKey::from_ed_components(&record.public_key)?;
            loaded.verifying.insert(record.kid.clone(), decoding);
            published.push(json!({
                "kty": "OKP", "crv": "Ed25519", "x": record.public_key,
                "kid": record.kid, "alg": ALGORITHM, "use": "sig",
            }));
            // Records come newest first: the first unretired one signs.
            if loaded.signing.is_none() && record.retired_at_ms.is_none() {
                let der = STANDARD.decode(&record.private_key)?;
                loaded.signing = Some((record.kid.clone(), EncodingKey::from_ed_der(&der)));
            }
        }
        loaded.jwks = json!({ "keys": published });
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    fn stale(&self, after: Duration) -> bool {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .loaded_at
            .elapsed()
            >= after
    }

    async fn refresh_if_older_than(&self, after: Duration) {
        if self.stale(after) {
            if let Err(e) = self.reload().await {
                // Keep serving with the keys we have; the next request tries again.
                tracing::warn!(error = %e, "reloading signing keys failed");
            }
        }
    }

    /// The key to sign with now, and its `kid`.
    pub async fn signing_key(&self) -> anyhow::Result<(String, EncodingKey)> {
        self.refresh_if_older_than(REFRESH_EVERY).await;
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .signing
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no active signing key; run `openadr3-vtn keys rotate`"))
    }

    /// The key that verifies tokens with this `kid`, if it is one of ours and still valid.
    pub async fn verifying_key(&self, kid: &str) -> Option<DecodingKey> {
        self.refresh_if_older_than(REFRESH_EVERY).await;
        if let Some(key) = self
            .loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .verifying
            .get(kid)
        {
            return Some(key.clone());
        }
        // Perhaps another replica rotated: reload, but not more than once per interval however
        // many unknown kids arrive.
        let may_reload = {
            let mut last = self
                .unknown_kid_reload
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= UNKNOWN_KID_RELOAD_EVERY);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if may_reload {
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "reloading signing keys failed");
            }
        }
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .verifying
            .get(kid)
            .cloned()
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub async fn jwks(&self) -> Value {
        self.refresh_if_older_than(REFRESH_EVERY).await;
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .jwks
            .clone()
    }
}
