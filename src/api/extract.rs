//! Turning raw requests into typed, validated input, with a 4xx problem that names the field for
//! everything else: JSON bodies and path IDs (list query strings: [`super::query`]).

use crate::config::ContentLimits;
use crate::domain::common::truncate_for_message;
use crate::domain::validate::{Validate, Violations};
use crate::domain::ObjectId;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Largest accepted request body, registered as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Put in a request's extensions by the request timeout; true while the body is being read, so
/// the timeout can tell a client still sending (408) from a server slow to answer (503).
#[derive(Debug, Clone, Default)]
pub struct ReadingBody(pub std::rc::Rc<std::cell::Cell<bool>>);

/// A JSON body deserialized strictly (unknown fields and wrong types are errors, with their path)
/// and then checked with [`Validate`].
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + Serialize + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json_body(req, payload);
        Box::pin(async move { parse_json(&body.await?).map(ValidJson) })
    }
}

/// Reads a request body that must be JSON: checks the Content-Type and the size limit (declared
/// and actual), but does not parse it.
pub fn read_json_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::Bytes, ApiError>> {
    let limit = req.app_data::<BodyLimit>().map_or(1 << 20, |l| l.0);
    let content_limits = req.app_data::<ContentLimits>().copied().unwrap_or_default();
    let reading = req
        .extensions()
        .get::<ReadingBody>()
        .cloned()
        .unwrap_or_default();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if let Some(content_type) = content_type {
            let essence = content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type must be application/json, got '{}'",
                    truncate_for_message(&content_type)
                )));
            }
        }
        if declared_length.is_some_and(|len| len > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        reading.0.set(true);
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::bad_request(format!("could not read the request body: {e}"))
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        reading.0.set(false);
        content_limits.check(&body)?;
        Ok(body.freeze())
    })
}

/// Strict JSON parsing with the path of the first offending field in the message.
pub fn parse_json<T: DeserializeOwned + Serialize + Validate>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "the request body is empty; a JSON object is required",
        ));
    }
    if contains_escaped_nul(body) {
        // PostgreSQL text cannot hold U+0000; no OpenADR field needs it.
        return Err(ApiError::bad_request(
            "strings must not contain the NUL character (\\u0000)",
        ));
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::bad_request(
            "invalid JSON body: expected a JSON object, not an array",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            ApiError::bad_request(format!("invalid JSON body: {inner}"))
        } else {
            ApiError::bad_request(format!("{path}: {inner}"))
        }
    })?;
    // Without this, anything after the object (`{…} garbage`) would be ignored.
    deserializer
        .end()
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    refuse_positional_objects(body, &value)?;
    Violations::check(&value).map_err(ApiError::BadRequest)?;
    Ok(value)
}

/// serde reads a struct from a JSON array too, field by field in declaration order, so
/// `[null, null, null, null, "name"]` would be a program. The schemas allow only objects there:
/// compare the input with what was read, and refuse any object that was read from an array.
fn refuse_positional_objects<T: Serialize>(body: &[u8], value: &T) -> Result<(), ApiError> {
    fn find(input: &Value, read: &Value, path: &mut String) -> bool {
        match (input, read) {
            (Value::Array(_), Value::Object(_)) => true,
            (Value::Array(input), Value::Array(read)) => {
                input.iter().zip(read).enumerate().any(|(i, (a, b))| {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    let found = find(a, b, path);
                    if !found {
                        path.truncate(len);
                    }
                    found
                })
            }
            (Value::Object(input), Value::Object(read)) => input.iter().any(|(key, a)| {
                let Some(b) = read.get(key) else { return false };
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                let found = find(a, b, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let input: Value = serde_json::from_slice(body).map_err(ApiError::internal)?;
    let read = serde_json::to_value(value).map_err(ApiError::internal)?;
    let mut path = String::new();
    if !find(&input, &read, &mut path) {
        return Ok(());
    }
    Err(ApiError::bad_request(if path.is_empty() {
        "invalid JSON body: expected a JSON object, not an array".to_owned()
    } else {
        format!("{path}: expected a JSON object, not an array")
    }))
}

/// Whether a JSON text contains the escape `\u0000` (not merely an escaped backslash before it).
/// Raw control characters are already invalid inside JSON strings.
fn contains_escaped_nul(body: &[u8]) -> bool {
    body.windows(6).enumerate().any(|(i, w)| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2..].iter().all(|&b| b == b'0')
            && body[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

/// Validates an ID taken from the URL path; `name` is the parameter name shown in errors.
pub fn path_id(name: &str, raw: &str) -> Result<ObjectId, ApiError> {
    ObjectId::parse(raw).map_err(|why| ApiError::bad_request(format!("{name}: {why}")))
}

pub(crate) fn parse_integer(key: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    let number: i64 = value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "{key}: '{}' is not an integer",
            truncate_for_message(value)
        ))
    })?;
    if number < min || number > max {
        let range = if max == i64::MAX {
            format!("{min} or greater")
        } else {
            format!("between {min} and {max}")
        };
        return Err(ApiError::bad_request(format!(
            "{key}: must be {range}, got {number}"
        )));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_nul_is_found_but_an_escaped_backslash_is_not_one() {
        assert!(contains_escaped_nul(br#"{"a":"x\u0000"}"#));
        assert!(!contains_escaped_nul(br#"{"a":"x\\u0000"}"#));
        assert!(contains_escaped_nul(br#"{"a":"x\\\u0000"}"#));
        assert!(!contains_escaped_nul(br#"{"a":"x\u0001"}"#));
    }

    #[derive(Debug, serde::Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        inner: Option<Vec<Inner>>,
    }

    #[derive(Debug, serde::Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        id: i32,
        values: Vec<Value>,
    }

    impl Validate for Outer {
        fn validate(&self, _: &mut Violations) {}
    }

    #[test]
    fn objects_read_from_arrays_are_refused() {
        let detail = |body: &str| match parse_json::<Outer>(body.as_bytes()) {
            Ok(_) => panic!("{body} should fail"),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            detail(r#" ["n", null]"#),
            "invalid JSON body: expected a JSON object, not an array"
        );
        assert_eq!(
            detail(r#"{"name": "n", "inner": [{"id": 1, "values": []}, [2, [1]]]}"#),
            "inner[1]: expected a JSON object, not an array"
        );
        assert!(detail(r#"{"name": "n"} x"#).starts_with("invalid JSON body: trailing characters"));
        let ok: Outer =
            parse_json(br#"{"name": "n", "inner": [{"id": 1, "values": [[1], {"a": [2]}]}]}"#)
                .unwrap();
        assert_eq!(ok.inner.unwrap()[0].values.len(), 2);
    }
}
