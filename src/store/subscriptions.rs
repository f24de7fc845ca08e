//! Storage of subscriptions. Each is stored as the JSON the API returns, except that its bearer
//! tokens are split out and sealed (`bearer_tokens`, like the `signing_secret`): a database dump
//! yields neither. Next to it are the columns that filters and ownership need;
//! targets and subscribed object types go to side tables (`subscription_targets`,
//! `subscription_objects`). Every method takes the tenant first; `ven` (the VEN name of a VEN
//! client) restricts a call to the subscriptions that VEN owns.

use super::sealed::{SecretCipher, SUBSCRIPTION_BEARER_TOKENS, SUBSCRIPTION_SIGNING_SECRET};
use super::{Page, StoreResult, TargetFilter, TargetPairs};
use crate::domain::subscription::{merge_bearer_tokens, split_bearer_tokens};
use crate::domain::TenantId;
use async_trait::async_trait;

/// What to store for a subscription's `body`: the body without its bearer tokens (also what
/// its change notifications carry), and the tokens sealed to the row.
pub(crate) fn seal_body(
    secrets: &SecretCipher,
    tenant: &TenantId,
    id: &str,
    body: &str,
) -> (String, Option<String>) {
    let (stripped, tokens) = split_bearer_tokens(body);
    let aad = SUBSCRIPTION_BEARER_TOKENS.aad(&[tenant.as_str(), id]);
    (stripped, tokens.map(|tokens| secrets.seal(&aad, &tokens)))
}

/// The body as the API returns it to the owner, from what [`seal_body`] stored.
pub(crate) fn open_body(
    secrets: &SecretCipher,
    tenant: &str,
    id: &str,
    body: &str,
    sealed_tokens: Option<&str>,
) -> StoreResult<String> {
    let Some(sealed) = sealed_tokens else {
        return Ok(body.to_owned());
    };
    let tokens = secrets.open(&SUBSCRIPTION_BEARER_TOKENS.aad(&[tenant, id]), sealed)?;
    Ok(merge_bearer_tokens(body, Some(&tokens)))
}

pub(crate) fn seal_signing_secret(
    secrets: &SecretCipher,
    tenant: &TenantId,
    id: &str,
    secret: Option<&str>,
) -> Option<String> {
    let aad = SUBSCRIPTION_SIGNING_SECRET.aad(&[tenant.as_str(), id]);
    secret.map(|secret| secrets.seal(&aad, secret))
}

pub(crate) fn open_signing_secret(
    secrets: &SecretCipher,
    tenant: &str,
    id: &str,
    sealed: Option<&str>,
) -> StoreResult<Option<String>> {
    let aad = SUBSCRIPTION_SIGNING_SECRET.aad(&[tenant, id]);
    Ok(sealed.map(|s| secrets.open(&aad, s)).transpose()?)
}

/// One (objectOperations entry, object type, operation) of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribedObject {
    /// Position of the entry in `objectOperations`.
    pub op_index: i32,
    /// Wire name of the object type (`EVENT`, …).
    pub object_type: String,
    /// 3.0.1 spelling (`GET`, `POST`, `PUT`, `DELETE`), whichever spelling the client sent.
    pub operation: String,
    /// The entry's callback URL.
    pub callback_url: String,
}

pub struct SubscriptionRow {
    pub id: String,
    pub program_id: String,
    pub client_name: String,
    /// VEN name of the VEN client that created the subscription; `None` when business logic
    /// did. Set on insert only: an update keeps the owner.
    pub owner: Option<String>,
    pub targets: TargetPairs,
    pub objects: Vec<SubscribedObject>,
    /// Secret that signs deliveries; set on insert only (an update keeps it).
    pub signing_secret: Option<String>,
    /// The client that created the subscription (its deliveries' subscriber); set on insert
    /// only.
    pub client_id: Option<String>,
    /// The subscription exactly as the API returns it to its owner.
    pub body: String,
}

#[derive(Debug, Clone, Default)]
pub struct SubscriptionFilter {
    pub program_id: Option<String>,
    pub client_name: Option<String>,
    pub targets: TargetFilter,
    /// Subscriptions to any of these object types (wire names).
    pub objects: Vec<String>,
    /// Only subscriptions owned by this VEN (a VEN client's view).
    pub ven: Option<String>,
}

/// Every method sees only live subscriptions: those of a deleted program are retired (kept only
/// until they have heard of the deletion, see `Store::delete_program`).
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// `Reference` when the program does not exist in the tenant.
    async fn insert_subscription(
        &self,
        tenant: &TenantId,
        row: &SubscriptionRow,
    ) -> StoreResult<()>;
    async fn get_subscription(
        &self,
        tenant: &TenantId,
        id: &str,
        ven: Option<&str>,
    ) -> StoreResult<Option<String>>;
    async fn list_subscriptions(
        &self,
        tenant: &TenantId,
        filter: &SubscriptionFilter,
        page: Page,
    ) -> StoreResult<Vec<String>>;
    /// `false` when no such subscription (visible to the caller) exists; `Reference` when the
    /// program does not exist. Keeps the owner. Pending deliveries follow the change: those to a
    /// callback the subscription still has for their object type and operation stay (and become
    /// due now); the others are superseded by deliveries to the callbacks it has now.
    async fn update_subscription(
        &self,
        tenant: &TenantId,
        row: &SubscriptionRow,
        ven: Option<&str>,
    ) -> StoreResult<bool>;
    /// The signing secret of the subscription (visible to the caller), `None` when missing.
    async fn subscription_secret(
        &self,
        tenant: &TenantId,
        id: &str,
        ven: Option<&str>,
    ) -> StoreResult<Option<String>>;
    /// The deleted body, `None` when missing.
    async fn delete_subscription(
        &self,
        tenant: &TenantId,
        id: &str,
        ven: Option<&str>,
    ) -> StoreResult<Option<String>>;
}

/// The portable SQL of [`SubscriptionStore`], expanded once per backend next to `impl_store!`
/// (whose helpers it uses: `insert_targets`, `replace_targets`, `returning_seq`,
/// `push_target_filter`, `push_page`). `$share_lock` keeps the program a write names from being
/// deleted before the write commits (`FOR SHARE` on PostgreSQL; SQLite's single writer needs
/// none). Writes use `execute`/`fetch_all`, never `fetch_one` (see `SqliteStore`).
macro_rules! impl_subscription_store {
    ($store:ty, $db:ty, $share_lock:expr) => {
        mod subscription_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::store::{
                Page, StoreError, StoreResult, SubscribedObject, SubscriptionFilter, SubscriptionRow,
            };
            use sqlx::{QueryBuilder, Row};

            async fn replace_objects(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &TenantId,
                owner_seq: i64,
                objects: &[SubscribedObject],
            ) -> StoreResult<()> {
                sqlx::query("DELETE FROM subscription_objects WHERE owner_seq = $1")
                    .bind(owner_seq)
                    .execute(&mut *conn)
                    .await?;
                if objects.is_empty() {
                    return Ok(());
                }
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO subscription_objects (tenant_id, owner_seq, op_index, object_type, operation) ",
                );
                qb.push_values(objects, |mut row, o| {
                    row.push_bind(tenant.as_str())
                        .push_bind(owner_seq)
                        .push_bind(o.op_index)
                        .push_bind(o.object_type.as_str())
                        .push_bind(o.operation.as_str());
                });
                qb.build().execute(&mut *conn).await.map_err(StoreError::classify)?;
                Ok(())
            }

            /// `SELECT {column}` of one subscription of the tenant; with `ven`, only if it owns it.
            fn one_subscription<'a>(column: &str, tenant: &'a TenantId, id: &'a str, ven: Option<&'a str>) -> QueryBuilder<'a, $db> {
                let mut qb = QueryBuilder::new(format!(
                    "SELECT s.{column} FROM subscriptions s WHERE s.retired_by_change IS NULL AND s.tenant_id = "
                ));
                qb.push_bind(tenant.as_str()).push(" AND s.id = ").push_bind(id);
                if let Some(ven) = ven {
                    qb.push(" AND s.owner = ").push_bind(ven);
                }
                qb
            }

            /// `Reference` unless the program exists; it stays until the transaction ends.
            async fn require_program(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &TenantId,
                program_id: &str,
            ) -> StoreResult<()> {
                let found: Vec<i64> = sqlx::query_scalar(&format!(
                    "SELECT seq FROM programs WHERE tenant_id = $1 AND id = $2{}",
                    $share_lock
                ))
                .bind(tenant.as_str())
                .bind(program_id)
                .fetch_all(&mut *conn)
                .await?;
                if found.is_empty() {
                    return Err(StoreError::Reference);
                }
                Ok(())
            }

            /// Pending deliveries of the subscription follow its new callbacks (see
            /// `update_subscription`).
            async fn reroute_deliveries(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &TenantId,
                row: &SubscriptionRow,
            ) -> StoreResult<()> {
                let now_ms = chrono::Utc::now().timestamp_millis();
                let pending = sqlx::query(
                    "SELECT seq, change_seq, object_type, operation, object_id, callback_url, subscriber \
                     FROM deliveries WHERE tenant_id = $1 AND subscription_id = $2 AND state = 'pending' ORDER BY seq",
                )
                .bind(tenant.as_str())
                .bind(&row.id)
                .fetch_all(&mut *conn)
                .await?;
                let callbacks = |object_type: &str, operation: &str| -> Vec<&str> {
                    let mut urls: Vec<&str> = Vec::new();
                    for o in &row.objects {
                        if o.object_type == object_type && o.operation == operation && !urls.contains(&o.callback_url.as_str()) {
                            urls.push(&o.callback_url);
                        }
                    }
                    urls
                };
                // (change, url) already covered by a delivery that stays.
                let mut covered: Vec<(i64, String)> = Vec::new();
                let mut superseded: Vec<i64> = Vec::new();
                for d in &pending {
                    let (seq, change_seq): (i64, i64) = (d.get(0), d.get(1));
                    let (object_type, operation, url): (String, String, String) = (d.get(2), d.get(3), d.get(5));
                    if callbacks(&object_type, &operation).contains(&url.as_str()) {
                        covered.push((change_seq, url));
                    } else {
                        superseded.push(seq);
                    }
                }
                // Deliveries that stay are tried now, with the subscription as it is now.
                sqlx::query(
                    "UPDATE deliveries SET next_attempt_ms = $1 WHERE tenant_id = $2 AND subscription_id = $3 \
                     AND state = 'pending' AND next_attempt_ms > $4",
                )
                .bind(now_ms)
                .bind(tenant.as_str())
                .bind(&row.id)
                .bind(now_ms)
                .execute(&mut *conn)
                .await?;
                if superseded.is_empty() {
                    return Ok(());
                }
                // A delivery in flight keeps going, but its outcome is no longer recorded.
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "UPDATE deliveries SET state = 'superseded', lease_owner = NULL, lease_until_ms = NULL, \
                     next_attempt_ms = ",
                );
                qb.push_bind(now_ms).push(" WHERE seq IN (");
                let mut seqs = qb.separated(", ");
                for seq in &superseded {
                    seqs.push_bind(*seq);
                }
                qb.push(")");
                qb.build().execute(&mut *conn).await?;
                let mut replacements: Vec<(String, i64, String, String, String, String, String)> = Vec::new();
                for d in pending.iter().filter(|d| superseded.contains(&d.get::<i64, _>(0))) {
                    let change_seq: i64 = d.get(1);
                    let (object_type, operation, object_id, subscriber): (String, String, String, String) =
                        (d.get(2), d.get(3), d.get(4), d.get(6));
                    for url in callbacks(&object_type, &operation) {
                        let key = (change_seq, url.to_owned());
                        if covered.contains(&key) {
                            continue;
                        }
                        covered.push(key);
                        replacements.push((
                            uuid::Uuid::new_v4().to_string(),
                            change_seq,
                            object_type.clone(),
                            operation.clone(),
                            object_id.clone(),
                            url.to_owned(),
                            subscriber.clone(),
                        ));
                    }
                }
                if replacements.is_empty() {
                    return Ok(());
                }
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO deliveries (id, tenant_id, subscription_id, subscriber, change_seq, object_type, \
                     operation, object_id, callback_url, state, next_attempt_ms, created_at_ms) ",
                );
                qb.push_values(&replacements, |mut values, (id, change_seq, object_type, operation, object_id, url, subscriber)| {
                    values
                        .push_bind(id.as_str())
                        .push_bind(tenant.as_str())
                        .push_bind(row.id.as_str())
                        .push_bind(subscriber.as_str())
                        .push_bind(*change_seq)
                        .push_bind(object_type.as_str())
                        .push_bind(operation.as_str())
                        .push_bind(object_id.as_str())
                        .push_bind(url.as_str())
                        .push_bind("pending")
                        .push_bind(now_ms)
                        .push_bind(now_ms);
                });
                qb.build().execute(&mut *conn).await?;
                Ok(())
            }

            #[async_trait::async_trait]
            impl crate::store::SubscriptionStore for $store {
                async fn insert_subscription(&self, tenant: &TenantId, row: &SubscriptionRow) -> StoreResult<()> {
                    let (body, bearer_tokens) = crate::store::subscriptions::seal_body(&self.secrets, tenant, &row.id, &row.body);
                    let signing_secret = crate::store::subscriptions::seal_signing_secret(&self.secrets, tenant, &row.id, row.signing_secret.as_deref());
                    let mut tx = self.write.begin().await?;
                    require_program(&mut tx, tenant, &row.program_id).await?;
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO subscriptions (tenant_id, id, program_id, client_name, owner, signing_secret, client_id, body, bearer_tokens) VALUES (",
                    );
                    let mut values = qb.separated(", ");
                    values
                        .push_bind(tenant.as_str())
                        .push_bind(&row.id)
                        .push_bind(&row.program_id)
                        .push_bind(&row.client_name)
                        .push_bind(row.owner.as_deref())
                        .push_bind(signing_secret.as_deref())
                        .push_bind(row.client_id.as_deref())
                        .push_bind(&body)
                        .push_bind(bearer_tokens.as_deref());
                    qb.push(") RETURNING seq");
                    let seq = super::returning_seq(&mut tx, &mut qb)
                        .await?
                        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                    super::insert_targets(&mut tx, "subscription_targets", tenant, seq, &row.targets).await?;
                    replace_objects(&mut tx, tenant, seq, &row.objects).await?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "SUBSCRIPTION", operation: "POST", object_id: &row.id, owner: row.owner.as_deref(), body: &body }).await?;
                    tx.commit().await.map_err(StoreError::classify)?;
                    self.signal.notify_one();
                    Ok(())
                }

                async fn get_subscription(&self, tenant: &TenantId, id: &str, ven: Option<&str>) -> StoreResult<Option<String>> {
                    let rows = one_subscription("body, s.bearer_tokens", tenant, id, ven)
                        .build()
                        .fetch_all(&self.read)
                        .await?;
                    rows.first()
                        .map(|row| crate::store::subscriptions::open_body(&self.secrets, tenant.as_str(), id, row.get(0), row.get(1)))
                        .transpose()
                }

                async fn list_subscriptions(
                    &self,
                    tenant: &TenantId,
                    filter: &SubscriptionFilter,
                    page: Page,
                ) -> StoreResult<Vec<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT s.id, s.body, s.bearer_tokens FROM subscriptions s WHERE s.retired_by_change IS NULL AND s.tenant_id = ");
                    qb.push_bind(tenant.as_str());
                    if let Some(ven) = &filter.ven {
                        qb.push(" AND s.owner = ").push_bind(ven.as_str());
                    }
                    if let Some(program_id) = &filter.program_id {
                        qb.push(" AND s.program_id = ").push_bind(program_id.as_str());
                    }
                    if let Some(client_name) = &filter.client_name {
                        qb.push(" AND s.client_name = ").push_bind(client_name.as_str());
                    }
                    if !filter.objects.is_empty() {
                        qb.push(
                            " AND EXISTS (SELECT 1 FROM subscription_objects o WHERE o.owner_seq = s.seq \
                             AND o.object_type IN (",
                        );
                        let mut types = qb.separated(", ");
                        for object_type in &filter.objects {
                            types.push_bind(object_type.as_str());
                        }
                        qb.push("))");
                    }
                    super::push_target_filter(&mut qb, &filter.targets, "subscription_targets", "s");
                    super::push_page(&mut qb, "s", page);
                    let rows = qb.build().fetch_all(&self.read).await?;
                    rows.iter()
                        .map(|row| crate::store::subscriptions::open_body(&self.secrets, tenant.as_str(), row.get(0), row.get(1), row.get(2)))
                        .collect()
                }

                async fn update_subscription(
                    &self,
                    tenant: &TenantId,
                    row: &SubscriptionRow,
                    ven: Option<&str>,
                ) -> StoreResult<bool> {
                    let (body, bearer_tokens) = crate::store::subscriptions::seal_body(&self.secrets, tenant, &row.id, &row.body);
                    let mut tx = self.write.begin().await?;
                    require_program(&mut tx, tenant, &row.program_id).await?;
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE subscriptions SET program_id = ");
                    qb.push_bind(&row.program_id)
                        .push(", client_name = ")
                        .push_bind(&row.client_name)
                        .push(", body = ")
                        .push_bind(&body)
                        .push(", bearer_tokens = ")
                        .push_bind(bearer_tokens.as_deref())
                        .push(" WHERE tenant_id = ")
                        .push_bind(tenant.as_str())
                        .push(" AND id = ")
                        .push_bind(&row.id)
                        .push(" AND retired_by_change IS NULL");
                    if let Some(ven) = ven {
                        qb.push(" AND owner = ").push_bind(ven);
                    }
                    qb.push(" RETURNING seq, owner");
                    let rows = qb.build().fetch_all(&mut *tx).await.map_err(StoreError::classify)?;
                    let Some((seq, owner)) = rows.first().map(|r| (r.get::<i64, _>(0), r.get::<Option<String>, _>(1))) else {
                        return Ok(false);
                    };
                    super::replace_targets(&mut tx, "subscription_targets", tenant, seq, &row.targets).await?;
                    replace_objects(&mut tx, tenant, seq, &row.objects).await?;
                    reroute_deliveries(&mut tx, tenant, row).await?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "SUBSCRIPTION", operation: "PUT", object_id: &row.id, owner: owner.as_deref(), body: &body }).await?;
                    tx.commit().await.map_err(StoreError::classify)?;
                    self.signal.notify_one();
                    Ok(true)
                }

                async fn subscription_secret(
                    &self,
                    tenant: &TenantId,
                    id: &str,
                    ven: Option<&str>,
                ) -> StoreResult<Option<String>> {
                    let rows: Vec<Option<String>> = one_subscription("signing_secret", tenant, id, ven)
                        .build_query_scalar()
                        .fetch_all(&self.read)
                        .await?;
                    let sealed = rows.into_iter().next().flatten();
                    crate::store::subscriptions::open_signing_secret(&self.secrets, tenant.as_str(), id, sealed.as_deref())
                }

                async fn delete_subscription(
                    &self,
                    tenant: &TenantId,
                    id: &str,
                    ven: Option<&str>,
                ) -> StoreResult<Option<String>> {
                    // The tokens are read first: the deleted body is returned as the owner sees it.
                    let tokens: Vec<Option<String>> = one_subscription("bearer_tokens", tenant, id, ven)
                        .build_query_scalar()
                        .fetch_all(&self.write)
                        .await?;
                    let tokens = tokens.into_iter().next().flatten();
                    let deleted = super::delete_body(&self.write, &self.signal, crate::store::ObjectTable { table: "subscriptions", object_type: "SUBSCRIPTION", has_owner: true, live: " AND retired_by_change IS NULL" }, tenant, id, ven.map(|v| ("owner", v))).await?;
                    deleted
                        .map(|body| crate::store::subscriptions::open_body(&self.secrets, tenant.as_str(), id, &body, tokens.as_deref()))
                        .transpose()
                }
            }
        }
    };
}

pub(crate) use impl_subscription_store;
