//! `/vens`, `/vens/{venID}`, `/vens/{venID}/resources` and `/vens/{venID}/resources/{resourceID}`.
//!
//! A business-logic client reads and writes every VEN of its tenant. A VEN client sees and writes
//! only the VEN named like the VEN it is bound to, and that VEN's resources; other VENs are 404.

use super::extract::{path_id, ListQuery, ValidJson};
use super::{created, json_list, ok_json, resource};
use crate::auth::guard::{ReadVenObjects, WriteVens};
use crate::auth::Authorized;
use crate::domain::{Resource, Ven};
use crate::error::{ApiError, Problem};
use crate::service::vens;
use crate::startup::AppState;
use crate::store::{ResourceFilter, VenFilter};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::IntoParams;

/// The query parameters `GET /vens` accepts.
pub const VEN_LIST_KEYS: &[&str] = &["venName", "targetType", "targetValues", "skip", "limit"];
/// The query parameters `GET /vens/{venID}/resources` accepts.
pub const RESOURCE_LIST_KEYS: &[&str] = &[
    "resourceName",
    "targetType",
    "targetValues",
    "skip",
    "limit",
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/vens", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/vens/{venID}", "GET, PUT, DELETE")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    )
    .service(
        resource("/vens/{venID}/resources", "GET, POST")
            .route(web::get().to(list_resources))
            .route(web::post().to(create_resource)),
    )
    .service(
        resource("/vens/{venID}/resources/{resourceID}", "GET, PUT, DELETE")
            .route(web::get().to(get_resource))
            .route(web::put().to(update_resource))
            .route(web::delete().to(delete_resource)),
    );
}

/// Query parameters of `GET /vens` (documentation only: parsing is in [`ListQuery`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
pub struct VenListParams {
    /// Only the VEN with this venName.
    venName: Option<String>,
    /// Indicates targeting type, e.g. GROUP.
    targetType: Option<String>,
    /// Target values, e.g. group names; repeat the parameter for several.
    targetValues: Option<Vec<String>>,
    /// Number of records to skip for pagination.
    #[param(minimum = 0)]
    skip: Option<i32>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(minimum = 0, maximum = 50)]
    limit: Option<i32>,
}

/// Query parameters of `GET /vens/{venID}/resources` (documentation only).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
pub struct ResourceListParams {
    /// Only the resource with this resourceName.
    resourceName: Option<String>,
    /// Indicates targeting type, e.g. GROUP.
    targetType: Option<String>,
    /// Target values, e.g. group names; repeat the parameter for several.
    targetValues: Option<Vec<String>>,
    /// Number of records to skip for pagination.
    #[param(minimum = 0)]
    skip: Option<i32>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(minimum = 0, maximum = 50)]
    limit: Option<i32>,
}

/// Search VENs
///
/// VENs of the caller's tenant in creation order, filtered by `venName` and by `targetType` /
/// `targetValues` (a VEN matches when one of its targets has that type and one of those values),
/// paged by `skip` and `limit` (at most 50). A VEN client sees only its own VEN (with `read_all`
/// or `read_ven_objects`). VENs are returned without their resources.
#[utoipa::path(get, path = "/vens", tag = "vens", operation_id = "searchVens",
    params(VenListParams),
    responses(
        (status = 200, description = "OK.", body = [Ven]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(req.query_string(), VEN_LIST_KEYS)?;
    let filter = VenFilter {
        ven_name: query.ven_name,
        owner: vens::owner(&caller).map(str::to_owned),
        targets: query.targets,
    };
    Ok(json_list(
        &vens::list_vens(&state.store, &caller.tenant, &filter, query.page).await?,
    ))
}

/// Create a VEN
///
/// `venName` must be unique within the tenant (409 otherwise). A VEN client may create only the
/// VEN of its own name (403 otherwise). `resources` is not accepted (400): create them under
/// `/vens/{venID}/resources`.
#[utoipa::path(post, path = "/vens", tag = "vens", operation_id = "createVen",
    request_body = Ven,
    responses(
        (status = 201, description = "Created.", body = Ven),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A VEN with this venName exists.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    ValidJson(ven): ValidJson<Ven>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        vens::create_ven(&state.store, &caller.tenant, vens::owner(&caller), ven).await?,
    ))
}

/// Get a VEN by ID
///
/// Another VEN than its own is 404 to a VEN client.
#[utoipa::path(get, path = "/vens/{venID}", tag = "vens", operation_id = "searchVenByID",
    params(("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Ven),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("venID", &id)?;
    Ok(ok_json(
        vens::get_ven(&state.store, &caller.tenant, vens::owner(&caller), &id).await?,
    ))
}

/// Update a VEN
///
/// Replaces the VEN. `id` and `createdDateTime` are kept; `modificationDateTime` is renewed.
/// A VEN client may not rename its VEN (403).
#[utoipa::path(put, path = "/vens/{venID}", tag = "vens", operation_id = "updateVen",
    params(("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    request_body = Ven,
    responses(
        (status = 200, description = "OK.", body = Ven),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A VEN with this venName exists.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    id: web::Path<String>,
    ValidJson(ven): ValidJson<Ven>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("venID", &id)?;
    Ok(ok_json(
        vens::update_ven(&state.store, &caller.tenant, vens::owner(&caller), &id, ven).await?,
    ))
}

/// Delete a VEN
///
/// Deletes the VEN and its resources, and returns the deleted VEN.
#[utoipa::path(delete, path = "/vens/{venID}", tag = "vens", operation_id = "deleteVen",
    params(("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Ven),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("venID", &id)?;
    Ok(ok_json(
        vens::delete_ven(&state.store, &caller.tenant, vens::owner(&caller), &id).await?,
    ))
}

/// Search a VEN's resources
///
/// Resources of the VEN in creation order, filtered by `resourceName` and by `targetType` /
/// `targetValues`, paged by `skip` and `limit` (at most 50). An unknown VEN is 404, and so is
/// another VEN than its own for a VEN client.
#[utoipa::path(get, path = "/vens/{venID}/resources", tag = "vens", operation_id = "searchVenResources",
    params(("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128), ResourceListParams),
    responses(
        (status = 200, description = "OK.", body = [Resource]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn list_resources(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    ven_id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ven_id = path_id("venID", &ven_id)?;
    let query = ListQuery::parse(req.query_string(), RESOURCE_LIST_KEYS)?;
    let filter = ResourceFilter {
        resource_name: query.resource_name,
        targets: query.targets,
    };
    let owner = vens::owner(&caller);
    Ok(json_list(
        &vens::list_resources(
            &state.store,
            &caller.tenant,
            owner,
            &ven_id,
            &filter,
            query.page,
        )
        .await?,
    ))
}

/// Create a resource
///
/// `resourceName` must be unique within the VEN (409 otherwise). `venID` is set from the path;
/// a body may omit it or repeat it (another value is a 400).
#[utoipa::path(post, path = "/vens/{venID}/resources", tag = "vens", operation_id = "createResource",
    params(("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    request_body = Resource,
    responses(
        (status = 201, description = "Created.", body = Resource),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The VEN has a resource with this resourceName.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn create_resource(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    ven_id: web::Path<String>,
    ValidJson(body): ValidJson<Resource>,
) -> Result<HttpResponse, ApiError> {
    let ven_id = path_id("venID", &ven_id)?;
    let owner = vens::owner(&caller);
    Ok(created(
        vens::create_resource(&state.store, &caller.tenant, owner, &ven_id, body).await?,
    ))
}

/// Get a resource by ID
///
/// A resource of the VEN in the path; a VEN client reads only its own VEN's resources.
#[utoipa::path(get, path = "/vens/{venID}/resources/{resourceID}", tag = "vens", operation_id = "searchVenResourceByID",
    params(
        ("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
        ("resourceID" = String, Path, description = "Object ID of the resource.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
    ),
    responses(
        (status = 200, description = "OK.", body = Resource),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn get_resource(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (ven_id, id) = resource_path(&path)?;
    let owner = vens::owner(&caller);
    Ok(ok_json(
        vens::get_resource(&state.store, &caller.tenant, owner, &ven_id, &id).await?,
    ))
}

/// Update a resource
///
/// Replaces the resource. `id`, `venID` and `createdDateTime` are kept; `modificationDateTime`
/// is renewed.
#[utoipa::path(put, path = "/vens/{venID}/resources/{resourceID}", tag = "vens", operation_id = "updateVenResource",
    params(
        ("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
        ("resourceID" = String, Path, description = "Object ID of the resource.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
    ),
    request_body = Resource,
    responses(
        (status = 200, description = "OK.", body = Resource),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The VEN has a resource with this resourceName.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn update_resource(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    path: web::Path<(String, String)>,
    ValidJson(body): ValidJson<Resource>,
) -> Result<HttpResponse, ApiError> {
    let (ven_id, id) = resource_path(&path)?;
    let owner = vens::owner(&caller);
    Ok(ok_json(
        vens::update_resource(&state.store, &caller.tenant, owner, &ven_id, &id, body).await?,
    ))
}

/// Delete a resource
///
/// Returns the deleted resource.
#[utoipa::path(delete, path = "/vens/{venID}/resources/{resourceID}", tag = "vens", operation_id = "deleteVenResource",
    params(
        ("venID" = String, Path, description = "Object ID of the VEN.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
        ("resourceID" = String, Path, description = "Object ID of the resource.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
    ),
    responses(
        (status = 200, description = "OK.", body = Resource),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn delete_resource(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (ven_id, id) = resource_path(&path)?;
    let owner = vens::owner(&caller);
    Ok(ok_json(
        vens::delete_resource(&state.store, &caller.tenant, owner, &ven_id, &id).await?,
    ))
}

fn resource_path(
    path: &(String, String),
) -> Result<(crate::domain::ObjectId, crate::domain::ObjectId), ApiError> {
    Ok((path_id("venID", &path.0)?, path_id("resourceID", &path.1)?))
}
