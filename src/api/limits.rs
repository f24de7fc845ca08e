//! Limits on what one request may ask of the server.
//!
//! - Content limits: bounds on the arrays and strings of a JSON request body. They are checked
//!   in one pass over the raw body before it is parsed into its type, so an oversized object is
//!   refused (413, naming the field and the setting) without being built, and every endpoint
//!   that takes JSON gets the same bounds, whatever its type.
//! - The request timeout: a bound on the time from a request's head to its response.

use super::extract::ReadingBody;
use crate::config::ContentLimits;
use crate::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::fmt;

impl ContentLimits {
    /// `Err(413)` when an array or string of `body` exceeds its bound. Malformed JSON passes:
    /// the typed parse that follows reports it with its usual message.
    pub fn check(&self, body: &[u8]) -> Result<(), ApiError> {
        let exceeded = RefCell::new(None);
        let mut json = serde_json::Deserializer::from_slice(body);
        let mut track = serde_path_to_error::Track::new();
        let node = Node {
            limits: self,
            kind: ArrayKind::Other,
            exceeded: &exceeded,
        };
        let walked = node.deserialize(serde_path_to_error::Deserializer::new(
            &mut json, &mut track,
        ));
        match (walked, exceeded.into_inner()) {
            (Err(_), Some(why)) => {
                let path = track.path().to_string();
                let path = if path == "." { "body".to_owned() } else { path };
                Err(ApiError::ContentTooLarge(format!("{path}: {why}")))
            }
            _ => Ok(()),
        }
    }

    fn bound(&self, kind: ArrayKind) -> (usize, &'static str) {
        match kind {
            ArrayKind::Intervals => (self.intervals, "VTN_MAX_INTERVALS"),
            ArrayKind::Values => (self.values, "VTN_MAX_VALUES"),
            ArrayKind::Targets => (self.targets, "VTN_MAX_TARGETS"),
            ArrayKind::Other => (self.array_items, "VTN_MAX_ARRAY_ITEMS"),
        }
    }
}

/// Registered as app data from `VTN_REQUEST_TIMEOUT_SECONDS`.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub std::time::Duration);

/// Middleware: answers a request that has not completed within [`RequestTimeout`] with a
/// problem, and drops its handler, which rolls back any transaction it had open. So a database
/// that stops answering, or a client that trickles its body, holds a worker for a bounded time.
pub async fn bound_request_time(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(RequestTimeout(limit)) = req.app_data::<RequestTimeout>().copied() else {
        return next.call(req).await;
    };
    // The request itself cannot be kept here (routing needs it unshared): the body reader
    // reports its progress through this flag instead.
    let reading = ReadingBody::default();
    req.extensions_mut().insert(reading.clone());
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(response) => response,
        Err(_) => {
            let seconds = limit.as_secs_f64();
            // actix renders the error as its problem response; the outer middleware record it.
            Err(if reading.0.get() {
                ApiError::RequestTimeout(format!(
                    "the request body did not arrive within {seconds} s"
                ))
            } else {
                ApiError::ServiceUnavailable(format!(
                    "the request did not complete within {seconds} s"
                ))
            }
            .into())
        }
    }
}

/// Which bound an array falls under, from the key it sits under.
#[derive(Debug, Clone, Copy)]
enum ArrayKind {
    Intervals,
    Values,
    Targets,
    Other,
}

impl ArrayKind {
    fn of_key(key: &str) -> Self {
        match key {
            "intervals" => Self::Intervals,
            "values" => Self::Values,
            "targets" => Self::Targets,
            _ => Self::Other,
        }
    }
}

/// One JSON value being walked; `kind` applies if it is an array.
#[derive(Clone, Copy)]
struct Node<'a> {
    limits: &'a ContentLimits,
    kind: ArrayKind,
    /// Set with the reason when a bound is exceeded, to tell that apart from a syntax error.
    exceeded: &'a RefCell<Option<String>>,
}

impl Node<'_> {
    fn refuse<E: de::Error>(&self, why: String) -> E {
        let error = E::custom(&why);
        *self.exceeded.borrow_mut() = Some(why);
        error
    }

    fn check_string<E: de::Error>(&self, value: &str) -> Result<(), E> {
        let max = self.limits.string_chars;
        // Bytes bound characters from above: count only when the bytes could be too many.
        if value.len() > max && value.chars().count() > max {
            return Err(self.refuse(format!(
                "a string of more than {max} characters (limit VTN_MAX_STRING_CHARS)"
            )));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.check_string(value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (max, setting) = self.limits.bound(self.kind);
        let item = Node {
            kind: ArrayKind::Other,
            ..self
        };
        let mut count = 0usize;
        while seq.next_element_seed(item)?.is_some() {
            count += 1;
            if count > max {
                return Err(self.refuse(format!("more than {max} items (limit {setting})")));
            }
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(kind) = map.next_key_seed(Key(self))? {
            map.next_value_seed(Node { kind, ..self })?;
        }
        Ok(())
    }
}

/// An object key: bounded like any string, and naming the kind of array under it.
struct Key<'a>(Node<'a>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ArrayKind;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<ArrayKind, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ArrayKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<ArrayKind, E> {
        self.0.check_string(key)?;
        Ok(ArrayKind::of_key(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn small() -> ContentLimits {
        ContentLimits {
            intervals: 2,
            values: 3,
            targets: 1,
            array_items: 4,
            string_chars: 12,
        }
    }

    fn refusal(body: serde_json::Value) -> Option<String> {
        match small().check(body.to_string().as_bytes()) {
            Ok(()) => None,
            Err(ApiError::ContentTooLarge(why)) => Some(why),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn each_kind_of_array_has_its_bound_and_the_path_is_named() {
        assert_eq!(refusal(json!({"intervals": [1, 2]})), None);
        assert_eq!(
            refusal(json!({"intervals": [1, 2, 3]})).as_deref(),
            Some("intervals: more than 2 items (limit VTN_MAX_INTERVALS)")
        );
        assert_eq!(
            refusal(json!({"intervals": [{"payloads": [{"values": [1, 2, 3, 4]}]}]})).as_deref(),
            Some("intervals[0].payloads[0].values: more than 3 items (limit VTN_MAX_VALUES)")
        );
        assert_eq!(
            refusal(json!({"targets": [{}, {}]})).as_deref(),
            Some("targets: more than 1 items (limit VTN_MAX_TARGETS)")
        );
        assert_eq!(
            refusal(json!({"points": [1, 2, 3, 4, 5]})).as_deref(),
            Some("points: more than 4 items (limit VTN_MAX_ARRAY_ITEMS)")
        );
        assert_eq!(
            refusal(json!([1, 2, 3, 4, 5])).as_deref(),
            Some("body: more than 4 items (limit VTN_MAX_ARRAY_ITEMS)")
        );
    }

    #[test]
    fn strings_and_keys_are_bounded_in_characters_not_bytes() {
        let twelve = "é".repeat(12);
        assert_eq!(
            refusal(json!({ "name": twelve })),
            None,
            "12 characters, 24 bytes"
        );
        assert_eq!(
            refusal(json!({"name": "abcdefghijklm"})).as_deref(),
            Some("name: a string of more than 12 characters (limit VTN_MAX_STRING_CHARS)")
        );
        assert!(
            refusal(json!({"abcdefghijklm": 1})).is_some(),
            "keys count too"
        );
        // An escape counts as the one character it stands for: 12 pass, 13 do not.
        let escaped = |n: usize| format!(r#"{{"a": ["{}"]}}"#, r"\u00e9".repeat(n));
        assert!(small().check(escaped(12).as_bytes()).is_ok());
        assert!(small().check(escaped(13).as_bytes()).is_err());
    }

    #[test]
    fn malformed_json_is_left_to_the_typed_parse() {
        assert!(small().check(b"{\"a\": [1, 2,").is_ok());
        assert!(small().check(b"not json").is_ok());
        assert!(small().check(b"").is_ok());
    }
}
