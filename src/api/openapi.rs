//! The OpenAPI document, generated from the handlers' annotations (`openadr3-vtn openapi`).
//! A committed copy lives in `openapi/openapi.json`; a test fails when it drifts.

use super::{admin, auth, bridge, energy, events, health, keys, programs, vens, BASE_PATH};
use crate::bridge::voltus::{mapping as voltus_mapping, settings as voltus_settings};
use crate::domain::admin as admin_types;
use crate::domain::common::{
    Interval, IntervalPeriod, PayloadDescriptor, ReportDescriptor, ValuesMap,
};
use crate::domain::energy as ec;
use crate::domain::program::ProgramDescription;
use crate::domain::{Event, ObjectType, Program};
use crate::error::Problem;
use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes, SecurityScheme,
};
use utoipa::openapi::server::Server;
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "openadr3-vtn",
        description = "OpenADR 3.0.1 VTN. Every object belongs to the tenant of the calling client; \
                       no request reads or writes another tenant's objects.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        programs::list, programs::create, programs::get, programs::update, programs::delete,
        events::list, events::create, events::get, events::update, events::delete,
        crate::api::reports::list, crate::api::reports::create, crate::api::reports::get, crate::api::reports::update, crate::api::reports::delete, crate::api::subscriptions::list, crate::api::subscriptions::create, crate::api::subscriptions::get, crate::api::subscriptions::update, crate::api::subscriptions::delete, crate::api::subscriptions::deliveries, crate::api::subscriptions::secret,
        vens::list, vens::create, vens::get, vens::update, vens::delete, vens::list_resources, vens::create_resource, vens::get_resource, vens::update_resource, vens::delete_resource,
        energy::list_users, energy::create_user, energy::get_user, energy::update_user, energy::delete_user,
        energy::list_vehicles, energy::create_vehicle, energy::get_vehicle, energy::update_vehicle, energy::delete_vehicle,
        energy::list_meters, energy::create_meter, energy::get_meter, energy::update_meter, energy::delete_meter,
        energy::list_resources, energy::create_resource, energy::get_resource, energy::update_resource, energy::delete_resource,
        auth::token, auth::server, health::health, health::ready, super::metrics::metrics_endpoint, keys::jwks, keys::rotate,
        admin::create_tenant, admin::list_tenants, admin::delete_tenant, admin::disable_tenant,
        admin::enable_tenant, admin::create_client, admin::list_clients, admin::delete_client,
        admin::rotate_secret, admin::disable_client, admin::enable_client,
        admin::create_identity_provider, admin::list_identity_providers,
        admin::delete_identity_provider, admin::list_audit,
        bridge::put_config, bridge::get_config, bridge::delete_config, bridge::status, bridge::webhook,
    ),
    components(schemas(
        Program, ProgramDescription, Event, Interval, IntervalPeriod, ValuesMap, PayloadDescriptor,
        ReportDescriptor, ObjectType, Problem, crate::domain::common::Point, Notification,
        crate::domain::report::Report, crate::domain::report::ReportResource, crate::domain::subscription::Subscription, crate::domain::subscription::ObjectOperation, crate::domain::subscription::Operation, crate::domain::subscription::Delivery, crate::domain::subscription::SubscriptionSecret,
        crate::domain::Ven, crate::domain::Resource,
        ec::EcUser, ec::Vehicle, ec::VehicleMetadata, ec::EcResource, ec::ResourceMetadata, ec::ResourceType,
        ec::Meter, ec::Address, ec::Coordinates, ec::LocationType, ec::ShortReport, ec::EnergyUsagePayload,
        ec::EnergyPoint, energy::CreateReportBody,
        auth::ClientCredentialResponse, auth::AuthError, auth::AuthServerInfo, auth::ClientCredentialRequest, keys::RotatedKey,
        admin_types::NewTenant, admin_types::Tenant, admin_types::ClientRole, admin_types::NewClient,
        admin_types::Client, admin_types::CreatedClient, admin_types::RotatedSecret,
        admin_types::NewIdentityProvider, admin_types::IdentityProvider, admin_types::AuditEntry,
        voltus_settings::VoltusConfigInput, voltus_settings::VoltusConfig, voltus_settings::VoltusStatus,
        voltus_mapping::SiteTarget, voltus_mapping::TestDispatches, voltus_mapping::Cancellation, bridge::WebhookAccepted,
    )),
    modifiers(&Security),
    tags(
        (name = "programs", description = "Demand-response programs."),
        (name = "events", description = "Events: what a program asks VENs to do, and when."),
        (name = "reports", description = "Reports: what VENs report back about events."), (name = "subscriptions", description = "Subscriptions to notifications of changes to objects."),
        (name = "vens", description = "VENs and their resources."),
        (name = "energy coordination", description = "Energy Coordination API for service providers (VEN clients): \
                                          users and their vehicles, meters and resources, stored as OpenADR resources of the caller's VEN."),
        (name = "Auth", description = "OAuth2 client-credentials tokens."),
        (name = "admin", description = "Administration by the operator of a hosted VTN: tenants, clients, \
                                          identity providers, signing keys, audit log. Requires the admin scope."),
        (name = "voltus bridge", description = "The Voltus bridge: Voltus dispatches become events of this tenant (one per dispatch and site, \
                                          targeting the site's customer_location_id as RESOURCE_NAME), and USAGE reports of those events go back to Voltus as telemetry. \
                                          Configured per tenant with PUT /admin/tenants/{tenantId}/voltus."),
        (name = "operations", description = "Liveness, readiness and metrics, outside the API base path."),
    ),
)]
pub struct ApiDoc;

/// What a webhook receives when an object it subscribed to changes (3.0.1 `notification`),
/// POSTed as JSON to the subscription's callback URL. Documentation only: the outbox writes it.
#[derive(utoipa::ToSchema)]
#[schema(as = notification, example = json!({"objectType": "EVENT", "operation": "POST",
    "object": {"id": "event-1", "programID": "program-1", "intervals": []}}))]
#[allow(dead_code, non_snake_case)]
pub struct Notification {
    /// The type of `object`.
    objectType: ObjectType,
    /// `POST`, `PUT` or `DELETE` (the 3.0.1 spelling, whichever spelling the subscription used).
    operation: crate::domain::subscription::Operation,
    /// The object as created, changed or (for `DELETE`) as it was.
    #[schema(schema_with = notification_object)]
    object: serde_json::Value,
}

fn notification_object() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{OneOfBuilder, Schema};
    use utoipa::openapi::Ref;
    let mut one_of = OneOfBuilder::new();
    for name in [
        "program",
        "report",
        "event",
        "subscription",
        "ven",
        "resource",
    ] {
        one_of = one_of.item(Ref::from_schema_name(name));
    }
    Schema::OneOf(one_of.build())
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.servers = Some(vec![Server::new(BASE_PATH)]);
        // Probes live at the root, outside the API base path.
        for probe in ["/health", "/ready", "/metrics", "/.well-known/jwks.json"] {
            if let Some(item) = openapi.paths.paths.get_mut(probe) {
                item.servers = Some(vec![Server::new("/")]);
            }
        }
        let scopes = Scopes::from_iter([
            ("read_all", "VENs and BL can read all resources"),
            ("write_programs", "Only BL can write to programs"),
            ("write_events", "Only BL can write to events"),
            ("write_reports", "only VENs can write to reports"),
            (
                "write_subscriptions",
                "VENs and BL can write to subscriptions",
            ),
            ("write_vens", "VENS and BL can write to vens and resources"),
            (
                "read_targets",
                "(3.1) VENs read the objects that target them",
            ),
            ("read_ven_objects", "(3.1) VENs read their own VEN objects"),
            (
                "admin",
                "Operators administer tenants, clients, identity providers and keys",
            ),
        ]);
        add_authorization_problems(openapi);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "oAuth2ClientCredentials",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "auth/token",
                    scopes,
                ))],
                "Client credential flow.",
            )),
        );
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as pretty JSON with a trailing newline, exactly as committed.
pub fn openapi_json() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes");
    json.push('\n');
    json
}

/// Every operation that needs a token can answer 401 (no valid token) and 403 (scope missing),
/// and every operation 500 (an unexpected failure, logged with the problem's `instance`): added
/// here once instead of in each handler's annotation.
fn add_authorization_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                responses
                    .entry("401".into())
                    .or_insert_with(|| problem("Unauthorized: no valid bearer token.").into());
                responses.entry("403".into()).or_insert_with(|| {
                    problem("Forbidden: the token lacks the scope this operation needs.").into()
                });
            }
            responses.entry("500".into()).or_insert_with(|| {
                problem("Internal Server Error: an unexpected failure, logged under the problem's `instance`.")
                    .into()
            });
        }
    }
}
