//! `/reports` and `/reports/{reportID}`.

use super::extract::{path_id, ValidJson};
use super::guard::Authorized;
use super::guard::{ReadVenObjects, WriteReports};
use super::query::{self, Limit, ListParams, Query, Skip, Text};
use super::{created, json_list, ok_json, resource};
use crate::domain::report::Report;
use crate::domain::ObjectId;
use crate::error::{ApiError, Problem};
use crate::service::reports;
use crate::state::AppState;
use crate::store::{Page, ReportFilter};
use actix_web::{web, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/reports", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/reports/{reportID}", "GET, PUT, DELETE")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    );
}

/// Query parameters of `GET /reports`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportListParams {
    /// Filter results to reports of this program.
    #[serde(rename = "programID")]
    #[param(value_type = Option<String>, pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    pub program_id: Option<ObjectId>,
    /// Filter results to reports of this event.
    #[serde(rename = "eventID")]
    #[param(value_type = Option<String>, pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    pub event_id: Option<ObjectId>,
    /// Filter results to reports with this clientName.
    #[serde(rename = "clientName")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 128)]
    pub client_name: Option<Text>,
    /// Number of records to skip for pagination.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub skip: Option<Skip>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 50)]
    pub limit: Option<Limit>,
}

impl ListParams for ReportListParams {}

impl ReportListParams {
    pub fn filter(self) -> (ReportFilter, Page) {
        let filter = ReportFilter {
            program_id: self.program_id.map(String::from),
            event_id: self.event_id.map(String::from),
            client_name: self.client_name.map(String::from),
            ..ReportFilter::default()
        };
        (filter, query::page(self.skip, self.limit))
    }
}

/// Search reports
///
/// Reports of the caller's tenant in creation order, filtered by `programID`, `eventID` and
/// `clientName`, paged by `skip` and `limit` (at most 50). A VEN client sees only the reports
/// it created.
#[utoipa::path(get, path = "/reports", tag = "reports", operation_id = "searchAllReports",
    params(ReportListParams),
    responses(
        (status = 200, description = "OK.", body = [Report]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    Query(params): Query<ReportListParams>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = params.filter();
    Ok(json_list(
        &reports::list(&state.store, &caller, filter, page).await?,
    ))
}

/// Create a report
///
/// `programID` must name a program of the caller's tenant and `eventID` an event of that
/// program (400 otherwise). A VEN client must use its VEN name as `clientName` (400 otherwise).
///
/// A service provider (VEN client) may instead send the Energy Coordination short form
/// `{eventId, payloads: [{payloadType: "EnergyUsage", …}]}`; it is stored as a standard report of
/// the event (see the README's "Energy Coordination API").
#[utoipa::path(post, path = "/reports", tag = "reports", operation_id = "createReport",
    request_body = super::energy::CreateReportBody,
    responses(
        (status = 201, description = "Created.", body = Report),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_reports"]), ("bearerAuth" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authorized<WriteReports>,
    body: super::energy::AnyReport,
) -> Result<HttpResponse, ApiError> {
    Ok(created(match body.parse()? {
        super::energy::ReportBody::Standard(report) => {
            reports::create(&state.store, &caller, report).await?
        }
        super::energy::ReportBody::Short(short) => {
            crate::service::energy::create_short_report(&state.store, &caller, short).await?
        }
    }))
}

/// Get a report by ID
///
/// A VEN client gets only its own reports; any other id is a 404, as if it did not exist.
#[utoipa::path(get, path = "/reports/{reportID}", tag = "reports", operation_id = "searchReportsByReportID",
    params(("reportID" = String, Path, description = "Object ID of the report.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Report),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found (also for another VEN's report).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("reportID", &id)?;
    Ok(ok_json(reports::get(&state.store, &caller, &id).await?))
}

/// Update a report
///
/// Replaces the report. `id`, `createdDateTime` and the report's owner are kept;
/// `modificationDateTime` is renewed.
#[utoipa::path(put, path = "/reports/{reportID}", tag = "reports", operation_id = "updateReport",
    params(("reportID" = String, Path, description = "Object ID of the report.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    request_body = Report,
    responses(
        (status = 200, description = "OK.", body = Report),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_reports"]), ("bearerAuth" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authorized<WriteReports>,
    id: web::Path<String>,
    ValidJson(report): ValidJson<Report>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("reportID", &id)?;
    Ok(ok_json(
        reports::update(&state.store, &caller, &id, report).await?,
    ))
}

/// Delete a report
///
/// Returns the deleted report.
#[utoipa::path(delete, path = "/reports/{reportID}", tag = "reports", operation_id = "deleteReport",
    params(("reportID" = String, Path, description = "Object ID of the report.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Report),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_reports"]), ("bearerAuth" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authorized<WriteReports>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("reportID", &id)?;
    Ok(ok_json(reports::delete(&state.store, &caller, &id).await?))
}
