//! Webhook notifications to subscriptions' callback URLs.
//!
//! The path of a notification:
//! 1. every create, update and delete of an OpenADR object records a row in the `changes`
//!    outbox in the same transaction (`store::sql::record_change`);
//! 2. a worker claims changes, decides which subscriptions may hear of each ([`fanout`]) and
//!    stores one delivery per subscription and callback URL, atomically;
//! 3. a worker claims due deliveries and POSTs them, signed ([`signing`]), to URLs the
//!    [`callback`] policy allows, retrying failures on a schedule ([`worker`]).
//!
//! A subscription's callbacks are checked with the OpenADR `echo` challenge when it is created or
//! changed ([`Webhooks::verify_subscription`]).

pub mod callback;
pub mod fanout;
pub mod signing;
pub mod worker;

use crate::config::WebhookArgs;
use crate::domain::subscription::Subscription;
use crate::error::ApiError;
use crate::store::DynStore;
use callback::CallbackPolicy;
use std::sync::Arc;
use std::time::Duration;

/// The callback policy and the HTTP client every callback request goes through.
pub struct Webhooks {
    pub policy: CallbackPolicy,
    pub client: reqwest::Client,
    /// Distinct callback URLs one subscription may name.
    pub max_callbacks: usize,
}

impl Webhooks {
    /// `own_hosts`: host names of this server (from its public URL), which callbacks may not name.
    pub fn new(args: &WebhookArgs, own_hosts: Vec<String>) -> anyhow::Result<Self> {
        anyhow::ensure!(
            args.webhook_timeout_seconds > 0.0 && args.webhook_timeout_seconds.is_finite(),
            "VTN_WEBHOOK_TIMEOUT_SECONDS must be a positive number"
        );
        let policy = CallbackPolicy {
            allow_http: args.webhook_allow_http,
            allow_private: args.webhook_allow_private,
            own_hosts,
            timeout: Duration::from_secs_f64(args.webhook_timeout_seconds),
        };
        anyhow::ensure!(
            args.webhook_max_callbacks > 0,
            "VTN_WEBHOOK_MAX_CALLBACKS must be at least 1"
        );
        let client = policy.client()?;
        Ok(Self {
            policy,
            client,
            max_callbacks: args.webhook_max_callbacks,
        })
    }

    /// The `echo` challenge of the OpenADR 3 Definition ("Subscriptions"), for every callback of
    /// `subscription` not in `known` (the callbacks of the subscription before an update, which
    /// were verified then). The first failure is a 400 naming the entry and the reason; so is a
    /// subscription with more distinct callback URLs than allowed.
    pub async fn verify_subscription(
        &self,
        subscription: &Subscription,
        known: Option<&Subscription>,
    ) -> Result<(), ApiError> {
        let mut urls: Vec<&str> = Vec::new();
        for entry in &subscription.object_operations {
            if !urls.contains(&entry.callback_url.as_str()) {
                urls.push(&entry.callback_url);
            }
        }
        if urls.len() > self.max_callbacks {
            return Err(ApiError::bad_request(format!(
                "objectOperations: {} distinct callback URLs; a subscription may name at most {} \
                 (VTN_WEBHOOK_MAX_CALLBACKS)",
                urls.len(),
                self.max_callbacks
            )));
        }
        let mut verified: Vec<(&str, Option<&str>)> = Vec::new();
        for (i, entry) in subscription.object_operations.iter().enumerate() {
            let key = (entry.callback_url.as_str(), entry.bearer_token.as_deref());
            let was_known = known.is_some_and(|k| {
                k.object_operations
                    .iter()
                    .any(|o| (o.callback_url.as_str(), o.bearer_token.as_deref()) == key)
            });
            if was_known || verified.contains(&key) {
                continue;
            }
            self.policy
                .verify_echo(&self.client, key.0, key.1)
                .await
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "objectOperations[{i}].callbackUrl: verification failed: {e}"
                    ))
                })?;
            verified.push(key);
        }
        Ok(())
    }
}

/// Starts the delivery worker; it stops when `stop` becomes true.
pub fn start_worker(
    store: DynStore,
    webhooks: &Webhooks,
    args: &WebhookArgs,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    anyhow::ensure!(
        args.webhook_retry_schedule
            .iter()
            .all(|s| s.is_finite() && *s >= 0.0),
        "VTN_WEBHOOK_RETRY_SCHEDULE must list delays in seconds"
    );
    anyhow::ensure!(
        args.webhook_concurrency_per_subscriber >= 1
            && args.webhook_concurrency_per_tenant >= args.webhook_concurrency_per_subscriber
            && args.webhook_concurrency >= args.webhook_concurrency_per_tenant,
        "webhook concurrency: need 1 <= VTN_WEBHOOK_CONCURRENCY_PER_SUBSCRIBER <= \
         VTN_WEBHOOK_CONCURRENCY_PER_TENANT <= VTN_WEBHOOK_CONCURRENCY"
    );
    let lease = Duration::from_secs_f64(args.webhook_lease_seconds.max(0.1));
    anyhow::ensure!(
        lease > webhooks.policy.timeout,
        "VTN_WEBHOOK_LEASE_SECONDS must be longer than VTN_WEBHOOK_TIMEOUT_SECONDS"
    );
    let settings = worker::WorkerSettings {
        retry_schedule: args
            .webhook_retry_schedule
            .iter()
            .map(|s| Duration::from_secs_f64(*s))
            .collect(),
        concurrency: args.webhook_concurrency.max(1),
        per_subscriber: args.webhook_concurrency_per_subscriber.max(1),
        per_tenant: args.webhook_concurrency_per_tenant.max(1),
        poll: Duration::from_millis(args.webhook_poll_ms.max(10)),
        lease,
        retention: Duration::from_secs(args.webhook_retention_hours * 3600),
    };
    let worker = worker::Worker::new(
        store,
        webhooks.policy.clone(),
        webhooks.client.clone(),
        settings,
    );
    Ok(tokio::spawn(Arc::clone(&worker).run(stop)))
}
