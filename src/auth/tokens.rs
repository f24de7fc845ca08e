//! Access tokens: HS256 JWTs carrying the client, its tenant and its scopes.

use crate::domain::{Scope, TenantId};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::time::Duration;

const ISSUER: &str = "openadr3-vtn";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Client id.
    pub sub: String,
    pub tenant: String,
    /// Space-separated scopes (RFC 8693 §4.2 style).
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

/// Who is calling: established from a verified token, never from the request body.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
    pub tenant: TenantId,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
}

impl TokenService {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    pub fn issue(
        &self,
        client_id: &str,
        tenant: &TenantId,
        scopes: &[Scope],
    ) -> anyhow::Result<IssuedToken> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: client_id.to_owned(),
            tenant: tenant.as_str().to_owned(),
            scope: Scope::join(scopes),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: ISSUER.to_owned(),
        };
        let access_token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(IssuedToken {
            access_token,
            expires_in: self.ttl.as_secs(),
        })
    }

    /// Verifies signature, issuer and expiry; the error text is safe to show the client.
    pub fn verify(&self, token: &str) -> Result<Principal, String> {
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        "the token has expired".to_owned()
                    }
                    jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                        "the token signature is invalid".to_owned()
                    }
                    _ => "the token is malformed or was not issued by this server".to_owned(),
                }
            })?;
        let claims = data.claims;
        // Unknown scope names (from a newer server, say) grant nothing rather than failing.
        let scopes = claims.scope.split(' ').filter_map(Scope::parse).collect();
        Ok(Principal {
            client_id: claims.sub,
            tenant: TenantId(claims.tenant),
            scopes,
        })
    }
}
