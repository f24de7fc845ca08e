//! The OpenADR 3.0.1 `program` object.

use super::common::*;
use super::validate::{Validate, Violations};
use super::ObjectType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Program metadata from VTN to VEN. The server sets `id`, `createdDateTime`,
/// `modificationDateTime` and `objectType`; clients may send them (or `null`) and they are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = program)]
pub struct Program {
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
    #[schema(example = "PROGRAM")]
    pub object_type: Option<ObjectType>,
    /// Short name that uniquely identifies the program within a tenant.
    #[schema(min_length = 1, max_length = 128, example = "ResTOU")]
    pub program_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_long_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retailer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retailer_long_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_type: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO 3166-2 subdivision, e.g. a US state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_subdivision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone_offset: Option<IsoDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_period: Option<IntervalPeriod>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_descriptions: Option<Vec<ProgramDescription>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_events: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_price: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_descriptors: Option<Vec<PayloadDescriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<ValuesMap>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramDescription {
    /// A human or machine readable program description.
    #[serde(rename = "URL")]
    #[schema(example = "https://example.com/program")]
    pub url: String,
}

impl Validate for Program {
    fn validate(&self, v: &mut Violations) {
        if self.object_type.is_some_and(|t| t != ObjectType::Program) {
            v.add("objectType", "must be PROGRAM");
        }
        v.length("programName", &self.program_name, 1, 128);
        if let Some(descriptors) = &self.payload_descriptors {
            for (i, d) in descriptors.iter().enumerate() {
                v.nested(format!("payloadDescriptors[{i}]"), |v| {
                    d.validate_kind(v, &[EVENT_PAYLOAD_DESCRIPTOR, REPORT_PAYLOAD_DESCRIPTOR])
                });
            }
        }
        if let Some(descriptions) = &self.program_descriptions {
            for (i, d) in descriptions.iter().enumerate() {
                if d.url.is_empty() {
                    v.add(format!("programDescriptions[{i}].URL"), "must not be empty");
                }
            }
        }
        if let Some(period) = &self.interval_period {
            v.field("intervalPeriod", period);
        }
        if let Some(targets) = &self.targets {
            v.each("targets", targets);
        }
    }
}
