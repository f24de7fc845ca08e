//! Applying dispatches: new ones become events, changed ones update them, cancelled ones cancel
//! them, stale and unchanged ones change nothing. Polls and inbound webhooks both end here.
//!
//! Every event is written through the event service, so it is validated, tenant-scoped and
//! notified (the write records its outbox change) exactly like one a business-logic client writes.
//!
//! Only the replica holding the tenant's lease applies dispatches (polls and queued webhooks
//! alike). A version is claimed before its events are written: `save_voltus_dispatch` stores it
//! only when it is newer than the stored one (higher `modification_number`, or a later fetch
//! when the numbers do not tell), so a version that lost changes no event, even if a lease ran
//! out and two replicas raced. It is stored as not yet `applied` and marked applied once its
//! events are written; a failure in between leaves it to be applied again by the next fetch, and
//! so does a newer version claimed while the events were written (whose events the older writer
//! may have overwritten).

use super::mapping::{self, Cancellation, Dispatch, TestDispatches};
use super::settings::TenantBridge;
use crate::domain::validate::Violations;
use crate::domain::{Event, ObjectId, TenantId};
use crate::error::ApiError;
use crate::service::{events, programs};
use crate::store::{DispatchState, DynStore, VoltusCounters};
use serde_json::Value;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Applies a list of dispatches (a poll's answer, or one fetched for a webhook), fetched at
/// `fetched_at_ms` (taken before the request was sent). Malformed ones are logged with their id
/// and skipped; one listed twice is applied once, in its newest version. Fails only when storage
/// fails.
pub async fn apply_all(
    store: &DynStore,
    bridge: &TenantBridge,
    raws: Vec<Value>,
    fetched_at_ms: i64,
    counters: &mut VoltusCounters,
) -> Result<(), ApiError> {
    let mut dispatches: Vec<(Dispatch, Value)> = Vec::new();
    for raw in raws {
        match Dispatch::parse(&raw) {
            Ok(dispatch) => {
                match dispatches.iter_mut().find(|(d, _)| d.id == dispatch.id) {
                    // The same id twice: keep the newer version (the later one on a tie).
                    Some(slot) => {
                        if dispatch.modification_number >= slot.0.modification_number {
                            *slot = (dispatch, raw);
                        }
                    }
                    None => dispatches.push((dispatch, raw)),
                }
            }
            Err(error) => {
                counters.dispatches_malformed += 1;
                tracing::warn!(tenant = bridge.tenant.as_str(), %error, "skipping a malformed Voltus dispatch");
            }
        }
    }
    let mut first_error = None;
    for (dispatch, raw) in dispatches {
        if let Err(error) = apply(store, bridge, &dispatch, &raw, fetched_at_ms, counters).await {
            tracing::warn!(tenant = bridge.tenant.as_str(), dispatch = %dispatch.id, %error, "applying a Voltus dispatch failed");
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Applies one dispatch fetched at `fetched_at_ms`.
pub async fn apply(
    store: &DynStore,
    bridge: &TenantBridge,
    dispatch: &Dispatch,
    raw: &Value,
    fetched_at_ms: i64,
    counters: &mut VoltusCounters,
) -> Result<(), ApiError> {
    let tenant = &bridge.tenant;
    let fingerprint = dispatch.fingerprint();
    let stored = store.get_voltus_dispatch(tenant, &dispatch.id).await?;
    // Unchanged and fully applied: nothing to write (the common case of a repeated poll).
    if let Some(stored) = &stored {
        if stored.applied
            && stored.fingerprint == fingerprint
            && stored.modification_number == dispatch.modification_number
        {
            return Ok(());
        }
    }
    let skip = dispatch.test && bridge.options.test_dispatches == TestDispatches::Skip;
    let state = DispatchState {
        dispatch_id: dispatch.id.clone(),
        modification_number: dispatch.modification_number,
        fingerprint,
        authorized: dispatch.authorized,
        test: dispatch.test,
        raw: raw.to_string(),
        fetched_at_ms,
        applied: skip,
    };
    if !store.save_voltus_dispatch(tenant, &state, now_ms()).await? {
        counters.dispatches_stale += 1;
        tracing::info!(
            tenant = tenant.as_str(),
            dispatch = %dispatch.id,
            new = ?dispatch.modification_number,
            stored = ?stored.as_ref().and_then(|s| s.modification_number),
            "ignoring a stale Voltus dispatch version"
        );
        return Ok(());
    }
    if skip {
        if stored.is_none() {
            counters.tests_skipped += 1;
            tracing::info!(tenant = tenant.as_str(), dispatch = %dispatch.id, "test dispatch not published (testDispatches: skip)");
        }
        return Ok(());
    }
    let published = store.voltus_dispatch_events(tenant, &dispatch.id).await?;
    if dispatch.authorized {
        let program_id = ensure_program(store, bridge, dispatch).await?;
        for site in &dispatch.sites {
            let event = mapping::site_event(dispatch, site, &bridge.options, &program_id);
            if let Err(why) = Violations::check(&event) {
                counters.dispatches_malformed += 1;
                tracing::warn!(tenant = tenant.as_str(), dispatch = %dispatch.id, site = %site.id, %why, "skipping a site whose event would be invalid");
                continue;
            }
            let candidate = ObjectId::new_random();
            let event_id = store
                .reserve_voltus_event(tenant, &dispatch.id, &site.id, candidate.as_str())
                .await?;
            let event_id =
                ObjectId::parse(&event_id).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
            write_event(store, tenant, &event_id, event, counters).await?;
        }
        for (site_id, event_id) in &published {
            if !dispatch.sites.iter().any(|s| &s.id == site_id) {
                cancel_event(store, bridge, event_id, counters).await?;
            }
        }
    } else {
        for (_, event_id) in &published {
            cancel_event(store, bridge, event_id, counters).await?;
        }
    }
    let still_ours = store
        .mark_voltus_dispatch_applied(tenant, &dispatch.id, &state.fingerprint, fetched_at_ms)
        .await?;
    if !still_ours {
        // A newer version was claimed while these events were written (only when a lease ran
        // out): its events may now show this older one, so the next fetch applies it again.
        tracing::warn!(tenant = tenant.as_str(), dispatch = %dispatch.id, "a newer version of a Voltus dispatch was applied meanwhile; applying it again");
        store.reapply_voltus_dispatch(tenant, &dispatch.id).await?;
    }
    Ok(())
}

/// The id of the dispatch's program, created when missing.
async fn ensure_program(
    store: &DynStore,
    bridge: &TenantBridge,
    dispatch: &Dispatch,
) -> Result<ObjectId, ApiError> {
    let tenant = &bridge.tenant;
    let name = mapping::program_name(dispatch, &bridge.options);
    let parse =
        |id: String| ObjectId::parse(&id).map_err(|e| ApiError::internal(anyhow::anyhow!(e)));
    if let Some(id) = store.program_id_by_name(tenant, &name).await? {
        return parse(id);
    }
    match programs::create(store, tenant, mapping::program(dispatch, &bridge.options)).await {
        Ok(body) => {
            let created: Value = serde_json::from_str(&body).map_err(ApiError::internal)?;
            tracing::info!(tenant = tenant.as_str(), program = %name, "created a program for Voltus dispatches");
            parse(created["id"].as_str().unwrap_or_default().to_owned())
        }
        // Created meanwhile by a racing poll or webhook.
        Err(ApiError::Conflict(_)) => match store.program_id_by_name(tenant, &name).await? {
            Some(id) => parse(id),
            None => Err(ApiError::internal(anyhow::anyhow!(
                "program '{name}' vanished"
            ))),
        },
        Err(other) => Err(other),
    }
}

/// Creates the event with its reserved id, or replaces it when it exists.
async fn write_event(
    store: &DynStore,
    tenant: &TenantId,
    id: &ObjectId,
    event: Event,
    counters: &mut VoltusCounters,
) -> Result<(), ApiError> {
    match events::get(store, tenant, id).await {
        Ok(_) => {
            events::update(store, tenant, id, event).await?;
            counters.events_updated += 1;
        }
        Err(ApiError::NotFound(_)) => {
            match events::create_with_id(store, tenant, id.clone(), event.clone()).await {
                Ok(_) => counters.events_created += 1,
                // A racing writer created it first: bring it up to date.
                Err(ApiError::Conflict(_)) => {
                    events::update(store, tenant, id, event).await?;
                    counters.events_updated += 1;
                }
                Err(other) => return Err(other),
            }
        }
        Err(other) => return Err(other),
    }
    Ok(())
}

/// Cancels a published event as configured; nothing when it is gone or already cancelled.
async fn cancel_event(
    store: &DynStore,
    bridge: &TenantBridge,
    event_id: &str,
    counters: &mut VoltusCounters,
) -> Result<(), ApiError> {
    let tenant = &bridge.tenant;
    let id = ObjectId::parse(event_id).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let event: Event = match events::get(store, tenant, &id).await {
        Ok(body) => serde_json::from_str(&body).map_err(ApiError::internal)?,
        Err(ApiError::NotFound(_)) => return Ok(()),
        Err(other) => return Err(other),
    };
    if mapping::is_cancelled(&event) {
        return Ok(());
    }
    if bridge.cancellation == Cancellation::Delete {
        match events::delete(store, tenant, &id).await {
            Ok(_) | Err(ApiError::NotFound(_)) => {
                counters.events_cancelled += 1;
                return Ok(());
            }
            // Reports refer to it: cancel it in place instead.
            Err(ApiError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    events::update(store, tenant, &id, mapping::cancelled(event)).await?;
    counters.events_cancelled += 1;
    Ok(())
}
