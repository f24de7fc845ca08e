//! Storage of the Energy Coordination API: users of a service provider, their meters, and the
//! link from a partner's vehicle or resource id to the OpenADR resource that represents it.
//!
//! Every method takes the tenant and the service provider's VEN name first: one service provider
//! never reads another's users. The assets themselves are OpenADR resources, written only through
//! [`super::VenStore`]; `ec_assets` rows go with their resource (ON DELETE CASCADE).

use super::{Page, ResourceRow, StoreResult};
use crate::domain::common::ValuesMap;
use crate::domain::TenantId;
use async_trait::async_trait;

pub struct MeterRow {
    pub id: String,
    pub user_id: String,
    pub meter_point_id: String,
    /// The meter exactly as the API returns it.
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct AssetRow {
    /// The partner's vehicleId or resourceId (also the OpenADR resourceName).
    pub id: String,
    pub user_id: String,
    /// `vehicle` or `resource`.
    pub kind: String,
    pub vin: Option<String>,
    /// The OpenADR resource's id.
    pub resource_id: String,
    /// The asset exactly as the API returns it.
    pub body: String,
}

/// An asset registered under the same id or VIN, found for a 409.
#[derive(Debug, Clone)]
pub struct AssetOwner {
    pub ven_name: String,
    pub kind: String,
    pub id: String,
}

#[async_trait]
pub trait EnergyStore: Send + Sync {
    /// `Duplicate` when the VEN already has a user with this id.
    async fn insert_ec_user(
        &self,
        tenant: &TenantId,
        ven: &str,
        id: &str,
        body: &str,
    ) -> StoreResult<()>;
    async fn get_ec_user(
        &self,
        tenant: &TenantId,
        ven: &str,
        id: &str,
    ) -> StoreResult<Option<String>>;
    async fn list_ec_users(
        &self,
        tenant: &TenantId,
        ven: &str,
        page: Page,
    ) -> StoreResult<Vec<String>>;

    async fn get_meter(
        &self,
        tenant: &TenantId,
        ven: &str,
        user_id: &str,
        id: &str,
    ) -> StoreResult<Option<String>>;
    /// Meters of one user (or, with `None`, of the whole VEN) in creation order.
    async fn list_meters(
        &self,
        tenant: &TenantId,
        ven: &str,
        user_id: Option<&str>,
        page: Option<Page>,
    ) -> StoreResult<Vec<String>>;
    /// The VEN and meter id under which a meter point is registered in the tenant.
    async fn find_meter_point(
        &self,
        tenant: &TenantId,
        meter_point_id: &str,
    ) -> StoreResult<Option<(String, String)>>;

    /// By partner id; with `kind`, only an asset of that kind.
    async fn get_asset(
        &self,
        tenant: &TenantId,
        ven: &str,
        user_id: Option<&str>,
        kind: Option<&str>,
        id: &str,
    ) -> StoreResult<Option<AssetRow>>;
    async fn list_assets(
        &self,
        tenant: &TenantId,
        ven: &str,
        user_id: &str,
        kind: Option<&str>,
        page: Option<Page>,
    ) -> StoreResult<Vec<AssetRow>>;
    /// An asset of the tenant (any VEN) with this id, or this VIN.
    async fn find_asset(
        &self,
        tenant: &TenantId,
        id: &str,
        vin: Option<&str>,
    ) -> StoreResult<Option<AssetOwner>>;

    /// Applies one write in one transaction, together with what it implies for the OpenADR
    /// objects underneath: the resources of the user's vehicles and resources carry the targets
    /// of the user's meters, and the VEN those of all its users' meters (their other targets are
    /// kept); every OpenADR object changed records its notification. The transaction first locks
    /// the VEN's row (on SQLite the single writer connection serialises writes), so concurrent
    /// writes of one VEN see each other's meters and never undo each other's targets.
    ///
    /// Returns the meter, asset or user written or deleted; `None` when it does not exist.
    /// `Duplicate` on a taken meter point, asset id or VIN; `Reference` when the user (or, for a
    /// new asset, the VEN) is missing.
    async fn write_energy(
        &self,
        tenant: &TenantId,
        ven: &str,
        write: EnergyWrite<'_>,
    ) -> StoreResult<Option<String>>;
}

/// One write of the Energy Coordination API: see [`EnergyStore::write_energy`].
pub enum EnergyWrite<'a> {
    InsertMeter(&'a MeterRow),
    UpdateMeter(&'a MeterRow),
    DeleteMeter {
        user_id: &'a str,
        id: &'a str,
    },
    /// A vehicle or resource with the OpenADR resource that represents it; the store sets the
    /// resource's meter targets.
    InsertAsset {
        asset: &'a AssetRow,
        resource: &'a ResourceRow,
    },
    /// New metadata: the asset's row, and its resource's attributes.
    UpdateAsset {
        asset: &'a AssetRow,
        attributes: Vec<ValuesMap>,
    },
    /// Deletes the asset's resource, and the asset with it.
    DeleteAsset {
        user_id: &'a str,
        kind: &'a str,
        id: &'a str,
    },
    /// Deletes the user's vehicles and resources (their OpenADR resources), then the user with
    /// its meters.
    DeleteUser {
        id: &'a str,
    },
}

/// The portable SQL of [`EnergyStore`], expanded once per backend next to `impl_store!` (whose
/// `push_page` it uses). `$begin` starts a write transaction that reads before it writes
/// (`BEGIN IMMEDIATE` on SQLite, so that it never has to upgrade a read lock), and `$lock` is the
/// clause that locks the rows it reads (`FOR UPDATE` on PostgreSQL). Writes use
/// `execute`/`fetch_all`, never `fetch_one` (see `SqliteStore`).
macro_rules! impl_energy_store {
    ($store:ty, $db:ty, $begin:expr, $lock:expr) => {
        mod energy_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::domain::energy::{with_meter_targets, MeterTargeted, Rewritten};
            use crate::domain::{Resource, Ven};
            use crate::store::{AssetOwner, AssetRow, Change, EnergyWrite, Page, StoreError, StoreResult};
            use sqlx::{QueryBuilder, Row};

            type Tx<'c> = sqlx::Transaction<'c, $db>;

            /// The VEN's row (`seq`, `id`, `body`), locked until the transaction ends.
            async fn lock_ven(tx: &mut Tx<'_>, tenant: &TenantId, ven: &str) -> StoreResult<Option<(i64, String, String)>> {
                let rows = sqlx::query(&format!("SELECT seq, id, body FROM vens WHERE tenant_id = $1 AND ven_name = $2{}", $lock))
                    .bind(tenant.as_str())
                    .bind(ven)
                    .fetch_all(&mut **tx)
                    .await?;
                Ok(rows.first().map(|row| (row.get(0), row.get(1), row.get(2))))
            }

            /// Meter bodies of one user, or with `None` of the whole VEN, in creation order.
            async fn meters_of(tx: &mut Tx<'_>, tenant: &TenantId, ven: &str, user_id: Option<&str>) -> StoreResult<Vec<String>> {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT body FROM ec_meters WHERE tenant_id = ");
                qb.push_bind(tenant.as_str()).push(" AND ven_name = ").push_bind(ven);
                if let Some(user_id) = user_id {
                    qb.push(" AND user_id = ").push_bind(user_id);
                }
                qb.push(" ORDER BY seq");
                Ok(qb.build_query_scalar().fetch_all(&mut **tx).await?)
            }

            fn rewrite<T: MeterTargeted>(body: &str, meters: &[String], attributes: Option<Vec<crate::domain::common::ValuesMap>>) -> StoreResult<Option<Rewritten>> {
                with_meter_targets::<T>(body, meters, attributes).map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))
            }

            /// Stores a rewritten resource (by `seq`) with its targets and its notification.
            async fn put_resource(tx: &mut Tx<'_>, tenant: &TenantId, seq: i64, id: &str, new: &Rewritten) -> StoreResult<()> {
                sqlx::query("UPDATE resources SET body = $1 WHERE seq = $2")
                    .bind(&new.body)
                    .bind(seq)
                    .execute(&mut **tx)
                    .await?;
                super::replace_targets(tx, "resource_targets", tenant, seq, &new.targets).await?;
                super::record_change(tx, tenant, Change { object_type: "RESOURCE", operation: "PUT", object_id: id, owner: None, body: &new.body }).await.map(drop)
            }

            /// Gives the resources of the user's vehicles and resources the user's meter targets.
            async fn retarget_user(tx: &mut Tx<'_>, tenant: &TenantId, ven: &str, user_id: &str) -> StoreResult<()> {
                let meters = meters_of(tx, tenant, ven, Some(user_id)).await?;
                let resources = sqlx::query(
                    "SELECT r.seq, r.id, r.body FROM ec_assets a \
                     JOIN resources r ON r.tenant_id = a.tenant_id AND r.id = a.resource_id \
                     WHERE a.tenant_id = $1 AND a.ven_name = $2 AND a.user_id = $3 ORDER BY a.seq",
                )
                .bind(tenant.as_str())
                .bind(ven)
                .bind(user_id)
                .fetch_all(&mut **tx)
                .await?;
                for row in &resources {
                    let (seq, id, body): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
                    if let Some(new) = rewrite::<Resource>(&body, &meters, None)? {
                        put_resource(tx, tenant, seq, &id, &new).await?;
                    }
                }
                Ok(())
            }

            /// Gives the (locked) VEN the meter targets of all its users' meters.
            async fn retarget_ven(tx: &mut Tx<'_>, tenant: &TenantId, ven: &str, (seq, id, body): &(i64, String, String)) -> StoreResult<()> {
                let meters = meters_of(tx, tenant, ven, None).await?;
                let Some(new) = rewrite::<Ven>(body, &meters, None)? else {
                    return Ok(());
                };
                sqlx::query("UPDATE vens SET body = $1 WHERE seq = $2")
                    .bind(&new.body)
                    .bind(seq)
                    .execute(&mut **tx)
                    .await?;
                super::replace_targets(tx, "ven_targets", tenant, *seq, &new.targets).await?;
                super::record_change(tx, tenant, Change { object_type: "VEN", operation: "PUT", object_id: id, owner: None, body: &new.body }).await.map(drop)
            }

            /// Deletes OpenADR resources (and with them, by cascade, their assets), recording
            /// each deletion.
            async fn delete_resources(tx: &mut Tx<'_>, tenant: &TenantId, ids: &[String]) -> StoreResult<()> {
                for id in ids {
                    let rows = sqlx::query("DELETE FROM resources WHERE tenant_id = $1 AND id = $2 RETURNING body")
                        .bind(tenant.as_str())
                        .bind(id)
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(StoreError::classify)?;
                    if let Some(row) = rows.first() {
                        let body: String = row.get(0);
                        super::record_change(tx, tenant, Change { object_type: "RESOURCE", operation: "DELETE", object_id: id, owner: None, body: &body }).await?;
                    }
                }
                Ok(())
            }

            const ASSET_COLUMNS: &str = "a.id, a.user_id, a.kind, a.vin, a.resource_id, a.body";

            fn asset_row(row: &<$db as sqlx::Database>::Row) -> AssetRow {
                AssetRow {
                    id: row.get(0),
                    user_id: row.get(1),
                    kind: row.get(2),
                    vin: row.get(3),
                    resource_id: row.get(4),
                    body: row.get(5),
                }
            }

            #[async_trait::async_trait]
            impl crate::store::EnergyStore for $store {
                async fn insert_ec_user(&self, tenant: &TenantId, ven: &str, id: &str, body: &str) -> StoreResult<()> {
                    sqlx::query("INSERT INTO ec_users (tenant_id, ven_name, id, body) VALUES ($1, $2, $3, $4)")
                        .bind(tenant.as_str())
                        .bind(ven)
                        .bind(id)
                        .bind(body)
                        .execute(&self.write)
                        .await
                        .map_err(StoreError::classify)?;
                    Ok(())
                }

                async fn get_ec_user(&self, tenant: &TenantId, ven: &str, id: &str) -> StoreResult<Option<String>> {
                    let rows: Vec<String> = sqlx::query_scalar(
                        "SELECT body FROM ec_users WHERE tenant_id = $1 AND ven_name = $2 AND id = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(id)
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows.into_iter().next())
                }

                async fn list_ec_users(&self, tenant: &TenantId, ven: &str, page: Page) -> StoreResult<Vec<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT u.body FROM ec_users u WHERE u.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND u.ven_name = ").push_bind(ven);
                    super::push_page(&mut qb, "u", page);
                    Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
                }

                async fn get_meter(&self, tenant: &TenantId, ven: &str, user_id: &str, id: &str) -> StoreResult<Option<String>> {
                    let rows: Vec<String> = sqlx::query_scalar(
                        "SELECT body FROM ec_meters WHERE tenant_id = $1 AND ven_name = $2 AND user_id = $3 AND id = $4",
                    )
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(user_id)
                    .bind(id)
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows.into_iter().next())
                }

                async fn list_meters(
                    &self,
                    tenant: &TenantId,
                    ven: &str,
                    user_id: Option<&str>,
                    page: Option<Page>,
                ) -> StoreResult<Vec<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT m.body FROM ec_meters m WHERE m.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND m.ven_name = ").push_bind(ven);
                    if let Some(user_id) = user_id {
                        qb.push(" AND m.user_id = ").push_bind(user_id);
                    }
                    match page {
                        Some(page) => super::push_page(&mut qb, "m", page),
                        None => {
                            qb.push(" ORDER BY m.seq");
                        }
                    }
                    Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
                }

                async fn find_meter_point(&self, tenant: &TenantId, meter_point_id: &str) -> StoreResult<Option<(String, String)>> {
                    let rows = sqlx::query(
                        "SELECT ven_name, id FROM ec_meters WHERE tenant_id = $1 AND meter_point_id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(meter_point_id)
                    .fetch_all(&self.read)
                    .await?;
                    Ok(rows.first().map(|row| (row.get(0), row.get(1))))
                }

                async fn get_asset(
                    &self,
                    tenant: &TenantId,
                    ven: &str,
                    user_id: Option<&str>,
                    kind: Option<&str>,
                    id: &str,
                ) -> StoreResult<Option<AssetRow>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new(format!("SELECT {ASSET_COLUMNS} FROM ec_assets a WHERE a.tenant_id = "));
                    qb.push_bind(tenant.as_str())
                        .push(" AND a.ven_name = ")
                        .push_bind(ven)
                        .push(" AND a.id = ")
                        .push_bind(id);
                    if let Some(user_id) = user_id {
                        qb.push(" AND a.user_id = ").push_bind(user_id);
                    }
                    if let Some(kind) = kind {
                        qb.push(" AND a.kind = ").push_bind(kind);
                    }
                    let rows = qb.build().fetch_all(&self.read).await?;
                    Ok(rows.first().map(asset_row))
                }

                async fn list_assets(
                    &self,
                    tenant: &TenantId,
                    ven: &str,
                    user_id: &str,
                    kind: Option<&str>,
                    page: Option<Page>,
                ) -> StoreResult<Vec<AssetRow>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new(format!("SELECT {ASSET_COLUMNS} FROM ec_assets a WHERE a.tenant_id = "));
                    qb.push_bind(tenant.as_str())
                        .push(" AND a.ven_name = ")
                        .push_bind(ven)
                        .push(" AND a.user_id = ")
                        .push_bind(user_id);
                    if let Some(kind) = kind {
                        qb.push(" AND a.kind = ").push_bind(kind);
                    }
                    match page {
                        Some(page) => super::push_page(&mut qb, "a", page),
                        None => {
                            qb.push(" ORDER BY a.seq");
                        }
                    }
                    let rows = qb.build().fetch_all(&self.read).await?;
                    Ok(rows.iter().map(asset_row).collect())
                }

                async fn find_asset(&self, tenant: &TenantId, id: &str, vin: Option<&str>) -> StoreResult<Option<AssetOwner>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT a.ven_name, a.kind, a.id FROM ec_assets a WHERE a.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND (a.id = ").push_bind(id);
                    if let Some(vin) = vin {
                        qb.push(" OR a.vin = ").push_bind(vin);
                    }
                    qb.push(") ORDER BY a.seq");
                    let rows = qb.build().fetch_all(&self.read).await?;
                    Ok(rows.first().map(|row| AssetOwner {
                        ven_name: row.get(0),
                        kind: row.get(1),
                        id: row.get(2),
                    }))
                }

                async fn write_energy(&self, tenant: &TenantId, ven: &str, write: EnergyWrite<'_>) -> StoreResult<Option<String>> {
                    let mut tx = self.write.begin_with($begin).await?;
                    let locked = lock_ven(&mut tx, tenant, ven).await?;
                    // The user whose meters changed (their assets and the VEN are retargeted), and
                    // whether the VEN's meters changed without a user left to retarget.
                    let mut meters_of_user: Option<String> = None;
                    let mut meters_of_ven = false;
                    let written: String = match write {
                        EnergyWrite::InsertMeter(meter) => {
                            sqlx::query(
                                "INSERT INTO ec_meters (tenant_id, ven_name, user_id, id, meter_point_id, body) \
                                 VALUES ($1, $2, $3, $4, $5, $6)",
                            )
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(&meter.user_id)
                            .bind(&meter.id)
                            .bind(&meter.meter_point_id)
                            .bind(&meter.body)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::classify)?;
                            meters_of_user = Some(meter.user_id.clone());
                            meter.body.clone()
                        }
                        EnergyWrite::UpdateMeter(meter) => {
                            let done = sqlx::query(
                                "UPDATE ec_meters SET meter_point_id = $1, body = $2 \
                                 WHERE tenant_id = $3 AND ven_name = $4 AND user_id = $5 AND id = $6",
                            )
                            .bind(&meter.meter_point_id)
                            .bind(&meter.body)
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(&meter.user_id)
                            .bind(&meter.id)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::classify)?;
                            if done.rows_affected() == 0 {
                                return Ok(None);
                            }
                            meters_of_user = Some(meter.user_id.clone());
                            meter.body.clone()
                        }
                        EnergyWrite::DeleteMeter { user_id, id } => {
                            let rows = sqlx::query(
                                "DELETE FROM ec_meters WHERE tenant_id = $1 AND ven_name = $2 AND user_id = $3 AND id = $4 RETURNING body",
                            )
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(user_id)
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                            let Some(row) = rows.first() else { return Ok(None) };
                            meters_of_user = Some(user_id.to_owned());
                            row.get(0)
                        }
                        EnergyWrite::InsertAsset { asset, resource } => {
                            let meters = meters_of(&mut tx, tenant, ven, Some(&asset.user_id)).await?;
                            let new = rewrite::<Resource>(&resource.body, &meters, None)?.unwrap_or_else(|| Rewritten {
                                body: resource.body.clone(),
                                targets: resource.targets.clone(),
                            });
                            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                                "INSERT INTO resources (tenant_id, id, ven_id, resource_name, body) VALUES (",
                            );
                            qb.separated(", ")
                                .push_bind(tenant.as_str())
                                .push_bind(&resource.id)
                                .push_bind(&resource.ven_id)
                                .push_bind(&resource.resource_name)
                                .push_bind(&new.body);
                            qb.push(") RETURNING seq");
                            let seq = super::returning_seq(&mut tx, &mut qb)
                                .await?
                                .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                            super::insert_targets(&mut tx, "resource_targets", tenant, seq, &new.targets).await?;
                            super::record_change(&mut tx, tenant, Change { object_type: "RESOURCE", operation: "POST", object_id: &resource.id, owner: None, body: &new.body }).await?;
                            sqlx::query(
                                "INSERT INTO ec_assets (tenant_id, ven_name, user_id, kind, id, vin, resource_id, body) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            )
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(&asset.user_id)
                            .bind(&asset.kind)
                            .bind(&asset.id)
                            .bind(&asset.vin)
                            .bind(&resource.id)
                            .bind(&asset.body)
                            .execute(&mut *tx)
                            .await
                            .map_err(StoreError::classify)?;
                            asset.body.clone()
                        }
                        EnergyWrite::UpdateAsset { asset, attributes } => {
                            let rows = sqlx::query(
                                "UPDATE ec_assets SET vin = $1, body = $2 \
                                 WHERE tenant_id = $3 AND ven_name = $4 AND user_id = $5 AND kind = $6 AND id = $7 \
                                 RETURNING resource_id",
                            )
                            .bind(&asset.vin)
                            .bind(&asset.body)
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(&asset.user_id)
                            .bind(&asset.kind)
                            .bind(&asset.id)
                            .fetch_all(&mut *tx)
                            .await
                            .map_err(StoreError::classify)?;
                            let Some(row) = rows.first() else { return Ok(None) };
                            let resource_id: String = row.get(0);
                            let resources = sqlx::query("SELECT seq, body FROM resources WHERE tenant_id = $1 AND id = $2")
                                .bind(tenant.as_str())
                                .bind(&resource_id)
                                .fetch_all(&mut *tx)
                                .await?;
                            let Some(resource) = resources.first() else { return Ok(None) };
                            let (seq, body): (i64, String) = (resource.get(0), resource.get(1));
                            let meters = meters_of(&mut tx, tenant, ven, Some(&asset.user_id)).await?;
                            if let Some(new) = rewrite::<Resource>(&body, &meters, Some(attributes))? {
                                put_resource(&mut tx, tenant, seq, &resource_id, &new).await?;
                            }
                            asset.body.clone()
                        }
                        EnergyWrite::DeleteAsset { user_id, kind, id } => {
                            let rows = sqlx::query(
                                "SELECT resource_id, body FROM ec_assets \
                                 WHERE tenant_id = $1 AND ven_name = $2 AND user_id = $3 AND kind = $4 AND id = $5",
                            )
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(user_id)
                            .bind(kind)
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                            let Some(row) = rows.first() else { return Ok(None) };
                            let (resource_id, body): (String, String) = (row.get(0), row.get(1));
                            delete_resources(&mut tx, tenant, &[resource_id]).await?;
                            body
                        }
                        EnergyWrite::DeleteUser { id } => {
                            let users: Vec<String> = sqlx::query_scalar(
                                "SELECT body FROM ec_users WHERE tenant_id = $1 AND ven_name = $2 AND id = $3",
                            )
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                            let Some(body) = users.into_iter().next() else { return Ok(None) };
                            let resources: Vec<String> = sqlx::query_scalar(
                                "SELECT resource_id FROM ec_assets WHERE tenant_id = $1 AND ven_name = $2 AND user_id = $3 ORDER BY seq",
                            )
                            .bind(tenant.as_str())
                            .bind(ven)
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                            delete_resources(&mut tx, tenant, &resources).await?;
                            // Its meters go with it (ON DELETE CASCADE).
                            sqlx::query("DELETE FROM ec_users WHERE tenant_id = $1 AND ven_name = $2 AND id = $3")
                                .bind(tenant.as_str())
                                .bind(ven)
                                .bind(id)
                                .execute(&mut *tx)
                                .await
                                .map_err(StoreError::classify)?;
                            meters_of_ven = true;
                            body
                        }
                    };
                    if let Some(user_id) = &meters_of_user {
                        retarget_user(&mut tx, tenant, ven, user_id).await?;
                    }
                    if let Some(locked) = &locked {
                        if meters_of_user.is_some() || meters_of_ven {
                            retarget_ven(&mut tx, tenant, ven, locked).await?;
                        }
                    }
                    tx.commit().await.map_err(StoreError::classify)?;
                    self.signal.notify_one();
                    Ok(Some(written))
                }
            }
        }
    };
}

pub(crate) use impl_energy_store;
