//! `/events` and `/events/{eventID}`.

use super::extract::{path_id, ValidJson};
use super::guard::Authorized;
use super::guard::{ReadTargets, WriteEvents};
use super::query::{self, Instant, Limit, ListParams, Query, Skip, Text};
use super::{created, json_list, ok_json};
use crate::domain::Event;
use crate::domain::ObjectId;
use crate::error::{ApiError, Problem};
use crate::service::{events, vens};
use crate::state::AppState;
use crate::store::{EventFilter, Page};
use actix_web::{web, HttpResponse};

/// Query parameters of `GET /events`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    /// Filter results to events of this program.
    #[serde(rename = "programID")]
    #[param(value_type = Option<String>, pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    pub program_id: Option<ObjectId>,
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
    /// Start of the period for which to return events (RFC 3339; extension, not part of OpenADR).
    #[serde(rename = "x-start")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub x_start: Option<Instant>,
    /// End of the period for which to return events (RFC 3339; extension, not part of OpenADR).
    #[serde(rename = "x-end")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub x_end: Option<Instant>,
}

impl ListParams for EventListParams {
    fn check(&self) -> Result<(), String> {
        match (self.x_start, self.x_end) {
            (Some(start), Some(end)) if start.0 > end.0 => {
                Err("x-start: must not be later than x-end".into())
            }
            _ => Ok(()),
        }
    }
}

impl EventListParams {
    pub fn filter(self) -> (EventFilter, Page) {
        let page = query::page(self.skip, self.limit);
        let filter = EventFilter {
            program_id: self.program_id.map(String::from),
            targets: query::targets(self.target_type, self.target_values),
            window_start_ms: self.x_start.map(|t| t.0.timestamp_millis()),
            window_end_ms: self.x_end.map(|t| t.0.timestamp_millis()),
            ..Default::default()
        };
        (filter, page)
    }
}

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
    Query(params): Query<EventListParams>,
) -> Result<HttpResponse, ApiError> {
    let (mut filter, page) = params.filter();
    filter.visibility = vens::visibility(&caller);
    Ok(json_list(
        &events::list(&state.store, &caller.tenant, &filter, page).await?,
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
