//! Tokens from a tenant's own identity provider (the way Volue's API accepts tokens from its
//! identity service), verified against the provider's JWKS.
//!
//! Each registered provider belongs to one tenant: its tokens act in that tenant. The JWKS is
//! cached; a token with an unknown `kid` refetches it at most once per configured interval, so
//! neither a key rotation at the provider nor a flood of forged tokens costs a fetch per request.
//!
//! The role of a token comes from the provider's explicit mapping ([`IdpRole`]), never from the
//! mere absence of a claim: a token that does not satisfy the mapping is a 401. A VEN token is
//! bound to exactly one VEN, so a VEN claim that is an array is refused rather than picking one.

use super::principal::{describe, AuthFailure, Principal};
use crate::domain::admin::{valid_ven_name, IdpRole};
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
    /// `None` for a stored role this build does not know: every token is refused.
    role: Option<IdpRole>,
    bl_roles: Vec<String>,
    ven_roles: Vec<String>,
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
        let role = token_role(provider, claims)?;
        let ven_name = match role {
            Role::Ven => Some(ven_name(record.ven_claim.as_deref(), claims)?),
            _ => None,
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
                    role: IdpRole::parse(&record.role),
                    bl_roles: serde_json::from_str(&record.bl_roles).unwrap_or_default(),
                    ven_roles: serde_json::from_str(&record.ven_roles).unwrap_or_default(),
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

/// The role the provider's mapping gives the token.
fn token_role(provider: &Provider, claims: &Value) -> Result<Role, AuthFailure> {
    let refuse = |why: &str| Err(AuthFailure::Invalid(why.to_owned()));
    match provider.role {
        None => refuse("the identity provider's role mapping is not valid"),
        Some(IdpRole::Bl) => Ok(Role::BusinessLogic),
        Some(IdpRole::Ven) => Ok(Role::Ven),
        Some(IdpRole::Mapped) => {
            let Some(roles_claim) = provider.record.roles_claim.as_deref() else {
                return refuse("the identity provider's role mapping is not valid");
            };
            let roles = strings(&claims[roles_claim]);
            let bl = roles.iter().any(|r| provider.bl_roles.contains(r));
            let ven = roles.iter().any(|r| provider.ven_roles.contains(r));
            match (bl, ven) {
                (true, false) => Ok(Role::BusinessLogic),
                (false, true) => Ok(Role::Ven),
                (true, true) => refuse(&format!(
                    "the token's '{roles_claim}' claim names both a business-logic and a VEN role"
                )),
                (false, false) => refuse(&format!(
                    "the token's '{roles_claim}' claim names neither a business-logic nor a VEN role"
                )),
            }
        }
    }
}

/// The VEN a VEN token is bound to: the claim must be one string of 1 to 128 characters without
/// control characters. An array is refused, not narrowed to one of its items: a VEN principal
/// is bound to exactly one VEN, and which item was meant cannot be known.
fn ven_name(ven_claim: Option<&str>, claims: &Value) -> Result<String, AuthFailure> {
    let Some(claim) = ven_claim else {
        return Err(AuthFailure::Invalid(
            "the identity provider's role mapping is not valid".into(),
        ));
    };
    let why = match claims.get(claim) {
        Some(Value::String(name)) if valid_ven_name(name) => return Ok(name.clone()),
        None | Some(Value::Null) => format!("the token lacks the '{claim}' claim naming its VEN"),
        Some(Value::String(_)) => format!(
            "the token's '{claim}' claim must name a VEN in 1 to 128 characters without control characters"
        ),
        Some(Value::Array(_)) => format!(
            "the token's '{claim}' claim is an array; a VEN token is bound to exactly one VEN"
        ),
        Some(_) => format!("the token's '{claim}' claim must be a string naming its VEN"),
    };
    Err(AuthFailure::Invalid(why))
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
