//! `/subscriptions` and `/subscriptions/{subscriptionID}`.

use super::extract::{path_id, ListQuery, ValidJson};
use super::reports::{client_name, once, split_query};
use super::{created, json_list, ok_json, resource};
use crate::auth::guard::{ReadVenObjects, WriteSubscriptions};
use crate::auth::Authorized;
use crate::domain::common::truncate_for_message;
use crate::domain::subscription::{
    object_type_name, parse_object_type, Delivery, Subscription, SubscriptionSecret,
};
use crate::domain::ObjectType;
use crate::error::{ApiError, Problem};
use crate::service::subscriptions;
use crate::startup::AppState;
use crate::store::{Page, SubscriptionFilter};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::IntoParams;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/subscriptions", "GET, POST")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/subscriptions/{subscriptionID}", "GET, PUT, DELETE")
            .route(web::get().to(get))
            .route(web::put().to(update))
            .route(web::delete().to(delete)),
    )
    .service(
        resource("/subscriptions/{subscriptionID}/deliveries", "GET")
            .route(web::get().to(deliveries)),
    )
    .service(
        resource("/subscriptions/{subscriptionID}/secret", "GET").route(web::get().to(secret)),
    );
}

const LIST_KEYS: &[&str] = &[
    "programID",
    "clientName",
    "targetType",
    "targetValues",
    "objects",
    "skip",
    "limit",
];

/// Query parameters of `GET /subscriptions` (documentation only: parsing is in [`list`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code, non_snake_case)]
pub struct SubscriptionListParams {
    /// Filter results to subscriptions of this program.
    #[param(pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    programID: Option<String>,
    /// Filter results to subscriptions with this clientName.
    #[param(min_length = 1, max_length = 128)]
    clientName: Option<String>,
    /// Indicates targeting type, e.g. GROUP.
    targetType: Option<String>,
    /// Target values, e.g. group names; repeat the parameter for several.
    targetValues: Option<Vec<String>>,
    /// Subscriptions to any of these object types; repeat the parameter for several.
    objects: Option<Vec<ObjectType>>,
    /// Number of records to skip for pagination.
    #[param(minimum = 0)]
    skip: Option<i32>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(minimum = 0, maximum = 50)]
    limit: Option<i32>,
}

/// Search subscriptions
///
/// Subscriptions of the caller's tenant in creation order, filtered by `programID`,
/// `clientName`, `targetType`/`targetValues` and `objects` (a subscription matches when it
/// subscribes to one of them), paged by `skip` and `limit` (at most 50). A VEN client sees only
/// the subscriptions it created.
#[utoipa::path(get, path = "/subscriptions", tag = "subscriptions", operation_id = "searchSubscriptions",
    params(SubscriptionListParams),
    responses(
        (status = 200, description = "OK.", body = [Subscription]),
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
        &subscriptions::list(&state.store, &caller, filter, page).await?,
    ))
}

/// The filter and page of a `GET /subscriptions` query string (400 for anything it does not
/// accept).
pub fn list_filter(query: &str) -> Result<(SubscriptionFilter, Page), ApiError> {
    let (extra, rest) = split_query(query, &["clientName", "objects"]);
    let query = ListQuery::parse(&rest, LIST_KEYS)?;
    let mut filter = SubscriptionFilter {
        program_id: query.program_id.map(String::from),
        targets: query.targets,
        ..SubscriptionFilter::default()
    };
    let mut seen = Vec::new();
    for (key, value) in extra {
        if key == "objects" {
            let object_type = parse_object_type(&value).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "objects: '{}' is not one of PROGRAM, EVENT, REPORT, SUBSCRIPTION, VEN, RESOURCE",
                    truncate_for_message(&value)
                ))
            })?;
            let name = object_type_name(object_type).to_owned();
            if !filter.objects.contains(&name) {
                filter.objects.push(name);
            }
        } else {
            once(&mut seen, &key)?;
            filter.client_name = Some(client_name(&value)?);
        }
    }
    Ok((filter, query.page))
}

/// Create a subscription
///
/// `programID` must name a program of the caller's tenant (400 otherwise). A VEN client must use
/// its VEN name as `clientName` (400 otherwise). Each callback is verified first: the VTN sends
/// `GET callbackUrl?echo=<random>` (with the entry's bearer token) and the callback must answer
/// 2xx with that value as its body, or the request gets a 400 naming the reason. Callbacks must
/// be https and public unless the server allows otherwise. Matching changes are then POSTed to
/// the callback as 3.0.1 `notification` objects with `Authorization: Bearer <bearerToken>`,
/// signed (see `GET /subscriptions/{subscriptionID}/secret`). Operations may be spelled `GET`/`POST`/`PUT`/
/// `DELETE` or `READ`/`CREATE`/`UPDATE`/`DELETE`; they are kept as sent.
#[utoipa::path(post, path = "/subscriptions", tag = "subscriptions", operation_id = "createSubscription",
    request_body = Subscription,
    responses(
        (status = 201, description = "Created.", body = Subscription),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_subscriptions"]), ("bearerAuth" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    caller: Authorized<WriteSubscriptions>,
    ValidJson(subscription): ValidJson<Subscription>,
) -> Result<HttpResponse, ApiError> {
    Ok(created(
        subscriptions::create(&state.store, &state.webhooks, &caller, subscription).await?,
    ))
}

/// Get a subscription by ID
///
/// A VEN client gets only its own subscriptions; any other id is a 404, as if it did not exist.
#[utoipa::path(get, path = "/subscriptions/{subscriptionID}", tag = "subscriptions", operation_id = "searchSubscriptionByID",
    params(("subscriptionID" = String, Path, description = "Object ID of the subscription.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Subscription),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found (also for another VEN's subscription).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("subscriptionID", &id)?;
    Ok(ok_json(
        subscriptions::get(&state.store, &caller, &id).await?,
    ))
}

/// Update a subscription
///
/// Replaces the subscription. `id`, `createdDateTime` and the subscription's owner are kept;
/// `modificationDateTime` is renewed.
#[utoipa::path(put, path = "/subscriptions/{subscriptionID}", tag = "subscriptions", operation_id = "updateSubscription",
    params(("subscriptionID" = String, Path, description = "Object ID of the subscription.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    request_body = Subscription,
    responses(
        (status = 200, description = "OK.", body = Subscription),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_subscriptions"]), ("bearerAuth" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    caller: Authorized<WriteSubscriptions>,
    id: web::Path<String>,
    ValidJson(subscription): ValidJson<Subscription>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("subscriptionID", &id)?;
    Ok(ok_json(
        subscriptions::update(&state.store, &state.webhooks, &caller, &id, subscription).await?,
    ))
}

/// Delete a subscription
///
/// Returns the deleted subscription.
#[utoipa::path(delete, path = "/subscriptions/{subscriptionID}", tag = "subscriptions", operation_id = "deleteSubscription",
    params(("subscriptionID" = String, Path, description = "Object ID of the subscription.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = Subscription),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["write_subscriptions"]), ("bearerAuth" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Authorized<WriteSubscriptions>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("subscriptionID", &id)?;
    Ok(ok_json(
        subscriptions::delete(&state.store, &caller, &id).await?,
    ))
}

/// Deliveries of a subscription
///
/// The notifications sent (or being retried) to this subscription's callbacks, newest first,
/// with attempts, last HTTP status and error; paged by `skip` and `limit` (at most 50). Finished
/// deliveries are kept for the configured retention (72 hours by default). Not part of 3.0.1.
#[utoipa::path(get, path = "/subscriptions/{subscriptionID}/deliveries", tag = "subscriptions", operation_id = "searchSubscriptionDeliveries",
    params(("subscriptionID" = String, Path, description = "Object ID of the subscription.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128),
        ("skip" = Option<i32>, Query, description = "Number of records to skip for pagination.", minimum = 0),
        ("limit" = Option<i32>, Query, description = "Maximum number of records to return (default and maximum 50).", minimum = 0, maximum = 50)),
    responses(
        (status = 200, description = "OK.", body = [Delivery]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found (also for another VEN's subscription).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("subscriptionID", &id)?;
    let query = ListQuery::parse(req.query_string(), &["skip", "limit"])?;
    let list = subscriptions::deliveries(&state.store, &caller, &id, query.page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Signing secret of a subscription
///
/// The secret that signs this subscription's deliveries, for receivers that verify them: the
/// Standard Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, and
/// Volue's `X-Payload-Signature`. Readable by the subscription's owner and by business logic.
/// Not part of 3.0.1.
#[utoipa::path(get, path = "/subscriptions/{subscriptionID}/secret", tag = "subscriptions", operation_id = "getSubscriptionSecret",
    params(("subscriptionID" = String, Path, description = "Object ID of the subscription.", pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)),
    responses(
        (status = 200, description = "OK.", body = SubscriptionSecret),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found (also for another VEN's subscription).", body = Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn secret(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("subscriptionID", &id)?;
    let secret = subscriptions::signing_secret(&state.store, &caller, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(SubscriptionSecret { secret }))
}
