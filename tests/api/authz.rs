//! The authorization policy of every endpoint, in one table: each row is an endpoint and method,
//! each column a caller, each cell the answer that caller gets. `authorization_matrix` runs every
//! cell against a seeded server and reports all cells that differ, at once.
//!
//! Tenant A holds VEN `ven-1` (with a resource), VEN `ven-x`, a program and an event aimed at
//! `ven-1`, a report and a subscription of `ven-1`, and `ven-1`'s Energy Coordination user with a
//! vehicle, a meter and a resource. Paths name them by placeholder (`{program}` …). A row marked
//! `New(…)` works on a fresh object of its own, made again after every cell that changed it, so
//! that each cell starts from a known state; a refused write must leave what it aimed at (or the
//! collection it posted to) exactly as it was.
//!
//! The other tests here check that what is refused also leaks nothing: another tenant's and
//! another VEN's lists, filters, pages, headers, error bodies and webhooks.
//!
//! Besides the plain callers, columns cover clients holding only OpenADR 3.1's narrow scopes,
//! business logic and a VEN through an external identity provider, and a VEN that
//! tried to widen what it sees and must see exactly what `ven-x` sees (`ven-widening`).

use crate::backend_tests;
use crate::energy_assets::{meter, tank, vehicle};
use crate::helpers::*;
use crate::receiver::{callback_url, Received, Receiver};
use crate::tokens::{TestProvider, AUDIENCE, ISSUER};
use crate::vens::ven_token;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const TENANT_A: &str = "tenant-a";
const TENANT_B: &str = "tenant-b";
/// Every scope the `bl` role may hold.
const BL_SCOPES: &str = "read_all,read_targets,read_ven_objects,write_programs,write_events,\
                         write_reports,write_subscriptions,write_vens";
/// Only OpenADR 3.1's narrow read scopes.
const NARROW_SCOPES: &str = "read_targets,read_ven_objects";
/// Every scope the `ven` role may hold.
const VEN_SCOPES: &str =
    "read_all,read_targets,read_ven_objects,write_reports,write_subscriptions,write_vens";

/// The callers, in the order of the table's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// No `Authorization` header.
    NoToken,
    /// A token of business logic of tenant A, signed with the server's key, expired.
    Expired,
    /// `Bearer not-a-jwt`.
    Malformed,
    /// Business logic of tenant A with every scope of its role.
    BlA,
    /// A VEN client of tenant A bound to `ven-x`, another VEN than the objects'.
    VenX,
    /// A VEN client of tenant A bound to `ven-1`, the objects' VEN.
    Ven1,
    /// Business logic of tenant B with every scope of its role.
    BlB,
    /// An operator: an `admin` client (tenant `operator`), scope `admin` only.
    Admin,
    /// Business logic of tenant A holding only OpenADR 3.1's narrow read scopes
    /// (`read_targets`, `read_ven_objects`), which business logic cannot use: it reads with
    /// `read_all`.
    BlNarrow,
    /// A VEN client of tenant A bound to `ven-1` holding only `read_targets` and
    /// `read_ven_objects`: it reads what `ven-1` may read, and writes nothing.
    VenNarrow,
    /// Business logic of tenant A through an external identity provider (a `mapped` role).
    IdpBl,
    /// `ven-1` through the same external identity provider (its VEN claim).
    IdpVen,
    /// A VEN client of tenant A bound to `ven-widening`, which tried to widen what it sees: it wrote
    /// `ven-1` into its VEN's targets and a resource's targets (both refused) and named a
    /// resource like `ven-1`'s. It must see exactly what `ven-x` sees.
    VenWiden,
}
use Caller::*;

const CALLERS: [Caller; 13] = [
    NoToken, Expired, Malformed, BlA, VenX, Ven1, BlB, Admin, BlNarrow, VenNarrow, IdpBl, IdpVen,
    VenWiden,
];

/// What a cell expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// Exactly this status.
    S(u16),
    /// 401 with a `WWW-Authenticate: Bearer` challenge (`error="invalid_token"` when a token
    /// was sent).
    Unauth,
    /// 403 with an RFC 6750 `error="insufficient_scope"` challenge: the token lacks the scope.
    Scope,
    /// 403 without a challenge: the token has the scope, the caller's role or VEN forbids it.
    Denied,
    /// 200 with a list that holds tenant A's seeded object.
    Listed,
    /// 200 with a list that holds nothing of tenant A's seeded objects.
    Hidden,
}
use Want::*;

const U: Want = Unauth;
const SC: Want = Scope;
const DN: Want = Denied;
const LS: Want = Listed;
const HD: Want = Hidden;
const OK: Want = S(200);
const NEW: Want = S(201);
const BAD: Want = S(400);
const NF: Want = S(404);
const DUP: Want = S(409);

/// Objects a row may need fresh, each filling the placeholder [`Obj::placeholder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Obj {
    Program,
    Event,
    Report,
    Subscription,
    /// The VEN named `ven-1` (there is only one): made again after it was deleted.
    TheVen,
    Resource,
    User,
    Vehicle,
    Meter,
    Tank,
    Tenant,
    /// A tenant with a Voltus bridge.
    VoltusTenant,
    Client,
    Idp,
}

impl Obj {
    fn placeholder(self) -> &'static str {
        match self {
            Obj::Program => "program",
            Obj::Event => "event",
            Obj::Report => "report",
            Obj::Subscription => "subscription",
            Obj::TheVen => "ven",
            Obj::Resource => "resource",
            Obj::User => "user",
            Obj::Vehicle => "vehicle",
            Obj::Meter => "meter",
            Obj::Tank => "tank",
            Obj::Tenant | Obj::VoltusTenant => "tenant",
            Obj::Client => "client",
            Obj::Idp => "idp",
        }
    }
}

/// Which object a row works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fx {
    /// The seeded objects (reads, and writes that leave them as they were).
    Seed,
    /// A fresh object of its own, made again after each cell that succeeded.
    New(Obj),
}
use Fx::*;
use Obj::*;

/// The request body of a row; valid, so that an allowed caller succeeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    No,
    /// A program with a new name, aimed at `ven-1`.
    Program,
    /// An event of `{program}` aimed at `ven-1`.
    Event,
    /// A report of `ven-1` (`clientName`) on `{event}`.
    Report,
    /// A subscription of `ven-1` (`clientName`) to `{program}`'s events.
    Subscription,
    /// A VEN with a new name.
    Ven,
    /// The VEN named `ven-1`.
    Ven1,
    /// A resource with a new name.
    Resource,
    /// A new user (POST) or `{user}` (PUT).
    User,
    Vehicle,
    Meter,
    Tank,
    Tenant,
    Client,
    Idp,
    Voltus,
    /// Voltus's test payload for the inbound webhook.
    Ping,
    /// A client-credentials form of tenant A's business logic.
    TokenForm,
}

type Row = (&'static str, &'static str, Body, Fx, [Want; 13]);

/// THE POLICY. Paths are under `/api/openadr/v1` unless they start with `^` (the server's root).
///
/// Notes on cells that are not plain allow/deny:
/// - A VEN client posting a report or subscription as `clientName: ven-1` when it is `ven-x` is a
///   400 (it must use its own name); tenant B posting one for tenant A's program or event is a
///   400 "does not exist", as for any unknown id.
/// - Tenant B may create a VEN named `ven-1`: names are unique per tenant, and a 409 would
///   reveal tenant A's VEN. In tenant A it is a 409; `ven-x` may not create it at all (403).
/// - The Energy Coordination API (`/users…`) is for VEN clients: business logic is refused by
///   role (403). Users are per VEN: `ven-x` has its own (empty) set, and `ven-1`'s is a 404.
/// - `/bridge/voltus/status` is for business logic: VEN clients are refused by role (403, no
///   `insufficient_scope` naming `read_all`, which they hold).
/// - `POST /admin/keys/rotate` is 409 here because the test server signs with an HS256 secret.
/// - Public endpoints ignore the `Authorization` header, also a bad one. The Voltus webhook is
///   authenticated by the secret in its path alone.
#[rustfmt::skip]
static MATRIX: &[Row] = &[
    // columns:                                                                                          none exp. bad  blA  venX ven1 blB  admin blN  venN idpB idpV venW
    ("GET",    "/programs",                                      Body::No,           Seed,              [U,   U,   U,   LS,  HD,  LS,  HD,  SC,  SC,  LS,  LS,  LS,  HD]),
    ("POST",   "/programs",                                      Body::Program,      Seed,              [U,   U,   U,   NEW, SC,  SC,  NEW, SC,  SC,  SC,  NEW, SC,  SC]),
    ("GET",    "/programs/{program}",                            Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("PUT",    "/programs/{program}",                            Body::Program,      New(Program),      [U,   U,   U,   OK,  SC,  SC,  NF,  SC,  SC,  SC,  OK,  SC,  SC]),
    ("DELETE", "/programs/{program}",                            Body::No,           New(Program),      [U,   U,   U,   OK,  SC,  SC,  NF,  SC,  SC,  SC,  OK,  SC,  SC]),

    ("GET",    "/events",                                        Body::No,           Seed,              [U,   U,   U,   LS,  HD,  LS,  HD,  SC,  SC,  LS,  LS,  LS,  HD]),
    ("POST",   "/events",                                        Body::Event,        Seed,              [U,   U,   U,   NEW, SC,  SC,  BAD, SC,  SC,  SC,  NEW, SC,  SC]),
    ("GET",    "/events/{event}",                                Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("PUT",    "/events/{event}",                                Body::Event,        New(Event),        [U,   U,   U,   OK,  SC,  SC,  NF,  SC,  SC,  SC,  OK,  SC,  SC]),
    ("DELETE", "/events/{event}",                                Body::No,           New(Event),        [U,   U,   U,   OK,  SC,  SC,  NF,  SC,  SC,  SC,  OK,  SC,  SC]),

    ("GET",    "/reports",                                       Body::No,           Seed,              [U,   U,   U,   LS,  HD,  LS,  HD,  SC,  SC,  LS,  LS,  LS,  HD]),
    ("POST",   "/reports",                                       Body::Report,       Seed,              [U,   U,   U,   NEW, BAD, NEW, BAD, SC,  SC,  SC,  NEW, NEW, BAD]),
    ("GET",    "/reports/{report}",                              Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("PUT",    "/reports/{report}",                              Body::Report,       New(Report),       [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),
    ("DELETE", "/reports/{report}",                              Body::No,           New(Report),       [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),

    ("GET",    "/subscriptions",                                 Body::No,           Seed,              [U,   U,   U,   LS,  HD,  LS,  HD,  SC,  SC,  LS,  LS,  LS,  HD]),
    ("POST",   "/subscriptions",                                 Body::Subscription, Seed,              [U,   U,   U,   NEW, BAD, NEW, BAD, SC,  SC,  SC,  NEW, NEW, BAD]),
    ("GET",    "/subscriptions/{subscription}",                  Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("GET",    "/subscriptions/{subscription}/deliveries",       Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("GET",    "/subscriptions/{subscription}/secret",           Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("PUT",    "/subscriptions/{subscription}",                  Body::Subscription, New(Subscription), [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),
    ("DELETE", "/subscriptions/{subscription}",                  Body::No,           New(Subscription), [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),

    ("GET",    "/vens",                                          Body::No,           Seed,              [U,   U,   U,   LS,  HD,  LS,  HD,  SC,  SC,  LS,  LS,  LS,  HD]),
    ("POST",   "/vens",                                          Body::Ven,          Seed,              [U,   U,   U,   NEW, DN,  DN,  NEW, SC,  SC,  SC,  NEW, DN,  DN]),
    ("POST",   "/vens",                                          Body::Ven1,         Seed,              [U,   U,   U,   DUP, DN,  DUP, NEW, SC,  SC,  SC,  DUP, DUP, DN]),
    ("GET",    "/vens/{ven}",                                    Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("PUT",    "/vens/{ven}",                                    Body::Ven1,         Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),
    ("GET",    "/vens/{ven}/resources",                          Body::No,           Seed,              [U,   U,   U,   LS,  NF,  LS,  NF,  SC,  SC,  LS,  LS,  LS,  NF]),
    ("POST",   "/vens/{ven}/resources",                          Body::Resource,     Seed,              [U,   U,   U,   NEW, NF,  NEW, NF,  SC,  SC,  SC,  NEW, NEW, NF]),
    ("GET",    "/vens/{ven}/resources/{resource}",               Body::No,           Seed,              [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  OK,  OK,  OK,  NF]),
    ("PUT",    "/vens/{ven}/resources/{resource}",               Body::Resource,     New(Resource),     [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),
    ("DELETE", "/vens/{ven}/resources/{resource}",               Body::No,           New(Resource),     [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),

    ("GET",    "/users",                                         Body::No,           Seed,              [U,   U,   U,   DN,  HD,  LS,  DN,  SC,  SC,  LS,  DN,  LS,  HD]),
    ("POST",   "/users",                                         Body::User,         Seed,              [U,   U,   U,   DN,  NEW, NEW, DN,  SC,  SC,  SC,  DN,  NEW, NEW]),
    ("GET",    "/users/{user}",                                  Body::No,           Seed,              [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  OK,  DN,  OK,  NF]),
    ("PUT",    "/users/{user}",                                  Body::User,         Seed,              [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("DELETE", "/users/{user}",                                  Body::No,           New(User),         [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("GET",    "/users/{user}/vehicles",                         Body::No,           Seed,              [U,   U,   U,   DN,  NF,  LS,  DN,  SC,  SC,  LS,  DN,  LS,  NF]),
    ("POST",   "/users/{user}/vehicles",                         Body::Vehicle,      Seed,              [U,   U,   U,   DN,  NF,  NEW, DN,  SC,  SC,  SC,  DN,  NEW, NF]),
    ("GET",    "/users/{user}/vehicles/{vehicle}",               Body::No,           Seed,              [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  OK,  DN,  OK,  NF]),
    ("PUT",    "/users/{user}/vehicles/{vehicle}",               Body::Vehicle,      New(Vehicle),      [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("DELETE", "/users/{user}/vehicles/{vehicle}",               Body::No,           New(Vehicle),      [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("GET",    "/users/{user}/meters",                           Body::No,           Seed,              [U,   U,   U,   DN,  NF,  LS,  DN,  SC,  SC,  LS,  DN,  LS,  NF]),
    ("POST",   "/users/{user}/meters",                           Body::Meter,        Seed,              [U,   U,   U,   DN,  NF,  NEW, DN,  SC,  SC,  SC,  DN,  NEW, NF]),
    ("GET",    "/users/{user}/meters/{meter}",                   Body::No,           Seed,              [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  OK,  DN,  OK,  NF]),
    ("PUT",    "/users/{user}/meters/{meter}",                   Body::Meter,        New(Meter),        [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("DELETE", "/users/{user}/meters/{meter}",                   Body::No,           New(Meter),        [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("GET",    "/users/{user}/resources",                        Body::No,           Seed,              [U,   U,   U,   DN,  NF,  LS,  DN,  SC,  SC,  LS,  DN,  LS,  NF]),
    ("POST",   "/users/{user}/resources",                        Body::Tank,         Seed,              [U,   U,   U,   DN,  NF,  NEW, DN,  SC,  SC,  SC,  DN,  NEW, NF]),
    ("GET",    "/users/{user}/resources/{tank}",                 Body::No,           Seed,              [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  OK,  DN,  OK,  NF]),
    ("PUT",    "/users/{user}/resources/{tank}",                 Body::Tank,         New(Tank),         [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),
    ("DELETE", "/users/{user}/resources/{tank}",                 Body::No,           New(Tank),         [U,   U,   U,   DN,  NF,  OK,  DN,  SC,  SC,  SC,  DN,  OK,  NF]),

    ("GET",    "/bridge/voltus/status",                          Body::No,           Seed,              [U,   U,   U,   OK,  DN,  DN,  NF,  SC,  SC,  SC,  OK,  DN,  DN]),
    ("POST",   "/bridge/voltus/{tenant}/webhook/{secret}",       Body::Ping,         Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("POST",   "/bridge/voltus/{tenant}/webhook/not-the-secret", Body::Ping,         Seed,              [NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF,  NF]),
    ("GET",    "/admin/tenants/{tenant}/voltus",                 Body::No,           Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("PUT",    "/admin/tenants/{tenant}/voltus",                 Body::Voltus,       New(VoltusTenant), [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("DELETE", "/admin/tenants/{tenant}/voltus",                 Body::No,           New(VoltusTenant), [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),

    ("GET",    "/admin/tenants",                                 Body::No,           Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/tenants",                                 Body::Tenant,       Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  NEW, SC,  SC,  SC,  SC,  SC]),
    ("DELETE", "/admin/tenants/{tenant}",                        Body::No,           New(Tenant),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/tenants/{tenant}/disable",                Body::No,           New(Tenant),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/tenants/{tenant}/enable",                 Body::No,           New(Tenant),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("GET",    "/admin/clients",                                 Body::No,           Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/clients",                                 Body::Client,       Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  NEW, SC,  SC,  SC,  SC,  SC]),
    ("DELETE", "/admin/clients/{client}",                        Body::No,           New(Client),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/clients/{client}/rotate-secret",          Body::No,           New(Client),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/clients/{client}/disable",                Body::No,           New(Client),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/clients/{client}/enable",                 Body::No,           New(Client),       [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("GET",    "/admin/identity-providers",                      Body::No,           Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/identity-providers",                      Body::Idp,          Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  NEW, SC,  SC,  SC,  SC,  SC]),
    ("DELETE", "/admin/identity-providers/{idp}",                Body::No,           New(Idp),          [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("GET",    "/admin/audit",                                   Body::No,           Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  OK,  SC,  SC,  SC,  SC,  SC]),
    ("POST",   "/admin/keys/rotate",                             Body::No,           Seed,              [U,   U,   U,   SC,  SC,  SC,  SC,  DUP, SC,  SC,  SC,  SC,  SC]),

    ("POST",   "/auth/token",                                    Body::TokenForm,    Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "/auth/server",                                   Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "/openapi.json",                                  Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "/docs",                                          Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "^/health",                                       Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "^/ready",                                        Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "^/metrics",                                      Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),
    ("GET",    "^/.well-known/jwks.json",                        Body::No,           Seed,              [OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK]),

    // Last: it deletes `ven-1` with its resources, which rows above rely on.
    ("DELETE", "/vens/{ven}",                                    Body::No,           New(TheVen),       [U,   U,   U,   OK,  NF,  OK,  NF,  SC,  SC,  SC,  OK,  OK,  NF]),
];

/// A request body.
enum Payload {
    None,
    Json(Value),
    Form(Vec<(&'static str, String)>),
}

/// A response, as the checks need it.
struct Answer {
    status: u16,
    challenge: Option<String>,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// The seeded server and a token for each caller.
struct World {
    app: TestApp,
    /// The `Authorization: Bearer` value of each caller, by column; `None` sends no header.
    tokens: Vec<Option<String>>,
    /// Placeholder name → value, as seeded.
    seed: HashMap<&'static str, String>,
    /// Client id and secret of tenant A's business logic.
    bl_a_credentials: (String, String),
    /// Tenant A's ids and names that `ven-x` and tenant B must never see (JSON-quoted).
    secrets: Vec<String>,
    /// A callback for the subscriptions the matrix creates.
    callback: String,
    /// For unique names.
    counter: u32,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The claims of `token`, decoded without verification.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// `token` again, valid from two hours ago until two minutes ago, signed as the server signs.
fn expired_copy(token: &str) -> String {
    let mut claims = claims(token);
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 120);
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// Tokens of business logic and of `ven-1` in tenant A from an external identity provider
/// registered with a `mapped` role: `roles` names the role, `ven` the VEN.
async fn external_tokens(app: &TestApp, admin: &str) -> (String, String) {
    let provider = TestProvider::start().await;
    let registered = app
        .request(Method::POST, "/admin/identity-providers", Some(admin))
        .json(&json!({
            "tenant": TENANT_A, "issuer": ISSUER, "audience": AUDIENCE, "jwksUrl": provider.jwks_url,
            "role": "mapped", "rolesClaim": "roles", "venClaim": "ven",
            "blRoles": ["operator"], "venRoles": ["ven-device"],
        }))
        .send()
        .await
        .unwrap();
    expect_json(registered, 201).await;
    let scopes = |list: &str| list.replace(',', " ");
    // Valid for the whole run of the matrix.
    let exp = now() + 7200;
    let bl = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"roles": ["operator"], "scope": scopes(BL_SCOPES), "exp": exp}),
    );
    let ven = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"roles": "ven-device", "ven": "ven-1", "scope": scopes(VEN_SCOPES), "exp": exp}),
    );
    (bl, ven)
}

fn column(caller: Caller) -> usize {
    CALLERS.iter().position(|c| *c == caller).unwrap()
}

fn voltus_config() -> Value {
    // Nothing listens on port 9: the bridge's polls fail, quietly, and change nothing.
    json!({"baseUrl": "http://127.0.0.1:9", "apiKey": "test-api-key-1234",
           "programName": "voltus-dr", "pollIntervalSeconds": 3600})
}

impl World {
    async fn new(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let bl_a = app.create_client(TENANT_A, BL_SCOPES).await;
        let bl_a_token = app
            .token_for(&bl_a.client_id, &bl_a.client_secret, None)
            .await;
        let ven_x = ven_token(&app, TENANT_A, "ven-x", VEN_SCOPES).await;
        let ven_1 = ven_token(&app, TENANT_A, "ven-1", VEN_SCOPES).await;
        let bl_b = app.tenant_token(TENANT_B, BL_SCOPES).await;
        let admin = app.tenant_token("operator", "admin").await;
        let bl_narrow = app.tenant_token(TENANT_A, NARROW_SCOPES).await;
        let ven_narrow = ven_token(&app, TENANT_A, "ven-1", NARROW_SCOPES).await;
        let (idp_bl, idp_ven) = external_tokens(&app, &admin).await;
        let ven_widening = ven_token(&app, TENANT_A, "ven-widening", VEN_SCOPES).await;
        let tokens = vec![
            None,
            Some(expired_copy(&bl_a_token)),
            Some("not-a-jwt".to_owned()),
            Some(bl_a_token),
            Some(ven_x),
            Some(ven_1),
            Some(bl_b),
            Some(admin),
            Some(bl_narrow),
            Some(ven_narrow),
            Some(idp_bl),
            Some(idp_ven),
            Some(ven_widening),
        ];
        let mut world = World {
            app,
            tokens,
            seed: HashMap::new(),
            bl_a_credentials: (bl_a.client_id, bl_a.client_secret),
            secrets: Vec::new(),
            callback: callback_url(),
            counter: 0,
        };
        world.seed_tenant_a().await;
        world.widening_attempts().await;
        world
    }

    /// `ven-widening` tries to widen what it sees; each try is refused or grants nothing (a resource
    /// it names like `ven-1`'s is not approved by business logic, so it addresses nobody).
    async fn widening_attempts(&mut self) {
        let ven_widening = id_of(
            &self
                .must(
                    BlA,
                    "POST",
                    "/vens",
                    json!({"venName": "ven-widening"}),
                    201,
                )
                .await,
        );
        let to_ven_1 = json!([{"type": "VEN_NAME", "values": ["ven-1"]}]);
        let put = self
            .send(
                VenWiden,
                "PUT",
                &format!("/vens/{ven_widening}"),
                Payload::Json(json!({"venName": "ven-widening", "targets": to_ven_1})),
            )
            .await;
        assert_eq!(put.status, 403, "{}", put.body);
        let resources = format!("/vens/{ven_widening}/resources");
        let targeted = self
            .send(
                VenWiden,
                "POST",
                &resources,
                Payload::Json(json!({"resourceName": "res-widening", "targets": to_ven_1})),
            )
            .await;
        assert_eq!(targeted.status, 403, "{}", targeted.body);
        let named = self
            .send(
                VenWiden,
                "POST",
                &resources,
                Payload::Json(json!({"resourceName": "res-1"})),
            )
            .await;
        assert!([201, 409].contains(&named.status), "{}", named.body);
    }

    fn next(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    /// `method path` as `caller`; `path` under the API's base, or the root when it starts with `^`.
    async fn send(&self, caller: Caller, method: &str, path: &str, payload: Payload) -> Answer {
        let token = self.tokens[column(caller)].as_deref();
        self.send_as(token, method, path, payload).await
    }

    /// `method path` with `token`, if any.
    async fn send_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        payload: Payload,
    ) -> Answer {
        let url = match path.strip_prefix('^') {
            Some(root_path) => format!("{}{root_path}", self.app.root),
            None => format!("{}{path}", self.app.base),
        };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.app.http.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match payload {
            Payload::None => request,
            Payload::Json(body) => request.json(&body),
            Payload::Form(form) => request.form(&form),
        };
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
            .collect();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.expect("body");
        Answer {
            status,
            challenge,
            headers,
            body,
        }
    }

    /// Sends and asserts `status`; returns the JSON body.
    async fn must(
        &self,
        caller: Caller,
        method: &str,
        path: &str,
        body: Value,
        status: u16,
    ) -> Value {
        let payload = if body.is_null() {
            Payload::None
        } else {
            Payload::Json(body)
        };
        let answer = self.send(caller, method, path, payload).await;
        assert_eq!(
            answer.status, status,
            "{method} {path} as {caller:?}: {}",
            answer.body
        );
        answer.json()
    }

    fn ids<'a>(&'a self, fresh: &'a HashMap<&'static str, String>) -> impl Fn(&str) -> &'a str {
        move |name| {
            fresh
                .get(name)
                .or_else(|| self.seed.get(name))
                .unwrap_or_else(|| panic!("no value for {{{name}}}"))
                .as_str()
        }
    }

    fn resolve(&self, path: &str, fresh: &HashMap<&'static str, String>) -> String {
        let ids = self.ids(fresh);
        let mut resolved = String::new();
        let mut rest = path;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').unwrap() + open;
            resolved.push_str(&rest[..open]);
            resolved.push_str(ids(&rest[open + 1..close]));
            rest = &rest[close + 1..];
        }
        resolved.push_str(rest);
        resolved
    }

    /// The body of `kind` for `method`, with new names where names must be unique.
    fn payload(
        &mut self,
        kind: Body,
        method: &str,
        fresh: &HashMap<&'static str, String>,
    ) -> Payload {
        let n = self.next();
        let ids = self.ids(fresh);
        let put = method == "PUT";
        let to_ven_1 = json!([{"type": "VEN_NAME", "values": ["ven-1"]}]);
        Payload::Json(match kind {
            Body::No => return Payload::None,
            Body::Program => json!({"programName": format!("prog-new-{n}"), "targets": to_ven_1}),
            Body::Event => {
                let mut event = event_at(ids("program"), "2026-12-01T17:00:00Z", Some("PT1H"), 1);
                event["targets"] = to_ven_1;
                event
            }
            Body::Report => json!({"programID": ids("program"), "eventID": ids("event"),
                                    "clientName": "ven-1", "resources": []}),
            Body::Subscription => json!({"programID": ids("program"), "clientName": "ven-1",
                "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"],
                                      "callbackUrl": self.callback}]}),
            Body::Ven => json!({"venName": format!("ven-new-{n}")}),
            Body::Ven1 => json!({"venName": "ven-1"}),
            Body::Resource => json!({"resourceName": format!("res-new-{n}")}),
            Body::User if put => json!({"userId": ids("user")}),
            Body::User => json!({"userId": format!("user-new-{n}")}),
            Body::Vehicle => {
                let id = if put {
                    ids("vehicle").to_owned()
                } else {
                    format!("car-new-{n}")
                };
                vehicle(&id, &format!("5YJ3E1EA7KF{n:06}"))
            }
            Body::Meter => meter(&format!("MP-NEW-{n}")),
            Body::Tank if put => tank(ids("tank")),
            Body::Tank => tank(&format!("tank-new-{n}")),
            Body::Tenant => json!({"id": format!("t-new-{n}")}),
            Body::Client => json!({"tenant": TENANT_A, "role": "bl", "scopes": ["read_all"]}),
            Body::Idp => json!({"tenant": TENANT_A, "issuer": format!("https://idp-{n}.example"),
                                "audience": "vtn", "jwksUrl": format!("https://idp-{n}.example/jwks"), "role": "bl"}),
            Body::Voltus => voltus_config(),
            Body::Ping => json!({"event": {"name": ""}, "resource": ""}),
            Body::TokenForm => {
                return Payload::Form(vec![
                    ("grant_type", "client_credentials".to_owned()),
                    ("client_id", self.bl_a_credentials.0.clone()),
                    ("client_secret", self.bl_a_credentials.1.clone()),
                ])
            }
        })
    }

    /// Creates `kind` as its owner would and returns (with `body` for posting it) its id.
    async fn create(&mut self, kind: Body, path: &str, caller: Caller, id_field: &str) -> String {
        let Payload::Json(body) = self.payload(kind, "POST", &HashMap::new()) else {
            unreachable!("JSON bodies only")
        };
        let created = self.must(caller, "POST", path, body, 201).await;
        created[id_field]
            .as_str()
            .unwrap_or_else(|| panic!("no {id_field} in {created}"))
            .to_owned()
    }

    /// Tenant A's objects (see the module's documentation) and tenant A's Voltus bridge.
    async fn seed_tenant_a(&mut self) {
        let ven = self
            .must(BlA, "POST", "/vens", json!({"venName": "ven-1"}), 201)
            .await;
        let ven = id_of(&ven);
        self.must(BlA, "POST", "/vens", json!({"venName": "ven-x"}), 201)
            .await;
        let resource = self
            .must(
                BlA,
                "POST",
                &format!("/vens/{ven}/resources"),
                json!({"resourceName": "res-1"}),
                201,
            )
            .await;
        let to_ven_1 = json!([{"type": "VEN_NAME", "values": ["ven-1"]}]);
        let program = self
            .must(
                BlA,
                "POST",
                "/programs",
                json!({"programName": "prog-a", "targets": to_ven_1}),
                201,
            )
            .await;
        let program = id_of(&program);
        let mut event = event_at(&program, "2026-12-01T17:00:00Z", Some("PT1H"), 1);
        event["targets"] = to_ven_1;
        let event = id_of(&self.must(BlA, "POST", "/events", event, 201).await);
        self.seed.insert("ven", ven.clone());
        self.seed.insert("resource", id_of(&resource));
        self.seed.insert("program", program);
        self.seed.insert("event", event);
        let report = self.create(Body::Report, "/reports", Ven1, "id").await;
        let subscription = self
            .create(Body::Subscription, "/subscriptions", Ven1, "id")
            .await;
        self.seed.insert("report", report);
        self.seed.insert("subscription", subscription);
        self.must(Ven1, "POST", "/users", json!({"userId": "user-a1"}), 201)
            .await;
        self.seed.insert("user", "user-a1".to_owned());
        let meter = self
            .must(Ven1, "POST", "/users/user-a1/meters", meter("MP-A1"), 201)
            .await;
        self.seed
            .insert("meter", meter["meterId"].as_str().unwrap().to_owned());
        let car = vehicle("car-a1", "5YJ3E1EA7KF317000");
        self.must(Ven1, "POST", "/users/user-a1/vehicles", car, 201)
            .await;
        self.seed.insert("vehicle", "car-a1".to_owned());
        self.must(
            Ven1,
            "POST",
            "/users/user-a1/resources",
            tank("tank-a1"),
            201,
        )
        .await;
        self.seed.insert("tank", "tank-a1".to_owned());
        let bridge = self
            .must(
                Admin,
                "PUT",
                &format!("/admin/tenants/{TENANT_A}/voltus"),
                voltus_config(),
                200,
            )
            .await;
        let webhook = bridge["webhookPath"].as_str().expect("webhookPath");
        self.seed.insert("tenant", TENANT_A.to_owned());
        self.seed
            .insert("secret", webhook.rsplit('/').next().unwrap().to_owned());
        // Everything above but `ven-x`'s VEN, and the names that identify it.
        self.secrets = [
            "ven",
            "resource",
            "program",
            "event",
            "report",
            "subscription",
            "user",
            "meter",
            "vehicle",
            "tank",
        ]
        .iter()
        .map(|k| self.seed[*k].clone())
        .chain(
            ["prog-a", "ven-1", "res-1", "MP-A1", "5YJ3E1EA7KF317000"]
                .iter()
                .map(|s| s.to_string()),
        )
        .map(|s| format!("\"{s}\""))
        .collect();
    }

    /// Makes a fresh `obj` and returns its id.
    async fn fresh(&mut self, obj: Obj) -> String {
        let user = format!("/users/{}", self.seed["user"]);
        match obj {
            Obj::Program => self.create(Body::Program, "/programs", BlA, "id").await,
            Obj::Event => self.create(Body::Event, "/events", BlA, "id").await,
            Obj::Report => self.create(Body::Report, "/reports", Ven1, "id").await,
            Obj::Subscription => {
                self.create(Body::Subscription, "/subscriptions", Ven1, "id")
                    .await
            }
            Obj::TheVen => {
                let found = self
                    .must(BlA, "GET", "/vens?venName=ven-1", Value::Null, 200)
                    .await;
                match found.as_array().unwrap().first() {
                    Some(ven) => id_of(ven),
                    None => self.create(Body::Ven1, "/vens", BlA, "id").await,
                }
            }
            Obj::Resource => {
                let path = format!("/vens/{}/resources", self.seed["ven"]);
                self.create(Body::Resource, &path, BlA, "id").await
            }
            Obj::User => self.create(Body::User, "/users", Ven1, "userId").await,
            Obj::Vehicle => {
                let path = format!("{user}/vehicles");
                self.create(Body::Vehicle, &path, Ven1, "vehicleId").await
            }
            Obj::Meter => {
                let path = format!("{user}/meters");
                self.create(Body::Meter, &path, Ven1, "meterId").await
            }
            Obj::Tank => {
                let path = format!("{user}/resources");
                self.create(Body::Tank, &path, Ven1, "resourceId").await
            }
            Obj::Tenant => {
                self.create(Body::Tenant, "/admin/tenants", Admin, "id")
                    .await
            }
            Obj::VoltusTenant => {
                let tenant = self
                    .create(Body::Tenant, "/admin/tenants", Admin, "id")
                    .await;
                let path = format!("/admin/tenants/{tenant}/voltus");
                self.must(Admin, "PUT", &path, voltus_config(), 200).await;
                tenant
            }
            Obj::Client => {
                self.create(Body::Client, "/admin/clients", Admin, "clientId")
                    .await
            }
            Obj::Idp => {
                self.create(Body::Idp, "/admin/identity-providers", Admin, "id")
                    .await
            }
        }
    }

    /// What a write to `path` could change, as (reader, path) pairs to read before and after.
    fn witnesses(method: &str, path: &str) -> Vec<(Caller, String)> {
        if method == "GET" || path.starts_with("/bridge/") || path.starts_with("/auth/") {
            return Vec::new();
        }
        let audit = (Admin, "/admin/audit".to_owned());
        if path.starts_with("/admin/tenants/") && path.ends_with("/voltus") {
            return vec![(Admin, path.to_owned()), audit];
        }
        if path.starts_with("/admin/keys") {
            return vec![audit];
        }
        if let Some(rest) = path.strip_prefix("/admin/") {
            let collection = rest.split('/').next().unwrap();
            return vec![(Admin, format!("/admin/{collection}")), audit];
        }
        if path.starts_with("/users") {
            return vec![(Ven1, path.to_owned())];
        }
        vec![(BlA, path.to_owned())]
    }

    /// The witness's state: status and body (every page of a list; a problem's random
    /// `instance` removed).
    async fn observe(&self, reader: Caller, path: &str, paged: bool) -> String {
        if !paged {
            let answer = self.send(reader, "GET", path, Payload::None).await;
            return format!("{} {}", answer.status, without_instance(&answer.body));
        }
        let mut all = Vec::new();
        loop {
            let page = format!("{path}?skip={}&limit=50", all.len());
            let answer = self.send(reader, "GET", &page, Payload::None).await;
            let items = answer.json().as_array().cloned();
            let Some(items) = items else {
                return format!("{} {}", answer.status, without_instance(&answer.body));
            };
            let done = items.len() < 50;
            all.extend(items);
            if done {
                return json!(all).to_string();
            }
        }
    }

    async fn observe_all(&self, method: &str, witnesses: &[(Caller, String)]) -> Vec<String> {
        let mut states = Vec::new();
        for (reader, path) in witnesses {
            let paged = method == "POST" && !path.starts_with("/admin");
            states.push(self.observe(*reader, path, paged).await);
        }
        states
    }

    /// The id in a list that shows the collection at `path` holds its seeded object.
    fn listed_key(&self, path: &str) -> &str {
        let last = path.rsplit('/').next().unwrap();
        let key = match last {
            "resources" if path.starts_with("/users") => "tank",
            "programs" => "program",
            "events" => "event",
            "reports" => "report",
            "subscriptions" => "subscription",
            "vens" => "ven",
            "resources" => "resource",
            "users" => "user",
            "vehicles" => "vehicle",
            "meters" => "meter",
            other => panic!("no seeded object for a list of {other}"),
        };
        &self.seed[key]
    }

    /// Why `answer` is not what `want` expects of `caller`, if it is not.
    fn verdict(&self, want: Want, caller: Caller, path: &str, answer: &Answer) -> Option<String> {
        let challenge = answer.challenge.as_deref().unwrap_or("");
        let is_list = answer.json().is_array();
        let seen: Vec<&String> = self
            .secrets
            .iter()
            .filter(|s| answer.body.contains(s.as_str()))
            .collect();
        let fine = match want {
            S(status) => answer.status == status,
            Unauth => {
                answer.status == 401
                    && challenge.starts_with("Bearer ")
                    && (caller == NoToken || challenge.contains(r#"error="invalid_token""#))
            }
            Scope => answer.status == 403 && challenge.contains(r#"error="insufficient_scope""#),
            Denied => answer.status == 403 && answer.challenge.is_none(),
            Listed => {
                let key = format!("\"{}\"", self.listed_key(path));
                answer.status == 200 && is_list && answer.body.contains(&key)
            }
            Hidden => answer.status == 200 && is_list && seen.is_empty(),
        };
        (!fine).then(|| {
            let mut body = answer.body.clone();
            body.truncate(400);
            format!(
                "got {} (challenge {challenge:?}, tenant A's {seen:?} in body): {body}",
                answer.status
            )
        })
    }
}

/// A problem body without its `instance`, which is random.
fn without_instance(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            map.remove("instance");
            Value::Object(map).to_string()
        }
        _ => body.to_owned(),
    }
}

fn succeeded(status: u16) -> bool {
    (200..300).contains(&status)
}

async fn authorization_matrix(backend: Backend) {
    let mut world = World::new(backend).await;
    let mut mismatches = Vec::new();
    let mut cells = 0;
    for &(method, path, body, fx, want) in MATRIX {
        let mut fresh: HashMap<&'static str, String> = HashMap::new();
        let mut stale = true;
        for (caller, want) in CALLERS.into_iter().zip(want) {
            cells += 1;
            if let New(obj) = fx {
                if stale {
                    let id = world.fresh(obj).await;
                    fresh.insert(obj.placeholder(), id);
                }
            }
            let resolved = world.resolve(path, &fresh);
            let payload = world.payload(body, method, &fresh);
            let witnesses = World::witnesses(method, resolved.trim_start_matches('^'));
            let refused = !matches!(want, S(200..=299) | Listed | Hidden);
            let before = if refused {
                world.observe_all(method, &witnesses).await
            } else {
                Vec::new()
            };
            let answer = world.send(caller, method, &resolved, payload).await;
            stale = method != "GET" && succeeded(answer.status);
            let cell = format!("{method} {path} as {caller:?} (want {want:?})");
            if let Some(why) = world.verdict(want, caller, &resolved, &answer) {
                mismatches.push(format!("{cell}: {why}"));
            }
            if refused {
                let after = world.observe_all(method, &witnesses).await;
                for (i, (b, a)) in before.iter().zip(&after).enumerate() {
                    if b != a {
                        mismatches.push(format!(
                            "{cell}: refused, yet GET {} changed:\n  before {b}\n  after  {a}",
                            witnesses[i].1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {cells} cells differ from the policy:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Every operation of the published OpenAPI document has a row in the matrix.
async fn the_matrix_covers_every_operation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let document = expect_json(
        app.http
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let shape = |path: &str| {
        let mut out = String::new();
        let mut inside = false;
        for c in path.trim_start_matches('^').chars() {
            match c {
                '{' => {
                    inside = true;
                    out.push_str("{}");
                }
                '}' => inside = false,
                _ if !inside => out.push(c),
                _ => {}
            }
        }
        out
    };
    let rows: Vec<(String, String)> = MATRIX
        .iter()
        .map(|(method, path, ..)| (method.to_string(), shape(path)))
        .collect();
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method.as_str()) {
                continue;
            }
            if !rows.contains(&(method.clone(), shape(path))) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "operations without a row: {missing:?}");
}

// ---- what is refused leaks nothing ------------------------------------------------------------

/// Headers that differ between any two responses (`connection: close` when the server answers
/// before it has read the body).
const VOLATILE_HEADERS: &[&str] = &["date", "x-request-id", "content-length", "connection"];

/// What a caller learns from an answer: status, headers (but volatile ones) and body, where
/// a problem's random `instance` is dropped and each of `ids` becomes `{id}`.
fn learned(answer: &Answer, ids: &[&str]) -> String {
    let mut headers: Vec<String> = answer
        .headers
        .iter()
        .filter(|(k, _)| !VOLATILE_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    headers.sort();
    let mut body = without_instance(&answer.body);
    for id in ids {
        body = body.replace(id, "{id}");
    }
    format!("{} {headers:?} {body}", answer.status)
}

/// Everything of tenant A, as its business logic, `ven-1` and the operator read it: every
/// list, every object.
async fn tenant_a_state(world: &World) -> Vec<String> {
    let seed = |k: &str| world.seed[k].clone();
    let ven = seed("ven");
    let subscription = seed("subscription");
    let user = format!("/users/{}", seed("user"));
    let mut paths: Vec<(Caller, String)> = ["/programs", "/events", "/reports", "/subscriptions"]
        .iter()
        .map(|p| (BlA, p.to_string()))
        .collect();
    paths.extend([
        (BlA, "/vens".to_owned()),
        (BlA, format!("/programs/{}", seed("program"))),
        (BlA, format!("/events/{}", seed("event"))),
        (BlA, format!("/reports/{}", seed("report"))),
        (BlA, format!("/subscriptions/{subscription}")),
        (BlA, format!("/subscriptions/{subscription}/secret")),
        (BlA, format!("/subscriptions/{subscription}/deliveries")),
        (BlA, format!("/vens/{ven}")),
        (BlA, format!("/vens/{ven}/resources")),
        (BlA, format!("/vens/{ven}/resources/{}", seed("resource"))),
        (Ven1, "/users".to_owned()),
        (Ven1, user.clone()),
        (Ven1, format!("{user}/vehicles")),
        (Ven1, format!("{user}/meters")),
        (Ven1, format!("{user}/resources")),
        (Admin, format!("/admin/tenants/{TENANT_A}/voltus")),
        (Admin, format!("/admin/clients?tenant={TENANT_A}")),
    ]);
    let mut state = Vec::new();
    for (reader, path) in paths {
        let answer = world.send(reader, "GET", &path, Payload::None).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
        state.push(format!("GET {path}: {}", answer.body));
    }
    state
}

/// Requests naming tenant A's objects, `(method, path, body)`: each answered as if the objects
/// did not exist.
#[rustfmt::skip]
const NAMING_A: &[(&str, &str, Body)] = &[
    ("GET", "/programs/{program}", Body::No),
    ("PUT", "/programs/{program}", Body::Program),
    ("DELETE", "/programs/{program}", Body::No),
    ("POST", "/events", Body::Event),
    ("GET", "/events/{event}", Body::No),
    ("PUT", "/events/{event}", Body::Event),
    ("DELETE", "/events/{event}", Body::No),
    ("POST", "/reports", Body::Report),
    ("GET", "/reports/{report}", Body::No),
    ("PUT", "/reports/{report}", Body::Report),
    ("DELETE", "/reports/{report}", Body::No),
    ("POST", "/subscriptions", Body::Subscription),
    ("GET", "/subscriptions/{subscription}", Body::No),
    ("PUT", "/subscriptions/{subscription}", Body::Subscription),
    ("DELETE", "/subscriptions/{subscription}", Body::No),
    ("GET", "/subscriptions/{subscription}/deliveries", Body::No),
    ("GET", "/subscriptions/{subscription}/secret", Body::No),
    ("GET", "/vens/{ven}", Body::No),
    ("PUT", "/vens/{ven}", Body::Ven),
    ("DELETE", "/vens/{ven}", Body::No),
    ("GET", "/vens/{ven}/resources", Body::No),
    ("POST", "/vens/{ven}/resources", Body::Resource),
    ("GET", "/vens/{ven}/resources/{resource}", Body::No),
    ("PUT", "/vens/{ven}/resources/{resource}", Body::Resource),
    ("DELETE", "/vens/{ven}/resources/{resource}", Body::No),
    ("GET", "/users/{user}", Body::No),
    ("PUT", "/users/{user}", Body::User),
    ("DELETE", "/users/{user}", Body::No),
    ("GET", "/users/{user}/vehicles", Body::No),
    ("POST", "/users/{user}/vehicles", Body::Vehicle),
    ("GET", "/users/{user}/vehicles/{vehicle}", Body::No),
    ("PUT", "/users/{user}/vehicles/{vehicle}", Body::Vehicle),
    ("DELETE", "/users/{user}/vehicles/{vehicle}", Body::No),
    ("GET", "/users/{user}/meters", Body::No),
    ("POST", "/users/{user}/meters", Body::Meter),
    ("GET", "/users/{user}/meters/{meter}", Body::No),
    ("PUT", "/users/{user}/meters/{meter}", Body::Meter),
    ("DELETE", "/users/{user}/meters/{meter}", Body::No),
    ("GET", "/users/{user}/resources", Body::No),
    ("POST", "/users/{user}/resources", Body::Tank),
    ("GET", "/users/{user}/resources/{tank}", Body::No),
    ("PUT", "/users/{user}/resources/{tank}", Body::Tank),
    ("DELETE", "/users/{user}/resources/{tank}", Body::No),
];

async fn another_tenant_or_ven_learns_and_changes_nothing(backend: Backend) {
    let mut world = World::new(backend).await;
    // Controls: callers for whom tenant A's objects do not exist. Business logic of an empty
    // tenant, and a VEN client of tenant A whose VEN does not exist.
    let empty_tenant = world.app.tenant_token("tenant-c", BL_SCOPES).await;
    let ghost = ven_token(&world.app, TENANT_A, "ven-ghost", VEN_SCOPES).await;
    // A VEN client of tenant B bound to the name of tenant A's VEN.
    let namesake = ven_token(&world.app, TENANT_B, "ven-1", VEN_SCOPES).await;
    let before = tenant_a_state(&world).await;
    let bl_b = world.tokens[column(BlB)].clone().unwrap();
    let ven_x = world.tokens[column(VenX)].clone().unwrap();
    let outsiders = [
        ("tenant B", bl_b.as_str(), empty_tenant.as_str()),
        ("ven-x", ven_x.as_str(), ghost.as_str()),
        ("tenant B's ven-1", namesake.as_str(), ghost.as_str()),
    ];
    let mut leaks = Vec::new();

    // 1. Lists, with filters naming tenant A's objects, and pages: the same answer, headers
    // included, as the control gets; nothing of tenant A in it.
    let seed = |k: &str| world.seed[k].clone();
    let lists = [
        "/programs".to_owned(),
        "/programs?targetType=VEN_NAME&targetValues=ven-1".to_owned(),
        "/programs?skip=0&limit=1".to_owned(),
        "/programs?skip=1&limit=50".to_owned(),
        "/programs?limit=0".to_owned(),
        "/events".to_owned(),
        format!("/events?programID={}", seed("program")),
        "/events?targetType=VEN_NAME&targetValues=ven-1".to_owned(),
        "/events?x-start=2026-01-01T00:00:00Z&x-end=2027-01-01T00:00:00Z".to_owned(),
        "/events?skip=0&limit=1".to_owned(),
        "/reports".to_owned(),
        format!("/reports?programID={}", seed("program")),
        format!("/reports?eventID={}", seed("event")),
        "/reports?clientName=ven-1".to_owned(),
        "/reports?skip=0&limit=1".to_owned(),
        "/subscriptions".to_owned(),
        format!("/subscriptions?programID={}", seed("program")),
        "/subscriptions?clientName=ven-1".to_owned(),
        "/subscriptions?objects=EVENT".to_owned(),
        "/subscriptions?skip=0&limit=1".to_owned(),
        "/vens?venName=ven-1".to_owned(),
        "/vens?targetType=VEN_NAME&targetValues=ven-1".to_owned(),
        "/vens?skip=0&limit=1&venName=ven-1".to_owned(),
        "/users".to_owned(),
        "/users?skip=0&limit=1".to_owned(),
    ];
    for path in &lists {
        for (who, token, control) in outsiders {
            let got = world.send_as(Some(token), "GET", path, Payload::None).await;
            let want = world
                .send_as(Some(control), "GET", path, Payload::None)
                .await;
            let seen: Vec<&String> = world
                .secrets
                .iter()
                .filter(|s| got.body.contains(s.as_str()))
                .collect();
            if !seen.is_empty() || learned(&got, &[]) != learned(&want, &[]) {
                leaks.push(format!(
                    "GET {path} as {who} (tenant A's {seen:?}):\n  got     {}\n  control {}",
                    learned(&got, &[]),
                    learned(&want, &[])
                ));
            }
        }
    }

    // 2. Requests naming tenant A's objects by id: the same answer as for ids that exist
    // nowhere (with the ids blanked out), and never a success.
    let mut random: HashMap<&'static str, String> = HashMap::new();
    for key in [
        "program",
        "event",
        "report",
        "subscription",
        "ven",
        "resource",
        "meter",
    ] {
        random.insert(key, uuid::Uuid::new_v4().to_string());
    }
    for (key, value) in [
        ("user", "user-zz9"),
        ("vehicle", "car-zz9"),
        ("tank", "tank-zz9"),
    ] {
        random.insert(key, value.to_owned());
    }
    let real: HashMap<&'static str, String> = random.keys().map(|k| (*k, seed(k))).collect();
    let real_ids: Vec<&str> = real.values().map(String::as_str).collect();
    let random_ids: Vec<&str> = random.values().map(String::as_str).collect();
    for &(method, path, body) in NAMING_A {
        for (who, token, _) in outsiders {
            let (path_a, path_nowhere) = (world.resolve(path, &real), world.resolve(path, &random));
            let payload = world.payload(body, method, &real);
            let on_a = world.send_as(Some(token), method, &path_a, payload).await;
            let payload = world.payload(body, method, &random);
            let nowhere = world
                .send_as(Some(token), method, &path_nowhere, payload)
                .await;
            let (got, want) = (learned(&on_a, &real_ids), learned(&nowhere, &random_ids));
            if succeeded(on_a.status) || got != want {
                leaks.push(format!(
                    "{method} {path} as {who}:\n  on A's   {got}\n  nowhere  {want}"
                ));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} answers tell tenant A's objects apart:\n{}",
        leaks.len(),
        leaks.join("\n")
    );

    // 3. Names are unique per tenant only: tenant B reuses tenant A's, and no 409 tells it they
    // are taken elsewhere.
    let mut name_clashes = Vec::new();
    for (token, path, body) in [
        (&bl_b, "/programs", json!({"programName": "prog-a"})),
        (&bl_b, "/vens", json!({"venName": "ven-1"})),
        (&namesake, "/users", json!({"userId": "user-a1"})),
        (&namesake, "/users/user-a1/meters", meter("MP-A1")),
        (
            &namesake,
            "/users/user-a1/vehicles",
            vehicle("car-a1", "5YJ3E1EA7KF317000"),
        ),
        (&namesake, "/users/user-a1/resources", tank("tank-a1")),
    ] {
        let answer = world
            .send_as(Some(token.as_str()), "POST", path, Payload::Json(body))
            .await;
        if answer.status != 201 {
            name_clashes.push(format!("POST {path}: {} {}", answer.status, answer.body));
        }
    }
    assert!(name_clashes.is_empty(), "{name_clashes:#?}");

    // Within tenant A, vehicle ids, VINs and meter points are registered once: `ven-x` learns
    // that one is taken (409), but not by whom, nor under which id.
    let ven_x_user = json!({"userId": "user-x"});
    world.must(VenX, "POST", "/users", ven_x_user, 201).await;
    for (path, body, sent) in [
        (
            "/users/user-x/vehicles",
            vehicle("car-a1", "5YJ3E1EA7KF999999"),
            "car-a1",
        ),
        (
            "/users/user-x/vehicles",
            vehicle("car-x", "5YJ3E1EA7KF317000"),
            "5YJ3E1EA7KF317000",
        ),
        ("/users/user-x/resources", tank("tank-a1"), "tank-a1"),
        ("/users/user-x/meters", meter("MP-A1"), "MP-A1"),
    ] {
        let answer = world.send(VenX, "POST", path, Payload::Json(body)).await;
        let told: Vec<&String> = world
            .secrets
            .iter()
            .filter(|s| answer.body.contains(s.trim_matches('"')) && !s.contains(sent))
            .collect();
        assert!(
            answer.status == 409 && told.is_empty(),
            "POST {path} {sent} as ven-x: {} {} (tells {told:?})",
            answer.status,
            answer.body
        );
    }

    // 4. Tenant A's objects are as they were, byte for byte.
    let after = tenant_a_state(&world).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "tenant A's object changed");
    }
}

// ---- webhooks -----------------------------------------------------------------------------------

/// A subscription to every change of every object type in `program`.
fn everything(program: &str, client: &str, url: String) -> Value {
    json!({"programID": program, "clientName": client, "objectOperations": [{
        "objects": ["PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE"],
        "operations": ["POST", "PUT", "DELETE"], "callbackUrl": url}]})
}

async fn webhooks_reach_no_other_tenant_or_ven(backend: Backend) {
    let world = World::new(backend).await;
    let open = json!({"programName": "open"});
    let open = id_of(&world.must(BlA, "POST", "/programs", open, 201).await);
    let b_program = json!({"programName": "prog-a"});
    let b_program = id_of(&world.must(BlB, "POST", "/programs", b_program, 201).await);
    let namesake = ven_token(&world.app, TENANT_B, "ven-1", VEN_SCOPES).await;
    // Subscribers that must hear nothing of `ven-1`'s objects in tenant A: tenant B's business
    // logic, tenant B's VEN client of the same name, and tenant A's `ven-x`, subscribed to a
    // program it may read. They may hear of their own subscriptions.
    let (b, n, x) = (Receiver::new(), Receiver::new(), Receiver::new());
    let mut outsiders = Vec::new();
    for (who, token, body, receiver) in [
        (
            "tenant B",
            world.tokens[column(BlB)].clone().unwrap(),
            everything(&b_program, "bl-b", b.url()),
            &b,
        ),
        (
            "tenant B's ven-1",
            namesake.clone(),
            everything(&b_program, "ven-1", n.url()),
            &n,
        ),
        (
            "ven-x",
            world.tokens[column(VenX)].clone().unwrap(),
            everything(&open, "ven-x", x.url()),
            &x,
        ),
    ] {
        let answer = world
            .send_as(Some(&token), "POST", "/subscriptions", Payload::Json(body))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        outsiders.push((who, token, id_of(&answer.json()), receiver));
    }
    // Tenant A's business logic hears everything: it shows the notifications are sent.
    let control = Receiver::new();
    let body = everything(&open, "bl-a", control.url());
    let control_subscription = id_of(&world.must(BlA, "POST", "/subscriptions", body, 201).await);

    // Changes in tenant A, all aimed at or made by `ven-1`; what tenant B must not hear of.
    let mut event = event_at(&open, "2026-12-01T17:00:00Z", Some("PT1H"), 1);
    event["targets"] = json!([{"type": "VEN_NAME", "values": ["ven-1"]}]);
    let event = id_of(&world.must(BlA, "POST", "/events", event, 201).await);
    let ven = world.seed["ven"].clone();
    world
        .must(
            BlA,
            "PUT",
            &format!("/vens/{ven}"),
            json!({"venName": "ven-1"}),
            200,
        )
        .await;
    let resource = json!({"resourceName": "res-w"});
    let path = format!("/vens/{ven}/resources");
    let resource = id_of(&world.must(Ven1, "POST", &path, resource, 201).await);
    let report =
        json!({"programID": open, "eventID": event, "clientName": "ven-1", "resources": []});
    let report = id_of(&world.must(Ven1, "POST", "/reports", report, 201).await);
    world
        .must(
            Ven1,
            "DELETE",
            &format!("/reports/{report}"),
            Value::Null,
            200,
        )
        .await;
    let last = json!({"venName": "ven-w"});
    let last = id_of(&world.must(BlA, "POST", "/vens", last, 201).await);
    let secret = [
        event,
        ven,
        resource,
        report,
        last.clone(),
        control_subscription,
    ];

    // The last change reached the control: every change before it has been matched against
    // every subscription.
    let object_id = |r: &Received| r.body["object"]["id"].as_str().unwrap_or("").to_owned();
    let mut heard = Vec::new();
    for _ in 0..200 {
        heard = control.received().iter().map(object_id).collect();
        if heard.contains(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &secret[..5] {
        assert!(
            heard.contains(id),
            "the control did not hear of {id}: {heard:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let x_subscription = outsiders[2].2.clone();
    for (who, token, subscription, receiver) in outsiders {
        let path = format!("/subscriptions/{subscription}/deliveries");
        let deliveries = world
            .send_as(Some(&token), "GET", &path, Payload::None)
            .await;
        assert_eq!(deliveries.status, 200, "{}", deliveries.body);
        let mut told: Vec<String> = deliveries
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["objectID"].as_str().unwrap().to_owned())
            .chain(receiver.received().iter().map(object_id))
            .collect();
        // Tenant A's `ven-x` may hear of its own subscription; tenant B of nothing in tenant A.
        told.retain(|id| secret.contains(id) || (who != "ven-x" && *id == x_subscription));
        assert!(told.is_empty(), "{who} heard of tenant A's {told:?}");
    }
}

backend_tests!(
    authorization_matrix,
    the_matrix_covers_every_operation,
    another_tenant_or_ven_learns_and_changes_nothing,
    webhooks_reach_no_other_tenant_or_ven,
);
