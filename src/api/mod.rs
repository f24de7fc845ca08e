//! HTTP routes of the OpenADR 3 API under `/api/openadr/v1`. Handlers stay thin: authorize
//! (in their signature), parse, call `service`, wrap the result.

pub mod admin;
pub mod auth;
pub mod bridge;
pub mod docs;
pub mod energy;
pub mod events;
pub mod extract;
pub mod guard;
pub mod health;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod programs;
pub mod query;
pub mod reports;
pub mod subscriptions;
pub mod vens;

use crate::error::ApiError;
use crate::store::json_array;
use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse, Resource};

pub use crate::config::BASE_PATH;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health));
    cfg.route("/ready", web::get().to(health::ready));
    cfg.route("/.well-known/jwks.json", web::get().to(keys::jwks));
    cfg.service(
        web::scope(BASE_PATH)
            .service(
                resource("/programs", "GET, POST")
                    .route(web::get().to(programs::list))
                    .route(web::post().to(programs::create)),
            )
            .service(
                resource("/programs/{programID}", "GET, PUT, DELETE")
                    .route(web::get().to(programs::get))
                    .route(web::put().to(programs::update))
                    .route(web::delete().to(programs::delete)),
            )
            .service(
                resource("/events", "GET, POST")
                    .route(web::get().to(events::list))
                    .route(web::post().to(events::create)),
            )
            .service(
                resource("/events/{eventID}", "GET, PUT, DELETE")
                    .route(web::get().to(events::get))
                    .route(web::put().to(events::update))
                    .route(web::delete().to(events::delete)),
            )
            .configure(vens::routes)
            .configure(reports::routes)
            .configure(energy::routes)
            .configure(subscriptions::routes)
            .service(resource("/auth/token", "POST").route(web::post().to(auth::token)))
            .route("/openapi.json", web::get().to(openapi_document))
            .configure(docs::routes)
            .configure(admin::routes)
            .configure(bridge::routes)
            .service(resource("/admin/keys/rotate", "POST").route(web::post().to(keys::rotate)))
            .service(resource("/auth/server", "GET").route(web::get().to(auth::server))),
    );
}

/// The methods a resource serves, for the `Allow` header of its 405 answers.
#[derive(Clone, Copy)]
struct Allow(&'static str);

/// A resource whose other methods are answered 405 with `Allow: <allow>` (RFC 9110 §15.5.6).
/// Keep `allow` next to the routes it lists.
pub(crate) fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path)
        .app_data(Allow(allow))
        .default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(
        req.app_data::<Allow>().map_or("", |a| a.0),
    ))
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(
        "no such resource; the OpenADR API lives under /api/openadr/v1".into(),
    ))
}

/// The OpenAPI document of this server (the one committed in `openapi/openapi.json`).
async fn openapi_document() -> HttpResponse {
    static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(openapi::openapi_json);
    ok_json(DOCUMENT.clone())
}

fn ok_json(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

fn created(body: String) -> HttpResponse {
    HttpResponse::Created()
        .content_type(ContentType::json())
        .body(body)
}

fn json_list(bodies: &[String]) -> HttpResponse {
    ok_json(json_array(bodies))
}
