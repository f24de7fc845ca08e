//! Storage of the Voltus bridge: per-tenant configuration with the poll lease and health
//! counters, the dispatch → event mapping, and the telemetry outbox.
//!
//! Idempotence rests on two keys: `voltus_dispatch_events (tenant, dispatch, site)` is written
//! before its event and fixes the event's id, and `events (tenant, id)` refuses a second event
//! with that id. A restart, a repeated poll, a webhook racing a poll or two replicas therefore
//! never create two events for one dispatch and site.
//!
//! Order rests on the lease: only the replica holding a tenant's lease writes its dispatches
//! (inbound webhooks are queued in `voltus_webhooks` for it), and `save_voltus_dispatch` is a
//! conditional write that never lets an older version replace a newer one, should a lease ever
//! run out mid-pass.

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
    /// When the next poll is due (Unix ms); read-only here. A pass claimed for queued webhooks
    /// alone does not poll.
    pub next_poll_ms: i64,
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
///
/// Which of two versions is newer: the higher `modification_number` when both have one and they
/// differ; otherwise the later `fetched_at_ms` (a tie counts as newer, so a version re-fetched
/// in the same millisecond can be re-applied). `save_voltus_dispatch` enforces it in SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchState {
    pub dispatch_id: String,
    pub modification_number: Option<i64>,
    pub fingerprint: String,
    pub authorized: bool,
    pub test: bool,
    pub raw: String,
    /// When this version was fetched (Unix ms, taken before the request was sent).
    pub fetched_at_ms: i64,
    /// Whether the version's events are all written; `false` between claiming the version and
    /// finishing its events, so a failure in between is re-applied by the next fetch.
    pub applied: bool,
}

/// An inbound webhook waiting for the lease holder.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedWebhook {
    pub dispatch_id: String,
    pub received_at_ms: i64,
    pub attempts: i32,
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
    /// The VEN name of the VEN client that wrote it; `None` for business logic.
    pub owner: Option<String>,
    /// The targets of the report's event as stored: the site's target, which says which VEN
    /// the site is bound to.
    pub event_targets: crate::domain::audience::TargetPairs,
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
    /// The report the value comes from: with `seq`, the version of the row (a later report of
    /// the bound VEN replaces a pending value, and the report id with it).
    pub report_id: String,
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

    /// Leases up to `limit` enabled bridges of enabled tenants whose poll is due, or that have a
    /// queued webhook due, and that no live worker holds.
    async fn claim_voltus_bridges(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<VoltusConfigRecord>>;
    /// Records a pass: the poll's outcome, counters, the next poll (`None`: unchanged, no poll
    /// ran); gives the lease back.
    async fn finish_voltus_pass(
        &self,
        worker: &str,
        tenant: &TenantId,
        now_ms: i64,
        next_poll_ms: Option<i64>,
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
    /// Stores `state` unless the stored version is newer (see [`DispatchState`]); `false` when
    /// the stored one won and nothing was written.
    async fn save_voltus_dispatch(
        &self,
        tenant: &TenantId,
        state: &DispatchState,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Marks the stored version applied, if it is still the one of `fingerprint` fetched at
    /// `fetched_at_ms`; `false` when a newer version replaced it meanwhile.
    async fn mark_voltus_dispatch_applied(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
        fingerprint: &str,
        fetched_at_ms: i64,
    ) -> StoreResult<bool>;
    /// Marks the stored version not applied, so the next fetch of it applies it again (its
    /// events may have been overwritten by an older version's writer that lost the race).
    async fn reapply_voltus_dispatch(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
    ) -> StoreResult<()>;

    /// Queues an inbound webhook's dispatch for the lease holder (a dispatch already queued
    /// stays one row, due now). `false` when the tenant already has `cap` other webhooks queued.
    async fn enqueue_voltus_webhook(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
        now_ms: i64,
        cap: i64,
    ) -> StoreResult<bool>;
    /// Queued webhooks of the tenant that are due, oldest first.
    async fn due_voltus_webhooks(
        &self,
        tenant: &TenantId,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<QueuedWebhook>>;
    /// Removes the queued webhook if it was received before `fetched_at_ms` (a fetch started
    /// then saw what it announced); a later one stays queued.
    async fn finish_voltus_webhook(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
        fetched_at_ms: i64,
    ) -> StoreResult<()>;
    /// Counts a failed fetch and makes the webhook due again at `next_attempt_ms`.
    async fn retry_voltus_webhook(
        &self,
        tenant: &TenantId,
        dispatch_id: &str,
        next_attempt_ms: i64,
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
    /// Enqueues a report's points (distinct by site, end and interval, as
    /// `telemetry::points_of_report` makes them) and marks the report forwarded, atomically (no
    /// points: only marked). A point already queued and still pending takes the new value (the later report
    /// of the bound VEN wins); a failed one takes it and is pending again; a sent one is kept.
    /// Returns how many points were written.
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
    /// Records the outcome of sending `rows`: each `(seq, report id)` still pending with that
    /// value (a row whose value was replaced meanwhile stays pending for the new one).
    async fn finish_voltus_telemetry(
        &self,
        tenant: &TenantId,
        rows: &[(i64, String)],
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
                DispatchState, PollOutcome, QueuedWebhook, StoreError, StoreResult, TelemetryOutcome, TelemetryPoint,
                TelemetryRow, UnforwardedReport, VoltusConfigRecord, VoltusCounters, VoltusStatusRecord,
            };
            use crate::store::sealed::VOLTUS_API_KEY;
            use sqlx::{QueryBuilder, Row};

            const CONFIG_COLUMNS: &str = "tenant_id, base_url, api_key, program_name, site_target, target_type, \
                 poll_interval_ms, test_dispatches, cancellation, webhook_secret, telemetry, enabled, created_at, \
                 updated_at, consecutive_failures, next_poll_ms";

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
                    next_poll_ms: row.get(15),
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
                         SELECT b.tenant_id FROM voltus_bridges b WHERE b.enabled = TRUE AND (b.next_poll_ms <= $3 \
                         OR EXISTS (SELECT 1 FROM voltus_webhooks w WHERE w.tenant_id = b.tenant_id AND w.next_attempt_ms <= $8)) \
                         AND (b.lease_until_ms IS NULL OR b.lease_until_ms < $4) \
                         AND EXISTS (SELECT 1 FROM tenants t WHERE t.id = b.tenant_id AND t.enabled) ORDER BY b.next_poll_ms LIMIT $5{}) \
                         AND enabled = TRUE AND (next_poll_ms <= $6 OR EXISTS (SELECT 1 FROM voltus_webhooks w \
                         WHERE w.tenant_id = voltus_bridges.tenant_id AND w.next_attempt_ms <= $9)) \
                         AND (lease_until_ms IS NULL OR lease_until_ms < $7) \
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
                    next_poll_ms: Option<i64>,
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
                        "UPDATE voltus_bridges SET next_poll_ms = COALESCE($1, next_poll_ms), lease_owner = NULL, \
                         lease_until_ms = NULL WHERE tenant_id = $2 AND lease_owner = $3",
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
                        "SELECT dispatch_id, modification_number, fingerprint, authorized, test, raw, fetched_at_ms, applied \
                         FROM voltus_dispatches WHERE tenant_id = $1 AND dispatch_id = $2",
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
                        fetched_at_ms: row.get(6),
                        applied: row.get(7),
                    }))
                }

                async fn save_voltus_dispatch(&self, tenant: &TenantId, s: &DispatchState, now_ms: i64) -> StoreResult<bool> {
                    // The rule of `DispatchState`, in one statement: the stored row is replaced only
                    // by a newer version, whatever raced this write.
                    let done = sqlx::query(
                        "INSERT INTO voltus_dispatches (tenant_id, dispatch_id, modification_number, fingerprint, authorized, \
                         test, raw, updated_at_ms, fetched_at_ms, applied) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                         ON CONFLICT (tenant_id, dispatch_id) \
                         DO UPDATE SET modification_number = excluded.modification_number, fingerprint = excluded.fingerprint, \
                         authorized = excluded.authorized, test = excluded.test, raw = excluded.raw, \
                         updated_at_ms = excluded.updated_at_ms, fetched_at_ms = excluded.fetched_at_ms, \
                         applied = excluded.applied \
                         WHERE CASE WHEN voltus_dispatches.modification_number IS NOT NULL \
                         AND excluded.modification_number IS NOT NULL \
                         AND voltus_dispatches.modification_number <> excluded.modification_number \
                         THEN excluded.modification_number > voltus_dispatches.modification_number \
                         ELSE excluded.fetched_at_ms >= voltus_dispatches.fetched_at_ms END",
                    )
                    .bind(tenant.as_str())
                    .bind(&s.dispatch_id)
                    .bind(s.modification_number)
                    .bind(&s.fingerprint)
                    .bind(s.authorized)
                    .bind(s.test)
                    .bind(&s.raw)
                    .bind(now_ms)
                    .bind(s.fetched_at_ms)
                    .bind(s.applied)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(done.rows_affected() > 0)
                }

                async fn mark_voltus_dispatch_applied(
                    &self,
                    tenant: &TenantId,
                    dispatch_id: &str,
                    fingerprint: &str,
                    fetched_at_ms: i64,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE voltus_dispatches SET applied = TRUE WHERE tenant_id = $1 AND dispatch_id = $2 \
                         AND fingerprint = $3 AND fetched_at_ms = $4",
                    )
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .bind(fingerprint)
                    .bind(fetched_at_ms)
                    .execute(&self.write)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn reapply_voltus_dispatch(&self, tenant: &TenantId, dispatch_id: &str) -> StoreResult<()> {
                    sqlx::query("UPDATE voltus_dispatches SET applied = FALSE WHERE tenant_id = $1 AND dispatch_id = $2")
                        .bind(tenant.as_str())
                        .bind(dispatch_id)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                async fn enqueue_voltus_webhook(
                    &self,
                    tenant: &TenantId,
                    dispatch_id: &str,
                    now_ms: i64,
                    cap: i64,
                ) -> StoreResult<bool> {
                    // INSERT … SELECT … WHERE: the WHERE both applies the cap and keeps SQLite
                    // from reading ON CONFLICT as part of the SELECT.
                    let done = sqlx::query(
                        "INSERT INTO voltus_webhooks (tenant_id, dispatch_id, received_at_ms, attempts, next_attempt_ms) \
                         SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS BIGINT), 0, CAST($4 AS BIGINT) \
                         WHERE (SELECT COUNT(*) FROM voltus_webhooks WHERE tenant_id = $5 AND dispatch_id <> $6) < $7 \
                         ON CONFLICT (tenant_id, dispatch_id) DO UPDATE SET received_at_ms = excluded.received_at_ms, \
                         attempts = 0, next_attempt_ms = excluded.next_attempt_ms",
                    )
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .bind(now_ms)
                    .bind(now_ms)
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .bind(cap)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(done.rows_affected() > 0)
                }

                async fn due_voltus_webhooks(&self, tenant: &TenantId, now_ms: i64, limit: i64) -> StoreResult<Vec<QueuedWebhook>> {
                    let rows = sqlx::query(
                        "SELECT dispatch_id, received_at_ms, attempts FROM voltus_webhooks \
                         WHERE tenant_id = $1 AND next_attempt_ms <= $2 ORDER BY received_at_ms, dispatch_id LIMIT $3",
                    )
                    .bind(tenant.as_str())
                    .bind(now_ms)
                    .bind(limit)
                    .fetch_all(&self.write)
                    .await?;
                    Ok(rows
                        .iter()
                        .map(|row| QueuedWebhook { dispatch_id: row.get(0), received_at_ms: row.get(1), attempts: row.get(2) })
                        .collect())
                }

                async fn finish_voltus_webhook(&self, tenant: &TenantId, dispatch_id: &str, fetched_at_ms: i64) -> StoreResult<()> {
                    sqlx::query("DELETE FROM voltus_webhooks WHERE tenant_id = $1 AND dispatch_id = $2 AND received_at_ms <= $3")
                        .bind(tenant.as_str())
                        .bind(dispatch_id)
                        .bind(fetched_at_ms)
                        .execute(&self.write)
                        .await?;
                    Ok(())
                }

                async fn retry_voltus_webhook(&self, tenant: &TenantId, dispatch_id: &str, next_attempt_ms: i64) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE voltus_webhooks SET attempts = attempts + 1, next_attempt_ms = $1 \
                         WHERE tenant_id = $2 AND dispatch_id = $3",
                    )
                    .bind(next_attempt_ms)
                    .bind(tenant.as_str())
                    .bind(dispatch_id)
                    .execute(&self.write)
                    .await?;
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
                        "SELECT r.id, m.site_id, r.body, r.owner, r.event_id FROM reports r JOIN voltus_dispatch_events m \
                         ON m.tenant_id = r.tenant_id AND m.event_id = r.event_id WHERE r.tenant_id = $1 \
                         AND NOT EXISTS (SELECT 1 FROM voltus_forwarded_reports f WHERE f.tenant_id = r.tenant_id \
                         AND f.report_id = r.id) ORDER BY r.seq LIMIT $2",
                    )
                    .bind(tenant.as_str())
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?;
                    let mut targets: std::collections::HashMap<String, crate::domain::audience::TargetPairs> =
                        std::collections::HashMap::new();
                    let mut reports = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let event_id: String = row.get(4);
                        if !targets.contains_key(&event_id) {
                            let pairs = sqlx::query(
                                "SELECT t.target_type, t.target_value FROM event_targets t JOIN events e ON e.seq = t.owner_seq \
                                 WHERE e.tenant_id = $1 AND e.id = $2",
                            )
                            .bind(tenant.as_str())
                            .bind(&event_id)
                            .fetch_all(&self.read)
                            .await?
                            .iter()
                            .map(|t| (t.get(0), t.get(1)))
                            .collect();
                            targets.insert(event_id.clone(), pairs);
                        }
                        reports.push(UnforwardedReport {
                            report_id: row.get(0),
                            site_id: row.get(1),
                            body: row.get(2),
                            owner: row.get(3),
                            event_targets: targets[&event_id].clone(),
                        });
                    }
                    Ok(reports)
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
                        // A pending value is replaced (the later report wins); a failed one too, and
                        // gets a new chance; a sent one is kept. The CASEs read the old row.
                        qb.push(
                            " ON CONFLICT (tenant_id, site_id, end_ms, interval_seconds) DO UPDATE SET \
                             value_kw = excluded.value_kw, report_id = excluded.report_id, \
                             attempts = CASE WHEN voltus_telemetry.state = 'failed' THEN 0 ELSE voltus_telemetry.attempts END, \
                             next_attempt_ms = CASE WHEN voltus_telemetry.state = 'failed' THEN excluded.next_attempt_ms \
                             ELSE voltus_telemetry.next_attempt_ms END, \
                             last_error = CASE WHEN voltus_telemetry.state = 'failed' THEN NULL ELSE voltus_telemetry.last_error END, \
                             state = 'pending' WHERE voltus_telemetry.state <> 'sent'",
                        );
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
                        "SELECT seq, site_id, end_ms, interval_seconds, value_kw, attempts, report_id FROM voltus_telemetry \
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
                            report_id: row.get(6),
                        })
                        .collect())
                }

                async fn finish_voltus_telemetry(
                    &self,
                    tenant: &TenantId,
                    rows: &[(i64, String)],
                    outcome: &TelemetryOutcome,
                    now_ms: i64,
                ) -> StoreResult<()> {
                    for chunk in rows.chunks(500) {
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
                        qb.push(" WHERE tenant_id = ").push_bind(tenant.as_str()).push(" AND state = 'pending' AND (");
                        for (i, (seq, report_id)) in chunk.iter().enumerate() {
                            if i > 0 {
                                qb.push(" OR ");
                            }
                            qb.push("(seq = ").push_bind(*seq).push(" AND report_id = ").push_bind(report_id.as_str()).push(")");
                        }
                        qb.push(")");
                        qb.build().execute(&self.write).await?;
                    }
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use impl_bridge_store;
