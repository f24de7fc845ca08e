//! Subscriptions, and who may see them.
//!
//! A business-logic client reads and writes every subscription of its tenant. A VEN client reads
//! and writes only the subscriptions it created, under its own VEN name as `clientName`; any
//! other subscription is "not found" to it. A subscription's `bearerToken` is a secret of its
//! owner: only the owner and the tenant's business logic can read subscriptions at all, and the
//! token is never logged.
//!
//! Webhook delivery is not done here; the stored body keeps everything delivery needs.

use super::reports::{check_client_name, check_program_visible, ven_of};
use super::{from_stored, now, target_pairs, to_json};
use crate::auth::Principal;
use crate::domain::subscription::{object_type_name, Subscription};
use crate::domain::{ObjectId, ObjectType};
use crate::error::ApiError;
use crate::store::{
    DynStore, Page, StoreError, SubscribedObject, SubscriptionFilter, SubscriptionRow,
};

fn row(subscription: &Subscription, owner: Option<&str>) -> Result<SubscriptionRow, ApiError> {
    let mut objects: Vec<SubscribedObject> = Vec::new();
    for (i, entry) in subscription.object_operations.iter().enumerate() {
        for object in &entry.objects {
            for operation in &entry.operations {
                let o = SubscribedObject {
                    op_index: i as i32,
                    object_type: object_type_name(*object).to_owned(),
                    operation: operation.canonical().to_owned(),
                };
                if !objects.contains(&o) {
                    objects.push(o);
                }
            }
        }
    }
    Ok(SubscriptionRow {
        id: subscription
            .id
            .as_ref()
            .map(ObjectId::to_string)
            .unwrap_or_default(),
        program_id: subscription.program_id.to_string(),
        client_name: subscription.client_name.clone(),
        owner: owner.map(str::to_owned),
        targets: target_pairs(&subscription.targets),
        objects,
        body: to_json(subscription)?,
    })
}

fn unknown_program(subscription: &Subscription) -> impl FnOnce(StoreError) -> ApiError + '_ {
    move |e| match e {
        StoreError::Reference => ApiError::bad_request(format!(
            "programID: program '{}' does not exist",
            subscription.program_id
        )),
        other => other.into(),
    }
}

pub async fn create(
    store: &DynStore,
    caller: &Principal,
    mut subscription: Subscription,
) -> Result<String, ApiError> {
    let ven = ven_of(caller);
    check_client_name(ven, &subscription.client_name)?;
    check_program_visible(store, caller, &subscription.program_id).await?;
    let now = now();
    subscription.id = Some(ObjectId::new_random());
    subscription.created_date_time = Some(now);
    subscription.modification_date_time = Some(now);
    subscription.object_type = Some(ObjectType::Subscription);
    let row = row(&subscription, ven)?;
    store
        .insert_subscription(&caller.tenant, &row)
        .await
        .map_err(unknown_program(&subscription))?;
    Ok(row.body)
}

pub async fn get(store: &DynStore, caller: &Principal, id: &ObjectId) -> Result<String, ApiError> {
    store
        .get_subscription(&caller.tenant, id.as_str(), ven_of(caller))
        .await?
        .ok_or_else(|| ApiError::not_found("subscription", id.as_str()))
}

pub async fn list(
    store: &DynStore,
    caller: &Principal,
    mut filter: SubscriptionFilter,
    page: Page,
) -> Result<Vec<String>, ApiError> {
    filter.ven = ven_of(caller).map(str::to_owned);
    Ok(store
        .list_subscriptions(&caller.tenant, &filter, page)
        .await?)
}

/// Replaces the subscription; `id`, `createdDateTime` and the owner are kept,
/// `modificationDateTime` renewed.
pub async fn update(
    store: &DynStore,
    caller: &Principal,
    id: &ObjectId,
    mut subscription: Subscription,
) -> Result<String, ApiError> {
    let ven = ven_of(caller);
    let existing: Subscription = from_stored(&get(store, caller, id).await?)?;
    check_client_name(ven, &subscription.client_name)?;
    check_program_visible(store, caller, &subscription.program_id).await?;
    subscription.id = Some(id.clone());
    subscription.created_date_time = existing.created_date_time;
    subscription.modification_date_time = Some(now());
    subscription.object_type = Some(ObjectType::Subscription);
    let row = row(&subscription, None)?;
    let updated = store
        .update_subscription(&caller.tenant, &row, ven)
        .await
        .map_err(unknown_program(&subscription))?;
    if !updated {
        return Err(ApiError::not_found("subscription", id.as_str()));
    }
    Ok(row.body)
}

pub async fn delete(
    store: &DynStore,
    caller: &Principal,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .delete_subscription(&caller.tenant, id.as_str(), ven_of(caller))
        .await?
        .ok_or_else(|| ApiError::not_found("subscription", id.as_str()))
}
