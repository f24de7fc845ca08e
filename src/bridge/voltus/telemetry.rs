//! Telemetry back to Voltus: the USAGE (energy) and DEMAND (power) readings of reports on bridged
//! events, as `POST /2022-04-15/telemetry` points of the event's site.
//!
//! Voltus takes intervals of a multiple of 30 s up to 300 s, and one unit per request. Every point
//! is therefore sent in kW (the average power over its interval): a USAGE reading of E kWh over
//! d seconds is E·3600/d kW. A longer interval is sent as equal pieces of the longest length
//! ≤ 300 s that divides it, each with the interval's average; an interval that is not a multiple
//! of 30 s (or longer than a day) is not sent. Readings of one report for the same period (several
//! resources of one site) are added up.
//!
//! Reports are validated when written (`USAGE`/`DEMAND` values at most
//! [`MAX_READING`](crate::domain::report::MAX_READING) in magnitude), which keeps every conversion
//! finite. Reports stored before that rule are still read defensively: a value out of that range,
//! or a point that is not a finite number after conversion, is dropped with a warning and never
//! sent, and the report's other points go on.

use crate::domain::report::{reading_in_range, Report};
use crate::store::TelemetryPoint;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{json, Value};

/// The largest magnitude of a point sent, in kW: 10^30, beyond any sum of valid readings (each
/// at most `MAX_READING` × 120,000 = 1.2·10^20 kW, and a request body holds far fewer than
/// 10^9 values), so only values queued before reports were validated exceed it.
pub const MAX_POINT_KW: f64 = 1e30;

/// Whether a point's value may be sent: a finite number within [`MAX_POINT_KW`].
pub fn sendable(value_kw: f64) -> bool {
    value_kw.is_finite() && value_kw.abs() <= MAX_POINT_KW
}

/// kW per unit of a report payload, by payload type and `units`; `None` when not telemetry.
fn kw_factor(payload_type: &str, units: Option<&str>, seconds: i64) -> Option<f64> {
    let units = units.map(str::to_ascii_uppercase);
    match payload_type {
        "USAGE" => {
            let kwh = match units.as_deref() {
                None | Some("KWH") => 1.0,
                Some("WH") => 0.001,
                Some("MWH") => 1000.0,
                _ => return None,
            };
            Some(kwh * 3600.0 / seconds as f64)
        }
        "DEMAND" => match units.as_deref() {
            None | Some("KW") => Some(1.0),
            Some("W") => Some(0.001),
            Some("MW") => Some(1000.0),
            _ => None,
        },
        _ => None,
    }
}

/// The piece length Voltus accepts for an interval of `seconds`, if any.
fn piece_seconds(seconds: i64) -> Option<i64> {
    if seconds <= 0 || seconds % 30 != 0 || seconds > 86_400 {
        return None;
    }
    (1..=10).rev().map(|k| k * 30).find(|p| seconds % p == 0)
}

/// The telemetry points of one stored report, for `site_id`.
pub fn points_of_report(body: &str, site_id: &str) -> Vec<TelemetryPoint> {
    let Ok(report) = serde_json::from_str::<Report>(body) else {
        return Vec::new();
    };
    let units_of = |payload_type: &str| {
        report
            .payload_descriptors
            .iter()
            .flatten()
            .find(|d| d.payload_type == payload_type)
            .and_then(|d| d.units.clone())
    };
    let mut points: Vec<TelemetryPoint> = Vec::new();
    for resource in &report.resources {
        let default = resource.interval_period.as_ref();
        let mut cursor: Option<DateTime<Utc>> = default.map(|p| p.start.to_utc());
        for interval in &resource.intervals {
            let own = interval.interval_period.as_ref();
            let start = own.map(|p| p.start.to_utc()).or(cursor);
            let duration = own
                .and_then(|p| p.duration.as_ref())
                .or(default.and_then(|p| p.duration.as_ref()));
            let (Some(start), Some(duration)) = (start, duration) else {
                continue;
            };
            let Some(end) = duration.add_to(start) else {
                continue;
            };
            cursor = Some(end);
            let seconds = (end - start).num_seconds();
            let Some(piece) = piece_seconds(seconds) else {
                tracing::debug!(
                    seconds,
                    "report interval not sent to Voltus: not a multiple of 30 s up to a day"
                );
                continue;
            };
            for payload in &interval.payloads {
                let Some(factor) =
                    kw_factor(&payload.type_, units_of(&payload.type_).as_deref(), seconds)
                else {
                    continue;
                };
                let Some(value) = payload.values.first().and_then(Value::as_f64) else {
                    continue;
                };
                if !reading_in_range(value) {
                    tracing::warn!(
                        site = site_id,
                        payload = payload.type_.as_str(),
                        value,
                        "report value out of range; not sent to Voltus"
                    );
                    continue;
                }
                let kw = value * factor;
                for k in 0..seconds / piece {
                    let end_ms = (start + TimeDelta::seconds(piece * (k + 1))).timestamp_millis();
                    match points
                        .iter_mut()
                        .find(|p| p.end_ms == end_ms && p.interval_seconds as i64 == piece)
                    {
                        Some(existing) => existing.value_kw += kw,
                        None => points.push(TelemetryPoint {
                            site_id: site_id.to_owned(),
                            end_ms,
                            interval_seconds: piece as i32,
                            value_kw: kw,
                        }),
                    }
                }
            }
        }
    }
    points.retain(|p| {
        let ok = sendable(p.value_kw);
        if !ok {
            tracing::warn!(
                site = site_id,
                end_ms = p.end_ms,
                "telemetry point out of range; not sent to Voltus"
            );
        }
        ok
    });
    points
}

/// A point as Voltus's `POST /telemetry` takes it (`timestamp` is the interval's end).
pub fn wire(point: &TelemetryPoint) -> Value {
    let timestamp = DateTime::<Utc>::from_timestamp_millis(point.end_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "site_id": point.site_id,
        "timestamp": timestamp,
        "interval_seconds": point.interval_seconds,
        "units": "kW",
        "value": (point.value_kw * 1e6).round() / 1e6,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(intervals: Value, descriptors: Value) -> String {
        json!({"programID": "p", "eventID": "e", "clientName": "ven", "payloadDescriptors": descriptors,
               "resources": [{"resourceName": "r1", "intervals": intervals}]})
        .to_string()
    }

    #[test]
    fn five_minutes_of_kwh_become_average_kw() {
        let body = report(
            json!([{"id": 0, "intervalPeriod": {"start": "2024-01-02T09:00:00Z", "duration": "PT5M"},
                    "payloads": [{"type": "USAGE", "values": [0.5]}]}]),
            json!([{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"}]),
        );
        let points = points_of_report(&body, "yd4g");
        assert_eq!(points.len(), 1);
        assert_eq!(
            wire(&points[0]),
            json!({"site_id": "yd4g", "timestamp": "2024-01-02T09:05:00Z", "interval_seconds": 300, "units": "kW", "value": 6.0})
        );
    }

    #[test]
    fn an_hour_is_split_into_five_minute_pieces() {
        let body = report(
            json!([{"id": 0, "intervalPeriod": {"start": "2024-01-02T09:00:00Z", "duration": "PT1H"},
                    "payloads": [{"type": "USAGE", "values": [12]}]}]),
            json!(null),
        );
        let points = points_of_report(&body, "s");
        assert_eq!(points.len(), 12);
        assert!(points
            .iter()
            .all(|p| p.interval_seconds == 300 && (p.value_kw - 12.0).abs() < 1e-9));
        assert_eq!(wire(&points[11])["timestamp"], "2024-01-02T10:00:00Z");
    }

    #[test]
    fn odd_intervals_and_other_payloads_are_not_sent() {
        let body = report(
            json!([{"id": 0, "intervalPeriod": {"start": "2024-01-02T09:00:00Z", "duration": "PT45S"},
                    "payloads": [{"type": "USAGE", "values": [1]}]},
                   {"id": 1, "intervalPeriod": {"start": "2024-01-02T09:00:00Z", "duration": "PT60S"},
                    "payloads": [{"type": "PRICE", "values": [1]}, {"type": "DEMAND", "values": [3]}]}]),
            json!(null),
        );
        let points = points_of_report(&body, "s");
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].interval_seconds, 60);
        assert_eq!(points[0].value_kw, 3.0);
        for seconds in [30, 60, 300] {
            assert_eq!(piece_seconds(seconds), Some(seconds));
        }
        assert_eq!(piece_seconds(3600), Some(300));
        assert_eq!(piece_seconds(45), None);
    }

    #[test]
    fn out_of_range_values_are_dropped_and_the_rest_is_kept() {
        // Stored before reports were validated: 1e305 MWh over 30 s is beyond f64 as kW.
        let body = report(
            json!([{"id": 0, "intervalPeriod": {"start": "2024-01-02T09:00:00Z", "duration": "PT30S"},
                    "payloads": [{"type": "USAGE", "values": [1e305]}]},
                   {"id": 1, "intervalPeriod": {"start": "2024-01-02T09:00:30Z", "duration": "PT30S"},
                    "payloads": [{"type": "USAGE", "values": [0.001]}]}]),
            json!([{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "MWH"}]),
        );
        let points = points_of_report(&body, "s");
        assert_eq!(points.len(), 1, "{points:?}");
        assert_eq!(points[0].value_kw, 120.0);
        assert_eq!(wire(&points[0])["timestamp"], "2024-01-02T09:01:00Z");
        // The largest accepted reading with the largest factor stays finite, summed too.
        let largest = crate::domain::report::MAX_READING;
        let body = json!({"programID": "p", "eventID": "e", "clientName": "ven",
            "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "MWH"}],
            "resources": (0..50).map(|i| json!({"resourceName": format!("r{i}"), "intervals": [
                {"id": 0, "intervalPeriod": {"start": "2024-01-02T09:00:00Z", "duration": "PT30S"},
                 "payloads": [{"type": "USAGE", "values": [largest]}]}]})).collect::<Vec<_>>()})
        .to_string();
        let points = points_of_report(&body, "s");
        assert_eq!(points.len(), 1);
        assert!(points[0].value_kw.is_finite() && points[0].value_kw > 1e21);
        assert!(wire(&points[0])["value"].is_number());
    }
}
