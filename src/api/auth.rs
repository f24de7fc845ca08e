//! `POST /auth/token` (RFC 6749 §4.4 client credentials) and `GET /auth/server` (OpenADR 3.1).
//!
//! Errors here follow RFC 6749 §5.2 (`{error, error_description}`), not problem+json: that is
//! what OAuth2 client libraries parse.

use crate::auth::secrets::verify_secret;
use crate::auth::tokens::Grant;
use crate::domain::{Role, Scope};
use crate::state::AppState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

/// Token request (form-encoded). Client credentials may instead come by HTTP Basic.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the form fields for OpenAPI; the handler parses the form itself
pub struct ClientCredentialRequest {
    /// Must be `client_credentials`.
    #[schema(example = "client_credentials")]
    grant_type: String,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Space-separated subset of the client's scopes; all of them when absent.
    #[schema(example = "read_all write_events")]
    scope: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientCredentialResponse {
    access_token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Lifetime in seconds.
    #[schema(example = 1800)]
    expires_in: u64,
    #[schema(example = "read_all write_programs write_events")]
    scope: String,
}

/// RFC 6749 §5.2 error.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthError {
    #[schema(example = "invalid_client")]
    error: &'static str,
    error_description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthServerInfo {
    /// Absolute URL of the token endpoint.
    #[serde(rename = "tokenURL")]
    token_url: String,
}

fn oauth_error(
    status: StatusCode,
    error: &'static str,
    description: impl Into<String>,
) -> HttpResponse {
    let description = description.into();
    tracing::info!(error, %description, "token request refused");
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Basic realm="openadr3-vtn""#),
        ));
    }
    response.json(AuthError {
        error,
        error_description: description,
    })
}

/// The address the per-address rate limit counts. Behind a trusted proxy it is the last entry
/// of `X-Forwarded-For`: the one the proxy itself appended, which a client cannot forge (entries
/// before it, and the `Forwarded` header, come from the client and are ignored).
fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let forwarded = trust_forwarded_for
        .then(|| req.headers().get_all("x-forwarded-for").last())
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match forwarded {
        Some(address) => address.to_owned(),
        None => req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
    }
}

fn too_many_requests(retry_after: std::time::Duration) -> HttpResponse {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    tracing::info!(retry_after = seconds, "token request rate limited");
    HttpResponse::TooManyRequests()
        .insert_header((header::RETRY_AFTER, seconds.to_string()))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(AuthError {
            error: "rate_limited",
            error_description: format!("too many token requests; retry after {seconds} s"),
        })
}

/// `client_id:client_secret` from `Authorization: Basic`, each form-urlencoded (RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<Result<(String, String), &'static str>> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(decoded) = decoded else {
        return Some(Err("the Basic credentials are not valid base64 UTF-8"));
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return Some(Err("the Basic credentials must be client_id:client_secret"));
    };
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some(Ok((
        unescape(id).unwrap_or_default(),
        unescape(secret).unwrap_or_default(),
    )))
}

/// Fetch a token
///
/// OAuth2 client-credentials grant. Credentials go in the form body (`client_id`,
/// `client_secret`) or in an HTTP Basic `Authorization` header, not both. `scope` asks for a
/// subset of the client's scopes. Tokens are JWTs valid for 30 minutes unless configured otherwise.
#[utoipa::path(post, path = "/auth/token", tag = "Auth", operation_id = "fetchToken",
    request_body(content = ClientCredentialRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "OK.", body = ClientCredentialResponse),
        (status = 400, description = "invalid_request, invalid_scope or unsupported_grant_type.", body = AuthError),
        (status = 401, description = "invalid_client: unknown client, wrong secret, or disabled.", body = AuthError),
        (status = 429, description = "Too many token requests from this client or address; see Retry-After.", body = AuthError),
    ))]
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let address = client_address(&req, state.trust_forwarded_for);
    if let Err(retry_after) = state.token_limits.check_address(&address) {
        return too_many_requests(retry_after);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty()
        && !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let mut form: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(&body) {
        if form.iter().any(|(k, _)| *k == key) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("parameter '{key}' is repeated"),
            );
        }
        form.push((key.into_owned(), value.into_owned()));
    }
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

    match field("grant_type").as_deref() {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            )
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=client_credentials is supported",
            )
        }
    }
    let (client_id, client_secret) = match (
        basic_credentials(&req),
        field("client_id"),
        field("client_secret"),
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "send the client credentials either by HTTP Basic or in the body, not both",
            )
        }
        (Some(Err(why)), _, _) => {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why)
        }
        (Some(Ok(pair)), None, None) => pair,
        (None, Some(id), Some(secret)) => (id, secret),
        (None, _, _) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id and client_secret are required",
            )
        }
    };

    if client_id.is_empty() || client_id.len() > 128 || client_id.chars().any(char::is_control) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client, wrong secret, or client disabled",
        );
    }
    // Before the (deliberately slow) secret check, so guessing cannot burn the CPU.
    let admission = match state.token_limits.admit(&client_id, &address).await {
        Ok(admission) => admission,
        Err(retry_after) => return too_many_requests(retry_after),
    };
    let client = match state.store.find_client(&client_id).await {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "client lookup failed");
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            );
        }
    };
    let authenticated = verify_secret(
        client_secret,
        client.as_ref().map(|c| c.secret_hash.clone()),
    )
    .await;
    let client = match client {
        Some(client) if authenticated && client.enabled => client,
        _ => {
            state
                .token_limits
                .refused(admission, &client_id, &address)
                .await;
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client, wrong secret, or client disabled",
            );
        }
    };

    // The secret was right: this address keeps getting tokens while someone else guesses.
    if let Err(retry_after) = state.token_limits.record_success(&client_id, &address) {
        return too_many_requests(retry_after);
    }
    drop(admission);

    let allowed: Vec<Scope> = client.scopes.split(' ').filter_map(Scope::parse).collect();
    let granted = match field("scope").filter(|s| !s.trim().is_empty()) {
        None => allowed,
        Some(requested) => match Scope::parse_list(&requested) {
            Ok(requested) if requested.iter().all(|s| allowed.contains(s)) => requested,
            Ok(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("the client may only request: {}", Scope::join(&allowed)),
                )
            }
            Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope", why),
        },
    };

    let role = Role::parse(&client.role).unwrap_or(Role::BusinessLogic);
    // Scopes beyond what the role allows are never granted, whatever is stored.
    let granted: Vec<Scope> = granted
        .into_iter()
        .filter(|s| role.allowed_scopes().contains(s))
        .collect();
    let grant = Grant {
        client_id: &client.client_id,
        instance_id: &client.instance_id,
        tenant: &client.tenant,
        role,
        ven_name: client.ven_name.as_deref(),
        scopes: &granted,
    };
    match state.tokens.issue(grant).await {
        Ok(issued) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
            .json(ClientCredentialResponse {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                scope: Scope::join(&granted),
            }),
        Err(e) => {
            tracing::error!(error = %e, "signing a token failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be issued",
            )
        }
    }
}

/// Fetch server info
///
/// Returns the URL of the token endpoint (OpenADR 3.1).
#[utoipa::path(get, path = "/auth/server", tag = "Auth", operation_id = "getAuthServerInfo",
    responses((status = 200, description = "OK.", body = AuthServerInfo)))]
pub async fn server(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let base = match &state.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    };
    HttpResponse::Ok().json(AuthServerInfo {
        token_url: format!("{base}{}/auth/token", super::BASE_PATH),
    })
}
