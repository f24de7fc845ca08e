//! Wire types of the Energy Coordination API (Volue's service-provider API): users, vehicles,
//! meters and resources of a service provider's customers, and the short form of reports.
//! Field names and enums follow Volue's published API; see the README's "Energy Coordination API".

use super::common::{now, target_pairs, truncate_for_message, DateTimeOffset, ObjectId, ValuesMap};
use super::validate::{Validate, Violations};
use super::{Resource, Ven};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

/// A customer of the service provider. `userId` is chosen by the service provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EcUser {
    /// The service provider's id of its customer: `^[a-zA-Z0-9_-]{1,128}$`.
    #[schema(value_type = String, example = "user-1")]
    pub user_id: ObjectId,
}

impl Validate for EcUser {
    fn validate(&self, _: &mut Violations) {}
}

/// Volue's resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ResourceType {
    Generic,
    Vehicle,
    Charger,
    HotWaterTank,
    #[serde(rename = "HVAC")]
    Hvac,
    SolarInverter,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "Generic",
            Self::Vehicle => "Vehicle",
            Self::Charger => "Charger",
            Self::HotWaterTank => "HotWaterTank",
            Self::Hvac => "HVAC",
            Self::SolarInverter => "SolarInverter",
        }
    }
}

/// What identifies a vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VehicleMetadata {
    /// Must be `Vehicle`.
    pub resource_type: ResourceType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Tesla")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Model 3")]
    pub model: Option<String>,
    /// Model year, 1900 to next year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 2022)]
    pub year: Option<i32>,
    /// Vehicle identification number: 17 characters, digits and capital letters except I, O, Q.
    /// Registered once per tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "5YJ3E1EA7KF317000")]
    pub vin: Option<String>,
}

/// An electric vehicle of a user; stored as an OpenADR resource of the caller's VEN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Vehicle {
    /// The service provider's id of the vehicle, unique in the tenant among vehicles and
    /// resources: `^[a-zA-Z0-9_-]{1,128}$`. It is the OpenADR resource's `resourceName`.
    #[schema(value_type = String, example = "car-1")]
    pub vehicle_id: ObjectId,
    pub metadata: VehicleMetadata,
}

fn text(v: &mut Violations, field: &str, value: &Option<String>) {
    if let Some(value) = value {
        v.length(field, value, 1, 128);
        if value.chars().any(char::is_control) {
            v.add(field, "must not contain control characters");
        }
    }
}

/// A VIN: 17 characters of `0-9` and `A-Z` without `I`, `O` and `Q` (ISO 3779).
pub fn vin_problem(vin: &str) -> Option<String> {
    let len = vin.chars().count();
    if len != 17 {
        return Some(format!("must be 17 characters, got {len}"));
    }
    if let Some(c) = vin
        .chars()
        .find(|c| !(c.is_ascii_digit() || c.is_ascii_uppercase()) || matches!(c, 'I' | 'O' | 'Q'))
    {
        return Some(format!(
            "'{}' may not contain '{c}': only digits and capital letters other than I, O and Q",
            truncate_for_message(vin)
        ));
    }
    None
}

impl Validate for Vehicle {
    fn validate(&self, v: &mut Violations) {
        v.nested("metadata", |v| {
            let m = &self.metadata;
            if m.resource_type != ResourceType::Vehicle {
                v.add("resourceType", "must be Vehicle");
            }
            text(v, "brand", &m.brand);
            text(v, "model", &m.model);
            if let Some(year) = m.year {
                use chrono::Datelike;
                let next = chrono::Utc::now().year() + 1;
                if !(1900..=next).contains(&year) {
                    v.add(
                        "year",
                        format!("must be between 1900 and {next}, got {year}"),
                    );
                }
            }
            if let Some(problem) = m.vin.as_deref().and_then(vin_problem) {
                v.add("vin", problem);
            }
        });
    }
}

/// What describes a resource: its type and any other properties (`brand`, `model`, `capacity`,
/// `heatingElements`, …), all kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMetadata {
    pub resource_type: ResourceType,
    /// Other properties: strings, numbers, booleans, or arrays of them.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub other: serde_json::Map<String, Value>,
}

/// A resource of a user (hot-water tank, charger, …); stored as an OpenADR resource of the
/// caller's VEN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EcResource {
    /// The service provider's id of the resource, unique in the tenant among vehicles and
    /// resources: `^[a-zA-Z0-9_-]{1,128}$`. It is the OpenADR resource's `resourceName`.
    #[schema(value_type = String, example = "tank-1")]
    pub resource_id: ObjectId,
    pub metadata: ResourceMetadata,
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

impl Validate for EcResource {
    fn validate(&self, v: &mut Violations) {
        v.nested("metadata", |v| {
            for (key, value) in &self.metadata.other {
                if key.is_empty() || key.chars().count() > 128 || key.chars().any(char::is_control)
                {
                    v.add(
                        truncate_for_message(key),
                        "property names are 1 to 128 characters",
                    );
                    continue;
                }
                let ok = match value {
                    Value::Array(items) => items.iter().all(is_scalar),
                    other => is_scalar(other),
                };
                if !ok {
                    v.add(
                        key,
                        "must be a string, number, boolean, or an array of them",
                    );
                    continue;
                }
                if let Value::String(s) = value {
                    if s.chars().count() > 128 || s.chars().any(char::is_control) {
                        v.add(
                            key,
                            "must be at most 128 characters, none of them control characters",
                        );
                    }
                }
                match key.as_str() {
                    "capacity" if !value.as_f64().is_some_and(|c| c >= 0.0) => {
                        v.add(key, "must be a number of 0 or more");
                    }
                    "heatingElements"
                        if !value.as_array().is_some_and(|items| {
                            items.iter().all(|i| i.as_f64().is_some_and(|w| w >= 0.0))
                        }) =>
                    {
                        v.add(key, "must be an array of numbers of 0 or more (watts)");
                    }
                    _ => {}
                }
            }
        });
    }
}

/// Volue's location types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum LocationType {
    Unknown,
    Residential,
    Commercial,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = EcAddress)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
}

/// WGS 84 coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Coordinates {
    /// −90 to 90.
    #[schema(example = 63.1)]
    pub latitude: f64,
    /// −180 to 180.
    #[schema(example = 10.7)]
    pub longitude: f64,
}

/// A power meter of a user, at a location. The server sets `meterId`, which also serves as the
/// location's id (`locationId` in reports and targets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Meter {
    /// Set by the server; ignored in requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, read_only)]
    pub meter_id: Option<ObjectId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Coordinates>,
    /// The metering point id (e.g. an 18-digit GSRN); registered once per tenant.
    #[schema(example = "707057500012345678")]
    pub meter_point_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_type: Option<LocationType>,
}

impl Validate for Meter {
    fn validate(&self, v: &mut Violations) {
        text(v, "meterPointId", &Some(self.meter_point_id.clone()));
        text(v, "meterNumber", &self.meter_number);
        if let Some(address) = &self.address {
            v.nested("address", |v| {
                text(v, "street", &address.street);
                text(v, "city", &address.city);
                text(v, "zipCode", &address.zip_code);
            });
        }
        if let Some(location) = &self.location {
            v.nested("location", |v| {
                if !(-90.0..=90.0).contains(&location.latitude) {
                    v.add(
                        "latitude",
                        format!("must be between -90 and 90, got {}", location.latitude),
                    );
                }
                if !(-180.0..=180.0).contains(&location.longitude) {
                    v.add(
                        "longitude",
                        format!("must be between -180 and 180, got {}", location.longitude),
                    );
                }
            });
        }
    }
}

/// Target types the Energy Coordination API manages on resources and on the VEN: a meter's
/// `meterPointId`, and its `meterId` as the location.
pub const METER_POINT_ID: &str = "METER_POINT_ID";
pub const LOCATION_ID: &str = "LOCATION_ID";

/// `METER_POINT_ID` and `LOCATION_ID` targets of these meters (none when there are none).
fn meter_targets(meters: &[Meter]) -> Vec<ValuesMap> {
    if meters.is_empty() {
        return Vec::new();
    }
    let points = meters.iter().map(|m| json!(m.meter_point_id)).collect();
    let locations = meters
        .iter()
        .filter_map(|m| m.meter_id.as_ref().map(|id| json!(id.as_str())))
        .collect();
    vec![
        ValuesMap {
            type_: METER_POINT_ID.into(),
            values: points,
        },
        ValuesMap {
            type_: LOCATION_ID.into(),
            values: locations,
        },
    ]
}

/// A stored OpenADR object that the Energy Coordination API rewrites: a VEN (the targets of all
/// its users' meters) or the resource of a vehicle or resource (its user's meters, its metadata).
pub trait MeterTargeted: Serialize + DeserializeOwned {
    fn targets_mut(&mut self) -> &mut Option<Vec<ValuesMap>>;
    fn attributes_mut(&mut self) -> &mut Option<Vec<ValuesMap>>;
    fn touch(&mut self, at: DateTime<Utc>);
}

impl MeterTargeted for Ven {
    fn targets_mut(&mut self) -> &mut Option<Vec<ValuesMap>> {
        &mut self.targets
    }
    fn attributes_mut(&mut self) -> &mut Option<Vec<ValuesMap>> {
        &mut self.attributes
    }
    fn touch(&mut self, at: DateTime<Utc>) {
        self.modification_date_time = Some(at);
    }
}

impl MeterTargeted for Resource {
    fn targets_mut(&mut self) -> &mut Option<Vec<ValuesMap>> {
        &mut self.targets
    }
    fn attributes_mut(&mut self) -> &mut Option<Vec<ValuesMap>> {
        &mut self.attributes
    }
    fn touch(&mut self, at: DateTime<Utc>) {
        self.modification_date_time = Some(at);
    }
}

/// A rewritten object: its new body and the rows of its target side table.
#[derive(Debug)]
pub struct Rewritten {
    pub body: String,
    pub targets: Vec<(String, String)>,
}

/// The stored `body` with the managed targets of `meters` (stored meter bodies) in place of the
/// ones it had, its other targets kept, and `attributes` when given; `None` when that changes
/// nothing. The storage layer calls it inside the write's transaction, with the meters read in
/// that transaction, so concurrent meter changes of one VEN cannot overwrite each other's targets.
pub fn with_meter_targets<T: MeterTargeted>(
    body: &str,
    meters: &[String],
    attributes: Option<Vec<ValuesMap>>,
) -> serde_json::Result<Option<Rewritten>> {
    let meters: Vec<Meter> = meters
        .iter()
        .map(|m| serde_json::from_str(m))
        .collect::<Result<_, _>>()?;
    let mut object: T = serde_json::from_str(body)?;
    let mut targets: Vec<ValuesMap> = object
        .targets_mut()
        .iter()
        .flatten()
        .filter(|t| t.type_ != METER_POINT_ID && t.type_ != LOCATION_ID)
        .cloned()
        .collect();
    targets.extend(meter_targets(&meters));
    let targets = (!targets.is_empty()).then_some(targets);
    let mut changed = false;
    if *object.targets_mut() != targets {
        *object.targets_mut() = targets;
        changed = true;
    }
    if let Some(attributes) = attributes.filter(|a| Some(a) != object.attributes_mut().as_ref()) {
        *object.attributes_mut() = Some(attributes);
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    object.touch(now());
    let targets = target_pairs(object.targets_mut());
    Ok(Some(Rewritten {
        body: serde_json::to_string(&object)?,
        targets,
    }))
}

/// The short form of a report (Volue's `PostReportRequest`): `{eventId, payloads}`. It is
/// stored as a standard OpenADR report of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ShortReport {
    /// The event reported on.
    #[schema(value_type = String)]
    pub event_id: ObjectId,
    /// One or more payloads, each with a `payloadType`. Supported: `EnergyUsage`.
    #[schema(value_type = Vec<EnergyUsagePayload>, min_items = 1)]
    pub payloads: Vec<Value>,
}

/// A point of an energy curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnergyPoint {
    /// Start of the period, RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: DateTimeOffset,
    pub kilo_watt_hours: f64,
}

/// Energy a resource used in reaction to an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnergyUsagePayload {
    /// `EnergyUsage`.
    #[schema(example = "EnergyUsage")]
    pub payload_type: String,
    /// A vehicleId or resourceId of the caller.
    #[schema(value_type = String)]
    pub resource_id: ObjectId,
    /// A meterId of the resource's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub location_id: Option<ObjectId>,
    /// The meter point of one of the resource's user's meters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_point_id: Option<String>,
    /// Length of each point: a time span (`01:00:00`) or an ISO 8601 duration (`PT1H`).
    #[schema(example = "01:00:00")]
    pub resolution: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<EnergyPoint>>,
    /// Deprecated spelling of `points`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    pub curve_points: Option<Vec<EnergyPoint>>,
}

/// The report payload types of Volue's API, with the alternative spellings its guides use.
pub const ENERGY_USAGE: &str = "EnergyUsage";
const KNOWN_UNSUPPORTED: &[&str] = &[
    "LocationEnergyUsage",
    "LocationEnergyUsagePlan",
    "ResourceLPCAcknowledgement",
    "LocationLPCAcknowledgement",
    "ResourceLPCAcknowledged",
    "LocationLPCAcknowledged",
];

/// A resolution in seconds: `[d.]hh:mm:ss` (.NET time span) or an ISO 8601 duration of days,
/// hours, minutes and seconds. Months and years have no fixed length and are refused.
pub fn resolution_seconds(raw: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "'{}' is not a time span such as 01:00:00 or an ISO 8601 duration such as PT1H",
            truncate_for_message(raw)
        )
    };
    static SPAN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(?:(\d{1,5})\.)?(\d{1,2}):(\d{2}):(\d{2})$").expect("regex")
    });
    static ISO: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^P(?:(\d{1,5})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,8})M)?(?:(\d{1,10})S)?)?$")
            .expect("regex")
    });
    let n = |m: Option<regex::Match<'_>>| m.map_or(0, |m| m.as_str().parse::<i64>().unwrap_or(0));
    let seconds = if let Some(c) = SPAN.captures(raw) {
        let (h, m, s) = (n(c.get(2)), n(c.get(3)), n(c.get(4)));
        if h > 23 || m > 59 || s > 59 {
            return Err(bad());
        }
        n(c.get(1)) * 86_400 + h * 3600 + m * 60 + s
    } else if let Some(c) = ISO
        .captures(raw)
        .filter(|_| raw != "P" && !raw.ends_with('T'))
    {
        n(c.get(1)) * 86_400 + n(c.get(2)) * 3600 + n(c.get(3)) * 60 + n(c.get(4))
    } else {
        return Err(bad());
    };
    if seconds <= 0 {
        return Err(format!(
            "must be longer than zero, got '{}'",
            truncate_for_message(raw)
        ));
    }
    Ok(seconds)
}

/// `seconds` as an ISO 8601 duration: `PT1H`, `PT15M`, `P1DT2H`.
pub fn iso_duration(seconds: i64) -> String {
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if rest > 0 {
        out.push('T');
        for (n, unit) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if n > 0 {
                out.push_str(&format!("{n}{unit}"));
            }
        }
    }
    out
}

/// A checked `EnergyUsage` payload.
#[derive(Debug, Clone)]
pub struct EnergyUsage {
    pub resource_id: ObjectId,
    pub location_id: Option<ObjectId>,
    pub meter_point_id: Option<String>,
    pub resolution_seconds: i64,
    pub points: Vec<EnergyPoint>,
}

impl ShortReport {
    /// The payloads, each checked; errors name the payload (`payloads[1].points[0].timestamp`).
    pub fn energy_usages(&self) -> Result<Vec<EnergyUsage>, String> {
        Violations::check(self)?;
        Ok(self.check(&mut Violations::default()))
    }

    fn check(&self, v: &mut Violations) -> Vec<EnergyUsage> {
        let mut usages = Vec::new();
        if self.payloads.is_empty() {
            v.add("payloads", "must hold at least one payload");
        }
        for (i, raw) in self.payloads.iter().enumerate() {
            v.nested(format!("payloads[{i}]"), |v| {
                let Some(object) = raw.as_object() else {
                    v.add("", "must be a JSON object with a payloadType");
                    return;
                };
                let kind = match object.get("payloadType") {
                    Some(Value::String(kind)) => kind.as_str(),
                    Some(_) => return v.add("payloadType", "must be a string"),
                    None => return v.add("payloadType", "is required"),
                };
                if KNOWN_UNSUPPORTED.contains(&kind) {
                    return v.add(
                        "payloadType",
                        format!(
                            "'{kind}' reports are not supported yet; supported: {ENERGY_USAGE}"
                        ),
                    );
                }
                if kind != ENERGY_USAGE {
                    return v.add(
                        "payloadType",
                        format!(
                            "unknown payload type '{}'; supported: {ENERGY_USAGE}",
                            truncate_for_message(kind)
                        ),
                    );
                }
                match serde_path_to_error::deserialize::<_, EnergyUsagePayload>(raw) {
                    Err(err) => {
                        let path = err.path().to_string();
                        let field = if path == "." { String::new() } else { path };
                        v.add(field, err.into_inner().to_string());
                    }
                    Ok(payload) => {
                        if let Some(usage) = check_energy_usage(payload, v) {
                            usages.push(usage);
                        }
                    }
                }
            });
        }
        usages
    }
}

fn check_energy_usage(p: EnergyUsagePayload, v: &mut Violations) -> Option<EnergyUsage> {
    text(v, "meterPointId", &p.meter_point_id);
    let resolution = resolution_seconds(&p.resolution)
        .map_err(|why| v.add("resolution", why))
        .ok();
    let (field, points) = match (p.points, p.curve_points) {
        (Some(_), Some(_)) => {
            v.add(
                "curvePoints",
                "give points or the deprecated curvePoints, not both",
            );
            return None;
        }
        (Some(points), None) => ("points", points),
        (None, Some(points)) => ("curvePoints", points),
        (None, None) => {
            v.add("points", "is required");
            return None;
        }
    };
    if points.is_empty() {
        v.add(field, "must hold at least one point");
    }
    let resolution = resolution?;
    let first = points.first().map(|p| p.timestamp);
    for (i, point) in points.iter().enumerate() {
        v.nested(format!("{field}[{i}]"), |v| {
            if !point.kilo_watt_hours.is_finite() {
                v.add("kiloWattHours", "must be a finite number");
            }
            if i > 0 && point.timestamp <= points[i - 1].timestamp {
                v.add("timestamp", "must be later than the previous point's");
            } else if let Some(first) = first {
                let offset = (point.timestamp - first).num_seconds();
                if (point.timestamp - first).subsec_nanos() != 0 || offset % resolution != 0 {
                    v.add(
                        "timestamp",
                        format!(
                            "must be a whole number of resolutions ({}) after the first point",
                            iso_duration(resolution)
                        ),
                    );
                }
            }
        });
    }
    Some(EnergyUsage {
        resource_id: p.resource_id,
        location_id: p.location_id,
        meter_point_id: p.meter_point_id,
        resolution_seconds: resolution,
        points,
    })
}

impl Validate for ShortReport {
    fn validate(&self, v: &mut Violations) {
        self.check(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vins_follow_iso_3779() {
        assert_eq!(vin_problem("5YJ3E1EA7KF317000"), None);
        assert!(vin_problem("5YJ3E1EA7KF31700")
            .unwrap()
            .contains("17 characters"));
        assert!(vin_problem("5YJ3E1EA7KF31700O").unwrap().contains("'O'"));
        assert!(vin_problem("5yj3E1EA7KF317000").unwrap().contains("'y'"));
    }

    #[test]
    fn resolutions_in_both_spellings() {
        assert_eq!(resolution_seconds("01:00:00"), Ok(3600));
        assert_eq!(resolution_seconds("00:15:00"), Ok(900));
        assert_eq!(resolution_seconds("1.00:00:00"), Ok(86_400));
        assert_eq!(resolution_seconds("PT1H"), Ok(3600));
        assert_eq!(resolution_seconds("PT15M"), Ok(900));
        for bad in [
            "", "1h", "PT", "P", "P1M", "00:00:00", "PT0S", "25:00:00", "01:60:00",
        ] {
            assert!(resolution_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(iso_duration(3600), "PT1H");
        assert_eq!(iso_duration(90_061), "P1DT1H1M1S");
    }
}
