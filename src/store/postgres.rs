//! PostgreSQL: for production and for several replicas sharing one database.

use super::PoolSettings;
use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

pub struct PostgresStore {
    /// Reads and writes share one pool; PostgreSQL handles concurrent writers itself.
    read: PgPool,
    write: PgPool,
    /// Woken after each committed change, so this process's delivery worker starts at once.
    signal: std::sync::Arc<tokio::sync::Notify>,
    /// Seals and opens the secret columns (`sealed::PROTECTED_COLUMNS`).
    secrets: super::sealed::SecretCipher,
}

impl PostgresStore {
    pub async fn connect(
        url: &str,
        settings: &PoolSettings,
        secrets: super::sealed::SecretCipher,
    ) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect(url)
            .await
            .context("cannot connect to PostgreSQL")?;
        // sqlx holds an advisory lock while migrating, so replicas starting together migrate once.
        Self::MIGRATOR.run(&pool).await.context(
            "database migration failed; the server will not start on a half-migrated schema",
        )?;
        let store = Self {
            read: pool.clone(),
            write: pool,
            signal: Default::default(),
            secrets,
        };
        // Old row versions keep the plaintext until PostgreSQL vacuums them; a logical dump
        // never shows them (see the README on upgrading).
        super::sealed::seal_plaintext(&store).await?;
        Ok(store)
    }

    /// The migrations this build carries.
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    /// Reads and writes share one pool: reported once.
    fn pools(&self) -> Vec<(&'static str, &PgPool)> {
        vec![("main", &self.write)]
    }
}

super::sql::impl_store!(PostgresStore, sqlx::Postgres);
super::vens::impl_ven_store!(PostgresStore, sqlx::Postgres, " FOR UPDATE");
super::reports::impl_report_store!(PostgresStore, sqlx::Postgres);
super::subscriptions::impl_subscription_store!(PostgresStore, sqlx::Postgres, " FOR SHARE");
// SQLite has one writer, so a claim is atomic by itself; PostgreSQL workers skip rows another
// replica is claiming at the same moment instead of waiting for them.
super::outbox::impl_outbox_store!(PostgresStore, sqlx::Postgres, " FOR UPDATE SKIP LOCKED");
super::energy::impl_energy_store!(PostgresStore, sqlx::Postgres, "BEGIN", " FOR UPDATE");
super::bridge::impl_bridge_store!(PostgresStore, sqlx::Postgres, " FOR UPDATE SKIP LOCKED");
super::sealed::impl_secret_store!(PostgresStore, sqlx::Postgres, "BEGIN", " FOR UPDATE");
