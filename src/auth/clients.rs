//! Creating OAuth2 clients: for the administration API and CLI, and the bootstrap client of a fresh database.

use super::secrets::{generate_secret, hash_secret};
use crate::domain::{Role, Scope, TenantId};
use crate::store::{ClientRecord, DynStore, StoreError};
use serde::Serialize;

/// Why a client was not created.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request breaks a rule (scope not allowed for the role, bad id, …).
    #[error("{0}")]
    Invalid(String),
    #[error("a client with id '{0}' already exists")]
    Duplicate(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for ClientError {
    fn from(err: StoreError) -> Self {
        Self::Internal(err.into())
    }
}

macro_rules! ensure_valid {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(ClientError::Invalid(format!($($msg)+)));
        }
    };
}

/// What the creator of a client is told, once. The secret is not stored anywhere readable.
#[derive(Debug, Serialize)]
pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub tenant: String,
    pub scopes: Vec<&'static str>,
}

pub struct NewClient {
    pub tenant: String,
    pub role: Role,
    /// Required for, and only for, VEN clients.
    pub ven_name: Option<String>,
    pub scopes: Vec<Scope>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

pub async fn create_client(store: &DynStore, new: NewClient) -> Result<CreatedClient, ClientError> {
    ensure_valid!(
        !new.tenant.trim().is_empty(),
        "the tenant name must not be empty"
    );
    ensure_valid!(!new.scopes.is_empty(), "a client needs at least one scope");
    if let Some(scope) = new
        .scopes
        .iter()
        .find(|s| !new.role.allowed_scopes().contains(s))
    {
        return Err(ClientError::Invalid(format!(
            "a {} client may not hold the scope '{}'; allowed: {}",
            new.role.as_str(),
            scope.as_str(),
            Scope::join(new.role.allowed_scopes())
        )));
    }
    match (new.role, &new.ven_name) {
        (Role::Ven, None) => ensure_valid!(false, "a VEN client must be bound to a VEN name"),
        (Role::Ven, Some(name)) => {
            ensure_valid!(
                (1..=128).contains(&name.chars().count()),
                "a VEN name must be 1 to 128 characters"
            )
        }
        (_, Some(_)) => ensure_valid!(false, "only VEN clients are bound to a VEN name"),
        (_, None) => {}
    }
    let client_id = new
        .client_id
        .unwrap_or_else(|| format!("client-{}", uuid::Uuid::new_v4().simple()));
    ensure_valid!(
        !client_id.is_empty() && client_id.len() <= 128 && !client_id.contains(':'),
        "a client id must be 1 to 128 characters without ':' (HTTP Basic uses ':' as separator)"
    );
    let client_secret = new.client_secret.unwrap_or_else(generate_secret);
    ensure_valid!(
        client_secret.len() >= 8,
        "a client secret must be at least 8 characters"
    );

    let tenant = TenantId(new.tenant);
    store.ensure_tenant(&tenant).await?;
    let record = ClientRecord {
        client_id: client_id.clone(),
        tenant: tenant.clone(),
        secret_hash: hash_secret(client_secret.clone()).await?,
        scopes: Scope::join(&new.scopes),
        role: new.role.as_str().to_owned(),
        ven_name: new.ven_name.clone(),
        enabled: true,
        instance_id: uuid::Uuid::new_v4().simple().to_string(),
    };
    match store.insert_client(&record).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => return Err(ClientError::Duplicate(client_id)),
        Err(other) => return Err(other.into()),
    }
    Ok(CreatedClient {
        client_id,
        client_secret,
        tenant: tenant.0,
        scopes: new.scopes.iter().map(|s| s.as_str()).collect(),
    })
}

/// On a database without clients, creates tenant `default` with one business-logic client holding
/// the six 3.0.1 scopes. Returns it when it was created, so the caller can show the secret once.
pub async fn bootstrap(
    store: &DynStore,
    client_id: &str,
    client_secret: Option<String>,
) -> anyhow::Result<Option<CreatedClient>> {
    if store.count_clients().await? > 0 {
        return Ok(None);
    }
    let created = create_client(
        store,
        NewClient {
            tenant: "default".to_owned(),
            role: Role::BusinessLogic,
            ven_name: None,
            scopes: Scope::BUSINESS_LOGIC.to_vec(),
            client_id: Some(client_id.to_owned()),
            client_secret,
        },
    )
    .await;
    match created {
        Ok(client) => Ok(Some(client)),
        // Another replica bootstrapped the same database a moment earlier.
        Err(_) if store.count_clients().await? > 0 => Ok(None),
        Err(e) => Err(e.into()),
    }
}
