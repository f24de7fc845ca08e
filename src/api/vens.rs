//! `/vens`, `/vens/{venID}`, `/vens/{venID}/resources` and `/vens/{venID}/resources/{resourceID}`.
//!
//! A business-logic client reads and writes every VEN of its tenant. A VEN client sees and writes
//! only the VEN named like the VEN it is bound to, and that VEN's resources; other VENs are 404.

use super::extract::{path_id, ValidJson};
use super::guard::Authorized;
use super::guard::{ReadVenObjects, WriteVens};
use super::query::{self, Limit, ListParams, Query, Skip, Text};
use super::{created, json_list, ok_json, resource};
use crate::domain::{Resource, Ven};
use crate::error::{ApiError, Problem};
use crate::service::vens;
use crate::state::AppState;
use crate::store::{Page, ResourceFilter, VenFilter};
use actix_web::{web, HttpResponse};

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

/// Query parameters of `GET /vens`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VenListParams {
    /// Only the VEN with this venName.
    #[serde(rename = "venName")]
    #[param(value_type = Option<String>)]
    pub ven_name: Option<Text>,
    /// Indicates targeting type, e.g. GROUP.
    #[serde(rename = "targetType")]
    #[param(value_type = Option<String>)]
    pub target_type: Option<Text>,
    /// Target values, e.g. group names; repeat the parameter for several.
    #[serde(rename = "targetValues", default)]
    #[param(value_type = Option<Vec<String>>)]
    pub target_values: Vec<Text>,
    /// Number of records to skip for pagination.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub skip: Option<Skip>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 50)]
    pub limit: Option<Limit>,
}

impl ListParams for VenListParams {}

impl VenListParams {
    pub fn filter(self) -> (VenFilter, Page) {
        let filter = VenFilter {
            ven_name: self.ven_name.map(String::from),
            targets: query::targets(self.target_type, self.target_values),
            ..VenFilter::default()
        };
        (filter, query::page(self.skip, self.limit))
    }
}

/// Query parameters of `GET /vens/{venID}/resources`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResourceListParams {
    /// Only the resource with this resourceName.
    #[serde(rename = "resourceName")]
    #[param(value_type = Option<String>)]
    pub resource_name: Option<Text>,
    /// Indicates targeting type, e.g. GROUP.
    #[serde(rename = "targetType")]
    #[param(value_type = Option<String>)]
    pub target_type: Option<Text>,
    /// Target values, e.g. group names; repeat the parameter for several.
    #[serde(rename = "targetValues", default)]
    #[param(value_type = Option<Vec<String>>)]
    pub target_values: Vec<Text>,
    /// Number of records to skip for pagination.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub skip: Option<Skip>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 50)]
    pub limit: Option<Limit>,
}

impl ListParams for ResourceListParams {}

impl ResourceListParams {
    pub fn filter(self) -> (ResourceFilter, Page) {
        let filter = ResourceFilter {
            resource_name: self.resource_name.map(String::from),
            targets: query::targets(self.target_type, self.target_values),
        };
        (filter, query::page(self.skip, self.limit))
    }
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
    Query(params): Query<VenListParams>,
) -> Result<HttpResponse, ApiError> {
    let (mut filter, page) = params.filter();
    filter.owner = vens::owner(&caller).map(str::to_owned);
    Ok(json_list(
        &vens::list_vens(&state.store, &caller.tenant, &filter, page).await?,
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
    Query(params): Query<ResourceListParams>,
) -> Result<HttpResponse, ApiError> {
    let ven_id = path_id("venID", &ven_id)?;
    let (filter, page) = params.filter();
    let owner = vens::owner(&caller);
    Ok(json_list(
        &vens::list_resources(&state.store, &caller.tenant, owner, &ven_id, &filter, page).await?,
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
