//! `/events` and `/events/{eventID}`.

use super::extract::{path_id, ListQuery, ValidJson};
use super::{created, json_list, ok_json, EventListParams};
use crate::auth::guard::{ReadTargets, WriteEvents};
use crate::auth::Authorized;
use crate::domain::Event;
use crate::error::{ApiError, Problem};
use crate::service::{events, vens};
use crate::startup::AppState;
use crate::store::EventFilter;
use actix_web::{web, HttpRequest, HttpResponse};

/// The query parameters this collection accepts (see [`super::extract::ListQuery::parse`]).
pub const LIST_KEYS: &[&str] = &[
    "programID",
    "targetType",
    "targetValues",
    "skip",
    "limit",
    "x-start",
    "x-end",
];

/// Search events
///
/// Events of the caller's tenant in creation order, optionally filtered by:
/// - `programID`;
/// - `targetType` / `targetValues`: an event matches when one of its targets has that type and
///   one of those values;
/// - `x-start` / `x-end` (RFC 3339, either alone or both): events whose active window overlaps
///   the period `[x-start, x-end)`. The active window runs from the event's `intervalPeriod.start`
///   (or its earliest interval's start) to the end of its last interval; intervals follow each
///   other from that start, each lasting its own or the event's duration. An event without a
///   duration, or with `P9999Y`, is open-ended; an event without any start time matches every
///   period. Windows are half-open: an event ending exactly at `x-start`, or starting exactly at
///   `x-end`, is not returned; an instantaneous event (`PT0S`) at `x-start` is.
///
/// Paged by `skip` and `limit` (at most 50). A VEN client (with `read_all` or `read_targets`)
/// sees only events without targets and those that target it: `VEN_NAME` = its VEN name,
/// `RESOURCE_NAME` = one of its resources' names, or one of its VEN's targets.
#[utoipa::path(get, path = "/events", tag = "events", operation_id = "searchAllEvents",
    params(EventListParams),
    responses(
        (status = 200, description = "OK.", body = [Event]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_targets"]), ("bearerAuth" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Authorized<ReadTargets>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = ListQuery::parse(req.query_string(), LIST_KEYS)?;
    let filter = EventFilter {
        program_id: query.program_id.map(String::from),
        targets: query.targets,
        window_start_ms: query.x_start.map(|t| t.timestamp_millis()),
        window_end_ms: query.x_end.map(|t| t.timestamp_millis()),
        visibility: vens::visibility(&caller),
        ..Default::default()
    };
    Ok(json_list(
        &events::list(&state.store, &caller.tenant, &filter, query.page).await?,
    ))
}

/// Create an event
///
/// `programID` must name a program of the caller's tenant (400 otherwise).
#[utoipa::path(post, path = "/events", tag = "events", operation_id = "createEvent",
    request_body = Event,
    responses(
        (status = 201, description = "Created.", body = Event),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_events"]), ("bearerAuth" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authorized<WriteEvents>,
    ValidJson(event): ValidJson<Event>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        events::create(&state.store, &caller.tenant, event).await?,
    ))
}

/// Get an event by ID
///
/// An event that a VEN client may not see (see the list) is 404 to it.
#[utoipa::path(get, path = "/events/{eventID}", tag = "events", operation_id = "searchEventsByID",
    params(("eventID" = String, Path, description = "Object ID of the event object.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Event),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_targets"]), ("bearerAuth" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authorized<ReadTargets>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("eventID", &id)?;
    Ok(ok_json(
        events::get_visible(&state.store, &caller.tenant, &id, vens::visibility(&caller)).await?,
    ))
}

/// Update an event
///
/// Replaces the event. `id` and `createdDateTime` are kept; `modificationDateTime` is renewed.
#[utoipa::path(put, path = "/events/{eventID}", tag = "events", operation_id = "updateEvent",
    params(("eventID" = String, Path, description = "Object ID of the event object.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    request_body = Event,
    responses(
        (status = 200, description = "OK.", body = Event),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_events"]), ("bearerAuth" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authorized<WriteEvents>,
    id: web::Path<String>,
    ValidJson(event): ValidJson<Event>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("eventID", &id)?;
    Ok(ok_json(
        events::update(&state.store, &caller.tenant, &id, event).await?,
    ))
}

/// Delete an event
///
/// Returns the deleted event.
#[utoipa::path(delete, path = "/events/{eventID}", tag = "events", operation_id = "deleteEvent",
    params(("eventID" = String, Path, description = "Object ID of the event object.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Event),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_events"]), ("bearerAuth" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authorized<WriteEvents>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("eventID", &id)?;
    Ok(ok_json(
        events::delete(&state.store, &caller.tenant, &id).await?,
    ))
}
