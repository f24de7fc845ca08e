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

use crate::domain::common::ValuesMap;
use crate::error::ApiError;
use crate::store::{StoreError, TargetPairs};

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
        }
    }
}

/// Flattens `[{type, values}]` into indexed `(type, value)` pairs, without duplicates.
pub(crate) fn target_pairs(targets: &Option<Vec<ValuesMap>>) -> TargetPairs {
    let mut pairs: TargetPairs = Vec::new();
    for map in targets.iter().flatten() {
        for value in map.value_texts() {
            let pair = (map.type_.clone(), value);
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    pairs
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(ApiError::internal)
}

pub(crate) fn from_stored<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, ApiError> {
    serde_json::from_str(body).map_err(ApiError::internal)
}

/// Timestamps the server assigns: millisecond precision keeps them short and exact in every backend.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(3)
}
