//! The Voltus bridge's HTTP endpoints: its per-tenant configuration (operators, `/admin/…`), its
//! health (the tenant's business logic) and the inbound webhook Voltus calls.

use super::extract::ValidJson;
use super::guard::Authorized;
use super::guard::{Admin, RequiredScope};
use super::resource;
use crate::auth::Principal;
use crate::bridge::voltus::mapping::valid_voltus_id;
use crate::bridge::voltus::settings::{self, VoltusConfig, VoltusConfigInput, VoltusStatus};
use crate::domain::admin::parse_tenant_id;
use crate::domain::{Role, Scope};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/admin/tenants/{tenantId}/voltus", "GET, PUT, DELETE")
            .get(get_config)
            .put(put_config)
            .delete(delete_config),
    )
    .service(resource("/bridge/voltus/status", "GET").get(status))
    .service(resource("/bridge/voltus/{tenantId}/webhook/{secret}", "POST").post(webhook));
}

/// Business logic reading its tenant's bridge: `read_all`, and the `bl` role.
pub struct BusinessLogicRead;
impl RequiredScope for BusinessLogicRead {
    const SCOPE: Scope = Scope::ReadAll;
    fn allows(p: &Principal) -> bool {
        p.role == Role::BusinessLogic && p.has(Scope::ReadAll)
    }
    /// A VEN client that holds `read_all` is refused for its role, without a challenge: an
    /// `insufficient_scope` naming `read_all` would send it for a scope it already has.
    fn refusal(p: &Principal) -> ApiError {
        if p.has(Scope::ReadAll) {
            ApiError::Denied("the Voltus bridge status is for business-logic clients".into())
        } else {
            ApiError::Forbidden(Self::SCOPE.as_str())
        }
    }
}

/// Configure a tenant's Voltus bridge
///
/// Creates or replaces the bridge that turns the tenant's Voltus dispatches into OpenADR events;
/// a poll follows at once. `apiKey` is required the first time and kept when omitted later; it
/// is never returned (`apiKeyHint` shows its last four characters). The answer holds
/// `webhookPath`, the inbound webhook to register with Voltus (`POST /2022-04-15/webhooks`).
///
/// Mapping (one event per dispatch and site): program `voltus-{program.id}` (or `programName`;
/// test dispatches in `…-test` by default), created when missing; `eventName`
/// `[TEST:]voltus:{market}:{program.id}:{dispatch.id}:{site.id}`; targets
/// `[{type: RESOURCE_NAME, values: [customer_location_id or site id]}]`; `intervalPeriod.start` =
/// `start_time`, `duration` = `end_time − start_time` or `P9999Y` while there is no end;
/// payloads `SIMPLE [1]` and, when the site's commitment is a number,
/// `DISPATCH_SETPOINT_RELATIVE [commitment]` in kW. `authorized: false` sets the events to a
/// zero-length window at `0001-01-01T00:00:00Z` with `SIMPLE [0]`, or deletes them
/// (`cancellation: delete`).
#[utoipa::path(put, path = "/admin/tenants/{tenantId}/voltus", tag = "admin", operation_id = "putVoltusBridge",
    params(("tenantId" = String, Path, description = "Tenant id.")),
    request_body = VoltusConfigInput,
    responses(
        (status = 200, description = "Configured; `webhookPath` holds the webhook secret.", body = VoltusConfig),
        (status = 400, description = "Bad Request, e.g. a base URL the server may not call or a poll interval out of bounds.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn put_config(
    state: web::Data<AppState>,
    caller: Authorized<Admin>,
    tenant: web::Path<String>,
    ValidJson(input): ValidJson<VoltusConfigInput>,
) -> Result<HttpResponse, ApiError> {
    let config = settings::put(
        &state.store,
        state.voltus.limits(),
        &caller.client_id,
        &tenant,
        input,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(config))
}

/// Read a tenant's Voltus bridge configuration
///
/// Never the API key, nor the webhook secret.
#[utoipa::path(get, path = "/admin/tenants/{tenantId}/voltus", tag = "admin", operation_id = "getVoltusBridge",
    params(("tenantId" = String, Path, description = "Tenant id.")),
    responses(
        (status = 200, description = "OK.", body = VoltusConfig),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The tenant has no Voltus bridge.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn get_config(
    state: web::Data<AppState>,
    _caller: Authorized<Admin>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(settings::get(&state.store, &tenant).await?))
}

/// Remove a tenant's Voltus bridge
///
/// Polling stops; the events it created stay, and so does its record of them (a new bridge for
/// the tenant creates no second event for a dispatch already published).
#[utoipa::path(delete, path = "/admin/tenants/{tenantId}/voltus", tag = "admin", operation_id = "deleteVoltusBridge",
    params(("tenantId" = String, Path, description = "Tenant id.")),
    responses(
        (status = 200, description = "Removed.", body = VoltusConfig),
        (status = 400, description = "Bad Request: the tenant id is not valid.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The tenant has no Voltus bridge.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn delete_config(
    state: web::Data<AppState>,
    caller: Authorized<Admin>,
    tenant: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(settings::delete(&state.store, &caller.client_id, &tenant).await?))
}

/// Health of the caller's Voltus bridge
///
/// When Voltus was last polled and answered, the last error, failures in a row, and counters
/// (polls, events created, updated and cancelled, malformed and stale dispatches, webhooks,
/// telemetry pending, sent and refused). For business-logic clients of the tenant.
#[utoipa::path(get, path = "/bridge/voltus/status", tag = "voltus bridge", operation_id = "getVoltusBridgeStatus",
    responses(
        (status = 200, description = "OK.", body = VoltusStatus),
        (status = 404, description = "The tenant has no Voltus bridge.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("bearerAuth" = [])))]
pub async fn status(
    state: web::Data<AppState>,
    caller: Authorized<BusinessLogicRead>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(settings::get_status(&state.store, &caller.tenant).await?))
}

/// What the webhook answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAccepted {
    /// `accepted` (the dispatch is fetched and applied in the background) or `ping`.
    #[schema(example = "accepted")]
    pub status: &'static str,
}

/// `{"event":{"name":…},"resource":…}`: the dispatch id, `None` for the empty test payload.
fn skinny(body: &[u8]) -> Result<Option<String>, ApiError> {
    let shape = || {
        ApiError::bad_request(
            "expected {\"event\": {\"name\": \"dispatch.create\" | \"dispatch.update\"}, \
             \"resource\": \"/2022-04-15/dispatches/{id}\"}",
        )
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| shape())?;
    let name = value
        .get("event")
        .and_then(|e| e.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(shape)?;
    let resource = value
        .get("resource")
        .and_then(Value::as_str)
        .ok_or_else(shape)?;
    match name {
        "" if resource.is_empty() => Ok(None),
        "dispatch.create" | "dispatch.update" => {
            let id = resource
                .strip_prefix("/2022-04-15/dispatches/")
                .filter(|id| valid_voltus_id(id))
                .ok_or_else(|| {
                    ApiError::bad_request("resource: must be /2022-04-15/dispatches/{id}, id of A-Z, a-z, 0-9, '_' and '-'")
                })?;
            Ok(Some(id.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "event.name: must be dispatch.create or dispatch.update",
        )),
    }
}

/// Voltus's webhook for a tenant
///
/// Voltus calls this with a "skinny" payload, `{"event":{"name":"dispatch.create"},"resource":"/2022-04-15/dispatches/{id}"}`
/// (or `dispatch.update`). It is answered 202 once the dispatch id is queued; the server
/// replica that holds the tenant's poll lease then fetches the dispatch from the tenant's
/// configured Voltus base URL (never from the payload) and applies it like a poll would, so a
/// webhook and a poll never undo each other. The empty test payload `{"event":{"name":""},"resource":""}` is answered 200.
/// The path's tenant and secret authenticate the call: a wrong pair is 404.
#[utoipa::path(post, path = "/bridge/voltus/{tenantId}/webhook/{secret}", tag = "voltus bridge", operation_id = "voltusWebhook",
    params(
        ("tenantId" = String, Path, description = "Tenant id."),
        ("secret" = String, Path, description = "The tenant's webhook secret."),
    ),
    request_body(content = Object, description = "Voltus's skinny webhook payload."),
    responses(
        (status = 200, description = "The test payload.", body = WebhookAccepted),
        (status = 202, description = "Accepted; the dispatch is fetched and applied in the background.", body = WebhookAccepted),
        (status = 400, description = "Not a Voltus webhook payload.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No bridge with this tenant and secret.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many webhooks of this tenant are waiting; Voltus retries.", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn webhook(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (tenant, secret) = path.into_inner();
    let unknown = || ApiError::NotFound("no Voltus webhook at this path".into());
    let tenant = parse_tenant_id(&tenant).map_err(|_| unknown())?;
    let record = state
        .store
        .get_voltus_config(&tenant)
        .await?
        .ok_or_else(unknown)?;
    if !settings::webhook_secret_matches(&record, &secret) || !record.enabled {
        return Err(unknown());
    }
    if state.store.tenant_enabled(&tenant).await? != Some(true) {
        return Err(unknown());
    }
    match skinny(&body)? {
        None => Ok(HttpResponse::Ok().json(WebhookAccepted { status: "ping" })),
        Some(dispatch_id) => {
            state.voltus.on_webhook(&tenant, &dispatch_id).await?;
            Ok(HttpResponse::Accepted().json(WebhookAccepted { status: "accepted" }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_skinny_payloads_naming_a_dispatch_are_accepted() {
        let ok =
            br#"{"event":{"name":"dispatch.update"},"resource":"/2022-04-15/dispatches/asdf_1-2"}"#;
        assert_eq!(skinny(ok).unwrap(), Some("asdf_1-2".into()));
        assert_eq!(
            skinny(br#"{"event":{"name":""},"resource":""}"#).unwrap(),
            None
        );
        for bad in [
            &br#"{"event":{"name":"dispatch.create"},"resource":"https://evil.example/2022-04-15/dispatches/a"}"#[..],
            br#"{"event":{"name":"dispatch.create"},"resource":"/2022-04-15/dispatches/../../x"}"#,
            br#"{"event":{"name":"dispatch.create"},"resource":"/2022-04-15/dispatches/"}"#,
            br#"{"event":{"name":"dispatch.delete"},"resource":"/2022-04-15/dispatches/a"}"#,
            br#"{"resource":"/2022-04-15/dispatches/a"}"#,
            br#"[]"#,
            b"not json",
        ] {
            assert!(skinny(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
