//! VENs and their resources, and who may see them.
//!
//! A business-logic client reads and writes every VEN and resource of its tenant. A VEN client is
//! bound to one VEN name: it sees and writes only the VEN of that name and its resources; any
//! other VEN is "not found" to it, so that it learns nothing about other VENs.

use super::{from_stored, now, target_pairs, to_json};
use crate::auth::Principal;
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

fn ven_row(ven: &Ven) -> Result<VenRow, ApiError> {
    Ok(VenRow {
        id: ven.id.as_ref().map(ObjectId::to_string).unwrap_or_default(),
        ven_name: ven.ven_name.clone(),
        targets: target_pairs(&ven.targets),
        body: to_json(ven)?,
    })
}

fn resource_row(resource: &Resource) -> Result<ResourceRow, ApiError> {
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
    let now = now();
    ven.id = Some(ObjectId::new_random());
    ven.created_date_time = Some(now);
    ven.modification_date_time = Some(now);
    ven.object_type = Some(ObjectType::Ven);
    let row = ven_row(&ven)?;
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
    ven.id = Some(id.clone());
    ven.created_date_time = existing.created_date_time;
    ven.modification_date_time = Some(now());
    ven.object_type = Some(ObjectType::Ven);
    let row = ven_row(&ven)?;
    let updated = store
        .update_ven(tenant, &row, owner)
        .await
        .map_err(duplicate_ven(&ven.ven_name))?;
    if !updated {
        return Err(ApiError::not_found("VEN", id.as_str()));
    }
    Ok(row.body)
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

/// A new resource of the VEN, with the fields the server assigns, as it is stored.
pub(crate) fn new_resource(
    ven_id: &ObjectId,
    mut resource: Resource,
) -> Result<ResourceRow, ApiError> {
    let now = now();
    resource.id = Some(ObjectId::new_random());
    resource.created_date_time = Some(now);
    resource.modification_date_time = Some(now);
    resource.object_type = Some(ObjectType::Resource);
    resource.ven_id = Some(ven_id.clone());
    resource_row(&resource)
}

pub async fn create_resource(
    store: &DynStore,
    tenant: &TenantId,
    owner: Option<&str>,
    ven_id: &ObjectId,
    resource: Resource,
) -> Result<String, ApiError> {
    check_ven_id(&resource, ven_id)?;
    require_ven(store, tenant, owner, ven_id).await?;
    let row = new_resource(ven_id, resource)?;
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
    resource.id = Some(id.clone());
    resource.created_date_time = existing.created_date_time;
    resource.modification_date_time = Some(now());
    resource.object_type = Some(ObjectType::Resource);
    resource.ven_id = Some(ven_id.clone());
    let row = resource_row(&resource)?;
    let updated = store
        .update_resource(tenant, &row)
        .await
        .map_err(duplicate_resource(&resource.resource_name))?;
    if !updated {
        return Err(resource_not_found(ven_id, id));
    }
    Ok(row.body)
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
