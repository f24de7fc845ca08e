//! Storage behind one trait, with an embedded SQLite and a PostgreSQL implementation chosen at
//! runtime from the database URL.
//!
//! Objects are stored as the exact JSON the API returns (`body`), next to the columns that list
//! filters and sorting need. Lists are therefore spliced from stored text without re-parsing.
//! Every method takes the caller's tenant first: there is no way to ask for another tenant's rows.

mod postgres;
mod sql;
mod sqlite;

use crate::domain::TenantId;
use async_trait::async_trait;
use std::sync::Arc;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

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
    pub enabled: bool,
}

/// `(type, value)` pairs of an object's targets, flattened so they can be indexed.
pub type TargetPairs = Vec<(String, String)>;

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

#[derive(Debug, Clone, Copy)]
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
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub program_id: Option<String>,
    pub targets: TargetFilter,
    /// Inclusive lower bound of the requested period (Unix ms).
    pub window_start_ms: Option<i64>,
    /// Exclusive upper bound of the requested period (Unix ms).
    pub window_end_ms: Option<i64>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip to the database, for readiness.
    async fn ping(&self) -> StoreResult<()>;

    async fn count_clients(&self) -> StoreResult<i64>;
    /// Creates the tenant unless it exists.
    async fn ensure_tenant(&self, tenant: &TenantId) -> StoreResult<()>;
    /// `Duplicate` when the client id is taken.
    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()>;
    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>>;
    /// The shared HS256 signing secret: `candidate` is stored if none exists yet, and whichever
    /// value is stored first wins, so every replica signs with the same key.
    async fn signing_secret(&self, candidate: &str) -> StoreResult<String>;

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

/// Connection pool limits, from configuration.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection before it fails with 503.
    pub acquire_timeout: std::time::Duration,
}

/// Opens the database named by `url` and applies pending migrations. A failed migration is an
/// error: the server never runs on a half-migrated schema.
pub async fn connect(url: &str, settings: &PoolSettings) -> anyhow::Result<DynStore> {
    Ok(match Backend::from_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, settings).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url, settings).await?),
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
