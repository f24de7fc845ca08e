//! The OpenADR 3.0.1 `ven` and `resource` objects.

use super::common::*;
use super::validate::{Validate, Violations};
use super::ObjectType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A client with the VEN role. The server sets `id`, `createdDateTime`, `modificationDateTime`
/// and `objectType`. `resources` is not accepted here (a 400 says so): resources are created,
/// changed and listed under `/vens/{venID}/resources`, and a VEN is returned without them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = ven)]
pub struct Ven {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub created_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub modification_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "VEN")]
    pub object_type: Option<ObjectType>,
    /// Identifier of the VEN, unique within a tenant; a VEN client is bound to one venName.
    #[schema(min_length = 1, max_length = 128, example = "VEN-999")]
    pub ven_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<ValuesMap>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<ValuesMap>>,
    /// Not accepted: manage resources under `/vens/{venID}/resources`. Only `null` passes.
    #[serde(default, skip_serializing)]
    #[schema(value_type = Option<Vec<Resource>>, read_only)]
    pub resources: Option<serde_json::Value>,
}

impl Validate for Ven {
    fn validate(&self, v: &mut Violations) {
        if self.object_type.is_some_and(|t| t != ObjectType::Ven) {
            v.add("objectType", "must be VEN");
        }
        v.length("venName", &self.ven_name, 1, 128);
        if let Some(attributes) = &self.attributes {
            v.each("attributes", attributes);
        }
        if let Some(targets) = &self.targets {
            v.each("targets", targets);
        }
        if self.resources.is_some() {
            v.add(
                "resources",
                "is not accepted in a VEN; create resources with POST /vens/{venID}/resources",
            );
        }
    }
}

/// An energy device or system controlled by a VEN. The server sets `id`, `createdDateTime`,
/// `modificationDateTime`, `objectType` and `venID` (from the path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = resource)]
pub struct Resource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub created_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, read_only)]
    pub modification_date_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "RESOURCE")]
    pub object_type: Option<ObjectType>,
    /// Identifier of the resource, unique within its VEN.
    #[schema(min_length = 1, max_length = 128, example = "RESOURCE-999")]
    pub resource_name: String,
    /// The VEN of the path; a different value in the body is a 400.
    #[serde(rename = "venID", default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub ven_id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Vec<ValuesMap>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<ValuesMap>>,
}

impl Validate for Resource {
    fn validate(&self, v: &mut Violations) {
        if self.object_type.is_some_and(|t| t != ObjectType::Resource) {
            v.add("objectType", "must be RESOURCE");
        }
        v.length("resourceName", &self.resource_name, 1, 128);
        if let Some(attributes) = &self.attributes {
            v.each("attributes", attributes);
        }
        if let Some(targets) = &self.targets {
            v.each("targets", targets);
        }
    }
}
