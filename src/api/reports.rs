//! `/reports` and `/reports/{reportID}`.

use super::extract::{path_id, ListQuery, ValidJson};
use super::{created, json_list, ok_json, resource};
use crate::auth::guard::{ReadVenObjects, WriteReports};
use crate::auth::Authorized;
use crate::domain::common::truncate_for_message;
use crate::domain::report::Report;
use crate::error::{ApiError, Problem};
use crate::service::reports;
use crate::startup::AppState;
use crate::store::{Page, ReportFilter};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::IntoParams;

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

const LIST_KEYS: &[&str] = &["programID", "eventID", "clientName", "skip", "limit"];

/// Query parameters of `GET /reports` (documentation only: parsing is in [`list`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
pub struct ReportListParams {
    /// Filter results to reports of this program.
    #[param(pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    programID: Option<String>,
    /// Filter results to reports of this event.
    #[param(pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    eventID: Option<String>,
    /// Filter results to reports with this clientName.
    #[param(min_length = 1, max_length = 128)]
    clientName: Option<String>,
    /// Number of records to skip for pagination.
    #[param(minimum = 0)]
    skip: Option<i32>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(minimum = 0, maximum = 50)]
    limit: Option<i32>,
}

/// Splits a query string into the parameters named in `extra` (returned in order, for the
/// caller to parse) and the rest, re-encoded for [`ListQuery::parse`]. `eventID`, `clientName`
/// and `objects` are parsed here so that `ListQuery` stays shared by every collection.
pub(super) fn split_query(query: &str, extra: &[&str]) -> (Vec<(String, String)>, String) {
    let mut mine = Vec::new();
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if extra.contains(&key.as_ref()) {
            mine.push((key.into_owned(), value.into_owned()));
        } else {
            rest.append_pair(&key, &value);
        }
    }
    (mine, rest.finish())
}

/// Refuses a second occurrence of a parameter that may be given once.
pub(super) fn once(seen: &mut Vec<String>, key: &str) -> Result<(), ApiError> {
    if seen.iter().any(|k| k == key) {
        return Err(ApiError::bad_request(format!(
            "{key}: may be given only once"
        )));
    }
    seen.push(key.to_owned());
    Ok(())
}

/// A `clientName` query value: 1 to 128 characters, no control characters.
pub(super) fn client_name(value: &str) -> Result<String, ApiError> {
    if value.is_empty() || value.chars().count() > 128 || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "clientName: '{}' must be 1 to 128 characters, none of them control characters",
            truncate_for_message(value)
        )));
    }
    Ok(value.to_owned())
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
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = list_filter(req.query_string())?;
    Ok(json_list(
        &reports::list(&state.store, &caller, filter, page).await?,
    ))
}

/// The filter and page of a `GET /reports` query string (400 for anything it does not accept).
pub fn list_filter(query: &str) -> Result<(ReportFilter, Page), ApiError> {
    let (extra, rest) = split_query(query, &["eventID", "clientName"]);
    let query = ListQuery::parse(&rest, LIST_KEYS)?;
    let mut filter = ReportFilter {
        program_id: query.program_id.map(String::from),
        ..ReportFilter::default()
    };
    let mut seen = Vec::new();
    for (key, value) in extra {
        once(&mut seen, &key)?;
        match key.as_str() {
            "eventID" => filter.event_id = Some(path_id("eventID", &value)?.into()),
            _ => filter.client_name = Some(client_name(&value)?),
        }
    }
    Ok((filter, query.page))
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
