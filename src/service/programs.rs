use super::{from_stored, now, target_pairs, to_json};
use crate::domain::{ObjectId, ObjectType, Program, TenantId};
use crate::error::ApiError;
use crate::store::{DynStore, Page, ProgramFilter, ProgramRow, StoreError, VenVisibility};

/// The stored form of a program: its JSON body and the columns queries filter on.
pub fn row(program: &Program) -> Result<ProgramRow, ApiError> {
    Ok(ProgramRow {
        id: program
            .id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        program_name: program.program_name.clone(),
        targets: target_pairs(&program.targets),
        body: to_json(program)?,
    })
}

fn duplicate_name(name: &str) -> ApiError {
    ApiError::Conflict(format!(
        "programName: a program named '{name}' already exists"
    ))
}

pub async fn create(
    store: &DynStore,
    tenant: &TenantId,
    mut program: Program,
) -> Result<String, ApiError> {
    let now = now();
    program.id = Some(ObjectId::new_random());
    program.created_date_time = Some(now);
    program.modification_date_time = Some(now);
    program.object_type = Some(ObjectType::Program);
    let row = row(&program)?;
    store
        .insert_program(tenant, &row)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => duplicate_name(&program.program_name),
            other => other.into(),
        })?;
    Ok(row.body)
}

pub async fn get(store: &DynStore, tenant: &TenantId, id: &ObjectId) -> Result<String, ApiError> {
    store
        .get_program(tenant, id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("program", id.as_str()))
}

/// Get by id as the caller may see it: with a VEN `visibility`, a program that does not target
/// the VEN is 404, exactly as if it did not exist.
pub async fn get_visible(
    store: &DynStore,
    tenant: &TenantId,
    id: &ObjectId,
    visibility: Option<VenVisibility>,
) -> Result<String, ApiError> {
    let Some(visibility) = visibility else {
        return get(store, tenant, id).await;
    };
    let filter = ProgramFilter {
        id: Some(id.to_string()),
        visibility: Some(visibility),
        ..Default::default()
    };
    store
        .list_programs(tenant, &filter, Page { skip: 0, limit: 1 })
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("program", id.as_str()))
}

pub async fn list(
    store: &DynStore,
    tenant: &TenantId,
    filter: &ProgramFilter,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    Ok(store.list_programs(tenant, filter, page).await?)
}

/// Replaces the program; `id` and `createdDateTime` are kept, `modificationDateTime` renewed.
pub async fn update(
    store: &DynStore,
    tenant: &TenantId,
    id: &ObjectId,
    mut program: Program,
) -> Result<String, ApiError> {
    let existing: Program = from_stored(&get(store, tenant, id).await?)?;
    program.id = Some(id.clone());
    program.created_date_time = existing.created_date_time;
    program.modification_date_time = Some(now());
    program.object_type = Some(ObjectType::Program);
    let row = row(&program)?;
    let updated = store
        .update_program(tenant, &row)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => duplicate_name(&program.program_name),
            other => other.into(),
        })?;
    if !updated {
        return Err(ApiError::not_found("program", id.as_str()));
    }
    Ok(row.body)
}

/// Refuses (409) while events belong to the program: deleting a program must not silently
/// delete events that VENs may be acting on.
pub async fn delete(
    store: &DynStore,
    tenant: &TenantId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .delete_program(tenant, id.as_str())
        .await
        .map_err(|e| match e {
            StoreError::Reference => ApiError::Conflict(format!(
                "program '{id}' still has events; delete its events first"
            )),
            other => other.into(),
        })?
        .ok_or_else(|| ApiError::not_found("program", id.as_str()))
}
