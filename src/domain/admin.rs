//! Wire types of the administration API (`/admin/…`) and the rules that apply to them: tenants,
//! clients with their roles, external identity providers, audit entries.
//!
//! Request bodies are strict (unknown fields are errors) and checked with [`Validate`]; responses
//! never carry a secret hash, and a client secret only in the one response that creates it.

use super::common::truncate_for_message;
use super::validate::{Validate, Violations};
use super::{Role, Scope, TenantId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The rule for tenant ids, shown in errors.
pub const TENANT_ID_RULE: &str = "must be 1 to 64 characters of a-z, 0-9, '_' and '-'";

/// Parses a tenant id: `^[a-z0-9_-]{1,64}$`.
pub fn parse_tenant_id(raw: &str) -> Result<TenantId, String> {
    let valid = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if valid {
        Ok(TenantId(raw.to_owned()))
    } else {
        Err(format!("'{}' {TENANT_ID_RULE}", truncate_for_message(raw)))
    }
}

fn tenant_rule(v: &mut Violations, field: &str, raw: &str) {
    if let Err(why) = parse_tenant_id(raw) {
        v.add(field, why);
    }
}

/// 1 to `max` characters, none of them control characters (NUL included).
pub fn check_text(raw: &str, max: usize) -> Result<(), String> {
    let len = raw.chars().count();
    if len == 0 || len > max {
        Err(format!(
            "length must be between 1 and {max} characters, got {len}"
        ))
    } else if raw.chars().any(char::is_control) {
        Err("must not contain control characters".to_owned())
    } else {
        Ok(())
    }
}

fn text_rule(v: &mut Violations, field: &str, raw: &str, max: usize) {
    if let Err(why) = check_text(raw, max) {
        v.add(field, why);
    }
}

/// The longest client id, and the longest id looked up by an admin path parameter.
pub const MAX_ID_CHARS: usize = 128;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewTenant {
    /// Tenant id: 1 to 64 characters of a-z, 0-9, `_` and `-`.
    #[schema(
        pattern = "^[a-z0-9_-]*$",
        min_length = 1,
        max_length = 64,
        example = "acme"
    )]
    pub id: String,
}

impl Validate for NewTenant {
    fn validate(&self, v: &mut Violations) {
        tenant_rule(v, "id", &self.id);
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    #[schema(example = "acme")]
    pub id: String,
    /// A disabled tenant's clients get no tokens, and their issued tokens stop working.
    pub enabled: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// What kind of party a client is; the role fixes which scopes it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClientRole {
    /// Business logic: may hold every OpenADR scope, never `admin`.
    Bl,
    /// A VEN bound to one VEN name: `read_all`, `read_targets`, `read_ven_objects`,
    /// `write_reports`, `write_subscriptions`, `write_vens`.
    Ven,
    /// An operator: only `admin`.
    Admin,
}

impl From<ClientRole> for Role {
    fn from(role: ClientRole) -> Self {
        match role {
            ClientRole::Bl => Role::BusinessLogic,
            ClientRole::Ven => Role::Ven,
            ClientRole::Admin => Role::Admin,
        }
    }
}

impl From<Role> for ClientRole {
    fn from(role: Role) -> Self {
        match role {
            Role::BusinessLogic => ClientRole::Bl,
            Role::Ven => ClientRole::Ven,
            Role::Admin => ClientRole::Admin,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewClient {
    /// The tenant the client acts in; it must exist.
    #[schema(example = "acme")]
    pub tenant: String,
    pub role: ClientRole,
    /// Scopes the client may request; each must be allowed for the role.
    #[schema(example = json!(["read_all", "write_programs", "write_events"]))]
    pub scopes: Vec<String>,
    /// Required for, and only for, `ven` clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "ven-17")]
    pub ven_name: Option<String>,
    /// Client id; generated when absent. At most 128 characters, no `:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl NewClient {
    /// The scopes, once [`Validate`] has accepted them.
    pub fn parsed_scopes(&self) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = self.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }
}

impl Validate for NewClient {
    fn validate(&self, v: &mut Violations) {
        tenant_rule(v, "tenant", &self.tenant);
        let role = Role::from(self.role);
        if self.scopes.is_empty() {
            v.add("scopes", "a client needs at least one scope");
        }
        for (i, name) in self.scopes.iter().enumerate() {
            match Scope::parse(name) {
                None => v.add(
                    format!("scopes[{i}]"),
                    format!("unknown scope '{}'", truncate_for_message(name)),
                ),
                Some(scope) if !role.allowed_scopes().contains(&scope) => v.add(
                    format!("scopes[{i}]"),
                    format!(
                        "a {} client may not hold '{}'; allowed: {}",
                        role.as_str(),
                        scope.as_str(),
                        Scope::join(role.allowed_scopes())
                    ),
                ),
                Some(_) => {}
            }
        }
        match (&self.ven_name, role) {
            (None, Role::Ven) => v.add("venName", "a ven client must be bound to a VEN name"),
            (Some(name), Role::Ven) => text_rule(v, "venName", name, 128),
            (Some(_), _) => v.add("venName", "only ven clients are bound to a VEN name"),
            (None, _) => {}
        }
        if let Some(id) = &self.client_id {
            text_rule(v, "clientId", id, 128);
            if id.contains(':') {
                v.add(
                    "clientId",
                    "must not contain ':' (HTTP Basic uses it as separator)",
                );
            }
        }
    }
}

/// A client as the administration API shows it: never its secret or secret hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub client_id: String,
    pub tenant: String,
    pub role: ClientRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ven_name: Option<String>,
    #[schema(example = json!(["read_all", "write_programs"]))]
    pub scopes: Vec<String>,
    /// False when the client or its tenant is disabled.
    pub enabled: bool,
}

/// A new client with its secret, shown only in this response.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedClient {
    #[serde(flatten)]
    pub client: Client,
    pub client_secret: String,
}

/// A client's new secret, shown only in this response; the previous one stops working.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    pub client_id: String,
    pub client_secret: String,
}

fn default_scope_claim() -> String {
    "scope".to_owned()
}

/// How an identity provider's tokens get their role. There is no default: a provider that
/// guessed wrong would hand out business-logic (or VEN) principals it was not meant to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdpRole {
    /// Every token is business logic; `venClaim` must not be set.
    Bl,
    /// Every token is a VEN principal bound to the VEN named by `venClaim` (required): a
    /// string of 1 to 128 characters without control characters. A token whose claim is
    /// missing, empty, an array, a number or an object is refused (401).
    Ven,
    /// `rolesClaim` (required) must name exactly one of the two roles: business logic when one
    /// of its values is in `blRoles`, a VEN (named by `venClaim`) when one is in `venRoles`.
    /// Values of both lists, or of neither, are refused (401).
    Mapped,
}

impl IdpRole {
    pub fn as_str(self) -> &'static str {
        match self {
            IdpRole::Bl => "bl",
            IdpRole::Ven => "ven",
            IdpRole::Mapped => "mapped",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [IdpRole::Bl, IdpRole::Ven, IdpRole::Mapped]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

/// A VEN name as a VEN principal carries it: 1 to 128 characters, no control characters.
pub fn valid_ven_name(name: &str) -> bool {
    (1..=128).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

/// A tenant's own OAuth2/OIDC identity provider, whose tokens act in that tenant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewIdentityProvider {
    #[schema(example = "acme")]
    pub tenant: String,
    /// The `iss` of its tokens; one provider per issuer.
    #[schema(example = "https://login.acme.example/")]
    pub issuer: String,
    /// The `aud` its tokens must carry.
    #[schema(example = "openadr3-vtn")]
    pub audience: String,
    /// Where its signing keys are published (http or https).
    #[schema(example = "https://login.acme.example/.well-known/jwks.json")]
    pub jwks_url: String,
    /// Claim holding scopes, a space-separated string or an array.
    #[serde(default = "default_scope_claim")]
    #[schema(default = "scope")]
    pub scope_claim: String,
    /// Claim holding role names, mapped to scopes by `roleScopes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "roles")]
    pub roles_claim: Option<String>,
    /// Role name -> scopes it grants.
    #[serde(default)]
    #[schema(example = json!({"dr-operator": ["read_all", "write_programs", "write_events"]}))]
    pub role_scopes: BTreeMap<String, Vec<String>>,
    /// Claim naming the VEN a VEN token is bound to (one string): required for role `ven`, and
    /// for role `mapped` with `venRoles`; not allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "ven_name")]
    pub ven_claim: Option<String>,
    /// Which role the provider's tokens act in: `bl`, `ven` or `mapped`.
    pub role: IdpRole,
    /// With role `mapped`: values of `rolesClaim` that make a token business logic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["dr-operator"]))]
    pub bl_roles: Vec<String>,
    /// With role `mapped`: values of `rolesClaim` that make a token a VEN's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!(["ven"]))]
    pub ven_roles: Vec<String>,
}

/// Role values of `blRoles`/`venRoles`: claim values, compared exactly. A space would never
/// match, since a string roles claim is split at spaces.
fn role_values_rule(v: &mut Violations, field: &str, values: &[String]) {
    for (i, value) in values.iter().enumerate() {
        let name = format!("{field}[{i}]");
        text_rule(v, &name, value, 128);
        if value.chars().any(char::is_whitespace) {
            v.add(&name, "must not contain whitespace");
        }
    }
}

impl NewIdentityProvider {
    fn validate_role(&self, v: &mut Violations) {
        let mapped_only = |v: &mut Violations, field: &str, values: &[String]| {
            if !values.is_empty() {
                v.add(
                    field,
                    format!("only for role mapped, not {}", self.role.as_str()),
                );
            }
        };
        match self.role {
            IdpRole::Bl => {
                if self.ven_claim.is_some() {
                    v.add(
                        "venClaim",
                        "role bl makes every token business logic; use role ven or mapped for VEN tokens",
                    );
                }
                mapped_only(v, "blRoles", &self.bl_roles);
                mapped_only(v, "venRoles", &self.ven_roles);
            }
            IdpRole::Ven => {
                if self.ven_claim.is_none() {
                    v.add("venClaim", "role ven needs the claim that names the VEN");
                }
                mapped_only(v, "blRoles", &self.bl_roles);
                mapped_only(v, "venRoles", &self.ven_roles);
            }
            IdpRole::Mapped => {
                if self.roles_claim.is_none() {
                    v.add(
                        "rolesClaim",
                        "role mapped needs the claim that holds the roles",
                    );
                }
                if self.bl_roles.is_empty() && self.ven_roles.is_empty() {
                    v.add("blRoles", "role mapped needs blRoles, venRoles or both");
                }
                match (&self.ven_claim, self.ven_roles.is_empty()) {
                    (None, false) => {
                        v.add("venClaim", "venRoles need the claim that names the VEN")
                    }
                    (Some(_), true) => v.add("venClaim", "only used with venRoles"),
                    _ => {}
                }
                role_values_rule(v, "blRoles", &self.bl_roles);
                role_values_rule(v, "venRoles", &self.ven_roles);
                if let Some(both) = self.bl_roles.iter().find(|r| self.ven_roles.contains(r)) {
                    v.add(
                        "venRoles",
                        format!("'{}' is in blRoles too", truncate_for_message(both)),
                    );
                }
            }
        }
    }
}

impl Validate for NewIdentityProvider {
    fn validate(&self, v: &mut Violations) {
        tenant_rule(v, "tenant", &self.tenant);
        text_rule(v, "issuer", &self.issuer, 512);
        text_rule(v, "audience", &self.audience, 512);
        text_rule(v, "jwksUrl", &self.jwks_url, 2048);
        match reqwest::Url::parse(&self.jwks_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            _ => v.add("jwksUrl", "must be an absolute http or https URL"),
        }
        text_rule(v, "scopeClaim", &self.scope_claim, 128);
        for (field, claim) in [
            ("rolesClaim", &self.roles_claim),
            ("venClaim", &self.ven_claim),
        ] {
            if let Some(claim) = claim {
                text_rule(v, field, claim, 128);
            }
        }
        for (role, scopes) in &self.role_scopes {
            text_rule(v, &format!("roleScopes.{role}"), role, 128);
            for (i, name) in scopes.iter().enumerate() {
                match Scope::parse(name) {
                    None => v.add(
                        format!("roleScopes.{role}[{i}]"),
                        format!("unknown scope '{}'", truncate_for_message(name)),
                    ),
                    Some(Scope::Admin) => v.add(
                        format!("roleScopes.{role}[{i}]"),
                        "an identity provider cannot grant 'admin'",
                    ),
                    Some(_) => {}
                }
            }
        }
        self.validate_role(v);
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityProvider {
    pub id: String,
    pub tenant: String,
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    pub scope_claim: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles_claim: Option<String>,
    pub role_scopes: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ven_claim: Option<String>,
    pub role: IdpRole,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bl_roles: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ven_roles: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// One administrative action: who did what to which object, and when. Never a secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Increases with every entry.
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// Client id of the caller, or `cli` for the command line.
    pub actor: String,
    #[schema(example = "client.rotate_secret")]
    pub action: String,
    /// Tenant concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Id of the object acted on.
    pub target: String,
    /// Action-specific details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        for ok in ["a", "acme", "tenant-b", "t_1", &"x".repeat(64)] {
            assert!(parse_tenant_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Acme", "a b", "a/b", "ä", &"x".repeat(65)] {
            assert!(parse_tenant_id(bad).is_err(), "{bad}");
        }
    }

    fn violations<T: Validate>(value: &T) -> String {
        Violations::check(value).err().unwrap_or_default()
    }

    #[test]
    fn client_roles_limit_scopes() {
        let mut new = NewClient {
            tenant: "acme".into(),
            role: ClientRole::Ven,
            scopes: vec!["read_all".into(), "write_events".into()],
            ven_name: Some("ven-1".into()),
            client_id: None,
        };
        assert!(violations(&new).starts_with("scopes[1]: a ven client may not hold 'write_events'"));
        new.scopes = vec!["read_all".into()];
        assert_eq!(violations(&new), "");
        new.ven_name = None;
        assert!(violations(&new).starts_with("venName:"));
        new.role = ClientRole::Bl;
        new.scopes = vec!["admin".into()];
        assert!(violations(&new).starts_with("scopes[0]: a bl client may not hold 'admin'"));
    }

    #[test]
    fn identity_providers_need_an_http_jwks_url_and_known_scopes() {
        let mut idp: NewIdentityProvider = serde_json::from_value(serde_json::json!({
            "tenant": "acme", "issuer": "https://idp", "audience": "vtn",
            "jwksUrl": "ftp://idp/jwks", "roleScopes": {"op": ["read_all", "nope"]}, "role": "bl",
        }))
        .unwrap();
        assert_eq!(idp.scope_claim, "scope");
        let found = violations(&idp);
        assert!(
            found.contains("jwksUrl:") && found.contains("roleScopes.op[1]: unknown scope 'nope'"),
            "{found}"
        );
        idp.jwks_url = "https://idp/jwks".into();
        idp.role_scopes.clear();
        assert_eq!(violations(&idp), "");
    }
}
