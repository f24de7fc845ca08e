//! The HTTP client of Voltus's REST API (version 2022-04-15): the subset the bridge uses.
//!
//! Every request carries the tenant's `X-Voltus-API-Key` and goes to the tenant's configured base
//! URL only, through a client that follows no redirects and (unless configured otherwise) calls
//! only public https addresses. Failures come back classified, so the caller can back off.

use crate::notify::callback::CallbackPolicy;
use serde_json::Value;
use std::time::Duration;

/// Largest Voltus response body read.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub const API_VERSION_PATH: &str = "/2022-04-15";

/// What a tenant's requests need.
#[derive(Clone)]
pub struct Account {
    pub base_url: String,
    pub api_key: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum VoltusError {
    /// 429: try again later, not before `retry_after` when given.
    RateLimited { retry_after: Option<Duration> },
    /// 5xx.
    Server {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Another 4xx (refused request, bad key, …), with Voltus's `message` when it sent one.
    Refused { status: u16, message: String },
    /// No answer: DNS, connection, TLS, timeout.
    Unreachable(String),
    /// An answer that is not what the API documents.
    Malformed(String),
}

impl VoltusError {
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl std::fmt::Display for VoltusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RateLimited { .. } => write!(f, "Voltus answered 429 Too Many Requests"),
            Self::Server { status, .. } => write!(f, "Voltus answered HTTP {status}"),
            Self::Refused { status, message } if message.is_empty() => {
                write!(f, "Voltus refused the request with HTTP {status}")
            }
            Self::Refused { status, message } => {
                write!(
                    f,
                    "Voltus refused the request with HTTP {status}: {message}"
                )
            }
            Self::Unreachable(why) => write!(f, "Voltus is unreachable: {why}"),
            Self::Malformed(why) => write!(f, "Voltus answered something unexpected: {why}"),
        }
    }
}

#[derive(Clone)]
pub struct VoltusClient {
    http: reqwest::Client,
    policy: CallbackPolicy,
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

/// A reqwest error without its URL.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "no answer in time".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        let mut text = error.to_string();
        if let Some(url) = error.url() {
            text = text.replace(url.as_str(), "<voltus>");
        }
        text
    }
}

impl VoltusClient {
    pub fn new(policy: CallbackPolicy) -> anyhow::Result<Self> {
        Ok(Self {
            http: policy.client()?,
            policy,
        })
    }

    pub fn policy(&self) -> &CallbackPolicy {
        &self.policy
    }

    fn url(&self, account: &Account, path: &str) -> Result<reqwest::Url, VoltusError> {
        let raw = format!(
            "{}{API_VERSION_PATH}{path}",
            account.base_url.trim_end_matches('/')
        );
        self.policy
            .check_url(&raw)
            .map_err(|e| VoltusError::Unreachable(e.to_string().replace("callbackUrl", "base URL")))
    }

    async fn send(
        &self,
        account: &Account,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<Value>, VoltusError> {
        let response = request
            .header("X-Voltus-API-Key", &account.api_key)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| VoltusError::Unreachable(describe(&e)))?;
        let status = response.status();
        let headers = response.headers().clone();
        if response
            .content_length()
            .is_some_and(|l| l as usize > MAX_BODY)
        {
            return Err(VoltusError::Malformed("the answer is too large".into()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| VoltusError::Unreachable(describe(&e)))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status.as_u16() == 429 {
            return Err(VoltusError::RateLimited {
                retry_after: retry_after(&headers),
            });
        }
        if status.is_server_error() {
            return Err(VoltusError::Server {
                status: status.as_u16(),
                retry_after: retry_after(&headers),
            });
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(Value::as_str)
                        .map(crate::domain::common::truncate_for_message)
                })
                .unwrap_or_default();
            return Err(VoltusError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        if body.len() > MAX_BODY {
            return Err(VoltusError::Malformed("the answer is too large".into()));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Some(Value::Null));
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| VoltusError::Malformed(format!("not JSON ({e})")))
    }

    /// `GET /dispatches`: the raw dispatches (each parsed later, so one bad one spoils nothing).
    pub async fn list_dispatches(&self, account: &Account) -> Result<Vec<Value>, VoltusError> {
        let url = self.url(account, "/dispatches")?;
        let body = self
            .send(account, self.http.get(url))
            .await?
            .ok_or_else(|| VoltusError::Refused {
                status: 404,
                message: "no /dispatches at the configured base URL".into(),
            })?;
        match body.get("dispatches") {
            Some(Value::Array(list)) => Ok(list.clone()),
            _ => Err(VoltusError::Malformed(
                "the answer has no 'dispatches' array".into(),
            )),
        }
    }

    /// `GET /dispatches/{id}`; `None` when Voltus does not know it. `id` must already be checked.
    pub async fn get_dispatch(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<Option<Value>, VoltusError> {
        let url = self.url(account, &format!("/dispatches/{id}"))?;
        match self.send(account, self.http.get(url)).await? {
            Some(body) if body.is_object() => Ok(Some(body)),
            Some(_) => Err(VoltusError::Malformed(
                "the dispatch is not a JSON object".into(),
            )),
            None => Ok(None),
        }
    }

    /// `POST /telemetry` with `{"telemetry": points}`.
    pub async fn post_telemetry(
        &self,
        account: &Account,
        points: &[Value],
    ) -> Result<(), VoltusError> {
        let url = self.url(account, "/telemetry")?;
        let body = serde_json::json!({ "telemetry": points });
        match self.send(account, self.http.post(url).json(&body)).await? {
            Some(_) => Ok(()),
            None => Err(VoltusError::Refused {
                status: 404,
                message: "no /telemetry at the configured base URL".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        let later = chrono::Utc::now() + chrono::TimeDelta::seconds(30);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            later.to_rfc2822().parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
