//! Prometheus metrics, served at `GET /metrics` by the handler in `api/metrics.rs`.
//!
//! Code records through the [`metrics`] facade (`metrics::counter!`, `gauge!`, `histogram!`);
//! one process-wide recorder from `metrics-exporter-prometheus` keeps them, and the `/metrics`
//! handler renders them in the Prometheus text format (no listener of its own: the server's port
//! serves it). Figures that live in the database (pool use, outbox backlog) are read when
//! scraped, so they are current and cost nothing between scrapes.
//!
//! Metric names (the README lists them too):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `vtn_http_requests_total` | counter | `method`, `route` (the route pattern, e.g. `/api/openadr/v1/programs/{programID}`, or `unmatched`), `status` |
//! | `vtn_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `vtn_db_pool_connections` | gauge | `pool` (`read`/`write` on SQLite, `main` on PostgreSQL) |
//! | `vtn_db_pool_idle_connections` | gauge | `pool` |
//! | `vtn_db_pool_max_connections` | gauge | `pool` |
//! | `vtn_outbox_changes_pending` | gauge | |
//! | `vtn_outbox_deliveries_pending` | gauge | |
//! | `vtn_outbox_deliveries_failed` | gauge | (given up, kept until purged) |
//! | `vtn_webhook_delivery_attempts_total` | counter | `outcome` = `delivered`, `retry`, `failed` |
//! | `vtn_webhook_delivery_duration_seconds` | histogram | `outcome` |
//! | `vtn_build_info` | gauge (1) | `version` |
//!
//! Recorded by bridges (`src/bridge/voltus/`) with the facade:
//! `vtn_bridge_polls_total{bridge, result}` (counter; `result` = `ok` or `error`),
//! `vtn_bridge_last_success_timestamp_seconds{bridge}` (gauge, Unix seconds) and
//! `vtn_bridge_poll_duration_seconds{bridge}` (histogram).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

pub const HTTP_REQUESTS: &str = "vtn_http_requests_total";
pub const HTTP_DURATION: &str = "vtn_http_request_duration_seconds";
pub const DB_POOL_CONNECTIONS: &str = "vtn_db_pool_connections";
pub const DB_POOL_IDLE: &str = "vtn_db_pool_idle_connections";
pub const DB_POOL_MAX: &str = "vtn_db_pool_max_connections";
pub const OUTBOX_CHANGES_PENDING: &str = "vtn_outbox_changes_pending";
pub const OUTBOX_DELIVERIES_PENDING: &str = "vtn_outbox_deliveries_pending";
pub const OUTBOX_DELIVERIES_FAILED: &str = "vtn_outbox_deliveries_failed";
pub const WEBHOOK_ATTEMPTS: &str = "vtn_webhook_delivery_attempts_total";
pub const WEBHOOK_DURATION: &str = "vtn_webhook_delivery_duration_seconds";
pub const BUILD_INFO: &str = "vtn_build_info";
/// Bridges: polls by `bridge` and `result` (`ok`, `error`).
pub const BRIDGE_POLLS: &str = "vtn_bridge_polls_total";
/// Bridges: Unix time of the last successful poll, by `bridge`.
pub const BRIDGE_LAST_SUCCESS: &str = "vtn_bridge_last_success_timestamp_seconds";
/// Bridges: poll duration by `bridge`.
pub const BRIDGE_POLL_DURATION: &str = "vtn_bridge_poll_duration_seconds";

/// Buckets of the HTTP latency histogram, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets of webhook sends and bridge polls: network calls to other parties.
const REMOTE_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process-wide recorder, installed on first use. Later calls (several servers in one test
/// process) share it; a recorder installed by someone else leaves `None`, and `/metrics` then
/// answers 503.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), HTTP_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full(WEBHOOK_DURATION.into()), REMOTE_BUCKETS)
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(BRIDGE_POLL_DURATION.into()),
                        REMOTE_BUCKETS,
                    )
                })
                .map_err(|e| e.to_string())
                .and_then(|b| b.install_recorder().map_err(|e| e.to_string()));
            match handle {
                Ok(handle) => {
                    describe();
                    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed; /metrics is unavailable");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route pattern and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by method and route pattern."
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Open database connections (idle or in use) by pool."
    );
    describe_gauge!(DB_POOL_IDLE, "Idle database connections by pool.");
    describe_gauge!(DB_POOL_MAX, "Maximum database connections by pool.");
    describe_gauge!(
        OUTBOX_CHANGES_PENDING,
        "Changes not yet fanned out into webhook deliveries."
    );
    describe_gauge!(
        OUTBOX_DELIVERIES_PENDING,
        "Webhook deliveries waiting for their first attempt or a retry."
    );
    describe_gauge!(
        OUTBOX_DELIVERIES_FAILED,
        "Webhook deliveries given up on and not yet purged."
    );
    describe_counter!(
        WEBHOOK_ATTEMPTS,
        "Webhook delivery attempts of this process by outcome (delivered, retry, failed)."
    );
    describe_histogram!(
        WEBHOOK_DURATION,
        Unit::Seconds,
        "Duration of webhook delivery attempts by outcome."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the build.");
    describe_counter!(BRIDGE_POLLS, "Bridge polls by bridge and result.");
    describe_gauge!(
        BRIDGE_LAST_SUCCESS,
        Unit::Seconds,
        "Unix time of each bridge's last successful poll."
    );
    describe_histogram!(
        BRIDGE_POLL_DURATION,
        Unit::Seconds,
        "Duration of bridge polls by bridge."
    );
}

/// Counts every request by route pattern (never the raw path: ids would make a series each,
/// and a secret path segment such as the Voltus webhook's would become a label) and status, and
/// observes its latency. Wraps everything else, so it sees the final status.
pub async fn record_http(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter!(
        HTTP_REQUESTS,
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.as_str().to_owned()
    )
    .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route).record(elapsed);
    result
}

/// Records one webhook delivery attempt (called by the delivery worker).
pub fn record_delivery(outcome: &'static str, seconds: f64) {
    metrics::counter!(WEBHOOK_ATTEMPTS, "outcome" => outcome).increment(1);
    metrics::histogram!(WEBHOOK_DURATION, "outcome" => outcome).record(seconds);
}
