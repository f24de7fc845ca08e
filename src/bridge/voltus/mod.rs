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
//! [`Bridge::run`] is the background task: each tick it leases the tenants whose poll is due
//! (one replica per tenant at a time), polls `GET /dispatches`, applies the answer, forwards
//! telemetry, and schedules the next poll: the poll interval after a success, an exponential
//! backoff (at least Voltus's `Retry-After`) after a failure. Inbound webhooks fetch the one
//! dispatch they name and apply it the same way.

pub mod client;
pub mod mapping;
pub mod poller;
pub mod settings;
pub mod simulator;
pub mod telemetry;

use crate::config::VoltusArgs;
use crate::domain::TenantId;
use crate::notify::callback::CallbackPolicy;
use crate::store::{DynStore, PollOutcome, TelemetryOutcome, VoltusCounters};
use client::{VoltusClient, VoltusError};
use rand::Rng;
use settings::{Limits, TenantBridge};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Telemetry points per request.
const TELEMETRY_BATCH: i64 = 500;

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
    /// One pass or webhook at a time per tenant in this process.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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
            locks: Mutex::default(),
        }))
    }

    /// What a tenant's configuration may say, on this server.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self, tenant: &TenantId) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .expect("the lock map is never poisoned")
            .entry(tenant.0.clone())
            .or_default()
            .clone()
    }

    /// Runs until `stop` fires, then gives its leases back.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "Voltus bridge started");
        loop {
            let lease_ms = self.settings.lease.as_millis() as i64;
            match self
                .store
                .claim_voltus_bridges(&self.id, now_ms(), lease_ms, 16)
                .await
            {
                Ok(claimed) => {
                    let passes = claimed.iter().map(|record| {
                        let bridge = TenantBridge::from_record(record);
                        let this = self.clone();
                        async move { this.pass(bridge).await }
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

    /// One leased pass over a tenant: poll, apply, forward telemetry, schedule the next poll.
    async fn pass(&self, bridge: TenantBridge) {
        let lock = self.lock(&bridge.tenant);
        let _guard = lock.lock().await;
        let tenant = bridge.tenant.as_str();
        let mut counters = VoltusCounters {
            polls: 1,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let (outcome, retry_after) = match self.client.list_dispatches(&bridge.account).await {
            Ok(raws) => match poller::apply_all(&self.store, &bridge, raws, &mut counters).await {
                Ok(()) => (PollOutcome::Success, None),
                Err(error) => (
                    PollOutcome::Failure(format!("storing dispatches failed: {error}")),
                    None,
                ),
            },
            Err(error) => {
                tracing::warn!(tenant, %error, "polling Voltus failed");
                (PollOutcome::Failure(error.to_string()), error.retry_after())
            }
        };
        if matches!(outcome, PollOutcome::Failure(_)) {
            counters.poll_failures += 1;
        }
        record_poll_metrics(&outcome, started.elapsed());
        if bridge.telemetry && matches!(outcome, PollOutcome::Success) {
            self.forward_telemetry(&bridge).await;
        }
        let delay = match &outcome {
            PollOutcome::Failure(_) => backoff(
                bridge.poll_interval,
                bridge.consecutive_failures.max(0) as u32,
                self.settings.max_backoff,
                retry_after,
            ),
            _ => bridge.poll_interval,
        };
        let now = now_ms();
        if let Err(error) = self
            .store
            .finish_voltus_pass(
                &self.id,
                &bridge.tenant,
                now,
                now + delay.as_millis() as i64,
                &outcome,
                &counters,
            )
            .await
        {
            tracing::warn!(tenant, %error, "recording a Voltus poll failed");
        }
    }

    /// Turns new reports of bridged events into queued telemetry, then sends what is due.
    async fn forward_telemetry(&self, bridge: &TenantBridge) {
        let tenant = &bridge.tenant;
        match self.store.unforwarded_voltus_reports(tenant, 100).await {
            Ok(reports) => {
                for report in reports {
                    let points = telemetry::points_of_report(&report.body, &report.site_id);
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
            Ok(due) if !due.is_empty() => due,
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(tenant = tenant.as_str(), %error, "reading queued telemetry failed");
                return;
            }
        };
        let points: Vec<_> = due.iter().map(|row| telemetry::wire(&row.point)).collect();
        let seqs: Vec<i64> = due.iter().map(|row| row.seq).collect();
        let attempts = due.iter().map(|row| row.attempts).max().unwrap_or(0);
        let outcome = match self.client.post_telemetry(&bridge.account, &points).await {
            Ok(()) => {
                tracing::info!(
                    tenant = tenant.as_str(),
                    points = points.len(),
                    "telemetry sent to Voltus"
                );
                TelemetryOutcome::Sent
            }
            Err(VoltusError::Refused { status, message }) if status != 401 && status != 403 => {
                tracing::warn!(tenant = tenant.as_str(), status, %message, "Voltus refused telemetry; not retried");
                TelemetryOutcome::Failed {
                    error: format!("HTTP {status}: {message}"),
                }
            }
            Err(error) => {
                let delay = backoff(
                    bridge.poll_interval,
                    attempts.max(0) as u32,
                    self.settings.max_backoff,
                    error.retry_after(),
                );
                tracing::warn!(tenant = tenant.as_str(), %error, "sending telemetry failed; will retry");
                TelemetryOutcome::Retry {
                    next_attempt_ms: now_ms() + delay.as_millis() as i64,
                    error: error.to_string(),
                }
            }
        };
        if let Err(error) = self
            .store
            .finish_voltus_telemetry(tenant, &seqs, &outcome, now_ms())
            .await
        {
            tracing::warn!(tenant = tenant.as_str(), %error, "recording telemetry failed");
        }
    }

    /// An inbound webhook named dispatch `id`: fetch it from the configured base URL (a few
    /// tries on 429 and 5xx) and apply it. Runs in the background; the webhook was answered.
    pub fn on_webhook(self: &Arc<Self>, bridge: TenantBridge, dispatch_id: String) {
        let this = self.clone();
        tokio::spawn(async move {
            let lock = this.lock(&bridge.tenant);
            let tenant = bridge.tenant.as_str();
            let mut counters = VoltusCounters {
                webhooks_received: 1,
                ..Default::default()
            };
            let mut fetched = None;
            for attempt in 0..4u32 {
                match this
                    .client
                    .get_dispatch(&bridge.account, &dispatch_id)
                    .await
                {
                    Ok(found) => {
                        fetched = Some(found);
                        break;
                    }
                    Err(
                        error @ (VoltusError::RateLimited { .. }
                        | VoltusError::Server { .. }
                        | VoltusError::Unreachable(_)),
                    ) => {
                        tracing::warn!(tenant, dispatch = %dispatch_id, %error, "fetching a webhook's dispatch failed; retrying");
                        let wait = backoff(
                            Duration::from_millis(500),
                            attempt,
                            Duration::from_secs(10),
                            error.retry_after(),
                        );
                        tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
                    }
                    Err(error) => {
                        tracing::warn!(tenant, dispatch = %dispatch_id, %error, "fetching a webhook's dispatch failed");
                        break;
                    }
                }
            }
            match fetched {
                Some(Some(raw)) => {
                    let _guard = lock.lock().await;
                    if let Err(error) =
                        poller::apply_all(&this.store, &bridge, vec![raw], &mut counters).await
                    {
                        tracing::warn!(tenant, dispatch = %dispatch_id, %error, "applying a webhook's dispatch failed");
                    }
                }
                Some(None) => {
                    tracing::warn!(tenant, dispatch = %dispatch_id, "Voltus does not know the webhook's dispatch")
                }
                None => {
                    tracing::warn!(tenant, dispatch = %dispatch_id, "the webhook's dispatch could not be fetched; the next poll catches up")
                }
            }
            if let Err(error) = this
                .store
                .add_voltus_counters(&bridge.tenant, &counters)
                .await
            {
                tracing::warn!(tenant, %error, "recording Voltus counters failed");
            }
        });
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
