//! Storage of the Voltus bridge: per-tenant configuration with the poll lease and health
//! counters, the dispatch → event mapping, and the telemetry outbox.
//!
//! Idempotence rests on two keys: `voltus_dispatch_events (tenant, dispatch, site)` is written
//! before its event and fixes the event's id, and `events (tenant, id)` refuses a second event
//! with that id. A restart, a repeated poll, a webhook racing a poll or two replicas therefore
//! never create two events for one dispatch and site.

use super::StoreResult;
use crate::domain::TenantId;
use async_trait::async_trait;

/// A tenant's bridge configuration. `api_key` is a secret: never listed or logged, stored sealed
/// (the store seals and opens it, see [`crate::store::sealed::VOLTUS_API_KEY`]).
#[derive(Clone)]
pub struct VoltusConfigRecord {
    pub tenant: TenantId,
    pub base_url: String,
    pub api_key: String,
    pub program_name: Option<String>,
    pub site_target: String,
    pub target_type: String,
    pub poll_interval_ms: i64,
    pub test_dispatches: String,
    pub cancellation: String,
    /// Digest of the inbound webhook path's secret, made with
    /// [`crate::store::sealed::VOLTUS_WEBHOOK_SECRET`]`.digest`: the secret itself is not kept.
    pub webhook_secret_hash: String,
    pub telemetry: bool,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// Failed polls in a row (for the backoff); read-only here.
    pub consecutive_failures: i32,
}

impl std::fmt::Debug for VoltusConfigRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoltusConfigRecord")
            .field("tenant", &self.tenant)
            .field("base_url", &self.base_url)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Health of a tenant's bridge.
#[derive(Debug, Clone, Default)]
pub struct VoltusStatusRecord {
    pub next_poll_ms: i64,
    pub last_poll_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub consecutive_failures: i32,
    pub counters: VoltusCounters,
    pub dispatches: i64,
    pub telemetry_pending: i64,
    pub telemetry_sent: i64,
    pub telemetry_failed: i64,
}

/// Counters, added up across replicas in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoltusCounters {
    pub polls: i64,
    pub poll_failures: i64,
    pub events_created: i64,
    pub events_updated: i64,
    pub events_cancelled: i64,
    pub dispatches_malformed: i64,
    pub dispatches_stale: i64,
    pub tests_skipped: i64,
    pub webhooks_received: i64,
}

impl VoltusCounters {
    pub fn add(&mut self, other: &VoltusCounters) {
        self.polls += other.polls;
        self.poll_failures += other.poll_failures;
        self.events_created += other.events_created;
        self.events_updated += other.events_updated;
        self.events_cancelled += other.events_cancelled;
        self.dispatches_malformed += other.dispatches_malformed;
        self.dispatches_stale += other.dispatches_stale;
        self.tests_skipped += other.tests_skipped;
        self.webhooks_received += other.webhooks_received;
    }
}

/// The last applied version of a dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchState {
    pub dispatch_id: String,
    pub modification_number: Option<i64>,
    pub fingerprint: String,
    pub authorized: bool,
    pub test: bool,
    pub raw: String,
}

/// How a poll ended, for the status.
#[derive(Debug, Clone)]
pub enum PollOutcome {
    /// No poll was due (only telemetry ran).
    None,
    Success,
    Failure(String),
}

/// A stored report of a bridged event, not yet turned into telemetry.
#[derive(Debug, Clone)]
pub struct UnforwardedReport {
    pub report_id: String,
    pub site_id: String,
    pub body: String,
}

/// One telemetry point (`value_kw` average over the interval ending at `end_ms`).
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryPoint {
    pub site_id: String,
    pub end_ms: i64,
    pub interval_seconds: i32,
    pub value_kw: f64,
}

#[derive(Debug, Clone)]
pub struct TelemetryRow {
    pub seq: i64,
    pub point: TelemetryPoint,
    pub attempts: i32,
}

#[derive(Debug, Clone)]
pub enum TelemetryOutcome {
    Sent,
    Retry { next_attempt_ms: i64, error: String },
    Failed { error: String },
}

#[async_trait]
pub trait BridgeStore: Send + Sync {
    /// Creates or replaces the tenant's configuration (its health is kept) and makes a poll due.
    /// `Reference` when the tenant does not exist.
    async fn put_voltus_config(&self, config: &VoltusConfigRecord) -> StoreResult<()>;
    async fn get_voltus_config(&self, tenant: &TenantId)
        -> StoreResult<Option<VoltusConfigRecord>>;
    /// Removes the configuration (the mapping stays, so a new configuration creates no duplicates).
    async fn delete_voltus_config(&self, tenant: &TenantId) -> StoreResult<bool>;
    async fn voltus_status(&self, tenant: &TenantId) -> StoreResult<Option<VoltusStatusRecord>>;

    /// Leases up to `limit` enabled bridges of enabled tenants whose poll is due and that no live
    /// worker holds.
    async fn claim_voltus_bridges(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<VoltusConfigRecord>>;
    /// Records a pass: the poll's outcome, counters, the next poll; gives the lease back.
    async fn finish_voltus_pass(
        &self,
        worker: &str,
        tenant: &TenantId,
        now_ms: i64,
        next_poll_ms: i64,
        outcome: &PollOutcome,
        counters: &VoltusCounters,
    ) -> StoreResult<()>;
    /// Adds to the counters (work done outside a pass, e.g. for an inbound webhook).
    async fn add_voltus_counters(
        &self,
        tenant: &TenantId,
        counters: &VoltusCounters,
    ) -> StoreResult<()>;
    async fn release_voltus_leases(&self, worker: &str) -> StoreResult<()>;

    async fn get_voltus_dispatch(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
    ) -> StoreResult<Option<DispatchState>>;
    async fn save_voltus_dispatch(
        &self,
        tenant: &TenantId,
        state: &DispatchState,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// `(site id, event id)` of a dispatch's events.
    async fn voltus_dispatch_events(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
    ) -> StoreResult<Vec<(String, String)>>;
    /// The event id of a dispatch's site: the existing one, or `candidate` stored now.
    async fn reserve_voltus_event(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
        site_id: &str,
        candidate: &str,
    ) -> StoreResult<String>;
    /// Id of the tenant's program with that name.
    async fn program_id_by_name(
        &self,
        tenant: &TenantId,
        program_name: &str,
    ) -> StoreResult<Option<String>>;

    /// Reports of bridged events not yet forwarded, oldest first.
    async fn unforwarded_voltus_reports(
        &self,
        tenant: &TenantId,
        limit: i64,
    ) -> StoreResult<Vec<UnforwardedReport>>;
    /// Enqueues a report's points (a point already queued is kept as it is) and marks the report
    /// forwarded, atomically. Returns how many points were new.
    async fn enqueue_voltus_telemetry(
        &self,
        tenant: &TenantId,
        report_id: &str,
        points: &[TelemetryPoint],
        now_ms: i64,
    ) -> StoreResult<u64>;
    async fn due_voltus_telemetry(
        &self,
        tenant: &TenantId,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<TelemetryRow>>;
    async fn finish_voltus_telemetry(
        &self,
        tenant: &TenantId,
        seqs: &[i64],
        outcome: &TelemetryOutcome,
        now_ms: i64,
    ) -> StoreResult<()>;
}

/// The SQL of [`BridgeStore`], expanded once per backend; `$lock` as in `impl_outbox_store!`.
macro_rules! impl_bridge_store {
    ($store:ty, $db:ty, $lock:expr) => {
        mod bridge_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::store::{
                DispatchState, PollOutcome, StoreError, StoreResult, TelemetryOutcome, TelemetryPoint, TelemetryRow,
                UnforwardedReport, VoltusConfigRecord, VoltusCounters, VoltusStatusRecord,
            };
            use crate::store::sealed::VOLTUS_API_KEY;
            use sqlx::{QueryBuilder, Row};

            const CONFIG_COLUMNS: &str = "tenant_id, base_url, api_key, program_name, site_target, target_type, \
                 poll_interval_ms, test_dispatches, cancellation, webhook_secret, telemetry, enabled, created_at, \
                 updated_at, consecutive_failures";

            /// A configuration row, its API key opened.
            fn config(
                secrets: &crate::store::sealed::SecretCipher,
                row: &<$db as sqlx::Database>::Row,
            ) -> StoreResult<VoltusConfigRecord> {
                let tenant: String = row.get(0);
                let api_key: String = row.get(2);
                Ok(VoltusConfigRecord {
                    api_key: secrets.open(&VOLTUS_API_KEY.aad(&[&tenant]), &api_key)?,
                    tenant: TenantId(tenant),
                    base_url: row.get(1),
                    program_name: row.get(3),
                    site_target: row.get(4),
                    target_type: row.get(5),
                    poll_interval_ms: row.get(6),
                    test_dispatches: row.get(7),
                    cancellation: row.get(8),
                    webhook_secret_hash: row.get(9),
                    telemetry: row.get(10),
                    enabled: row.get(11),
                    created_at: row.get(12),
                    updated_at: row.get(13),
                    consecutive_failures: row.get(14),
                })
            }

            const COUNTER_SET: &str = "polls = polls + $1, poll_failures = poll_failures + $2, \
                 events_created = events_created + $3, events_updated = events_updated + $4, \
                 events_cancelled = events_cancelled + $5, dispatches_malformed = dispatches_malformed + $6, \
                 dispatches_stale = dispatches_stale + $7, tests_skipped = tests_skipped + $8, \
                 webhooks_received = webhooks_received + $9";

            fn bind_counters<'q>(
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
                c: &VoltusCounters,
            ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
                query
                    .bind(c.polls)
                    .bind(c.poll_failures)
                    .bind(c.events_created)
                    .bind(c.events_updated)
                    .bind(c.events_cancelled)
                    .bind(c.dispatches_malformed)
                    .bind(c.dispatches_stale)
                    .bind(c.tests_skipped)
                    .bind(c.webhooks_received)
            }

            #[async_trait::async_trait]
            impl crate::store::BridgeStore for $store {
                async fn put_voltus_config(&self, c: &VoltusConfigRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO voltus_bridges (tenant_id, base_url, api_key, program_name, site_target, target_type, \
                         poll_interval_ms, test_dispatches, cancellation, webhook_secret, telemetry, enabled, created_at, \
                         updated_at, next_poll_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 0) \
                         ON CONFLICT (tenant_id) DO UPDATE SET base_url = excluded.base_url, api_key = excluded.api_key, \
                         program_name = excluded.program_name, site_target = excluded.site_target, \
                         target_type = excluded.target_type, poll_interval_ms = excluded.poll_interval_ms, \
                         test_dispatches = excluded.test_dispatches, cancellation = excluded.cancellation, \
                         webhook_secret = excluded.webhook_secret, telemetry = excluded.telemetry, \
                         enabled = excluded.enabled, updated_at = excluded.updated_at, next_poll_ms = 0, \
                         consecutive_failures = 0, lease_owner = NULL, lease_until_ms = NULL",
                    )
                    .bind(c.tenant.as_str())
                    .bind(&c.base_url)
                    .bind(self.secrets.seal(&VOLTUS_API_KEY.aad(&[c.tenant.as_str()]), &c.api_key))
                    .bind(&c.program_name)
                    .bind(&c.site_target)
                    .bind(&c.target_type)
                    .bind(c.poll_interval_ms)
                    .bind(&c.test_dispatches)
                    .bind(&c.cancellation)
                    .bind(&c.webhook_secret_hash)
                    .bind(c.telemetry)
                    .bind(c.enabled)
                    .bind(&c.created_at)
                    .bind(&c.updated_at)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(())
                }

                async fn get_voltus_config(&self, tenant: &TenantId) -> StoreResult<Option<VoltusConfigRecord>> {
                    let rows = sqlx::query(&format!("SELECT {CONFIG_COLUMNS} FROM voltus_bridges WHERE tenant_id = $1"))
                        .bind(tenant.as_str())
                        .fetch_all(&self.read)
                        .await?;
                    rows.first().map(|row| config(&self.secrets, row)).transpose()
                }

                async fn delete_voltus_config(&self, tenant: &TenantId) -> StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM voltus_bridges WHERE tenant_id = $1")
                        .bind(tenant.as_str())
                        .execute(&self.write)
                        .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn voltus_status(&self, tenant: &TenantId) -> StoreResult<Option<VoltusStatusRecord>> {
                    let rows = sqlx::query(
                        "SELECT next_poll_ms, last_poll_ms, last_success_ms, last_error, last_error_ms, consecutive_failures, \
                         polls, poll_failures, events_created, events_updated, events_cancelled, dispatches_malformed, \
                         dispatches_stale, tests_skipped, webhooks_received, \
                         (SELECT COUNT(*) FROM voltus_dispatches d WHERE d.tenant_id = b.tenant_id), \
                         (SELECT COUNT(*) FROM voltus_telemetry t WHERE t.tenant_id = b.tenant_id AND t.state = 'pending'), \
                         (SELECT COUNT(*) FROM voltus_telemetry t WHERE t.tenant_id = b.tenant_id AND t.state = 'sent'), \
                         (SELECT COUNT(*) FROM voltus_telemetry t WHERE t.tenant_id = b.tenant_id AND t.state = 'failed') \
                         FROM voltus_bridges b WHERE b.tenant_id = $1",
                    )
                    .bind(tenant.as_str())
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows.first().map(|row| VoltusStatusRecord {
                        next_poll_ms: row.get(0),
                        last_poll_ms: row.get(1),
                        last_success_ms: row.get(2),
                        last_error: row.get(3),
                        last_error_ms: row.get(4),
                        consecutive_failures: row.get(5),
                        counters: VoltusCounters {
                            polls: row.get(6),
                            poll_failures: row.get(7),
                            events_created: row.get(8),
                            events_updated: row.get(9),
                            events_cancelled: row.get(10),
                            dispatches_malformed: row.get(11),
                            dispatches_stale: row.get(12),
                            tests_skipped: row.get(13),
                            webhooks_received: row.get(14),
                        },
                        dispatches: row.get(15),
                        telemetry_pending: row.get(16),
                        telemetry_sent: row.get(17),
                        telemetry_failed: row.get(18),
                    }))
                }

                async fn claim_voltus_bridges(
                    &self,
                    worker: &str,
                    now_ms: i64,
                    lease_ms: i64,
                    limit: i64,
                ) -> StoreResult<Vec<VoltusConfigRecord>> {
                    let sql = format!(
                        "UPDATE voltus_bridges SET lease_owner = $1, lease_until_ms = $2 WHERE tenant_id IN (\
                         SELECT b.tenant_id FROM voltus_bridges b WHERE b.enabled = TRUE AND b.next_poll_ms <= $3 \
                         AND (b.lease_until_ms IS NULL OR b.lease_until_ms < $4) \
                         AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = b.tenant_id AND t.enabled) ORDER BY b.next_poll_ms LIMIT $5{}) \
                         AND enabled = TRUE AND next_poll_ms <= $6 AND (lease_until_ms IS NULL OR lease_until_ms < $7) \
                         RETURNING {CONFIG_COLUMNS}",
                        $lock
                    );
                    let rows = sqlx::query(&sql)
                        .bind(worker)
                        .bind(now_ms + lease_ms)
                        .bind(now_ms)
                        .bind(now_ms)
                        .bind(limit)
                        .bind(now_ms)
                        .bind(now_ms)
                        .fetch_all(&self.write)
                        .await?;
                    // A bridge whose API key does not open is left out (and stays leased until
                    // the lease runs out), so it cannot stop the other tenants' polls.
                    Ok(rows
                        .iter()
                        .filter_map(|row| {
                            config(&self.secrets, row)
                                .inspect_err(|e| tracing::error!(error = %e, "a Voltus bridge's API key does not open; not polling it"))
                                .ok()
                        })
                        .collect())
                }

                async fn finish_voltus_pass(
                    &self,
                    worker: &str,
                    tenant: &TenantId,
                    now_ms: i64,
                    next_poll_ms: i64,
                    outcome: &PollOutcome,
                    counters: &VoltusCounters,
                ) -> StoreResult<()> {
                    let mut tx = self.write.begin().await?;
                    let sql = format!("UPDATE voltus_bridges SET {COUNTER_SET} WHERE tenant_id = $10");
                    let query = sqlx::query(&sql);
                    bind_counters(query, counters).bind(tenant.as_str()).execute(&mut *tx).await?;
                    match outcome {
                        PollOutcome::None => {}
                        PollOutcome::Success => {
                            sqlx::query(
                                "UPDATE voltus_bridges SET last_poll_ms = $1, last_success_ms = $2, consecutive_failures = 0 \
                                 WHERE tenant_id = $3",
                            )
                            .bind(now_ms)
                            .bind(now_ms)
                            .bind(tenant.as_str())
                            .execute(&mut *tx)
                            .await?;
                        }
                        PollOutcome::Failure(error) => {
                            sqlx::query(
                                "UPDATE voltus_bridges SET last_poll_ms = $1, last_error = $2, last_error_ms = $3, \
                                 consecutive_failures = consecutive_failures + 1 WHERE tenant_id = $4",
                            )
                            .bind(now_ms)
                            .bind(error)
                            .bind(now_ms)
                            .bind(tenant.as_str())
                            .execute(&mut *tx)
                            .await?;
                        }
                    }
                    sqlx::query(
                        "UPDATE voltus_bridges SET next_poll_ms = $1, lease_owner = NULL, lease_until_ms = NULL \
                         WHERE tenant_id = $2 AND lease_owner = $3",
                    )
                    .bind(next_poll_ms)
                    .bind(tenant.as_str())
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn add_voltus_counters(&self, tenant: &TenantId, counters: &VoltusCounters) -> StoreResult<()> {
                    let sql = format!("UPDATE voltus_bridges SET {COUNTER_SET} WHERE tenant_id = $10");
                    let query = sqlx::query(&sql);
                    bind_counters(query, counters).bind(tenant.as_str()).execute(&self.write).await?;
                    Ok(())
                }

                async fn release_voltus_leases(&self, worker: &str) -> StoreResult<()> {
                    sqlx::query("UPDATE voltus_bridges SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = $1")
                        .bind(worker)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                async fn get_voltus_dispatch(&self, tenant: &TenantId, dispatch_id: &str) -> StoreResult<Option<DispatchState>> {
                    let rows = sqlx::query(
                        "SELECT dispatch_id, modification_number, fingerprint, authorized, test, raw FROM voltus_dispatches \
                         WHERE tenant_id = $1 AND dispatch_id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .fetch_all(&self.write)
                    .await?;
                    Ok(rows.first().map(|row| DispatchState {
                        dispatch_id: row.get(0),
                        modification_number: row.get(1),
                        fingerprint: row.get(2),
                        authorized: row.get(3),
                        test: row.get(4),
                        raw: row.get(5),
                    }))
                }

                async fn save_voltus_dispatch(&self, tenant: &TenantId, s: &DispatchState, now_ms: i64) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO voltus_dispatches (tenant_id, dispatch_id, modification_number, fingerprint, authorized, \
                         test, raw, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, dispatch_id) \
                         DO UPDATE SET modification_number = excluded.modification_number, fingerprint = excluded.fingerprint, \
                         authorized = excluded.authorized, test = excluded.test, raw = excluded.raw, \
                         updated_at_ms = excluded.updated_at_ms",
                    )
                    .bind(tenant.as_str())
                    .bind(&s.dispatch_id)
                    .bind(s.modification_number)
                    .bind(&s.fingerprint)
                    .bind(s.authorized)
                    .bind(s.test)
                    .bind(&s.raw)
                    .bind(now_ms)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(())
                }

                async fn voltus_dispatch_events(&self, tenant: &TenantId, dispatch_id: &str) -> StoreResult<Vec<(String, String)>> {
                    let rows = sqlx::query(
                        "SELECT site_id, event_id FROM voltus_dispatch_events WHERE tenant_id = $1 AND dispatch_id = $2 \
                         ORDER BY site_id",
                    )
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .fetch_all(&self.write)
                    .await?;
                    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
                }

                async fn reserve_voltus_event(
                    &self,
                    tenant: &TenantId,
                    dispatch_id: &str,
                    site_id: &str,
                    candidate: &str,
                ) -> StoreResult<String> {
                    sqlx::query(
                        "INSERT INTO voltus_dispatch_events (tenant_id, dispatch_id, site_id, event_id) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant_id, dispatch_id, site_id) DO NOTHING",
                    )
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .bind(site_id)
                    .bind(candidate)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    let ids: Vec<String> = sqlx::query_scalar(
                        "SELECT event_id FROM voltus_dispatch_events WHERE tenant_id = $1 AND dispatch_id = $2 AND site_id = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .bind(site_id)
                    .fetch_all(&self.write)
                    .await?;
                    ids.into_iter().next().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
                }

                async fn program_id_by_name(&self, tenant: &TenantId, program_name: &str) -> StoreResult<Option<String>> {
                    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM programs WHERE tenant_id = $1 AND program_name = $2")
                        .bind(tenant.as_str())
                        .bind(program_name)
                        .fetch_all(&self.write)
                        .await?;
                    Ok(ids.into_iter().next())
                }

                async fn unforwarded_voltus_reports(&self, tenant: &TenantId, limit: i64) -> StoreResult<Vec<UnforwardedReport>> {
                    let rows = sqlx::query(
                        "SELECT r.id, m.site_id, r.body FROM reports r JOIN voltus_dispatch_events m \
                         ON m.tenant_id = r.tenant_id AND m.event_id = r.event_id WHERE r.tenant_id = $1 \
                         AND NOT EXISTS (SELECT 1 FROM voltus_forwarded_reports f WHERE f.tenant_id = r.tenant_id \
                         AND f.report_id = r.id) ORDER BY r.seq LIMIT $2",
                    )
                    .bind(tenant.as_str())
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows
                        .iter()
                        .map(|row| UnforwardedReport { report_id: row.get(0), site_id: row.get(1), body: row.get(2) })
                        .collect())
                }

                async fn enqueue_voltus_telemetry(
                    &self,
                    tenant: &TenantId,
                    report_id: &str,
                    points: &[TelemetryPoint],
                    now_ms: i64,
                ) -> StoreResult<u64> {
                    let mut tx = self.write.begin().await?;
                    let mut added = 0;
                    for chunk in points.chunks(500) {
                        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                            "INSERT INTO voltus_telemetry (tenant_id, site_id, end_ms, interval_seconds, value_kw, report_id, \
                             state, next_attempt_ms, created_at_ms) ",
                        );
                        qb.push_values(chunk, |mut row, p| {
                            row.push_bind(tenant.as_str())
                                .push_bind(&p.site_id)
                                .push_bind(p.end_ms)
                                .push_bind(p.interval_seconds)
                                .push_bind(p.value_kw)
                                .push_bind(report_id)
                                .push_bind("pending")
                                .push_bind(now_ms)
                                .push_bind(now_ms);
                        });
                        qb.push(" ON CONFLICT (tenant_id, site_id, end_ms, interval_seconds) DO NOTHING");
                        added += qb.build().execute(&mut *tx).await?.rows_affected();
                    }
                    sqlx::query(
                        "INSERT INTO voltus_forwarded_reports (tenant_id, report_id) VALUES ($1, $2) \
                         ON CONFLICT (tenant_id, report_id) DO NOTHING",
                    )
                    .bind(tenant.as_str())
                    .bind(report_id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(added)
                }

                async fn due_voltus_telemetry(&self, tenant: &TenantId, now_ms: i64, limit: i64) -> StoreResult<Vec<TelemetryRow>> {
                    let rows = sqlx::query(
                        "SELECT seq, site_id, end_ms, interval_seconds, value_kw, attempts FROM voltus_telemetry \
                         WHERE tenant_id = $1 AND state = 'pending' AND next_attempt_ms <= $2 ORDER BY seq LIMIT $3",
                    )
                    .bind(tenant.as_str())
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(&self.write)
                    .await?;
                    Ok(rows
                        .iter()
                        .map(|row| TelemetryRow {
                            seq: row.get(0),
                            point: TelemetryPoint {
                                site_id: row.get(1),
                                end_ms: row.get(2),
                                interval_seconds: row.get(3),
                                value_kw: row.get(4),
                            },
                            attempts: row.get(5),
                        })
                        .collect())
                }

                async fn finish_voltus_telemetry(
                    &self,
                    tenant: &TenantId,
                    seqs: &[i64],
                    outcome: &TelemetryOutcome,
                    now_ms: i64,
                ) -> StoreResult<()> {
                    if seqs.is_empty() {
                        return Ok(());
                    }
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE voltus_telemetry SET attempts = attempts + 1, ");
                    match outcome {
                        TelemetryOutcome::Sent => {
                            qb.push("state = 'sent', last_error = NULL, sent_at_ms = ").push_bind(now_ms);
                        }
                        TelemetryOutcome::Retry { next_attempt_ms, error } => {
                            qb.push("next_attempt_ms = ").push_bind(*next_attempt_ms).push(", last_error = ").push_bind(error.as_str());
                        }
                        TelemetryOutcome::Failed { error } => {
                            qb.push("state = 'failed', last_error = ").push_bind(error.as_str());
                        }
                    }
                    qb.push(" WHERE tenant_id = ").push_bind(tenant.as_str()).push(" AND state = 'pending' AND seq IN (");
                    let mut list = qb.separated(", ");
                    for seq in seqs {
                        list.push_bind(*seq);
                    }
                    qb.push(")");
                    qb.build().execute(&self.write).await?;
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_bridge_store;
