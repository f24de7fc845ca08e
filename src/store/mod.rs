//! Storage behind one trait, with an embedded SQLite and a PostgreSQL implementation chosen at
//! runtime from the database URL.
//!
//! Objects are stored as the exact JSON the API returns (`body`), next to the columns that list
//! filters and sorting need. Lists are therefore spliced from stored text without re-parsing.
//! Every method takes the caller's tenant first: there is no way to ask for another tenant's rows.

mod bridge;
mod energy;
mod outbox;
mod postgres;
mod reports;
pub mod sealed;
mod sql;
mod sqlite;
mod subscriptions;
mod vens;

use crate::domain::TenantId;
use async_trait::async_trait;
use std::sync::Arc;

pub use bridge::*;
pub use energy::*;
pub use outbox::*;
pub use postgres::PostgresStore;
pub use reports::*;
pub use sqlite::SqliteStore;
pub use subscriptions::*;
pub use vens::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (duplicate name or id).
    #[error("duplicate value for a unique field")]
    Duplicate,
    /// A foreign key refused the write: the referenced row is missing, or rows still refer to it.
    #[error("a referenced object is missing, or other objects still refer to this one")]
    Reference,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A stored secret did not open (a key missing from the keyring, or an altered value).
    #[error(transparent)]
    Secret(#[from] sealed::SealError),
}

impl StoreError {
    pub(crate) fn classify(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return Self::Duplicate;
            }
            if db.is_foreign_key_violation() {
                return Self::Reference;
            }
        }
        Self::Database(err)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A client of the token endpoint, as stored.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    pub client_id: String,
    pub tenant: TenantId,
    /// Argon2 PHC string; never the secret itself.
    pub secret_hash: String,
    /// Space-separated scope names.
    pub scopes: String,
    /// `bl`, `ven` or `admin`: fixes which scopes the client may hold.
    pub role: String,
    /// The VEN a `ven` client is bound to.
    pub ven_name: Option<String>,
    /// False when the client or its tenant is disabled.
    pub enabled: bool,
    /// Random, set when the record is created: a client id deleted and created again gets a new
    /// one, so tokens of the old record (which carry it) no longer verify.
    pub instance_id: String,
}

/// What every request checks a local token against: the record its client id names now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientBinding {
    pub instance_id: String,
    pub tenant: TenantId,
    pub role: String,
    /// False when the client or its tenant is disabled.
    pub enabled: bool,
}

#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub id: TenantId,
    pub enabled: bool,
    pub created_at: String,
}

/// A token signing key pair, private half included: never leaves the server (stored sealed,
/// see [`sealed::SIGNING_KEY_PRIVATE`]; `Debug` leaves it out).
#[derive(Clone)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub algorithm: String,
    /// base64 PKCS#8 DER.
    pub private_key: String,
    /// base64url raw public key.
    pub public_key: String,
    pub created_at_ms: i64,
    pub retired_at_ms: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("public_key", &self.public_key)
            .field("created_at_ms", &self.created_at_ms)
            .field("retired_at_ms", &self.retired_at_ms)
            .finish_non_exhaustive()
    }
}

/// A tenant's own OAuth2/OIDC identity provider.
#[derive(Debug, Clone)]
pub struct IdentityProviderRecord {
    pub id: String,
    pub tenant: TenantId,
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    /// Claim holding scopes: a space-separated string or an array.
    pub scope_claim: String,
    /// Claim holding role names, mapped to scopes by `role_scopes`.
    pub roles_claim: Option<String>,
    /// JSON object: role name -> array of scope names.
    pub role_scopes: String,
    /// Claim naming the VEN a token is bound to (VEN tokens).
    pub ven_claim: Option<String>,
    /// How a token's role is decided: `bl`, `ven` or `mapped` (see `IdpRole`).
    pub role: String,
    /// JSON array: values of `roles_claim` that make a token business logic (`mapped`).
    pub bl_roles: String,
    /// JSON array: values of `roles_claim` that make a token a VEN's (`mapped`).
    pub ven_roles: String,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub tenant: Option<String>,
    pub target: String,
    /// JSON object with action-specific details (never a secret).
    pub detail: String,
}

/// A create, update or delete of an OpenADR object, recorded in the outbox in the write's own
/// transaction.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// Wire name: `PROGRAM`, `EVENT`, …
    pub object_type: &'a str,
    /// 3.0.1 spelling: `POST`, `PUT` or `DELETE`.
    pub operation: &'a str,
    pub object_id: &'a str,
    /// Owning VEN name of reports and subscriptions (who besides business logic may see them).
    pub owner: Option<&'a str>,
    /// The object as stored (for a delete: as it was).
    pub body: &'a str,
}

/// An object table, for the shared delete path.
#[derive(Debug, Clone, Copy)]
pub struct ObjectTable {
    pub table: &'static str,
    /// Wire name of the object type stored in it.
    pub object_type: &'static str,
    /// Whether it has an `owner` column (reports, subscriptions).
    pub has_owner: bool,
    /// Condition (SQL, starting with ` AND`) that rows the API still sees meet; empty for all.
    pub live: &'static str,
}

pub use crate::domain::audience::{TargetPairs, VenAudience};

pub struct ProgramRow {
    pub id: String,
    pub program_name: String,
    pub targets: TargetPairs,
    /// The program exactly as the API returns it.
    pub body: String,
}

pub struct EventRow {
    pub id: String,
    pub program_id: String,
    /// Active window in Unix milliseconds; `None` start = unknown, `None` end = open-ended.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub targets: TargetPairs,
    pub body: String,
}

/// `targetType` / `targetValues` query filter. An object matches when one of its targets has the
/// type (if given) and one of the values (if any given).
#[derive(Debug, Clone, Default)]
pub struct TargetFilter {
    pub target_type: Option<String>,
    pub target_values: Vec<String>,
}

impl TargetFilter {
    pub fn is_empty(&self) -> bool {
        self.target_type.is_none() && self.target_values.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: i64,
    pub limit: i64,
}

impl Default for Page {
    /// The first page of the 3.0.1 maximum size, 50.
    fn default() -> Self {
        Page { skip: 0, limit: 50 }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProgramFilter {
    pub targets: TargetFilter,
    /// Only this program (a get by id with the same visibility as the list).
    pub id: Option<String>,
    /// Set for VEN clients: only what targets the VEN, or has no targets.
    pub visibility: Option<VenVisibility>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub program_id: Option<String>,
    /// Only this event (a get by id with the same visibility as the list).
    pub id: Option<String>,
    /// Set for VEN clients: only what targets the VEN, or has no targets.
    pub visibility: Option<VenVisibility>,
    pub targets: TargetFilter,
    /// Inclusive lower bound of the requested period (Unix ms).
    pub window_start_ms: Option<i64>,
    /// Exclusive upper bound of the requested period (Unix ms).
    pub window_end_ms: Option<i64>,
}

#[async_trait]
pub trait Store:
    VenStore
    + ReportStore
    + SubscriptionStore
    + OutboxStore
    + EnergyStore
    + BridgeStore
    + sealed::SecretStore
    + Send
    + Sync
    + 'static
{
    /// Cheap round trip to the database, for readiness.
    async fn ping(&self) -> StoreResult<()>;
    /// Whether every migration this build carries is applied (successfully), for readiness: a
    /// database restored from an older backup, or a failed migration, makes the replica unready.
    async fn migrations_current(&self) -> StoreResult<bool>;
    /// The connection pools and their use, for metrics.
    fn pool_stats(&self) -> Vec<PoolStats>;

    async fn count_clients(&self) -> StoreResult<i64>;
    /// Creates the tenant unless it exists.
    async fn ensure_tenant(&self, tenant: &TenantId) -> StoreResult<()>;
    /// `Duplicate` when the client id is taken.
    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;
    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    /// The record a client id names now, with the enabled state of client and tenant together,
    /// in one query: checked on every request, so a disabled, deleted or re-created client's
    /// tokens stop working at once.
    async fn client_binding(&self, client_id: &str) -> StoreResult<Option<ClientBinding>>;
    async fn list_clients(&self, tenant: Option<&TenantId>) -> StoreResult<Vec<ClientRecord>>;
    async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> StoreResult<bool>;
    async fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str)
        -> StoreResult<bool>;
    async fn delete_client(&self, client_id: &str) -> StoreResult<bool>;

    /// `Duplicate` when the tenant exists.
    async fn create_tenant(&self, tenant: &TenantId) -> StoreResult<()>;
    async fn list_tenants(&self) -> StoreResult<Vec<TenantRecord>>;
    async fn set_tenant_enabled(&self, tenant: &TenantId, enabled: bool) -> StoreResult<bool>;
    /// Deletes the tenant with everything it owns (objects, clients, identity providers).
    async fn delete_tenant(&self, tenant: &TenantId) -> StoreResult<bool>;

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Keys not retired, or retired after `retired_after_ms`, newest first.
    async fn list_signing_keys(&self, retired_after_ms: i64) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Marks every key except `keep_kid` retired at `at_ms` (keys retired earlier keep their time).
    async fn retire_signing_keys(&self, keep_kid: &str, at_ms: i64) -> StoreResult<()>;

    /// `Duplicate` when another provider has the same issuer.
    async fn insert_identity_provider(&self, idp: &IdentityProviderRecord) -> StoreResult<()>;
    async fn list_identity_providers(
        &self,
        tenant: Option<&TenantId>,
    ) -> StoreResult<Vec<IdentityProviderRecord>>;
    async fn delete_identity_provider(&self, id: &str) -> StoreResult<bool>;

    async fn insert_audit(&self, entry: &AuditRecord) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(
        &self,
        tenant: Option<&TenantId>,
        page: Page,
    ) -> StoreResult<Vec<AuditRecord>>;

    /// Enabled state of a tenant, `None` when it does not exist.
    async fn tenant_enabled(&self, tenant: &TenantId) -> StoreResult<Option<bool>>;

    /// `Duplicate` when the program name is taken in the tenant.
    async fn insert_program(&self, tenant: &TenantId, row: &ProgramRow) -> StoreResult<()>;
    async fn get_program(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>>;
    async fn list_programs(
        &self,
        tenant: &TenantId,
        filter: &ProgramFilter,
        page: Page,
    ) -> StoreResult<Vec<String>>;
    /// `false` when no such program exists.
    async fn update_program(&self, tenant: &TenantId, row: &ProgramRow) -> StoreResult<bool>;
    /// The deleted body, `None` when missing; `Reference` while events still belong to it.
    async fn delete_program(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>>;

    /// `Reference` when the program does not exist in the tenant.
    async fn insert_event(&self, tenant: &TenantId, row: &EventRow) -> StoreResult<()>;
    /// Bulk load: inserts many events in one transaction with multi-row statements, and records
    /// no notifications (an import is not a change anyone subscribed to). For seeding benchmarks
    /// and migrating from another VTN; `Reference` when a program does not exist.
    async fn import_events(&self, tenant: &TenantId, rows: &[EventRow]) -> StoreResult<()>;
    async fn get_event(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>>;
    async fn list_events(
        &self,
        tenant: &TenantId,
        filter: &EventFilter,
        page: Page,
    ) -> StoreResult<Vec<String>>;
    async fn update_event(&self, tenant: &TenantId, row: &EventRow) -> StoreResult<bool>;
    async fn delete_event(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>>;
}

pub type DynStore = Arc<dyn Store>;

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!("unsupported database URL: expected sqlite://PATH or postgres://…")
        }
    }
}

/// One connection pool's figures, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `read` and `write` on SQLite, `main` on PostgreSQL.
    pub name: &'static str,
    /// Open connections (idle or in use).
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Whether every version in `embedded` appears in `applied` as `(version, success)` with success.
pub(crate) fn all_applied(embedded: impl Iterator<Item = i64>, applied: &[(i64, bool)]) -> bool {
    let done: std::collections::HashSet<i64> = applied
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(v, _)| *v)
        .collect();
    applied.iter().all(|(_, ok)| *ok) && embedded.into_iter().all(|v| done.contains(&v))
}

/// Connection pool limits, from configuration.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails with 503.
    pub acquire_timeout: std::time::Duration,
}

/// Opens the database named by `url`, applies pending migrations and seals secrets still stored
/// in plaintext (databases from before sealing). A failed migration is an error: the server
/// never runs on a half-migrated schema; so is a secret sealed with a key `secrets` lacks.
pub async fn connect(
    url: &str,
    settings: &PoolSettings,
    secrets: sealed::SecretCipher,
) -> anyhow::Result<DynStore> {
    Ok(match Backend::from_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, settings, secrets).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url, settings, secrets).await?),
    })
}

/// Joins stored JSON bodies into a JSON array without parsing them.
pub fn json_array(bodies: &[String]) -> String {
    let mut out = String::with_capacity(bodies.iter().map(|b| b.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, body) in bodies.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(body);
    }
    out.push(']');
    out
}
