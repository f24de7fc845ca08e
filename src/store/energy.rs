//! Storage of the Energy Coordination API: users of a service provider, their meters, and the
//! link from a partner's vehicle or resource id to the OpenADR resource that represents it.
//!
//! Every method takes the tenant and the service provider's VEN name first: one service provider
//! never reads another's users. The assets themselves are OpenADR resources, written only through
//! [`super::VenStore`]; `ec_assets` rows go with their resource (ON DELETE CASCADE).

use super::{Page, StoreResult};
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
    /// Deletes the user and its meters; `Reference` while assets still belong to it.
    async fn delete_ec_user(
        &self,
        tenant: &TenantId,
        ven: &str,
        id: &str,
    ) -> StoreResult<Option<String>>;

    /// `Duplicate` when the meter point is registered in the tenant; `Reference` without the user.
    async fn insert_meter(&self, tenant: &TenantId, ven: &str, row: &MeterRow) -> StoreResult<()>;
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
    /// `false` when missing; `Duplicate` when the new meter point is taken.
    async fn update_meter(&self, tenant: &TenantId, ven: &str, row: &MeterRow)
        -> StoreResult<bool>;
    async fn delete_meter(
        &self,
        tenant: &TenantId,
        ven: &str,
        user_id: &str,
        id: &str,
    ) -> StoreResult<Option<String>>;
    /// The VEN and meter id under which a meter point is registered in the tenant.
    async fn find_meter_point(
        &self,
        tenant: &TenantId,
        meter_point_id: &str,
    ) -> StoreResult<Option<(String, String)>>;

    /// `Duplicate` on a taken id or VIN; `Reference` without the user or the resource.
    async fn insert_asset(&self, tenant: &TenantId, ven: &str, row: &AssetRow) -> StoreResult<()>;
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
    /// `false` when missing; `Duplicate` when the new VIN is taken.
    async fn update_asset(&self, tenant: &TenantId, ven: &str, row: &AssetRow)
        -> StoreResult<bool>;
    /// An asset of the tenant (any VEN) with this id, or this VIN.
    async fn find_asset(
        &self,
        tenant: &TenantId,
        id: &str,
        vin: Option<&str>,
    ) -> StoreResult<Option<AssetOwner>>;
}

/// The portable SQL of [`EnergyStore`], expanded once per backend next to `impl_store!` (whose
/// `push_page` it uses). Writes use `execute`/`fetch_all`, never `fetch_one` (see `SqliteStore`).
macro_rules! impl_energy_store {
    ($store:ty, $db:ty) => {
        mod energy_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::store::{AssetOwner, AssetRow, MeterRow, Page, StoreError, StoreResult};
            use sqlx::{QueryBuilder, Row};

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

                async fn delete_ec_user(&self, tenant: &TenantId, ven: &str, id: &str) -> StoreResult<Option<String>> {
                    let rows = sqlx::query(
                        "DELETE FROM ec_users WHERE tenant_id = $1 AND ven_name = $2 AND id = $3 RETURNING body",
                    )
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(id)
                    .fetch_all(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(rows.first().map(|row| row.get(0)))
                }

                async fn insert_meter(&self, tenant: &TenantId, ven: &str, row: &MeterRow) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO ec_meters (tenant_id, ven_name, user_id, id, meter_point_id, body) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(&row.user_id)
                    .bind(&row.id)
                    .bind(&row.meter_point_id)
                    .bind(&row.body)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(())
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

                async fn update_meter(&self, tenant: &TenantId, ven: &str, row: &MeterRow) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE ec_meters SET meter_point_id = $1, body = $2 \
                         WHERE tenant_id = $3 AND ven_name = $4 AND user_id = $5 AND id = $6",
                    )
                    .bind(&row.meter_point_id)
                    .bind(&row.body)
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(&row.user_id)
                    .bind(&row.id)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(done.rows_affected() > 0)
                }

                async fn delete_meter(&self, tenant: &TenantId, ven: &str, user_id: &str, id: &str) -> StoreResult<Option<String>> {
                    let rows = sqlx::query(
                        "DELETE FROM ec_meters WHERE tenant_id = $1 AND ven_name = $2 AND user_id = $3 AND id = $4 RETURNING body",
                    )
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(user_id)
                    .bind(id)
                    .fetch_all(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(rows.first().map(|row| row.get(0)))
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

                async fn insert_asset(&self, tenant: &TenantId, ven: &str, row: &AssetRow) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO ec_assets (tenant_id, ven_name, user_id, kind, id, vin, resource_id, body) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(&row.user_id)
                    .bind(&row.kind)
                    .bind(&row.id)
                    .bind(&row.vin)
                    .bind(&row.resource_id)
                    .bind(&row.body)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(())
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

                async fn update_asset(&self, tenant: &TenantId, ven: &str, row: &AssetRow) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE ec_assets SET vin = $1, body = $2 \
                         WHERE tenant_id = $3 AND ven_name = $4 AND user_id = $5 AND kind = $6 AND id = $7",
                    )
                    .bind(&row.vin)
                    .bind(&row.body)
                    .bind(tenant.as_str())
                    .bind(ven)
                    .bind(&row.user_id)
                    .bind(&row.kind)
                    .bind(&row.id)
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                    Ok(done.rows_affected() > 0)
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
            }
        }
    };
}

pub(crate) use impl_energy_store;
