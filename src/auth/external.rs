//! Tokens from a tenant's own identity provider (the way Volue's API accepts tokens from its
//! identity service), verified against the provider's JWKS.
//!
//! Each registered provider belongs to one tenant: its tokens act in that tenant. The JWKS is
//! cached; a token with an unknown `kid` refetches it at most once per configured interval, so
//! neither a key rotation at the provider nor a flood of forged tokens costs a fetch per request.

use super::tokens::{AuthFailure, Principal};
use crate::domain::{Role, Scope};
use crate::store::{DynStore, IdentityProviderRecord};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Header, Validation};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Tokens of unknown issuers reload the provider list at most this often, so a provider
/// registered a moment ago is found at once, and a flood of forged issuers costs one query a second.
const PROVIDERS_RELOAD_EVERY: Duration = Duration::from_secs(1);
const PROVIDERS_REFRESH_EVERY: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Jwks {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
}

struct Provider {
    record: IdentityProviderRecord,
    /// Role name -> scopes, parsed once.
    role_scopes: HashMap<String, Vec<Scope>>,
    /// Single-flight: concurrent requests wait for one fetch instead of each fetching.
    jwks: tokio::sync::Mutex<Jwks>,
}

struct Providers {
    by_issuer: HashMap<String, Arc<Provider>>,
    loaded_at: Option<Instant>,
    /// When a token of an unknown issuer last caused a reload.
    unknown_issuer_reload: Option<Instant>,
}

pub struct ExternalProviders {
    store: DynStore,
    http: reqwest::Client,
    refetch_every: Duration,
    providers: RwLock<Providers>,
}

impl ExternalProviders {
    pub fn new(
        store: DynStore,
        refetch_every: Duration,
        fetch_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            store,
            http,
            refetch_every,
            providers: RwLock::new(Providers {
                by_issuer: HashMap::new(),
                loaded_at: None,
                unknown_issuer_reload: None,
            }),
        })
    }

    /// Verifies a token whose `iss` is not this server's.
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        issuer: &str,
    ) -> Result<Principal, AuthFailure> {
        let provider = self.provider(issuer).await?.ok_or_else(|| {
            AuthFailure::Invalid("the token issuer is not a registered identity provider".into())
        })?;
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| AuthFailure::Invalid("the token has no key id (kid)".into()))?;
        if matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        ) {
            return Err(AuthFailure::Invalid(
                "external tokens must be signed with an asymmetric key".into(),
            ));
        }
        let key = self.key(&provider, kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&provider.record.issuer]);
        validation.set_audience(&[&provider.record.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let claims = decode::<Value>(token, &key, &validation)
            .map_err(|e| AuthFailure::Invalid(describe(&e)))?
            .claims;
        self.principal(&provider, &claims).await
    }

    async fn principal(
        &self,
        provider: &Provider,
        claims: &Value,
    ) -> Result<Principal, AuthFailure> {
        let record = &provider.record;
        let mut scopes: Vec<Scope> = strings(&claims[&record.scope_claim])
            .iter()
            .filter_map(|s| Scope::parse(s))
            .collect();
        if let Some(roles_claim) = &record.roles_claim {
            for role in strings(&claims[roles_claim]) {
                scopes.extend(provider.role_scopes.get(&role).into_iter().flatten());
            }
        }
        let ven_name = record
            .ven_claim
            .as_ref()
            .and_then(|c| claims[c].as_str())
            .map(str::to_owned);
        let role = if ven_name.is_some() {
            Role::Ven
        } else {
            Role::BusinessLogic
        };
        // A provider cannot grant more than the role allows (never `admin`, for instance).
        scopes.retain(|s| role.allowed_scopes().contains(s));
        scopes.sort();
        scopes.dedup();
        match self.store.tenant_enabled(&record.tenant).await {
            Ok(Some(true)) => {}
            Ok(_) => return Err(AuthFailure::Invalid("the tenant is disabled".into())),
            Err(e) => {
                return Err(AuthFailure::Unavailable(format!(
                    "checking the tenant failed: {e}"
                )))
            }
        }
        let subject = claims["sub"].as_str().unwrap_or_default();
        Ok(Principal {
            client_id: format!("{}#{subject}", record.issuer),
            tenant: record.tenant.clone(),
            scopes,
            role,
            ven_name,
        })
    }

    /// The registered provider for `issuer`, reloading the list when it is stale or the issuer new.
    async fn provider(&self, issuer: &str) -> Result<Option<Arc<Provider>>, AuthFailure> {
        let (found, loaded_at) = {
            let providers = self.providers.read().unwrap_or_else(|e| e.into_inner());
            (
                providers.by_issuer.get(issuer).cloned(),
                providers.loaded_at,
            )
        };
        let stale = loaded_at.is_none_or(|t| t.elapsed() >= PROVIDERS_REFRESH_EVERY);
        if found.is_some() && !stale {
            return Ok(found);
        }
        if found.is_none() && !stale {
            // An unknown issuer may be a provider registered since the last load: reload, but
            // at most once per interval however many unknown issuers arrive.
            let mut providers = self.providers.write().unwrap_or_else(|e| e.into_inner());
            if providers
                .unknown_issuer_reload
                .is_some_and(|t| t.elapsed() < PROVIDERS_RELOAD_EVERY)
            {
                return Ok(None);
            }
            providers.unknown_issuer_reload = Some(Instant::now());
        }
        let records = self
            .store
            .list_identity_providers(None)
            .await
            .map_err(|e| {
                AuthFailure::Unavailable(format!("loading identity providers failed: {e}"))
            })?;
        let mut providers = self.providers.write().unwrap_or_else(|e| e.into_inner());
        let previous = std::mem::take(&mut providers.by_issuer);
        for record in records {
            // Keep a provider's cached JWKS across reloads unless its settings changed.
            let provider = match previous.get(&record.issuer) {
                Some(p) if p.record.jwks_url == record.jwks_url && p.record.id == record.id => {
                    Arc::clone(p)
                }
                _ => Arc::new(Provider {
                    role_scopes: parse_role_scopes(&record.role_scopes),
                    record: record.clone(),
                    jwks: tokio::sync::Mutex::new(Jwks::default()),
                }),
            };
            providers.by_issuer.insert(record.issuer.clone(), provider);
        }
        providers.loaded_at = Some(Instant::now());
        Ok(providers.by_issuer.get(issuer).cloned())
    }

    async fn key(&self, provider: &Provider, kid: &str) -> Result<DecodingKey, AuthFailure> {
        let mut jwks = provider.jwks.lock().await;
        if let Some(key) = jwks.keys.get(kid) {
            return Ok(key.clone());
        }
        let may_fetch = jwks
            .fetched_at
            .is_none_or(|t| t.elapsed() >= self.refetch_every);
        if !may_fetch {
            return Err(AuthFailure::Invalid(
                "the token's key id is not in the provider's key set".into(),
            ));
        }
        jwks.fetched_at = Some(Instant::now());
        match self.fetch(&provider.record.jwks_url).await {
            Ok(keys) => jwks.keys = keys,
            Err(why) => {
                tracing::warn!(issuer = %provider.record.issuer, %why, "fetching the identity provider's JWKS failed");
                return Err(AuthFailure::Unavailable(format!(
                    "the identity provider is unreachable: {why}"
                )));
            }
        }
        jwks.keys.get(kid).cloned().ok_or_else(|| {
            AuthFailure::Invalid("the token's key id is not in the provider's key set".into())
        })
    }

    async fn fetch(&self, url: &str) -> Result<HashMap<String, DecodingKey>, String> {
        let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| format!("not a JWKS: {e}"))?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
            .collect())
    }
}

/// A claim that is a space-separated string or an array of strings.
fn strings(claim: &Value) -> Vec<String> {
    match claim {
        Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_role_scopes(json: &str) -> HashMap<String, Vec<Scope>> {
    let map: HashMap<String, Vec<String>> = serde_json::from_str(json).unwrap_or_default();
    map.into_iter()
        .map(|(role, scopes)| {
            (
                role,
                scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            )
        })
        .collect()
}

pub(crate) fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::InvalidSignature => "the token signature is invalid".into(),
        ErrorKind::InvalidAudience => "the token is not meant for this server (audience)".into(),
        ErrorKind::InvalidIssuer => "the token issuer is not accepted".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token lacks the '{claim}' claim"),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        _ => "the token is malformed".into(),
    }
}
