//! A tenant's bridge configuration: the wire types of the admin API and CLI, their rules, and the
//! operations both call (audited like every administrative change; the API key never appears in
//! a response, the audit log or the logs).

use super::client::Account;
use super::mapping::{Cancellation, MapOptions, SiteTarget, TestDispatches};
use crate::domain::validate::{Validate, Violations};
use crate::domain::TenantId;
use crate::error::ApiError;
use crate::notify::callback::CallbackPolicy;
use crate::store::sealed::VOLTUS_WEBHOOK_SECRET;
use crate::store::{AuditRecord, DynStore, StoreError, VoltusConfigRecord, VoltusStatusRecord};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// The longest poll interval, in seconds.
pub const MAX_POLL_SECONDS: f64 = 3600.0;

fn default_site_target() -> SiteTarget {
    SiteTarget::CustomerLocationId
}
fn default_target_type() -> String {
    "RESOURCE_NAME".into()
}
fn default_poll() -> f64 {
    30.0
}
fn default_tests() -> TestDispatches {
    TestDispatches::TestProgram
}
fn default_cancellation() -> Cancellation {
    Cancellation::ZeroWindow
}
fn yes() -> bool {
    true
}

/// A tenant's Voltus bridge, as an operator sets it (`PUT /admin/tenants/{tenantId}/voltus`).
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VoltusConfigInput {
    /// Voltus API base URL (https; http and private addresses only where the server allows them).
    #[schema(example = "https://api.voltus.co")]
    pub base_url: String,
    /// Voltus API key, sent as `X-Voltus-API-Key`. Required when the tenant has no bridge yet;
    /// when omitted, the stored key is kept. Never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(write_only)]
    pub api_key: Option<String>,
    /// Publish every dispatch in this program; default: one program per Voltus program, named
    /// `voltus-{program.id}`. Test dispatches go to `{name}-test` unless `testDispatches` says
    /// otherwise. A missing program is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_name: Option<String>,
    /// Which site field is the events' target value.
    #[serde(default = "default_site_target")]
    pub site_target: SiteTarget,
    /// Target type of the events' targets.
    #[serde(default = "default_target_type")]
    #[schema(example = "RESOURCE_NAME")]
    pub target_type: String,
    /// Seconds between polls of `GET /dispatches` (default 30).
    #[serde(default = "default_poll")]
    #[schema(example = 30)]
    pub poll_interval_seconds: f64,
    #[serde(default = "default_tests")]
    pub test_dispatches: TestDispatches,
    #[serde(default = "default_cancellation")]
    pub cancellation: Cancellation,
    /// Secret part of the inbound webhook path: 16 to 128 characters of A-Z, a-z, 0-9, `_`, `-`.
    /// Default: the stored one, or a new random one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(write_only)]
    pub webhook_secret: Option<String>,
    /// Forward USAGE reports of bridged events to Voltus as telemetry (default true).
    #[serde(default = "yes")]
    pub telemetry: bool,
    /// Poll and accept webhooks (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl std::fmt::Debug for VoltusConfigInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoltusConfigInput")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn text_rule(v: &mut Violations, field: &str, raw: &str, max: usize) {
    let len = raw.chars().count();
    if len == 0 || len > max {
        v.add(
            field,
            format!("length must be between 1 and {max} characters, got {len}"),
        );
    } else if raw.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
}

/// Shape rules; the URL policy and poll bounds depend on the server and are checked in [`put`].
impl Validate for VoltusConfigInput {
    fn validate(&self, v: &mut Violations) {
        if let Some(key) = &self.api_key {
            text_rule(v, "apiKey", key, 512);
        }
        if let Some(name) = &self.program_name {
            text_rule(v, "programName", name, 123);
        }
        text_rule(v, "targetType", &self.target_type, 128);
        if let Some(secret) = &self.webhook_secret {
            let ok = (16..=128).contains(&secret.len())
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !ok {
                v.add(
                    "webhookSecret",
                    "must be 16 to 128 characters of A-Z, a-z, 0-9, '_' and '-'",
                );
            }
        }
    }
}

/// A tenant's Voltus bridge as the admin API returns it: never the API key.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoltusConfig {
    #[schema(example = "acme")]
    pub tenant: String,
    pub base_url: String,
    /// The API key's last four characters (when it has at least 16), never the key.
    #[schema(example = "…3f9a")]
    pub api_key_hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_name: Option<String>,
    pub site_target: SiteTarget,
    pub target_type: String,
    pub poll_interval_seconds: f64,
    pub test_dispatches: TestDispatches,
    pub cancellation: Cancellation,
    pub telemetry: bool,
    pub enabled: bool,
    /// The inbound webhook path (under the server's base URL) to register with Voltus
    /// (`POST /2022-04-15/webhooks`). Only in the answer to a create or replace that sets the
    /// webhook secret (given, or generated for a new bridge): it holds the secret, of which the
    /// server keeps only a digest. A replace without `webhookSecret` keeps the path unshown.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/api/openadr/v1/bridge/voltus/acme/webhook/9GkVsv1w0m4…")]
    pub webhook_path: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Health of a tenant's bridge (`GET /bridge/voltus/status`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoltusStatus {
    pub enabled: bool,
    /// When `GET /dispatches` was last tried, and last answered.
    #[schema(format = DateTime)]
    pub last_poll_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_success_at: Option<String>,
    /// The last poll failure (429, 5xx, unreachable, malformed answer), kept after recovery.
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub last_error_at: Option<String>,
    /// Failed polls in a row; 0 once a poll succeeds.
    pub consecutive_failures: i32,
    #[schema(format = DateTime)]
    pub next_poll_at: Option<String>,
    /// Distinct dispatches seen.
    pub dispatches: i64,
    pub polls: i64,
    pub poll_failures: i64,
    pub events_created: i64,
    pub events_updated: i64,
    pub events_cancelled: i64,
    /// Dispatches skipped because they did not parse (each poll that lists one counts it).
    pub dispatches_malformed: i64,
    /// Dispatch versions ignored for an older `modification_number`.
    pub dispatches_stale: i64,
    pub test_dispatches_skipped: i64,
    pub webhooks_received: i64,
    pub telemetry_pending: i64,
    pub telemetry_sent: i64,
    /// Telemetry points Voltus refused (4xx); not retried.
    pub telemetry_failed: i64,
}

fn time_text(ms: Option<i64>) -> Option<String> {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

pub fn status(config: &VoltusConfigRecord, s: VoltusStatusRecord) -> VoltusStatus {
    VoltusStatus {
        enabled: config.enabled,
        last_poll_at: time_text(s.last_poll_ms),
        last_success_at: time_text(s.last_success_ms),
        last_error: s.last_error,
        last_error_at: time_text(s.last_error_ms),
        consecutive_failures: s.consecutive_failures,
        next_poll_at: config
            .enabled
            .then(|| time_text(Some(s.next_poll_ms)))
            .flatten(),
        dispatches: s.dispatches,
        polls: s.counters.polls,
        poll_failures: s.counters.poll_failures,
        events_created: s.counters.events_created,
        events_updated: s.counters.events_updated,
        events_cancelled: s.counters.events_cancelled,
        dispatches_malformed: s.counters.dispatches_malformed,
        dispatches_stale: s.counters.dispatches_stale,
        test_dispatches_skipped: s.counters.tests_skipped,
        webhooks_received: s.counters.webhooks_received,
        telemetry_pending: s.telemetry_pending,
        telemetry_sent: s.telemetry_sent,
        telemetry_failed: s.telemetry_failed,
    }
}

/// Whether `secret` (the last segment of an inbound webhook's path) is the tenant's webhook
/// secret.
pub fn webhook_secret_matches(record: &VoltusConfigRecord, secret: &str) -> bool {
    VOLTUS_WEBHOOK_SECRET.digest_matches(
        &[record.tenant.as_str()],
        secret,
        &record.webhook_secret_hash,
    )
}

/// Where a tenant's inbound webhook is.
pub fn webhook_path(tenant: &str, secret: &str) -> String {
    format!(
        "{}/bridge/voltus/{tenant}/webhook/{secret}",
        crate::config::BASE_PATH
    )
}

fn hint(api_key: &str) -> String {
    let chars: Vec<char> = api_key.chars().collect();
    if chars.len() >= 16 {
        format!("…{}", chars[chars.len() - 4..].iter().collect::<String>())
    } else {
        "…".to_owned()
    }
}

fn enum_text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn enum_value<T: serde::de::DeserializeOwned>(text: &str, fallback: T) -> T {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap_or(fallback)
}

/// A stored configuration, parsed for use.
#[derive(Clone)]
pub struct TenantBridge {
    pub tenant: TenantId,
    pub account: Account,
    pub options: MapOptions,
    pub cancellation: Cancellation,
    pub poll_interval: Duration,
    pub telemetry: bool,
    pub enabled: bool,
    pub consecutive_failures: i32,
}

impl TenantBridge {
    pub fn from_record(r: &VoltusConfigRecord) -> Self {
        Self {
            tenant: r.tenant.clone(),
            account: Account {
                base_url: r.base_url.clone(),
                api_key: r.api_key.clone(),
            },
            options: MapOptions {
                program_name: r.program_name.clone(),
                site_target: enum_value(&r.site_target, SiteTarget::CustomerLocationId),
                target_type: r.target_type.clone(),
                test_dispatches: enum_value(&r.test_dispatches, TestDispatches::TestProgram),
                telemetry: r.telemetry,
            },
            cancellation: enum_value(&r.cancellation, Cancellation::ZeroWindow),
            poll_interval: Duration::from_millis(r.poll_interval_ms.max(1) as u64),
            telemetry: r.telemetry,
            enabled: r.enabled,
            consecutive_failures: r.consecutive_failures,
        }
    }
}

/// The API view; `webhook_secret` is known only when this request set or generated it (the
/// store keeps a digest of it).
fn view(r: &VoltusConfigRecord, webhook_secret: Option<&str>) -> VoltusConfig {
    let bridge = TenantBridge::from_record(r);
    VoltusConfig {
        tenant: r.tenant.0.clone(),
        base_url: r.base_url.clone(),
        api_key_hint: hint(&r.api_key),
        program_name: r.program_name.clone(),
        site_target: bridge.options.site_target,
        target_type: r.target_type.clone(),
        poll_interval_seconds: r.poll_interval_ms as f64 / 1000.0,
        test_dispatches: bridge.options.test_dispatches,
        cancellation: bridge.cancellation,
        telemetry: r.telemetry,
        enabled: r.enabled,
        webhook_path: webhook_secret.map(|secret| webhook_path(r.tenant.as_str(), secret)),
        created_at: r.created_at.clone(),
        updated_at: r.updated_at.clone(),
    }
}

/// Limits that depend on the server's configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    pub policy: CallbackPolicy,
    pub min_poll_seconds: f64,
}

fn tenant_id(raw: &str) -> Result<TenantId, ApiError> {
    crate::service::admin::tenant_id("tenantId", raw)
}

fn random_secret() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn now_text() -> String {
    crate::service::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn audit(
    store: &DynStore,
    actor: &str,
    action: &str,
    tenant: &TenantId,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    store
        .insert_audit(&AuditRecord {
            seq: 0,
            at: now_text(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            tenant: Some(tenant.0.clone()),
            target: tenant.0.clone(),
            detail: detail.to_string(),
        })
        .await?;
    tracing::info!(actor, action, tenant = tenant.as_str(), "admin action");
    Ok(())
}

/// Creates or replaces the tenant's bridge; a poll follows at once. `actor` names the caller in
/// the audit log.
pub async fn put(
    store: &DynStore,
    limits: &Limits,
    actor: &str,
    tenant: &str,
    input: VoltusConfigInput,
) -> Result<VoltusConfig, ApiError> {
    let tenant = tenant_id(tenant)?;
    Violations::check(&input).map_err(ApiError::BadRequest)?;
    let url = limits.policy.check_url(&input.base_url).map_err(|e| {
        ApiError::bad_request(format!(
            "baseUrl: {}",
            e.to_string().replace("callbackUrl ", "")
        ))
    })?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ApiError::bad_request(
            "baseUrl: must not have a query or fragment",
        ));
    }
    let poll = input.poll_interval_seconds;
    if !poll.is_finite() || poll < limits.min_poll_seconds || poll > MAX_POLL_SECONDS {
        return Err(ApiError::bad_request(format!(
            "pollIntervalSeconds: must be between {} and {MAX_POLL_SECONDS}, got {poll}",
            limits.min_poll_seconds
        )));
    }
    if store.tenant_enabled(&tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant", tenant.as_str()));
    }
    let existing = store.get_voltus_config(&tenant).await?;
    let api_key = match (input.api_key, &existing) {
        (Some(key), _) => key,
        (None, Some(existing)) => existing.api_key.clone(),
        (None, None) => {
            return Err(ApiError::bad_request(
                "apiKey: required when the tenant has no Voltus bridge yet",
            ))
        }
    };
    // Only a digest of the webhook secret is stored: a kept secret cannot be shown again.
    let (webhook_secret, webhook_secret_hash) = match (input.webhook_secret, &existing) {
        (Some(secret), _) => {
            let hash = VOLTUS_WEBHOOK_SECRET.digest(&[tenant.as_str()], &secret);
            (Some(secret), hash)
        }
        (None, Some(existing)) => (None, existing.webhook_secret_hash.clone()),
        (None, None) => {
            let secret = random_secret();
            let hash = VOLTUS_WEBHOOK_SECRET.digest(&[tenant.as_str()], &secret);
            (Some(secret), hash)
        }
    };
    let now = now_text();
    let record = VoltusConfigRecord {
        tenant: tenant.clone(),
        base_url: input.base_url.trim_end_matches('/').to_owned(),
        api_key,
        program_name: input.program_name,
        site_target: enum_text(&input.site_target),
        target_type: input.target_type,
        poll_interval_ms: (poll * 1000.0).round() as i64,
        test_dispatches: enum_text(&input.test_dispatches),
        cancellation: enum_text(&input.cancellation),
        webhook_secret_hash,
        telemetry: input.telemetry,
        enabled: input.enabled,
        created_at: existing
            .as_ref()
            .map_or_else(|| now.clone(), |e| e.created_at.clone()),
        updated_at: now,
        consecutive_failures: 0,
        next_poll_ms: 0,
    };
    store
        .put_voltus_config(&record)
        .await
        .map_err(|e| match e {
            StoreError::Reference => ApiError::not_found("tenant", tenant.as_str()),
            other => other.into(),
        })?;
    audit(
        store,
        actor,
        "voltus.configure",
        &tenant,
        serde_json::json!({"baseUrl": record.base_url, "enabled": record.enabled}),
    )
    .await?;
    Ok(view(&record, webhook_secret.as_deref()))
}

async fn find(store: &DynStore, tenant: &TenantId) -> Result<VoltusConfigRecord, ApiError> {
    store.get_voltus_config(tenant).await?.ok_or_else(|| {
        ApiError::NotFound(format!("tenant '{}' has no Voltus bridge", tenant.as_str()))
    })
}

pub async fn get(store: &DynStore, tenant: &str) -> Result<VoltusConfig, ApiError> {
    let tenant = tenant_id(tenant)?;
    Ok(view(&find(store, &tenant).await?, None))
}

/// Removes the bridge; its events stay, and so does the mapping (a new bridge reuses it).
pub async fn delete(store: &DynStore, actor: &str, tenant: &str) -> Result<VoltusConfig, ApiError> {
    let tenant = tenant_id(tenant)?;
    let existing = find(store, &tenant).await?;
    store.delete_voltus_config(&tenant).await?;
    audit(
        store,
        actor,
        "voltus.delete",
        &tenant,
        serde_json::json!({}),
    )
    .await?;
    Ok(view(&existing, None))
}

pub async fn get_status(store: &DynStore, tenant: &TenantId) -> Result<VoltusStatus, ApiError> {
    let config = find(store, tenant).await?;
    let record = store.voltus_status(tenant).await?.ok_or_else(|| {
        ApiError::NotFound(format!("tenant '{}' has no Voltus bridge", tenant.as_str()))
    })?;
    Ok(status(&config, record))
}
