//! Which subscriptions hear of a change, and at which callback URLs.
//!
//! A subscription matches a change when all of these hold:
//! - one of its `objectOperations` entries lists the object type and the operation (either
//!   spelling; changes are recorded in the 3.0.1 spelling);
//! - the object belongs to the subscription's program: the program itself, or an event, report
//!   or subscription whose `programID` is it. VENs and resources belong to no program, so this
//!   rule does not apply to them;
//! - when the subscription has `targets`, the object carries no targets (it addresses everyone
//!   its program addresses) or one of them equals one of the subscription's. Reports and
//!   subscriptions have no targets of their own and are not filtered by them;
//! - its owner may read the object: business logic reads everything of its tenant; a VEN client
//!   reads exactly what `GET` would return it (see the README, "Who sees what"). This is decided
//!   with the object as it was at the change, and the VEN as it is at fan-out.
//!
//! Each matching entry yields one delivery per distinct callback URL.

use crate::domain::audience::VenAudience;
use crate::domain::common::target_pairs;
use crate::domain::common::ValuesMap;
use crate::domain::subscription::{object_type_name, Subscription};
use crate::store::{ChangeRecord, DynStore, NewDelivery, StoreResult, TargetPairs};
use serde::Deserialize;

/// The fields of a changed object that matching needs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectFacts {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "programID")]
    program_id: Option<String>,
    #[serde(default)]
    targets: Option<Vec<ValuesMap>>,
    #[serde(default)]
    ven_name: Option<String>,
    #[serde(default, rename = "venID")]
    ven_id: Option<String>,
}

#[derive(Deserialize)]
struct NotificationFacts {
    object: ObjectFacts,
}

/// Everything the fan-out of one change needs from the store, loaded once per change.
pub struct FanOut<'a> {
    store: &'a DynStore,
    change: &'a ChangeRecord,
    object: ObjectFacts,
    object_targets: TargetPairs,
}

impl<'a> FanOut<'a> {
    pub fn new(store: &'a DynStore, change: &'a ChangeRecord) -> Self {
        // A notification the store wrote itself always parses; should it not, no subscriber
        // can be matched safely and the change yields no deliveries.
        let object = serde_json::from_str::<NotificationFacts>(&change.notification)
            .map(|n| n.object)
            .unwrap_or_default();
        let object_targets = target_pairs(&object.targets);
        Self {
            store,
            change,
            object,
            object_targets,
        }
    }

    fn program_of_object(&self) -> Option<&str> {
        match self.change.object_type.as_str() {
            "PROGRAM" => self.object.id.as_deref(),
            "VEN" | "RESOURCE" => None,
            _ => self.object.program_id.as_deref(),
        }
    }

    fn has_own_targets(&self) -> bool {
        matches!(
            self.change.object_type.as_str(),
            "PROGRAM" | "EVENT" | "VEN" | "RESOURCE"
        )
    }

    /// Whether the VEN named `ven_name` may read the changed object.
    async fn ven_may_read(&self, ven_name: &str) -> StoreResult<bool> {
        let tenant = &self.change.tenant;
        let kind = self.change.object_type.as_str();
        if matches!(kind, "REPORT" | "SUBSCRIPTION") {
            return Ok(self.change.owner.as_deref() == Some(ven_name));
        }
        if kind == "VEN" {
            return Ok(self.object.ven_name.as_deref() == Some(ven_name));
        }
        // A VEN client whose VEN is not registered yet still sees what names it (VEN_NAME).
        let ven = self
            .store
            .ven_audience(tenant, ven_name)
            .await?
            .unwrap_or_else(|| VenAudience::unregistered(ven_name));
        Ok(match kind {
            "RESOURCE" => {
                !ven.ven_id.is_empty() && self.object.ven_id.as_deref() == Some(&ven.ven_id)
            }
            "PROGRAM" => {
                self.object_targets.is_empty() || ven.is_addressed_by(&self.object_targets)
            }
            "EVENT" => {
                if !self.object_targets.is_empty() {
                    ven.is_addressed_by(&self.object_targets)
                } else {
                    // An untargeted event addresses whoever its program addresses.
                    match self.object.program_id.as_deref() {
                        Some(program) => match self.store.program_targets(tenant, program).await? {
                            Some(targets) => targets.is_empty() || ven.is_addressed_by(&targets),
                            None => false,
                        },
                        None => false,
                    }
                }
            }
            _ => false,
        })
    }

    /// The deliveries of the change: one per matching subscription entry and callback URL.
    pub async fn deliveries(&self) -> StoreResult<Vec<NewDelivery>> {
        let change = self.change;
        let candidates = self
            .store
            .subscription_candidates(
                &change.tenant,
                &change.object_type,
                &change.operation,
                change.seq,
            )
            .await?;
        let mut deliveries: Vec<NewDelivery> = Vec::new();
        for candidate in candidates {
            let Ok(subscription) = serde_json::from_str::<Subscription>(&candidate.body) else {
                tracing::warn!(subscription = %candidate.id, "stored subscription does not parse; skipped");
                continue;
            };
            if let Some(program) = self.program_of_object() {
                if subscription.program_id.as_str() != program {
                    continue;
                }
            }
            let wanted = target_pairs(&subscription.targets);
            if !wanted.is_empty()
                && self.has_own_targets()
                && !self.object_targets.is_empty()
                && !self.object_targets.iter().any(|t| wanted.contains(t))
            {
                continue;
            }
            if let Some(ven_name) = &candidate.owner {
                if !self.ven_may_read(ven_name).await? {
                    continue;
                }
            }
            for entry in &subscription.object_operations {
                let lists_object = entry
                    .objects
                    .iter()
                    .any(|o| object_type_name(*o) == change.object_type);
                let lists_operation = entry
                    .operations
                    .iter()
                    .any(|o| o.canonical() == change.operation);
                let already = deliveries.iter().any(|d| {
                    d.subscription_id == candidate.id && d.callback_url == entry.callback_url
                });
                if lists_object && lists_operation && !already {
                    deliveries.push(NewDelivery {
                        id: uuid::Uuid::new_v4().to_string(),
                        subscription_id: candidate.id.clone(),
                        subscriber: candidate.subscriber.clone(),
                        callback_url: entry.callback_url.clone(),
                    });
                }
            }
        }
        Ok(deliveries)
    }
}
