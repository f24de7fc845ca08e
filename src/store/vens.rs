//! Storage of VENs and their resources, and what a VEN client may see of programs and events.
//!
//! Like programs and events, each object is stored as the exact JSON the API returns, next to the
//! columns that filters, uniqueness and VEN visibility need; targets go to side tables
//! (`ven_targets`, `resource_targets`). Every method takes the tenant first.

use super::{Page, StoreResult, TargetFilter, TargetPairs};
use crate::domain::TenantId;
use async_trait::async_trait;

pub struct VenRow {
    pub id: String,
    pub ven_name: String,
    pub targets: TargetPairs,
    /// Whether business logic writes it. Only business logic may write the targets the server
    /// derives from Energy Coordination meters (`METER_POINT_ID`, `LOCATION_ID`) itself, and only
    /// on a VEN without meters; otherwise the store derives them.
    pub by_business_logic: bool,
    /// The VEN exactly as the API returns it.
    pub body: String,
}

pub struct ResourceRow {
    pub id: String,
    pub ven_id: String,
    pub resource_name: String,
    pub targets: TargetPairs,
    /// Whether business logic writes it. A resource business logic created or wrote is approved:
    /// its name addresses its VEN (`RESOURCE_NAME`). A VEN client's write keeps the approval
    /// while the name stays, and withdraws it on a rename.
    pub by_business_logic: bool,
    /// The resource exactly as the API returns it.
    pub body: String,
}

#[derive(Debug, Clone, Default)]
pub struct VenFilter {
    /// `venName` query filter.
    pub ven_name: Option<String>,
    /// Only the VEN of this name: a VEN client sees nothing but its own VEN.
    pub owner: Option<String>,
    pub targets: TargetFilter,
}

#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// `resourceName` query filter.
    pub resource_name: Option<String>,
    pub targets: TargetFilter,
}

/// What a VEN client may see of programs and events: those without targets, and those with a
/// target that addresses its VEN (see [`crate::domain::audience`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenVisibility {
    pub ven_name: String,
}

#[async_trait]
pub trait VenStore: Send + Sync {
    /// `Duplicate` when the VEN name is taken in the tenant.
    async fn insert_ven(&self, tenant: &TenantId, row: &VenRow) -> StoreResult<()>;
    /// With `owner`, only when the VEN has that name.
    async fn get_ven(
        &self,
        tenant: &TenantId,
        id: &str,
        owner: Option<&str>,
    ) -> StoreResult<Option<String>>;
    async fn list_vens(
        &self,
        tenant: &TenantId,
        filter: &VenFilter,
        page: Page,
    ) -> StoreResult<Vec<String>>;
    /// The VEN as stored; `None` when no such VEN (with `owner`: of that name) exists;
    /// `Duplicate` on a taken name. A VEN with Energy Coordination meters keeps the targets
    /// derived from them (`METER_POINT_ID`, `LOCATION_ID`), whatever the body says: the server
    /// owns those; a VEN client's write never sets them.
    async fn update_ven(
        &self,
        tenant: &TenantId,
        row: &VenRow,
        owner: Option<&str>,
    ) -> StoreResult<Option<String>>;
    /// Deletes the VEN and its resources; the deleted body, `None` when missing.
    async fn delete_ven(
        &self,
        tenant: &TenantId,
        id: &str,
        owner: Option<&str>,
    ) -> StoreResult<Option<String>>;

    /// `Reference` when the VEN does not exist; `Duplicate` when the name is taken in the VEN.
    async fn insert_resource(&self, tenant: &TenantId, row: &ResourceRow) -> StoreResult<()>;
    async fn get_resource(
        &self,
        tenant: &TenantId,
        ven_id: &str,
        id: &str,
    ) -> StoreResult<Option<String>>;
    async fn list_resources(
        &self,
        tenant: &TenantId,
        ven_id: &str,
        filter: &ResourceFilter,
        page: Page,
    ) -> StoreResult<Vec<String>>;
    /// The resource as stored; `None` when no such resource exists in the VEN; `Duplicate` on a
    /// taken name. An Energy Coordination asset keeps the meter targets of its user, whatever
    /// the body says, and a VEN client's write never sets `METER_POINT_ID` or `LOCATION_ID`.
    async fn update_resource(
        &self,
        tenant: &TenantId,
        row: &ResourceRow,
    ) -> StoreResult<Option<String>>;
    async fn delete_resource(
        &self,
        tenant: &TenantId,
        ven_id: &str,
        id: &str,
    ) -> StoreResult<Option<String>>;
}

/// The portable SQL of [`VenStore`], expanded once per backend next to `impl_store!` (whose
/// helpers it uses: `insert_targets`, `replace_targets`, `returning_seq`, `push_target_filter`,
/// `push_page`). `$lock` locks the VEN row a VEN update reads (`FOR UPDATE` on PostgreSQL; the
/// single SQLite writer serialises writes by itself). Writes use `execute`/`fetch_all`, never
/// `fetch_one` (see `SqliteStore`).
macro_rules! impl_ven_store {
    ($store:ty, $db:ty, $lock:expr) => {
        mod ven_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::store::{
                Page, ResourceFilter, ResourceRow, StoreError, StoreResult, VenFilter, VenRow,
            };
            use sqlx::{QueryBuilder, Row};

            #[async_trait::async_trait]
            impl crate::store::VenStore for $store {
                async fn insert_ven(&self, tenant: &TenantId, row: &VenRow) -> StoreResult<()> {
                    let mut tx = self.write.begin().await?;
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("INSERT INTO vens (tenant_id, id, ven_name, body) VALUES (");
                    let mut values = qb.separated(", ");
                    values
                        .push_bind(tenant.as_str())
                        .push_bind(&row.id)
                        .push_bind(&row.ven_name)
                        .push_bind(&row.body);
                    qb.push(") RETURNING seq");
                    let seq = super::returning_seq(&mut tx, &mut qb)
                        .await?
                        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                    super::insert_targets(&mut tx, "ven_targets", tenant, seq, &row.targets).await?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "VEN", operation: "POST", object_id: &row.id, owner: None, body: &row.body }).await?;
                    tx.commit().await?;
                    self.signal.notify_one();
                    Ok(())
                }

                async fn get_ven(
                    &self,
                    tenant: &TenantId,
                    id: &str,
                    owner: Option<&str>,
                ) -> StoreResult<Option<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT v.body FROM vens v WHERE v.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND v.id = ").push_bind(id);
                    if let Some(owner) = owner {
                        qb.push(" AND v.ven_name = ").push_bind(owner);
                    }
                    let rows: Vec<String> = qb.build_query_scalar().fetch_all(&self.read).await?;
                    Ok(rows.into_iter().next())
                }

                async fn list_vens(
                    &self,
                    tenant: &TenantId,
                    filter: &VenFilter,
                    page: Page,
                ) -> StoreResult<Vec<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT v.body FROM vens v WHERE v.tenant_id = ");
                    qb.push_bind(tenant.as_str());
                    if let Some(owner) = &filter.owner {
                        qb.push(" AND v.ven_name = ").push_bind(owner.as_str());
                    }
                    if let Some(name) = &filter.ven_name {
                        qb.push(" AND v.ven_name = ").push_bind(name.as_str());
                    }
                    super::push_target_filter(&mut qb, &filter.targets, "ven_targets", "v");
                    super::push_page(&mut qb, "v", page);
                    Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
                }

                async fn update_ven(
                    &self,
                    tenant: &TenantId,
                    row: &VenRow,
                    owner: Option<&str>,
                ) -> StoreResult<Option<String>> {
                    let mut tx = self.write.begin().await?;
                    // Lock the VEN first, as Energy Coordination writes do, so that a meter written
                    // meanwhile cannot be missing from the targets derived below.
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT v.ven_name FROM vens v WHERE v.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND v.id = ").push_bind(&row.id);
                    if let Some(owner) = owner {
                        qb.push(" AND v.ven_name = ").push_bind(owner);
                    }
                    qb.push($lock);
                    let names: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                    let Some(current_name) = names.into_iter().next() else {
                        return Ok(None);
                    };
                    let meters: Vec<String> = sqlx::query_scalar(
                        "SELECT body FROM ec_meters WHERE tenant_id = $1 AND ven_name = $2 ORDER BY seq",
                    )
                    .bind(tenant.as_str())
                    .bind(&current_name)
                    .fetch_all(&mut *tx)
                    .await?;
                    let derived = if meters.is_empty() && row.by_business_logic {
                        None
                    } else {
                        crate::domain::energy::with_meter_targets::<crate::domain::Ven>(&row.body, &meters, None)
                            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?
                    };
                    let (body, targets) = match &derived {
                        Some(rewritten) => (&rewritten.body, &rewritten.targets),
                        None => (&row.body, &row.targets),
                    };
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE vens SET ven_name = ");
                    qb.push_bind(&row.ven_name)
                        .push(", body = ")
                        .push_bind(body)
                        .push(" WHERE tenant_id = ")
                        .push_bind(tenant.as_str())
                        .push(" AND id = ")
                        .push_bind(&row.id)
                        .push(" RETURNING seq");
                    let Some(seq) = super::returning_seq(&mut tx, &mut qb).await? else {
                        return Ok(None);
                    };
                    super::replace_targets(&mut tx, "ven_targets", tenant, seq, targets).await?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "VEN", operation: "PUT", object_id: &row.id, owner: None, body }).await?;
                    tx.commit().await?;
                    self.signal.notify_one();
                    Ok(Some(body.clone()))
                }

                async fn delete_ven(
                    &self,
                    tenant: &TenantId,
                    id: &str,
                    owner: Option<&str>,
                ) -> StoreResult<Option<String>> {
                    // Its resources (and all target rows) go with it: ON DELETE CASCADE.
                    super::delete_body(&self.write, &self.signal, crate::store::ObjectTable { table: "vens", object_type: "VEN", has_owner: false, live: "" }, tenant, id, owner.map(|v| ("ven_name", v))).await
                }

                async fn insert_resource(&self, tenant: &TenantId, row: &ResourceRow) -> StoreResult<()> {
                    let mut tx = self.write.begin().await?;
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO resources (tenant_id, id, ven_id, resource_name, approved, body) VALUES (",
                    );
                    let mut values = qb.separated(", ");
                    values
                        .push_bind(tenant.as_str())
                        .push_bind(&row.id)
                        .push_bind(&row.ven_id)
                        .push_bind(&row.resource_name)
                        .push_bind(row.by_business_logic)
                        .push_bind(&row.body);
                    qb.push(") RETURNING seq");
                    let seq = super::returning_seq(&mut tx, &mut qb)
                        .await?
                        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                    super::insert_targets(&mut tx, "resource_targets", tenant, seq, &row.targets).await?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "RESOURCE", operation: "POST", object_id: &row.id, owner: None, body: &row.body }).await?;
                    tx.commit().await?;
                    self.signal.notify_one();
                    Ok(())
                }

                async fn get_resource(
                    &self,
                    tenant: &TenantId,
                    ven_id: &str,
                    id: &str,
                ) -> StoreResult<Option<String>> {
                    let rows: Vec<String> = sqlx::query_scalar(
                        "SELECT body FROM resources WHERE tenant_id = $1 AND ven_id = $2 AND id = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(ven_id)
                    .bind(id)
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows.into_iter().next())
                }

                async fn list_resources(
                    &self,
                    tenant: &TenantId,
                    ven_id: &str,
                    filter: &ResourceFilter,
                    page: Page,
                ) -> StoreResult<Vec<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT r.body FROM resources r WHERE r.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND r.ven_id = ").push_bind(ven_id);
                    if let Some(name) = &filter.resource_name {
                        qb.push(" AND r.resource_name = ").push_bind(name.as_str());
                    }
                    super::push_target_filter(&mut qb, &filter.targets, "resource_targets", "r");
                    super::push_page(&mut qb, "r", page);
                    Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
                }

                async fn update_resource(&self, tenant: &TenantId, row: &ResourceRow) -> StoreResult<Option<String>> {
                    let mut tx = self.write.begin().await?;
                    // Lock the VEN first, as Energy Coordination writes do, so that a meter written
                    // meanwhile cannot be missing from the targets derived below.
                    let locked: Vec<i64> = sqlx::query_scalar(&format!(
                        "SELECT seq FROM vens WHERE tenant_id = $1 AND id = $2{}",
                        $lock
                    ))
                    .bind(tenant.as_str())
                    .bind(&row.ven_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    if locked.is_empty() {
                        return Ok(None);
                    }
                    // An Energy Coordination asset carries its user's meter targets; any other
                    // resource keeps what business logic wrote, and a VEN client writes none.
                    let asset: Vec<String> = sqlx::query_scalar(
                        "SELECT user_id FROM ec_assets WHERE tenant_id = $1 AND resource_id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(&row.id)
                    .fetch_all(&mut *tx)
                    .await?;
                    let meters: Vec<String> = match asset.first() {
                        Some(user_id) => sqlx::query_scalar(
                            "SELECT m.body FROM ec_meters m JOIN ec_assets a ON a.tenant_id = m.tenant_id \
                             AND a.ven_name = m.ven_name AND a.user_id = m.user_id \
                             WHERE a.tenant_id = $1 AND a.resource_id = $2 AND m.user_id = $3 ORDER BY m.seq",
                        )
                        .bind(tenant.as_str())
                        .bind(&row.id)
                        .bind(user_id)
                        .fetch_all(&mut *tx)
                        .await?,
                        None => Vec::new(),
                    };
                    let derived = if asset.is_empty() && row.by_business_logic {
                        None
                    } else {
                        crate::domain::energy::with_meter_targets::<crate::domain::Resource>(&row.body, &meters, None)
                            .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?
                    };
                    let (body, targets) = match &derived {
                        Some(rewritten) => (&rewritten.body, &rewritten.targets),
                        None => (&row.body, &row.targets),
                    };
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("UPDATE resources SET approved = ");
                    // SET expressions see the row as it was: a rename by a VEN client withdraws
                    // the approval, a write by business logic grants it.
                    if row.by_business_logic {
                        qb.push("TRUE");
                    } else {
                        qb.push("(approved AND resource_name = ").push_bind(&row.resource_name).push(")");
                    }
                    qb.push(", resource_name = ")
                        .push_bind(&row.resource_name)
                        .push(", body = ")
                        .push_bind(body)
                        .push(" WHERE tenant_id = ")
                        .push_bind(tenant.as_str())
                        .push(" AND ven_id = ")
                        .push_bind(&row.ven_id)
                        .push(" AND id = ")
                        .push_bind(&row.id)
                        .push(" RETURNING seq");
                    let Some(seq) = super::returning_seq(&mut tx, &mut qb).await? else {
                        return Ok(None);
                    };
                    super::replace_targets(&mut tx, "resource_targets", tenant, seq, targets).await?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "RESOURCE", operation: "PUT", object_id: &row.id, owner: None, body }).await?;
                    tx.commit().await?;
                    self.signal.notify_one();
                    Ok(Some(body.clone()))
                }

                async fn delete_resource(
                    &self,
                    tenant: &TenantId,
                    ven_id: &str,
                    id: &str,
                ) -> StoreResult<Option<String>> {
                    let mut tx = self.write.begin().await?;
                    let rows = sqlx::query(
                        "DELETE FROM resources WHERE tenant_id = $1 AND ven_id = $2 AND id = $3 RETURNING body",
                    )
                    .bind(tenant.as_str())
                    .bind(ven_id)
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(StoreError::classify)?;
                    let Some(body) = rows.first().map(|row| row.get::<String, _>(0)) else {
                        return Ok(None);
                    };
                    super::record_change(
                        &mut tx,
                        tenant,
                        crate::store::Change { object_type: "RESOURCE", operation: "DELETE", object_id: id, owner: None, body: &body },
                    )
                    .await?;
                    tx.commit().await?;
                    self.signal.notify_one();
                    Ok(Some(body))
                }
            }
        }
    };
}

pub(crate) use impl_ven_store;
