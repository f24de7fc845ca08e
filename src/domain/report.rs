//! The OpenADR 3.0.1 `report` object.

use super::common::*;
use super::validate::{Validate, Violations};
use super::ObjectType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Data a VEN reports for an event. `programID` and `eventID` must name an existing program of
/// the caller's tenant and an event of that program. The server sets `id`, `createdDateTime`,
/// `modificationDateTime` and `objectType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = report)]
pub struct Report {
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
    #[schema(example = "REPORT")]
    pub object_type: Option<ObjectType>,
    /// The program this report is associated with.
    #[serde(rename = "programID")]
    pub program_id: ObjectId,
    /// The event this report is associated with; it must belong to `programID`.
    #[serde(rename = "eventID")]
    pub event_id: ObjectId,
    /// User generated identifier; for a VEN client, its VEN name.
    #[schema(min_length = 1, max_length = 128, example = "VEN-999")]
    pub client_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Battery_usage_04112023")]
    pub report_name: Option<String>,
    /// Report payload descriptors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_descriptors: Option<Vec<PayloadDescriptor>>,
    /// Report data, per resource.
    pub resources: Vec<ReportResource>,
}

/// Report data associated with a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = reportResource)]
pub struct ReportResource {
    /// User generated identifier. `AGGREGATED_REPORT` indicates an aggregation of more than one
    /// resource's data.
    #[schema(min_length = 1, max_length = 128, example = "RESOURCE-999")]
    pub resource_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_period: Option<IntervalPeriod>,
    pub intervals: Vec<Interval>,
}

impl Validate for ReportResource {
    fn validate(&self, v: &mut Violations) {
        v.length("resourceName", &self.resource_name, 1, 128);
        if let Some(period) = &self.interval_period {
            v.field("intervalPeriod", period);
        }
        v.each("intervals", &self.intervals);
    }
}

impl Validate for Report {
    fn validate(&self, v: &mut Violations) {
        if self.object_type.is_some_and(|t| t != ObjectType::Report) {
            v.add("objectType", "must be REPORT");
        }
        v.length("clientName", &self.client_name, 1, 128);
        if let Some(descriptors) = &self.payload_descriptors {
            for (i, d) in descriptors.iter().enumerate() {
                v.nested(format!("payloadDescriptors[{i}]"), |v| {
                    d.validate_kind(v, &[REPORT_PAYLOAD_DESCRIPTOR]);
                    if d.object_type.is_none() && d.currency.is_some() {
                        v.add("currency", "is not a field of a report payload descriptor");
                    }
                });
            }
        }
        v.each("resources", &self.resources);
    }
}
