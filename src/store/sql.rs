//! The SQL both backends share.
//!
//! The statements below are portable (SQLite ≥ 3.35 and PostgreSQL ≥ 12 both run them); placeholders
//! come from `QueryBuilder`, which writes `?` for SQLite and `$n` for PostgreSQL. They are
//! expanded once per backend by a macro instead of one generic impl over `sqlx::Database`: the
//! generic bounds sqlx needs (higher-ranked `Executor`/`Encode` bounds) cost more readability than
//! the macro does. SQL that only one backend can run lives in that backend's module.
//!
//! Each expansion needs `self.read` and `self.write` pools (the same pool on PostgreSQL; on SQLite
//! the write pool has a single connection, so writers queue instead of failing with SQLITE_BUSY).
//! Writes use `execute`/`fetch_all`, never `fetch_one`: see `SqliteStore` for why.

macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        use crate::domain::TenantId;
        use crate::store::{
            AuditRecord, ClientBinding, ClientRecord, EventFilter, EventRow, IdentityProviderRecord, Page, ProgramFilter,
            ProgramRow, SigningKeyRecord, StoreError, StoreResult, TargetFilter, TargetPairs, TenantRecord,
        };
        use crate::store::sealed::SIGNING_KEY_PRIVATE;
        use sqlx::{QueryBuilder, Row};

        /// `AND EXISTS (…)` restricting `alias` rows to those with a matching target.
        fn push_target_filter<'a>(
            qb: &mut QueryBuilder<'a, $db>,
            filter: &'a TargetFilter,
            targets_table: &str,
            alias: &str,
        ) {
            if filter.is_empty() {
                return;
            }
            qb.push(format!(
                " AND EXISTS (SELECT 1 FROM {targets_table} t WHERE t.owner_seq = {alias}.seq"
            ));
            if let Some(target_type) = &filter.target_type {
                qb.push(" AND t.target_type = ").push_bind(target_type.as_str());
            }
            if !filter.target_values.is_empty() {
                qb.push(" AND t.target_value IN (");
                let mut values = qb.separated(", ");
                for value in &filter.target_values {
                    values.push_bind(value.as_str());
                }
                qb.push(")");
            }
            qb.push(")");
        }

        /// `EXISTS (…)`: a target of the `alias` row (a program or an event) addresses the VEN:
        /// `VEN_NAME` = the VEN's name, `RESOURCE_NAME` = the name of one of its VEN's approved
        /// resources, or equal (type and value) to one of its VEN's own targets. The SQL form of
        /// `domain::audience::VenAudience::is_addressed_by`; keep the two alike.
        fn push_ven_target_match<'a>(
            qb: &mut QueryBuilder<'a, $db>,
            tenant: &'a TenantId,
            name: &'a str,
            targets_table: &str,
            alias: &str,
        ) {
            qb.push(format!(
                "EXISTS (SELECT 1 FROM {targets_table} t WHERE t.owner_seq = {alias}.seq AND (\
                 (t.target_type = 'VEN_NAME' AND t.target_value = "
            ))
            .push_bind(name)
            .push(
                ") OR (t.target_type = 'RESOURCE_NAME' AND t.target_value IN (SELECT r.resource_name \
                 FROM resources r JOIN vens v ON v.tenant_id = r.tenant_id AND v.id = r.ven_id \
                 WHERE r.approved AND v.tenant_id = ",
            )
            .push_bind(tenant.as_str())
            .push(" AND v.ven_name = ")
            .push_bind(name)
            .push(
                ")) OR EXISTS (SELECT 1 FROM ven_targets vt JOIN vens v ON v.seq = vt.owner_seq \
                 WHERE v.tenant_id = ",
            )
            .push_bind(tenant.as_str())
            .push(" AND v.ven_name = ")
            .push_bind(name)
            .push(" AND vt.target_type = t.target_type AND vt.target_value = t.target_value)))");
        }

        /// `(…)`: the program `alias` is visible to the VEN: it has no targets, or one matches.
        fn push_program_visible<'a>(
            qb: &mut QueryBuilder<'a, $db>,
            tenant: &'a TenantId,
            name: &'a str,
            alias: &str,
        ) {
            qb.push(format!(
                "(NOT EXISTS (SELECT 1 FROM program_targets t WHERE t.owner_seq = {alias}.seq) OR "
            ));
            push_ven_target_match(qb, tenant, name, "program_targets", alias);
            qb.push(")");
        }

        /// `AND (…)` restricting programs `p` to those a VEN client may see.
        fn push_program_visibility<'a>(
            qb: &mut QueryBuilder<'a, $db>,
            tenant: &'a TenantId,
            visibility: &'a Option<crate::store::VenVisibility>,
        ) {
            let Some(visibility) = visibility else { return };
            qb.push(" AND ");
            push_program_visible(qb, tenant, visibility.ven_name.as_str(), "p");
        }

        /// `AND (…)` restricting events `e` to those a VEN client may see: one of the event's
        /// targets matches the VEN, or the event has no targets (it addresses everyone its
        /// program addresses) and its program is visible to the VEN.
        fn push_event_visibility<'a>(
            qb: &mut QueryBuilder<'a, $db>,
            tenant: &'a TenantId,
            visibility: &'a Option<crate::store::VenVisibility>,
        ) {
            let Some(visibility) = visibility else { return };
            let name = visibility.ven_name.as_str();
            qb.push(" AND (");
            push_ven_target_match(qb, tenant, name, "event_targets", "e");
            qb.push(
                " OR (NOT EXISTS (SELECT 1 FROM event_targets t WHERE t.owner_seq = e.seq) AND EXISTS (\
                 SELECT 1 FROM programs vp WHERE vp.tenant_id = e.tenant_id AND vp.id = e.program_id AND ",
            );
            push_program_visible(qb, tenant, name, "vp");
            qb.push(")))");
        }

        /// Timestamps of administrative rows, in the API's format (UTC, milliseconds, `Z`).
        fn now_text() -> String {
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        }

        const CLIENT_SELECT: &str = "SELECT c.client_id, c.tenant_id, c.secret_hash, c.scopes, c.role, c.ven_name, \
             c.enabled AND t.enabled, c.instance_id FROM clients c JOIN tenants t ON t.id = c.tenant_id";

        fn client_record(row: &<$db as sqlx::Database>::Row) -> ClientRecord {
            ClientRecord {
                client_id: row.get(0),
                tenant: TenantId(row.get(1)),
                secret_hash: row.get(2),
                scopes: row.get(3),
                role: row.get(4),
                ven_name: row.get(5),
                enabled: row.get(6),
                instance_id: row.get(7),
            }
        }

        fn push_page(qb: &mut QueryBuilder<'_, $db>, alias: &str, page: Page) {
            // Creation order: `seq` only grows, so pages are stable while objects are added.
            qb.push(format!(" ORDER BY {alias}.seq LIMIT "))
                .push_bind(page.limit)
                .push(" OFFSET ")
                .push_bind(page.skip);
        }

        async fn insert_targets(
            conn: &mut <$db as sqlx::Database>::Connection,
            table: &str,
            tenant: &TenantId,
            owner_seq: i64,
            targets: &TargetPairs,
        ) -> StoreResult<()> {
            if targets.is_empty() {
                return Ok(());
            }
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!(
                "INSERT INTO {table} (tenant_id, owner_seq, target_type, target_value) "
            ));
            qb.push_values(targets, |mut row, (target_type, value)| {
                row.push_bind(tenant.as_str())
                    .push_bind(owner_seq)
                    .push_bind(target_type.as_str())
                    .push_bind(value.as_str());
            });
            qb.build().execute(&mut *conn).await.map_err(StoreError::classify)?;
            Ok(())
        }

        /// Replaces an object's targets inside the caller's transaction.
        async fn replace_targets(
            conn: &mut <$db as sqlx::Database>::Connection,
            table: &str,
            tenant: &TenantId,
            owner_seq: i64,
            targets: &TargetPairs,
        ) -> StoreResult<()> {
            sqlx::query(&format!("DELETE FROM {table} WHERE owner_seq = $1"))
                .bind(owner_seq)
                .execute(&mut *conn)
                .await?;
            insert_targets(conn, table, tenant, owner_seq, targets).await
        }

        /// Records a change of an object in the outbox, inside the caller's transaction: it
        /// commits or rolls back with the change itself, so no acknowledged write can miss its
        /// notifications. The notification object is spliced around the stored body. Returns the
        /// change's `seq`.
        async fn record_change(
            conn: &mut <$db as sqlx::Database>::Connection,
            tenant: &TenantId,
            change: crate::store::Change<'_>,
        ) -> StoreResult<i64> {
            let notification = format!(
                r#"{{"objectType":"{}","operation":"{}","object":{}}}"#,
                change.object_type, change.operation, change.body
            );
            let seqs: Vec<i64> = sqlx::query_scalar(
                "INSERT INTO changes (tenant_id, object_type, operation, object_id, owner, notification, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
            )
            .bind(tenant.as_str())
            .bind(change.object_type)
            .bind(change.operation)
            .bind(change.object_id)
            .bind(change.owner)
            .bind(notification)
            .bind(chrono::Utc::now().timestamp_millis())
            .fetch_all(&mut *conn)
            .await?;
            seqs.first().copied().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
        }

        /// `DELETE … RETURNING body` of one object of the tenant, with its DELETE change recorded
        /// in the same transaction; with `owned_by` (column, value), only when that column holds
        /// that value (a VEN deleting its own objects). Tables with an `owner` column pass
        /// `has_owner` so the change carries the owner (it decides who may be notified).
        async fn delete_body(
            pool: &sqlx::Pool<$db>,
            signal: &tokio::sync::Notify,
            kind: crate::store::ObjectTable,
            tenant: &TenantId,
            id: &str,
            owned_by: Option<(&str, &str)>,
        ) -> StoreResult<Option<String>> {
            let mut tx = pool.begin().await?;
            let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(format!("DELETE FROM {} WHERE tenant_id = ", kind.table));
            qb.push_bind(tenant.as_str()).push(" AND id = ").push_bind(id).push(kind.live);
            if let Some((column, value)) = owned_by {
                qb.push(format!(" AND {column} = ")).push_bind(value);
            }
            qb.push(if kind.has_owner { " RETURNING body, owner" } else { " RETURNING body, NULL" });
            let rows = qb.build().fetch_all(&mut *tx).await.map_err(StoreError::classify)?;
            let Some(row) = rows.first() else { return Ok(None) };
            let body: String = row.get(0);
            let owner: Option<String> = row.get(1);
            record_change(
                &mut tx,
                tenant,
                crate::store::Change { object_type: kind.object_type, operation: "DELETE", object_id: id, owner: owner.as_deref(), body: &body },
            )
            .await?;
            tx.commit().await.map_err(StoreError::classify)?;
            signal.notify_one();
            Ok(Some(body))
        }

        /// Returns the `seq` of the row the statement inserted or updated, if any.
        async fn returning_seq(
            conn: &mut <$db as sqlx::Database>::Connection,
            qb: &mut QueryBuilder<'_, $db>,
        ) -> StoreResult<Option<i64>> {
            let rows = qb.build().fetch_all(&mut *conn).await.map_err(StoreError::classify)?;
            Ok(rows.first().map(|row| row.get::<i64, _>(0)))
        }

        #[async_trait::async_trait]
        impl crate::store::Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.read).await?;
                Ok(())
            }

            async fn migrations_current(&self) -> StoreResult<bool> {
                let applied: Vec<(i64, bool)> =
                    sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
                        .fetch_all(&self.read)
                        .await?;
                Ok(crate::store::all_applied(Self::MIGRATOR.iter().map(|m| m.version), &applied))
            }

            fn pool_stats(&self) -> Vec<crate::store::PoolStats> {
                self.pools()
                    .into_iter()
                    .map(|(name, pool)| crate::store::PoolStats {
                        name,
                        size: pool.size(),
                        idle: pool.num_idle() as u32,
                        max: pool.options().get_max_connections(),
                    })
                    .collect()
            }

            async fn count_clients(&self) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM clients").fetch_one(&self.read).await?)
            }

            async fn ensure_tenant(&self, tenant: &TenantId) -> StoreResult<()> {
                sqlx::query("INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
                    .bind(tenant.as_str())
                    .bind(now_text())
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO clients (client_id, tenant_id, secret_hash, scopes, role, ven_name, enabled, created_at, instance_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&client.client_id)
                .bind(client.tenant.as_str())
                .bind(&client.secret_hash)
                .bind(&client.scopes)
                .bind(&client.role)
                .bind(&client.ven_name)
                .bind(client.enabled)
                .bind(now_text())
                .bind(&client.instance_id)
                .execute(&self.write)
                .await
                .map_err(StoreError::classify)?;
                Ok(())
            }

            async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
                let rows = sqlx::query(&format!("{CLIENT_SELECT} WHERE c.client_id = $1"))
                    .bind(client_id)
                    .fetch_all(&self.read)
                    .await?;
                Ok(rows.first().map(client_record))
            }

            async fn client_binding(&self, client_id: &str) -> StoreResult<Option<ClientBinding>> {
                let rows = sqlx::query(
                    "SELECT c.instance_id, c.tenant_id, c.role, c.enabled AND t.enabled FROM clients c \
                     JOIN tenants t ON t.id = c.tenant_id WHERE c.client_id = $1",
                )
                .bind(client_id)
                .fetch_all(&self.read)
                .await?;
                Ok(rows.first().map(|row| ClientBinding {
                    instance_id: row.get(0),
                    tenant: TenantId(row.get(1)),
                    role: row.get(2),
                    enabled: row.get(3),
                }))
            }

            async fn list_clients(&self, tenant: Option<&TenantId>) -> StoreResult<Vec<ClientRecord>> {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(CLIENT_SELECT);
                if let Some(tenant) = tenant {
                    qb.push(" WHERE c.tenant_id = ").push_bind(tenant.as_str());
                }
                qb.push(" ORDER BY c.tenant_id, c.client_id");
                Ok(qb.build().fetch_all(&self.read).await?.iter().map(client_record).collect())
            }

            async fn set_client_enabled(&self, client_id: &str, enabled: bool) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE clients SET enabled = $1 WHERE client_id = $2")
                    .bind(enabled)
                    .bind(client_id)
                    .execute(&self.write)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_client_secret_hash(&self, client_id: &str, secret_hash: &str) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE clients SET secret_hash = $1 WHERE client_id = $2")
                    .bind(secret_hash)
                    .bind(client_id)
                    .execute(&self.write)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_client(&self, client_id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM clients WHERE client_id = $1").bind(client_id).execute(&self.write).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn create_tenant(&self, tenant: &TenantId) -> StoreResult<()> {
                sqlx::query("INSERT INTO tenants (id, created_at) VALUES ($1, $2)")
                    .bind(tenant.as_str())
                    .bind(now_text())
                    .execute(&self.write)
                    .await
                    .map_err(StoreError::classify)?;
                Ok(())
            }

            async fn list_tenants(&self) -> StoreResult<Vec<TenantRecord>> {
                let rows = sqlx::query("SELECT id, enabled, created_at FROM tenants ORDER BY id").fetch_all(&self.read).await?;
                Ok(rows
                    .iter()
                    .map(|row| TenantRecord { id: TenantId(row.get(0)), enabled: row.get(1), created_at: row.get(2) })
                    .collect())
            }

            async fn set_tenant_enabled(&self, tenant: &TenantId, enabled: bool) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE tenants SET enabled = $1 WHERE id = $2")
                    .bind(enabled)
                    .bind(tenant.as_str())
                    .execute(&self.write)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_tenant(&self, tenant: &TenantId) -> StoreResult<bool> {
                let mut tx = self.write.begin().await?;
                // Children before parents; target rows go with their owners (ON DELETE CASCADE).
                for table in [
                    "deliveries", "changes", "reports", "subscriptions", "events", "programs", "clients", "identity_providers",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
                        .bind(tenant.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                let done = sqlx::query("DELETE FROM tenants WHERE id = $1").bind(tenant.as_str()).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at_ms, retired_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&key.kid)
                .bind(&key.algorithm)
                .bind(self.secrets.seal(&SIGNING_KEY_PRIVATE.aad(&[&key.kid]), &key.private_key))
                .bind(&key.public_key)
                .bind(key.created_at_ms)
                .bind(key.retired_at_ms)
                .execute(&self.write)
                .await
                .map_err(StoreError::classify)?;
                Ok(())
            }

            async fn list_signing_keys(&self, retired_after_ms: i64) -> StoreResult<Vec<SigningKeyRecord>> {
                let rows = sqlx::query(
                    "SELECT kid, algorithm, private_key, public_key, created_at_ms, retired_at_ms FROM signing_keys \
                     WHERE retired_at_ms IS NULL OR retired_at_ms > $1 ORDER BY created_at_ms DESC, kid",
                )
                .bind(retired_after_ms)
                .fetch_all(&self.read)
                .await?;
                rows.iter()
                    .map(|row| {
                        let kid: String = row.get(0);
                        let sealed: String = row.get(2);
                        Ok(SigningKeyRecord {
                            private_key: self.secrets.open(&SIGNING_KEY_PRIVATE.aad(&[&kid]), &sealed)?,
                            kid,
                            algorithm: row.get(1),
                            public_key: row.get(3),
                            created_at_ms: row.get(4),
                            retired_at_ms: row.get(5),
                        })
                    })
                    .collect()
            }

            async fn retire_signing_keys(&self, keep_kid: &str, at_ms: i64) -> StoreResult<()> {
                sqlx::query("UPDATE signing_keys SET retired_at_ms = $1 WHERE kid <> $2 AND retired_at_ms IS NULL")
                    .bind(at_ms)
                    .bind(keep_kid)
                    .execute(&self.write)
                    .await?;
                Ok(())
            }

            async fn insert_identity_provider(&self, idp: &IdentityProviderRecord) -> StoreResult<()> {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO identity_providers (id, tenant_id, issuer, audience, jwks_url, scope_claim, \
                     roles_claim, role_scopes, ven_claim, created_at, role, bl_roles, ven_roles) ",
                );
                qb.push_values([idp], |mut row, idp| {
                    row.push_bind(&idp.id)
                        .push_bind(idp.tenant.as_str())
                        .push_bind(&idp.issuer)
                        .push_bind(&idp.audience)
                        .push_bind(&idp.jwks_url)
                        .push_bind(&idp.scope_claim)
                        .push_bind(&idp.roles_claim)
                        .push_bind(&idp.role_scopes)
                        .push_bind(&idp.ven_claim)
                        .push_bind(&idp.created_at)
                        .push_bind(&idp.role)
                        .push_bind(&idp.bl_roles)
                        .push_bind(&idp.ven_roles);
                });
                qb.build().execute(&self.write).await.map_err(StoreError::classify)?;
                Ok(())
            }

            async fn list_identity_providers(&self, tenant: Option<&TenantId>) -> StoreResult<Vec<IdentityProviderRecord>> {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "SELECT id, tenant_id, issuer, audience, jwks_url, scope_claim, roles_claim, role_scopes, \
                     ven_claim, created_at, role, bl_roles, ven_roles FROM identity_providers",
                );
                if let Some(tenant) = tenant {
                    qb.push(" WHERE tenant_id = ").push_bind(tenant.as_str());
                }
                qb.push(" ORDER BY tenant_id, issuer");
                let rows = qb.build().fetch_all(&self.read).await?;
                Ok(rows
                    .iter()
                    .map(|row| IdentityProviderRecord {
                        id: row.get(0),
                        tenant: TenantId(row.get(1)),
                        issuer: row.get(2),
                        audience: row.get(3),
                        jwks_url: row.get(4),
                        scope_claim: row.get(5),
                        roles_claim: row.get(6),
                        role_scopes: row.get(7),
                        ven_claim: row.get(8),
                        created_at: row.get(9),
                        role: row.get(10),
                        bl_roles: row.get(11),
                        ven_roles: row.get(12),
                    })
                    .collect())
            }

            async fn delete_identity_provider(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM identity_providers WHERE id = $1").bind(id).execute(&self.write).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_audit(&self, entry: &AuditRecord) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, tenant_id, target, detail) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&entry.at)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.tenant)
                .bind(&entry.target)
                .bind(&entry.detail)
                .execute(&self.write)
                .await?;
                Ok(())
            }

            async fn list_audit(&self, tenant: Option<&TenantId>, page: Page) -> StoreResult<Vec<AuditRecord>> {
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new("SELECT seq, at, actor, action, tenant_id, target, detail FROM audit_log a");
                if let Some(tenant) = tenant {
                    qb.push(" WHERE a.tenant_id = ").push_bind(tenant.as_str());
                }
                qb.push(" ORDER BY a.seq DESC LIMIT ").push_bind(page.limit).push(" OFFSET ").push_bind(page.skip);
                let rows = qb.build().fetch_all(&self.read).await?;
                Ok(rows
                    .iter()
                    .map(|row| AuditRecord {
                        seq: row.get(0),
                        at: row.get(1),
                        actor: row.get(2),
                        action: row.get(3),
                        tenant: row.get(4),
                        target: row.get(5),
                        detail: row.get(6),
                    })
                    .collect())
            }

            async fn tenant_enabled(&self, tenant: &TenantId) -> StoreResult<Option<bool>> {
                let rows = sqlx::query("SELECT enabled FROM tenants WHERE id = $1")
                    .bind(tenant.as_str())
                    .fetch_all(&self.read)
                    .await?;
                Ok(rows.first().map(|row| row.get::<bool, _>(0)))
            }

            async fn insert_program(&self, tenant: &TenantId, row: &ProgramRow) -> StoreResult<()> {
                let mut tx = self.write.begin().await?;
                let mut qb: QueryBuilder<'_, $db> =
                    QueryBuilder::new("INSERT INTO programs (tenant_id, id, program_name, body) VALUES (");
                qb.push_bind(tenant.as_str())
                    .push(", ")
                    .push_bind(&row.id)
                    .push(", ")
                    .push_bind(&row.program_name)
                    .push(", ")
                    .push_bind(&row.body)
                    .push(") RETURNING seq");
                let seq = returning_seq(&mut tx, &mut qb).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                insert_targets(&mut tx, "program_targets", tenant, seq, &row.targets).await?;
                record_change(&mut tx, tenant, crate::store::Change { object_type: "PROGRAM", operation: "POST", object_id: &row.id, owner: None, body: &row.body }).await?;
                tx.commit().await?;
                self.signal.notify_one();
                Ok(())
            }

            async fn get_program(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT body FROM programs WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn list_programs(
                &self,
                tenant: &TenantId,
                filter: &ProgramFilter,
                page: Page,
            ) -> StoreResult<Vec<String>> {
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("SELECT p.body FROM programs p WHERE p.tenant_id = ");
                qb.push_bind(tenant.as_str());
                if let Some(id) = &filter.id {
                    qb.push(" AND p.id = ").push_bind(id.as_str());
                }
                push_target_filter(&mut qb, &filter.targets, "program_targets", "p");
                push_program_visibility(&mut qb, tenant, &filter.visibility);
                push_page(&mut qb, "p", page);
                Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
            }

            async fn update_program(&self, tenant: &TenantId, row: &ProgramRow) -> StoreResult<bool> {
                let mut tx = self.write.begin().await?;
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE programs SET program_name = ");
                qb.push_bind(&row.program_name)
                    .push(", body = ")
                    .push_bind(&row.body)
                    .push(" WHERE tenant_id = ")
                    .push_bind(tenant.as_str())
                    .push(" AND id = ")
                    .push_bind(&row.id)
                    .push(" RETURNING seq");
                let Some(seq) = returning_seq(&mut tx, &mut qb).await? else {
                    return Ok(false);
                };
                replace_targets(&mut tx, "program_targets", tenant, seq, &row.targets).await?;
                record_change(&mut tx, tenant, crate::store::Change { object_type: "PROGRAM", operation: "PUT", object_id: &row.id, owner: None, body: &row.body }).await?;
                tx.commit().await?;
                self.signal.notify_one();
                Ok(true)
            }

            async fn delete_program(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>> {
                let mut tx = self.write.begin().await?;
                let rows: Vec<String> = sqlx::query_scalar("DELETE FROM programs WHERE tenant_id = $1 AND id = $2 RETURNING body")
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(StoreError::classify)?;
                let Some(body) = rows.into_iter().next() else { return Ok(None) };
                let change = record_change(
                    &mut tx,
                    tenant,
                    crate::store::Change { object_type: "PROGRAM", operation: "DELETE", object_id: id, owner: None, body: &body },
                )
                .await?;
                // The program's subscriptions go with it, but only once they have heard of it.
                sqlx::query(
                    "UPDATE subscriptions SET retired_by_change = $1 \
                     WHERE tenant_id = $2 AND program_id = $3 AND retired_by_change IS NULL",
                )
                .bind(change)
                .bind(tenant.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await.map_err(StoreError::classify)?;
                self.signal.notify_one();
                Ok(Some(body))
            }

            async fn insert_event(&self, tenant: &TenantId, row: &EventRow) -> StoreResult<()> {
                let mut tx = self.write.begin().await?;
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "INSERT INTO events (tenant_id, id, program_id, start_ms, end_ms, body) VALUES (",
                );
                let mut values = qb.separated(", ");
                values
                    .push_bind(tenant.as_str())
                    .push_bind(&row.id)
                    .push_bind(&row.program_id)
                    .push_bind(row.start_ms)
                    .push_bind(row.end_ms)
                    .push_bind(&row.body);
                qb.push(") RETURNING seq");
                let seq = returning_seq(&mut tx, &mut qb).await?.ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                insert_targets(&mut tx, "event_targets", tenant, seq, &row.targets).await?;
                record_change(&mut tx, tenant, crate::store::Change { object_type: "EVENT", operation: "POST", object_id: &row.id, owner: None, body: &row.body }).await?;
                tx.commit().await?;
                self.signal.notify_one();
                Ok(())
            }

            async fn import_events(&self, tenant: &TenantId, rows: &[EventRow]) -> StoreResult<()> {
                // 6 binds per event and 4 per target keep each statement far below both backends'
                // bind limits (SQLite 32766, PostgreSQL 65535).
                const CHUNK: usize = 1000;
                let mut tx = self.write.begin().await?;
                for chunk in rows.chunks(CHUNK) {
                    let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                        "INSERT INTO events (tenant_id, id, program_id, start_ms, end_ms, body) ",
                    );
                    qb.push_values(chunk, |mut values, row| {
                        values
                            .push_bind(tenant.as_str())
                            .push_bind(&row.id)
                            .push_bind(&row.program_id)
                            .push_bind(row.start_ms)
                            .push_bind(row.end_ms)
                            .push_bind(&row.body);
                    });
                    qb.push(" RETURNING id, seq");
                    let inserted = qb.build().fetch_all(&mut *tx).await.map_err(StoreError::classify)?;
                    let seqs: std::collections::HashMap<String, i64> =
                        inserted.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1))).collect();
                    let targets: Vec<(i64, &(String, String))> = chunk
                        .iter()
                        .flat_map(|row| {
                            let seq = seqs[&row.id];
                            row.targets.iter().map(move |t| (seq, t))
                        })
                        .collect();
                    for targets in targets.chunks(CHUNK) {
                        let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                            "INSERT INTO event_targets (tenant_id, owner_seq, target_type, target_value) ",
                        );
                        qb.push_values(targets, |mut values, (seq, (target_type, value))| {
                            values
                                .push_bind(tenant.as_str())
                                .push_bind(*seq)
                                .push_bind(target_type.as_str())
                                .push_bind(value.as_str());
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await.map_err(StoreError::classify)?;
                Ok(())
            }

            async fn get_event(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT body FROM events WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(&self.read)
                    .await?)
            }

            async fn list_events(&self, tenant: &TenantId, filter: &EventFilter, page: Page) -> StoreResult<Vec<String>> {
                // A deferred join: the subquery finds the page's `seq`s from index columns alone
                // (see migration 0008), and only the page's rows are read from the table, so a
                // deep page skips index entries rather than whole rows.
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new(
                    "SELECT o.body FROM events o WHERE o.seq IN (SELECT e.seq FROM events e WHERE e.tenant_id = ",
                );
                qb.push_bind(tenant.as_str());
                if let Some(program_id) = &filter.program_id {
                    qb.push(" AND e.program_id = ").push_bind(program_id.as_str());
                }
                if let Some(id) = &filter.id {
                    qb.push(" AND e.id = ").push_bind(id.as_str());
                }
                push_target_filter(&mut qb, &filter.targets, "event_targets", "e");
                push_event_visibility(&mut qb, tenant, &filter.visibility);
                // Active window [start, end) overlaps the requested [x-start, x-end). A missing
                // start means "no time given" (always matches); a missing end means open-ended.
                if let Some(window_end) = filter.window_end_ms {
                    qb.push(" AND (e.start_ms IS NULL OR e.start_ms < ").push_bind(window_end).push(")");
                }
                if let Some(window_start) = filter.window_start_ms {
                    // An instantaneous event (end = start) is the point `start`: it matches
                    // when that point lies inside the requested period.
                    qb.push(" AND (e.end_ms IS NULL OR e.end_ms > ")
                        .push_bind(window_start)
                        .push(" OR (e.end_ms = e.start_ms AND e.start_ms >= ")
                        .push_bind(window_start)
                        .push("))");
                }
                push_page(&mut qb, "e", page);
                qb.push(") ORDER BY o.seq");
                Ok(qb.build_query_scalar().fetch_all(&self.read).await?)
            }

            async fn update_event(&self, tenant: &TenantId, row: &EventRow) -> StoreResult<bool> {
                let mut tx = self.write.begin().await?;
                let mut qb: QueryBuilder<'_, $db> = QueryBuilder::new("UPDATE events SET program_id = ");
                qb.push_bind(&row.program_id)
                    .push(", start_ms = ")
                    .push_bind(row.start_ms)
                    .push(", end_ms = ")
                    .push_bind(row.end_ms)
                    .push(", body = ")
                    .push_bind(&row.body)
                    .push(" WHERE tenant_id = ")
                    .push_bind(tenant.as_str())
                    .push(" AND id = ")
                    .push_bind(&row.id)
                    .push(" RETURNING seq");
                let Some(seq) = returning_seq(&mut tx, &mut qb).await? else {
                    return Ok(false);
                };
                replace_targets(&mut tx, "event_targets", tenant, seq, &row.targets).await?;
                record_change(&mut tx, tenant, crate::store::Change { object_type: "EVENT", operation: "PUT", object_id: &row.id, owner: None, body: &row.body }).await?;
                tx.commit().await?;
                self.signal.notify_one();
                Ok(true)
            }

            async fn delete_event(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<String>> {
                delete_body(&self.write, &self.signal, crate::store::ObjectTable { table: "events", object_type: "EVENT", has_owner: false, live: "" }, tenant, id, None).await
            }
        }
    };
}

pub(crate) use impl_store;
