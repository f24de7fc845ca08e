//! The one error type of the HTTP API, mapped once to RFC 7807 `application/problem+json`.
//!
//! Handlers, extractors and the store all return [`ApiError`]; nothing else decides a status code.
//! Internal causes are logged with the problem's `instance` id and never serialized into the body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// RFC 6750 §3 challenge sent with a 401 or 403.
#[derive(Debug, Clone)]
pub enum BearerChallenge {
    /// No credentials were presented: a bare challenge, no error code (RFC 6750 §3.1).
    Missing,
    /// Expired, malformed or wrongly signed token.
    InvalidToken(String),
    /// Valid token without the scope the operation needs.
    InsufficientScope(&'static str),
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input; `detail` names the offending field.
    #[error("{0}")]
    BadRequest(String),
    #[error("unauthorized: {0:?}")]
    Unauthorized(BearerChallenge),
    #[error("token lacks scope {0}")]
    Forbidden(&'static str),
    /// The token has the scope, but not for this object (e.g. a VEN client naming another VEN).
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("this method is not allowed on this resource")]
    /// Carries the methods the resource does serve, for the `Allow` header.
    MethodNotAllowed(&'static str),
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// An array or string of the body exceeds a configured bound (`VTN_MAX_*`); names both.
    #[error("{0}")]
    ContentTooLarge(String),
    /// The client did not finish sending its request within the request timeout.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// Anything we did not expect. The cause goes to the log, never to the client.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest(detail.into())
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::NotFound(format!("{kind} '{id}' not found"))
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "Bad Request"),
            Self::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::Denied(_) => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not Found"),
            Self::Conflict(_) => ("conflict", "Conflict"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method Not Allowed"),
            Self::PayloadTooLarge { .. } | Self::ContentTooLarge(_) => {
                ("payload-too-large", "Payload Too Large")
            }
            Self::RequestTimeout(_) => ("request-timeout", "Request Timeout"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported Media Type"),
            Self::ServiceUnavailable(_) => ("service-unavailable", "Service Unavailable"),
            Self::Internal(_) => ("internal", "Internal Server Error"),
        }
    }

    fn public_detail(&self) -> String {
        match self {
            Self::Unauthorized(BearerChallenge::Missing) => {
                "a bearer token is required; get one from POST /auth/token".to_owned()
            }
            Self::Unauthorized(BearerChallenge::InvalidToken(why)) => {
                format!("invalid token: {why}")
            }
            Self::Unauthorized(BearerChallenge::InsufficientScope(scope))
            | Self::Forbidden(scope) => {
                format!("this operation requires the scope '{scope}'")
            }
            Self::ServiceUnavailable(_) => "the service is temporarily unavailable".to_owned(),
            Self::Internal(_) => {
                "an unexpected error occurred; quote the instance id to the operator".to_owned()
            }
            other => other.to_string(),
        }
    }

    fn challenge(&self) -> Option<String> {
        let challenge = match self {
            Self::Unauthorized(c) => c.clone(),
            Self::Forbidden(scope) => BearerChallenge::InsufficientScope(scope),
            _ => return None,
        };
        let realm = r#"Bearer realm="openadr3-vtn""#;
        Some(match challenge {
            BearerChallenge::Missing => realm.to_owned(),
            BearerChallenge::InvalidToken(why) => format!(
                r#"{realm}, error="invalid_token", error_description="{}""#,
                why.replace(['"', '\\'], "'")
            ),
            BearerChallenge::InsufficientScope(scope) => {
                format!(r#"{realm}, error="insufficient_scope", scope="{scope}""#)
            }
        })
    }
}

/// Wire shape of an RFC 7807 problem, as the OpenADR 3 `problem` schema defines it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI identifying the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Identifies this occurrence; the same id is in the server log.
    pub instance: String,
}

pub const PROBLEM_TYPE_BASE: &str = "https://openadr3-vtn.dev/problems/";

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Denied(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } | Self::ContentTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let instance = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        match self {
            Self::Internal(cause) => {
                tracing::error!(%instance, error = %format!("{cause:#}"), "request failed")
            }
            Self::ServiceUnavailable(cause) => {
                tracing::warn!(%instance, %cause, "service unavailable")
            }
            // Client errors are logged once, with their detail, by the request span's middleware.
            _ => {}
        }
        let (slug, title) = self.slug_and_title();
        let problem = Problem {
            type_: format!("{PROBLEM_TYPE_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.public_detail(),
            instance,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(challenge) = self.challenge() {
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
        }
        if let Self::MethodNotAllowed(allow) = self {
            response.insert_header((header::ALLOW, HeaderValue::from_static(allow)));
        }
        if matches!(self, Self::ServiceUnavailable(_)) {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        response.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if database_unavailable(&err) {
            Self::ServiceUnavailable(err.to_string())
        } else {
            Self::Internal(err.into())
        }
    }
}

/// Whether `err` says the database cannot serve right now (a retry later may succeed), rather
/// than that the request or our SQL is wrong: no connection, a server shutting down or starting,
/// too many connections, a locked or full SQLite file.
pub fn database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                // 08: connection exception; 57P01-57P03: admin or crash shutdown, cannot
                // connect now; 53300: too many connections.
                code.starts_with("08") || code.starts_with("57P0") || code == "53300"
            } else {
                // SQLite primary result codes (the extended ones keep them in the low byte):
                // BUSY, LOCKED, FULL.
                let primary = code.parse::<i32>().map_or(-1, |c| c & 0xff);
                matches!(primary, 5 | 6 | 13)
            }
        }
        _ => false,
    }
}
