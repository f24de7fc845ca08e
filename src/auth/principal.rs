//! Who a verified token says is calling, and why a token is refused: what both the server's own
//! tokens (`tokens`) and external identity providers' (`external`) produce, so that neither
//! module needs the other's internals.

use crate::domain::{Role, Scope, TenantId};

/// Who is calling: established from a verified token, never from the request body.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: String,
    pub tenant: TenantId,
    pub scopes: Vec<Scope>,
    pub role: Role,
    /// The VEN a VEN principal is bound to.
    pub ven_name: Option<String>,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Why a token was not accepted.
#[derive(Debug)]
pub enum AuthFailure {
    /// 401 `invalid_token`; the text is safe to show the client.
    Invalid(String),
    /// 503: the database or an identity provider could not be asked.
    Unavailable(String),
}

/// A JWT validation error as a client may read it (no key material, no token text).
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
