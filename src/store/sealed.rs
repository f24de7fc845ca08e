//! Secrets at rest: the columns that hold secrets are stored sealed (AES-256-GCM) or hashed, so a
//! database dump (or a copy of the SQLite file) alone yields none of them.
//!
//! - [`SecretCipher`] is a keyring of 32-byte keys with ids: the first seals, all open. It comes
//!   from `VTN_SECRET_KEYS` / `VTN_SECRET_KEYS_FILE` ([`resolve`]), or on SQLite with neither
//!   set from a key file beside the database, created on first start.
//! - A sealed value is `sealed:v1:<key id>:<base64(nonce || ciphertext)>` with a fresh random
//!   96-bit nonce per seal. The associated data ([`ProtectedColumn::aad`]) names the column and
//!   the row, so a sealed value copied to another row or column does not open.
//! - [`PROTECTED_COLUMNS`] lists every protected column in one place. The store seals and opens
//!   them transparently (services see plaintext); at every start it seals values still in
//!   plaintext (databases from before sealing), and `openadr3-vtn secrets reseal` re-seals
//!   everything with the current key after a rotation ([`SecretStore::seal_secrets`]).
//! - A secret that is only ever compared, never sent anywhere (the Voltus webhook path secret),
//!   is stored as a SHA-256 digest instead ([`Protection::Hashed`]): not even the keys open it.

use crate::store::{Backend, StoreResult};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::Context;
use async_trait::async_trait;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use rand::RngCore;
use std::path::{Path, PathBuf};

/// Start of every sealed value; the version names the format (AES-256-GCM, 96-bit nonce first).
pub const SEALED_PREFIX: &str = "sealed:v1:";
/// Start of every hashed value.
pub const DIGEST_PREFIX: &str = "sha256:";
const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
const MAX_KID_CHARS: usize = 32;

/// The keyring that seals and opens secrets. Never shows its keys (`Debug` lists the ids).
pub struct SecretCipher {
    /// Non-empty; the first seals.
    keys: Vec<SecretKey>,
}

struct SecretKey {
    kid: String,
    aead: Aes256Gcm,
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCipher")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a stored value did not open. Names the column and row (`at`), never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "{at}: sealed with secret key id '{kid}', which is not among the configured secret keys \
         (VTN_SECRET_KEYS / VTN_SECRET_KEYS_FILE, or the key file beside a SQLite database); \
         add that key after the current one, then run `openadr3-vtn secrets reseal`"
    )]
    UnknownKey { at: String, kid: String },
    #[error(
        "{at}: does not open with secret key '{kid}' (other key material under that id, or a \
         value altered or moved from another row)"
    )]
    Undecryptable { at: String, kid: String },
    #[error("{at}: not a sealed value (expected {SEALED_PREFIX}<key id>:<base64>)")]
    Malformed { at: String },
}

impl SecretCipher {
    /// Parses a key list: entries `<key id>:<base64 of 32 bytes>` separated by commas or
    /// whitespace (a mounted file may hold one per line). `setting` names where the text came
    /// from in every error; key material never appears in one.
    pub fn parse(text: &str, setting: &str) -> anyhow::Result<Self> {
        let mut keys: Vec<SecretKey> = Vec::new();
        let entries = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty());
        for (index, entry) in entries.enumerate() {
            let n = index + 1;
            let (kid, material) = entry.split_once(':').with_context(|| {
                format!("{setting}: entry {n} is not <key id>:<base64 of 32 bytes>")
            })?;
            check_kid(kid).with_context(|| format!("{setting}: entry {n}"))?;
            let bytes = STANDARD
                .decode(material)
                .or_else(|_| STANDARD_NO_PAD.decode(material))
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{setting}: key '{kid}' is not valid base64 (generate one with \
                         `openadr3-vtn secrets generate-key` or `openssl rand -base64 32`)"
                    )
                })?;
            anyhow::ensure!(
                bytes.len() == KEY_BYTES,
                "{setting}: key '{kid}' is {} bytes; AES-256 needs exactly {KEY_BYTES}",
                bytes.len()
            );
            anyhow::ensure!(
                keys.iter().all(|k| k.kid != kid),
                "{setting}: key id '{kid}' appears twice"
            );
            let aead = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| anyhow::anyhow!("{setting}: key '{kid}' is not an AES-256 key"))?;
            keys.push(SecretKey {
                kid: kid.to_owned(),
                aead,
            });
        }
        anyhow::ensure!(
            !keys.is_empty(),
            "{setting}: no key given (expected <key id>:<base64 of 32 bytes>, the current key first)"
        );
        Ok(Self { keys })
    }

    /// A keyring of one fresh random key, for a database that does not outlive the process
    /// (`sqlite::memory:`).
    pub fn ephemeral() -> Self {
        Self::parse(&generate_key_line("ephemeral"), "a generated key")
            .expect("a generated key parses")
    }

    /// Id of the key that seals.
    pub fn current_kid(&self) -> &str {
        &self.keys[0].kid
    }

    /// Ids of every key, the current one first.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Seals `plaintext` with the current key, bound to `aad` (from [`ProtectedColumn::aad`]).
    pub fn seal(&self, aad: &str, plaintext: &str) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: aad.as_bytes(),
        };
        let ciphertext = key
            .aead
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}:{}", key.kid, STANDARD.encode(sealed))
    }

    /// Opens a value made by [`Self::seal`] with the same `aad`, with whichever configured key
    /// sealed it.
    pub fn open(&self, aad: &str, sealed: &str) -> Result<String, SealError> {
        let malformed = || SealError::Malformed { at: aad.to_owned() };
        let (kid, data) = sealed_parts(sealed).ok_or_else(malformed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| SealError::UnknownKey {
                at: aad.to_owned(),
                kid: kid.to_owned(),
            })?;
        let bytes = STANDARD.decode(data).map_err(|_| malformed())?;
        if bytes.len() < NONCE_BYTES {
            return Err(malformed());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad: aad.as_bytes(),
        };
        let undecryptable = || SealError::Undecryptable {
            at: aad.to_owned(),
            kid: kid.to_owned(),
        };
        let plaintext = key
            .aead
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plaintext).map_err(|_| undecryptable())
    }
}

/// Key ids: 1 to 32 characters of A-Z, a-z, 0-9, `.`, `_` and `-` (they appear in every sealed
/// value, between colons).
fn check_kid(kid: &str) -> anyhow::Result<()> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_CHARS
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    anyhow::ensure!(
        ok,
        "key id '{}' must be 1 to {MAX_KID_CHARS} characters of A-Z, a-z, 0-9, '.', '_' and '-'",
        kid.chars().take(MAX_KID_CHARS + 1).collect::<String>()
    );
    Ok(())
}

/// `(key id, base64)` of a sealed value, `None` when it is not one.
fn sealed_parts(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(SEALED_PREFIX)?.split_once(':')
}

/// Whether `value` has the form of a sealed value (it may still fail to open).
pub fn is_sealed(value: &str) -> bool {
    sealed_parts(value).is_some()
}

/// The id of the key that sealed `value`, when it is a sealed value.
pub fn sealed_kid(value: &str) -> Option<&str> {
    sealed_parts(value).map(|(kid, _)| kid)
}

/// A new random key as one entry of `VTN_SECRET_KEYS`: `<kid>:<base64 of 32 bytes>`.
pub fn generate_key_line(kid: &str) -> String {
    let mut key = [0u8; KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{kid}:{}", STANDARD.encode(key))
}

/// How a protected column keeps its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// AES-256-GCM with the keyring: for secrets the server must send (keys, tokens).
    Sealed,
    /// SHA-256 digest ([`ProtectedColumn::digest`]): for secrets the server only compares.
    Hashed,
}

/// A column that holds a secret, and the columns that identify its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtectedColumn {
    pub table: &'static str,
    /// TEXT columns that identify the row (its primary or a unique key), in order. The
    /// values bind a sealed value to its row.
    pub key_columns: &'static [&'static str],
    /// The TEXT column holding the secret (NULL allowed: NULLs are left alone).
    pub column: &'static str,
    pub protection: Protection,
}

/// The private half of a token signing key (base64 PKCS#8), by `kid`.
pub const SIGNING_KEY_PRIVATE: ProtectedColumn = ProtectedColumn {
    table: "signing_keys",
    key_columns: &["kid"],
    column: "private_key",
    protection: Protection::Sealed,
};

/// A tenant's Voltus API key, by tenant.
pub const VOLTUS_API_KEY: ProtectedColumn = ProtectedColumn {
    table: "voltus_bridges",
    key_columns: &["tenant_id"],
    column: "api_key",
    protection: Protection::Sealed,
};

/// The secret segment of a tenant's inbound Voltus webhook path, by tenant. Only compared with
/// the path of incoming calls, so stored as a digest.
pub const VOLTUS_WEBHOOK_SECRET: ProtectedColumn = ProtectedColumn {
    table: "voltus_bridges",
    key_columns: &["tenant_id"],
    column: "webhook_secret",
    protection: Protection::Hashed,
};

/// A subscription's bearer tokens (JSON, by position in `objectOperations`), split out of its
/// body (see `domain::subscription::split_bearer_tokens`), by tenant and subscription id.
pub const SUBSCRIPTION_BEARER_TOKENS: ProtectedColumn = ProtectedColumn {
    table: "subscriptions",
    key_columns: &["tenant_id", "id"],
    column: "bearer_tokens",
    protection: Protection::Sealed,
};

/// The secret that signs a subscription's deliveries, by tenant and subscription id.
pub const SUBSCRIPTION_SIGNING_SECRET: ProtectedColumn = ProtectedColumn {
    table: "subscriptions",
    key_columns: &["tenant_id", "id"],
    column: "signing_secret",
    protection: Protection::Sealed,
};

/// Every protected column: sealed (or hashed) at startup when still in plaintext, re-sealed by
/// `openadr3-vtn secrets reseal`. A new secret column is added here, and its store code seals
/// on write and opens on read with [`ProtectedColumn::aad`] of the same key columns.
pub const PROTECTED_COLUMNS: &[ProtectedColumn] = &[
    SIGNING_KEY_PRIVATE,
    VOLTUS_API_KEY,
    VOLTUS_WEBHOOK_SECRET,
    SUBSCRIPTION_BEARER_TOKENS,
    SUBSCRIPTION_SIGNING_SECRET,
];

impl ProtectedColumn {
    /// `table.column`, as logs and `secrets reseal` name it.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    /// The associated data that binds a value to this column and to the row whose key columns
    /// hold `key` (in `key_columns` order): `table.column:["v1","v2"]`. The JSON array keeps
    /// `("a/b")` and `("a","b")` apart whatever the values contain.
    pub fn aad(&self, key: &[&str]) -> String {
        debug_assert_eq!(key.len(), self.key_columns.len(), "{}", self.name());
        format!(
            "{}.{}:{}",
            self.table,
            self.column,
            serde_json::to_string(key).unwrap_or_default()
        )
    }

    /// `sha256:<hex>` of `secret`, bound to the row like [`Self::aad`] (equal secrets of two
    /// tenants have different digests).
    pub fn digest(&self, key: &[&str], secret: &str) -> String {
        let mut input = self.aad(key).into_bytes();
        input.push(0);
        input.extend_from_slice(secret.as_bytes());
        let hash = ring::digest::digest(&ring::digest::SHA256, &input);
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("{DIGEST_PREFIX}{hex}")
    }

    /// Whether `candidate` is the secret whose digest is `stored`, in time independent of
    /// where they differ.
    pub fn digest_matches(&self, key: &[&str], candidate: &str, stored: &str) -> bool {
        let computed = self.digest(key, candidate);
        computed.len() == stored.len()
            && computed
                .bytes()
                .zip(stored.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }

    /// Whether a stored value of this column is already protected with `kids` (for sealed
    /// columns: sealed with one of them; for hashed ones: a digest).
    fn protected_with<'a>(&self, value: &str, mut kids: impl Iterator<Item = &'a str>) -> bool {
        match self.protection {
            Protection::Hashed => value.starts_with(DIGEST_PREFIX),
            Protection::Sealed => sealed_kid(value).is_some_and(|kid| kids.any(|k| k == kid)),
        }
    }
}

/// Where the secret keys come from (`VTN_SECRET_KEYS`, `VTN_SECRET_KEYS_FILE`).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySource<'a> {
    pub keys: Option<&'a str>,
    pub keys_file: Option<&'a Path>,
}

/// The keyring for the database at `database_url`: the configured keys; or, with none
/// configured, on SQLite the key file beside the database file (`<file>.key`, created with mode
/// 0600 on first use), so that a copy of the database file alone opens nothing. PostgreSQL
/// needs configured keys: several replicas must share them.
pub fn resolve(source: KeySource<'_>, database_url: &str) -> anyhow::Result<SecretCipher> {
    match (source.keys, source.keys_file) {
        (Some(_), Some(_)) => {
            anyhow::bail!("set one of VTN_SECRET_KEYS and VTN_SECRET_KEYS_FILE, not both")
        }
        (Some(keys), None) => SecretCipher::parse(keys, "VTN_SECRET_KEYS"),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("VTN_SECRET_KEYS_FILE: cannot read {}", path.display()))?;
            SecretCipher::parse(&text, &format!("VTN_SECRET_KEYS_FILE ({})", path.display()))
        }
        (None, None) => match Backend::from_url(database_url)? {
            Backend::Postgres => anyhow::bail!(
                "VTN_SECRET_KEYS or VTN_SECRET_KEYS_FILE is required with PostgreSQL: secrets are \
                 stored sealed, and every replica must share the keys (create one with \
                 `openadr3-vtn secrets generate-key`)"
            ),
            Backend::Sqlite => match sqlite_key_file(database_url)? {
                None => Ok(SecretCipher::ephemeral()),
                Some(path) => key_file(&path),
            },
        },
    }
}

/// `<database file>.key` for a SQLite URL, `None` for an in-memory database.
pub fn sqlite_key_file(database_url: &str) -> anyhow::Result<Option<PathBuf>> {
    use std::str::FromStr;
    if database_url.contains(":memory:") || database_url.contains("mode=memory") {
        return Ok(None);
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
        .context("invalid SQLite database URL")?;
    let mut path = options.get_filename().as_os_str().to_owned();
    path.push(".key");
    Ok(Some(PathBuf::from(path)))
}

/// Reads the key file, or creates it with a new random key. Written under a temporary name and
/// linked into place, so a process starting at the same moment reads either no file or a
/// complete one, and exactly one key wins.
fn key_file(path: &Path) -> anyhow::Result<SecretCipher> {
    let setting = format!("the secret key file {}", path.display());
    match std::fs::read_to_string(path) {
        Ok(text) => return SecretCipher::parse(&text, &setting),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {setting}")),
    }
    let kid = format!("local-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let line = generate_key_line(&kid);
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let temporary = PathBuf::from(temporary);
    write_private(&temporary, &format!("{line}\n"))
        .with_context(|| format!("cannot create {setting}"))?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => SecretCipher::parse(&line, &setting),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            SecretCipher::parse(&std::fs::read_to_string(path)?, &setting)
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {setting}")),
    }
}

/// Creates `path` readable and writable by its owner only, and syncs it to disk.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// What [`SecretStore::seal_secrets`] did to one column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SealCount {
    /// `table.column`.
    pub column: String,
    /// Plaintext values sealed (or hashed).
    pub sealed: u64,
    /// Values sealed with an older key, sealed again with the current one.
    pub resealed: u64,
}

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Seals (or hashes) every value of [`PROTECTED_COLUMNS`] still in plaintext; with
    /// `reseal`, also seals again every value sealed with another key than the current one.
    /// One transaction per column. Fails, leaving that column as it was, when a value is sealed
    /// with a key the keyring lacks or does not open.
    async fn seal_secrets(&self, reseal: bool) -> StoreResult<Vec<SealCount>>;
}

/// Seals what is still in plaintext, as every process does when it opens the database; logs
/// what it sealed. Returns whether it sealed anything.
pub(crate) async fn seal_plaintext(store: &impl SecretStore) -> anyhow::Result<bool> {
    let counts = store
        .seal_secrets(false)
        .await
        .map_err(anyhow::Error::from)
        .context("sealing the stored secrets failed")?;
    let mut any = false;
    for count in counts.iter().filter(|c| c.sealed > 0) {
        tracing::info!(column = %count.column, values = count.sealed, "sealed secrets stored in plaintext");
        any = true;
    }
    Ok(any)
}

/// What to store instead of `value` (a value of `column` in the row `key`), or `None` to leave
/// it: plaintext is sealed or hashed; with `reseal`, a value sealed with an older key is sealed
/// again with the current one.
pub(crate) fn replacement(
    cipher: &SecretCipher,
    column: &ProtectedColumn,
    key: &[&str],
    value: &str,
    reseal: bool,
) -> Result<Option<Replacement>, SealError> {
    let current = std::iter::once(cipher.current_kid());
    if column.protected_with(value, current) {
        return Ok(None);
    }
    match column.protection {
        Protection::Hashed => Ok(Some(Replacement::Protected(column.digest(key, value)))),
        Protection::Sealed if !is_sealed(value) => Ok(Some(Replacement::Protected(
            cipher.seal(&column.aad(key), value),
        ))),
        Protection::Sealed => {
            // Sealed with another key: it must open (a key missing from the keyring is an
            // error, not a value to leave behind); it is sealed again only when asked.
            let aad = column.aad(key);
            let plaintext = cipher.open(&aad, value)?;
            Ok(reseal.then(|| Replacement::Resealed(cipher.seal(&aad, &plaintext))))
        }
    }
}

pub(crate) enum Replacement {
    /// Plaintext, now sealed or hashed.
    Protected(String),
    /// Sealed with an older key, now with the current one.
    Resealed(String),
}

/// The SQL of [`SecretStore`], expanded once per backend: `$begin` starts a transaction that
/// reads before it writes (`BEGIN IMMEDIATE` on SQLite), `$lock` locks the rows read
/// (PostgreSQL: replicas starting together seal each value once).
macro_rules! impl_secret_store {
    ($store:ty, $db:ty, $begin:expr, $lock:expr) => {
        mod secret_store {
            use super::*;
            use crate::store::sealed::{
                replacement, ProtectedColumn, Replacement, SealCount, PROTECTED_COLUMNS,
                SEALED_PREFIX,
            };
            use crate::store::{StoreError, StoreResult};
            use sqlx::{QueryBuilder, Row};

            impl $store {
                /// Seals one column's values in one transaction.
                async fn seal_column(
                    &self,
                    column: &ProtectedColumn,
                    reseal: bool,
                ) -> StoreResult<SealCount> {
                    let mut tx = self.write.begin_with($begin).await?;
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT ");
                    for key in column.key_columns {
                        qb.push(format!("{key}, "));
                    }
                    qb.push(format!(
                        "{c} FROM {t} WHERE {c} IS NOT NULL",
                        c = column.column,
                        t = column.table
                    ));
                    // Only values that may need work are read: not those sealed with the current
                    // key (nor, at startup, with any configured key), nor digests.
                    let done: Vec<String> = match column.protection {
                        crate::store::sealed::Protection::Hashed => {
                            vec![crate::store::sealed::DIGEST_PREFIX.to_owned()]
                        }
                        crate::store::sealed::Protection::Sealed if reseal => {
                            vec![format!("{SEALED_PREFIX}{}:", self.secrets.current_kid())]
                        }
                        crate::store::sealed::Protection::Sealed => self
                            .secrets
                            .kids()
                            .map(|kid| format!("{SEALED_PREFIX}{kid}:"))
                            .collect(),
                    };
                    for prefix in &done {
                        qb.push(format!(
                            " AND substr({}, 1, {}) <> ",
                            column.column,
                            prefix.len()
                        ))
                        .push_bind(prefix.as_str());
                    }
                    qb.push($lock);
                    let rows = qb.build().fetch_all(&mut *tx).await?;
                    let mut count = SealCount {
                        column: column.name(),
                        sealed: 0,
                        resealed: 0,
                    };
                    let n = column.key_columns.len();
                    for row in &rows {
                        let key: Vec<String> = (0..n).map(|i| row.get::<String, _>(i)).collect();
                        let key: Vec<&str> = key.iter().map(String::as_str).collect();
                        let value: String = row.get(n);
                        let new = match replacement(&self.secrets, column, &key, &value, reseal)
                            .map_err(StoreError::Secret)?
                        {
                            None => continue,
                            Some(Replacement::Protected(new)) => {
                                count.sealed += 1;
                                new
                            }
                            Some(Replacement::Resealed(new)) => {
                                count.resealed += 1;
                                new
                            }
                        };
                        let mut update: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                            "UPDATE {} SET {} = ",
                            column.table, column.column
                        ));
                        update.push_bind(new).push(" WHERE ");
                        for (name, value) in column.key_columns.iter().zip(&key) {
                            update
                                .push(format!("{name} = "))
                                .push_bind(*value)
                                .push(" AND ");
                        }
                        // Unchanged since it was read (the row lock or SQLite's single writer
                        // make this hold; the guard keeps a concurrent change from being undone).
                        update
                            .push(format!("{} = ", column.column))
                            .push_bind(value.as_str());
                        update.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(count)
                }
            }

            impl $store {
                /// Moves the bearer tokens of subscription bodies stored before they had a
                /// column of their own into it, sealed (see `store::subscriptions::seal_body`).
                async fn split_subscription_tokens(&self) -> StoreResult<SealCount> {
                    let mut tx = self.write.begin_with($begin).await?;
                    let rows = sqlx::query(&format!(
                        "SELECT tenant_id, id, body FROM subscriptions WHERE bearer_tokens IS NULL \
                         AND body LIKE '%\"bearerToken\"%'{}",
                        $lock
                    ))
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut count = SealCount {
                        column: crate::store::sealed::SUBSCRIPTION_BEARER_TOKENS.name(),
                        sealed: 0,
                        resealed: 0,
                    };
                    for row in &rows {
                        let (tenant, id, body): (String, String, String) =
                            (row.get(0), row.get(1), row.get(2));
                        let tenant = crate::domain::TenantId(tenant);
                        let (stripped, tokens) =
                            crate::store::subscriptions::seal_body(&self.secrets, &tenant, &id, &body);
                        let Some(tokens) = tokens else { continue };
                        sqlx::query(
                            "UPDATE subscriptions SET body = $1, bearer_tokens = $2 \
                             WHERE tenant_id = $3 AND id = $4 AND bearer_tokens IS NULL",
                        )
                        .bind(stripped)
                        .bind(tokens)
                        .bind(tenant.as_str())
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                        count.sealed += 1;
                    }
                    tx.commit().await?;
                    Ok(count)
                }
            }

            #[async_trait::async_trait]
            impl crate::store::sealed::SecretStore for $store {
                async fn seal_secrets(&self, reseal: bool) -> StoreResult<Vec<SealCount>> {
                    let split = self.split_subscription_tokens().await?;
                    let mut counts = Vec::new();
                    for column in PROTECTED_COLUMNS {
                        counts.push(self.seal_column(column, reseal).await?);
                    }
                    if let Some(count) = counts.iter_mut().find(|c| c.column == split.column) {
                        count.sealed += split.sealed;
                    }
                    Ok(counts)
                }
            }
        }
    };
}

pub(crate) use impl_secret_store;

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(text: &str) -> SecretCipher {
        SecretCipher::parse(text, "TEST").unwrap()
    }

    fn error(text: &str) -> String {
        SecretCipher::parse(text, "VTN_SECRET_KEYS")
            .unwrap_err()
            .to_string()
    }

    const K1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K0: &str = "k0:HxwdHhsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn a_sealed_value_opens_with_its_aad_only() {
        let c = cipher(K1);
        let aad = SIGNING_KEY_PRIVATE.aad(&["kid-a"]);
        let sealed = c.seal(&aad, "private");
        assert!(sealed.starts_with("sealed:v1:k1:"), "{sealed}");
        assert!(!sealed.contains("private"));
        assert_eq!(c.open(&aad, &sealed).unwrap(), "private");
        // Another row, or another column with the same row key, does not open it.
        let other_row = SIGNING_KEY_PRIVATE.aad(&["kid-b"]);
        assert!(matches!(
            c.open(&other_row, &sealed),
            Err(SealError::Undecryptable { .. })
        ));
        let other_column = VOLTUS_API_KEY.aad(&["kid-a"]);
        assert!(c.open(&other_column, &sealed).is_err());
    }

    #[test]
    fn each_seal_has_a_fresh_nonce() {
        let c = cipher(K1);
        assert_ne!(c.seal("a", "same"), c.seal("a", "same"));
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let old = cipher(K0);
        let sealed_old = old.seal("a", "secret");
        let both = cipher(&format!("{K1},{K0}"));
        assert_eq!(both.current_kid(), "k1");
        assert_eq!(both.open("a", &sealed_old).unwrap(), "secret");
        assert!(both.seal("a", "x").starts_with("sealed:v1:k1:"));
        // Whitespace and newlines separate entries too (a mounted file).
        let file = cipher(&format!("{K1}\n{K0}\n"));
        assert_eq!(file.kids().collect::<Vec<_>>(), ["k1", "k0"]);
    }

    #[test]
    fn an_unknown_key_id_is_a_clear_error_without_the_value() {
        let sealed = cipher(K0).seal(&VOLTUS_API_KEY.aad(&["acme"]), "voltus-key");
        let err = cipher(K1)
            .open(&VOLTUS_API_KEY.aad(&["acme"]), &sealed)
            .unwrap_err();
        assert!(matches!(&err, SealError::UnknownKey { kid, .. } if kid == "k0"));
        let text = err.to_string();
        assert!(
            text.contains("voltus_bridges.api_key") && text.contains("'k0'"),
            "{text}"
        );
        assert!(!text.contains(&sealed[14..]), "{text}");
        assert!(matches!(
            cipher(K1).open("a", "plaintext"),
            Err(SealError::Malformed { .. })
        ));
        assert!(matches!(
            cipher(K1).open("a", "sealed:v1:k1:!!"),
            Err(SealError::Malformed { .. })
        ));
    }

    #[test]
    fn bad_key_lists_are_refused_naming_the_setting() {
        assert!(error("").contains("VTN_SECRET_KEYS: no key given"));
        assert!(error(" , ").contains("no key given"));
        assert!(error("k1").contains("entry 1 is not <key id>:"));
        assert!(error("k1:not base64!").contains("key 'k1' is not valid base64"));
        let short = error("k1:AAEC");
        assert!(short.contains("key 'k1' is 3 bytes"), "{short}");
        assert!(error(&format!("{K1},{K1}")).contains("key id 'k1' appears twice"));
        let kid = format!("{:#}", SecretCipher::parse("a b:AAEC", "S").unwrap_err());
        assert!(kid.contains("entry 1 is not"), "{kid}");
        let bad_kid = format!(
            "{:#}",
            SecretCipher::parse("k/1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "S")
                .unwrap_err()
        );
        assert!(bad_kid.contains("key id 'k/1' must be"), "{bad_kid}");
        // Key material never appears in an error.
        let long = error("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw==");
        assert!(!long.contains("AAECAwQF"), "{long}");
    }

    #[test]
    fn a_generated_key_line_parses() {
        let line = generate_key_line("k2");
        assert_eq!(cipher(&line).current_kid(), "k2");
        assert_ne!(line, generate_key_line("k2"));
        assert!(format!("{:?}", cipher(&line)).contains("k2"));
        assert!(!format!("{:?}", cipher(&line)).contains(&line[3..]));
    }

    #[test]
    fn digests_are_bound_to_the_row_and_compared_exactly() {
        let d = VOLTUS_WEBHOOK_SECRET.digest(&["acme"], "s3cret-path-0123456789");
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64, "{d}");
        assert!(!d.contains("s3cret"));
        assert!(VOLTUS_WEBHOOK_SECRET.digest_matches(&["acme"], "s3cret-path-0123456789", &d));
        assert!(!VOLTUS_WEBHOOK_SECRET.digest_matches(&["acme"], "s3cret-path-012345678", &d));
        assert!(!VOLTUS_WEBHOOK_SECRET.digest_matches(&["other"], "s3cret-path-0123456789", &d));
        assert_ne!(
            d,
            VOLTUS_WEBHOOK_SECRET.digest(&["other"], "s3cret-path-0123456789")
        );
    }

    #[test]
    fn aads_keep_row_keys_apart() {
        let column = ProtectedColumn {
            table: "t",
            key_columns: &["a", "b"],
            column: "c",
            protection: Protection::Sealed,
        };
        assert_ne!(column.aad(&["x/y", "z"]), column.aad(&["x", "y/z"]));
        assert_eq!(column.aad(&["x", "y"]), r#"t.c:["x","y"]"#);
    }

    #[test]
    fn replacement_seals_plaintext_and_reseals_only_when_asked() {
        let both = cipher(&format!("{K1},{K0}"));
        let old = cipher(K0).seal(&VOLTUS_API_KEY.aad(&["t"]), "key");
        let current = both.seal(&VOLTUS_API_KEY.aad(&["t"]), "key");
        let plain = replacement(&both, &VOLTUS_API_KEY, &["t"], "key", false).unwrap();
        assert!(
            matches!(plain, Some(Replacement::Protected(v)) if both.open(&VOLTUS_API_KEY.aad(&["t"]), &v).unwrap() == "key")
        );
        assert!(replacement(&both, &VOLTUS_API_KEY, &["t"], &old, false)
            .unwrap()
            .is_none());
        assert!(replacement(&both, &VOLTUS_API_KEY, &["t"], &current, true)
            .unwrap()
            .is_none());
        let resealed = replacement(&both, &VOLTUS_API_KEY, &["t"], &old, true).unwrap();
        assert!(
            matches!(resealed, Some(Replacement::Resealed(v)) if v.starts_with("sealed:v1:k1:"))
        );
        let unknown = cipher(K1);
        assert!(matches!(
            replacement(&unknown, &VOLTUS_API_KEY, &["t"], &old, true),
            Err(SealError::UnknownKey { .. })
        ));
        let hashed =
            replacement(&both, &VOLTUS_WEBHOOK_SECRET, &["t"], "path-secret", false).unwrap();
        assert!(
            matches!(hashed, Some(Replacement::Protected(v)) if v == VOLTUS_WEBHOOK_SECRET.digest(&["t"], "path-secret"))
        );
        let digest = VOLTUS_WEBHOOK_SECRET.digest(&["t"], "path-secret");
        assert!(
            replacement(&both, &VOLTUS_WEBHOOK_SECRET, &["t"], &digest, true)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn keys_resolve_from_one_setting_or_the_sqlite_key_file() {
        let both = resolve(
            KeySource {
                keys: Some(K1),
                keys_file: Some(Path::new("/nonexistent")),
            },
            "sqlite://x.db",
        );
        assert!(both.unwrap_err().to_string().contains("not both"));
        let pg = resolve(KeySource::default(), "postgres://localhost/vtn").unwrap_err();
        assert!(pg.to_string().contains("required with PostgreSQL"), "{pg}");
        let missing = resolve(
            KeySource {
                keys: None,
                keys_file: Some(Path::new("/nonexistent/keys")),
            },
            "postgres://localhost/vtn",
        )
        .unwrap_err();
        assert!(
            format!("{missing:#}").contains("VTN_SECRET_KEYS_FILE: cannot read /nonexistent/keys")
        );
        let memory = resolve(KeySource::default(), "sqlite::memory:").unwrap();
        assert_eq!(memory.current_kid(), "ephemeral");
        assert_eq!(
            sqlite_key_file("sqlite://dir/vtn.db?mode=rwc").unwrap(),
            Some(PathBuf::from("dir/vtn.db.key"))
        );
    }

    #[test]
    fn the_key_file_is_created_private_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vtn.db").display());
        let first = resolve(KeySource::default(), &url).unwrap();
        let path = dir.path().join("vtn.db.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = resolve(KeySource::default(), &url).unwrap();
        assert_eq!(first.current_kid(), again.current_kid());
        let sealed = first.seal("a", "secret");
        assert_eq!(again.open("a", &sealed).unwrap(), "secret");
        // Nothing else was left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
