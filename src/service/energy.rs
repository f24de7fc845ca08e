//! The Energy Coordination API: a service provider (a VEN client) registers its users and their
//! vehicles, meters and resources, and reports the energy they used.
//!
//! One model underneath: every vehicle and resource is an OpenADR resource of the caller's VEN,
//! written only through [`super::vens`], so it is visible, targetable and notified like any
//! other resource. Meters are targets: each of a user's vehicles and resources carries the
//! `METER_POINT_ID` and `LOCATION_ID` (= meterId) of the user's meters, and the VEN carries those
//! of all its users' meters, which is what makes events aimed at them visible to the VEN.

use super::from_stored;
use crate::auth::Principal;
use crate::domain::common::{
    Interval, IntervalPeriod, PayloadDescriptor, ValuesMap, REPORT_PAYLOAD_DESCRIPTOR,
};
use crate::domain::energy::{
    iso_duration, EcResource, EcUser, EnergyUsage, Meter, ShortReport, Vehicle, ENERGY_USAGE,
};
use crate::domain::report::{Report, ReportResource};
use crate::domain::{Event, IsoDuration, ObjectId, Resource, Role, TenantId, Ven};
use crate::error::ApiError;
use crate::store::{
    AssetOwner, AssetRow, DynStore, EnergyWrite, MeterRow, Page, StoreError, VenFilter,
};
use serde_json::{json, Value};

pub use crate::domain::energy::{LOCATION_ID, METER_POINT_ID};

/// The caller's tenant and VEN name. The Energy Coordination API is for service providers,
/// which are VEN clients; business logic reads the result through the OpenADR endpoints.
pub struct Provider<'a> {
    pub tenant: &'a TenantId,
    pub ven: &'a str,
}

pub fn provider(caller: &Principal) -> Result<Provider<'_>, ApiError> {
    match (caller.role, caller.ven_name.as_deref()) {
        (Role::Ven, Some(ven)) if !ven.is_empty() => Ok(Provider {
            tenant: &caller.tenant,
            ven,
        }),
        _ => Err(ApiError::Denied(
            "the Energy Coordination API is for service providers: VEN clients bound to a VEN \
             name. Business logic reads their VENs, resources and reports through /vens and \
             /reports"
                .into(),
        )),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Vehicle,
    Resource,
}

impl AssetKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Vehicle => "vehicle",
            Self::Resource => "resource",
        }
    }
    fn id_field(self) -> &'static str {
        match self {
            Self::Vehicle => "vehicleId",
            Self::Resource => "resourceId",
        }
    }
}

/// A vehicle or resource as the API receives it.
pub enum Asset {
    Vehicle(Vehicle),
    Resource(EcResource),
}

impl Asset {
    fn kind(&self) -> AssetKind {
        match self {
            Self::Vehicle(_) => AssetKind::Vehicle,
            Self::Resource(_) => AssetKind::Resource,
        }
    }
    fn id(&self) -> &ObjectId {
        match self {
            Self::Vehicle(v) => &v.vehicle_id,
            Self::Resource(r) => &r.resource_id,
        }
    }
    fn vin(&self) -> Option<&str> {
        match self {
            Self::Vehicle(v) => v.metadata.vin.as_deref(),
            Self::Resource(_) => None,
        }
    }
    fn body(&self) -> Result<String, ApiError> {
        match self {
            Self::Vehicle(v) => super::to_json(v),
            Self::Resource(r) => super::to_json(r),
        }
    }
    /// The metadata as OpenADR attributes: `userId`, then each property with scalar values.
    fn attributes(&self, user_id: &str) -> Result<Vec<ValuesMap>, ApiError> {
        let metadata = match self {
            Self::Vehicle(v) => serde_json::to_value(&v.metadata),
            Self::Resource(r) => serde_json::to_value(&r.metadata),
        }
        .map_err(ApiError::internal)?;
        let mut attributes = vec![ValuesMap {
            type_: "userId".into(),
            values: vec![json!(user_id)],
        }];
        for (key, value) in metadata.as_object().into_iter().flatten() {
            let values = match value {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            attributes.push(ValuesMap {
                type_: key.clone(),
                values,
            });
        }
        Ok(attributes)
    }
}

// ---- users ----------------------------------------------------------------------------------

fn user_not_found(id: &str) -> ApiError {
    ApiError::not_found("user", id)
}

async fn require_user(
    store: &DynStore,
    p: &Provider<'_>,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .get_ec_user(p.tenant, p.ven, id.as_str())
        .await?
        .ok_or_else(|| user_not_found(id.as_str()))
}

pub async fn create_user(
    store: &DynStore,
    p: &Provider<'_>,
    user: EcUser,
) -> Result<String, ApiError> {
    let body = super::to_json(&user)?;
    store
        .insert_ec_user(p.tenant, p.ven, user.user_id.as_str(), &body)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => {
                ApiError::Conflict(format!("userId: user '{}' already exists", user.user_id))
            }
            other => other.into(),
        })?;
    Ok(body)
}

pub async fn get_user(
    store: &DynStore,
    p: &Provider<'_>,
    id: &ObjectId,
) -> Result<String, ApiError> {
    require_user(store, p, id).await
}

pub async fn list_users(
    store: &DynStore,
    p: &Provider<'_>,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    Ok(store.list_ec_users(p.tenant, p.ven, page).await?)
}

/// A user has nothing to change but its id, which is fixed: PUT confirms the user exists and
/// that the body names it.
pub async fn update_user(
    store: &DynStore,
    p: &Provider<'_>,
    id: &ObjectId,
    user: EcUser,
) -> Result<String, ApiError> {
    let body = require_user(store, p, id).await?;
    if &user.user_id != id {
        return Err(ApiError::bad_request(format!(
            "userId: must be the user of the path ('{id}'); a user cannot be renamed"
        )));
    }
    Ok(body)
}

/// Deletes the user's vehicles and resources (their OpenADR resources), then the user with its
/// meters, and removes the meters' targets from the VEN: all in one transaction.
pub async fn delete_user(
    store: &DynStore,
    p: &Provider<'_>,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .write_energy(p.tenant, p.ven, EnergyWrite::DeleteUser { id: id.as_str() })
        .await
        .map_err(|e| match e {
            // An asset was registered meanwhile (only possible without the VEN's lock).
            StoreError::Reference => ApiError::Conflict(format!(
                "user '{id}' got a new vehicle or resource while it was being deleted; retry"
            )),
            other => other.into(),
        })?
        .ok_or_else(|| user_not_found(id.as_str()))
}

// ---- the VEN and targets -----------------------------------------------------------------------

/// The caller's VEN, registered on first use (as `POST /vens` with its own name would).
async fn own_ven(store: &DynStore, p: &Provider<'_>) -> Result<Ven, ApiError> {
    let filter = VenFilter {
        owner: Some(p.ven.to_owned()),
        ..VenFilter::default()
    };
    if let Some(body) = store
        .list_vens(p.tenant, &filter, Page::default())
        .await?
        .first()
    {
        return from_stored(body);
    }
    let ven = Ven {
        id: None,
        created_date_time: None,
        modification_date_time: None,
        object_type: None,
        ven_name: p.ven.to_owned(),
        attributes: None,
        targets: None,
        resources: None,
    };
    match super::vens::create_ven(store, p.tenant, Some(p.ven), ven).await {
        Ok(body) => from_stored(&body),
        // Registered by a concurrent request.
        Err(ApiError::Conflict(_)) => match store
            .list_vens(p.tenant, &filter, Page::default())
            .await?
            .first()
        {
            Some(body) => from_stored(body),
            None => Err(ApiError::internal(anyhow::anyhow!(
                "VEN vanished while registering"
            ))),
        },
        Err(other) => Err(other),
    }
}

fn ven_id(ven: &Ven) -> Result<ObjectId, ApiError> {
    ven.id
        .clone()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored VEN without id")))
}

// ---- meters ------------------------------------------------------------------------------------

fn meter_not_found(user_id: &ObjectId, id: &ObjectId) -> ApiError {
    ApiError::NotFound(format!("meter '{id}' not found for user '{user_id}'"))
}

/// 409 for a meter point registered already: with its meterId when it is the caller's.
async fn meter_point_conflict(
    store: &DynStore,
    p: &Provider<'_>,
    meter_point_id: &str,
    except: Option<&ObjectId>,
) -> Result<(), ApiError> {
    match store.find_meter_point(p.tenant, meter_point_id).await? {
        Some((_, id)) if except.is_some_and(|e| e.as_str() == id) => Ok(()),
        Some((ven, id)) if ven == p.ven => Err(ApiError::Conflict(format!(
            "meterPointId: meter point '{meter_point_id}' is already registered as meterId '{id}'"
        ))),
        Some(_) => Err(ApiError::Conflict(format!(
            "meterPointId: meter point '{meter_point_id}' is already registered by another \
             service provider"
        ))),
        None => Ok(()),
    }
}

fn meter_row(user_id: &ObjectId, meter: &Meter) -> Result<MeterRow, ApiError> {
    Ok(MeterRow {
        id: meter
            .meter_id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        user_id: user_id.to_string(),
        meter_point_id: meter.meter_point_id.clone(),
        body: super::to_json(meter)?,
    })
}

async fn write_meter(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    meter: &Meter,
    create: bool,
) -> Result<String, ApiError> {
    // The meter's targets go on the VEN: make sure it exists.
    own_ven(store, p).await?;
    let row = meter_row(user_id, meter)?;
    let write = if create {
        EnergyWrite::InsertMeter(&row)
    } else {
        EnergyWrite::UpdateMeter(&row)
    };
    store
        .write_energy(p.tenant, p.ven, write)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => ApiError::Conflict(format!(
                "meterPointId: meter point '{}' is already registered",
                meter.meter_point_id
            )),
            StoreError::Reference => user_not_found(user_id.as_str()),
            other => other.into(),
        })?
        .ok_or_else(|| meter_not_found(user_id, meter.meter_id.as_ref().unwrap_or(user_id)))
}

pub async fn create_meter(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    mut meter: Meter,
) -> Result<String, ApiError> {
    require_user(store, p, user_id).await?;
    meter_point_conflict(store, p, &meter.meter_point_id, None).await?;
    meter.meter_id = Some(ObjectId::new_random());
    write_meter(store, p, user_id, &meter, true).await
}

pub async fn get_meter(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    require_user(store, p, user_id).await?;
    store
        .get_meter(p.tenant, p.ven, user_id.as_str(), id.as_str())
        .await?
        .ok_or_else(|| meter_not_found(user_id, id))
}

pub async fn list_meters(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    require_user(store, p, user_id).await?;
    Ok(store
        .list_meters(p.tenant, p.ven, Some(user_id.as_str()), Some(page))
        .await?)
}

/// Replaces the meter; `meterId` is kept (a different one in the body is a 400).
pub async fn update_meter(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    id: &ObjectId,
    mut meter: Meter,
) -> Result<String, ApiError> {
    get_meter(store, p, user_id, id).await?;
    if meter.meter_id.as_ref().is_some_and(|given| given != id) {
        return Err(ApiError::bad_request(format!(
            "meterId: must be the meter of the path ('{id}') or omitted"
        )));
    }
    meter_point_conflict(store, p, &meter.meter_point_id, Some(id)).await?;
    meter.meter_id = Some(id.clone());
    write_meter(store, p, user_id, &meter, false).await
}

pub async fn delete_meter(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    require_user(store, p, user_id).await?;
    store
        .write_energy(
            p.tenant,
            p.ven,
            EnergyWrite::DeleteMeter {
                user_id: user_id.as_str(),
                id: id.as_str(),
            },
        )
        .await?
        .ok_or_else(|| meter_not_found(user_id, id))
}

// ---- vehicles and resources --------------------------------------------------------------------

fn asset_not_found(kind: AssetKind, user_id: &ObjectId, id: &ObjectId) -> ApiError {
    ApiError::NotFound(format!(
        "{} '{id}' not found for user '{user_id}'",
        kind.as_str()
    ))
}

/// 409 for an id or VIN registered already: with the existing id when it is the caller's.
async fn asset_conflict(store: &DynStore, p: &Provider<'_>, asset: &Asset) -> Result<(), ApiError> {
    let Some(found) = store
        .find_asset(p.tenant, asset.id().as_str(), asset.vin())
        .await?
    else {
        return Ok(());
    };
    let what = if found.id == asset.id().as_str() {
        format!(
            "{}: '{}' is already registered",
            asset.kind().id_field(),
            asset.id()
        )
    } else {
        format!(
            "metadata.vin: VIN '{}' is already registered",
            asset.vin().unwrap_or_default()
        )
    };
    Err(already_registered(p, &found, what))
}

/// The 409 for an id or VIN taken by `found`: naming the existing asset when it is the caller's.
fn already_registered(p: &Provider<'_>, found: &AssetOwner, what: String) -> ApiError {
    ApiError::Conflict(if found.ven_name == p.ven {
        format!("{what} as {} '{}'", found.kind, found.id)
    } else {
        format!("{what} by another service provider")
    })
}

pub async fn create_asset(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    asset: Asset,
) -> Result<String, ApiError> {
    require_user(store, p, user_id).await?;
    asset_conflict(store, p, &asset).await?;
    let ven_id = ven_id(&own_ven(store, p).await?)?;
    let resource = super::vens::new_resource(
        &ven_id,
        Resource {
            id: None,
            created_date_time: None,
            modification_date_time: None,
            object_type: None,
            resource_name: asset.id().to_string(),
            ven_id: None,
            attributes: Some(asset.attributes(user_id.as_str())?),
            // The store gives it the user's meter targets.
            targets: None,
        },
        // A service provider's asset: its name (the partner's id) addresses nobody until
        // business logic approves the resource.
        false,
    )?;
    let row = AssetRow {
        id: asset.id().to_string(),
        user_id: user_id.to_string(),
        kind: asset.kind().as_str().into(),
        vin: asset.vin().map(str::to_owned),
        resource_id: resource.id.clone(),
        body: asset.body()?,
    };
    let written = store
        .write_energy(
            p.tenant,
            p.ven,
            EnergyWrite::InsertAsset {
                asset: &row,
                resource: &resource,
            },
        )
        .await;
    match written {
        Ok(_) => Ok(row.body),
        // A concurrent registration of the same id or VIN won the race.
        Err(StoreError::Duplicate) => Err(asset_conflict(store, p, &asset)
            .await
            .err()
            .unwrap_or_else(|| {
                ApiError::Conflict(format!("{}: already registered", asset.kind().id_field()))
            })),
        Err(StoreError::Reference) => Err(user_not_found(user_id.as_str())),
        Err(other) => Err(other.into()),
    }
}

async fn require_asset(
    store: &DynStore,
    p: &Provider<'_>,
    kind: AssetKind,
    user_id: &ObjectId,
    id: &ObjectId,
) -> Result<AssetRow, ApiError> {
    require_user(store, p, user_id).await?;
    store
        .get_asset(
            p.tenant,
            p.ven,
            Some(user_id.as_str()),
            Some(kind.as_str()),
            id.as_str(),
        )
        .await?
        .ok_or_else(|| asset_not_found(kind, user_id, id))
}

pub async fn get_asset(
    store: &DynStore,
    p: &Provider<'_>,
    kind: AssetKind,
    user_id: &ObjectId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    Ok(require_asset(store, p, kind, user_id, id).await?.body)
}

pub async fn list_assets(
    store: &DynStore,
    p: &Provider<'_>,
    kind: AssetKind,
    user_id: &ObjectId,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    require_user(store, p, user_id).await?;
    Ok(store
        .list_assets(
            p.tenant,
            p.ven,
            user_id.as_str(),
            Some(kind.as_str()),
            Some(page),
        )
        .await?
        .into_iter()
        .map(|a| a.body)
        .collect())
}

/// Replaces the metadata; the id is fixed (a different one in the body is a 400).
pub async fn update_asset(
    store: &DynStore,
    p: &Provider<'_>,
    user_id: &ObjectId,
    id: &ObjectId,
    asset: Asset,
) -> Result<String, ApiError> {
    let kind = asset.kind();
    let existing = require_asset(store, p, kind, user_id, id).await?;
    if asset.id() != id {
        return Err(ApiError::bad_request(format!(
            "{}: must be the {} of the path ('{id}'); an id cannot be changed",
            kind.id_field(),
            kind.as_str()
        )));
    }
    if let Some(vin) = asset
        .vin()
        .filter(|vin| Some(*vin) != existing.vin.as_deref())
    {
        if let Some(found) = store.find_asset(p.tenant, "", Some(vin)).await? {
            return Err(already_registered(
                p,
                &found,
                format!("metadata.vin: VIN '{vin}' is already registered"),
            ));
        }
    }
    let row = AssetRow {
        vin: asset.vin().map(str::to_owned),
        body: asset.body()?,
        ..existing
    };
    store
        .write_energy(
            p.tenant,
            p.ven,
            EnergyWrite::UpdateAsset {
                asset: &row,
                attributes: asset.attributes(user_id.as_str())?,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => {
                ApiError::Conflict("metadata.vin: this VIN is already registered".into())
            }
            other => other.into(),
        })?
        .ok_or_else(|| asset_not_found(kind, user_id, id))
}

/// Deletes the OpenADR resource, and with it the asset.
pub async fn delete_asset(
    store: &DynStore,
    p: &Provider<'_>,
    kind: AssetKind,
    user_id: &ObjectId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    require_user(store, p, user_id).await?;
    store
        .write_energy(
            p.tenant,
            p.ven,
            EnergyWrite::DeleteAsset {
                user_id: user_id.as_str(),
                kind: kind.as_str(),
                id: id.as_str(),
            },
        )
        .await?
        .ok_or_else(|| asset_not_found(kind, user_id, id))
}

// ---- reports in the short form -----------------------------------------------------------------

/// Stores a short-form report as a standard OpenADR report of the event, through
/// [`super::reports::create`]: one report resource per payload, named by its `resourceId`, with
/// one `USAGE` interval (kWh) per point.
pub async fn create_short_report(
    store: &DynStore,
    caller: &Principal,
    report: ShortReport,
) -> Result<String, ApiError> {
    let p = provider(caller)?;
    let usages = report.energy_usages().map_err(ApiError::BadRequest)?;
    let event_id = &report.event_id;
    let event: Event = match super::events::get_visible(
        store,
        p.tenant,
        event_id,
        super::vens::visibility(caller),
    )
    .await
    {
        Ok(body) => from_stored(&body)?,
        Err(ApiError::NotFound(_)) => {
            return Err(ApiError::bad_request(format!(
                "eventId: event '{event_id}' does not exist"
            )))
        }
        Err(other) => return Err(other),
    };
    let asks = event
        .report_descriptors
        .iter()
        .flatten()
        .any(|d| d.payload_type == "USAGE" || d.payload_type == ENERGY_USAGE);
    if !asks {
        return Err(ApiError::bad_request(format!(
            "eventId: event '{event_id}' does not ask for EnergyUsage reports (none of its \
             reportDescriptors has payloadType USAGE or EnergyUsage)"
        )));
    }
    let mut resources = Vec::new();
    for (i, usage) in usages.iter().enumerate() {
        check_usage_refs(store, &p, i, usage).await?;
        resources.push(report_resource(usage)?);
    }
    let report = Report {
        id: None,
        created_date_time: None,
        modification_date_time: None,
        object_type: None,
        program_id: event.program_id.clone(),
        event_id: event_id.clone(),
        client_name: p.ven.to_owned(),
        report_name: Some(ENERGY_USAGE.into()),
        payload_descriptors: Some(vec![PayloadDescriptor {
            object_type: Some(REPORT_PAYLOAD_DESCRIPTOR.into()),
            payload_type: "USAGE".into(),
            units: Some("KWH".into()),
            currency: None,
            reading_type: Some("DIRECT_READ".into()),
            accuracy: None,
            confidence: None,
        }]),
        resources,
    };
    super::reports::create(store, caller, report).await
}

/// The payload's resource is a vehicle or resource of the caller; its locationId and meterPointId
/// (when given) are a meter of the resource's user.
async fn check_usage_refs(
    store: &DynStore,
    p: &Provider<'_>,
    i: usize,
    usage: &EnergyUsage,
) -> Result<(), ApiError> {
    let asset = store
        .get_asset(p.tenant, p.ven, None, None, usage.resource_id.as_str())
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "payloads[{i}].resourceId: no vehicle or resource '{}' is registered",
                usage.resource_id
            ))
        })?;
    if usage.location_id.is_none() && usage.meter_point_id.is_none() {
        return Ok(());
    }
    let meters: Vec<Meter> = store
        .list_meters(p.tenant, p.ven, Some(&asset.user_id), None)
        .await?
        .iter()
        .map(|body| from_stored(body))
        .collect::<Result<_, _>>()?;
    let matching = meters.iter().any(|m| {
        usage
            .location_id
            .as_ref()
            .is_none_or(|l| m.meter_id.as_ref() == Some(l))
            && usage
                .meter_point_id
                .as_ref()
                .is_none_or(|mp| &m.meter_point_id == mp)
    });
    if !matching {
        return Err(ApiError::bad_request(format!(
            "payloads[{i}]: locationId and meterPointId must name a meter of user '{}', the \
             owner of '{}'",
            asset.user_id, usage.resource_id
        )));
    }
    Ok(())
}

/// The report resource that stores one checked `EnergyUsage` payload: one interval per point.
pub fn report_resource(usage: &EnergyUsage) -> Result<ReportResource, ApiError> {
    let duration = IsoDuration::parse(&iso_duration(usage.resolution_seconds))
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let intervals = usage
        .points
        .iter()
        .enumerate()
        .map(|(i, point)| Interval {
            id: i32::try_from(i).unwrap_or(i32::MAX),
            interval_period: Some(IntervalPeriod {
                start: point.timestamp,
                duration: Some(duration.clone()),
                randomize_start: None,
            }),
            payloads: vec![ValuesMap {
                type_: "USAGE".into(),
                values: vec![json!(point.kilo_watt_hours)],
            }],
        })
        .collect();
    Ok(ReportResource {
        resource_name: usage.resource_id.to_string(),
        interval_period: usage.points.first().map(|first| IntervalPeriod {
            start: first.timestamp,
            duration: Some(duration.clone()),
            randomize_start: None,
        }),
        intervals,
    })
}
