//! The OpenADR 3.0.1 `subscription` object.

use super::common::*;
use super::validate::{Validate, Violations};
use super::ObjectType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// A client's request to be notified of operations on objects. `programID` must name an
/// existing program of the caller's tenant. The server sets `id`, `createdDateTime`,
/// `modificationDateTime` and `objectType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = subscription)]
pub struct Subscription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub created_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub modification_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "SUBSCRIPTION")]
    pub object_type: Option<ObjectType>,
    /// User generated identifier; for a VEN client, its VEN name.
    #[schema(min_length = 1, max_length = 128, example = "VEN-999")]
    pub client_name: String,
    /// The program this subscription is associated with.
    #[serde(rename = "programID")]
    pub program_id: ObjectId,
    /// Objects and operations to subscribe to, each with its callback.
    pub object_operations: Vec<ObjectOperation>,
    /// Used by the server to filter callbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<ValuesMap>>,
}

/// Object types, operations and the callback to notify.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = objectOperation)]
pub struct ObjectOperation {
    /// Object types to subscribe to.
    pub objects: Vec<ObjectType>,
    /// Operations to subscribe to.
    pub operations: Vec<Operation>,
    /// Webhook URL (http or https).
    #[schema(example = "https://myserver.com/send/callback/here")]
    pub callback_url: String,
    /// Token the VTN presents to the callback (`Authorization: Bearer …`). A secret of the
    /// subscription's owner: never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "NCEJGI9E8ER9802UT9HUG")]
    pub bearer_token: Option<String>,
}

/// Leaves the bearer token out, so that no log line can carry it.
impl fmt::Debug for ObjectOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectOperation")
            .field("objects", &self.objects)
            .field("operations", &self.operations)
            .field("callback_url", &self.callback_url)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// An operation on objects. 3.0.1 spells them `GET`, `POST`, `PUT`, `DELETE`; 3.1 and several
/// clients `READ`, `CREATE`, `UPDATE`, `DELETE`. Both are accepted and kept as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = operation)]
pub enum Operation {
    Get,
    Post,
    Put,
    Delete,
    Read,
    Create,
    Update,
}

impl Operation {
    /// The 3.0.1 spelling.
    pub fn canonical(self) -> &'static str {
        match self {
            Operation::Get | Operation::Read => "GET",
            Operation::Post | Operation::Create => "POST",
            Operation::Put | Operation::Update => "PUT",
            Operation::Delete => "DELETE",
        }
    }
}

/// The wire name of an object type (`EVENT`, …).
pub fn object_type_name(t: ObjectType) -> &'static str {
    match t {
        ObjectType::Program => "PROGRAM",
        ObjectType::Event => "EVENT",
        ObjectType::Report => "REPORT",
        ObjectType::Subscription => "SUBSCRIPTION",
        ObjectType::Ven => "VEN",
        ObjectType::Resource => "RESOURCE",
    }
}

/// Whether `raw` is an absolute http or https URL with a host.
fn valid_callback_url(raw: &str) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(raw).map_err(|_| "must be an absolute http or https URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host");
    }
    Ok(())
}

impl Validate for ObjectOperation {
    fn validate(&self, v: &mut Violations) {
        if self.objects.is_empty() {
            v.add("objects", "must list at least one object type");
        }
        if self.operations.is_empty() {
            v.add("operations", "must list at least one operation");
        }
        if let Err(why) = valid_callback_url(&self.callback_url) {
            v.add(
                "callbackUrl",
                format!("'{}' {why}", truncate_for_message(&self.callback_url)),
            );
        }
    }
}

impl Validate for Subscription {
    fn validate(&self, v: &mut Violations) {
        if self
            .object_type
            .is_some_and(|t| t != ObjectType::Subscription)
        {
            v.add("objectType", "must be SUBSCRIPTION");
        }
        v.length("clientName", &self.client_name, 1, 128);
        if self.object_operations.is_empty() {
            v.add("objectOperations", "must have at least one entry");
        }
        v.each("objectOperations", &self.object_operations);
        if let Some(targets) = &self.targets {
            v.each("targets", targets);
        }
    }
}

/// One notification to one callback, as the subscription's owner sees it (not part of 3.0.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = delivery)]
pub struct Delivery {
    /// The notification id, sent as `webhook-id` and stable across retries: receivers drop
    /// repeats by it.
    pub id: String,
    #[schema(example = "EVENT")]
    pub object_type: String,
    /// `POST`, `PUT` or `DELETE`.
    #[schema(example = "POST")]
    pub operation: String,
    #[serde(rename = "objectID")]
    pub object_id: String,
    pub callback_url: String,
    /// `pending` (not yet delivered; retried at `nextAttemptDateTime`), `delivered`, `failed`
    /// (attempts exhausted, or the receiver answered 410 Gone), or `superseded` (the
    /// subscription's callbacks changed first; a delivery to the current callback replaces it).
    #[schema(example = "delivered")]
    pub state: String,
    pub attempts: i32,
    /// HTTP status of the last attempt, when the callback answered.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_date_time: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_date_time: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_date_time: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_date_time: Option<DateTime<Utc>>,
}

/// The secret that signs a subscription's deliveries (not part of 3.0.1).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = subscriptionSecret)]
pub struct SubscriptionSecret {
    /// `whsec_` + base64. Standard Webhooks: HMAC-SHA256 keyed by the base64-decoded part, over
    /// `{webhook-id}.{webhook-timestamp}.{body}`, sent as `webhook-signature: v1,<base64>`.
    /// Volue: HMAC-SHA256 keyed by this whole string's UTF-8 bytes, over the body, sent as
    /// `X-Payload-Signature: <base64>`.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

/// A subscription body split for storage: the body without its bearer tokens, and the tokens
/// by position in `objectOperations` (JSON, e.g. `["t1",null]`), which the store seals. `None`
/// tokens when the body has none: then the body is returned unchanged.
pub fn split_bearer_tokens(body: &str) -> (String, Option<String>) {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(body) else {
        return (body.to_owned(), None);
    };
    let Some(operations) = value
        .get_mut("objectOperations")
        .and_then(|o| o.as_array_mut())
    else {
        return (body.to_owned(), None);
    };
    let tokens: Vec<Option<String>> = operations
        .iter_mut()
        .map(|operation| {
            let token = operation.get("bearerToken")?.as_str()?.to_owned();
            operation.as_object_mut()?.remove("bearerToken");
            Some(token)
        })
        .collect();
    if tokens.iter().all(Option::is_none) {
        return (body.to_owned(), None);
    }
    (value.to_string(), serde_json::to_string(&tokens).ok())
}

/// The body as the API returns it to the owner: [`split_bearer_tokens`] undone.
pub fn merge_bearer_tokens(body: &str, tokens: Option<&str>) -> String {
    let Some(tokens) = tokens.and_then(|t| serde_json::from_str::<Vec<Option<String>>>(t).ok())
    else {
        return body.to_owned();
    };
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_owned();
    };
    if let Some(operations) = value
        .get_mut("objectOperations")
        .and_then(|o| o.as_array_mut())
    {
        for (operation, token) in operations.iter_mut().zip(tokens) {
            if let (Some(fields), Some(token)) = (operation.as_object_mut(), token) {
                fields.insert("bearerToken".into(), serde_json::Value::String(token));
            }
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_urls_must_be_http_or_https_with_a_host() {
        assert!(valid_callback_url("https://example.com/cb?x=1").is_ok());
        assert!(valid_callback_url("http://127.0.0.1:9000/").is_ok());
        for bad in [
            "",
            "example.com/cb",
            "ftp://example.com/",
            "https://",
            "mailto:a@b.c",
            "/cb",
        ] {
            assert!(
                valid_callback_url(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn both_spellings_of_operations_are_read_and_kept() {
        let ops: Vec<Operation> =
            serde_json::from_str(r#"["GET","READ","POST","CREATE","PUT","UPDATE","DELETE"]"#)
                .unwrap();
        let canonical: Vec<_> = ops.iter().map(|o| o.canonical()).collect();
        assert_eq!(
            canonical,
            ["GET", "GET", "POST", "POST", "PUT", "PUT", "DELETE"]
        );
        assert_eq!(
            serde_json::to_string(&ops).unwrap(),
            r#"["GET","READ","POST","CREATE","PUT","UPDATE","DELETE"]"#
        );
        assert!(serde_json::from_str::<Operation>(r#""get""#).is_err());
    }

    #[test]
    fn bearer_tokens_split_out_and_merge_back() {
        let body = r#"{"id":"s","objectOperations":[{"callbackUrl":"u1","bearerToken":"t1"},{"callbackUrl":"u2"}]}"#;
        let (stripped, tokens) = split_bearer_tokens(body);
        assert!(!stripped.contains("t1"), "{stripped}");
        assert_eq!(tokens.as_deref(), Some(r#"["t1",null]"#));
        let merged: serde_json::Value =
            serde_json::from_str(&merge_bearer_tokens(&stripped, tokens.as_deref())).unwrap();
        assert_eq!(
            merged,
            serde_json::from_str::<serde_json::Value>(body).unwrap()
        );
        let plain = r#"{"objectOperations":[{"callbackUrl":"u"}]}"#;
        assert_eq!(split_bearer_tokens(plain), (plain.to_owned(), None));
        assert_eq!(merge_bearer_tokens(plain, None), plain);
    }

    #[test]
    fn debug_output_hides_the_bearer_token() {
        let op = ObjectOperation {
            objects: vec![ObjectType::Event],
            operations: vec![Operation::Post],
            callback_url: "https://example.com".into(),
            bearer_token: Some("s3cret".into()),
        };
        assert!(!format!("{op:?}").contains("s3cret"));
    }
}
