//! Extractors that put authorization in the handler's signature: `Authorized<WriteEvents>` is a
//! caller whose valid token carries `write_events`; anything else is rejected before the handler
//! runs (401 without a valid token, 403 without the scope, per RFC 6750).

use super::tokens::Principal;
use crate::domain::Scope;
use crate::error::{ApiError, BearerChallenge};
use crate::startup::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};
use std::marker::PhantomData;

pub trait RequiredScope {
    const SCOPE: Scope;
}

macro_rules! scope_markers {
    ($($marker:ident => $scope:expr),* $(,)?) => {
        $(
            #[doc = concat!("Requires the `", stringify!($marker), "` scope.")]
            pub struct $marker;
            impl RequiredScope for $marker {
                const SCOPE: Scope = $scope;
            }
        )*
    };
}

scope_markers! {
    ReadAll => Scope::ReadAll,
    WritePrograms => Scope::WritePrograms,
    WriteEvents => Scope::WriteEvents,
}

/// A caller with a valid token holding scope `S`.
pub struct Authorized<S: RequiredScope> {
    pub principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: RequiredScope> std::ops::Deref for Authorized<S> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized(BearerChallenge::Missing));
    };
    let value = value.to_str().unwrap_or_default();
    let token = match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(ApiError::Unauthorized(BearerChallenge::InvalidToken(
                "expected 'Authorization: Bearer <token>'".to_owned(),
            )))
        }
    };
    let principal = state
        .tokens
        .verify(token)
        .map_err(|why| ApiError::Unauthorized(BearerChallenge::InvalidToken(why)))?;
    tracing::Span::current().record("tenant_id", principal.tenant.as_str());
    tracing::Span::current().record("client_id", principal.client_id.as_str());
    Ok(principal)
}

impl<S: RequiredScope> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|principal| {
            if principal.has(S::SCOPE) {
                Ok(Self {
                    principal,
                    _scope: PhantomData,
                })
            } else {
                Err(ApiError::Forbidden(S::SCOPE.as_str()))
            }
        }))
    }
}
