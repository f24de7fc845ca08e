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

/// Payload types whose numbers are readings of energy (`USAGE`) or power (`DEMAND`), which the
/// server converts (the Voltus bridge sends them as kW, adding up several resources).
pub const READING_PAYLOAD_TYPES: [&str; 2] = ["USAGE", "DEMAND"];

/// The largest magnitude of a `USAGE` or `DEMAND` value, in the payload's own units:
/// 10^15 (10^15 MWh is some 30,000 years of the world's electricity), so no real reading is
/// refused. It keeps every conversion finite: the largest factor the server applies is
/// 120,000 (MWh over 30 s to kW), so one value becomes at most 1.2·10^20 kW, and a sum of all
/// the values a request body can hold stays some 280 orders of magnitude below `f64::MAX`.
pub const MAX_READING: f64 = 1e15;

/// Whether `value` is a reading the server accepts (finite, |value| ≤ [`MAX_READING`]).
pub fn reading_in_range(value: f64) -> bool {
    value.is_finite() && value.abs() <= MAX_READING
}

impl Validate for ReportResource {
    fn validate(&self, v: &mut Violations) {
        v.length("resourceName", &self.resource_name, 1, 128);
        if let Some(period) = &self.interval_period {
            v.field("intervalPeriod", period);
        }
        v.each("intervals", &self.intervals);
        for (i, interval) in self.intervals.iter().enumerate() {
            for (j, payload) in interval.payloads.iter().enumerate() {
                if !READING_PAYLOAD_TYPES.contains(&payload.type_.as_str()) {
                    continue;
                }
                for (k, value) in payload.values.iter().enumerate() {
                    if value.as_f64().is_some_and(|x| !reading_in_range(x)) {
                        v.add(
                            format!("intervals[{i}].payloads[{j}].values[{k}]"),
                            format!(
                                "a {} reading must be at most {MAX_READING:e} in magnitude, got {value}",
                                payload.type_
                            ),
                        );
                    }
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(payload_type: &str, value: serde_json::Value) -> Report {
        serde_json::from_value(json!({"programID": "p", "eventID": "e", "clientName": "ven",
            "resources": [{"resourceName": "r", "intervals": [
                {"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}, {"type": payload_type, "values": [1, value]}]}]}]}))
        .unwrap()
    }

    #[test]
    fn readings_beyond_the_bound_are_refused_with_their_path() {
        for bad in [json!(1e303), json!(-1e16), json!(u64::MAX)] {
            for payload_type in READING_PAYLOAD_TYPES {
                let err = Violations::check(&report(payload_type, bad.clone())).unwrap_err();
                assert!(
                    err.starts_with("resources[0].intervals[0].payloads[1].values[1]: a "),
                    "{err}"
                );
            }
        }
        for good in [json!(1e15), json!(-1e15), json!(0.25), json!("n/a")] {
            assert!(Violations::check(&report("USAGE", good)).is_ok());
        }
        // Other payload types are not readings the server converts: any number is theirs.
        assert!(Violations::check(&report("PRICE", json!(1e303))).is_ok());
    }
}
