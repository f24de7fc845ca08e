//! Access tokens: JWTs carrying the client, its tenant, role and scopes.
//!
//! Issued tokens are signed with the server's EdDSA keys (published at `/.well-known/jwks.json`)
//! or, when `VTN_JWT_SECRET` is set, with HS256. Tokens of registered external identity
//! providers are accepted too. Every verified local token is checked against the database, so a
//! disabled client or tenant is locked out at once, not when its tokens expire, and a token is
//! bound to the client record that minted it: its `instance` claim names that record, so
//! deleting a client id and creating it again (in another tenant or role) does not revive it.

use super::external::ExternalProviders;
use super::keys::KeyRing;
use super::principal::describe;
pub use super::principal::{AuthFailure, Principal};
use crate::domain::{Role, Scope, TenantId};
use crate::store::DynStore;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const ISSUER: &str = "openadr3-vtn";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Client id.
    pub sub: String,
    pub tenant: String,
    /// Space-separated scopes (RFC 8693 §4.2 style).
    pub scope: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ven: Option<String>,
    /// The client record's instance id. Optional here only so that tokens issued before it
    /// existed get a clear 401 instead of "malformed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

enum Signer {
    Hs256 {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    Keys(KeyRing),
}

pub struct TokenService {
    signer: Signer,
    external: ExternalProviders,
    store: DynStore,
    ttl: Duration,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

/// What a token is issued for.
pub struct Grant<'a> {
    pub client_id: &'a str,
    /// The client record's instance id (see [`crate::store::ClientRecord::instance_id`]).
    pub instance_id: &'a str,
    pub tenant: &'a TenantId,
    pub role: Role,
    pub ven_name: Option<&'a str>,
    pub scopes: &'a [Scope],
}

impl TokenService {
    /// `hs256_secret`: sign with that secret; `None`: with the stored EdDSA keys.
    pub async fn new(
        store: DynStore,
        hs256_secret: Option<&[u8]>,
        ttl: Duration,
        external: ExternalProviders,
    ) -> anyhow::Result<Self> {
        let signer = match hs256_secret {
            Some(secret) => Signer::Hs256 {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
            },
            None => Signer::Keys(KeyRing::load(store.clone(), ttl).await?),
        };
        Ok(Self {
            signer,
            external,
            store,
            ttl,
        })
    }

    pub fn key_ring(&self) -> Option<&KeyRing> {
        match &self.signer {
            Signer::Keys(ring) => Some(ring),
            Signer::Hs256 { .. } => None,
        }
    }

    pub async fn issue(&self, grant: Grant<'_>) -> anyhow::Result<IssuedToken> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: grant.client_id.to_owned(),
            tenant: grant.tenant.as_str().to_owned(),
            scope: Scope::join(grant.scopes),
            role: grant.role.as_str().to_owned(),
            ven: grant.ven_name.map(str::to_owned),
            instance: Some(grant.instance_id.to_owned()),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: ISSUER.to_owned(),
        };
        let access_token = match &self.signer {
            Signer::Hs256 { encoding, .. } => {
                encode(&Header::new(Algorithm::HS256), &claims, encoding)?
            }
            Signer::Keys(ring) => {
                let (kid, key) = ring.signing_key().await?;
                let mut header = Header::new(Algorithm::EdDSA);
                header.kid = Some(kid);
                encode(&header, &claims, &key)?
            }
        };
        Ok(IssuedToken {
            access_token,
            expires_in: self.ttl.as_secs(),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<Principal, AuthFailure> {
        let malformed = || {
            AuthFailure::Invalid("the token is malformed or was not issued by this server".into())
        };
        let header = decode_header(token).map_err(|_| malformed())?;
        let issuer = unverified_issuer(token).ok_or_else(malformed)?;
        if issuer != ISSUER {
            return self.external.verify(token, &header, &issuer).await;
        }
        let key = match (&self.signer, header.alg) {
            (Signer::Hs256 { decoding, .. }, Algorithm::HS256) => decoding.clone(),
            (Signer::Keys(ring), Algorithm::EdDSA) => {
                let kid = header.kid.as_deref().ok_or_else(malformed)?;
                ring.verifying_key(kid).await.ok_or_else(|| {
                    AuthFailure::Invalid(
                        "the token was signed with an unknown or expired key".into(),
                    )
                })?
            }
            _ => {
                return Err(AuthFailure::Invalid(
                    "the token's algorithm is not the one this server signs with".into(),
                ))
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        let claims = decode::<Claims>(token, &key, &validation)
            .map_err(|e| AuthFailure::Invalid(describe(&e)))?
            .claims;
        let Some(instance) = claims.instance.as_deref().filter(|i| !i.is_empty()) else {
            return Err(AuthFailure::Invalid(
                "the token predates client binding; fetch a new one".into(),
            ));
        };
        // One query: the record the client id names now must be the one that minted the token.
        let binding = match self.store.client_binding(&claims.sub).await {
            Ok(Some(binding)) => binding,
            Ok(None) => return Err(AuthFailure::Invalid("the client no longer exists".into())),
            Err(e) => {
                return Err(AuthFailure::Unavailable(format!(
                    "checking the client failed: {e}"
                )))
            }
        };
        if binding.instance_id != instance
            || binding.tenant.as_str() != claims.tenant
            || binding.role != claims.role
        {
            // Deleted and created again: the token belongs to a client that no longer exists.
            return Err(AuthFailure::Invalid("the client no longer exists".into()));
        }
        if !binding.enabled {
            return Err(AuthFailure::Invalid(
                "the client or its tenant is disabled".into(),
            ));
        }
        let role = Role::parse(&claims.role).map_err(|_| malformed())?;
        // Unknown scope names (from a newer server, say) grant nothing rather than failing.
        let scopes = claims.scope.split(' ').filter_map(Scope::parse).collect();
        Ok(Principal {
            client_id: claims.sub,
            tenant: TenantId(claims.tenant),
            scopes,
            role,
            ven_name: claims.ven,
        })
    }
}

/// The `iss` claim, read before verification only to choose the key to verify with.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}
