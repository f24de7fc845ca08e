use super::{from_stored, now, target_pairs, to_json};
use crate::domain::{Event, ObjectId, ObjectType, TenantId};
use crate::error::ApiError;
use crate::store::{DynStore, EventFilter, EventRow, Page, StoreError, VenVisibility};

/// The stored form of an event: its JSON body and the columns queries filter on.
pub fn row(event: &Event) -> Result<EventRow, ApiError> {
    let window = event.active_window();
    Ok(EventRow {
        id: event
            .id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        program_id: event.program_id.to_string(),
        start_ms: window.start.map(|t| t.timestamp_millis()),
        end_ms: window.end.map(|t| t.timestamp_millis()),
        targets: target_pairs(&event.targets),
        body: to_json(event)?,
    })
}

fn unknown_program(event: &Event) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::Reference => ApiError::bad_request(format!(
            "programID: program '{}' does not exist",
            event.program_id
        )),
        other => other.into(),
    }
}

pub async fn create(store: &DynStore, tenant: &TenantId, event: Event) -> Result<String, ApiError> {
    create_with_id(store, tenant, ObjectId::new_random(), event).await
}

/// Creates an event with an id the caller chose (the Voltus bridge fixes the id in its mapping
/// before the event exists, so a retry finds it). `Conflict` when an event has that id.
pub async fn create_with_id(
    store: &DynStore,
    tenant: &TenantId,
    id: ObjectId,
    mut event: Event,
) -> Result<String, ApiError> {
    let now = now();
    event.id = Some(id);
    event.created_date_time = Some(now);
    event.modification_date_time = Some(now);
    event.object_type = Some(ObjectType::Event);
    let row = row(&event)?;
    store
        .insert_event(tenant, &row)
        .await
        .map_err(unknown_program(&event))?;
    Ok(row.body)
}

/// Bulk load of new events (see [`crate::store::Store::import_events`]): the server assigns
/// ids and timestamps as for [`create`], but no notification is sent. Returns the new ids.
pub async fn import(
    store: &DynStore,
    tenant: &TenantId,
    events: Vec<Event>,
) -> Result<Vec<ObjectId>, ApiError> {
    let now = now();
    let mut ids = Vec::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    for mut event in events {
        let id = ObjectId::new_random();
        event.id = Some(id.clone());
        event.created_date_time = Some(now);
        event.modification_date_time = Some(now);
        event.object_type = Some(ObjectType::Event);
        rows.push(row(&event)?);
        ids.push(id);
    }
    store
        .import_events(tenant, &rows)
        .await
        .map_err(|e| match e {
            StoreError::Reference => {
                ApiError::bad_request("programID: a program of the imported events does not exist")
            }
            other => other.into(),
        })?;
    Ok(ids)
}

pub async fn get(store: &DynStore, tenant: &TenantId, id: &ObjectId) -> Result<String, ApiError> {
    store
        .get_event(tenant, id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("event", id.as_str()))
}

/// Get by id as the caller may see it: with a VEN `visibility`, a event that does not target
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
    let filter = EventFilter {
        id: Some(id.to_string()),
        visibility: Some(visibility),
        ..Default::default()
    };
    store
        .list_events(tenant, &filter, Page { skip: 0, limit: 1 })
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found("event", id.as_str()))
}

pub async fn list(
    store: &DynStore,
    tenant: &TenantId,
    filter: &EventFilter,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    Ok(store.list_events(tenant, filter, page).await?)
}

/// Replaces the event; `id` and `createdDateTime` are kept, `modificationDateTime` renewed.
pub async fn update(
    store: &DynStore,
    tenant: &TenantId,
    id: &ObjectId,
    mut event: Event,
) -> Result<String, ApiError> {
    let existing: Event = from_stored(&get(store, tenant, id).await?)?;
    event.id = Some(id.clone());
    event.created_date_time = existing.created_date_time;
    event.modification_date_time = Some(now());
    event.object_type = Some(ObjectType::Event);
    let row = row(&event)?;
    if !store
        .update_event(tenant, &row)
        .await
        .map_err(unknown_program(&event))?
    {
        return Err(ApiError::not_found("event", id.as_str()));
    }
    Ok(row.body)
}

pub async fn delete(
    store: &DynStore,
    tenant: &TenantId,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .delete_event(tenant, id.as_str())
        .await
        .map_err(super::still_reported("event", id))?
        .ok_or_else(|| ApiError::not_found("event", id.as_str()))
}
