//! Storage of reports. Like the other objects, each report is stored as the exact JSON the API
//! returns, next to the columns that filters and ownership need. Every method takes the tenant
//! first; `ven` (the VEN name of a VEN client) restricts a call to the reports that VEN owns.

use super::{Page, StoreResult};
use crate::domain::TenantId;
use async_trait::async_trait;

pub struct ReportRow {
    pub id: String,
    pub program_id: String,
    pub event_id: String,
    pub client_name: String,
    /// VEN name of the VEN client that created the report; `None` when business logic did.
    /// Set on insert only: an update keeps the owner.
    pub owner: Option<String>,
    /// The report exactly as the API returns it.
    pub body: String,
}

#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    pub program_id: Option<String>,
    pub event_id: Option<String>,
    pub client_name: Option<String>,
    /// Only reports owned by this VEN (a VEN client's view).
    pub ven: Option<String>,
}

/// The outcome of writing a report: its references are checked in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportWrite {
    Written,
    /// No such report (visible to the caller), on update.
    Missing,
    UnknownProgram,
    UnknownEvent,
    /// The event exists but belongs to this other program.
    EventOfOtherProgram(String),
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// `Reference` when the program or event disappeared while the report was written.
    async fn insert_report(&self, tenant: &TenantId, row: &ReportRow) -> StoreResult<ReportWrite>;
    async fn get_report(
        &self,
        tenant: &TenantId,
        id: &str,
        ven: Option<&str>,
    ) -> StoreResult<Option<String>>;
    async fn list_reports(
        &self,
        tenant: &TenantId,
        filter: &ReportFilter,
        page: Page,
    ) -> StoreResult<Vec<String>>;
    /// Replaces program, event, client name and body; keeps the owner.
    async fn update_report(
        &self,
        tenant: &TenantId,
        row: &ReportRow,
        ven: Option<&str>,
    ) -> StoreResult<ReportWrite>;
    /// The deleted body, `None` when missing.
    async fn delete_report(
        &self,
        tenant: &TenantId,
        id: &str,
        ven: Option<&str>,
    ) -> StoreResult<Option<String>>;
}

/// The portable SQL of [`ReportStore`], expanded once per backend next to `impl_store!` (whose
/// helpers it uses: `push_page`). Writes use `execute`/`fetch_all`, never `fetch_one` (see
/// `SqliteStore`).
macro_rules! impl_report_store {
    ($store:ty, $db:ty) => {
        mod report_store {
            use super::*;
            use crate::domain::TenantId;
            use crate::store::{Page, ReportFilter, ReportRow, ReportWrite, StoreError, StoreResult};
            use sqlx::{QueryBuilder, Row};

            /// Checks, inside the write's transaction, that the program exists and the event
            /// belongs to it. `None` when both are fine.
            async fn check_references(
                conn: &mut <$db as sqlx::Database>::Connection,
                tenant: &TenantId,
                row: &ReportRow,
            ) -> StoreResult<Option<ReportWrite>> {
                let programs = sqlx::query("SELECT id FROM programs WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(&row.program_id)
                    .fetch_all(&mut *conn)
                    .await?;
                if programs.is_empty() {
                    return Ok(Some(ReportWrite::UnknownProgram));
                }
                let events = sqlx::query("SELECT program_id FROM events WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(&row.event_id)
                    .fetch_all(&mut *conn)
                    .await?;
                Ok(match events.first().map(|r| r.get::<String, _>(0)) {
                    None => Some(ReportWrite::UnknownEvent),
                    Some(program) if program != row.program_id => Some(ReportWrite::EventOfOtherProgram(program)),
                    Some(_) => None,
                })
            }

            #[async_trait::async_trait]
            impl crate::store::ReportStore for $store {
                async fn insert_report(&self, tenant: &TenantId, row: &ReportRow) -> StoreResult<ReportWrite> {
                    let mut tx = self.write.begin().await?;
                    if let Some(refused) = check_references(&mut tx, tenant, row).await? {
                        return Ok(refused);
                    }
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO reports (tenant_id, id, program_id, event_id, client_name, owner, body) VALUES (",
                    );
                    let mut values = qb.separated(", ");
                    values
                        .push_bind(tenant.as_str())
                        .push_bind(&row.id)
                        .push_bind(&row.program_id)
                        .push_bind(&row.event_id)
                        .push_bind(&row.client_name)
                        .push_bind(row.owner.as_deref())
                        .push_bind(&row.body);
                    qb.push(")");
                    qb.build().execute(&mut *tx).await.map_err(StoreError::classify)?;
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "REPORT", operation: "POST", object_id: &row.id, owner: row.owner.as_deref(), body: &row.body }).await?;
                    tx.commit().await.map_err(StoreError::classify)?;
                    self.signal.notify_one();
                    Ok(ReportWrite::Written)
                }

                async fn get_report(&self, tenant: &TenantId, id: &str, ven: Option<&str>) -> StoreResult<Option<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT r.body FROM reports r WHERE r.tenant_id = ");
                    qb.push_bind(tenant.as_str()).push(" AND r.id = ").push_bind(id);
                    if let Some(ven) = ven {
                        qb.push(" AND r.owner = ").push_bind(ven);
                    }
                    let rows: Vec<String> = qb.build_query_scalar().fetch_all(&self.read).await?;
                    Ok(rows.into_iter().next())
                }

                async fn list_reports(&self, tenant: &TenantId, filter: &ReportFilter, page: Page) -> StoreResult<Vec<String>> {
                    let mut qb: QueryBuilder<'_, $db> =
                        QueryBuilder::new("SELECT r.body FROM reports r WHERE r.tenant_id = ");
                    qb.push_bind(tenant.as_str());
                    if let Some(ven) = &filter.ven {
                        qb.push(" AND r.owner = ").push_bind(ven.as_str());
                    }
                    if let Some(program_id) = &filter.program_id {
                        qb.push(" AND r.program_id = ").push_bind(program_id.as_str());
                    }
                    if let Some(event_id) = &filter.event_id {
                        qb.push(" AND r.event_id = ").push_bind(event_id.as_str());
                    }
                    if let Some(client_name) = &filter.client_name {
                        qb.push(" AND r.client_name = ").push_bind(client_name.as_str());
                    }
                    super::push_page(&mut qb, "r", page);
                    Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
                }

                async fn update_report(&self, tenant: &TenantId, row: &ReportRow, ven: Option<&str>) -> StoreResult<ReportWrite> {
                    let mut tx = self.write.begin().await?;
                    if let Some(refused) = check_references(&mut tx, tenant, row).await? {
                        return Ok(refused);
                    }
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE reports SET program_id = ");
                    qb.push_bind(&row.program_id)
                        .push(", event_id = ")
                        .push_bind(&row.event_id)
                        .push(", client_name = ")
                        .push_bind(&row.client_name)
                        .push(", body = ")
                        .push_bind(&row.body)
                        .push(" WHERE tenant_id = ")
                        .push_bind(tenant.as_str())
                        .push(" AND id = ")
                        .push_bind(&row.id);
                    if let Some(ven) = ven {
                        qb.push(" AND owner = ").push_bind(ven);
                    }
                    let done = qb.build().execute(&mut *tx).await.map_err(StoreError::classify)?;
                    if done.rows_affected() == 0 {
                        return Ok(ReportWrite::Missing);
                    }
                    // The stored owner, not the caller: a business-logic client may update a VEN's report.
                    let owner: Option<String> = sqlx::query_scalar("SELECT owner FROM reports WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant.as_str())
                        .bind(&row.id)
                        .fetch_all(&mut *tx)
                        .await?
                        .into_iter()
                        .next()
                        .flatten();
                    super::record_change(&mut tx, tenant, crate::store::Change { object_type: "REPORT", operation: "PUT", object_id: &row.id, owner: owner.as_deref(), body: &row.body }).await?;
                    tx.commit().await.map_err(StoreError::classify)?;
                    self.signal.notify_one();
                    Ok(ReportWrite::Written)
                }

                async fn delete_report(&self, tenant: &TenantId, id: &str, ven: Option<&str>) -> StoreResult<Option<String>> {
                    super::delete_body(&self.write, &self.signal, crate::store::ObjectTable { table: "reports", object_type: "REPORT", has_owner: true, live: "" }, tenant, id, ven.map(|v| ("owner", v))).await
                }
            }
        }
    };
}

pub(crate) use impl_report_store;
