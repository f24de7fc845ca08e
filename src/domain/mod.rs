//! Wire types of the OpenADR 3.0.1 API and the rules that apply to them, independent of HTTP and SQL.

pub mod admin;
pub mod audience;
pub mod common;
pub mod energy;
pub mod event;
pub mod program;
pub mod report;
pub mod subscription;
pub mod validate;
pub mod ven;

pub use common::{IsoDuration, ObjectId};
pub use event::{ActiveWindow, Event};
pub use program::Program;
pub use ven::{Resource, Ven};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Types of objects addressable through the API (the `objectType` discriminator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(as = objectTypes)]
pub enum ObjectType {
    Program,
    Event,
    Report,
    Subscription,
    Ven,
    Resource,
}

/// One tenant: every object belongs to exactly one, and no request crosses tenants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(pub String);

impl TenantId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The scopes of OpenADR 3.0.1, plus 3.1's `read_targets` and `read_ven_objects` for VEN clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    ReadAll,
    WritePrograms,
    WriteEvents,
    WriteReports,
    WriteSubscriptions,
    WriteVens,
    ReadTargets,
    ReadVenObjects,
    /// Operator administration (tenants, clients, keys). Only `admin` clients hold it.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::ReadAll,
        Scope::WritePrograms,
        Scope::WriteEvents,
        Scope::WriteReports,
        Scope::WriteSubscriptions,
        Scope::WriteVens,
        Scope::ReadTargets,
        Scope::ReadVenObjects,
        Scope::Admin,
    ];

    /// What a business-logic client gets by default: the six 3.0.1 scopes.
    pub const BUSINESS_LOGIC: [Scope; 6] = [
        Scope::ReadAll,
        Scope::WritePrograms,
        Scope::WriteEvents,
        Scope::WriteReports,
        Scope::WriteSubscriptions,
        Scope::WriteVens,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadAll => "read_all",
            Scope::WritePrograms => "write_programs",
            Scope::WriteEvents => "write_events",
            Scope::WriteReports => "write_reports",
            Scope::WriteSubscriptions => "write_subscriptions",
            Scope::WriteVens => "write_vens",
            Scope::ReadTargets => "read_targets",
            Scope::ReadVenObjects => "read_ven_objects",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Parses a space- or comma-separated list, naming the first unknown scope on failure.
    pub fn parse_list(raw: &str) -> Result<Vec<Scope>, String> {
        let mut scopes = Vec::new();
        for name in raw.split([' ', ',']).filter(|s| !s.is_empty()) {
            let scope = Self::parse(name).ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown scope '{name}'; known scopes: {}", known.join(", "))
            })?;
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes.sort();
        Ok(scopes)
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What kind of party a client is; the role fixes which scopes it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Business logic: the utility or aggregator publishing programs and events.
    BusinessLogic,
    /// A VEN, bound to one VEN name.
    Ven,
    /// The operator of a hosted VTN: administers tenants and clients, sees no tenant objects.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::BusinessLogic => "bl",
            Role::Ven => "ven",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "bl" => Ok(Role::BusinessLogic),
            "ven" => Ok(Role::Ven),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}'; roles are bl, ven and admin"
            )),
        }
    }

    /// Scopes a client of this role may hold. The 3.0.1 spec reserves `write_programs` and
    /// `write_events` for business logic; `admin` is for operators only.
    pub fn allowed_scopes(self) -> &'static [Scope] {
        match self {
            Role::BusinessLogic => &[
                Scope::ReadAll,
                Scope::WritePrograms,
                Scope::WriteEvents,
                Scope::WriteReports,
                Scope::WriteSubscriptions,
                Scope::WriteVens,
                Scope::ReadTargets,
                Scope::ReadVenObjects,
            ],
            Role::Ven => &[
                Scope::ReadAll,
                Scope::ReadTargets,
                Scope::ReadVenObjects,
                Scope::WriteReports,
                Scope::WriteSubscriptions,
                Scope::WriteVens,
            ],
            Role::Admin => &[Scope::Admin],
        }
    }
}
