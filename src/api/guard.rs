//! Extractors that put authorization in the handler's signature: `Authorized<WriteEvents>` is a
//! caller whose valid token carries `write_events`; anything else is rejected before the handler
//! runs (401 without a valid token, 403 without the scope, per RFC 6750).

use crate::auth::tokens::{AuthFailure, Principal};
use crate::domain::{Role, Scope};
use crate::error::{ApiError, BearerChallenge};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use std::future::{ready, Ready};
use std::marker::PhantomData;

pub trait RequiredScope {
    /// The scope named in a 403 when the caller is refused.
    const SCOPE: Scope;
    /// Whether the caller may pass; by default, when it holds [`Self::SCOPE`].
    fn allows(principal: &Principal) -> bool {
        principal.has(Self::SCOPE)
    }
    /// The answer to a caller that may not pass: by default a 403 whose `insufficient_scope`
    /// challenge names [`Self::SCOPE`].
    fn refusal(_principal: &Principal) -> ApiError {
        ApiError::Forbidden(Self::SCOPE.as_str())
    }
}

/// Reading programs and events: `read_all`, or for a VEN client `read_targets` (3.1). What a
/// VEN client reads is filtered by its role, whichever of the two it holds.
pub struct ReadTargets;
impl RequiredScope for ReadTargets {
    const SCOPE: Scope = Scope::ReadAll;
    fn allows(p: &Principal) -> bool {
        p.has(Scope::ReadAll) || (p.role == Role::Ven && p.has(Scope::ReadTargets))
    }
}

/// Reading VENs and resources: `read_all`, or for a VEN client `read_ven_objects` (3.1). A VEN
/// client reads only its own VEN objects, whichever of the two it holds.
pub struct ReadVenObjects;
impl RequiredScope for ReadVenObjects {
    const SCOPE: Scope = Scope::ReadAll;
    fn allows(p: &Principal) -> bool {
        p.has(Scope::ReadAll) || (p.role == Role::Ven && p.has(Scope::ReadVenObjects))
    }
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
    WriteReports => Scope::WriteReports,
    WriteSubscriptions => Scope::WriteSubscriptions,
    WriteVens => Scope::WriteVens,
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
/// What the authentication middleware found, kept in the request's extensions.
#[derive(Clone)]
enum Authentication {
    Verified(Principal),
    Missing,
    Invalid(String),
    Unavailable(String),
}

/// Verifies the bearer token of every request before routing and extraction, and records the
/// outcome for [`Authorized`]. Doing it here, not in the extractor, makes the extractor
/// synchronous: actix polls a handler's extractors side by side, and an asynchronous check could
/// otherwise lose the race to a body error, answering an unauthenticated caller with a 400.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let outcome = match (
        authorization,
        req.app_data::<web::Data<AppState>>().cloned(),
    ) {
        (None, _) => Authentication::Missing,
        (Some(_), None) => Authentication::Unavailable("application state missing".into()),
        (Some(value), Some(state)) => verify(&state, &value).await,
    };
    if let Authentication::Verified(principal) = &outcome {
        let span = tracing::Span::current();
        span.record("tenant_id", principal.tenant.as_str());
        span.record("client_id", principal.client_id.as_str());
    }
    req.extensions_mut().insert(outcome);
    next.call(req).await
}

async fn verify(state: &AppState, authorization: &str) -> Authentication {
    let token = match authorization.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => return Authentication::Invalid("expected 'Authorization: Bearer <token>'".to_owned()),
    };
    match state.tokens.verify(token).await {
        Ok(principal) => Authentication::Verified(principal),
        Err(AuthFailure::Invalid(why)) => Authentication::Invalid(why),
        Err(AuthFailure::Unavailable(why)) => Authentication::Unavailable(why),
    }
}

impl<S: RequiredScope> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = req
            .extensions()
            .get::<Authentication>()
            .cloned()
            .unwrap_or(Authentication::Missing);
        ready(match outcome {
            Authentication::Verified(principal) if S::allows(&principal) => Ok(Self {
                principal,
                _scope: PhantomData,
            }),
            Authentication::Verified(principal) => Err(S::refusal(&principal)),
            Authentication::Missing => Err(ApiError::Unauthorized(BearerChallenge::Missing)),
            Authentication::Invalid(why) => {
                Err(ApiError::Unauthorized(BearerChallenge::InvalidToken(why)))
            }
            Authentication::Unavailable(why) => Err(ApiError::ServiceUnavailable(why)),
        })
    }
}
