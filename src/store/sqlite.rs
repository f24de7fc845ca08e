//! Embedded SQLite: the zero-install default.
//!
//! One write connection (writers queue in the pool instead of racing for SQLite's single write
//! lock and failing with SQLITE_BUSY) and a pool of read-only connections, in WAL mode so reads
//! never wait for writes.
//!
//! Writes go through `execute`/`fetch_all`, never `fetch_one`/`fetch_optional`: sqlx stops
//! those after the first row and resets the statement, so SQLite never reaches the point where it
//! auto-checkpoints, and the WAL grows without bound (measured: 400+ MB per 10 s of inserts).

use super::PoolSettings;
use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// Woken after each committed change, so this process's delivery worker starts at once.
    signal: std::sync::Arc<tokio::sync::Notify>,
    /// Seals and opens the secret columns (`sealed::PROTECTED_COLUMNS`).
    secrets: super::sealed::SecretCipher,
}

impl SqliteStore {
    pub async fn connect(
        url: &str,
        settings: &PoolSettings,
        secrets: super::sealed::SecretCipher,
    ) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| "invalid SQLite database URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a transaction is on disk before the client hears 2xx, even across a power
            // loss. NORMAL would be faster but may lose the last commits.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.clone())
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))?;
        Self::MIGRATOR.run(&write).await.context(
            "database migration failed; the server will not start on a half-migrated schema",
        )?;
        let read = SqlitePoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options.read_only(true))
            .await
            .with_context(|| format!("cannot open SQLite database {url} for reading"))?;
        let store = Self {
            read,
            write,
            signal: Default::default(),
            secrets,
        };
        if super::sealed::seal_plaintext(&store).await? {
            // The plaintext lingers in the freed space of the database file and in the WAL:
            // rebuild the file and empty the WAL, so that a copy of the files holds no trace.
            sqlx::query("VACUUM").execute(&store.write).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&store.write)
                .await?;
        }
        Ok(store)
    }

    /// The migrations this build carries.
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

    fn pools(&self) -> Vec<(&'static str, &SqlitePool)> {
        vec![("read", &self.read), ("write", &self.write)]
    }
}

super::sql::impl_store!(SqliteStore, sqlx::Sqlite);
super::vens::impl_ven_store!(SqliteStore, sqlx::Sqlite, "");
super::reports::impl_report_store!(SqliteStore, sqlx::Sqlite);
super::subscriptions::impl_subscription_store!(SqliteStore, sqlx::Sqlite, "");
// SQLite has one writer, so a claim is atomic by itself; PostgreSQL workers skip rows another
// replica is claiming at the same moment instead of waiting for them.
super::outbox::impl_outbox_store!(SqliteStore, sqlx::Sqlite, "");
super::energy::impl_energy_store!(SqliteStore, sqlx::Sqlite, "BEGIN IMMEDIATE", "");
super::bridge::impl_bridge_store!(SqliteStore, sqlx::Sqlite, "");
super::sealed::impl_secret_store!(SqliteStore, sqlx::Sqlite, "BEGIN IMMEDIATE", "");
