//! The administration commands of the binary (`tenant`, `client`, `idp`, `audit`). Each opens the
//! database named by `--database-url` / `DATABASE_URL`, calls the same [`service::admin`]
//! function as the admin API (actor `cli` in the audit log) and prints the result as JSON.

use crate::auth::clients;
use crate::config::{
    AuditCommand, ClientCommand, ClientCreateArgs, DatabaseArgs, IdpAddArgs, IdpCommand,
    TenantCommand,
};
use crate::config::{KeysCommand, SecretsCommand, VoltusCommand};
use crate::domain::admin::{IdpRole, NewClient, NewIdentityProvider, NewTenant};
use crate::domain::Scope;
use crate::service::admin::{self, Actor, MissingTenant};
use crate::store::{sealed, DynStore, Page};
use serde::Serialize;
use std::collections::BTreeMap;

async fn open(database: &DatabaseArgs) -> anyhow::Result<DynStore> {
    database.connect().await
}

fn print<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

pub async fn tenant(command: TenantCommand) -> anyhow::Result<()> {
    let cli = Actor::cli();
    match command {
        TenantCommand::Create(args) => {
            let store = open(&args.database).await?;
            print(&admin::create_tenant(&store, &cli, NewTenant { id: args.id }).await?)
        }
        TenantCommand::List(database) => {
            print(&admin::list_tenants(&open(&database).await?).await?)
        }
        TenantCommand::Disable(args) => {
            let store = open(&args.database).await?;
            print(&admin::set_tenant_enabled(&store, &cli, &args.id, false).await?)
        }
        TenantCommand::Enable(args) => {
            let store = open(&args.database).await?;
            print(&admin::set_tenant_enabled(&store, &cli, &args.id, true).await?)
        }
        TenantCommand::Delete(args) => {
            let store = open(&args.database).await?;
            print(&admin::delete_tenant(&store, &cli, &args.id).await?)
        }
    }
}

pub async fn client(command: ClientCommand) -> anyhow::Result<()> {
    let cli = Actor::cli();
    match command {
        ClientCommand::Create(args) => create_client(args).await,
        ClientCommand::List(args) => {
            let store = open(&args.database).await?;
            print(&admin::list_clients(&store, args.tenant.as_deref()).await?)
        }
        ClientCommand::RotateSecret(args) => {
            let store = open(&args.database).await?;
            print(&admin::rotate_secret(&store, &cli, &args.client_id).await?)
        }
        ClientCommand::Disable(args) => {
            let store = open(&args.database).await?;
            print(&admin::set_client_enabled(&store, &cli, &args.client_id, false).await?)
        }
        ClientCommand::Enable(args) => {
            let store = open(&args.database).await?;
            print(&admin::set_client_enabled(&store, &cli, &args.client_id, true).await?)
        }
        ClientCommand::Delete(args) => {
            let store = open(&args.database).await?;
            print(&admin::delete_client(&store, &cli, &args.client_id).await?)
        }
    }
}

/// Unlike the API, creates a missing tenant, and accepts a secret chosen by the operator.
async fn create_client(args: ClientCreateArgs) -> anyhow::Result<()> {
    let scopes = Scope::parse_list(&args.scopes).map_err(anyhow::Error::msg)?;
    let role = args.role(&scopes)?;
    let store = open(&args.database).await?;
    let new = NewClient {
        tenant: args.tenant,
        role: role.into(),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        ven_name: args.ven_name,
        client_id: args.client_id,
    };
    let created = admin::create_client(
        &store,
        &Actor::cli(),
        new,
        args.client_secret,
        MissingTenant::Create,
    )
    .await?;
    // This output predates the admin API; scripts depend on its snake_case shape.
    print(&clients::CreatedClient {
        client_id: created.client.client_id,
        client_secret: created.client_secret,
        tenant: created.client.tenant,
        scopes: scopes.iter().map(|s| s.as_str()).collect(),
    })
}

pub async fn idp(command: IdpCommand) -> anyhow::Result<()> {
    match command {
        IdpCommand::Add(args) => {
            let store = open(&args.database).await?;
            let new = new_identity_provider(*args)?;
            print(&admin::create_identity_provider(&store, &Actor::cli(), new).await?)
        }
        IdpCommand::List(args) => {
            let store = open(&args.database).await?;
            print(&admin::list_identity_providers(&store, args.tenant.as_deref()).await?)
        }
        IdpCommand::Delete(args) => {
            let store = open(&args.database).await?;
            print(&admin::delete_identity_provider(&store, &Actor::cli(), &args.id).await?)
        }
    }
}

fn new_identity_provider(args: IdpAddArgs) -> anyhow::Result<NewIdentityProvider> {
    let mut role_scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for mapping in &args.role_scopes {
        let (role, scopes) = mapping.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--role-scope '{mapping}': expected ROLE=SCOPE,SCOPE")
        })?;
        let scopes = scopes
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        role_scopes
            .entry(role.to_owned())
            .or_default()
            .extend(scopes);
    }
    Ok(NewIdentityProvider {
        tenant: args.tenant,
        issuer: args.issuer,
        audience: args.audience,
        jwks_url: args.jwks_url,
        scope_claim: args.scope_claim,
        roles_claim: args.roles_claim,
        role_scopes,
        ven_claim: args.ven_claim,
        role: IdpRole::parse(&args.role)
            .ok_or_else(|| anyhow::anyhow!("--role: expected bl, ven or mapped"))?,
        bl_roles: args.bl_roles,
        ven_roles: args.ven_roles,
    })
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::List(args) => {
            let store = open(&args.database).await?;
            let page = Page {
                skip: args.skip,
                limit: args.limit,
            };
            print(&admin::list_audit(&store, args.tenant.as_deref(), page).await?)
        }
    }
}

pub async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate(database) => {
            let kid = admin::rotate_signing_key(&open(&database).await?, &Actor::cli()).await?;
            print(&serde_json::json!({ "kid": kid }))
        }
        KeysCommand::List(database) => {
            let keys = open(&database).await?.list_signing_keys(0).await?;
            let public: Vec<_> = keys
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "kid": k.kid,
                        "algorithm": k.algorithm,
                        "createdAtMs": k.created_at_ms,
                        "retiredAtMs": k.retired_at_ms,
                    })
                })
                .collect();
            print(&public)
        }
    }
}

pub async fn secrets(command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::Reseal(database) => {
            // Opening seals what is still in plaintext; reseal then moves every value sealed
            // with an older key to the current one.
            let kid = database
                .secrets
                .cipher(&database.database_url)?
                .current_kid()
                .to_owned();
            let store = open(&database).await?;
            let columns = admin::reseal_secrets(&store, &Actor::cli()).await?;
            print(&serde_json::json!({ "kid": kid, "columns": columns }))
        }
        SecretsCommand::GenerateKey(args) => {
            let kid = args
                .kid
                .unwrap_or_else(|| format!("key-{}", chrono::Utc::now().format("%Y%m%d")));
            let line = sealed::generate_key_line(&kid);
            // Validates the id the same way the server will.
            sealed::SecretCipher::parse(&line, "--kid")?;
            println!("{line}");
            Ok(())
        }
    }
}

pub async fn voltus(command: VoltusCommand) -> anyhow::Result<()> {
    use crate::bridge::voltus::settings::{self, Limits, VoltusConfigInput};
    match command {
        VoltusCommand::Set(args) => {
            let input: VoltusConfigInput = serde_json::from_value(serde_json::json!({
                "baseUrl": args.base_url,
                "apiKey": args.api_key,
                "programName": args.program_name,
                "siteTarget": args.site_target,
                "targetType": args.target_type,
                "pollIntervalSeconds": args.poll_interval_seconds,
                "testDispatches": args.test_dispatches,
                "cancellation": args.cancellation,
                "webhookSecret": args.webhook_secret,
                "telemetry": args.telemetry,
                "enabled": args.enabled,
            }))
            .map_err(|e| anyhow::anyhow!("{e} (--site-target: customer_location_id|site_id; --test-dispatches: test_program|publish|skip; --cancellation: zero_window|delete)"))?;
            let limits = Limits {
                policy: crate::bridge::voltus::policy(
                    &args.policy,
                    std::time::Duration::from_secs(10),
                ),
                min_poll_seconds: args.policy.voltus_min_poll_seconds,
            };
            let store = open(&args.database).await?;
            print(&settings::put(&store, &limits, "cli", &args.tenant, input).await?)
        }
        VoltusCommand::Show(args) => {
            let store = open(&args.database).await?;
            print(&settings::get(&store, &args.id).await?)
        }
        VoltusCommand::Status(args) => {
            let store = open(&args.database).await?;
            let tenant = admin::tenant_id("tenant", &args.id)?;
            print(&settings::get_status(&store, &tenant).await?)
        }
        VoltusCommand::Delete(args) => {
            let store = open(&args.database).await?;
            print(&settings::delete(&store, "cli", &args.id).await?)
        }
    }
}
