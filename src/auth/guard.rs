//! Extractors that put authorization in the handler's signature: `Authorized<WriteEvents>` is a
//! caller whose valid token carries `write_events`; anything else is rejected before the handler
//! runs (401 without a valid token, 403 without the scope, per RFC 6750).

use super::tokens::{AuthFailure, Principal};
use crate::domain::Scope;
use crate::error::{ApiError, BearerChallenge};
use crate::startup::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
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
    Admin => Scope::Admin,
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

/// The bearer token of the request, verified.
async fn authenticate(
    state: web::Data<AppState>,
    authorization: Option<String>,
) -> Result<Principal, ApiError> {
    let Some(value) = authorization else {
        return Err(ApiError::Unauthorized(BearerChallenge::Missing));
    };
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
        .await
        .map_err(|failure| match failure {
            AuthFailure::Invalid(why) => ApiError::Unauthorized(BearerChallenge::InvalidToken(why)),
            AuthFailure::Unavailable(why) => ApiError::ServiceUnavailable(why),
        })?;
    let span = tracing::Span::current();
    span.record("tenant_id", principal.tenant.as_str());
    span.record("client_id", principal.client_id.as_str());
    Ok(principal)
}

impl<S: RequiredScope + 'static> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        Box::pin(async move {
            let state = state
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?;
            let principal = authenticate(state, authorization).await?;
            if principal.has(S::SCOPE) {
                Ok(Self {
                    principal,
                    _scope: PhantomData,
                })
            } else {
                Err(ApiError::Forbidden(S::SCOPE.as_str()))
            }
        })
    }
}
