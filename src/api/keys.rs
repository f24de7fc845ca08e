//! Public signing keys (`/.well-known/jwks.json`) and their rotation by an operator.

use super::guard::Admin;
use super::guard::Authorized;
use crate::error::ApiError;
use crate::service::admin::{self, Actor};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Token signing keys
///
/// The public keys that verify this server's access tokens, as a JSON Web Key Set (RFC 7517).
/// Empty when the server signs with a configured HS256 secret instead.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "Auth", operation_id = "getJwks",
    responses((status = 200, description = "The JWKS.", body = Object)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let set = match state.tokens.key_ring() {
        Some(ring) => ring.jwks().await,
        None => json!({"keys": []}),
    };
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=60"),
        ))
        .json(set)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    /// Key id of the key that signs from now on.
    kid: String,
}

/// Rotate the signing key
///
/// Creates a new EdDSA key that signs every token from now on. The previous keys stop signing
/// but keep verifying until the tokens they signed have expired. Other replicas pick the new key
/// up within 30 seconds.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = "admin", operation_id = "rotateSigningKey",
    responses(
        (status = 200, description = "Rotated.", body = RotatedKey),
        (status = 409, description = "The server signs with a configured HS256 secret.", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("oAuth2ClientCredentials" = ["admin"]), ("bearerAuth" = [])))]
pub async fn rotate(
    state: web::Data<AppState>,
    caller: Authorized<Admin>,
) -> Result<HttpResponse, ApiError> {
    let Some(ring) = state.tokens.key_ring() else {
        return Err(ApiError::Conflict(
            "this server signs tokens with VTN_JWT_SECRET (HS256); there are no keys to rotate"
                .into(),
        ));
    };
    let kid = admin::rotate_signing_key(&state.store, &Actor::client(&caller)).await?;
    ring.reload().await.map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok().json(RotatedKey { kid }))
}
