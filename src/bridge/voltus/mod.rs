//! The Voltus bridge: Voltus dispatches become OpenADR events for the VENs of their sites, and
//! the VENs' usage reports go back to Voltus as telemetry.
//!
//! - [`mapping`]: dispatch → program and events (pure, unit-tested);
//! - [`client`]: Voltus's REST API, classified failures;
//! - [`poller`]: applying dispatches (create, update, cancel, ignore stale);
//! - [`telemetry`]: reports → telemetry points;
//! - [`settings`]: per-tenant configuration (admin API and CLI) and health;
//! - [`simulator`]: a Voltus API simulator for demos and tests.
//!
//! [`Bridge::run`] is the background task: each tick it leases the tenants whose poll is due or
//! that have queued webhooks (one replica per tenant at a time), polls `GET /dispatches`,
//! applies the answer, fetches and applies the dispatches that inbound webhooks named, forwards
//! telemetry, and schedules the next poll: the poll interval after a success, an exponential
//! backoff (at least Voltus's `Retry-After`) after a failure. An inbound webhook is only queued
//! in the database; the lease holder applies it, so polls and webhooks on different replicas
//! never write a tenant's dispatches at the same time, and a stored version is only ever
//! replaced by a newer one (see [`poller`]).

pub mod client;
pub mod mapping;
pub mod poller;
pub mod settings;
pub mod simulator;
pub mod telemetry;

use crate::config::VoltusArgs;
use crate::domain::audience::VenAudience;
use crate::domain::TenantId;
use crate::error::ApiError;
use crate::notify::callback::CallbackPolicy;
use crate::store::{
    DynStore, PollOutcome, TelemetryOutcome, TelemetryRow, VoltusConfigRecord, VoltusCounters,
};
use client::{VoltusClient, VoltusError};
use rand::Rng;
use settings::{Limits, TenantBridge};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Telemetry points read per pass, and the most sent in one request.
const TELEMETRY_BATCH: i64 = 500;

/// Inbound webhooks a tenant may have queued at once (one per dispatch id); more are answered
/// 503, which Voltus retries.
const MAX_QUEUED_WEBHOOKS: i64 = 1000;

/// Queued webhooks fetched per pass.
const WEBHOOKS_PER_PASS: i64 = 16;

/// Fetches of a queued webhook's dispatch before it is left to the next poll.
const WEBHOOK_TRIES: i32 = 5;

/// Settings of the bridge, from `config::VoltusArgs`.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub tick: Duration,
    pub lease: Duration,
    pub max_backoff: Duration,
}

pub struct Bridge {
    store: DynStore,
    client: VoltusClient,
    limits: Limits,
    settings: BridgeSettings,
    /// Random per process: leases name their holder.
    id: String,
}

/// Delay before the next poll after `failures` failures in a row: the poll interval doubled per
/// failure, ±20 %, capped, and never shorter than what Voltus asked for.
pub fn backoff(
    interval: Duration,
    failures: u32,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    let doubled = interval.saturating_mul(1u32 << failures.min(16));
    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
    let delay = doubled.mul_f64(jitter).min(max.max(interval));
    match retry_after {
        Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
        None => delay,
    }
}

/// The end of a pass's lease, as the pass sees it: a request to Voltus is started only when it
/// ends (answered or timed out) before the lease does, with a tenth of the lease to spare for
/// the writes that follow. The lease is longer than the timeout (checked at start), so the
/// pass's first request always may go. What is left over waits for the next pass.
struct Deadline {
    started: Instant,
    lease: Duration,
    timeout: Duration,
}

impl Deadline {
    fn allows_request(&self) -> bool {
        self.started.elapsed() + self.timeout + self.lease / 10 <= self.lease
    }
}

/// Whether a 4xx refusal of a telemetry upload may be about its points, so that splitting the
/// upload finds the good ones: not 401/403 (the key), 404 (the base URL) or 429 (slow down),
/// which say nothing about the points and are retried later instead.
fn refuses_points(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 404 | 429)
}

/// Whether the rest of a pass's telemetry may be sent after one site's.
enum Flow {
    Continue,
    /// Voltus is unavailable or the lease is running out: the rest waits for the next pass.
    Stop,
}

impl Bridge {
    pub fn new(store: DynStore, args: &VoltusArgs) -> anyhow::Result<Arc<Self>> {
        anyhow::ensure!(
            args.voltus_timeout_seconds.is_finite() && args.voltus_timeout_seconds > 0.0,
            "VTN_VOLTUS_TIMEOUT_SECONDS must be a positive number"
        );
        anyhow::ensure!(
            args.policy.voltus_min_poll_seconds.is_finite()
                && args.policy.voltus_min_poll_seconds > 0.0,
            "VTN_VOLTUS_MIN_POLL_SECONDS must be a positive number"
        );
        let timeout = Duration::from_secs_f64(args.voltus_timeout_seconds);
        let lease = Duration::from_secs_f64(args.voltus_lease_seconds.max(0.1));
        anyhow::ensure!(
            lease > timeout,
            "VTN_VOLTUS_LEASE_SECONDS must be longer than VTN_VOLTUS_TIMEOUT_SECONDS"
        );
        let policy = policy(&args.policy, timeout);
        Ok(Arc::new(Self {
            store,
            client: VoltusClient::new(policy.clone())?,
            limits: Limits {
                policy,
                min_poll_seconds: args.policy.voltus_min_poll_seconds,
            },
            settings: BridgeSettings {
                tick: Duration::from_millis(args.voltus_tick_ms.max(10)),
                lease,
                max_backoff: Duration::from_secs_f64(args.voltus_max_backoff_seconds.max(0.1)),
            },
            id: uuid::Uuid::new_v4().to_string(),
        }))
    }

    /// What a tenant's configuration may say, on this server.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs until `stop` fires, then gives its leases back.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "Voltus bridge started");
        loop {
            let lease_ms = self.settings.lease.as_millis() as i64;
            let claimed_at = Instant::now();
            let now = now_ms();
            match self
                .store
                .claim_voltus_bridges(&self.id, now, lease_ms, 16)
                .await
            {
                Ok(claimed) => {
                    let passes = claimed.into_iter().map(|record| {
                        let this = self.clone();
                        async move { this.pass(record, now, claimed_at).await }
                    });
                    futures_util::future::join_all(passes).await;
                }
                Err(error) => tracing::warn!(%error, "claiming Voltus bridges failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.tick) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        if let Err(error) = self.store.release_voltus_leases(&self.id).await {
            tracing::warn!(%error, "releasing Voltus leases failed");
        }
        tracing::info!(worker = %self.id, "Voltus bridge stopped");
    }

    /// One leased pass over a tenant, claimed at `claimed_ms`: poll and apply when the poll is
    /// due, apply the queued webhooks, forward telemetry after a successful poll, and schedule
    /// the next poll. Everything that writes the tenant's dispatches runs here, under the lease.
    async fn pass(&self, record: VoltusConfigRecord, claimed_ms: i64, claimed_at: Instant) {
        let bridge = TenantBridge::from_record(&record);
        let deadline = Deadline {
            started: claimed_at,
            lease: self.settings.lease,
            timeout: self.client.policy().timeout,
        };
        let tenant = bridge.tenant.as_str();
        let mut counters = VoltusCounters::default();
        let mut outcome = PollOutcome::None;
        let mut retry_after = None;
        if record.next_poll_ms <= claimed_ms {
            counters.polls = 1;
            let started = Instant::now();
            let fetched_at = now_ms();
            (outcome, retry_after) = match self.client.list_dispatches(&bridge.account).await {
                Ok(raws) => {
                    match poller::apply_all(&self.store, &bridge, raws, fetched_at, &mut counters)
                        .await
                    {
                        Ok(()) => (PollOutcome::Success, None),
                        Err(error) => (
                            PollOutcome::Failure(format!("storing dispatches failed: {error}")),
                            None,
                        ),
                    }
                }
                Err(error) => {
                    tracing::warn!(tenant, %error, "polling Voltus failed");
                    (PollOutcome::Failure(error.to_string()), error.retry_after())
                }
            };
            if matches!(outcome, PollOutcome::Failure(_)) {
                counters.poll_failures += 1;
            }
            record_poll_metrics(&outcome, started.elapsed());
        }
        self.apply_webhooks(&bridge, &deadline, &mut counters).await;
        if bridge.telemetry && matches!(outcome, PollOutcome::Success) {
            self.forward_telemetry(&bridge, &deadline).await;
        }
        let delay = match &outcome {
            PollOutcome::None => None,
            PollOutcome::Failure(_) => Some(backoff(
                bridge.poll_interval,
                bridge.consecutive_failures.max(0) as u32,
                self.settings.max_backoff,
                retry_after,
            )),
            PollOutcome::Success => Some(bridge.poll_interval),
        };
        let now = now_ms();
        if let Err(error) = self
            .store
            .finish_voltus_pass(
                &self.id,
                &bridge.tenant,
                now,
                delay.map(|d| now + d.as_millis() as i64),
                &outcome,
                &counters,
            )
            .await
        {
            tracing::warn!(tenant, %error, "recording a Voltus poll failed");
        }
    }

    /// Fetches and applies the dispatches that inbound webhooks queued for the tenant: one
    /// try each per pass, retried with a backoff on 429, 5xx and no answer, a few times.
    async fn apply_webhooks(
        &self,
        bridge: &TenantBridge,
        deadline: &Deadline,
        counters: &mut VoltusCounters,
    ) {
        let tenant = bridge.tenant.as_str();
        let queued = match self
            .store
            .due_voltus_webhooks(&bridge.tenant, now_ms(), WEBHOOKS_PER_PASS)
            .await
        {
            Ok(queued) => queued,
            Err(error) => {
                tracing::warn!(tenant, %error, "reading queued Voltus webhooks failed");
                return;
            }
        };
        for webhook in queued {
            if !deadline.allows_request() {
                break;
            }
            let dispatch = webhook.dispatch_id.as_str();
            // Before the request: whatever the answer says is at least this recent.
            let fetched_at = now_ms();
            let mut slow_down = false;
            let done = match self.client.get_dispatch(&bridge.account, dispatch).await {
                Ok(Some(raw)) => {
                    match poller::apply_all(&self.store, bridge, vec![raw], fetched_at, counters)
                        .await
                    {
                        Ok(()) => true,
                        Err(error) => {
                            tracing::warn!(tenant, dispatch, %error, "applying a webhook's dispatch failed; retrying");
                            false
                        }
                    }
                }
                Ok(None) => {
                    tracing::warn!(
                        tenant,
                        dispatch,
                        "Voltus does not know the webhook's dispatch"
                    );
                    true
                }
                Err(
                    error @ (VoltusError::RateLimited { .. }
                    | VoltusError::Server { .. }
                    | VoltusError::Unreachable(_)),
                ) => {
                    tracing::warn!(tenant, dispatch, %error, "fetching a webhook's dispatch failed; retrying");
                    slow_down = matches!(error, VoltusError::RateLimited { .. });
                    false
                }
                Err(error) => {
                    tracing::warn!(tenant, dispatch, %error, "fetching a webhook's dispatch failed; the next poll catches up");
                    true
                }
            };
            let result = if done || webhook.attempts + 1 >= WEBHOOK_TRIES {
                if !done {
                    tracing::warn!(
                        tenant,
                        dispatch,
                        "giving up on a webhook's dispatch; the next poll catches up"
                    );
                }
                self.store
                    .finish_voltus_webhook(&bridge.tenant, dispatch, fetched_at)
                    .await
            } else {
                let wait = backoff(
                    Duration::from_millis(500),
                    webhook.attempts.max(0) as u32,
                    Duration::from_secs(30),
                    None,
                );
                self.store
                    .retry_voltus_webhook(
                        &bridge.tenant,
                        dispatch,
                        now_ms() + wait.as_millis() as i64,
                    )
                    .await
            };
            if let Err(error) = result {
                tracing::warn!(tenant, dispatch, %error, "recording a queued webhook failed");
            }
            if slow_down {
                break;
            }
        }
    }

    /// Turns new reports of bridged events into queued telemetry, then sends what is due.
    ///
    /// A report counts for its event's site only when business logic wrote it, or the VEN the
    /// event's (site) targets address wrote it: the rule of [`VenAudience`], so the VEN bound to
    /// the site. Another VEN's report is marked forwarded and never sent. Points are sent per
    /// site; an upload Voltus refuses for its content is split in halves until the refused
    /// points are alone, so they fail and the others are sent.
    async fn forward_telemetry(&self, bridge: &TenantBridge, deadline: &Deadline) {
        let tenant = &bridge.tenant;
        match self.store.unforwarded_voltus_reports(tenant, 100).await {
            Ok(reports) => {
                let mut audiences: HashMap<String, Option<VenAudience>> = HashMap::new();
                for report in reports {
                    let counts = match &report.owner {
                        None => true,
                        Some(ven) => {
                            if !audiences.contains_key(ven) {
                                match self.store.ven_audience(tenant, ven).await {
                                    Ok(audience) => {
                                        audiences.insert(ven.clone(), audience);
                                    }
                                    Err(error) => {
                                        tracing::warn!(tenant = tenant.as_str(), %error, "reading a reporting VEN failed");
                                        break;
                                    }
                                }
                            }
                            audiences[ven]
                                .as_ref()
                                .is_some_and(|a| a.is_addressed_by(&report.event_targets))
                        }
                    };
                    let points = if counts {
                        tracing::info_span!("report", report = %report.report_id)
                            .in_scope(|| telemetry::points_of_report(&report.body, &report.site_id))
                    } else {
                        tracing::info!(
                            tenant = tenant.as_str(),
                            report = %report.report_id,
                            ven = report.owner.as_deref().unwrap_or_default(),
                            site = %report.site_id,
                            "report not forwarded to Voltus: its VEN is not the one bound to the site"
                        );
                        Vec::new()
                    };
                    if let Err(error) = self
                        .store
                        .enqueue_voltus_telemetry(tenant, &report.report_id, &points, now_ms())
                        .await
                    {
                        tracing::warn!(tenant = tenant.as_str(), %error, "queueing telemetry failed");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(tenant = tenant.as_str(), %error, "reading reports for telemetry failed")
            }
        }
        let due = match self
            .store
            .due_voltus_telemetry(tenant, now_ms(), TELEMETRY_BATCH)
            .await
        {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(tenant = tenant.as_str(), %error, "reading queued telemetry failed");
                return;
            }
        };
        // Never sent: a value no valid report yields (queued before reports were validated).
        let (due, broken): (Vec<_>, Vec<_>) = due
            .into_iter()
            .partition(|row| telemetry::sendable(row.point.value_kw));
        for row in &broken {
            tracing::warn!(tenant = tenant.as_str(), site = %row.point.site_id, seq = row.seq, "queued telemetry point is out of range; not sent");
        }
        self.finish(
            tenant,
            &broken,
            TelemetryOutcome::Failed {
                error: "the value is out of range".into(),
            },
        )
        .await;
        // One upload per site (oldest first), so one site's refused points cost no other site.
        let mut sites: Vec<(String, Vec<TelemetryRow>)> = Vec::new();
        for row in due {
            match sites
                .iter_mut()
                .find(|(site, _)| *site == row.point.site_id)
            {
                Some((_, rows)) => rows.push(row),
                None => sites.push((row.point.site_id.clone(), vec![row])),
            }
        }
        for (_, rows) in &sites {
            if let Flow::Stop = self.send_site(bridge, rows, deadline).await {
                break;
            }
        }
    }

    /// Sends one site's due points, splitting uploads Voltus refuses for their content.
    async fn send_site(
        &self,
        bridge: &TenantBridge,
        rows: &[TelemetryRow],
        deadline: &Deadline,
    ) -> Flow {
        let tenant = bridge.tenant.as_str();
        let mut pending: Vec<&[TelemetryRow]> = vec![rows];
        while let Some(chunk) = pending.pop() {
            if !deadline.allows_request() {
                return Flow::Stop;
            }
            let points: Vec<_> = chunk
                .iter()
                .map(|row| telemetry::wire(&row.point))
                .collect();
            let outcome = match self.client.post_telemetry(&bridge.account, &points).await {
                Ok(()) => {
                    tracing::info!(tenant, site = %chunk[0].point.site_id, points = points.len(), "telemetry sent to Voltus");
                    TelemetryOutcome::Sent
                }
                Err(VoltusError::Refused { status, message }) if refuses_points(status) => {
                    if chunk.len() > 1 {
                        tracing::info!(tenant, site = %chunk[0].point.site_id, points = chunk.len(), status, %message,
                            "Voltus refused telemetry; sending it in halves to find the refused points");
                        let (first, second) = chunk.split_at(chunk.len() / 2);
                        pending.push(second);
                        pending.push(first);
                        continue;
                    }
                    tracing::warn!(tenant, point = %points[0], status, %message, "Voltus refused a telemetry point; not retried");
                    TelemetryOutcome::Failed {
                        error: format!("HTTP {status}: {message}"),
                    }
                }
                Err(error) => {
                    let attempts = chunk.iter().map(|row| row.attempts).max().unwrap_or(0);
                    let delay = backoff(
                        bridge.poll_interval,
                        attempts.max(0) as u32,
                        self.settings.max_backoff,
                        error.retry_after(),
                    );
                    tracing::warn!(tenant, %error, "sending telemetry failed; will retry");
                    let retry = TelemetryOutcome::Retry {
                        next_attempt_ms: now_ms() + delay.as_millis() as i64,
                        error: error.to_string(),
                    };
                    self.finish(&bridge.tenant, chunk, retry).await;
                    return Flow::Stop;
                }
            };
            self.finish(&bridge.tenant, chunk, outcome).await;
        }
        Flow::Continue
    }

    /// Records how sending `rows` ended.
    async fn finish(&self, tenant: &TenantId, rows: &[TelemetryRow], outcome: TelemetryOutcome) {
        if rows.is_empty() {
            return;
        }
        let keys: Vec<(i64, String)> = rows
            .iter()
            .map(|row| (row.seq, row.report_id.clone()))
            .collect();
        if let Err(error) = self
            .store
            .finish_voltus_telemetry(tenant, &keys, &outcome, now_ms())
            .await
        {
            tracing::warn!(tenant = tenant.as_str(), %error, "recording telemetry failed");
        }
    }

    /// An inbound webhook named dispatch `id`: queue it for the replica that holds the tenant's
    /// lease (perhaps this one), which fetches it from the configured base URL and applies it
    /// like a poll would, within a tick. Applying it here instead could race that replica's
    /// poll and undo a newer version. `ServiceUnavailable` when too many are queued already.
    pub async fn on_webhook(&self, tenant: &TenantId, dispatch_id: &str) -> Result<(), ApiError> {
        let queued = self
            .store
            .enqueue_voltus_webhook(tenant, dispatch_id, now_ms(), MAX_QUEUED_WEBHOOKS)
            .await?;
        if !queued {
            tracing::warn!(
                tenant = tenant.as_str(),
                dispatch = dispatch_id,
                "too many Voltus webhooks queued; refusing one"
            );
            return Err(ApiError::ServiceUnavailable(
                "too many Voltus webhooks are waiting for this tenant; try again later".into(),
            ));
        }
        tracing::info!(
            tenant = tenant.as_str(),
            dispatch = dispatch_id,
            "Voltus webhook queued"
        );
        let counters = VoltusCounters {
            webhooks_received: 1,
            ..Default::default()
        };
        if let Err(error) = self.store.add_voltus_counters(tenant, &counters).await {
            tracing::warn!(tenant = tenant.as_str(), %error, "recording Voltus counters failed");
        }
        Ok(())
    }
}

/// The URL policy for Voltus base URLs: https and public addresses unless configured otherwise.
pub fn policy(args: &crate::config::VoltusPolicyArgs, timeout: Duration) -> CallbackPolicy {
    CallbackPolicy {
        allow_http: args.voltus_allow_http,
        allow_private: args.voltus_allow_private,
        own_hosts: Vec::new(),
        timeout,
    }
}

/// Starts the bridge's background task; it stops when `stop` becomes true.
pub fn start(
    bridge: &Arc<Bridge>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(bridge.clone().run(stop))
}

/// The bridge metrics of [`crate::monitoring`], for all tenants together (a per-tenant
/// label would grow with the tenants; per-tenant status is at `GET /bridge/voltus/status`).
fn record_poll_metrics(outcome: &PollOutcome, took: Duration) {
    use crate::monitoring::{BRIDGE_LAST_SUCCESS, BRIDGE_POLLS, BRIDGE_POLL_DURATION};
    let result = match outcome {
        PollOutcome::Success => "ok",
        _ => "error",
    };
    metrics::counter!(BRIDGE_POLLS, "bridge" => "voltus", "result" => result).increment(1);
    metrics::histogram!(BRIDGE_POLL_DURATION, "bridge" => "voltus").record(took.as_secs_f64());
    if result == "ok" {
        metrics::gauge!(BRIDGE_LAST_SUCCESS, "bridge" => "voltus").set(now_ms() as f64 / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_honours_retry_after() {
        let second = Duration::from_secs(1);
        for _ in 0..50 {
            let first = backoff(second, 0, Duration::from_secs(60), None);
            assert!(
                first >= Duration::from_millis(800) && first <= Duration::from_millis(1200),
                "{first:?}"
            );
            let third = backoff(second, 2, Duration::from_secs(60), None);
            assert!(
                third >= Duration::from_millis(3200) && third <= Duration::from_millis(4800),
                "{third:?}"
            );
            assert!(backoff(second, 30, Duration::from_secs(60), None) <= Duration::from_secs(60));
            assert!(
                backoff(
                    second,
                    0,
                    Duration::from_secs(60),
                    Some(Duration::from_secs(7))
                ) >= Duration::from_secs(7)
            );
        }
    }
}
