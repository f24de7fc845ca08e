//! Building blocks shared by the OpenADR 3.0.1 objects: IDs, durations, values maps, interval periods.

use super::validate::{Validate, Violations};
use chrono::{DateTime, FixedOffset, Months, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::LazyLock;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::ToSchema;

/// Timestamps the server assigns: millisecond precision keeps them short and exact in every backend.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(3)
}

/// Flattens `[{type, values}]` into indexed `(type, value)` pairs, without duplicates: the rows of
/// the target side tables that list filters and VEN visibility match against.
pub fn target_pairs(targets: &Option<Vec<ValuesMap>>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for map in targets.iter().flatten() {
        for value in map.value_texts() {
            let pair = (map.type_.clone(), value);
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    pairs
}

/// RFC 3339 date-time with its offset, as clients sent it.
pub type DateTimeOffset = DateTime<FixedOffset>;

/// URL-safe, VTN-assigned object ID: `^[a-zA-Z0-9_-]{1,128}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectId(String);

impl utoipa::PartialSchema for ObjectId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[a-zA-Z0-9_-]*$"))
            .min_length(Some(1))
            .max_length(Some(128))
            .description(Some("URL safe VTN assigned object ID."))
            .examples([serde_json::json!("object-999")])
            .into()
    }
}

impl ToSchema for ObjectId {
    fn name() -> std::borrow::Cow<'static, str> {
        "objectID".into()
    }
}

impl ObjectId {
    pub const RULE: &'static str = "must match ^[a-zA-Z0-9_-]{1,128}$";

    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!("'{}' {}", truncate_for_message(raw), Self::RULE))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ObjectId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ObjectId> for String {
    fn from(id: ObjectId) -> Self {
        id.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Echoing a client's input back in an error helps, but not 10 kB of it.
pub fn truncate_for_message(raw: &str) -> String {
    const MAX: usize = 64;
    if raw.chars().count() <= MAX {
        raw.to_owned()
    } else {
        format!("{}…", raw.chars().take(MAX).collect::<String>())
    }
}

/// ISO 8601 duration as the OpenADR 3 `duration` pattern allows it (`-?P…Y…M…W/D T…H…M…S`).
///
/// Kept as the client's text (so it round-trips exactly) plus its parsed parts, which
/// [`IsoDuration::add_to`] applies with calendar semantics (a month is a calendar month).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IsoDuration {
    text: String,
    negative: bool,
    months: u32,
    days: u64,
    seconds: f64,
}

/// The 3.0.1 `duration` pattern. Its look-ahead (`P` must be followed by a number) is checked
/// separately, since the regex crate has no look-around.
const DURATION_PATTERN: &str = r"^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$";

static DURATION_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(&DURATION_PATTERN.replace(r"(?=\d|T\d)", ""))
        .expect("duration regex compiles")
});

impl IsoDuration {
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// "P9999Y": the specification's spelling of infinity.
    pub fn is_infinite(&self) -> bool {
        !self.negative && self.months >= 9999 * 12
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || {
            format!(
                "'{}' is not an ISO 8601 duration such as PT1H or P1DT12H",
                truncate_for_message(raw)
            )
        };
        let caps = DURATION_RE.captures(raw).ok_or_else(invalid)?;
        // "P" or "PT" alone matches the regex but names no amount.
        if !caps.iter().skip(2).any(|c| c.is_some()) {
            return Err(invalid());
        }
        let too_large = || format!("duration '{}' is too large", truncate_for_message(raw));
        let number = |i: usize| -> Result<u64, String> {
            caps.get(i).map_or(Ok(0), |m| {
                m.as_str().parse::<u64>().map_err(|_| too_large())
            })
        };
        let years = number(2)?;
        let extra_months = number(3)?;
        let months = years
            .checked_mul(12)
            .and_then(|m| m.checked_add(extra_months))
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(too_large)?;
        let day_count = number(4)?;
        let days = match caps.get(5).map(|m| m.as_str()) {
            Some("W") => day_count.checked_mul(7).ok_or_else(too_large)?,
            _ => day_count,
        };
        let fractional: f64 = caps
            .get(8)
            .map_or(Ok(0.0), |m| m.as_str().parse())
            .map_err(|_| invalid())?;
        let seconds = (number(6)? as f64) * 3600.0 + (number(7)? as f64) * 60.0 + fractional;
        if days > 100_000_000 || seconds > 1e13 {
            return Err(too_large());
        }
        Ok(Self {
            text: raw.to_owned(),
            negative: &caps[1] == "-",
            months,
            days,
            seconds,
        })
    }

    /// `start + self`, or `None` when the result is infinite or beyond what chrono represents.
    pub fn add_to(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_infinite() {
            return None;
        }
        let months = Months::new(self.months);
        let rest = TimeDelta::try_days(self.days as i64)?.checked_add(
            &TimeDelta::try_milliseconds((self.seconds * 1000.0).round() as i64)?,
        )?;
        if self.negative {
            start.checked_sub_months(months)?.checked_sub_signed(rest)
        } else {
            start.checked_add_months(months)?.checked_add_signed(rest)
        }
    }
}

impl utoipa::PartialSchema for IsoDuration {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(DURATION_PATTERN))
            .description(Some("duration in ISO 8601 format"))
            .examples([serde_json::json!("PT1H")])
            .into()
    }
}

impl ToSchema for IsoDuration {
    fn name() -> std::borrow::Cow<'static, str> {
        "duration".into()
    }
}

impl TryFrom<String> for IsoDuration {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IsoDuration> for String {
    fn from(d: IsoDuration) -> Self {
        d.text
    }
}

/// Temporal window: start, duration and optional randomization of the start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IntervalPeriod {
    /// RFC 3339 date-time with offset.
    #[schema(value_type = String, format = DateTime, example = "2023-06-15T09:30:00Z")]
    pub start: DateTimeOffset,
    /// ISO 8601 duration; absent means open-ended, `P9999Y` means infinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<IsoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomize_start: Option<IsoDuration>,
}

impl Validate for IntervalPeriod {
    /// A negative duration would make a window that ends before it starts. (Negative durations
    /// stay valid where the spec means an offset, such as a program's `timeZoneOffset`.)
    fn validate(&self, v: &mut Violations) {
        for (field, duration) in [
            ("duration", &self.duration),
            ("randomizeStart", &self.randomize_start),
        ] {
            if duration.as_ref().is_some_and(IsoDuration::is_negative) {
                v.add(field, "must not be negative");
            }
        }
    }
}

/// A type (e.g. `PRICE`, `GROUP`) with its values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValuesMap {
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 128, example = "PRICE")]
    pub type_: String,
    /// Numbers, strings, booleans or `{x, y}` points.
    #[schema(schema_with = values_schema, example = json!([0.17]))]
    pub values: Vec<serde_json::Value>,
}

/// A pair of floats, typically a value on a curve (3.0.1 `point`).
#[derive(ToSchema)]
#[schema(as = point)]
#[allow(dead_code)]
pub struct Point {
    /// A value on the x axis.
    #[schema(example = 1.0)]
    x: f64,
    /// A value on the y axis.
    #[schema(example = 2.0)]
    y: f64,
}

/// The items of `valuesMap.values`: number, integer, string, boolean or point. `anyOf`, where
/// 3.0.1 writes `oneOf`: an integer is also a number, so under `oneOf` no integer would be valid
/// (Schemathesis found our own responses failing our document).
fn values_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::Ref;
    ArrayBuilder::new()
        .items(
            AnyOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Number))
                .item(ObjectBuilder::new().schema_type(Type::Integer))
                .item(ObjectBuilder::new().schema_type(Type::String))
                .item(ObjectBuilder::new().schema_type(Type::Boolean))
                .item(Ref::from_schema_name("point")),
        )
        .build()
}

impl ValuesMap {
    /// The text form of each value, as targets are matched against `targetValues` query strings.
    pub fn value_texts(&self) -> impl Iterator<Item = String> + '_ {
        self.values.iter().map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

impl Validate for ValuesMap {
    fn validate(&self, v: &mut Violations) {
        v.length("type", &self.type_, 1, 128);
        for (i, value) in self.values.iter().enumerate() {
            let ok = match value {
                serde_json::Value::Number(_)
                | serde_json::Value::String(_)
                | serde_json::Value::Bool(_) => true,
                serde_json::Value::Object(point) => {
                    point.len() == 2
                        && point.get("x").is_some_and(|x| x.is_number())
                        && point.get("y").is_some_and(|y| y.is_number())
                }
                _ => false,
            };
            if !ok {
                v.add(
                    format!("values[{i}]"),
                    "must be a number, string, boolean or {\"x\": number, \"y\": number} point",
                );
            }
        }
    }
}

/// One interval of an event or report: an id, an optional own period, and payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Interval {
    /// Client-assigned number; not a sequence number.
    pub id: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_period: Option<IntervalPeriod>,
    pub payloads: Vec<ValuesMap>,
}

impl Validate for Interval {
    fn validate(&self, v: &mut Violations) {
        if let Some(period) = &self.interval_period {
            v.field("intervalPeriod", period);
        }
        v.each("payloads", &self.payloads);
    }
}

/// Context for interpreting event or report payload values (units, currency, reading type…).
///
/// Programs may list both kinds; `objectType` tells them apart when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PayloadDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "EVENT_PAYLOAD_DESCRIPTOR")]
    pub object_type: Option<String>,
    #[schema(min_length = 1, max_length = 128, example = "PRICE")]
    pub payload_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    /// Event payload descriptors only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Report payload descriptors only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<i32>,
}

pub const EVENT_PAYLOAD_DESCRIPTOR: &str = "EVENT_PAYLOAD_DESCRIPTOR";
pub const REPORT_PAYLOAD_DESCRIPTOR: &str = "REPORT_PAYLOAD_DESCRIPTOR";

impl PayloadDescriptor {
    /// Checks common to every descriptor; `allowed` lists the `objectType`s the container accepts.
    pub fn validate_kind(&self, v: &mut Violations, allowed: &[&str]) {
        v.length("payloadType", &self.payload_type, 1, 128);
        let kind = self.object_type.as_deref();
        if let Some(kind) = kind {
            if !allowed.contains(&kind) {
                v.add(
                    "objectType",
                    format!("must be one of {}", allowed.join(", ")),
                );
            }
        }
        let is_event = kind == Some(EVENT_PAYLOAD_DESCRIPTOR)
            || (kind.is_none() && allowed == [EVENT_PAYLOAD_DESCRIPTOR]);
        let is_report = kind == Some(REPORT_PAYLOAD_DESCRIPTOR);
        if is_event {
            for (field, present) in [
                ("readingType", self.reading_type.is_some()),
                ("accuracy", self.accuracy.is_some()),
                ("confidence", self.confidence.is_some()),
            ] {
                if present {
                    v.add(field, "is not a field of an event payload descriptor");
                }
            }
        }
        if is_report && self.currency.is_some() {
            v.add("currency", "is not a field of a report payload descriptor");
        }
        if let Some(confidence) = self.confidence {
            if !(0..=100).contains(&confidence) {
                v.add("confidence", "must be between 0 and 100");
            }
        }
    }
}

/// Asks a VEN for a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReportDescriptor {
    #[schema(min_length = 1, max_length = 128, example = "USAGE")]
    pub payload_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<ValuesMap>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_intervals: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub historical: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<i32>,
}

impl Validate for ReportDescriptor {
    fn validate(&self, v: &mut Violations) {
        v.length("payloadType", &self.payload_type, 1, 128);
        if let Some(targets) = &self.targets {
            v.each("targets", targets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_add_with_calendar_semantics() {
        let start: DateTime<Utc> = "2024-01-31T00:00:00Z".parse().unwrap();
        let one_month = IsoDuration::parse("P1M").unwrap();
        assert_eq!(
            one_month.add_to(start).unwrap().to_rfc3339(),
            "2024-02-29T00:00:00+00:00"
        );
        let mixed = IsoDuration::parse("P1DT1H30M0.5S").unwrap();
        assert_eq!(
            mixed.add_to(start).unwrap().to_rfc3339(),
            "2024-02-01T01:30:00.500+00:00"
        );
        assert_eq!(
            IsoDuration::parse("P2W")
                .unwrap()
                .add_to(start)
                .unwrap()
                .to_rfc3339(),
            "2024-02-14T00:00:00+00:00"
        );
        assert_eq!(
            IsoDuration::parse("-PT1H")
                .unwrap()
                .add_to(start)
                .unwrap()
                .to_rfc3339(),
            "2024-01-30T23:00:00+00:00"
        );
        assert!(IsoDuration::parse("P9999Y").unwrap().is_infinite());
        assert_eq!(IsoDuration::parse("P9999Y").unwrap().add_to(start), None);
    }

    #[test]
    fn malformed_durations_are_rejected() {
        for bad in [
            "",
            "P",
            "PT",
            "1H",
            "PT1",
            "P1H",
            "PT1.5H",
            "P99999999999999999999Y",
            "P1Y ",
            "pt1h",
        ] {
            assert!(
                IsoDuration::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn object_ids_follow_the_spec_pattern() {
        assert!(ObjectId::parse("abc-DEF_123").is_ok());
        assert!(ObjectId::parse("").is_err());
        assert!(ObjectId::parse("a b").is_err());
        assert!(ObjectId::parse(&"a".repeat(129)).is_err());
        assert!(ObjectId::parse("é").is_err());
    }
}
