//! The Energy Coordination API (Volue-style, for service providers): `/users`, and a user's
//! `/vehicles`, `/meters` and `/resources`. Only VEN clients may call it (403 otherwise): a
//! service provider is a VEN client, and its users' vehicles and resources are OpenADR resources
//! of its VEN. Reading needs `read_all` or `read_ven_objects`, writing `write_vens`.
//!
//! The short form of `POST /reports` is parsed here too ([`AnyReport`]).

use super::extract::{parse_json, path_id, read_json_body, ValidJson};
use super::guard::Authorized;
use super::guard::{ReadVenObjects, WriteVens};
use super::query::{PageParams, Query};
use super::{created, json_list, ok_json, resource};
use crate::domain::energy::{EcResource, EcUser, Meter, ShortReport, Vehicle};
use crate::domain::report::Report;
use crate::domain::ObjectId;
use crate::error::{ApiError, Problem};
use crate::service::energy::{self as ec, Asset, AssetKind};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/users", "GET, POST")
            .route(web::get().to(list_users))
            .route(web::post().to(create_user)),
    )
    .service(
        resource("/users/{userId}", "GET, PUT, DELETE")
            .route(web::get().to(get_user))
            .route(web::put().to(update_user))
            .route(web::delete().to(delete_user)),
    )
    .service(
        resource("/users/{userId}/vehicles", "GET, POST")
            .route(web::get().to(list_vehicles))
            .route(web::post().to(create_vehicle)),
    )
    .service(
        resource("/users/{userId}/vehicles/{vehicleId}", "GET, PUT, DELETE")
            .route(web::get().to(get_vehicle))
            .route(web::put().to(update_vehicle))
            .route(web::delete().to(delete_vehicle)),
    )
    .service(
        resource("/users/{userId}/meters", "GET, POST")
            .route(web::get().to(list_meters))
            .route(web::post().to(create_meter)),
    )
    .service(
        resource("/users/{userId}/meters/{meterId}", "GET, PUT, DELETE")
            .route(web::get().to(get_meter))
            .route(web::put().to(update_meter))
            .route(web::delete().to(delete_meter)),
    )
    .service(
        resource("/users/{userId}/resources", "GET, POST")
            .route(web::get().to(list_resources))
            .route(web::post().to(create_resource)),
    )
    .service(
        resource("/users/{userId}/resources/{resourceId}", "GET, PUT, DELETE")
            .route(web::get().to(get_resource))
            .route(web::put().to(update_resource))
            .route(web::delete().to(delete_resource)),
    );
}

fn two(names: (&str, &str), path: &(String, String)) -> Result<(ObjectId, ObjectId), ApiError> {
    Ok((path_id(names.0, &path.0)?, path_id(names.1, &path.1)?))
}

// ---- users ----------------------------------------------------------------------------------

/// Search users
///
/// The caller's users in creation order, paged by `skip` and `limit` (at most 50).
#[utoipa::path(get, path = "/users", tag = "energy coordination", operation_id = "searchUsers",
    params(PageParams),
    responses((status = 200, description = "OK.", body = [EcUser]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn list_users(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    Query(params): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    Ok(json_list(
        &ec::list_users(&state.store, &p, params.page()).await?,
    ))
}

/// Register a user
///
/// `userId` is chosen by the service provider and unique among its users (409 otherwise).
#[utoipa::path(post, path = "/users", tag = "energy coordination", operation_id = "createUser",
    request_body = EcUser,
    responses((status = 201, description = "Created.", body = EcUser),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user exists.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    ValidJson(user): ValidJson<EcUser>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    Ok(created(ec::create_user(&state.store, &p, user).await?))
}

/// Get a user
///
/// A user of the calling service provider; other providers' users are a 404.
#[utoipa::path(get, path = "/users/{userId}", tag = "energy coordination", operation_id = "getUser",
    params(("userId" = String, Path, description = "The user.")),
    responses((status = 200, description = "OK.", body = EcUser),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let id = path_id("userId", &id)?;
    Ok(ok_json(ec::get_user(&state.store, &p, &id).await?))
}

/// Replace a user
///
/// A user holds only its id, which cannot change: the body must name the user of the path.
#[utoipa::path(put, path = "/users/{userId}", tag = "energy coordination", operation_id = "updateUser",
    params(("userId" = String, Path, description = "The user.")),
    request_body = EcUser,
    responses((status = 200, description = "OK.", body = EcUser),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn update_user(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    id: web::Path<String>,
    ValidJson(user): ValidJson<EcUser>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let id = path_id("userId", &id)?;
    Ok(ok_json(ec::update_user(&state.store, &p, &id, user).await?))
}

/// Delete a user
///
/// Deletes the user's vehicles and resources (their OpenADR resources), its meters (and their
/// targets on the VEN), then the user; returns the deleted user.
#[utoipa::path(delete, path = "/users/{userId}", tag = "energy coordination", operation_id = "deleteUser",
    params(("userId" = String, Path, description = "The user.")),
    responses((status = 200, description = "OK.", body = EcUser),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn delete_user(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let id = path_id("userId", &id)?;
    Ok(ok_json(ec::delete_user(&state.store, &p, &id).await?))
}

// ---- meters ----------------------------------------------------------------------------------

/// Search a user's meters
///
/// The user's meters in creation order, paged by `skip` and `limit`.
#[utoipa::path(get, path = "/users/{userId}/meters", tag = "energy coordination", operation_id = "searchMeters",
    params(("userId" = String, Path, description = "The user."), PageParams),
    responses((status = 200, description = "OK.", body = [Meter]),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn list_meters(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    user: web::Path<String>,
    Query(params): Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let user = path_id("userId", &user)?;
    Ok(json_list(
        &ec::list_meters(&state.store, &p, &user, params.page()).await?,
    ))
}

/// Register a meter
///
/// The server assigns `meterId`. A meter point is registered once per tenant (409 naming the
/// existing meterId otherwise). The meter's `meterPointId` and `meterId` become targets
/// (`METER_POINT_ID`, `LOCATION_ID`) of the user's vehicles and resources and of the VEN.
#[utoipa::path(post, path = "/users/{userId}/meters", tag = "energy coordination", operation_id = "createMeter",
    params(("userId" = String, Path, description = "The user.")),
    request_body = Meter,
    responses((status = 201, description = "Created.", body = Meter),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meter point is registered.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn create_meter(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    user: web::Path<String>,
    ValidJson(meter): ValidJson<Meter>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let user = path_id("userId", &user)?;
    Ok(created(
        ec::create_meter(&state.store, &p, &user, meter).await?,
    ))
}

/// Get a meter
///
/// One meter of the user, by the `meterId` the server assigned.
#[utoipa::path(get, path = "/users/{userId}/meters/{meterId}", tag = "energy coordination", operation_id = "getMeter",
    params(("userId" = String, Path, description = "The user."), ("meterId" = String, Path, description = "The meter.")),
    responses((status = 200, description = "OK.", body = Meter),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
pub async fn get_meter(
    state: web::Data<AppState>,
    caller: Authorized<ReadVenObjects>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let (user, id) = two(("userId", "meterId"), &path)?;
    Ok(ok_json(ec::get_meter(&state.store, &p, &user, &id).await?))
}

/// Replace a meter
///
/// The meter's targets on the user's vehicles and resources and on the VEN follow the new
/// `meterPointId`.
#[utoipa::path(put, path = "/users/{userId}/meters/{meterId}", tag = "energy coordination", operation_id = "updateMeter",
    params(("userId" = String, Path, description = "The user."), ("meterId" = String, Path, description = "The meter.")),
    request_body = Meter,
    responses((status = 200, description = "OK.", body = Meter),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meter point is registered.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn update_meter(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    path: web::Path<(String, String)>,
    ValidJson(meter): ValidJson<Meter>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let (user, id) = two(("userId", "meterId"), &path)?;
    Ok(ok_json(
        ec::update_meter(&state.store, &p, &user, &id, meter).await?,
    ))
}

/// Delete a meter
///
/// Removes its targets from the user's vehicles and resources and the VEN; returns the deleted
/// meter.
#[utoipa::path(delete, path = "/users/{userId}/meters/{meterId}", tag = "energy coordination", operation_id = "deleteMeter",
    params(("userId" = String, Path, description = "The user."), ("meterId" = String, Path, description = "The meter.")),
    responses((status = 200, description = "OK.", body = Meter),
        (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
    security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
pub async fn delete_meter(
    state: web::Data<AppState>,
    caller: Authorized<WriteVens>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let p = ec::provider(&caller)?;
    let (user, id) = two(("userId", "meterId"), &path)?;
    Ok(ok_json(
        ec::delete_meter(&state.store, &p, &user, &id).await?,
    ))
}

// ---- vehicles and resources ----------------------------------------------------------------------

macro_rules! asset_handlers {
    ($kind:expr, $variant:ident, $body:ty, $segment:literal, $param:literal, $tag_name:literal,
     $list:ident, $create:ident, $get:ident, $update:ident, $delete:ident,
     $list_op:literal, $create_op:literal, $get_op:literal, $update_op:literal, $delete_op:literal) => {
        #[doc = concat!("Search a user's ", $tag_name, "s")]
        #[utoipa::path(get, path = concat!("/users/{userId}/", $segment), tag = "energy coordination", operation_id = $list_op,
            summary = concat!("Search a user's ", $tag_name, "s"),
            description = concat!("The user's ", $tag_name, "s in creation order, paged by `skip` and `limit`."),
            params(("userId" = String, Path, description = "The user."), PageParams),
            responses((status = 200, description = "OK.", body = [$body]),
                (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
            security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
        pub async fn $list(
            state: web::Data<AppState>,
            caller: Authorized<ReadVenObjects>,
            user: web::Path<String>,
            Query(params): Query<PageParams>,
        ) -> Result<HttpResponse, ApiError> {
            let p = ec::provider(&caller)?;
            let user = path_id("userId", &user)?;
            Ok(json_list(&ec::list_assets(&state.store, &p, $kind, &user, params.page()).await?))
        }

        #[doc = concat!("Register a ", $tag_name)]
        ///
        /// Stored as an OpenADR resource of the caller's VEN (registered on first use) whose
        /// `resourceName` is the id, with the metadata as attributes and the user's meters as
        /// targets. The id (and a vehicle's VIN) is registered once per tenant: 409 naming the
        /// existing id otherwise.
        #[utoipa::path(post, path = concat!("/users/{userId}/", $segment), tag = "energy coordination", operation_id = $create_op,
            summary = concat!("Register a ", $tag_name),
            params(("userId" = String, Path, description = "The user.")),
            request_body = $body,
            responses((status = 201, description = "Created.", body = $body),
                (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "Already registered.", body = Problem, content_type = "application/problem+json")),
            security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
        pub async fn $create(
            state: web::Data<AppState>,
            caller: Authorized<WriteVens>,
            user: web::Path<String>,
            ValidJson(body): ValidJson<$body>,
        ) -> Result<HttpResponse, ApiError> {
            let p = ec::provider(&caller)?;
            let user = path_id("userId", &user)?;
            Ok(created(ec::create_asset(&state.store, &p, &user, Asset::$variant(body)).await?))
        }

        #[doc = concat!("Get a ", $tag_name)]
        #[utoipa::path(get, path = concat!("/users/{userId}/", $segment, "/{", $param, "}"), tag = "energy coordination", operation_id = $get_op,
            summary = concat!("Get a ", $tag_name),
            description = concat!("One ", $tag_name, " of the user, by its id; other providers' are a 404."),
            params(("userId" = String, Path, description = "The user."), ($param = String, Path, description = "The id.")),
            responses((status = 200, description = "OK.", body = $body),
                (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
            security(("oAuth2ClientCredentials" = ["read_all"]), ("oAuth2ClientCredentials" = ["read_ven_objects"]), ("bearerAuth" = [])))]
        pub async fn $get(
            state: web::Data<AppState>,
            caller: Authorized<ReadVenObjects>,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, ApiError> {
            let p = ec::provider(&caller)?;
            let (user, id) = two(("userId", $param), &path)?;
            Ok(ok_json(ec::get_asset(&state.store, &p, $kind, &user, &id).await?))
        }

        #[doc = concat!("Replace a ", $tag_name, "'s metadata")]
        ///
        /// The id is fixed: the body must repeat it. The OpenADR resource's attributes follow.
        #[utoipa::path(put, path = concat!("/users/{userId}/", $segment, "/{", $param, "}"), tag = "energy coordination", operation_id = $update_op,
            summary = concat!("Replace a ", $tag_name, "'s metadata"),
            params(("userId" = String, Path, description = "The user."), ($param = String, Path, description = "The id.")),
            request_body = $body,
            responses((status = 200, description = "OK.", body = $body),
                (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "The VIN is registered.", body = Problem, content_type = "application/problem+json")),
            security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
        pub async fn $update(
            state: web::Data<AppState>,
            caller: Authorized<WriteVens>,
            path: web::Path<(String, String)>,
            ValidJson(body): ValidJson<$body>,
        ) -> Result<HttpResponse, ApiError> {
            let p = ec::provider(&caller)?;
            let (user, id) = two(("userId", $param), &path)?;
            Ok(ok_json(ec::update_asset(&state.store, &p, &user, &id, Asset::$variant(body)).await?))
        }

        #[doc = concat!("Delete a ", $tag_name)]
        ///
        /// Deletes its OpenADR resource; returns the deleted object.
        #[utoipa::path(delete, path = concat!("/users/{userId}/", $segment, "/{", $param, "}"), tag = "energy coordination", operation_id = $delete_op,
            summary = concat!("Delete a ", $tag_name),
            params(("userId" = String, Path, description = "The user."), ($param = String, Path, description = "The id.")),
            responses((status = 200, description = "OK.", body = $body),
                (status = 400, description = "Bad Request.", body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not Found.", body = Problem, content_type = "application/problem+json")),
            security(("oAuth2ClientCredentials" = ["write_vens"]), ("bearerAuth" = [])))]
        pub async fn $delete(
            state: web::Data<AppState>,
            caller: Authorized<WriteVens>,
            path: web::Path<(String, String)>,
        ) -> Result<HttpResponse, ApiError> {
            let p = ec::provider(&caller)?;
            let (user, id) = two(("userId", $param), &path)?;
            Ok(ok_json(ec::delete_asset(&state.store, &p, $kind, &user, &id).await?))
        }
    };
}

asset_handlers!(
    AssetKind::Vehicle,
    Vehicle,
    Vehicle,
    "vehicles",
    "vehicleId",
    "vehicle",
    list_vehicles,
    create_vehicle,
    get_vehicle,
    update_vehicle,
    delete_vehicle,
    "searchVehicles",
    "createVehicle",
    "getVehicle",
    "updateVehicle",
    "deleteVehicle"
);
asset_handlers!(
    AssetKind::Resource,
    Resource,
    EcResource,
    "resources",
    "resourceId",
    "resource",
    list_resources,
    create_resource,
    get_resource,
    update_resource,
    delete_resource,
    "searchUserResources",
    "createUserResource",
    "getUserResource",
    "updateUserResource",
    "deleteUserResource"
);

// ---- reports -----------------------------------------------------------------------------------

/// The body of `POST /reports`: a standard OpenADR report, or the short form `{eventId,
/// payloads}` (recognised by its `payloads` or `eventId` field). It keeps the raw bytes so that
/// the form it is gets parsed from them strictly (a duplicate key is an error, not "last wins").
pub struct AnyReport(web::Bytes);

impl actix_web::FromRequest for AnyReport {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = read_json_body(req, payload);
        Box::pin(async move { Ok(AnyReport(body.await?)) })
    }
}

/// A standard OpenADR report, or the Energy Coordination short form (documentation only).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum CreateReportBody {
    Report(Report),
    Short(ShortReport),
}

pub enum ReportBody {
    Standard(Report),
    Short(ShortReport),
}

impl AnyReport {
    /// A body as read from a request (see [`read_json_body`]).
    pub fn from_bytes(body: web::Bytes) -> Self {
        AnyReport(body)
    }

    /// Parses the body as the form it is, with that form's precise errors.
    pub fn parse(self) -> Result<ReportBody, ApiError> {
        // Only to tell the forms apart; the form itself is then parsed strictly from the bytes.
        let short = serde_json::from_slice::<serde_json::Value>(&self.0).is_ok_and(|value| {
            value
                .as_object()
                .is_some_and(|o| o.contains_key("payloads") || o.contains_key("eventId"))
        });
        if short {
            parse_json(&self.0).map(ReportBody::Short)
        } else {
            parse_json(&self.0).map(ReportBody::Standard)
        }
    }
}
