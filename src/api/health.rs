//! Liveness and readiness for orchestrators (Kubernetes probes, load balancers).

use crate::error::ApiError;
use crate::startup::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// Liveness: the process is up and serving HTTP.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is alive.")))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers. 503 while it does not, so traffic goes to other replicas.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve."),
        (status = 503, description = "The database is unreachable.", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::ServiceUnavailable(format!("database ping failed: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
