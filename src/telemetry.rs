//! Logs and request spans: every log line of a request carries its request id, which is taken
//! from `X-Request-Id` (when sane) or generated, and echoed in the response.
//!
//! Some paths carry a secret (the Voltus webhook's `{secret}` segment): spans show the path
//! with it replaced by `<redacted>` ([`redacted_target`]); metrics only ever see route patterns.

use crate::config::LogFormat;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

#[derive(Clone)]
struct RequestId(String);

/// Route parameters whose values are secrets.
const SECRET_PARAMS: &[&str] = &["{secret}"];

/// What replaces a secret path segment.
pub const REDACTED: &str = "<redacted>";

/// A request's path and query as logs may show them: the segments that the route `pattern`
/// (`match_pattern`, e.g. `/api/openadr/v1/bridge/voltus/{tenantId}/webhook/{secret}`) names
/// a secret are `<redacted>`. A request that matched no route has the segment after any
/// `webhook` segment redacted (a secret path with a typo must not leak either).
pub fn redacted_target(pattern: Option<&str>, path_and_query: &str) -> String {
    let (path, query) = match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    };
    let mut segments: Vec<&str> = path.split('/').collect();
    match pattern {
        Some(pattern) => {
            let names: Vec<&str> = pattern.split('/').collect();
            let secrets: Vec<usize> = (0..names.len())
                .filter(|&i| SECRET_PARAMS.contains(&names[i]))
                .collect();
            if secrets.is_empty() {
                return path_and_query.to_owned();
            }
            if names.len() != segments.len() {
                // Not segment for segment (a tail match): show the pattern, never the path.
                return pattern.to_owned();
            }
            for i in secrets {
                segments[i] = REDACTED;
            }
        }
        None => {
            for i in 1..segments.len() {
                if segments[i - 1] == "webhook" {
                    segments[i] = REDACTED;
                }
            }
        }
    }
    let mut target = segments.join("/");
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    target
}

/// Root span of each request: method, route, status, request id, and (once authenticated) the
/// tenant and client.
pub struct VtnRootSpan;

impl RootSpanBuilder for VtnRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        request
            .extensions_mut()
            .insert(RequestId(request_id.clone()));
        let pattern = request.match_pattern();
        let target = redacted_target(
            pattern.as_deref(),
            request.uri().path_and_query().map_or("", |p| p.as_str()),
        );
        let route = pattern.unwrap_or_else(|| "unmatched".to_owned());
        // Our own span rather than tracing-actix-web's `root_span!`, whose request id is always
        // generated: ours honours the client's X-Request-Id. The `http.status_code`,
        // `otel.status_code` and `exception.*` fields are filled by `on_request_end`.
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %target,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            tenant_id = tracing::field::Empty,
            client_id = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Echoes the request id in the response so clients can quote it.
pub async fn echo_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = req.extensions().get::<RequestId>().cloned();
    let mut response = next.call(req).await?;
    if let Some(RequestId(id)) = request_id {
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBHOOK: &str = "/api/openadr/v1/bridge/voltus/{tenantId}/webhook/{secret}";

    #[test]
    fn secret_path_segments_are_redacted() {
        assert_eq!(
            redacted_target(
                Some(WEBHOOK),
                "/api/openadr/v1/bridge/voltus/acme/webhook/s3cret-0123456789abcdef"
            ),
            "/api/openadr/v1/bridge/voltus/acme/webhook/<redacted>"
        );
        assert_eq!(
            redacted_target(
                None,
                "/api/openadr/v1/bridge/voltus/acme/webhook/s3cret/?x=1"
            ),
            "/api/openadr/v1/bridge/voltus/acme/webhook/<redacted>/?x=1"
        );
        assert_eq!(
            redacted_target(
                Some(WEBHOOK),
                "/api/openadr/v1/bridge/voltus/a/b/webhook/s3cret"
            ),
            WEBHOOK
        );
        let programs = "/api/openadr/v1/programs/{programID}";
        assert_eq!(
            redacted_target(Some(programs), "/api/openadr/v1/programs/p1?skip=2"),
            "/api/openadr/v1/programs/p1?skip=2"
        );
    }
}
