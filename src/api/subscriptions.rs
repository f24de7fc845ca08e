//! `/subscriptions` and `/subscriptions/{subscriptionID}`.

use super::extract::{path_id, ValidJson};
use super::guard::Authorized;
use super::guard::{ReadVenObjects, WriteSubscriptions};
use super::query::{self, Limit, ListParams, PageParams, Query, Skip, Text};
use super::{created, json_list, ok_json, resource};
use crate::domain::subscription::{object_type_name, Delivery, Subscription, SubscriptionSecret};
use crate::domain::{ObjectId, ObjectType};
use crate::error::{ApiError, Problem};
use crate::service::subscriptions;
use crate::state::AppState;
use crate::store::{Page, SubscriptionFilter};
use actix_web::{web, HttpResponse};

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

/// Query parameters of `GET /subscriptions`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionListParams {
    /// Filter results to subscriptions of this program.
    #[serde(rename = "programID")]
    #[param(value_type = Option<String>, pattern = "^[a-zA-Z0-9_-]*$", min_length = 1, max_length = 128)]
    pub program_id: Option<ObjectId>,
    /// Filter results to subscriptions with this clientName.
    #[serde(rename = "clientName")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 128)]
    pub client_name: Option<Text>,
    /// Indicates targeting type, e.g. GROUP.
    #[serde(rename = "targetType")]
    #[param(value_type = Option<String>)]
    pub target_type: Option<Text>,
    /// Target values, e.g. group names; repeat the parameter for several.
    #[serde(rename = "targetValues", default)]
    #[param(value_type = Option<Vec<String>>)]
    pub target_values: Vec<Text>,
    /// Subscriptions to any of these object types; repeat the parameter for several.
    #[serde(default)]
    #[param(value_type = Option<Vec<ObjectType>>)]
    pub objects: Vec<ObjectType>,
    /// Number of records to skip for pagination.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub skip: Option<Skip>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 50)]
    pub limit: Option<Limit>,
}

impl ListParams for SubscriptionListParams {}

impl SubscriptionListParams {
    pub fn filter(self) -> (SubscriptionFilter, Page) {
        let mut objects: Vec<String> = Vec::new();
        for object in self.objects {
            let name = object_type_name(object).to_owned();
            if !objects.contains(&name) {
                objects.push(name);
            }
        }
        let filter = SubscriptionFilter {
            program_id: self.program_id.map(String::from),
            client_name: self.client_name.map(String::from),
            targets: query::targets(self.target_type, self.target_values),
            objects,
            ..SubscriptionFilter::default()
        };
        (filter, query::page(self.skip, self.limit))
    }
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
    Query(params): Query<SubscriptionListParams>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = params.filter();
    Ok(json_list(
        &subscriptions::list(&state.store, &caller, filter, page).await?,
    ))
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
        PageParams),
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
    Query(params): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id("subscriptionID", &id)?;
    let list = subscriptions::deliveries(&state.store, &caller, &id, params.page()).await?;
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
