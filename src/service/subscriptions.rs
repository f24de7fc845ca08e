//! Subscriptions, and who may see them.
//!
//! A business-logic client reads and writes every subscription of its tenant. A VEN client reads
//! and writes only the subscriptions it created, under its own VEN name as `clientName`; any
//! other subscription is "not found" to it. A subscription's `bearerToken` is a secret of its
//! owner: only the owner and the tenant's business logic can read subscriptions at all, and the
//! token is never logged.
//!
//! Callbacks are verified with the OpenADR `echo` challenge before a subscription is stored (on
//! update: the callbacks that changed). Delivery itself is `notify`'s: the stored body keeps
//! everything it needs, and each subscription has a secret that signs its deliveries.

use super::reports::{check_client_name, check_program_visible, ven_of};
use super::{from_stored, now, target_pairs, to_json};
use crate::auth::Principal;
use crate::domain::subscription::{object_type_name, Delivery, Subscription};
use crate::domain::{ObjectId, ObjectType};
use crate::error::ApiError;
use crate::notify::{signing, Webhooks};
use crate::store::{
    DeliveryRecord, DynStore, Page, StoreError, SubscribedObject, SubscriptionFilter,
    SubscriptionRow,
};

/// The stored form of a subscription: its JSON body and the columns queries filter on.
pub fn row(subscription: &Subscription, owner: Option<&str>) -> Result<SubscriptionRow, ApiError> {
    let mut objects: Vec<SubscribedObject> = Vec::new();
    for (i, entry) in subscription.object_operations.iter().enumerate() {
        for object in &entry.objects {
            for operation in &entry.operations {
                let o = SubscribedObject {
                    op_index: i as i32,
                    object_type: object_type_name(*object).to_owned(),
                    operation: operation.canonical().to_owned(),
                    callback_url: entry.callback_url.clone(),
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
        signing_secret: None,
        client_id: None,
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
    webhooks: &Webhooks,
    caller: &Principal,
    mut subscription: Subscription,
) -> Result<String, ApiError> {
    let ven = ven_of(caller);
    check_client_name(ven, &subscription.client_name)?;
    check_program_visible(store, caller, &subscription.program_id).await?;
    webhooks.verify_subscription(&subscription, None).await?;
    let now = now();
    subscription.id = Some(ObjectId::new_random());
    subscription.created_date_time = Some(now);
    subscription.modification_date_time = Some(now);
    subscription.object_type = Some(ObjectType::Subscription);
    let mut row = row(&subscription, ven)?;
    row.signing_secret = Some(signing::new_secret());
    row.client_id = Some(caller.client_id.clone());
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
    webhooks: &Webhooks,
    caller: &Principal,
    id: &ObjectId,
    mut subscription: Subscription,
) -> Result<String, ApiError> {
    let ven = ven_of(caller);
    let existing: Subscription = from_stored(&get(store, caller, id).await?)?;
    check_client_name(ven, &subscription.client_name)?;
    check_program_visible(store, caller, &subscription.program_id).await?;
    webhooks
        .verify_subscription(&subscription, Some(&existing))
        .await?;
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

/// The secret that signs the subscription's deliveries, for its owner (or business logic).
pub async fn signing_secret(
    store: &DynStore,
    caller: &Principal,
    id: &ObjectId,
) -> Result<String, ApiError> {
    store
        .subscription_secret(&caller.tenant, id.as_str(), ven_of(caller))
        .await?
        .ok_or_else(|| ApiError::not_found("subscription", id.as_str()))
}

/// Recent deliveries of the subscription, newest first, for whoever may read it.
pub async fn deliveries(
    store: &DynStore,
    caller: &Principal,
    id: &ObjectId,
    page: Page,
) -> Result<Vec<Delivery>, ApiError> {
    // The same visibility as GET: another VEN's subscription is "not found".
    get(store, caller, id).await?;
    let records = store
        .list_deliveries(&caller.tenant, id.as_str(), page)
        .await?;
    Ok(records.into_iter().map(delivery).collect())
}

fn delivery(record: DeliveryRecord) -> Delivery {
    let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    Delivery {
        id: record.id,
        object_type: record.object_type,
        operation: record.operation,
        object_id: record.object_id,
        callback_url: record.callback_url,
        state: record.state,
        attempts: record.attempts,
        last_status: record.last_status,
        last_error: record.last_error,
        created_date_time: time(record.created_at_ms),
        last_attempt_date_time: record.last_attempt_ms.map(time),
        next_attempt_date_time: record.next_attempt_ms.map(time),
        delivered_date_time: record.delivered_at_ms.map(time),
    }
}
