//! Content limits (`VTN_MAX_INTERVALS`, `_VALUES`, `_TARGETS`, `_ARRAY_ITEMS`, `_STRING_CHARS`):
//! a body over one is answered 413 naming the field and the setting, and nothing is written.
//! (The body-size limit is in `errors.rs`; slow clients and the request timeout in `faults.rs`.)

use crate::backend_tests;
use crate::helpers::*;
use serde_json::{json, Value};

fn intervals(count: usize, values: usize) -> Value {
    (0..count)
        .map(|i| json!({"id": i, "payloads": [{"type": "SIMPLE", "values": vec![1; values]}]}))
        .collect()
}

fn targets(count: usize, values: usize) -> Value {
    (0..count)
        .map(|i| json!({"type": format!("GROUP{i}"), "values": (0..values).map(|v| format!("g{v}")).collect::<Vec<_>>()}))
        .collect()
}

/// Limits small enough to reach in a test: 3 intervals, 2 values, 2 targets, 5 array items, 40
/// characters.
async fn small_limits(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |args| {
        args.limits.max_intervals = 3;
        args.limits.max_values = 2;
        args.limits.max_targets = 2;
        args.limits.max_array_items = 5;
        args.limits.max_string_chars = 40;
    })
    .await
}

async fn events_over_a_limit_are_413_naming_field_and_setting(backend: Backend) {
    let app = small_limits(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let event = |intervals: Value, targets: Value| json!({"programID": program, "eventName": "e", "intervals": intervals, "targets": targets});

    // At every limit: accepted.
    let at_limits = expect_json(
        app.post("/events", event(intervals(3, 2), targets(2, 2)))
            .await,
        201,
    )
    .await;

    for (body, detail) in [
        (
            event(intervals(4, 1), json!(null)),
            "intervals: more than 3 items (limit VTN_MAX_INTERVALS)",
        ),
        (
            event(intervals(1, 3), json!(null)),
            "intervals[0].payloads[0].values: more than 2 items (limit VTN_MAX_VALUES)",
        ),
        (
            event(intervals(1, 1), targets(3, 1)),
            "targets: more than 2 items (limit VTN_MAX_TARGETS)",
        ),
        (
            event(intervals(1, 1), targets(1, 3)),
            "targets[0].values: more than 2 items (limit VTN_MAX_VALUES)",
        ),
        (
            {
                let mut e = event(intervals(1, 1), json!(null));
                e["payloadDescriptors"] = (0..6)
                    .map(|_| json!({"payloadType": "SIMPLE"}))
                    .collect();
                e
            },
            "payloadDescriptors: more than 5 items (limit VTN_MAX_ARRAY_ITEMS)",
        ),
        (
            {
                let mut e = event(intervals(1, 1), json!(null));
                e["intervals"][0]["payloads"][0]["values"] = json!(["x".repeat(41)]);
                e
            },
            "intervals[0].payloads[0].values[0]: a string of more than 40 characters (limit VTN_MAX_STRING_CHARS)",
        ),
    ] {
        let response = app.post("/events", body.clone()).await;
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(expect_problem(response, 413).await, detail);
        // An update over a limit is refused the same way and changes nothing.
        let update = app
            .put(&format!("/events/{}", id_of(&at_limits)), body)
            .await;
        assert_eq!(expect_problem(update, 413).await, detail);
    }
    assert_eq!(
        expect_json(app.get("/events").await, 200).await,
        json!([at_limits]),
        "nothing but the event at the limits was written"
    );
}

async fn every_json_endpoint_applies_the_limits(backend: Backend) {
    let app = small_limits(backend).await;
    let program = app.create_program("p", json!(null)).await;
    let event = app
        .create_event(json!({"programID": program["id"], "intervals": intervals(1, 1)}))
        .await;
    let long = "x".repeat(41);
    for (path, body, detail) in [
        (
            "/programs",
            json!({"programName": "q", "programLongName": long}),
            "programLongName: a string of more than 40 characters (limit VTN_MAX_STRING_CHARS)",
        ),
        (
            "/reports",
            json!({"programID": program["id"], "eventID": event["id"], "clientName": "c",
                   "resources": [{"resourceName": "r", "intervals": intervals(4, 1)}]}),
            "resources[0].intervals: more than 3 items (limit VTN_MAX_INTERVALS)",
        ),
        (
            "/vens",
            json!({"venName": "v", "targets": targets(3, 1)}),
            "targets: more than 2 items (limit VTN_MAX_TARGETS)",
        ),
        (
            "/subscriptions",
            json!({"programID": program["id"], "clientName": "c",
                   "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"],
                                         "callbackUrl": format!("https://example.com/{long}")}]}),
            "objectOperations[0].callbackUrl: a string of more than 40 characters (limit VTN_MAX_STRING_CHARS)",
        ),
    ] {
        assert_eq!(
            expect_problem(app.post(path, body).await, 413).await,
            detail,
            "{path}"
        );
    }
    assert_eq!(expect_json(app.get("/reports").await, 200).await, json!([]));
    assert_eq!(expect_json(app.get("/vens").await, 200).await, json!([]));
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([program])
    );
}

/// The defaults leave room for real programs: a day of one-minute intervals is accepted.
async fn the_default_limits_accept_a_day_of_minute_intervals(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| args.max_body_bytes = 1 << 20).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let event = json!({"programID": program, "eventName": "minutes",
        "intervalPeriod": {"start": "2030-01-01T00:00:00Z", "duration": "PT1M"},
        "intervals": intervals(1440, 1)});
    let created = expect_json(app.post("/events", event).await, 201).await;
    assert_eq!(created["intervals"].as_array().unwrap().len(), 1440);
}

backend_tests!(
    events_over_a_limit_are_413_naming_field_and_setting,
    every_json_endpoint_applies_the_limits,
    the_default_limits_accept_a_day_of_minute_intervals,
);
