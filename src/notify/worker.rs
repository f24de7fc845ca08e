//! The delivery worker: fans changes out into deliveries, sends them, retries failures.
//!
//! It runs in every server process that has delivery enabled. Each pass claims work with a lease
//! (see `store::outbox`), so any number of processes can share one PostgreSQL database; SQLite
//! has one process. Sends run concurrently up to a limit, each bounded by the callback timeout,
//! and shared out: one subscriber (the client that created the subscriptions) holds at most
//! `per_subscriber` slots and one tenant at most `per_tenant`, so a receiver that hangs — or a
//! subscriber with many callbacks — slows its own notifications, never another subscriber's or
//! another tenant's. The shares hold per process; with several replicas each has its own.
//!
//! A delivery goes to its subscription as it is when sent: the callback URL decided at fan-out
//! (a subscription update moves pending deliveries to its new callbacks, see
//! `store::SubscriptionStore::update_subscription`) with the bearer token that entry has now.

use super::callback::{CallbackError, CallbackPolicy};
use super::fanout::FanOut;
use super::signing;
use crate::domain::subscription::{object_type_name, Subscription};
use crate::store::{AttemptOutcome, ClaimShares, DeliveryJob, DynStore, StoreResult};
use rand::Rng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Settings of the worker, from `config::WebhookArgs`.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Delay before each retry; attempts = schedule length + 1.
    pub retry_schedule: Vec<Duration>,
    pub concurrency: usize,
    /// Sends to one subscriber at a time (at most).
    pub per_subscriber: usize,
    /// Sends to one tenant's subscribers at a time (at most).
    pub per_tenant: usize,
    pub poll: Duration,
    pub lease: Duration,
    pub retention: Duration,
}

pub struct Worker {
    store: DynStore,
    policy: CallbackPolicy,
    client: reqwest::Client,
    settings: WorkerSettings,
    /// Random per process: leases name their holder.
    id: String,
    slots: Arc<Semaphore>,
    in_flight: Mutex<InFlight>,
}

/// Sends in progress in this process, by subscriber and by tenant.
#[derive(Default)]
struct InFlight {
    subscribers: HashMap<String, usize>,
    tenants: HashMap<String, usize>,
}

impl InFlight {
    fn full(&self, settings: &WorkerSettings) -> (Vec<String>, Vec<String>) {
        let at = |map: &HashMap<String, usize>, cap: usize| {
            map.iter()
                .filter(|(_, n)| **n >= cap)
                .map(|(key, _)| key.clone())
                .collect()
        };
        (
            at(&self.subscribers, settings.per_subscriber),
            at(&self.tenants, settings.per_tenant),
        )
    }

    /// Counts the send in, unless its subscriber or tenant is at its share.
    fn admit(&mut self, job: &DeliveryJob, settings: &WorkerSettings) -> bool {
        let subscriber = self.subscribers.get(&job.subscriber).copied().unwrap_or(0);
        let tenant = self.tenants.get(job.tenant.as_str()).copied().unwrap_or(0);
        if subscriber >= settings.per_subscriber || tenant >= settings.per_tenant {
            return false;
        }
        *self.subscribers.entry(job.subscriber.clone()).or_default() += 1;
        *self.tenants.entry(job.tenant.0.clone()).or_default() += 1;
        true
    }

    fn release(&mut self, job: &DeliveryJob) {
        for (map, key) in [
            (&mut self.subscribers, job.subscriber.as_str()),
            (&mut self.tenants, job.tenant.as_str()),
        ] {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Retry delay after `attempts` failed attempts: the schedule's entry, ±20 % so that receivers
/// coming back are not hit by every retry at once, and never shorter than what the receiver
/// asked for with `Retry-After` (capped at twice the scheduled delay, as Svix does).
fn retry_delay(schedule: &[Duration], attempts: usize, retry_after: Option<Duration>) -> Duration {
    let base = schedule[(attempts - 1).min(schedule.len() - 1)];
    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
    let delay = base.mul_f64(jitter);
    match retry_after {
        Some(asked) => delay.max(asked.min(base * 2)),
        None => delay,
    }
}

impl Worker {
    pub fn new(
        store: DynStore,
        policy: CallbackPolicy,
        client: reqwest::Client,
        settings: WorkerSettings,
    ) -> Arc<Self> {
        let slots = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        Arc::new(Self {
            store,
            policy,
            client,
            settings,
            id: uuid::Uuid::new_v4().to_string(),
            slots,
            in_flight: Mutex::default(),
        })
    }

    /// Runs until `stop` fires, then gives back this process's leases so that other replicas
    /// (or the next start) take its unfinished work at once instead of after the lease.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let signal = self.store.outbox_signal();
        let mut last_purge = std::time::Instant::now();
        tracing::info!(worker = %self.id, "webhook delivery worker started");
        loop {
            let busy = match self.pass().await {
                Ok(busy) => busy,
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery pass failed; retrying");
                    false
                }
            };
            if last_purge.elapsed() > Duration::from_secs(600) {
                last_purge = std::time::Instant::now();
                let before = now_ms() - self.settings.retention.as_millis() as i64;
                if let Err(error) = self.store.purge_outbox(before).await {
                    tracing::warn!(%error, "purging old deliveries failed");
                }
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = signal.notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        // Wait for sends in flight, then release what is still leased.
        let _ = self
            .slots
            .acquire_many(self.settings.concurrency.max(1) as u32)
            .await;
        if let Err(error) = self.store.release_leases(&self.id).await {
            tracing::warn!(%error, "releasing delivery leases failed");
        }
        tracing::info!(worker = %self.id, "webhook delivery worker stopped");
    }

    /// One round: fan out pending changes, start due deliveries. `true` when it found work (so
    /// the loop goes on without sleeping).
    async fn pass(self: &Arc<Self>) -> StoreResult<bool> {
        let lease = self.settings.lease.as_millis() as i64;
        let changes = self
            .store
            .claim_changes(&self.id, now_ms(), lease, 50)
            .await?;
        for change in &changes {
            let deliveries = FanOut::new(&self.store, change).deliveries().await?;
            let count = deliveries.len();
            if self
                .store
                .complete_fan_out(&self.id, change, &deliveries, now_ms())
                .await?
            {
                tracing::debug!(change = change.seq, deliveries = count, "change fanned out");
            }
        }
        let free = self.slots.available_permits();
        if free == 0 {
            return Ok(!changes.is_empty());
        }
        let (full_subscribers, full_tenants) = self.in_flight().full(&self.settings);
        let shares = ClaimShares {
            per_subscriber: self.settings.per_subscriber as i64,
            per_tenant: self.settings.per_tenant as i64,
            full_subscribers,
            full_tenants,
        };
        let jobs = self
            .store
            .claim_deliveries(&self.id, now_ms(), lease, free as i64, &shares)
            .await?;
        let found = !changes.is_empty() || !jobs.is_empty();
        for job in jobs {
            // The claim took at most a share per subscriber and tenant, but sends already in
            // flight count too: what is over the share goes back for a later pass.
            if !self.in_flight().admit(&job, &self.settings) {
                self.store.release_delivery(&self.id, job.seq).await?;
                continue;
            }
            let permit = self
                .slots
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let worker = self.clone();
            tokio::spawn(async move {
                worker.deliver(&job).await;
                worker.in_flight().release(&job);
                drop(permit);
            });
        }
        Ok(found)
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, InFlight> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn deliver(&self, job: &DeliveryJob) {
        let started = std::time::Instant::now();
        let attempt = self.attempt(job).await;
        let attempts = job.attempts as usize + 1;
        let outcome = match attempt {
            Ok(status) => AttemptOutcome::Delivered { status },
            Err(failure) if failure.superseded => AttemptOutcome::Superseded,
            Err(failure) if failure.gone || attempts > self.settings.retry_schedule.len() => {
                AttemptOutcome::GaveUp {
                    status: failure.status,
                    error: failure.error,
                }
            }
            Err(failure) => {
                let delay =
                    retry_delay(&self.settings.retry_schedule, attempts, failure.retry_after);
                AttemptOutcome::Retry {
                    status: failure.status,
                    error: failure.error,
                    next_attempt_ms: now_ms() + delay.as_millis() as i64,
                }
            }
        };
        crate::monitoring::record_delivery(
            match outcome {
                AttemptOutcome::Delivered { .. } => "delivered",
                AttemptOutcome::Retry { .. } => "retry",
                AttemptOutcome::GaveUp { .. } => "failed",
                AttemptOutcome::Superseded => "superseded",
            },
            started.elapsed().as_secs_f64(),
        );
        tracing::info!(
            notification = %job.id,
            subscription = %job.subscription_id,
            object_type = %job.object_type,
            operation = %job.operation,
            attempt = attempts,
            elapsed_ms = started.elapsed().as_millis() as u64,
            outcome = ?outcome,
            "webhook delivery attempt"
        );
        if let Err(error) = self
            .store
            .finish_delivery(&self.id, job.seq, &outcome, now_ms())
            .await
        {
            // The lease runs out and the delivery is tried again: at least once, never lost.
            tracing::warn!(%error, notification = %job.id, "recording a delivery attempt failed");
        }
    }

    /// POSTs the notification; the HTTP status on 2xx.
    async fn attempt(&self, job: &DeliveryJob) -> Result<i32, Failure> {
        let bearer_token = current_bearer_token(job).ok_or_else(Failure::superseded)?;
        // The policy may have been tightened since the subscription was created.
        let url = self
            .policy
            .check_url(&job.callback_url)
            .map_err(|e| Failure::permanent(e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp();
        let body = job.notification.as_bytes();
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &job.id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = &job.signing_secret {
            request = request
                .header(
                    "webhook-signature",
                    signing::standard_webhooks_signature(secret, &job.id, timestamp, body),
                )
                .header(
                    "X-Payload-Signature",
                    signing::volue_payload_signature(secret, body),
                );
        }
        if let Some(token) = bearer_token {
            request = request.bearer_auth(token);
        }
        let response = request
            .body(job.notification.clone())
            .send()
            .await
            .map_err(|e| Failure::transient(None, self.policy.map_error(e).to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16() as i32);
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut failure = Failure::transient(
            Some(status.as_u16() as i32),
            CallbackError::Status(status.as_u16()).to_string(),
        );
        failure.retry_after = retry_after;
        // 410 Gone: the receiver says this endpoint is no more (Standard Webhooks).
        failure.gone = status == reqwest::StatusCode::GONE;
        Err(failure)
    }
}

/// The bearer token of the subscription's entry for the delivery's callback, object type and
/// operation, as the subscription is now: `Some(None)` for an entry without a token, `None` when
/// the subscription no longer has such an entry (it changed since the claim).
fn current_bearer_token(job: &DeliveryJob) -> Option<Option<String>> {
    let subscription: Subscription = serde_json::from_str(&job.subscription).ok()?;
    subscription
        .object_operations
        .into_iter()
        .find(|entry| {
            entry.callback_url == job.callback_url
                && entry
                    .objects
                    .iter()
                    .any(|o| object_type_name(*o) == job.object_type)
                && entry
                    .operations
                    .iter()
                    .any(|o| o.canonical() == job.operation)
        })
        .map(|entry| entry.bearer_token)
}

struct Failure {
    status: Option<i32>,
    error: String,
    retry_after: Option<Duration>,
    /// Never retried.
    gone: bool,
    /// The subscription no longer asks for it: not sent, not retried.
    superseded: bool,
}

impl Failure {
    fn transient(status: Option<i32>, error: String) -> Self {
        Self {
            status,
            error,
            retry_after: None,
            gone: false,
            superseded: false,
        }
    }

    fn permanent(error: String) -> Self {
        Self {
            gone: true,
            ..Self::transient(None, error)
        }
    }

    fn superseded() -> Self {
        Self {
            superseded: true,
            ..Self::transient(None, "the subscription no longer asks for it".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_schedule_within_twenty_percent() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(300)];
        for _ in 0..100 {
            let first = retry_delay(&schedule, 1, None).as_secs_f64();
            assert!((4.0..=6.0).contains(&first), "{first}");
            let second = retry_delay(&schedule, 2, None).as_secs_f64();
            assert!((240.0..=360.0).contains(&second), "{second}");
            // Past the schedule's end the last delay repeats.
            let later = retry_delay(&schedule, 9, None).as_secs_f64();
            assert!((240.0..=360.0).contains(&later), "{later}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_twice_the_scheduled_delay() {
        let schedule = [Duration::from_secs(5)];
        let asked = retry_delay(&schedule, 1, Some(Duration::from_secs(8)));
        assert!(asked >= Duration::from_secs(8));
        let capped = retry_delay(&schedule, 1, Some(Duration::from_secs(3600)));
        assert!(capped <= Duration::from_secs(10), "{capped:?}");
    }
}
