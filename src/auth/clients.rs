//! Creating OAuth2 clients: from the CLI, and the bootstrap client of a fresh database.

use super::secrets::{generate_secret, hash_secret};
use crate::domain::{Scope, TenantId};
use crate::store::{ClientRecord, DynStore, StoreError};
use serde::Serialize;

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
    pub scopes: Vec<Scope>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

pub async fn create_client(store: &DynStore, new: NewClient) -> anyhow::Result<CreatedClient> {
    anyhow::ensure!(
        !new.tenant.trim().is_empty(),
        "the tenant name must not be empty"
    );
    anyhow::ensure!(!new.scopes.is_empty(), "a client needs at least one scope");
    let client_id = new
        .client_id
        .unwrap_or_else(|| format!("client-{}", uuid::Uuid::new_v4().simple()));
    anyhow::ensure!(
        !client_id.is_empty() && client_id.len() <= 128 && !client_id.contains(':'),
        "a client id must be 1 to 128 characters without ':' (HTTP Basic uses ':' as separator)"
    );
    let client_secret = new.client_secret.unwrap_or_else(generate_secret);
    anyhow::ensure!(
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
        enabled: true,
    };
    match store.insert_client(&record).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => {
            anyhow::bail!("a client with id '{client_id}' already exists")
        }
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
        Err(e) => Err(e),
    }
}
