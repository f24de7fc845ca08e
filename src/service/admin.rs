//! Administration of a hosted VTN: tenants, clients, external identity providers and the audit
//! log. The API (`/admin/…`) and the CLI (`openadr3-vtn tenant|client|idp|audit …`) both call
//! these functions, so they follow the same rules. Every change writes an audit entry naming its
//! actor; no entry ever holds a secret.

use crate::auth::clients::{self, ClientError};
use crate::auth::secrets::{generate_secret, hash_secret};
use crate::auth::Principal;
use crate::domain::admin::{
    check_text, parse_tenant_id, AuditEntry, Client, ClientRole, CreatedClient, IdentityProvider,
    IdpRole, NewClient, NewIdentityProvider, NewTenant, RotatedSecret, Tenant, MAX_ID_CHARS,
};
use crate::domain::validate::{Validate, Violations};
use crate::domain::{Role, TenantId};
use crate::error::ApiError;
use crate::store::{
    AuditRecord, ClientRecord, DynStore, IdentityProviderRecord, Page, StoreError, TenantRecord,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The largest page of audit entries.
pub const MAX_AUDIT_LIMIT: i64 = 50;

/// Who performs an administrative action, as the audit log names it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Client id, or `cli` for the command line.
    pub id: String,
    /// The calling client's own tenant. A client may not disable or delete itself or its tenant:
    /// it would lock itself out (the CLI can, it needs no token).
    own_tenant: Option<TenantId>,
}

impl Actor {
    pub fn cli() -> Self {
        Self {
            id: "cli".to_owned(),
            own_tenant: None,
        }
    }

    pub fn client(principal: &Principal) -> Self {
        Self {
            id: principal.client_id.clone(),
            own_tenant: Some(principal.tenant.clone()),
        }
    }

    fn is_client(&self, client_id: &str) -> bool {
        self.own_tenant.is_some() && self.id == client_id
    }

    fn owns_tenant(&self, tenant: &TenantId) -> bool {
        self.own_tenant.as_ref() == Some(tenant)
    }
}

/// What `create_client` does when the client's tenant does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingTenant {
    /// 404: the API creates tenants explicitly.
    NotFound,
    /// Create it (audited as `tenant.create`): what `openadr3-vtn client create` has always done.
    Create,
}

fn checked<T: Validate>(input: &T) -> Result<(), ApiError> {
    Violations::check(input).map_err(ApiError::BadRequest)
}

/// A tenant id from a path or query parameter named `field`.
pub fn tenant_id(field: &str, raw: &str) -> Result<TenantId, ApiError> {
    parse_tenant_id(raw).map_err(|why| ApiError::bad_request(format!("{field}: {why}")))
}

/// A client or identity-provider id from a path parameter named `field`. Ids are looked up as
/// given, but one that no record can have (over-long, control characters, NUL, which PostgreSQL
/// cannot even take as a text parameter) is a 400 naming the parameter, not a database error.
pub fn object_id<'a>(field: &str, raw: &'a str) -> Result<&'a str, ApiError> {
    check_text(raw, MAX_ID_CHARS)
        .map(|()| raw)
        .map_err(|why| ApiError::bad_request(format!("{field}: {why}")))
}

fn timestamp() -> String {
    super::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn audit(
    store: &DynStore,
    actor: &Actor,
    action: &str,
    tenant: Option<&TenantId>,
    target: &str,
    detail: Value,
) -> Result<(), ApiError> {
    store
        .insert_audit(&AuditRecord {
            seq: 0,
            at: timestamp(),
            actor: actor.id.clone(),
            action: action.to_owned(),
            tenant: tenant.map(|t| t.as_str().to_owned()),
            target: target.to_owned(),
            detail: detail.to_string(),
        })
        .await?;
    tracing::info!(actor = %actor.id, action, target, "admin action");
    Ok(())
}

fn lockout(what: &str) -> ApiError {
    ApiError::Conflict(format!(
        "a client cannot {what}: it would lock itself out; use another admin client or the CLI"
    ))
}

// Signing keys ----------------------------------------------------------------------------------

/// Creates a new token signing key; the others stop signing and keep verifying until the tokens
/// they signed expire. Returns the new key id.
pub async fn rotate_signing_key(store: &DynStore, actor: &Actor) -> Result<String, ApiError> {
    let kid = crate::auth::keys::rotate(store)
        .await
        .map_err(ApiError::Internal)?;
    audit(
        store,
        actor,
        "keys.rotate",
        None,
        &kid,
        Value::Object(Default::default()),
    )
    .await?;
    Ok(kid)
}

/// Seals every stored secret again with the current secret key (the first of
/// `VTN_SECRET_KEYS`), after a new key was put in front; the older keys can go afterwards.
pub async fn reseal_secrets(
    store: &DynStore,
    actor: &Actor,
) -> Result<Vec<crate::store::sealed::SealCount>, ApiError> {
    let counts = store.seal_secrets(true).await?;
    let detail = serde_json::to_value(&counts).map_err(ApiError::internal)?;
    audit(store, actor, "secrets.reseal", None, "secrets", detail).await?;
    Ok(counts)
}

// Tenants ---------------------------------------------------------------------------------------

fn tenant(record: TenantRecord) -> Tenant {
    Tenant {
        id: record.id.0,
        enabled: record.enabled,
        created_at: record.created_at,
    }
}

async fn find_tenant(store: &DynStore, id: &TenantId) -> Result<Tenant, ApiError> {
    store
        .list_tenants()
        .await?
        .into_iter()
        .find(|t| &t.id == id)
        .map(tenant)
        .ok_or_else(|| ApiError::not_found("tenant", id.as_str()))
}

async fn require_tenant(store: &DynStore, id: &TenantId) -> Result<(), ApiError> {
    match store.tenant_enabled(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("tenant", id.as_str())),
    }
}

pub async fn create_tenant(
    store: &DynStore,
    actor: &Actor,
    new: NewTenant,
) -> Result<Tenant, ApiError> {
    checked(&new)?;
    let id = TenantId(new.id);
    store.create_tenant(&id).await.map_err(|e| match e {
        StoreError::Duplicate => {
            ApiError::Conflict(format!("tenant '{}' already exists", id.as_str()))
        }
        other => other.into(),
    })?;
    audit(
        store,
        actor,
        "tenant.create",
        Some(&id),
        id.as_str(),
        json!({}),
    )
    .await?;
    find_tenant(store, &id).await
}

pub async fn list_tenants(store: &DynStore) -> Result<Vec<Tenant>, ApiError> {
    Ok(store
        .list_tenants()
        .await?
        .into_iter()
        .map(tenant)
        .collect())
}

/// Disabling a tenant refuses its clients new tokens and stops their issued tokens at once.
pub async fn set_tenant_enabled(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    enabled: bool,
) -> Result<Tenant, ApiError> {
    let id = tenant_id("tenantId", id)?;
    if !enabled && actor.owns_tenant(&id) {
        return Err(lockout("disable its own tenant"));
    }
    if !store.set_tenant_enabled(&id, enabled).await? {
        return Err(ApiError::not_found("tenant", id.as_str()));
    }
    let action = if enabled {
        "tenant.enable"
    } else {
        "tenant.disable"
    };
    audit(store, actor, action, Some(&id), id.as_str(), json!({})).await?;
    find_tenant(store, &id).await
}

/// Deletes the tenant with everything it owns; returns it as it was.
pub async fn delete_tenant(store: &DynStore, actor: &Actor, id: &str) -> Result<Tenant, ApiError> {
    let id = tenant_id("tenantId", id)?;
    if actor.owns_tenant(&id) {
        return Err(lockout("delete its own tenant"));
    }
    let existing = find_tenant(store, &id).await?;
    if !store.delete_tenant(&id).await? {
        return Err(ApiError::not_found("tenant", id.as_str()));
    }
    audit(
        store,
        actor,
        "tenant.delete",
        Some(&id),
        id.as_str(),
        json!({}),
    )
    .await?;
    Ok(existing)
}

// Clients ---------------------------------------------------------------------------------------

fn client(record: ClientRecord) -> Client {
    Client {
        role: Role::parse(&record.role).map_or(ClientRole::Bl, ClientRole::from),
        scopes: record
            .scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        client_id: record.client_id,
        tenant: record.tenant.0,
        ven_name: record.ven_name,
        enabled: record.enabled,
    }
}

async fn find_client(store: &DynStore, client_id: &str) -> Result<ClientRecord, ApiError> {
    store
        .find_client(client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("client", client_id))
}

/// Creates a client with a role that fixes its scopes. `secret` is only for the CLI (an operator
/// may choose one); otherwise a random one is generated. The secret is in the result, and only there.
pub async fn create_client(
    store: &DynStore,
    actor: &Actor,
    new: NewClient,
    secret: Option<String>,
    missing_tenant: MissingTenant,
) -> Result<CreatedClient, ApiError> {
    checked(&new)?;
    let tenant = TenantId(new.tenant.clone());
    if let Err(not_found) = require_tenant(store, &tenant).await {
        if missing_tenant == MissingTenant::NotFound {
            return Err(not_found);
        }
        match create_tenant(
            store,
            actor,
            NewTenant {
                id: new.tenant.clone(),
            },
        )
        .await
        {
            // Created meanwhile by someone else: just as good.
            Ok(_) | Err(ApiError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    let scopes = new.parsed_scopes();
    let created = clients::create_client(
        store,
        clients::NewClient {
            tenant: new.tenant,
            role: new.role.into(),
            ven_name: new.ven_name.clone(),
            scopes: scopes.clone(),
            client_id: new.client_id,
            client_secret: secret,
        },
    )
    .await
    .map_err(|e| match e {
        ClientError::Invalid(why) => ApiError::BadRequest(why),
        duplicate @ ClientError::Duplicate(_) => ApiError::Conflict(duplicate.to_string()),
        ClientError::Internal(cause) => ApiError::Internal(cause),
    })?;
    let detail = json!({
        "role": new.role,
        "scopes": scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "venName": new.ven_name,
    });
    audit(
        store,
        actor,
        "client.create",
        Some(&tenant),
        &created.client_id,
        detail,
    )
    .await?;
    Ok(CreatedClient {
        client: client(find_client(store, &created.client_id).await?),
        client_secret: created.client_secret,
    })
}

/// Clients of one tenant or of all, by tenant and client id. Never a secret or its hash.
pub async fn list_clients(store: &DynStore, tenant: Option<&str>) -> Result<Vec<Client>, ApiError> {
    let tenant = tenant.map(|t| tenant_id("tenant", t)).transpose()?;
    let records = store.list_clients(tenant.as_ref()).await?;
    Ok(records.into_iter().map(client).collect())
}

/// Replaces the client's secret with a new random one, returned only here. The old secret stops
/// working at once; tokens already issued stay valid until they expire.
pub async fn rotate_secret(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
) -> Result<RotatedSecret, ApiError> {
    let client_id = object_id("clientId", client_id)?;
    let existing = find_client(store, client_id).await?;
    let secret = generate_secret();
    let hash = hash_secret(secret.clone())
        .await
        .map_err(ApiError::Internal)?;
    if !store.set_client_secret_hash(client_id, &hash).await? {
        return Err(ApiError::not_found("client", client_id));
    }
    audit(
        store,
        actor,
        "client.rotate_secret",
        Some(&existing.tenant),
        client_id,
        json!({}),
    )
    .await?;
    Ok(RotatedSecret {
        client_id: existing.client_id,
        client_secret: secret,
    })
}

/// A disabled client gets no tokens, and its issued tokens stop working at once.
pub async fn set_client_enabled(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
    enabled: bool,
) -> Result<Client, ApiError> {
    let client_id = object_id("clientId", client_id)?;
    if !enabled && actor.is_client(client_id) {
        return Err(lockout("disable itself"));
    }
    let existing = find_client(store, client_id).await?;
    if !store.set_client_enabled(client_id, enabled).await? {
        return Err(ApiError::not_found("client", client_id));
    }
    let action = if enabled {
        "client.enable"
    } else {
        "client.disable"
    };
    audit(
        store,
        actor,
        action,
        Some(&existing.tenant),
        client_id,
        json!({}),
    )
    .await?;
    Ok(client(find_client(store, client_id).await?))
}

/// Deletes the client; returns it as it was.
pub async fn delete_client(
    store: &DynStore,
    actor: &Actor,
    client_id: &str,
) -> Result<Client, ApiError> {
    let client_id = object_id("clientId", client_id)?;
    if actor.is_client(client_id) {
        return Err(lockout("delete itself"));
    }
    let existing = find_client(store, client_id).await?;
    if !store.delete_client(client_id).await? {
        return Err(ApiError::not_found("client", client_id));
    }
    audit(
        store,
        actor,
        "client.delete",
        Some(&existing.tenant),
        client_id,
        json!({}),
    )
    .await?;
    Ok(client(existing))
}

// Identity providers ----------------------------------------------------------------------------

fn identity_provider(record: IdentityProviderRecord) -> IdentityProvider {
    IdentityProvider {
        role_scopes: serde_json::from_str(&record.role_scopes).unwrap_or_default(),
        // Written by `create_identity_provider` (or migration 0009) only; `bl` would not be
        // shown for a value this build cannot read, since no such value is ever written.
        role: IdpRole::parse(&record.role).unwrap_or(IdpRole::Bl),
        bl_roles: serde_json::from_str(&record.bl_roles).unwrap_or_default(),
        ven_roles: serde_json::from_str(&record.ven_roles).unwrap_or_default(),
        id: record.id,
        tenant: record.tenant.0,
        issuer: record.issuer,
        audience: record.audience,
        jwks_url: record.jwks_url,
        scope_claim: record.scope_claim,
        roles_claim: record.roles_claim,
        ven_claim: record.ven_claim,
        created_at: record.created_at,
    }
}

/// Registers a tenant's identity provider; its tokens are accepted within a second or so.
pub async fn create_identity_provider(
    store: &DynStore,
    actor: &Actor,
    new: NewIdentityProvider,
) -> Result<IdentityProvider, ApiError> {
    checked(&new)?;
    let tenant = TenantId(new.tenant);
    require_tenant(store, &tenant).await?;
    let role_scopes: BTreeMap<String, Vec<String>> = new.role_scopes;
    let record = IdentityProviderRecord {
        id: uuid::Uuid::new_v4().to_string(),
        tenant: tenant.clone(),
        issuer: new.issuer,
        audience: new.audience,
        jwks_url: new.jwks_url,
        scope_claim: new.scope_claim,
        roles_claim: new.roles_claim,
        role_scopes: serde_json::to_string(&role_scopes).map_err(ApiError::internal)?,
        ven_claim: new.ven_claim,
        role: new.role.as_str().to_owned(),
        bl_roles: serde_json::to_string(&new.bl_roles).map_err(ApiError::internal)?,
        ven_roles: serde_json::to_string(&new.ven_roles).map_err(ApiError::internal)?,
        created_at: timestamp(),
    };
    store
        .insert_identity_provider(&record)
        .await
        .map_err(|e| match e {
            StoreError::Duplicate => ApiError::Conflict(format!(
                "issuer: an identity provider with issuer '{}' is already registered",
                record.issuer
            )),
            StoreError::Reference => ApiError::not_found("tenant", tenant.as_str()),
            other => other.into(),
        })?;
    let detail = json!({
        "issuer": record.issuer, "audience": record.audience, "jwksUrl": record.jwks_url,
        "role": new.role, "blRoles": new.bl_roles, "venRoles": new.ven_roles,
    });
    audit(
        store,
        actor,
        "identity_provider.create",
        Some(&tenant),
        &record.id,
        detail,
    )
    .await?;
    Ok(identity_provider(record))
}

pub async fn list_identity_providers(
    store: &DynStore,
    tenant: Option<&str>,
) -> Result<Vec<IdentityProvider>, ApiError> {
    let tenant = tenant.map(|t| tenant_id("tenant", t)).transpose()?;
    let records = store.list_identity_providers(tenant.as_ref()).await?;
    Ok(records.into_iter().map(identity_provider).collect())
}

/// Unregisters a provider; its tokens are refused from then on. Returns it as it was.
pub async fn delete_identity_provider(
    store: &DynStore,
    actor: &Actor,
    id: &str,
) -> Result<IdentityProvider, ApiError> {
    let id = object_id("id", id)?;
    let existing = store
        .list_identity_providers(None)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found("identity provider", id))?;
    if !store.delete_identity_provider(id).await? {
        return Err(ApiError::not_found("identity provider", id));
    }
    let detail = json!({"issuer": existing.issuer});
    let tenant = existing.tenant.clone();
    audit(
        store,
        actor,
        "identity_provider.delete",
        Some(&tenant),
        id,
        detail,
    )
    .await?;
    Ok(identity_provider(existing))
}

// Audit log -------------------------------------------------------------------------------------

/// Audit entries, newest first, of one tenant or of all.
pub async fn list_audit(
    store: &DynStore,
    tenant: Option<&str>,
    page: Page,
) -> Result<Vec<AuditEntry>, ApiError> {
    let tenant = tenant.map(|t| tenant_id("tenant", t)).transpose()?;
    if page.skip < 0 {
        return Err(ApiError::bad_request("skip: must be 0 or greater"));
    }
    if !(0..=MAX_AUDIT_LIMIT).contains(&page.limit) {
        return Err(ApiError::bad_request(format!(
            "limit: must be between 0 and {MAX_AUDIT_LIMIT}, got {}",
            page.limit
        )));
    }
    let records = store.list_audit(tenant.as_ref(), page).await?;
    Ok(records
        .into_iter()
        .map(|r| AuditEntry {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            tenant: r.tenant,
            target: r.target,
            detail: serde_json::from_str(&r.detail).unwrap_or_else(|_| json!({})),
        })
        .collect())
}
