//! Energy Coordination API: the quickstart flow end to end (user → vehicle → meter → resource →
//! an event aimed at the meter point → an EnergyUsage report), and the short form's validation.

use crate::backend_tests;
use crate::energy_assets::*;
use crate::helpers::*;
use crate::vens::ven_token;
use serde_json::{json, Value};

/// An event aimed at meter point `mp`, asking for USAGE reports when `reports`. Its program, as
/// in the README's walkthrough, targets a group the service provider is not in: the event alone
/// is what the provider sees and reports on.
async fn event_for_meter_point(app: &TestApp, mp: &str, reports: bool) -> Value {
    let program = app
        .create_program(
            &format!("ec-{mp}-{reports}"),
            json!([{"type": "GROUP", "values": ["g1"]}]),
        )
        .await;
    let mut event = event_at(&id_of(&program), "2026-12-01T17:00:00Z", Some("PT1H"), 2);
    event["targets"] = json!([{"type": "METER_POINT_ID", "values": [mp]}]);
    if reports {
        event["reportDescriptors"] = json!([{"payloadType": "USAGE", "units": "KWH"}]);
    }
    app.create_event(event).await
}

fn usage(resource: &str, resolution: &str, points: Value) -> Value {
    json!({"payloadType": "EnergyUsage", "resourceId": resource, "resolution": resolution, "points": points})
}

fn points() -> Value {
    json!([{"timestamp": "2026-12-01T17:00:00Z", "kiloWattHours": 1.5},
           {"timestamp": "2026-12-01T18:00:00.000Z", "kiloWattHours": 0.25}])
}

async fn quickstart_flow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    let other = ven_token(&app, "default", "sp2", SP_SCOPES).await;
    assert_eq!(
        expect_json(
            post_as(&app, &sp, "/users", json!({"userId": "user-1"})).await,
            201
        )
        .await,
        json!({"userId": "user-1"})
    );
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/user-1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    let meter = expect_json(
        post_as(
            &app,
            &sp,
            "/users/user-1/meters",
            meter("707057500012345678"),
        )
        .await,
        201,
    )
    .await;
    let meter_id = meter["meterId"].as_str().unwrap().to_owned();
    expect_json(
        post_as(&app, &sp, "/users/user-1/resources", tank("tank-1")).await,
        201,
    )
    .await;

    // Business logic aims an event at the meter point; the service provider's VEN receives it.
    let event = event_for_meter_point(&app, "707057500012345678", true).await;
    let event_id = id_of(&event);
    let listed = expect_json(
        get_as(
            &app,
            &sp,
            "/events?targetType=METER_POINT_ID&targetValues=707057500012345678",
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&listed), vec![event_id.clone()]);
    assert_eq!(
        ids(&expect_json(get_as(&app, &sp, "/events").await, 200).await),
        vec![event_id.clone()]
    );
    expect_json(get_as(&app, &sp, &format!("/events/{event_id}")).await, 200).await;
    // ... and no other service provider does.
    assert_eq!(
        expect_json(get_as(&app, &other, "/events").await, 200).await,
        json!([])
    );
    // An event aimed at the meter's location reaches it too.
    let program = app.create_program("by-location", Value::Null).await;
    let mut by_location = event_at(&id_of(&program), "2026-12-01T17:00:00Z", Some("PT1H"), 1);
    by_location["targets"] = json!([{"type": "LOCATION_ID", "values": [meter_id]}]);
    let by_location = app.create_event(by_location).await;
    let listed = expect_json(
        get_as(&app, &sp, "/events?targetType=LOCATION_ID").await,
        200,
    )
    .await;
    assert_eq!(ids(&listed), vec![id_of(&by_location)]);

    // The service provider reports the energy used, in Volue's short form.
    let mut payload = usage("car-1", "01:00:00", points());
    payload["locationId"] = json!(meter_id);
    payload["meterPointId"] = json!("707057500012345678");
    let report = expect_json(
        post_as(
            &app,
            &sp,
            "/reports",
            json!({"eventId": event_id, "payloads": [payload, usage("tank-1", "PT1H", points())]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(report["objectType"], "REPORT");
    assert_eq!(report["programID"], event["programID"]);
    assert_eq!(report["eventID"], event_id);
    assert_eq!(report["clientName"], "sp1");
    assert_eq!(report["reportName"], "EnergyUsage");
    // Business logic reads it as a standard OpenADR report.
    let reports = expect_json(app.get(&format!("/reports?eventID={event_id}")).await, 200).await;
    assert_eq!(reports, json!([report.clone()]));
    let resources = report["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 2);
    assert_eq!(resources[0]["resourceName"], "car-1");
    assert_eq!(resources[1]["resourceName"], "tank-1");
    assert_eq!(
        resources[0]["intervals"],
        json!([
            {"id": 0, "intervalPeriod": {"start": "2026-12-01T17:00:00Z", "duration": "PT1H"},
             "payloads": [{"type": "USAGE", "values": [1.5]}]},
            {"id": 1, "intervalPeriod": {"start": "2026-12-01T18:00:00Z", "duration": "PT1H"},
             "payloads": [{"type": "USAGE", "values": [0.25]}]},
        ])
    );
    assert_eq!(report["payloadDescriptors"][0]["payloadType"], "USAGE");
    assert_eq!(report["payloadDescriptors"][0]["units"], "KWH");
    // The deprecated curvePoints spelling is accepted as well.
    let mut legacy = usage("tank-1", "01:00:00", Value::Null);
    legacy.as_object_mut().unwrap().remove("points");
    legacy["curvePoints"] = points();
    expect_json(
        post_as(
            &app,
            &sp,
            "/reports",
            json!({"eventId": event_id, "payloads": [legacy]}),
        )
        .await,
        201,
    )
    .await;
}

async fn short_reports_are_validated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp, "/users/u1/meters", meter("MP-1")).await,
        201,
    )
    .await;
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    let event = id_of(&event_for_meter_point(&app, "MP-1", true).await);
    let silent = id_of(&event_for_meter_point(&app, "MP-1", false).await);
    let hidden = id_of(&event_for_meter_point(&app, "MP-OTHER", true).await);
    let ok = usage("car-1", "01:00:00", points());
    let with = |field: &str, value: Value| {
        let mut payload = ok.clone();
        payload[field] = value;
        json!({"eventId": event, "payloads": [payload]})
    };
    let cases = [
        (
            json!({"eventId": event, "payloads": [{"payloadType": "Bananas"}]}),
            "payloads[0].payloadType: unknown payload type 'Bananas'",
        ),
        (
            json!({"eventId": event, "payloads": [{"payloadType": "LocationEnergyUsage"}]}),
            "not supported yet",
        ),
        (
            json!({"eventId": event, "payloads": [{"payloadType": "ResourceLPCAcknowledged"}]}),
            "not supported yet",
        ),
        (
            json!({"eventId": event, "payloads": [{"resourceId": "car-1"}]}),
            "payloads[0].payloadType: is required",
        ),
        (
            json!({"eventId": event, "payloads": []}),
            "payloads: must hold at least one",
        ),
        (json!({"eventId": event}), "payloads"),
        (
            json!({"eventId": event, "payloads": [ok], "extra": 1}),
            "extra",
        ),
        (
            json!({"eventId": "nope", "payloads": [ok]}),
            "eventId: event 'nope' does not exist",
        ),
        (
            json!({"eventId": hidden, "payloads": [ok]}),
            "does not exist",
        ),
        (
            json!({"eventId": silent, "payloads": [ok]}),
            "does not ask for EnergyUsage reports",
        ),
        (
            with("resolution", json!("1 hour")),
            "payloads[0].resolution",
        ),
        (
            with("resolution", json!("00:00:00")),
            "payloads[0].resolution",
        ),
        (
            with("resourceId", json!("car-9")),
            "payloads[0].resourceId: no vehicle or resource 'car-9'",
        ),
        (
            with("meterPointId", json!("MP-2")),
            "payloads[0]: locationId and meterPointId",
        ),
        (
            with("points", json!([])),
            "payloads[0].points: must hold at least one point",
        ),
        (
            with(
                "points",
                json!([{"timestamp": "yesterday", "kiloWattHours": 1}]),
            ),
            "payloads[0].points[0].timestamp",
        ),
        (
            with(
                "points",
                json!([{"timestamp": "2026-12-01T17:00:00Z", "kiloWattHours": "1"}]),
            ),
            "kiloWattHours",
        ),
        (
            with(
                "points",
                json!([{"timestamp": "2026-12-01T18:00:00Z", "kiloWattHours": 1},
                                {"timestamp": "2026-12-01T17:00:00Z", "kiloWattHours": 1}]),
            ),
            "payloads[0].points[1].timestamp: must be later",
        ),
        (
            with(
                "points",
                json!([{"timestamp": "2026-12-01T17:00:00Z", "kiloWattHours": 1},
                                {"timestamp": "2026-12-01T17:30:00Z", "kiloWattHours": 1}]),
            ),
            "whole number of resolutions",
        ),
        (with("colour", json!("red")), "payloads[0].colour"),
    ];
    for (body, expected) in cases {
        let detail = expect_problem(post_as(&app, &sp, "/reports", body.clone()).await, 400).await;
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    // Business logic has no VEN to report for: the short form is refused with 403.
    let detail = expect_problem(
        app.post("/reports", json!({"eventId": event, "payloads": [ok]}))
            .await,
        403,
    )
    .await;
    assert!(detail.contains("VEN clients"), "{detail}");
    // Nothing was stored by the refusals; the standard form keeps its own precise errors.
    assert_eq!(expect_json(app.get("/reports").await, 200).await, json!([]));
    let detail = expect_problem(app.post("/reports", json!({"programID": "p", "eventID": "e", "clientName": "c", "resources": [{"resourceName": "r", "intervals": [{"id": "x", "payloads": []}]}]})).await, 400).await;
    assert!(
        detail.starts_with("resources[0].intervals[0].id:"),
        "{detail}"
    );
    // A key given twice is refused in either form, never read as "the last one wins".
    let payload = ok.to_string();
    for raw in [
        format!(r#"{{"eventId": "{event}", "eventId": "{silent}", "payloads": [{payload}]}}"#),
        r#"{"programID": "p", "eventID": "e", "eventID": "f", "clientName": "c", "resources": []}"#
            .to_owned(),
    ] {
        let response = app
            .request(reqwest::Method::POST, "/reports", Some(&sp))
            .header("Content-Type", "application/json")
            .body(raw.clone())
            .send()
            .await
            .unwrap();
        let detail = expect_problem(response, 400).await;
        assert!(detail.contains("duplicate field"), "{raw}: {detail}");
    }
    assert_eq!(expect_json(app.get("/reports").await, 200).await, json!([]));
}

/// An event aimed at a meter point registered through `/users/{id}/meters` is delivered by
/// webhook to that service provider's VEN, and to no other provider.
async fn an_event_for_a_meter_point_is_delivered_to_its_provider(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let scopes = format!("{SP_SCOPES},write_subscriptions");
    let sp = ven_token(&app, "default", "sp1", &scopes).await;
    let other = ven_token(&app, "default", "sp2", &scopes).await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u"})).await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp, "/users/u/meters", meter("MP-42")).await,
        201,
    )
    .await;
    let program = id_of(&app.create_program("dr", Value::Null).await);
    let mine = crate::receiver::Receiver::new();
    let theirs = crate::receiver::Receiver::new();
    for (token, name, receiver) in [(&sp, "sp1", &mine), (&other, "sp2", &theirs)] {
        let subscription = json!({"programID": program, "clientName": name, "objectOperations": [
            {"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": receiver.url()}]});
        expect_json(
            post_as(&app, token, "/subscriptions", subscription).await,
            201,
        )
        .await;
    }
    let mut event = event_at(&program, "2026-12-01T17:00:00Z", Some("PT1H"), 1);
    event["targets"] = json!([{"type": "METER_POINT_ID", "values": ["MP-42"]}]);
    let event = app.create_event(event).await;
    let received = mine.wait_for(1, std::time::Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body["object"], event);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(theirs.received().is_empty(), "another provider heard of it");
}

backend_tests!(
    an_event_for_a_meter_point_is_delivered_to_its_provider,
    quickstart_flow,
    short_reports_are_validated
);
