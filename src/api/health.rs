//! Liveness and readiness for orchestrators (Kubernetes probes, load balancers).

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// What `/health` and `/ready` answer when all is well.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProbeStatus {
    /// `ok` (health) or `ready` (readiness).
    #[schema(example = "ok")]
    status: String,
}

/// Liveness: the process is up
///
/// 200 while the process serves HTTP, whatever the database does (Kubernetes liveness and
/// startup probes).
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is alive.", body = ProbeStatus,
        example = json!({"status": "ok"}))))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers and is current
///
/// 200 when the database answers and has every migration of this build applied; a 503 problem
/// otherwise, so load balancers send traffic to other replicas.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve: the database answers and its schema is current.",
            body = ProbeStatus, example = json!({"status": "ready"})),
        (status = 503, description = "The database is unreachable, or a migration of this build is not applied.",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .store
        .ping()
        .await
        .map_err(|e| ApiError::ServiceUnavailable(format!("database ping failed: {e}")))?;
    let current =
        state.store.migrations_current().await.map_err(|e| {
            ApiError::ServiceUnavailable(format!("reading the migrations failed: {e}"))
        })?;
    if !current {
        return Err(ApiError::ServiceUnavailable(
            "the database lacks migrations of this build".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
