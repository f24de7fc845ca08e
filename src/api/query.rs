//! List query strings. Each list endpoint declares its parameters once, as one struct that serde
//! reads (through [`parse`]) and utoipa documents (`IntoParams`), so the accepted keys, their
//! types and their bounds cannot drift apart.
//!
//! The rules every collection shares: an unknown key is a 400 that lists the accepted ones; a key
//! may be repeated only when its field is a list (`targetValues`, `objects`); every error names
//! the parameter (`limit: must be between 0 and 50, got 51`). Cross-field rules (`x-start` not
//! after `x-end`) live in [`ListParams::check`].

use crate::domain::common::truncate_for_message;
use crate::error::ApiError;
use crate::store::{Page, TargetFilter};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, Utc};
use serde::de::value::{SeqDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::future::{ready, Ready};

/// The 3.0.1 maximum page size, also the default.
pub const MAX_LIMIT: i64 = 50;

/// A list endpoint's query parameters.
pub trait ListParams: DeserializeOwned {
    /// Rules that involve several parameters; the message names the first of them.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Parses a query string into `T`, or a 400 problem naming the offending parameter.
pub fn parse<T: ListParams>(query: &str) -> Result<T, ApiError> {
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value.into_owned()),
            None => entries.push((key.into_owned(), vec![value.into_owned()])),
        }
    }
    let parsed = T::deserialize(Pairs { entries }).map_err(|e| ApiError::bad_request(e.message))?;
    parsed.check().map_err(ApiError::bad_request)?;
    Ok(parsed)
}

/// The parsed query of a list endpoint, as a handler argument.
pub struct Query<T>(pub T);

impl<T: ListParams> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// The parameters of a list that is only paged.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Number of records to skip for pagination.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub skip: Option<Skip>,
    /// Maximum number of records to return (default and maximum 50).
    #[param(value_type = Option<i32>, minimum = 0, maximum = 50)]
    pub limit: Option<Limit>,
}

impl ListParams for PageParams {}

impl PageParams {
    pub fn page(&self) -> Page {
        page(self.skip, self.limit)
    }
}

/// The `targetType` / `targetValues` filter as the store takes it.
pub fn targets(target_type: Option<Text>, target_values: Vec<Text>) -> TargetFilter {
    TargetFilter {
        target_type: target_type.map(String::from),
        target_values: target_values.into_iter().map(String::from).collect(),
    }
}

/// `skip` and `limit` as the store takes them.
pub fn page(skip: Option<Skip>, limit: Option<Limit>) -> Page {
    let default = Page::default();
    Page {
        skip: skip.map_or(default.skip, |s| s.0),
        limit: limit.map_or(default.limit, |l| l.0),
    }
}

/// `skip`: an integer, 0 or greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip(pub i64);

/// `limit`: an integer from 0 to [`MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub i64);

/// A name or target value: 1 to 128 characters, none of them control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

/// An RFC 3339 date-time with an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub DateTime<Utc>);

fn integer(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let number: i64 = value
        .parse()
        .map_err(|_| format!("'{}' is not an integer", truncate_for_message(value)))?;
    if number < min || number > max {
        let range = if max == i64::MAX {
            format!("{min} or greater")
        } else {
            format!("between {min} and {max}")
        };
        return Err(format!("must be {range}, got {number}"));
    }
    Ok(number)
}

/// Deserializes a query value by parsing its text with `parse`.
fn from_text<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(de::Error::custom)
}

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, |v| integer(v, 0, i64::MAX).map(Skip))
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, |v| integer(v, 0, MAX_LIMIT).map(Limit))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, |v| {
            if v.is_empty() || v.chars().count() > 128 || v.chars().any(char::is_control) {
                return Err(
                    "must be 1 to 128 characters, none of them control characters".to_owned(),
                );
            }
            Ok(Text(v.to_owned()))
        })
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d, |v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| Instant(t.to_utc()))
                .map_err(|_| {
                    format!(
                        "'{}' is not an RFC 3339 date-time such as 2024-05-01T12:00:00Z",
                        truncate_for_message(v)
                    )
                })
        })
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

/// An error while reading a query string: its message is the problem's `detail`.
#[derive(Debug)]
struct QueryError {
    message: String,
    /// Whether the message already names its parameter.
    named: bool,
}

impl QueryError {
    fn named(message: String) -> Self {
        Self {
            message,
            named: true,
        }
    }

    fn of(self, key: &str) -> Self {
        if self.named {
            return self;
        }
        Self::named(format!("{key}: {}", self.message))
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

impl de::Error for QueryError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            message: message.to_string(),
            named: false,
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::named(format!(
            "unknown query parameter '{}'; this collection accepts {}",
            truncate_for_message(field),
            expected.join(", ")
        ))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format!(
            "'{}' is not one of {}",
            truncate_for_message(variant),
            expected.join(", ")
        ))
    }
}

/// The query string as keys with their values, in order of first appearance.
struct Pairs {
    entries: Vec<(String, Vec<String>)>,
}

impl<'de> Deserializer<'de> for Pairs {
    type Error = QueryError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_map(PairsAccess {
            entries: self.entries.into_iter(),
            current: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct PairsAccess {
    entries: std::vec::IntoIter<(String, Vec<String>)>,
    current: Option<(String, Vec<String>)>,
}

impl<'de> de::MapAccess<'de> for PairsAccess {
    type Error = QueryError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, QueryError> {
        let Some((key, values)) = self.entries.next() else {
            return Ok(None);
        };
        let name: StrDeserializer<'_, QueryError> = key.as_str().into_deserializer();
        let read = seed.deserialize(name)?;
        self.current = Some((key, values));
        Ok(Some(read))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, QueryError> {
        let (key, values) = self
            .current
            .take()
            .ok_or_else(|| de::Error::custom("a query value without its key"))?;
        seed.deserialize(Values { key: &key, values })
            .map_err(|e| e.of(&key))
    }
}

/// The values one key was given: one for a plain field, any number for a list.
struct Values<'a> {
    key: &'a str,
    values: Vec<String>,
}

impl Values<'_> {
    fn single(self) -> Result<StringDeserializer<QueryError>, QueryError> {
        let mut values = self.values.into_iter();
        match (values.next(), values.next()) {
            (Some(value), None) => Ok(value.into_deserializer()),
            _ => Err(QueryError::named(format!(
                "{}: may be given only once",
                self.key
            ))),
        }
    }
}

impl<'de> Deserializer<'de> for Values<'_> {
    type Error = QueryError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        self.single()?.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_some(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        let items = self
            .values
            .into_iter()
            .map(IntoDeserializer::<QueryError>::into_deserializer);
        visitor.visit_seq(SeqDeserializer::new(items))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        self.single()?.deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ObjectId, ObjectType};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(rename = "programID")]
        program_id: Option<ObjectId>,
        #[serde(rename = "targetValues", default)]
        target_values: Vec<Text>,
        #[serde(default)]
        objects: Vec<ObjectType>,
        #[serde(rename = "x-start")]
        x_start: Option<Instant>,
        skip: Option<Skip>,
        limit: Option<Limit>,
    }

    impl ListParams for Sample {}

    fn detail(query: &str) -> String {
        parse::<Sample>(query).expect_err("should fail").to_string()
    }

    #[test]
    fn lists_accumulate_and_plain_fields_parse() {
        let q: Sample = parse(
            "targetValues=a&targetValues=b%20c&objects=EVENT&objects=VEN&programID=p1&skip=3",
        )
        .unwrap();
        assert_eq!(q.target_values, vec![Text("a".into()), Text("b c".into())]);
        assert_eq!(q.objects, vec![ObjectType::Event, ObjectType::Ven]);
        assert_eq!(q.program_id.unwrap().as_str(), "p1");
        assert_eq!(page(q.skip, q.limit), Page { skip: 3, limit: 50 });
        assert!(q.x_start.is_none());
        let empty: Sample = parse("").unwrap();
        assert!(empty.program_id.is_none() && empty.target_values.is_empty());
        let window: Sample = parse("x-start=2026-12-01T17:00:00Z").unwrap();
        assert_eq!(
            window.x_start.unwrap().0.to_rfc3339(),
            "2026-12-01T17:00:00+00:00"
        );
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(detail("skip=-1"), "skip: must be 0 or greater, got -1");
        assert_eq!(
            detail("limit=51"),
            "limit: must be between 0 and 50, got 51"
        );
        assert_eq!(detail("limit=abc"), "limit: 'abc' is not an integer");
        assert!(detail("x-start=yesterday").starts_with("x-start: 'yesterday' is not an RFC 3339"));
        assert!(detail("programID=a%20b").starts_with("programID: 'a b' must match"));
        assert_eq!(detail("skip=1&skip=2"), "skip: may be given only once");
        assert!(detail("targetValues=").starts_with("targetValues: must be 1 to 128"));
        assert!(
            detail("objects=BANANA").starts_with("objects: 'BANANA' is not one of PROGRAM, EVENT")
        );
        assert_eq!(
            detail("colour=red"),
            "unknown query parameter 'colour'; this collection accepts programID, targetValues, \
             objects, x-start, skip, limit"
        );
    }
}
