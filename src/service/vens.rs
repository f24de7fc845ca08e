//! VENs and their resources, and who may see them.
//!
//! A business-logic client reads and writes every VEN and resource of its tenant. A VEN client is
//! bound to one VEN name: it sees and writes only the VEN of that name and its resources; any
//! other VEN is "not found" to it, so that it learns nothing about other VENs.
//!
//! Nothing a VEN client writes may widen what it receives (OpenADR 3.1 Definition: business logic
//! writes the targets of VENs and resources). So a VEN client's write that sets or changes the
//! `targets` of a VEN or a resource is refused (403), and a resource it creates or renames does
//! not address its VEN by name until business logic approves it (see `domain::audience`).

use super::{from_stored, now, target_pairs, to_json};
use crate::auth::Principal;
use crate::domain::common::ValuesMap;
use crate::domain::energy::{LOCATION_ID, METER_POINT_ID};
use crate::domain::{ObjectId, ObjectType, Resource, Role, TenantId, Ven};
use crate::error::ApiError;
use crate::store::{
    DynStore, Page, ResourceFilter, ResourceRow, StoreError, VenFilter, VenRow, VenVisibility,
};

/// The VEN name a VEN client is bound to; `None` for business logic, which sees every VEN.
pub fn owner(caller: &Principal) -> Option<&str> {
    match caller.role {
        // A VEN principal always has a name (clients and identity providers guarantee it); one
        // without would see no VEN at all.
        Role::Ven => Some(caller.ven_name.as_deref().unwrap_or("")),
        Role::BusinessLogic | Role::Admin => None,
    }
}

/// What the caller may see of programs and events: `None` (everything) unless it is a VEN client.
pub fn visibility(caller: &Principal) -> Option<VenVisibility> {
    owner(caller).map(|name| VenVisibility {
        ven_name: name.to_owned(),
    })
}

fn ven_row(ven: &Ven, by_business_logic: bool) -> Result<VenRow, ApiError> {
    Ok(VenRow {
        id: ven.id.as_ref().map(ObjectId::to_string).unwrap_or_default(),
        ven_name: ven.ven_name.clone(),
        targets: target_pairs(&ven.targets),
        by_business_logic,
        body: to_json(ven)?,
    })
}

fn resource_row(resource: &Resource, by_business_logic: bool) -> Result<ResourceRow, ApiError> {
    Ok(ResourceRow {
        id: resource
            .id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        ven_id: resource
            .ven_id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        resource_name: resource.resource_name.clone(),
        targets: target_pairs(&resource.targets),
        by_business_logic,
        body: to_json(resource)?,
    })
}

fn duplicate_ven(name: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::Duplicate => {
            ApiError::Conflict(format!("venName: a VEN named '{name}' already exists"))
        }
        other => other.into(),
    }
}

fn duplicate_resource(name: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::Duplicate => ApiError::Conflict(format!(
            "resourceName: this VEN already has a resource named '{name}'"
        )),
        other => other.into(),
    }
}

/// A VEN client may not write targets: on a create there must be none, on an update they must be
/// the ones the object has (so that a client can send back what it read). The targets the server
/// derives from Energy Coordination meters (`METER_POINT_ID`, `LOCATION_ID`) may be omitted on an
/// update — the store keeps deriving them — but if sent, they too must be unchanged.
fn check_targets_unchanged(
    owner: Option<&str>,
    what: &str,
    written: &Option<Vec<ValuesMap>>,
    // `None` on a create.
    existing: Option<&Option<Vec<ValuesMap>>>,
) -> Result<(), ApiError> {
    if owner.is_none() {
        return Ok(());
    }
    let is_derived = |(kind, _): &(String, String)| kind == METER_POINT_ID || kind == LOCATION_ID;
    let split = |targets: &Option<Vec<ValuesMap>>| {
        let mut pairs = target_pairs(targets);
        pairs.sort();
        pairs.dedup();
        let (derived, assigned): (Vec<_>, Vec<_>) = pairs.into_iter().partition(is_derived);
        (derived, assigned)
    };
    let (written_derived, written_assigned) = split(written);
    let unchanged = match existing {
        None => written_derived.is_empty() && written_assigned.is_empty(),
        Some(existing) => {
            let (existing_derived, existing_assigned) = split(existing);
            written_assigned == existing_assigned
                && (written_derived.is_empty() || written_derived == existing_derived)
        }
    };
    if unchanged {
        return Ok(());
    }
    Err(ApiError::Denied(format!(
        "targets: the targets of a {what} are written by business logic; a VEN client may not \
         set or change them"
    )))
}

/// A VEN client may only name its own VEN.
fn check_own_name(owner: Option<&str>, ven_name: &str) -> Result<(), ApiError> {
    match owner {
        Some(owner) if owner != ven_name => Err(ApiError::Denied(format!(
            "venName: this client is bound to the VEN '{owner}' and may not create or rename a VEN \
             to '{ven_name}'"
        ))),
        _ => Ok(()),
    }
}

pub async fn create_ven(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    mut ven: Ven,
) -> Result<String, ApiError> {
    check_own_name(owner, &ven.ven_name)?;
    check_targets_unchanged(owner, "VEN", &ven.targets, None)?;
    let now = now();
    ven.id = Some(ObjectId::new_random());
    ven.created_date_time = Some(now);
    ven.modification_date_time = Some(now);
    ven.object_type = Some(ObjectType::Ven);
    let row = ven_row(&ven, owner.is_none())?;
    store
        .insert_ven(tenant, &row)
        .await
        .map_err(duplicate_ven(&ven.ven_name))?;
    Ok(row.body)
}

pub async fn get_ven(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .get_ven(tenant, id.as_str(), owner)
        .await?
        .ok_or_else(|| ApiError::not_found("VEN", id.as_str()))
}

pub async fn list_vens(
    store: &DynStore,
    tenant: &TenantId,
    filter: &VenFilter,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    Ok(store.list_vens(tenant, filter, page).await?)
}

/// Replaces the VEN; `id` and `createdDateTime` are kept, `modificationDateTime` renewed.
pub async fn update_ven(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    id: &ObjectId,
    mut ven: Ven,
) -> Result<String, ApiError> {
    let existing: Ven = from_stored(&get_ven(store, tenant, owner, id).await?)?;
    check_own_name(owner, &ven.ven_name)?;
    check_targets_unchanged(owner, "VEN", &ven.targets, Some(&existing.targets))?;
    ven.id = Some(id.clone());
    ven.created_date_time = existing.created_date_time;
    ven.modification_date_time = Some(now());
    ven.object_type = Some(ObjectType::Ven);
    let row = ven_row(&ven, owner.is_none())?;
    store
        .update_ven(tenant, &row, owner)
        .await
        .map_err(duplicate_ven(&ven.ven_name))?
        .ok_or_else(|| ApiError::not_found("VEN", id.as_str()))
}

/// Deletes the VEN together with its resources.
pub async fn delete_ven(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .delete_ven(tenant, id.as_str(), owner)
        .await?
        .ok_or_else(|| ApiError::not_found("VEN", id.as_str()))
}

/// The VEN of a resource path must exist and be visible to the caller (404 otherwise).
async fn require_ven(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
) -> Result<(), ApiError> {
    get_ven(store, tenant, owner, ven_id).await.map(drop)
}

fn resource_not_found(ven_id: &ObjectId, id: &ObjectId) -> ApiError {
    ApiError::NotFound(format!("resource '{id}' not found in VEN '{ven_id}'"))
}

/// `venID` is the VEN of the path: a body may omit it or repeat it, nothing else.
fn check_ven_id(resource: &Resource, ven_id: &ObjectId) -> Result<(), ApiError> {
    match &resource.ven_id {
        Some(given) if given != ven_id => Err(ApiError::bad_request(format!(
            "venID: must be the VEN of the path ('{ven_id}') or omitted, got '{given}'"
        ))),
        _ => Ok(()),
    }
}

/// A new resource of the VEN, with the fields the server assigns, as it is stored; approved when
/// business logic creates it.
pub(crate) fn new_resource(
    ven_id: &ObjectId,
    mut resource: Resource,
    by_business_logic: bool,
) -> Result<ResourceRow, ApiError> {
    let now = now();
    resource.id = Some(ObjectId::new_random());
    resource.created_date_time = Some(now);
    resource.modification_date_time = Some(now);
    resource.object_type = Some(ObjectType::Resource);
    resource.ven_id = Some(ven_id.clone());
    resource_row(&resource, by_business_logic)
}

pub async fn create_resource(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
    resource: Resource,
) -> Result<String, ApiError> {
    check_ven_id(&resource, ven_id)?;
    check_targets_unchanged(owner, "resource", &resource.targets, None)?;
    require_ven(store, tenant, owner, ven_id).await?;
    let row = new_resource(ven_id, resource, owner.is_none())?;
    store
        .insert_resource(tenant, &row)
        .await
        .map_err(|e| match e {
            // The VEN was deleted since it was checked.
            StoreError::Reference => ApiError::not_found("VEN", ven_id.as_str()),
            other => duplicate_resource(&row.resource_name)(other),
        })?;
    Ok(row.body)
}

pub async fn get_resource(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    require_ven(store, tenant, owner, ven_id).await?;
    store
        .get_resource(tenant, ven_id.as_str(), id.as_str())
        .await?
        .ok_or_else(|| resource_not_found(ven_id, id))
}

pub async fn list_resources(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
    filter: &ResourceFilter,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    require_ven(store, tenant, owner, ven_id).await?;
    Ok(store
        .list_resources(tenant, ven_id.as_str(), filter, page)
        .await?)
}

/// Replaces the resource; `id`, `venID` and `createdDateTime` are kept.
pub async fn update_resource(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
    id: &ObjectId,
    mut resource: Resource,
) -> Result<String, ApiError> {
    check_ven_id(&resource, ven_id)?;
    let existing: Resource = from_stored(&get_resource(store, tenant, owner, ven_id, id).await?)?;
    check_targets_unchanged(
        owner,
        "resource",
        &resource.targets,
        Some(&existing.targets),
    )?;
    resource.id = Some(id.clone());
    resource.created_date_time = existing.created_date_time;
    resource.modification_date_time = Some(now());
    resource.object_type = Some(ObjectType::Resource);
    resource.ven_id = Some(ven_id.clone());
    let row = resource_row(&resource, owner.is_none())?;
    store
        .update_resource(tenant, &row)
        .await
        .map_err(duplicate_resource(&resource.resource_name))?
        .ok_or_else(|| resource_not_found(ven_id, id))
}

pub async fn delete_resource(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    require_ven(store, tenant, owner, ven_id).await?;
    store
        .delete_resource(tenant, ven_id.as_str(), id.as_str())
        .await?
        .ok_or_else(|| resource_not_found(ven_id, id))
}
