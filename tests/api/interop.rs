//! Interop: the published `openleadr-client` crate (0.1.x, OpenADR 3.0.1) drives this server as a
//! real business-logic client and as a real VEN: programs, events, VENs, resources and reports
//! round-trip through its strict wire types (`openleadr-wire`), which must accept every body we
//! send back.
//!
//! Known defects of openleadr-client 0.1.1, worked around here:
//! - `Client::with_url` puts the token endpoint at the host root (`/auth/token`), dropping our
//!   base path; `Client::with_details` takes the token URL explicitly.
//! - `VenClient::get_all_resources` joins the absolute path `/vens/{venID}/resources`, so it
//!   leaves any base path and asks the host root. It cannot work against a VTN that is not at
//!   the root; the resource list is read with a direct HTTP call instead.
//! - `Duration` serializes as `P{y}Y{m}M{d}DT{h}H{m}M{s}S` with float parts, so a negative or
//!   fractional `timeZoneOffset` comes out outside the 3.0.1 pattern; only whole positive ones
//!   are used below.
//!
//! The VTN URL given to the crate must end with `/`, since it `Url::join`s relative paths onto it.

use crate::backend_tests;
use crate::helpers::*;
use chrono::{DateTime, Utc};
use openleadr_client::{Client, ClientCredentials, Error as ClientError, Filter};
use openleadr_wire::event::{
    EventInterval, EventPayloadDescriptor, EventType, EventValuesMap, Priority,
};
use openleadr_wire::interval::{Interval, IntervalPeriod};
use openleadr_wire::oauth::OAuthErrorType;
use openleadr_wire::program::{PayloadDescriptor, ProgramContent, ProgramDescription};
use openleadr_wire::report::{
    ReportDescriptor, ReportPayloadDescriptor, ReportResource, ReportType, ResourceName,
};
use openleadr_wire::resource::ResourceContent;
use openleadr_wire::target::{TargetEntry, TargetMap, TargetType};
use openleadr_wire::values_map::{Value as WireValue, ValueType, ValuesMap};
use openleadr_wire::ven::VenContent;
use openleadr_wire::{Duration as WireDuration, Unit};
use reqwest::Method;
use serde_json::{json, Value};

const BL_SCOPES: &str = "read_all,write_programs,write_events,write_reports,write_vens";
const VEN_SCOPES: &str = "read_all,write_reports,write_vens";

/// An openleadr-client `Client` of `app` that authenticates as `client_id`.
fn openleadr(app: &TestApp, client_id: &str, secret: &str) -> Client {
    Client::with_details(
        // The trailing slash matters: the crate joins relative paths such as `programs`.
        format!("{}/", app.base).parse().expect("VTN URL"),
        format!("{}/auth/token", app.base)
            .parse()
            .expect("token URL"),
        reqwest::Client::new(),
        Some(ClientCredentials::new(client_id.into(), secret.into())),
    )
}

/// A business-logic client of tenant `default`, as the crate and as a bearer token.
async fn bl_client(app: &TestApp) -> (Client, String) {
    let created = app.create_client("default", BL_SCOPES).await;
    let token = app
        .token_for(&created.client_id, &created.client_secret, None)
        .await;
    (
        openleadr(app, &created.client_id, &created.client_secret),
        token,
    )
}

/// A VEN client of tenant `default` bound to `ven_name`, made with the CLI, as the crate and as a
/// bearer token.
async fn ven_client(app: &TestApp, ven_name: &str) -> (Client, String) {
    let output = vtn_binary()
        .args(["client", "create", "--tenant", "default", "--role", "ven"])
        .args(["--ven-name", ven_name, "--scopes", VEN_SCOPES])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("run openadr3-vtn client create");
    assert!(
        output.status.success(),
        "client create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    (
        openleadr(app, id, secret),
        app.token_for(id, secret, None).await,
    )
}

/// The raw JSON of `GET path` with `token`, asserting 200.
async fn raw(app: &TestApp, token: &str, path: &str) -> Value {
    expect_json(
        app.request(Method::GET, path, Some(token))
            .send()
            .await
            .expect("request sent"),
        200,
    )
    .await
}

/// The HTTP status of the problem the crate received; panics on any other error.
fn problem_status(error: &ClientError) -> u16 {
    match error {
        ClientError::Problem(problem) => problem.status.as_u16(),
        other => panic!("expected an OpenADR problem, got {other}"),
    }
}

fn problem_detail(error: &ClientError) -> String {
    match error {
        ClientError::Problem(problem) => problem.detail.clone().unwrap_or_default(),
        other => panic!("expected an OpenADR problem, got {other}"),
    }
}

/// `json` read by one of the crate's wire types, from text as the crate reads a response body
/// (`openleadr-wire` identifiers borrow from the input, so `serde_json::from_value` cannot).
fn wire<T: serde::de::DeserializeOwned>(json: &Value, what: &str) -> T {
    serde_json::from_str(&json.to_string())
        .unwrap_or_else(|e| panic!("the crate's {what} type refuses our JSON ({e}): {json}"))
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("a date-time")
}

fn period(start: &str, hours: f32) -> IntervalPeriod {
    IntervalPeriod {
        start: at(start),
        duration: Some(WireDuration::hours(hours)),
        randomize_start: None,
    }
}

fn targets(label: TargetType, values: &[&str]) -> TargetMap {
    TargetMap(vec![TargetEntry {
        label,
        values: values.iter().map(|v| v.to_string()).collect(),
    }])
}

fn price(value: f64) -> EventValuesMap {
    EventValuesMap {
        value_type: EventType::Price,
        values: vec![WireValue::Number(value)],
    }
}

fn usage(value: f64) -> ValuesMap {
    ValuesMap {
        value_type: ValueType("USAGE".into()),
        values: vec![WireValue::Number(value)],
    }
}

/// PRICE in USD per kWh. `iso_currency` is not a dependency of ours, so the currency comes
/// from JSON, as the crate would read it from a VTN.
fn price_descriptor() -> EventPayloadDescriptor {
    serde_json::from_value(json!({"payloadType": "PRICE", "units": "KWH", "currency": "USD"}))
        .expect("a payload descriptor")
}

fn ids_of<T>(items: &[T], id: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(id).collect()
}

async fn a_business_logic_client_round_trips_programs_and_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (bl, token) = bl_client(&app).await;

    // A program with every 3.0.1 field the crate models.
    let sent_program = ProgramContent {
        program_long_name: Some("Interop time of use".into()),
        retailer_name: Some("ACME".into()),
        retailer_long_name: Some("ACME Energy".into()),
        program_type: Some("PRICING_TARIFF".into()),
        country: Some("US".into()),
        principal_subdivision: Some("CA".into()),
        time_zone_offset: Some(WireDuration::hours(1.0)),
        interval_period: Some(period("2026-12-01T00:00:00Z", 24.0)),
        program_descriptions: Some(vec![ProgramDescription {
            url: "https://example.com/tou".into(),
        }]),
        binding_events: Some(true),
        local_price: Some(false),
        payload_descriptors: Some(vec![PayloadDescriptor::EventPayloadDescriptor(
            price_descriptor(),
        )]),
        targets: Some(targets(TargetType::Group, &["g1"])),
        ..ProgramContent::new("interop-tou")
    };
    let mut program = bl
        .create_program(sent_program.clone())
        .await
        .expect("the crate creates a program");
    let program_id = program.id().to_string();
    assert_eq!(program.content(), &sent_program, "the program round-trips");
    assert_eq!(
        program.created_date_time(),
        program.modification_date_time()
    );

    // Our JSON as it is on the wire, and as the crate's wire type reads it.
    let json = raw(&app, &token, &format!("/programs/{program_id}")).await;
    assert_eq!(json["objectType"], "PROGRAM");
    assert_eq!(json["programName"], "interop-tou");
    assert_eq!(json["timeZoneOffset"], "P0Y0M0DT1H0M0S", "kept as sent");
    assert_eq!(
        json["payloadDescriptors"],
        json!([{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE",
                "units": "KWH", "currency": "USD"}])
    );
    assert_eq!(
        json["targets"],
        json!([{"type": "GROUP", "values": ["g1"]}])
    );
    let parsed: openleadr_wire::Program = wire(&json, "Program");
    assert_eq!(parsed.id.as_str(), program_id);
    assert_eq!(parsed.content, sent_program);

    // Reads: by id, and lists filtered by target.
    let read = bl.get_program_by_id(program.id()).await.expect("by id");
    assert_eq!(read.content(), &sent_program);
    assert_eq!(read.created_date_time(), program.created_date_time());
    let listed = |filter: Filter<'static, &'static str>| {
        let bl = bl.clone();
        async move {
            let programs = bl.get_program_list(filter).await.expect("program list");
            ids_of(&programs, |p| p.id().to_string())
        }
    };
    assert_eq!(listed(Filter::none()).await, vec![program_id.clone()]);
    assert_eq!(
        listed(Filter::By(TargetType::Group, &["g1"])).await,
        vec![program_id.clone()]
    );
    assert!(listed(Filter::By(TargetType::Group, &["g2"]))
        .await
        .is_empty());

    // A duplicate name is a 409 problem, which the crate recognises.
    let duplicate = bl
        .create_program(ProgramContent::new("interop-tou"))
        .await
        .expect_err("a duplicate program name is refused");
    assert!(duplicate.is_conflict(), "409 expected, got {duplicate}");

    // An event with two PRICE intervals: the first takes the event's period, the second its own.
    let sent_event = program
        .new_event(vec![
            EventInterval::new(0, vec![price(0.31)]),
            EventInterval {
                id: 1,
                interval_period: Some(period("2026-12-01T19:00:00Z", 2.0)),
                payloads: vec![price(0.42)],
            },
        ])
        .with_event_name("evening-peak")
        .with_priority(Priority::new(3))
        .with_targets(targets(TargetType::Group, &["g1"]))
        .with_payload_descriptors(vec![price_descriptor()])
        .with_report_descriptors(vec![ReportDescriptor {
            units: Some(Unit::KWH),
            ..ReportDescriptor::new(ReportType::Usage)
        }])
        .with_interval_period(IntervalPeriod {
            randomize_start: Some(WireDuration::PT0S),
            ..period("2026-12-01T17:00:00Z", 1.0)
        });
    let mut event = program
        .create_event(sent_event.clone())
        .await
        .expect("the crate creates an event");
    let event_id = event.id().to_string();
    assert_eq!(event.content(), &sent_event, "the event round-trips");

    let json = raw(&app, &token, &format!("/events/{event_id}")).await;
    assert_eq!(json["objectType"], "EVENT");
    assert_eq!(json["programID"], program_id);
    assert_eq!(json["priority"], 3);
    assert_eq!(
        json["targets"],
        json!([{"type": "GROUP", "values": ["g1"]}])
    );
    assert_eq!(
        json["intervals"],
        json!([
            {"id": 0, "payloads": [{"type": "PRICE", "values": [0.31]}]},
            {"id": 1,
             "intervalPeriod": {"start": "2026-12-01T19:00:00Z", "duration": "P0Y0M0DT2H0M0S"},
             "payloads": [{"type": "PRICE", "values": [0.42]}]}
        ])
    );
    assert_eq!(
        json["reportDescriptors"],
        json!([{"payloadType": "USAGE", "readingType": "DIRECT_READ", "units": "KWH",
                "aggregate": false, "startInterval": -1, "numIntervals": -1,
                "historical": true, "frequency": -1, "repeat": 1}])
    );
    let parsed: openleadr_wire::Event = wire(&json, "Event");
    assert_eq!(parsed.content, sent_event);

    // An event of another program, to show that the program filter discriminates.
    let other_program = bl
        .create_program(ProgramContent::new("interop-other"))
        .await
        .expect("second program");
    let other_event = other_program
        .create_event(
            other_program
                .new_event(vec![EventInterval::new(0, vec![price(1.0)])])
                .with_interval_period(period("2026-12-02T17:00:00Z", 1.0)),
        )
        .await
        .expect("second event");

    let read = bl.get_event_by_id(event.id()).await.expect("event by id");
    assert_eq!(read.content(), &sent_event);
    let in_program = program
        .get_event_list(Filter::none())
        .await
        .expect("events of the program");
    assert_eq!(
        ids_of(&in_program, |e| e.id().to_string()),
        vec![event_id.clone()]
    );
    let all = bl
        .get_event_list(None, Filter::none())
        .await
        .expect("all events");
    assert_eq!(
        ids_of(&all, |e| e.id().to_string()),
        vec![event_id.clone(), other_event.id().to_string()],
        "creation order"
    );
    let g1 = bl
        .get_event_list(None, Filter::By(TargetType::Group, &["g1"]))
        .await
        .expect("events for g1");
    assert_eq!(ids_of(&g1, |e| e.id().to_string()), vec![event_id.clone()]);

    // The crate's timeline reads our intervals: 17:00–18:00 at 0.31, 19:00–21:00 at 0.42.
    let timeline = program
        .get_timeline(Filter::none())
        .await
        .expect("a timeline");
    let (range, interval) = timeline
        .at_datetime(&at("2026-12-01T17:30:00Z"))
        .expect("active at 17:30");
    assert_eq!(
        range.clone(),
        at("2026-12-01T17:00:00Z")..at("2026-12-01T18:00:00Z")
    );
    assert_eq!(interval.value_map(), &[price(0.31)]);
    let (range, interval) = timeline
        .at_datetime(&at("2026-12-01T20:59:00Z"))
        .expect("active at 20:59");
    assert_eq!(
        range.clone(),
        at("2026-12-01T19:00:00Z")..at("2026-12-01T21:00:00Z")
    );
    assert_eq!(interval.value_map(), &[price(0.42)]);
    assert!(timeline.at_datetime(&at("2026-12-01T18:30:00Z")).is_none());

    // Updates replace the whole object and keep id and createdDateTime.
    let created = event.created_date_time();
    event.content_mut().event_name = Some("evening-peak-revised".into());
    event.content_mut().intervals[0].payloads = vec![price(0.29)];
    event.content_mut().targets = None;
    let expected_event = event.content().clone();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    event.update().await.expect("the crate updates the event");
    assert_eq!(event.content(), &expected_event);
    assert_eq!(event.id().to_string(), event_id);
    assert_eq!(event.created_date_time(), created);
    assert!(event.modification_date_time() > created);
    let json = raw(&app, &token, &format!("/events/{event_id}")).await;
    assert_eq!(json["intervals"][0]["payloads"][0]["values"], json!([0.29]));
    assert!(
        json.get("targets").is_none(),
        "PUT dropped the targets: {json}"
    );
    assert_eq!(
        bl.get_event_by_id(event.id()).await.unwrap().content(),
        &expected_event
    );

    program.content_mut().program_long_name = Some("Interop TOU, revised".into());
    program.content_mut().targets = None;
    let expected_program = program.content().clone();
    program
        .update()
        .await
        .expect("the crate updates the program");
    assert_eq!(program.content(), &expected_program);
    assert!(program.modification_date_time() > program.created_date_time());
    assert!(listed(Filter::By(TargetType::Group, &["g1"]))
        .await
        .is_empty());

    // A program with events is not deleted (409); events and programs delete and return
    // what they were.
    let refused = program
        .clone()
        .delete()
        .await
        .expect_err("a program with events is not deleted");
    assert!(refused.is_conflict(), "409 expected, got {refused}");
    let deleted = event.delete().await.expect("the crate deletes the event");
    assert_eq!(deleted.id.as_str(), event_id);
    assert_eq!(deleted.content, expected_event);
    let gone = bl
        .get_event_by_id(&event_id.parse().unwrap())
        .await
        .expect_err("the event is gone");
    assert!(gone.is_not_found(), "404 expected, got {gone}");
    let deleted = program
        .delete()
        .await
        .expect("the crate deletes the program");
    assert_eq!(deleted.id.as_str(), program_id);
    assert_eq!(deleted.content, expected_program);
    let gone = bl
        .get_program_by_id(&program_id.parse().unwrap())
        .await
        .expect_err("the program is gone");
    assert!(gone.is_not_found(), "404 expected, got {gone}");
    assert_eq!(
        listed(Filter::none()).await,
        vec![other_program.id().to_string()]
    );
}

async fn a_ven_client_registers_reads_its_events_and_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (bl, bl_token) = bl_client(&app).await;
    let (ven, ven_token) = ven_client(&app, "ven-1").await;

    // Business logic: a program for everyone, one for another VEN, another VEN, and events
    // aimed in different ways.
    let program = bl
        .create_program(ProgramContent::new("interop-dr"))
        .await
        .expect("program");
    let hidden_program = bl
        .create_program(ProgramContent {
            targets: Some(targets(TargetType::VENName, &["ven-2"])),
            ..ProgramContent::new("interop-ven-2-only")
        })
        .await
        .expect("hidden program");
    let ven_2 = bl
        .create_ven(VenContent::new("ven-2".into(), None, None, None))
        .await
        .expect("the business logic creates a VEN");
    let event_for = |name: &str, target: Option<TargetMap>| {
        let mut content = program
            .new_event(vec![EventInterval::new(0, vec![price(0.5)])])
            .with_event_name(name)
            .with_interval_period(period("2026-12-01T17:00:00Z", 1.0));
        content.targets = target;
        let program = program.clone();
        async move { program.create_event(content).await.expect("event") }
    };
    let by_name = event_for(
        "by-ven-name",
        Some(targets(TargetType::VENName, &["ven-1"])),
    )
    .await;
    let by_group = event_for("by-group", Some(targets(TargetType::Group, &["g1"]))).await;
    let by_resource = event_for(
        "by-resource",
        Some(targets(TargetType::ResourceName, &["meter-1"])),
    )
    .await;
    let for_ven_2 = event_for("for-ven-2", Some(targets(TargetType::VENName, &["ven-2"]))).await;
    let for_all = event_for("untargeted", None).await;
    let id = |e: &openleadr_client::EventClient| e.id().to_string();

    let ven_events = || {
        let ven = ven.clone();
        async move {
            let events = ven
                .get_event_list(None, Filter::none())
                .await
                .expect("the VEN lists its events");
            ids_of(&events, |e| e.id().to_string())
        }
    };

    // Before it registers, only VEN_NAME targets and untargeted objects reach the VEN.
    let programs = ven
        .get_program_list(Filter::none())
        .await
        .expect("VEN programs");
    assert_eq!(
        ids_of(&programs, |p| p.id().to_string()),
        vec![program.id().to_string()]
    );
    assert!(ven
        .get_program_by_id(hidden_program.id())
        .await
        .expect_err("hidden")
        .is_not_found());
    assert_eq!(ven_events().await, vec![id(&by_name), id(&for_all)]);

    // A VEN client writes no programs, and registers no VEN but its own.
    let refused = ven
        .create_program(ProgramContent::new("by-a-ven"))
        .await
        .expect_err("a VEN client creates no programs");
    assert_eq!(problem_status(&refused), 403, "{refused}");
    let refused = ven
        .create_ven(VenContent::new("ven-3".into(), None, None, None))
        .await
        .expect_err("a VEN client registers only its own VEN");
    assert_eq!(problem_status(&refused), 403, "{refused}");

    // It registers its VEN, with a description; it may not give itself a group (business
    // logic writes the targets of VENs).
    let description = Some(vec![ValuesMap {
        value_type: ValueType("DESCRIPTION".into()),
        values: vec![WireValue::String("interop VEN".into())],
    }]);
    let widening = VenContent::new(
        "ven-1".into(),
        description.clone(),
        Some(targets(TargetType::Group, &["g1"])),
        None,
    );
    let refused = ven
        .create_ven(widening)
        .await
        .expect_err("a VEN client sets no targets");
    assert_eq!(problem_status(&refused), 403, "{refused}");
    assert!(problem_detail(&refused).contains("targets"), "{refused}");
    let sent_ven = VenContent::new("ven-1".into(), description, None, None);
    let own = ven
        .create_ven(sent_ven.clone())
        .await
        .expect("the VEN registers");
    assert_eq!(own.content(), &sent_ven, "the VEN round-trips");
    let ven_id = own.id().to_string();
    let json = raw(&app, &ven_token, &format!("/vens/{ven_id}")).await;
    assert_eq!(json["objectType"], "VEN");
    assert!(json.get("resources").is_none(), "{json}");
    let parsed: openleadr_wire::Ven = wire(&json, "Ven");
    assert_eq!(parsed.content, sent_ven);

    // It sees its own VEN only: by list, by name and by id.
    let vens = ven.get_ven_list(Filter::none()).await.expect("VEN list");
    assert_eq!(ids_of(&vens, |v| v.id().to_string()), vec![ven_id.clone()]);
    let by_name_lookup = ven.get_ven_by_name("ven-1").await.expect("by name");
    assert_eq!(by_name_lookup.id().to_string(), ven_id);
    assert!(matches!(
        ven.get_ven_by_name("ven-2").await,
        Err(ClientError::ObjectNotFound)
    ));
    assert!(ven
        .get_ven_by_id(ven_2.id())
        .await
        .expect_err("another VEN")
        .is_not_found());
    let bl_vens = bl.get_ven_list(Filter::none()).await.expect("BL VEN list");
    assert_eq!(
        ids_of(&bl_vens, |v| v.id().to_string()),
        vec![ven_2.id().to_string(), ven_id.clone()]
    );
    assert_eq!(ven_events().await, vec![id(&by_name), id(&for_all)]);
    // Business logic gives it the group, which now reaches it.
    let mut assigned = bl.get_ven_by_id(own.id()).await.expect("BL reads the VEN");
    assigned.content_mut().targets = Some(targets(TargetType::Group, &["g1"]));
    assigned
        .update()
        .await
        .expect("business logic sets the targets");
    let own = ven
        .get_ven_by_id(own.id())
        .await
        .expect("the VEN re-reads itself");
    assert_eq!(
        own.content().targets,
        Some(targets(TargetType::Group, &["g1"]))
    );
    assert_eq!(
        ven_events().await,
        vec![id(&by_name), id(&by_group), id(&for_all)]
    );

    // A resource under its VEN.
    let sent_resource = ResourceContent {
        resource_name: "meter-1".into(),
        attributes: Some(vec![ValuesMap {
            value_type: ValueType("MAX_POWER_CONSUMPTION".into()),
            values: vec![WireValue::Number(7.5)],
        }]),
        targets: None,
    };
    let mut resource = own
        .create_resource(sent_resource.clone())
        .await
        .expect("the VEN creates a resource");
    assert_eq!(
        resource.content(),
        &sent_resource,
        "the resource round-trips"
    );
    let resource_id = resource.id().to_string();
    let json = raw(
        &app,
        &ven_token,
        &format!("/vens/{ven_id}/resources/{resource_id}"),
    )
    .await;
    assert_eq!(json["objectType"], "RESOURCE");
    assert_eq!(json["venID"], ven_id, "venID comes from the path");
    let parsed: openleadr_wire::resource::Resource = wire(&json, "Resource");
    assert_eq!(parsed.ven_id.as_str(), ven_id);
    assert_eq!(parsed.content, sent_resource);
    assert_eq!(
        own.get_resource_by_id(resource.id())
            .await
            .expect("by id")
            .content(),
        &sent_resource
    );
    assert_eq!(
        own.get_resource_by_name("meter-1")
            .await
            .expect("by name")
            .id()
            .to_string(),
        resource_id
    );
    // `get_all_resources` asks `{host}/vens/{venID}/resources` (see the module comment): outside
    // our base path, where our 404 problem is all there is. The list, read directly:
    let outside = own
        .get_all_resources(None)
        .await
        .expect_err("the crate's resource list leaves the base path");
    assert!(outside.is_not_found(), "404 expected, got {outside}");
    let list = raw(&app, &ven_token, &format!("/vens/{ven_id}/resources")).await;
    assert_eq!(ids(&list), vec![resource_id.clone()]);
    let parsed: Vec<openleadr_wire::resource::Resource> = wire(&list, "Resource");
    assert_eq!(parsed[0].content, sent_resource);
    // Its resource's name reaches it once business logic approved the resource (by writing
    // it); another VEN's event never does.
    assert_eq!(
        ven_events().await,
        vec![id(&by_name), id(&by_group), id(&for_all)]
    );
    let approval = raw(
        &app,
        &bl_token,
        &format!("/vens/{ven_id}/resources/{resource_id}"),
    )
    .await;
    let approved = app
        .request(
            Method::PUT,
            &format!("/vens/{ven_id}/resources/{resource_id}"),
            Some(&bl_token),
        )
        .json(&approval)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    assert_eq!(
        ven_events().await,
        vec![id(&by_name), id(&by_group), id(&by_resource), id(&for_all)]
    );
    assert!(ven
        .get_event_by_id(for_ven_2.id())
        .await
        .expect_err("another VEN's event")
        .is_not_found());

    // Updates: the resource, then the VEN's targets (visibility follows at once); no renaming.
    resource.content_mut().attributes.as_mut().unwrap()[0].values = vec![WireValue::Number(9.0)];
    let expected_resource = resource.content().clone();
    resource
        .update()
        .await
        .expect("the VEN updates its resource");
    assert_eq!(resource.content(), &expected_resource);
    let mut widened = own.clone();
    widened.content_mut().targets = Some(targets(TargetType::Group, &["g2"]));
    let refused = widened
        .update()
        .await
        .expect_err("a VEN client changes no targets");
    assert_eq!(problem_status(&refused), 403, "{refused}");
    let mut assigned = bl.get_ven_by_id(own.id()).await.expect("BL reads the VEN");
    assigned.content_mut().targets = Some(targets(TargetType::Group, &["g2"]));
    assigned
        .update()
        .await
        .expect("business logic changes the targets");
    let expected_ven = assigned.content().clone();
    let mut own = ven
        .get_ven_by_id(own.id())
        .await
        .expect("the VEN re-reads itself");
    assert_eq!(own.content(), &expected_ven);
    own.update()
        .await
        .expect("the VEN updates itself, its targets as read");
    assert_eq!(own.content(), &expected_ven);
    assert_eq!(
        ven_events().await,
        vec![id(&by_name), id(&by_resource), id(&for_all)]
    );
    let mut renamed = own.clone();
    renamed.content_mut().ven_name = "ven-1-renamed".into();
    let refused = renamed.update().await.expect_err("no renaming");
    assert_eq!(problem_status(&refused), 403, "{refused}");

    // A report on the event aimed at its name.
    let event = ven
        .get_event_by_id(by_name.id())
        .await
        .expect("the VEN reads its event");
    assert_eq!(event.content(), by_name.content());
    let sent_report = event
        .new_report("ven-1".into())
        .with_name("usage-ven-1")
        .with_payload_descriptors(vec![ReportPayloadDescriptor {
            units: Some(Unit::KWH),
            accuracy: Some(0.5),
            ..ReportPayloadDescriptor::new(ReportType::Usage)
        }])
        .with_resources(vec![ReportResource {
            resource_name: ResourceName::Private("meter-1".into()),
            interval_period: Some(period("2026-12-01T17:00:00Z", 1.0)),
            intervals: vec![
                Interval::new(0, vec![usage(1.5)]),
                Interval {
                    id: 1,
                    interval_period: Some(period("2026-12-01T18:00:00Z", 1.0)),
                    payloads: vec![usage(2.0)],
                },
            ],
        }]);
    let mut report = event
        .create_report(sent_report.clone())
        .await
        .expect("the VEN posts a report");
    assert_eq!(report.content(), &sent_report, "the report round-trips");
    let report_id = report.id().to_string();
    let json = raw(&app, &bl_token, &format!("/reports/{report_id}")).await;
    assert_eq!(json["objectType"], "REPORT");
    assert_eq!(json["programID"], program.id().as_str());
    assert_eq!(json["eventID"], by_name.id().as_str());
    assert_eq!(json["clientName"], "ven-1");
    assert_eq!(json["resources"][0]["resourceName"], "meter-1");
    assert_eq!(
        json["resources"][0]["intervals"][1]["payloads"],
        json!([{"type": "USAGE", "values": [2.0]}])
    );
    let parsed: openleadr_wire::Report = wire(&json, "Report");
    assert_eq!(parsed.content, sent_report);

    let mine = event.get_report_list(Some("ven-1")).await.expect("reports");
    assert_eq!(
        ids_of(&mine, |r| r.id().to_string()),
        vec![report_id.clone()]
    );
    assert!(event
        .get_report_list(Some("ven-2"))
        .await
        .expect("reports of nobody")
        .is_empty());
    // Another VEN's name as clientName is a 400 naming the field.
    let refused = event
        .create_report(event.new_report("ven-2".into()))
        .await
        .expect_err("a VEN reports under its own name");
    assert_eq!(problem_status(&refused), 400, "{refused}");
    assert!(problem_detail(&refused).contains("clientName"), "{refused}");

    // Business logic sees the report, and cannot delete the event under it.
    let bl_event = bl.get_event_by_id(by_name.id()).await.expect("BL event");
    let seen = bl_event.get_report_list(None).await.expect("BL reports");
    assert_eq!(
        ids_of(&seen, |r| r.id().to_string()),
        vec![report_id.clone()]
    );
    assert_eq!(seen[0].content(), &sent_report);
    let refused = bl_event
        .clone()
        .delete()
        .await
        .expect_err("an event with reports is not deleted");
    assert!(refused.is_conflict(), "409 expected, got {refused}");

    // The VEN updates, then deletes, its report.
    report.content_mut().report_name = Some("usage-ven-1-final".into());
    report.content_mut().resources[0].intervals[0].payloads = vec![usage(1.75)];
    let expected_report = report.content().clone();
    report.update().await.expect("the VEN updates its report");
    assert_eq!(report.content(), &expected_report);
    assert_eq!(
        bl_event.get_report_list(None).await.unwrap()[0].content(),
        &expected_report
    );
    let deleted = report.delete().await.expect("the VEN deletes its report");
    assert_eq!(deleted.id.as_str(), report_id);
    assert_eq!(deleted.content, expected_report);
    assert!(bl_event.get_report_list(None).await.unwrap().is_empty());

    // And its resource.
    let deleted = resource
        .delete()
        .await
        .expect("the VEN deletes its resource");
    assert_eq!(deleted.id.as_str(), resource_id);
    assert_eq!(deleted.content, expected_resource);
    assert!(own
        .get_resource_by_id(&resource_id.parse().unwrap())
        .await
        .expect_err("the resource is gone")
        .is_not_found());
}

async fn bad_credentials_are_an_oauth_error_the_crate_reads(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = app.create_client("default", BL_SCOPES).await;
    let client = openleadr(&app, &created.client_id, "not-the-secret");
    match client.get_program_list(Filter::none()).await {
        Err(ClientError::AuthProblem(problem)) => assert!(
            matches!(problem.error, OAuthErrorType::InvalidClient),
            "{problem:?}"
        ),
        other => panic!("expected invalid_client, got {other:?}"),
    }
    // The right secret, by HTTP Basic as the crate sends it, works.
    let client = openleadr(&app, &created.client_id, &created.client_secret);
    assert!(client
        .get_program_list(Filter::none())
        .await
        .expect("authenticated")
        .is_empty());
}

backend_tests!(
    a_business_logic_client_round_trips_programs_and_events,
    a_ven_client_registers_reads_its_events_and_reports,
    bad_credentials_are_an_oauth_error_the_crate_reads,
);
