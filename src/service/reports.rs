//! Reports, and who may see them.
//!
//! A business-logic client reads and writes every report of its tenant. A VEN client reads and
//! writes only the reports it created, and only under its own VEN name as `clientName`; any
//! other report is "not found" to it. It reports only on programs and events it may read.

use super::{from_stored, now, to_json};
use crate::auth::Principal;
use crate::domain::report::Report;
use crate::domain::{ObjectId, ObjectType, Role};
use crate::error::ApiError;
use crate::store::{DynStore, Page, ReportFilter, ReportRow, ReportWrite, StoreError};

/// The VEN name a VEN client is bound to; `None` for business logic, which sees every report
/// and subscription of its tenant. A VEN principal always has a name (clients and identity
/// providers guarantee it); one without would own nothing.
pub(crate) fn ven_of(caller: &Principal) -> Option<&str> {
    match caller.role {
        Role::Ven => Some(caller.ven_name.as_deref().unwrap_or("")),
        Role::BusinessLogic | Role::Admin => None,
    }
}

/// A VEN client writes only under its own name: `clientName` must be its VEN name.
pub(crate) fn check_client_name(ven: Option<&str>, client_name: &str) -> Result<(), ApiError> {
    match ven {
        Some(ven) if ven != client_name => Err(ApiError::bad_request(format!(
            "clientName: must be '{ven}', the VEN name this client is bound to"
        ))),
        _ => Ok(()),
    }
}

/// The stored form of a report: its JSON body and the columns queries filter on.
pub fn row(report: &Report, owner: Option<&str>) -> Result<ReportRow, ApiError> {
    Ok(ReportRow {
        id: report
            .id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        program_id: report.program_id.to_string(),
        event_id: report.event_id.to_string(),
        client_name: report.client_name.clone(),
        owner: owner.map(str::to_owned),
        body: to_json(report)?,
    })
}

/// What a refused write means for the client.
fn outcome(write: ReportWrite, report: &Report) -> Result<(), ApiError> {
    let (program, event) = (&report.program_id, &report.event_id);
    match write {
        ReportWrite::Written => Ok(()),
        ReportWrite::Missing => Err(ApiError::not_found(
            "report",
            report.id.as_ref().map_or("", ObjectId::as_str),
        )),
        ReportWrite::UnknownProgram => Err(ApiError::bad_request(format!(
            "programID: program '{program}' does not exist"
        ))),
        ReportWrite::UnknownEvent => Err(ApiError::bad_request(format!(
            "eventID: event '{event}' does not exist"
        ))),
        ReportWrite::EventOfOtherProgram(other) => Err(ApiError::bad_request(format!(
            "eventID: event '{event}' belongs to program '{other}', not to programID '{program}'"
        ))),
    }
}

/// A program or event deleted while the report was written.
fn vanished(e: StoreError) -> ApiError {
    match e {
        StoreError::Reference => {
            ApiError::bad_request("programID, eventID: the program or event no longer exists")
        }
        other => other.into(),
    }
}

/// A VEN client may refer only to programs it may read: any other is reported exactly as a
/// missing one, so that it learns nothing about programs that do not target it.
pub(crate) async fn check_program_visible(
    store: &DynStore,
    caller: &Principal,
    program_id: &ObjectId,
) -> Result<(), ApiError> {
    let Some(visibility) = super::vens::visibility(caller) else {
        return Ok(());
    };
    match super::programs::get_visible(store, &caller.tenant, program_id, Some(visibility)).await {
        Ok(_) => Ok(()),
        Err(ApiError::NotFound(_)) => Err(ApiError::bad_request(format!(
            "programID: program '{program_id}' does not exist"
        ))),
        Err(other) => Err(other),
    }
}

/// For a VEN client: the event it reports on is one it may read (else a 400, as if missing).
async fn check_event_visible(
    store: &DynStore,
    caller: &Principal,
    event_id: &ObjectId,
) -> Result<(), ApiError> {
    let Some(visibility) = super::vens::visibility(caller) else {
        return Ok(());
    };
    match super::events::get_visible(store, &caller.tenant, event_id, Some(visibility)).await {
        Ok(_) => Ok(()),
        Err(ApiError::NotFound(_)) => Err(ApiError::bad_request(format!(
            "eventID: event '{event_id}' does not exist"
        ))),
        Err(other) => Err(other),
    }
}

pub async fn create(
    store: &DynStore,
    caller: &Principal,
    mut report: Report,
) -> Result<String, ApiError> {
    let ven = ven_of(caller);
    check_client_name(ven, &report.client_name)?;
    // The event is what asks for the report: a VEN may report on any event it can read, also
    // one that targets it in a program it cannot read. The store checks that the event is of
    // `programID`, so the program needs no visibility check of its own.
    check_event_visible(store, caller, &report.event_id).await?;
    let now = now();
    report.id = Some(ObjectId::new_random());
    report.created_date_time = Some(now);
    report.modification_date_time = Some(now);
    report.object_type = Some(ObjectType::Report);
    let row = row(&report, ven)?;
    let write = store
        .insert_report(&caller.tenant, &row)
        .await
        .map_err(vanished)?;
    outcome(write, &report)?;
    Ok(row.body)
}

pub async fn get(store: &DynStore, caller: &Principal, id: &ObjectId) -> Result<String, ApiError> {
    store
        .get_report(&caller.tenant, id.as_str(), ven_of(caller))
        .await?
        .ok_or_else(|| ApiError::not_found("report", id.as_str()))
}

pub async fn list(
    store: &DynStore,
    caller: &Principal,
    mut filter: ReportFilter,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    filter.ven = ven_of(caller).map(str::to_owned);
    Ok(store.list_reports(&caller.tenant, &filter, page).await?)
}

/// Replaces the report; `id`, `createdDateTime` and the owner are kept, `modificationDateTime`
/// renewed.
pub async fn update(
    store: &DynStore,
    caller: &Principal,
    id: &ObjectId,
    mut report: Report,
) -> Result<String, ApiError> {
    let ven = ven_of(caller);
    let existing: Report = from_stored(&get(store, caller, id).await?)?;
    check_client_name(ven, &report.client_name)?;
    // The event is what asks for the report: a VEN may report on any event it can read, also
    // one that targets it in a program it cannot read. The store checks that the event is of
    // `programID`, so the program needs no visibility check of its own.
    check_event_visible(store, caller, &report.event_id).await?;
    report.id = Some(id.clone());
    report.created_date_time = existing.created_date_time;
    report.modification_date_time = Some(now());
    report.object_type = Some(ObjectType::Report);
    let row = row(&report, None)?;
    let write = store
        .update_report(&caller.tenant, &row, ven)
        .await
        .map_err(vanished)?;
    outcome(write, &report)?;
    Ok(row.body)
}

pub async fn delete(
    store: &DynStore,
    caller: &Principal,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .delete_report(&caller.tenant, id.as_str(), ven_of(caller))
        .await?
        .ok_or_else(|| ApiError::not_found("report", id.as_str()))
}
