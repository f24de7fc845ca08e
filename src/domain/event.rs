//! The OpenADR 3.0.1 `event` object, and the time window in which it is active.

use super::common::*;
use super::validate::{Validate, Violations};
use super::ObjectType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A demand-response request from VTN to VENs. An event-level `intervalPeriod` sets the default
/// start and duration of its intervals. The server sets `id`, `createdDateTime`,
/// `modificationDateTime` and `objectType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = event)]
pub struct Event {
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
    #[schema(example = "EVENT")]
    pub object_type: Option<ObjectType>,
    /// The program this event belongs to; it must exist in the caller's tenant.
    #[serde(rename = "programID")]
    pub program_id: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// Lower number is higher priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<ValuesMap>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_descriptors: Option<Vec<ReportDescriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_descriptors: Option<Vec<PayloadDescriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_period: Option<IntervalPeriod>,
    pub intervals: Vec<Interval>,
}

impl Validate for Event {
    fn validate(&self, v: &mut Violations) {
        if self.object_type.is_some_and(|t| t != ObjectType::Event) {
            v.add("objectType", "must be EVENT");
        }
        if self.priority.is_some_and(|p| p < 0) {
            v.add("priority", "must be 0 or greater");
        }
        if let Some(targets) = &self.targets {
            v.each("targets", targets);
        }
        if let Some(descriptors) = &self.report_descriptors {
            v.each("reportDescriptors", descriptors);
        }
        if let Some(descriptors) = &self.payload_descriptors {
            for (i, d) in descriptors.iter().enumerate() {
                v.nested(format!("payloadDescriptors[{i}]"), |v| {
                    d.validate_kind(v, &[EVENT_PAYLOAD_DESCRIPTOR])
                });
            }
        }
        if let Some(period) = &self.interval_period {
            v.field("intervalPeriod", period);
        }
        v.each("intervals", &self.intervals);
    }
}

/// When an event is active: `[start, end)`. `None` for `start` means no time was given at all
/// (the event matches every window); `None` for `end` means open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveWindow {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Event {
    /// The event's active window, following the 3.0.1 User Guide §7.3–7.4:
    /// intervals run back to back from the event's `intervalPeriod.start`, each lasting the
    /// event's default duration unless it carries its own `intervalPeriod`, which overrides start
    /// and/or duration. The window runs from the earliest start to the latest end. A missing
    /// duration anywhere, or `P9999Y`, makes the event open-ended.
    pub fn active_window(&self) -> ActiveWindow {
        let default = self.interval_period.as_ref();
        let mut cursor = default.map(|p| p.start.to_utc());
        let mut start = cursor;
        let mut end: Option<DateTime<Utc>> = None;
        let mut open_ended = default
            .and_then(|p| p.duration.as_ref())
            .is_some_and(IsoDuration::is_infinite);

        for interval in &self.intervals {
            let own = interval.interval_period.as_ref();
            let interval_start = own.map(|p| p.start.to_utc()).or(cursor);
            let duration = own
                .and_then(|p| p.duration.as_ref())
                .or(default.and_then(|p| p.duration.as_ref()));
            let Some(interval_start) = interval_start else {
                // No start known for this interval: nothing to anchor the window to.
                continue;
            };
            start = Some(start.map_or(interval_start, |s| s.min(interval_start)));
            match duration.and_then(|d| d.add_to(interval_start)) {
                Some(interval_end) => {
                    end = Some(end.map_or(interval_end, |e| e.max(interval_end)));
                    cursor = Some(interval_end);
                }
                None => {
                    open_ended = true;
                    cursor = None;
                }
            }
        }
        if self.intervals.is_empty() {
            // An event-level period alone still describes when the event applies.
            match default.and_then(|p| p.duration.as_ref()).zip(start) {
                Some((d, s)) => end = d.add_to(s),
                None => open_ended = true,
            }
        }
        if open_ended || start.is_none() {
            end = None;
        }
        ActiveWindow { start, end }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(body: serde_json::Value) -> Event {
        serde_json::from_value(body).unwrap()
    }

    fn window(e: &Event) -> (Option<String>, Option<String>) {
        let w = e.active_window();
        (
            w.start.map(|t| t.to_rfc3339()),
            w.end.map(|t| t.to_rfc3339()),
        )
    }

    #[test]
    fn back_to_back_intervals_from_the_event_period() {
        let e = event(
            json!({"programID": "p", "intervalPeriod": {"start": "2024-01-01T00:00:00+01:00", "duration": "PT1H"},
            "intervals": [{"id": 0, "payloads": []}, {"id": 1, "payloads": []}, {"id": 2, "payloads": []}]}),
        );
        assert_eq!(
            window(&e),
            (
                Some("2023-12-31T23:00:00+00:00".into()),
                Some("2024-01-01T02:00:00+00:00".into())
            )
        );
    }

    #[test]
    fn interval_periods_override_start_and_duration() {
        let e = event(
            json!({"programID": "p", "intervalPeriod": {"start": "2024-01-01T00:00:00Z", "duration": "PT1H"},
            "intervals": [{"id": 0, "payloads": []},
                          {"id": 1, "intervalPeriod": {"start": "2024-01-01T05:00:00Z", "duration": "PT30M"}, "payloads": []}]}),
        );
        assert_eq!(
            window(&e),
            (
                Some("2024-01-01T00:00:00+00:00".into()),
                Some("2024-01-01T05:30:00+00:00".into())
            )
        );
    }

    #[test]
    fn missing_or_infinite_duration_is_open_ended() {
        let no_duration = event(
            json!({"programID": "p", "intervalPeriod": {"start": "2024-01-01T00:00:00Z"},
            "intervals": [{"id": 0, "payloads": []}]}),
        );
        assert_eq!(
            window(&no_duration),
            (Some("2024-01-01T00:00:00+00:00".into()), None)
        );
        let infinite = event(
            json!({"programID": "p", "intervalPeriod": {"start": "2024-01-01T00:00:00Z", "duration": "P9999Y"},
            "intervals": [{"id": 0, "intervalPeriod": {"start": "2024-01-01T00:00:00Z", "duration": "PT1H"}, "payloads": []}]}),
        );
        assert_eq!(
            window(&infinite),
            (Some("2024-01-01T00:00:00+00:00".into()), None)
        );
    }

    #[test]
    fn no_time_at_all_is_unbounded() {
        let e = event(json!({"programID": "p", "intervals": [{"id": 0, "payloads": []}]}));
        assert_eq!(window(&e), (None, None));
    }
}
