//! The notification outbox: `changes` (one row per write, recorded in the write's transaction by
//! `record_change`) and `deliveries` (one row per notification to send).
//!
//! Work is claimed with leases: a claim writes `lease_owner` (the worker's random id) and
//! `lease_until_ms`, and every later step only applies while the caller still holds the lease. A
//! worker that dies loses its lease when it expires and the rows are claimed again, so each
//! notification is sent at least once; with live workers each is sent once, because a row is
//! leased to one worker at a time (on PostgreSQL concurrent claims skip each other's locked rows).

use super::{Page, StoreResult, TargetPairs, VenAudience};
use crate::domain::TenantId;
use async_trait::async_trait;
use std::sync::Arc;

/// A change waiting to be fanned out into deliveries.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub seq: i64,
    pub tenant: TenantId,
    pub object_type: String,
    pub operation: String,
    pub object_id: String,
    /// Owning VEN name of a report or subscription.
    pub owner: Option<String>,
    /// The 3.0.1 notification object, as it will be sent.
    pub notification: String,
}

/// A subscription that may want to hear of a change.
#[derive(Debug, Clone)]
pub struct SubscriptionCandidate {
    pub id: String,
    /// VEN name of the VEN client that owns it; `None` for business logic.
    pub owner: Option<String>,
    /// Who the worker shares its sending slots between: see [`subscriber_key`].
    pub subscriber: String,
    pub body: String,
}

/// The subscriber of a subscription's deliveries: the client that created it, or (for
/// subscriptions older than that record) the subscription itself. Client ids are unique across
/// tenants, subscription ids are UUIDs: a key never names two subscribers.
pub fn subscriber_key(client_id: Option<&str>, subscription_id: &str) -> String {
    match client_id {
        Some(client) => format!("client:{client}"),
        None => format!("subscription:{subscription_id}"),
    }
}

/// One notification to send, decided at fan-out.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// The notification id (`webhook-id`), stable across retries.
    pub id: String,
    pub subscription_id: String,
    pub subscriber: String,
    pub callback_url: String,
}

/// A claimed delivery with everything needed to send it.
#[derive(Clone)]
pub struct DeliveryJob {
    pub seq: i64,
    pub id: String,
    pub tenant: TenantId,
    pub subscription_id: String,
    pub object_type: String,
    pub operation: String,
    pub object_id: String,
    pub subscriber: String,
    /// The callback URL decided at fan-out; the subscription's entry for it, as it is now, gives
    /// the bearer token (see `notify::worker`).
    pub callback_url: String,
    /// The subscription as it is now (its bearer tokens included).
    pub subscription: String,
    /// Attempts made before this one.
    pub attempts: i32,
    pub notification: String,
    pub signing_secret: Option<String>,
}

/// How the worker shares its sending slots: a claim takes at most this many deliveries of one
/// subscriber and of one tenant, and none of the subscribers and tenants already at their share.
#[derive(Debug, Clone, Default)]
pub struct ClaimShares {
    pub per_subscriber: i64,
    pub per_tenant: i64,
    pub full_subscribers: Vec<String>,
    pub full_tenants: Vec<String>,
}

/// Leaves the secrets out of debug output.
impl std::fmt::Debug for DeliveryJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryJob")
            .field("id", &self.id)
            .field("subscription_id", &self.subscription_id)
            .field("object_type", &self.object_type)
            .field("operation", &self.operation)
            .field("object_id", &self.object_id)
            .field("callback_url", &self.callback_url)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: i32,
    },
    /// Failed; tried again at `next_attempt_ms`.
    Retry {
        status: Option<i32>,
        error: String,
        next_attempt_ms: i64,
    },
    /// Failed for the last time (attempts exhausted, or the receiver said 410 Gone).
    GaveUp {
        status: Option<i32>,
        error: String,
    },
    /// Not sent: the subscription changed since the claim and no longer asks for it.
    Superseded,
}

/// A delivery as its subscription's owner sees it.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: String,
    pub object_type: String,
    pub operation: String,
    pub object_id: String,
    pub callback_url: String,
    /// `pending`, `delivered`, `failed`, or `superseded` (the subscription changed its callbacks
    /// before it was sent: a new delivery to the current callback replaces it).
    pub state: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub last_attempt_ms: Option<i64>,
    pub next_attempt_ms: Option<i64>,
    pub delivered_at_ms: Option<i64>,
}

/// Backlog figures, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutboxDepth {
    pub changes_pending: i64,
    pub deliveries_pending: i64,
    pub deliveries_failed: i64,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Woken after every committed change.
    fn outbox_signal(&self) -> Arc<tokio::sync::Notify>;

    /// Leases up to `limit` changes not yet fanned out, oldest first.
    async fn claim_changes(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChangeRecord>>;
    /// Subscriptions of the tenant to this object type and operation (3.0.1 spelling) that may
    /// hear of change `change_seq`: live ones, and those retired by that change or a later one
    /// (a program's subscriptions hear of everything up to the program's deletion).
    async fn subscription_candidates(
        &self,
        tenant: &TenantId,
        object_type: &str,
        operation: &str,
        change_seq: i64,
    ) -> StoreResult<Vec<SubscriptionCandidate>>;
    /// The VEN of that name, its targets and its approved resources' names; `None` when it does
    /// not exist.
    async fn ven_audience(
        &self,
        tenant: &TenantId,
        ven_name: &str,
    ) -> StoreResult<Option<VenAudience>>;
    /// Targets of a program, `None` when it does not exist.
    async fn program_targets(
        &self,
        tenant: &TenantId,
        program_id: &str,
    ) -> StoreResult<Option<TargetPairs>>;
    /// Stores the change's deliveries and marks it fanned out, atomically, while `worker` still
    /// holds its lease. `false` (nothing written) when the lease was lost.
    async fn complete_fan_out(
        &self,
        worker: &str,
        change: &ChangeRecord,
        deliveries: &[NewDelivery],
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Leases up to `limit` due deliveries. A delivery waits while an earlier notification of the
    /// same object to the same subscription is pending (or not yet fanned out): each subscriber
    /// hears of one object's changes in order. Deliveries of deleted subscriptions are skipped.
    /// `shares` bounds what one subscriber or tenant takes, so a slow one cannot hold every slot.
    async fn claim_deliveries(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        shares: &ClaimShares,
    ) -> StoreResult<Vec<DeliveryJob>>;
    /// Gives back one claimed delivery unsent (it was over its subscriber's or tenant's share).
    async fn release_delivery(&self, worker: &str, seq: i64) -> StoreResult<()>;
    /// Records an attempt; ignored when `worker` no longer holds the lease.
    async fn finish_delivery(
        &self,
        worker: &str,
        seq: i64,
        outcome: &AttemptOutcome,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Gives back the worker's leases (graceful shutdown), so other replicas take over at once.
    async fn release_leases(&self, worker: &str) -> StoreResult<()>;
    /// Deliveries of one subscription, newest first.
    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        subscription_id: &str,
        page: Page,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// Removes finished deliveries and fanned-out changes created before `before_ms`, the
    /// deliveries of deleted subscriptions, and retired subscriptions that have heard of
    /// everything they were to hear of. Returns the number of rows removed.
    async fn purge_outbox(&self, before_ms: i64) -> StoreResult<u64>;
    async fn outbox_depth(&self) -> StoreResult<OutboxDepth>;
}

/// The SQL of [`OutboxStore`], expanded once per backend; `$lock` is the row-locking clause of
/// the claim subqueries (`FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite, whose single
/// writer makes each claim atomic).
macro_rules! impl_outbox_store {
    ($store:ty, $db:ty, $lock:expr) => {
        mod outbox_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::store::{
                AttemptOutcome, ChangeRecord, ClaimShares, DeliveryJob, DeliveryRecord, NewDelivery, OutboxDepth, Page,
                StoreError, StoreResult, SubscriptionCandidate, TargetPairs, VenAudience,
            };
            use sqlx::{QueryBuilder, Row};
            use std::sync::Arc;

            #[async_trait::async_trait]
            impl crate::store::OutboxStore for $store {
                fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
                    self.signal.clone()
                }

                async fn claim_changes(
                    &self,
                    worker: &str,
                    now_ms: i64,
                    lease_ms: i64,
                    limit: i64,
                ) -> StoreResult<Vec<ChangeRecord>> {
                    let sql = format!(
                        "UPDATE changes SET lease_owner = $1, lease_until_ms = $2 WHERE seq IN (\
                         SELECT c.seq FROM changes c WHERE c.fanned_out = FALSE \
                         AND (c.lease_until_ms IS NULL OR c.lease_until_ms < $3) ORDER BY c.seq LIMIT $4{}) \
                         AND fanned_out = FALSE AND (lease_until_ms IS NULL OR lease_until_ms < $5) \
                         RETURNING seq, tenant_id, object_type, operation, object_id, owner, notification",
                        $lock
                    );
                    let rows = sqlx::query(&sql)
                        .bind(worker)
                        .bind(now_ms + lease_ms)
                        .bind(now_ms)
                        .bind(limit)
                        .bind(now_ms)
                        .fetch_all(&self.write)
                        .await?;
                    let mut changes: Vec<ChangeRecord> = rows
                        .iter()
                        .map(|row| ChangeRecord {
                            seq: row.get(0),
                            tenant: TenantId(row.get(1)),
                            object_type: row.get(2),
                            operation: row.get(3),
                            object_id: row.get(4),
                            owner: row.get(5),
                            notification: row.get(6),
                        })
                        .collect();
                    changes.sort_by_key(|c| c.seq);
                    Ok(changes)
                }

                async fn subscription_candidates(
                    &self,
                    tenant: &TenantId,
                    object_type: &str,
                    operation: &str,
                    change_seq: i64,
                ) -> StoreResult<Vec<SubscriptionCandidate>> {
                    let rows = sqlx::query(
                        "SELECT s.id, s.owner, s.client_id, s.body, s.bearer_tokens FROM subscriptions s WHERE s.tenant_id = $1 \
                         AND (s.retired_by_change IS NULL OR s.retired_by_change >= $2) AND EXISTS (\
                         SELECT 1 FROM subscription_objects o WHERE o.owner_seq = s.seq AND o.object_type = $3 \
                         AND o.operation = $4) ORDER BY s.seq",
                    )
                    .bind(tenant.as_str())
                    .bind(change_seq)
                    .bind(object_type)
                    .bind(operation)
                    .fetch_all(&self.read)
                    .await?;
                    rows.iter()
                        .map(|row| {
                            let id: String = row.get(0);
                            let client_id: Option<String> = row.get(2);
                            let body = crate::store::subscriptions::open_body(&self.secrets, tenant.as_str(), &id, row.get(3), row.get(4))?;
                            Ok(SubscriptionCandidate {
                                subscriber: crate::store::subscriber_key(client_id.as_deref(), &id),
                                id,
                                owner: row.get(1),
                                body,
                            })
                        })
                        .collect()
                }

                async fn ven_audience(&self, tenant: &TenantId, ven_name: &str) -> StoreResult<Option<VenAudience>> {
                    let vens = sqlx::query("SELECT seq, id FROM vens WHERE tenant_id = $1 AND ven_name = $2")
                        .bind(tenant.as_str())
                        .bind(ven_name)
                        .fetch_all(&self.read)
                        .await?;
                    let Some(ven) = vens.first() else { return Ok(None) };
                    let (seq, ven_id): (i64, String) = (ven.get(0), ven.get(1));
                    let targets = sqlx::query("SELECT target_type, target_value FROM ven_targets WHERE owner_seq = $1")
                        .bind(seq)
                        .fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(|row| (row.get(0), row.get(1)))
                        .collect();
                    let resource_names =
                        sqlx::query_scalar("SELECT resource_name FROM resources WHERE tenant_id = $1 AND ven_id = $2 AND approved")
                            .bind(tenant.as_str())
                            .bind(&ven_id)
                            .fetch_all(&self.read)
                            .await?;
                    Ok(Some(VenAudience { ven_id, ven_name: ven_name.to_owned(), targets, resource_names }))
                }

                async fn program_targets(&self, tenant: &TenantId, program_id: &str) -> StoreResult<Option<TargetPairs>> {
                    let programs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM programs WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.as_str())
                        .bind(program_id)
                        .fetch_all(&self.read)
                        .await?;
                    let Some(seq) = programs.first() else { return Ok(None) };
                    let targets = sqlx::query("SELECT target_type, target_value FROM program_targets WHERE owner_seq = $1")
                        .bind(seq)
                        .fetch_all(&self.read)
                        .await?
                        .iter()
                        .map(|row| (row.get(0), row.get(1)))
                        .collect();
                    Ok(Some(targets))
                }

                async fn complete_fan_out(
                    &self,
                    worker: &str,
                    change: &ChangeRecord,
                    deliveries: &[NewDelivery],
                    now_ms: i64,
                ) -> StoreResult<bool> {
                    let mut tx = self.write.begin().await?;
                    let done = sqlx::query(
                        "UPDATE changes SET fanned_out = TRUE, lease_owner = NULL, lease_until_ms = NULL \
                         WHERE seq = $1 AND lease_owner = $2 AND fanned_out = FALSE",
                    )
                    .bind(change.seq)
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    if !deliveries.is_empty() {
                        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                            "INSERT INTO deliveries (id, tenant_id, subscription_id, subscriber, change_seq, object_type, \
                             operation, object_id, callback_url, state, next_attempt_ms, created_at_ms) ",
                        );
                        qb.push_values(deliveries, |mut row, d| {
                            row.push_bind(&d.id)
                                .push_bind(change.tenant.as_str())
                                .push_bind(&d.subscription_id)
                                .push_bind(&d.subscriber)
                                .push_bind(change.seq)
                                .push_bind(&change.object_type)
                                .push_bind(&change.operation)
                                .push_bind(&change.object_id)
                                .push_bind(&d.callback_url)
                                .push_bind("pending")
                                .push_bind(now_ms)
                                .push_bind(now_ms);
                        });
                        qb.build().execute(&mut *tx).await.map_err(StoreError::classify)?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn claim_deliveries(
                    &self,
                    worker: &str,
                    now_ms: i64,
                    lease_ms: i64,
                    limit: i64,
                    shares: &ClaimShares,
                ) -> StoreResult<Vec<DeliveryJob>> {
                    // Candidates are ranked within their subscriber and their tenant, oldest
                    // first, so that one subscriber's (or tenant's) backlog cannot fill the claim.
                    // Window functions rule out `FOR UPDATE`: the outer UPDATE re-checks the
                    // lease instead, so two workers claiming at once never both win a row.
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE deliveries SET lease_owner = ");
                    qb.push_bind(worker)
                        .push(", lease_until_ms = ")
                        .push_bind(now_ms + lease_ms)
                        .push(
                            " WHERE seq IN (SELECT seq FROM (SELECT d.seq, d.change_seq, \
                             ROW_NUMBER() OVER (PARTITION BY d.subscriber ORDER BY d.change_seq, d.seq) AS nth_of_subscriber, \
                             ROW_NUMBER() OVER (PARTITION BY d.tenant_id ORDER BY d.change_seq, d.seq) AS nth_of_tenant \
                             FROM deliveries d WHERE d.state = 'pending' AND d.next_attempt_ms <= ",
                        )
                        .push_bind(now_ms)
                        .push(" AND (d.lease_until_ms IS NULL OR d.lease_until_ms < ")
                        .push_bind(now_ms)
                        .push(
                            ") AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant_id = d.tenant_id AND s.id = d.subscription_id) \
                             AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE p.tenant_id = d.tenant_id \
                               AND p.subscription_id = d.subscription_id AND p.object_id = d.object_id \
                               AND p.change_seq < d.change_seq AND p.state = 'pending') \
                             AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.tenant_id = d.tenant_id \
                               AND c.object_id = d.object_id AND c.seq < d.change_seq AND c.fanned_out = FALSE)",
                        );
                    if !shares.full_subscribers.is_empty() {
                        qb.push(" AND d.subscriber NOT IN (");
                        let mut keys = qb.separated(", ");
                        for key in &shares.full_subscribers {
                            keys.push_bind(key.as_str());
                        }
                        qb.push(")");
                    }
                    if !shares.full_tenants.is_empty() {
                        qb.push(" AND d.tenant_id NOT IN (");
                        let mut keys = qb.separated(", ");
                        for key in &shares.full_tenants {
                            keys.push_bind(key.as_str());
                        }
                        qb.push(")");
                    }
                    qb.push(") ranked WHERE nth_of_subscriber <= ")
                        .push_bind(shares.per_subscriber.max(1))
                        .push(" AND nth_of_tenant <= ")
                        .push_bind(shares.per_tenant.max(1))
                        .push(" ORDER BY change_seq, seq LIMIT ")
                        .push_bind(limit)
                        .push(") AND state = 'pending' AND (lease_until_ms IS NULL OR lease_until_ms < ")
                        .push_bind(now_ms)
                        .push(") RETURNING seq");
                    let claimed: Vec<i64> = qb.build_query_scalar().fetch_all(&self.write).await?;
                    if claimed.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "SELECT d.seq, d.id, d.tenant_id, d.subscription_id, d.object_type, d.operation, d.object_id, \
                         d.subscriber, d.callback_url, s.body, d.attempts, c.notification, s.signing_secret, s.bearer_tokens \
                         FROM deliveries d JOIN changes c ON c.seq = d.change_seq \
                         JOIN subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id \
                         WHERE d.lease_owner = ",
                    );
                    qb.push_bind(worker).push(" AND d.seq IN (");
                    let mut seqs = qb.separated(", ");
                    for seq in &claimed {
                        seqs.push_bind(*seq);
                    }
                    qb.push(") ORDER BY d.change_seq, d.seq");
                    // Read on the write pool: on SQLite the read pool could lag behind the claim.
                    let rows = qb.build().fetch_all(&self.write).await?;
                    rows.iter()
                        .map(|row| {
                            let (tenant, subscription_id): (String, String) = (row.get(2), row.get(3));
                            let subscription = crate::store::subscriptions::open_body(&self.secrets, &tenant, &subscription_id, row.get(9), row.get(13))?;
                            let signing_secret = crate::store::subscriptions::open_signing_secret(&self.secrets, &tenant, &subscription_id, row.get(12))?;
                            Ok(DeliveryJob {
                                seq: row.get(0),
                                id: row.get(1),
                                tenant: TenantId(tenant),
                                subscription_id,
                                object_type: row.get(4),
                                operation: row.get(5),
                                object_id: row.get(6),
                                subscriber: row.get(7),
                                callback_url: row.get(8),
                                subscription,
                                attempts: row.get(10),
                                notification: row.get(11),
                                signing_secret,
                            })
                        })
                        .collect()
                }

                async fn release_delivery(&self, worker: &str, seq: i64) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE deliveries SET lease_owner = NULL, lease_until_ms = NULL WHERE seq = $1 AND lease_owner = $2",
                    )
                    .bind(seq)
                    .bind(worker)
                    .execute(&self.write)
                    .await?;
                    Ok(())
                }

                async fn finish_delivery(
                    &self,
                    worker: &str,
                    seq: i64,
                    outcome: &AttemptOutcome,
                    now_ms: i64,
                ) -> StoreResult<()> {
                    let (state, status, error, next_attempt_ms, delivered_at_ms) = match outcome {
                        AttemptOutcome::Delivered { status } => ("delivered", Some(*status), None, None, Some(now_ms)),
                        AttemptOutcome::Retry { status, error, next_attempt_ms } => {
                            ("pending", *status, Some(error.as_str()), Some(*next_attempt_ms), None)
                        }
                        AttemptOutcome::GaveUp { status, error } => ("failed", *status, Some(error.as_str()), None, None),
                        AttemptOutcome::Superseded => {
                            // Not an attempt: the last one's status and error stay as they were.
                            sqlx::query(
                                "UPDATE deliveries SET state = 'superseded', lease_owner = NULL, lease_until_ms = NULL \
                                 WHERE seq = $1 AND lease_owner = $2",
                            )
                            .bind(seq)
                            .bind(worker)
                            .execute(&self.write)
                            .await?;
                            return Ok(());
                        }
                    };
                    sqlx::query(
                        "UPDATE deliveries SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3, \
                         last_attempt_ms = $4, next_attempt_ms = COALESCE($5, next_attempt_ms), delivered_at_ms = $6, \
                         lease_owner = NULL, lease_until_ms = NULL WHERE seq = $7 AND lease_owner = $8",
                    )
                    .bind(state)
                    .bind(status)
                    .bind(error)
                    .bind(now_ms)
                    .bind(next_attempt_ms)
                    .bind(delivered_at_ms)
                    .bind(seq)
                    .bind(worker)
                    .execute(&self.write)
                    .await?;
                    Ok(())
                }

                async fn release_leases(&self, worker: &str) -> StoreResult<()> {
                    for table in ["deliveries", "changes"] {
                        sqlx::query(&format!(
                            "UPDATE {table} SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = $1"
                        ))
                        .bind(worker)
                        .execute(&self.write)
                        .await?;
                    }
                    Ok(())
                }

                async fn list_deliveries(
                    &self,
                    tenant: &TenantId,
                    subscription_id: &str,
                    page: Page,
                ) -> StoreResult<Vec<DeliveryRecord>> {
                    let rows = sqlx::query(
                        "SELECT id, object_type, operation, object_id, callback_url, state, attempts, last_status, \
                         last_error, created_at_ms, last_attempt_ms, next_attempt_ms, delivered_at_ms FROM deliveries \
                         WHERE tenant_id = $1 AND subscription_id = $2 ORDER BY seq DESC LIMIT $3 OFFSET $4",
                    )
                    .bind(tenant.as_str())
                    .bind(subscription_id)
                    .bind(page.limit)
                    .bind(page.skip)
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows
                        .iter()
                        .map(|row| {
                            let state: String = row.get(5);
                            let next_attempt_ms: i64 = row.get(11);
                            DeliveryRecord {
                                id: row.get(0),
                                object_type: row.get(1),
                                operation: row.get(2),
                                object_id: row.get(3),
                                callback_url: row.get(4),
                                next_attempt_ms: (state == "pending").then_some(next_attempt_ms),
                                state,
                                attempts: row.get(6),
                                last_status: row.get(7),
                                last_error: row.get(8),
                                created_at_ms: row.get(9),
                                last_attempt_ms: row.get(10),
                                delivered_at_ms: row.get(12),
                            }
                        })
                        .collect())
                }

                async fn purge_outbox(&self, before_ms: i64) -> StoreResult<u64> {
                    let mut removed = 0;
                    let mut tx = self.write.begin().await?;
                    removed += sqlx::query(
                        "DELETE FROM deliveries WHERE (state <> 'pending' AND created_at_ms < $1) \
                         OR NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.tenant_id = deliveries.tenant_id \
                         AND s.id = deliveries.subscription_id)",
                    )
                    .bind(before_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    // A retired subscription goes once the change that retired it is fanned out and
                    // nothing is left to send it.
                    removed += sqlx::query(
                        "DELETE FROM subscriptions WHERE retired_by_change IS NOT NULL \
                         AND EXISTS (SELECT 1 FROM changes c WHERE c.seq = subscriptions.retired_by_change AND c.fanned_out = TRUE) \
                         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.tenant_id = subscriptions.tenant_id \
                         AND d.subscription_id = subscriptions.id AND d.state = 'pending')",
                    )
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    removed += sqlx::query(
                        "DELETE FROM changes WHERE fanned_out = TRUE AND created_at_ms < $1 \
                         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.change_seq = changes.seq)",
                    )
                    .bind(before_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    Ok(removed)
                }

                async fn outbox_depth(&self) -> StoreResult<OutboxDepth> {
                    let row = sqlx::query(
                        "SELECT (SELECT COUNT(*) FROM changes WHERE fanned_out = FALSE), \
                         (SELECT COUNT(*) FROM deliveries WHERE state = 'pending'), \
                         (SELECT COUNT(*) FROM deliveries WHERE state = 'failed')",
                    )
                    .fetch_all(&self.read)
                    .await?;
                    Ok(row
                        .first()
                        .map(|r| OutboxDepth {
                            changes_pending: r.get(0),
                            deliveries_pending: r.get(1),
                            deliveries_failed: r.get(2),
                        })
                        .unwrap_or_default())
                }
            }
        }
    };
}

pub(crate) use impl_outbox_store;
