//! The pure part of the bridge: Voltus dispatches, and the OpenADR 3.0.1 programs and events they
//! become. No I/O here, so every rule is unit-tested.
//!
//! | Voltus | OpenADR |
//! |---|---|
//! | `program` | one program per tenant and Voltus program, `programName = voltus-{program.id}` (or the configured name), `-test` appended for test dispatches |
//! | dispatch × site | one event, because 3.0.1 payload values apply to every target of an event |
//! | `customer_location_id` (site `id` when empty) | `targets: [{type: RESOURCE_NAME, values: [..]}]` |
//! | `start_time` | `intervalPeriod.start` |
//! | `end_time` | `intervalPeriod.duration = end − start`; `P9999Y` while absent |
//! | – | payload `SIMPLE [1]` |
//! | `site.commitment` (kW) | payload `DISPATCH_SETPOINT_RELATIVE [commitment]`, units KW |
//! | `authorized: false` | `intervalPeriod {start: 0001-01-01T00:00:00Z, duration: PT0S}`, `SIMPLE [0]` |

use crate::domain::common::{
    DateTimeOffset, Interval, IntervalPeriod, PayloadDescriptor, ReportDescriptor, ValuesMap,
    EVENT_PAYLOAD_DESCRIPTOR,
};
use crate::domain::{Event, IsoDuration, ObjectId, Program};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A Voltus dispatch (`GET /2022-04-15/dispatches`). Fields the bridge does not map
/// (`metadata`, `creation_time`, `drop_by`, …) are accepted and kept only in the raw copy.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Dispatch {
    pub id: String,
    pub authorized: bool,
    #[serde(default)]
    pub test: bool,
    pub start_time: DateTimeOffset,
    #[serde(default)]
    pub end_time: Option<DateTimeOffset>,
    #[serde(default)]
    pub modification_number: Option<i64>,
    pub program: VoltusProgram,
    #[serde(default)]
    pub sites: Vec<Site>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct VoltusProgram {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub market: String,
    #[serde(default)]
    pub program_type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Site {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub customer_location_id: Option<String>,
    /// Expected reduction in kW against the site's baseline; `null` when unknown.
    #[serde(default)]
    pub commitment: Option<f64>,
}

/// Voltus ids travel in URLs and event names: `[A-Za-z0-9_-]`, 1 to 128 characters.
pub fn valid_voltus_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Dispatch {
    /// Parses one element of a dispatch list. The error names the dispatch id when there is one.
    pub fn parse(raw: &serde_json::Value) -> Result<Self, String> {
        let id = raw
            .get("id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| "<no id>".into());
        let dispatch: Dispatch = serde_json::from_value(raw.clone())
            .map_err(|e| format!("dispatch '{id}' is malformed: {e}"))?;
        dispatch
            .check()
            .map_err(|e| format!("dispatch '{id}' is malformed: {e}"))?;
        Ok(dispatch)
    }

    fn check(&self) -> Result<(), String> {
        if !valid_voltus_id(&self.id) {
            return Err("id must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'".into());
        }
        if let Some(end) = self.end_time {
            if end < self.start_time {
                return Err("end_time is before start_time".into());
            }
        }
        let mut seen = Vec::new();
        for (i, site) in self.sites.iter().enumerate() {
            if !valid_voltus_id(&site.id) {
                return Err(format!(
                    "sites[{i}].id must be 1 to 128 characters of A-Z, a-z, 0-9, '_' and '-'"
                ));
            }
            if seen.contains(&site.id.as_str()) {
                return Err(format!("sites[{i}]: site '{}' is listed twice", site.id));
            }
            seen.push(site.id.as_str());
        }
        Ok(())
    }

    /// What decides the events: any difference here is an update.
    pub fn fingerprint(&self) -> String {
        let sites: Vec<_> = self
            .sites
            .iter()
            .map(|s| json!([s.id, s.customer_location_id, s.commitment]))
            .collect();
        json!({
            "authorized": self.authorized,
            "test": self.test,
            "start": self.start_time.to_rfc3339(),
            "end": self.end_time.map(|t| t.to_rfc3339()),
            "program": [self.program.id, self.program.name, self.program.market, self.program.program_type],
            "sites": sites,
        })
        .to_string()
    }
}

/// Which site field becomes the event's target value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SiteTarget {
    /// `customer_location_id`, or the site id when it is empty (the default).
    CustomerLocationId,
    /// Always the Voltus site id.
    SiteId,
}

/// What happens to dispatches with `test: true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestDispatches {
    /// Published in a separate program (`…-test`), with `eventName` starting with `TEST:` (default).
    TestProgram,
    /// Published in the same program as real dispatches; `eventName` starts with `TEST:`.
    Publish,
    /// Not published.
    Skip,
}

/// How `authorized: false` reaches the VENs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cancellation {
    /// The events are updated to a zero-length window starting `0001-01-01T00:00:00Z` with
    /// `SIMPLE [0]` (OpenADR 3 User Guide, event cancellation), the default.
    ZeroWindow,
    /// The events are deleted (a DELETE notification); an event with reports is cancelled with a
    /// zero-length window instead.
    Delete,
}

/// The per-tenant choices the mapping depends on.
#[derive(Debug, Clone)]
pub struct MapOptions {
    pub program_name: Option<String>,
    pub site_target: SiteTarget,
    pub target_type: String,
    pub test_dispatches: TestDispatches,
    /// Events ask for USAGE reports, which the bridge forwards as telemetry.
    pub telemetry: bool,
}

pub const SIMPLE: &str = "SIMPLE";
pub const DISPATCH_SETPOINT_RELATIVE: &str = "DISPATCH_SETPOINT_RELATIVE";
/// `intervalPeriod.start` of a cancelled event: the User Guide's "now".
pub const CANCELLED_START: &str = "0001-01-01T00:00:00Z";

/// The name of the program a dispatch is published in.
pub fn program_name(dispatch: &Dispatch, opts: &MapOptions) -> String {
    let base = opts
        .program_name
        .clone()
        .unwrap_or_else(|| format!("voltus-{}", dispatch.program.id));
    if dispatch.test && opts.test_dispatches == TestDispatches::TestProgram {
        format!("{base}-test")
    } else {
        base
    }
}

fn payload_descriptors() -> Vec<PayloadDescriptor> {
    let descriptor = |payload_type: &str, units: Option<&str>| PayloadDescriptor {
        object_type: Some(EVENT_PAYLOAD_DESCRIPTOR.into()),
        payload_type: payload_type.into(),
        units: units.map(str::to_owned),
        currency: None,
        reading_type: None,
        accuracy: None,
        confidence: None,
    };
    vec![
        descriptor(SIMPLE, None),
        descriptor(DISPATCH_SETPOINT_RELATIVE, Some("KW")),
    ]
}

/// The program created the first time a dispatch needs it.
pub fn program(dispatch: &Dispatch, opts: &MapOptions) -> Program {
    let test = dispatch.test && opts.test_dispatches == TestDispatches::TestProgram;
    let long_name = if opts.program_name.is_some() {
        "Voltus dispatches".to_owned()
    } else if dispatch.program.name.is_empty() {
        format!("Voltus program {}", dispatch.program.id)
    } else {
        dispatch.program.name.clone()
    };
    Program {
        id: None,
        created_date_time: None,
        modification_date_time: None,
        object_type: None,
        program_name: program_name(dispatch, opts),
        program_long_name: Some(if test {
            format!("{long_name} (test dispatches)")
        } else {
            long_name
        }),
        retailer_name: Some("Voltus".into()),
        retailer_long_name: None,
        program_type: (opts.program_name.is_none() && !dispatch.program.program_type.is_empty())
            .then(|| dispatch.program.program_type.clone()),
        country: None,
        principal_subdivision: None,
        time_zone_offset: None,
        interval_period: None,
        program_descriptions: None,
        binding_events: Some(true),
        local_price: None,
        payload_descriptors: Some(payload_descriptors()),
        targets: None,
    }
}

/// The target value of a site: its `customer_location_id`, or its id.
pub fn target_value(site: &Site, opts: &MapOptions) -> String {
    match (opts.site_target, site.customer_location_id.as_deref()) {
        (SiteTarget::CustomerLocationId, Some(cli)) if !cli.trim().is_empty() => cli.to_owned(),
        _ => site.id.clone(),
    }
}

/// `[TEST:]voltus:{market}:{program id}:{dispatch id}:{site id}`; `-` for an empty market.
pub fn event_name(dispatch: &Dispatch, site: &Site) -> String {
    let market = if dispatch.program.market.trim().is_empty() {
        "-"
    } else {
        dispatch.program.market.trim()
    };
    format!(
        "{}voltus:{market}:{}:{}:{}",
        if dispatch.test { "TEST:" } else { "" },
        dispatch.program.id,
        dispatch.id,
        site.id
    )
}

/// An ISO 8601 duration of whole hours, minutes and (possibly fractional) seconds.
pub fn iso_duration(delta: TimeDelta) -> String {
    let total_ms = delta.num_milliseconds().max(0);
    let hours = total_ms / 3_600_000;
    let minutes = (total_ms / 60_000) % 60;
    let ms = total_ms % 60_000;
    let mut out = String::from("PT");
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if ms > 0 || (hours == 0 && minutes == 0) {
        if ms % 1000 == 0 {
            out.push_str(&format!("{}S", ms / 1000));
        } else {
            out.push_str(&format!("{}.{:03}S", ms / 1000, ms % 1000));
        }
    }
    out
}

fn duration(raw: &str) -> IsoDuration {
    IsoDuration::parse(raw).expect("the bridge writes valid durations")
}

/// The event of one site of an authorized dispatch, in program `program_id`.
pub fn site_event(
    dispatch: &Dispatch,
    site: &Site,
    opts: &MapOptions,
    program_id: &ObjectId,
) -> Event {
    let period_duration = match dispatch.end_time {
        Some(end) => iso_duration(end - dispatch.start_time),
        None => "P9999Y".to_owned(),
    };
    let mut payloads = vec![ValuesMap {
        type_: SIMPLE.into(),
        values: vec![json!(1)],
    }];
    if let Some(commitment) = site.commitment.filter(|c| c.is_finite() && *c >= 0.0) {
        payloads.push(ValuesMap {
            type_: DISPATCH_SETPOINT_RELATIVE.into(),
            values: vec![json!(commitment)],
        });
    }
    let report_descriptors = opts.telemetry.then(|| {
        vec![ReportDescriptor {
            payload_type: "USAGE".into(),
            reading_type: Some("DIRECT_READ".into()),
            units: Some("KWH".into()),
            targets: None,
            aggregate: None,
            start_interval: None,
            num_intervals: None,
            historical: None,
            frequency: None,
            repeat: None,
        }]
    });
    Event {
        id: None,
        created_date_time: None,
        modification_date_time: None,
        object_type: None,
        program_id: program_id.clone(),
        event_name: Some(event_name(dispatch, site)),
        priority: Some(0),
        targets: Some(vec![ValuesMap {
            type_: opts.target_type.clone(),
            values: vec![json!(target_value(site, opts))],
        }]),
        report_descriptors,
        payload_descriptors: Some(payload_descriptors()),
        interval_period: Some(IntervalPeriod {
            start: dispatch.start_time,
            duration: Some(duration(&period_duration)),
            randomize_start: None,
        }),
        intervals: vec![Interval {
            id: 0,
            interval_period: None,
            payloads,
        }],
    }
}

/// The cancelled form of a published event: a zero-length window at the User Guide's "now" and
/// level 0, everything else (name, targets, program) kept, so a VEN recognises the event.
pub fn cancelled(mut event: Event) -> Event {
    event.interval_period = Some(IntervalPeriod {
        start: DateTimeOffset::parse_from_rfc3339(CANCELLED_START).expect("valid date"),
        duration: Some(duration("PT0S")),
        randomize_start: None,
    });
    event.intervals = vec![Interval {
        id: 0,
        interval_period: None,
        payloads: vec![ValuesMap {
            type_: SIMPLE.into(),
            values: vec![json!(0)],
        }],
    }];
    event.id = None;
    event.created_date_time = None;
    event.modification_date_time = None;
    event
}

/// Whether a stored event is already in its cancelled form.
pub fn is_cancelled(event: &Event) -> bool {
    event.interval_period.as_ref().is_some_and(|p| {
        p.start == DateTimeOffset::parse_from_rfc3339(CANCELLED_START).expect("valid date")
            && p.duration
                .as_ref()
                .is_some_and(|d| String::from(d.clone()) == "PT0S")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::Violations;

    fn opts() -> MapOptions {
        MapOptions {
            program_name: None,
            site_target: SiteTarget::CustomerLocationId,
            target_type: "RESOURCE_NAME".into(),
            test_dispatches: TestDispatches::TestProgram,
            telemetry: true,
        }
    }

    fn dispatch(body: serde_json::Value) -> Dispatch {
        Dispatch::parse(&body).unwrap()
    }

    fn example() -> serde_json::Value {
        json!({
            "authorized": true, "end_time": "2024-02-02T10:00:00Z", "id": "5j94",
            "program": {"id": 1, "market": "CAISO", "name": "CAISO Operating Reserves",
                        "program_type": "ancillary_services", "timezone": "US/Pacific"},
            "sites": [
                {"commitment": 1248, "customer_location_id": "site102", "drop_by": 1248, "id": "yd4g", "name": "The coolest site"},
                {"commitment": null, "customer_location_id": "", "drop_by": null, "id": "40wl", "name": "Just an ok site"}
            ],
            "start_time": "2024-02-02T09:00:00Z", "test": false
        })
    }

    #[test]
    fn the_documented_example_maps_to_one_event_per_site() {
        let d = dispatch(example());
        let program_id = ObjectId::parse("p1").unwrap();
        let first = site_event(&d, &d.sites[0], &opts(), &program_id);
        let value = serde_json::to_value(&first).unwrap();
        assert_eq!(value["programID"], "p1");
        assert_eq!(value["eventName"], "voltus:CAISO:1:5j94:yd4g");
        assert_eq!(
            value["targets"],
            json!([{"type": "RESOURCE_NAME", "values": ["site102"]}])
        );
        assert_eq!(
            value["intervalPeriod"],
            json!({"start": "2024-02-02T09:00:00Z", "duration": "PT1H"})
        );
        assert_eq!(
            value["intervals"],
            json!([{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]},
                                          {"type": "DISPATCH_SETPOINT_RELATIVE", "values": [1248.0]}]}])
        );
        assert!(Violations::check(&first).is_ok());
        // Empty customer_location_id: the site id; null commitment: no setpoint payload.
        let second =
            serde_json::to_value(site_event(&d, &d.sites[1], &opts(), &program_id)).unwrap();
        assert_eq!(second["targets"][0]["values"], json!(["40wl"]));
        assert_eq!(
            second["intervals"][0]["payloads"],
            json!([{"type": "SIMPLE", "values": [1]}])
        );
        let by_site_id = MapOptions {
            site_target: SiteTarget::SiteId,
            ..opts()
        };
        assert_eq!(target_value(&d.sites[0], &by_site_id), "yd4g");
    }

    #[test]
    fn an_open_ended_dispatch_lasts_p9999y_and_is_open_ended() {
        let mut raw = example();
        raw.as_object_mut().unwrap().remove("end_time");
        let d = dispatch(raw);
        let event = site_event(&d, &d.sites[0], &opts(), &ObjectId::parse("p").unwrap());
        assert_eq!(
            serde_json::to_value(&event).unwrap()["intervalPeriod"]["duration"],
            "P9999Y"
        );
        assert_eq!(event.active_window().end, None);
    }

    #[test]
    fn test_dispatches_go_to_a_test_program_and_are_named_so() {
        let mut raw = example();
        raw["test"] = json!(true);
        raw["program"]["market"] = json!("");
        let d = dispatch(raw);
        assert_eq!(program_name(&d, &opts()), "voltus-1-test");
        assert_eq!(event_name(&d, &d.sites[0]), "TEST:voltus:-:1:5j94:yd4g");
        let publish = MapOptions {
            test_dispatches: TestDispatches::Publish,
            ..opts()
        };
        assert_eq!(program_name(&d, &publish), "voltus-1");
        let fixed = MapOptions {
            program_name: Some("dr".into()),
            ..opts()
        };
        assert_eq!(program_name(&d, &fixed), "dr-test");
        assert!(Violations::check(&program(&d, &opts())).is_ok());
    }

    #[test]
    fn cancellation_is_a_zero_window_at_level_zero() {
        let d = dispatch(example());
        let event = site_event(&d, &d.sites[0], &opts(), &ObjectId::parse("p").unwrap());
        let gone = cancelled(event);
        let value = serde_json::to_value(&gone).unwrap();
        assert_eq!(
            value["intervalPeriod"],
            json!({"start": "0001-01-01T00:00:00Z", "duration": "PT0S"})
        );
        assert_eq!(
            value["intervals"],
            json!([{"id": 0, "payloads": [{"type": "SIMPLE", "values": [0]}]}])
        );
        assert_eq!(value["eventName"], "voltus:CAISO:1:5j94:yd4g");
        assert!(is_cancelled(&gone));
        assert!(Violations::check(&gone).is_ok());
    }

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(iso_duration(TimeDelta::hours(1)), "PT1H");
        assert_eq!(iso_duration(TimeDelta::minutes(90)), "PT1H30M");
        assert_eq!(iso_duration(TimeDelta::seconds(0)), "PT0S");
        assert_eq!(
            iso_duration(TimeDelta::milliseconds(3_599_999)),
            "PT59M59.999S"
        );
        for text in ["PT1H", "PT1H30M", "PT0S", "PT59M59.999S"] {
            assert!(IsoDuration::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn malformed_dispatches_are_refused_with_their_id() {
        for (raw, needle) in [
            (json!({"id": "a", "authorized": true}), "dispatch 'a'"),
            (json!({"authorized": true}), "<no id>"),
            (
                json!({"id": "a/b", "authorized": true, "start_time": "2024-01-01T00:00:00Z", "program": {"id": 1}}),
                "id must be",
            ),
            (
                json!({"id": "a", "authorized": true, "start_time": "2024-01-01T01:00:00Z", "end_time": "2024-01-01T00:00:00Z", "program": {"id": 1}}),
                "before",
            ),
            (
                json!({"id": "a", "authorized": "yes", "start_time": "2024-01-01T00:00:00Z", "program": {"id": 1}}),
                "dispatch 'a'",
            ),
        ] {
            let err = Dispatch::parse(&raw).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn fingerprints_change_with_what_the_events_show() {
        let a = dispatch(example());
        let mut raw = example();
        raw["end_time"] = json!("2024-02-02T11:00:00Z");
        let b = dispatch(raw);
        assert_ne!(a.fingerprint(), b.fingerprint());
        let mut raw = example();
        raw["sites"][0]["name"] = json!("renamed");
        assert_eq!(a.fingerprint(), dispatch(raw).fingerprint());
    }
}
