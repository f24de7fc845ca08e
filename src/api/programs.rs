//! `/programs` and `/programs/{programID}`.

use super::extract::{path_id, ValidJson};
use super::guard::Authorized;
use super::guard::{ReadTargets, WritePrograms};
use super::query::{self, Limit, ListParams, Query, Skip, Text};
use super::{created, json_list, ok_json};
use crate::domain::Program;
use crate::error::{ApiError, Problem};
use crate::service::{programs, vens};
use crate::state::AppState;
use crate::store::{Page, ProgramFilter};
use actix_web::{web, HttpResponse};

/// Query parameters of `GET /programs`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProgramListParams {
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

impl ListParams for ProgramListParams {}

impl ProgramListParams {
    pub fn filter(self) -> (ProgramFilter, Page) {
        let page = query::page(self.skip, self.limit);
        let filter = ProgramFilter {
            targets: query::targets(self.target_type, self.target_values),
            ..Default::default()
        };
        (filter, page)
    }
}

/// Search programs
///
/// Programs of the caller's tenant in creation order, filtered by `targetType` and
/// `targetValues` (a program matches when one of its targets has that type and one of those
/// values), paged by `skip` and `limit` (at most 50). A VEN client (with `read_all` or
/// `read_targets`) sees only programs without targets and those that target it: `VEN_NAME` =
/// its VEN name, `RESOURCE_NAME` = one of its resources' names, or one of its VEN's targets.
#[utoipa::path(get, path = "/programs", tag = "programs", operation_id = "searchAllPrograms",
    params(ProgramListParams),
    responses(
        (status = 200, description = "OK.", body = [Program]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_targets"]), ("bearerAuth" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authorized<ReadTargets>,
    Query(params): Query<ProgramListParams>,
) -> Result<HttpResponse, ApiError> {
    let (mut filter, page) = params.filter();
    filter.visibility = vens::visibility(&caller);
    Ok(json_list(
        &programs::list(&state.store, &caller.tenant, &filter, page).await?,
    ))
}

/// Create a program
///
/// `programName` must be unique within the tenant (409 otherwise).
#[utoipa::path(post, path = "/programs", tag = "programs", operation_id = "createProgram",
    request_body = Program,
    responses(
        (status = 201, description = "Created.", body = Program),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A program with this programName exists.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_programs"]), ("bearerAuth" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authorized<WritePrograms>,
    ValidJson(program): ValidJson<Program>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        programs::create(&state.store, &caller.tenant, program).await?,
    ))
}

/// Get a program by ID
///
/// A program that a VEN client may not see (see the list) is 404 to it.
#[utoipa::path(get, path = "/programs/{programID}", tag = "programs", operation_id = "searchProgramByProgramId",
    params(("programID" = String, Path, description = "Object ID of the program object.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Program),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_targets"]), ("bearerAuth" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authorized<ReadTargets>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("programID", &id)?;
    Ok(ok_json(
        programs::get_visible(&state.store, &caller.tenant, &id, vens::visibility(&caller)).await?,
    ))
}

/// Update a program
///
/// Replaces the program. `id` and `createdDateTime` are kept; `modificationDateTime` is renewed.
#[utoipa::path(put, path = "/programs/{programID}", tag = "programs", operation_id = "updateProgram",
    params(("programID" = String, Path, description = "Object ID of the program object.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    request_body = Program,
    responses(
        (status = 200, description = "OK.", body = Program),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A program with this programName exists.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_programs"]), ("bearerAuth" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authorized<WritePrograms>,
    id: web::Path<String>,
    ValidJson(program): ValidJson<Program>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("programID", &id)?;
    Ok(ok_json(
        programs::update(&state.store, &caller.tenant, &id, program).await?,
    ))
}

/// Delete a program
///
/// Returns the deleted program. A program that still has events is not deleted (409): delete
/// its events first.
#[utoipa::path(delete, path = "/programs/{programID}", tag = "programs", operation_id = "deleteProgram",
    params(("programID" = String, Path, description = "Object ID of the program object.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Program),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The program still has events.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_programs"]), ("bearerAuth" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authorized<WritePrograms>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("programID", &id)?;
    Ok(ok_json(
        programs::delete(&state.store, &caller.tenant, &id).await?,
    ))
}
