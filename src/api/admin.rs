//! `/admin/…`: administration of a hosted VTN by its operator. Every route requires the `admin`
//! scope, which only `admin` clients hold; what each operation does is in [`crate::service::admin`],
//! shared with the CLI.

use super::extract::{parse_integer, ValidJson};
use super::guard::Admin;
use super::guard::Authorized;
use super::resource;
use crate::domain::admin::{
    AuditEntry, Client, CreatedClient, IdentityProvider, NewClient, NewIdentityProvider, NewTenant,
    RotatedSecret, Tenant,
};
use crate::domain::common::truncate_for_message;
use crate::error::{ApiError, Problem};
use crate::service::admin::{self, Actor, MissingTenant, MAX_AUDIT_LIMIT};
use crate::state::AppState;
use crate::store::Page;
use actix_web::{web, HttpRequest, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/admin/tenants", "GET, POST")
            .get(list_tenants)
            .post(create_tenant),
    )
    .service(resource("/admin/tenants/{tenantId}", "DELETE").delete(delete_tenant))
    .service(resource("/admin/tenants/{tenantId}/disable", "POST").post(disable_tenant))
    .service(resource("/admin/tenants/{tenantId}/enable", "POST").post(enable_tenant))
    .service(
        resource("/admin/clients", "GET, POST")
            .get(list_clients)
            .post(create_client),
    )
    .service(resource("/admin/clients/{clientId}", "DELETE").delete(delete_client))
    .service(resource("/admin/clients/{clientId}/rotate-secret", "POST").post(rotate_secret))
    .service(resource("/admin/clients/{clientId}/disable", "POST").post(disable_client))
    .service(resource("/admin/clients/{clientId}/enable", "POST").post(enable_client))
    .service(
        resource("/admin/identity-providers", "GET, POST")
            .get(list_identity_providers)
            .post(create_identity_provider),
    )
    .service(resource("/admin/identity-providers/{id}", "DELETE").delete(delete_identity_provider))
    .service(resource("/admin/audit", "GET").get(list_audit));
}

/// Query parameters of the admin lists: `tenant` and, for the audit log, `skip` and `limit`.
struct AdminQuery {
    tenant: Option<String>,
    page: Page,
}

impl AdminQuery {
    fn parse(req: &HttpRequest, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut parsed = Self {
            tenant: None,
            page: Page::default(),
        };
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
            if !allowed.contains(&key.as_ref()) {
                let accepted = if allowed.is_empty() {
                    "no query parameters".to_owned()
                } else {
                    allowed.join(", ")
                };
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter '{}'; this collection accepts {accepted}",
                    truncate_for_message(&key)
                )));
            }
            if seen.iter().any(|k| *k == key) {
                return Err(ApiError::bad_request(format!(
                    "{key}: may be given only once"
                )));
            }
            seen.push(key.to_string());
            match key.as_ref() {
                "tenant" => parsed.tenant = Some(value.into_owned()),
                "skip" => parsed.page.skip = parse_integer("skip", &value, 0, i64::MAX)?,
                "limit" => parsed.page.limit = parse_integer("limit", &value, 0, MAX_AUDIT_LIMIT)?,
                _ => unreachable!("every allowed key is handled above"),
            }
        }
        Ok(parsed)
    }
}

type Caller = Authorized<Admin>;

/// Create a tenant
///
/// Tenant ids are 1 to 64 characters of a-z, 0-9, `_` and `-`; a taken id is 409.
#[utoipa::path(post, path = "/admin/tenants", tag = "admin", operation_id = "createTenant",
    request_body = NewTenant,
    responses(
        (status = 201, description = "Created.", body = Tenant),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The tenant exists.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn create_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(new): ValidJson<NewTenant>,
) -> Result<HttpResponse, ApiError> {
    let tenant = admin::create_tenant(&state.store, &Actor::client(&caller), new).await?;
    Ok(HttpResponse::Created().json(tenant))
}

/// List tenants
///
/// Every tenant with its enabled state and creation time, oldest first.
#[utoipa::path(get, path = "/admin/tenants", tag = "admin", operation_id = "listTenants",
    responses(
        (status = 200, description = "OK, by id.", body = [Tenant]),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn list_tenants(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    AdminQuery::parse(&req, &[])?;
    Ok(HttpResponse::Ok().json(admin::list_tenants(&state.store).await?))
}

/// Delete a tenant
///
/// Deletes the tenant with all it owns: programs, events, clients, identity providers. Returns
/// the deleted tenant. A client cannot delete its own tenant (409).
#[utoipa::path(delete, path = "/admin/tenants/{tenantId}", tag = "admin", operation_id = "deleteTenant",
    params(("tenantId" = String, Path, description = "Tenant id.")),
    responses(
        (status = 200, description = "Deleted.", body = Tenant),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller's own tenant.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn delete_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = admin::delete_tenant(&state.store, &Actor::client(&caller), &id).await?;
    Ok(HttpResponse::Ok().json(tenant))
}

/// Disable a tenant
///
/// Its clients get no new tokens, and tokens already issued to them stop working at once. A
/// client cannot disable its own tenant (409).
#[utoipa::path(post, path = "/admin/tenants/{tenantId}/disable", tag = "admin", operation_id = "disableTenant",
    params(("tenantId" = String, Path, description = "Tenant id.")),
    responses(
        (status = 200, description = "Disabled.", body = Tenant),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller's own tenant.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn disable_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    Ok(HttpResponse::Ok().json(admin::set_tenant_enabled(&state.store, &actor, &id, false).await?))
}

/// Enable a tenant
///
/// Its clients get tokens again; recorded in the audit log.
#[utoipa::path(post, path = "/admin/tenants/{tenantId}/enable", tag = "admin", operation_id = "enableTenant",
    params(("tenantId" = String, Path, description = "Tenant id.")),
    responses(
        (status = 200, description = "Enabled.", body = Tenant),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn enable_tenant(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    Ok(HttpResponse::Ok().json(admin::set_tenant_enabled(&state.store, &actor, &id, true).await?))
}

/// Create a client
///
/// The role fixes the scopes the client may hold: `bl` every OpenADR scope, `ven` the VEN scopes
/// (and a `venName`), `admin` only `admin`. The tenant must exist. The response holds the
/// client's secret, which is shown this once.
#[utoipa::path(post, path = "/admin/clients", tag = "admin", operation_id = "createClient",
    request_body = NewClient,
    responses(
        (status = 201, description = "Created; the secret is shown only here.", body = CreatedClient),
        (status = 400, description = "Bad Request, e.g. a scope the role may not hold.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client id is taken.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn create_client(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(new): ValidJson<NewClient>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    let created =
        admin::create_client(&state.store, &actor, new, None, MissingTenant::NotFound).await?;
    Ok(HttpResponse::Created().json(created))
}

/// List clients
///
/// All clients, or those of `tenant`, by tenant and client id. Never their secrets.
#[utoipa::path(get, path = "/admin/clients", tag = "admin", operation_id = "listClients",
    params(("tenant" = Option<String>, Query, description = "Only the clients of this tenant.")),
    responses(
        (status = 200, description = "OK.", body = [Client]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn list_clients(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = AdminQuery::parse(&req, &["tenant"])?;
    Ok(HttpResponse::Ok().json(admin::list_clients(&state.store, query.tenant.as_deref()).await?))
}

/// Delete a client
///
/// Its tokens stop working at once. Returns the deleted client. A client cannot delete itself (409).
#[utoipa::path(delete, path = "/admin/clients/{clientId}", tag = "admin", operation_id = "deleteClient",
    params(("clientId" = String, Path, description = "Client id.")),
    responses(
        (status = 200, description = "Deleted.", body = Client),
        (status = 400, description = "Bad Request: the id is over-long or holds control characters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller itself.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn delete_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let client = admin::delete_client(&state.store, &Actor::client(&caller), &id).await?;
    Ok(HttpResponse::Ok().json(client))
}

/// Rotate a client's secret
///
/// Replaces the secret with a new random one, shown only in this response. The old secret stops
/// working at once; tokens already issued stay valid until they expire.
#[utoipa::path(post, path = "/admin/clients/{clientId}/rotate-secret", tag = "admin", operation_id = "rotateClientSecret",
    params(("clientId" = String, Path, description = "Client id.")),
    responses(
        (status = 200, description = "Rotated; the secret is shown only here.", body = RotatedSecret),
        (status = 400, description = "Bad Request: the id is over-long or holds control characters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = admin::rotate_secret(&state.store, &Actor::client(&caller), &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(rotated))
}

/// Disable a client
///
/// It gets no new tokens, and tokens already issued to it stop working at once. A client cannot
/// disable itself (409).
#[utoipa::path(post, path = "/admin/clients/{clientId}/disable", tag = "admin", operation_id = "disableClient",
    params(("clientId" = String, Path, description = "Client id.")),
    responses(
        (status = 200, description = "Disabled.", body = Client),
        (status = 400, description = "Bad Request: the id is over-long or holds control characters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller itself.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn disable_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    Ok(HttpResponse::Ok().json(admin::set_client_enabled(&state.store, &actor, &id, false).await?))
}

/// Enable a client
///
/// `enabled` in the response stays false while the client's tenant is disabled.
#[utoipa::path(post, path = "/admin/clients/{clientId}/enable", tag = "admin", operation_id = "enableClient",
    params(("clientId" = String, Path, description = "Client id.")),
    responses(
        (status = 200, description = "Enabled.", body = Client),
        (status = 400, description = "Bad Request: the id is over-long or holds control characters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn enable_client(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    Ok(HttpResponse::Ok().json(admin::set_client_enabled(&state.store, &actor, &id, true).await?))
}

/// Register an identity provider
///
/// Tokens whose `iss` is the provider's issuer, whose `aud` is its audience and whose signature
/// verifies against its JWKS act in its tenant, with the scopes of `scopeClaim` plus those that
/// `roleScopes` maps the roles of `rolesClaim` to. `role` (required) says which role they act
/// in: `bl` (all business logic), `ven` (all bound to the one VEN named by `venClaim`) or
/// `mapped` (by `rolesClaim`: a value in `blRoles` or in `venRoles`, not both). A token that
/// does not satisfy the mapping is a 401. One provider per issuer (409 otherwise).
#[utoipa::path(post, path = "/admin/identity-providers", tag = "admin", operation_id = "createIdentityProvider",
    request_body = NewIdentityProvider,
    responses(
        (status = 201, description = "Created.", body = IdentityProvider),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The issuer is already registered.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn create_identity_provider(
    state: web::Data<AppState>,
    caller: Caller,
    ValidJson(new): ValidJson<NewIdentityProvider>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    let created = admin::create_identity_provider(&state.store, &actor, new).await?;
    Ok(HttpResponse::Created().json(created))
}

/// List identity providers
///
/// The registered external identity providers, optionally of one tenant (`tenant` query).
#[utoipa::path(get, path = "/admin/identity-providers", tag = "admin", operation_id = "listIdentityProviders",
    params(("tenant" = Option<String>, Query, description = "Only the providers of this tenant.")),
    responses(
        (status = 200, description = "OK, by tenant and issuer.", body = [IdentityProvider]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn list_identity_providers(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = AdminQuery::parse(&req, &["tenant"])?;
    let providers = admin::list_identity_providers(&state.store, query.tenant.as_deref()).await?;
    Ok(HttpResponse::Ok().json(providers))
}

/// Delete an identity provider
///
/// Its tokens are refused from then on. Returns the deleted provider.
#[utoipa::path(delete, path = "/admin/identity-providers/{id}", tag = "admin", operation_id = "deleteIdentityProvider",
    params(("id" = String, Path, description = "Identity provider id.")),
    responses(
        (status = 200, description = "Deleted.", body = IdentityProvider),
        (status = 400, description = "Bad Request: the id is over-long or holds control characters.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn delete_identity_provider(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = Actor::client(&caller);
    Ok(HttpResponse::Ok().json(admin::delete_identity_provider(&state.store, &actor, &id).await?))
}

/// Read the audit log
///
/// Administrative actions, newest first: who (`actor`), what (`action`, `target`, `detail`),
/// when (`at`). Secrets never appear in it.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", operation_id = "listAuditEntries",
    params(
        ("tenant" = Option<String>, Query, description = "Only the entries concerning this tenant."),
        ("skip" = Option<i32>, Query, minimum = 0, description = "Number of entries to skip."),
        ("limit" = Option<i32>, Query, minimum = 0, maximum = 50, description = "Maximum number of entries (default and maximum 50)."),
    ),
    responses(
        (status = 200, description = "OK.", body = [AuditEntry]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn list_audit(
    state: web::Data<AppState>,
    _caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = AdminQuery::parse(&req, &["tenant", "skip", "limit"])?;
    let entries = admin::list_audit(&state.store, query.tenant.as_deref(), query.page).await?;
    Ok(HttpResponse::Ok().json(entries))
}
