//! What the API does with OpenADR objects, independent of HTTP: server-assigned fields, the
//! stored representation, and what each storage outcome means for the client.
//!
//! Handlers authorize and parse; these functions decide. Responses are the stored JSON text.

pub mod admin;
pub mod energy;
pub mod events;
pub mod programs;
pub mod reports;
pub mod subscriptions;
pub mod vens;

pub(crate) use crate::domain::common::{now, target_pairs};
use crate::error::ApiError;
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Duplicate => {
                ApiError::Conflict("an object with the same unique name already exists".into())
            }
            StoreError::Reference => ApiError::Conflict(
                "the object is referenced by, or refers to, another object".into(),
            ),
            StoreError::Database(e) => e.into(),
            StoreError::Secret(e) => ApiError::Internal(e.into()),
        }
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

pub(crate) fn from_stored<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(ApiError::internal)
}

/// For `events::delete` and the like (here, so that `events` needs nothing of `reports`): the 409 of deleting an object that reports refer to.
pub(crate) fn still_reported<'a>(
    kind: &'static str,
    id: &'a crate::domain::ObjectId,
) -> impl FnOnce(StoreError) -> ApiError + 'a {
    move |e| match e {
        StoreError::Reference => ApiError::Conflict(format!(
            "{kind} '{id}' still has reports; delete its reports first"
        )),
        other => other.into(),
    }
}
