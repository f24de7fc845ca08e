//! `GET /metrics`: the process's Prometheus metrics (see [`crate::monitoring`] for what they are),
//! with the figures that live in the database read when scraped.

use crate::error::{ApiError, BearerChallenge};
use crate::monitoring::{
    handle, DB_POOL_CONNECTIONS, DB_POOL_IDLE, DB_POOL_MAX, OUTBOX_CHANGES_PENDING,
    OUTBOX_DELIVERIES_FAILED, OUTBOX_DELIVERIES_PENDING,
};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// The bearer token `/metrics` requires, when configured.
#[derive(Clone)]
pub struct MetricsToken(pub Option<String>);

/// Prometheus metrics
///
/// HTTP requests, database pools, webhook outbox and deliveries, bridges, in the Prometheus text
/// format. Unauthenticated unless the server has `VTN_METRICS_TOKEN`; off with
/// `VTN_METRICS=false`.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "The metrics, in the Prometheus text exposition format 0.0.4.",
            body = String, content_type = "text/plain; version=0.0.4",
            example = "vtn_http_requests_total{method=\"GET\",route=\"/api/openadr/v1/programs\",status=\"200\"} 3"),
        (status = 401, description = "`VTN_METRICS_TOKEN` is set and the request does not carry it as a bearer token.",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "No metrics recorder could be installed in this process.",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn metrics_endpoint(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(Some(expected)) = req.app_data::<MetricsToken>().map(|t| t.0.as_ref()) {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Digests compared, so the time taken says nothing about the token's bytes.
        let digest = |s: &str| ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
        match given {
            None => return Err(ApiError::Unauthorized(BearerChallenge::Missing)),
            Some(given) if digest(given).as_ref() != digest(expected).as_ref() => {
                return Err(ApiError::Unauthorized(BearerChallenge::InvalidToken(
                    "not the metrics token".into(),
                )))
            }
            Some(_) => {}
        }
    }
    let handle = handle()
        .ok_or_else(|| ApiError::ServiceUnavailable("no metrics recorder installed".into()))?;
    for pool in state.store.pool_stats() {
        metrics::gauge!(DB_POOL_CONNECTIONS, "pool" => pool.name).set(pool.size as f64);
        metrics::gauge!(DB_POOL_IDLE, "pool" => pool.name).set(pool.idle as f64);
        metrics::gauge!(DB_POOL_MAX, "pool" => pool.name).set(pool.max as f64);
    }
    match state.store.outbox_depth().await {
        Ok(depth) => {
            metrics::gauge!(OUTBOX_CHANGES_PENDING).set(depth.changes_pending as f64);
            metrics::gauge!(OUTBOX_DELIVERIES_PENDING).set(depth.deliveries_pending as f64);
            metrics::gauge!(OUTBOX_DELIVERIES_FAILED).set(depth.deliveries_failed as f64);
        }
        // The rest is still worth scraping; the outbox figures keep their last values.
        Err(error) => tracing::warn!(%error, "reading the outbox depth for /metrics failed"),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(handle.render()))
}
