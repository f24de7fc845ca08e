//! Malformed requests: every one gets a 4xx `application/problem+json` whose detail names what to
//! fix, and leaves nothing behind.

use crate::backend_tests;
use crate::helpers::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// `method path` with the admin token, a raw body and an optional Content-Type.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Response {
    let mut request = app
        .request(method, path, Some(&app.token))
        .body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("request sent")
}

/// Posts `body` to `path`, expects a 400 problem, and returns its detail.
async fn rejected(app: &TestApp, path: &str, body: Value) -> String {
    expect_problem(app.post(path, body).await, 400).await
}

async fn assert_no_programs(app: &TestApp) {
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([]),
        "no program was stored"
    );
}

/// Asserts the event list holds exactly `expected`.
async fn assert_events(app: &TestApp, expected: &[&Value]) {
    assert_eq!(
        expect_json(app.get("/events").await, 200).await,
        json!(expected),
        "the stored events"
    );
}

/// A program to hang events on, and a valid event body for it.
async fn program_and_event(app: &TestApp) -> (String, Value) {
    let program = app.create_program("p", json!([])).await;
    let id = program["id"].as_str().unwrap().to_owned();
    let event = event_at(&id, "2024-01-01T00:00:00Z", Some("PT1H"), 2);
    (id, event)
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

// ---------------------------------------------------------------------------------------------

async fn malformed_json_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for body in [
        r#"{"programName": "x",}"#,
        r#"{"programName": "x""#,
        "not json",
        r#"{"programName": 'x'}"#,
    ] {
        let response = send_raw(
            &app,
            Method::POST,
            "/programs",
            Some("application/json"),
            body,
        )
        .await;
        let detail = expect_problem(response, 400).await;
        assert!(detail.contains("line 1 column"), "{body}: {detail}");
    }
    // Something other than an object, including an array that serde could read positionally.
    for body in [
        r#"[null, null, null, null, "positional"]"#,
        "[1, 2]",
        r#" [{"programName": "x"}]"#,
    ] {
        let response = send_raw(
            &app,
            Method::POST,
            "/programs",
            Some("application/json"),
            body,
        )
        .await;
        let detail = expect_problem(response, 400).await;
        assert_eq!(
            detail, "invalid JSON body: expected a JSON object, not an array",
            "{body}"
        );
    }
    for body in [r#""programName""#, "42", "null", "true"] {
        let response = send_raw(
            &app,
            Method::POST,
            "/programs",
            Some("application/json"),
            body,
        )
        .await;
        let detail = expect_problem(response, 400).await;
        assert!(
            detail.starts_with("invalid JSON body: invalid type: "),
            "{body}: {detail}"
        );
    }
    // Trailing data after the object.
    let response = send_raw(
        &app,
        Method::POST,
        "/programs",
        Some("application/json"),
        r#"{"programName": "x"} {}"#,
    )
    .await;
    let detail = expect_problem(response, 400).await;
    assert!(
        detail.starts_with("invalid JSON body: trailing characters at line 1 column"),
        "{detail}"
    );
    // Whitespace after the object is fine.
    let response = send_raw(
        &app,
        Method::POST,
        "/programs",
        Some("application/json"),
        "{\"programName\": \"ws\"}\n\t ",
    )
    .await;
    let program = expect_json(response, 201).await;
    assert_eq!(program["programName"], "ws");
    let id = program["id"].as_str().unwrap();
    expect_json(app.delete(&format!("/programs/{id}")).await, 200).await;
    assert_no_programs(&app).await;

    // The problem document itself.
    let response = send_raw(
        &app,
        Method::POST,
        "/programs",
        Some("application/json"),
        "{",
    )
    .await;
    let problem = expect_json(response, 400).await;
    assert_eq!(
        problem["type"],
        "https://openadr3-vtn.dev/problems/bad-request"
    );
    assert_eq!(problem["title"], "Bad Request");
    assert_eq!(problem["status"], 400);
    assert!(
        problem["instance"]
            .as_str()
            .unwrap()
            .starts_with("urn:uuid:"),
        "{problem}"
    );
}

async fn empty_body_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (content_type, body) in [
        (Some("application/json"), ""),
        (Some("application/json"), "  \n "),
        (None, ""),
    ] {
        let response = send_raw(&app, Method::POST, "/programs", content_type, body).await;
        let detail = expect_problem(response, 400).await;
        assert!(
            detail.contains("the request body is empty"),
            "{content_type:?} {body:?}: {detail}"
        );
    }
    let (_, _) = program_and_event(&app).await;
    let response = send_raw(&app, Method::POST, "/events", Some("application/json"), "").await;
    assert!(expect_problem(response, 400).await.contains("empty"));
    assert_events(&app, &[]).await;
}

async fn unknown_fields_are_named_with_their_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let detail = rejected(&app, "/programs", json!({"programName": "x", "foo": 1})).await;
    assert!(detail.contains("unknown field `foo`"), "{detail}");
    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "targets": [{"type": "GROUP", "values": [], "bar": 1}]}),
    )
    .await;
    assert!(detail.starts_with("targets[0]"), "{detail}");
    assert!(detail.contains("unknown field `bar`"), "{detail}");
    assert_no_programs(&app).await;

    let (_, event) = program_and_event(&app).await;
    let mut nested = event.clone();
    nested["intervals"][0]["foo"] = json!(true);
    let detail = rejected(&app, "/events", nested).await;
    assert!(detail.starts_with("intervals[0]"), "{detail}");
    assert!(detail.contains("unknown field `foo`"), "{detail}");

    let mut deeper = event.clone();
    deeper["intervals"][1]["payloads"][0]["unit"] = json!("KWH");
    let detail = rejected(&app, "/events", deeper).await;
    assert!(detail.starts_with("intervals[1].payloads[0]"), "{detail}");
    assert!(detail.contains("unknown field `unit`"), "{detail}");

    let mut in_period = event.clone();
    in_period["intervalPeriod"]["end"] = json!("2024-01-01T01:00:00Z");
    let detail = rejected(&app, "/events", in_period).await;
    assert!(detail.starts_with("intervalPeriod"), "{detail}");
    assert!(detail.contains("unknown field `end`"), "{detail}");
    assert_events(&app, &[]).await;

    // Control: the unaltered event is accepted.
    let created = app.create_event(event).await;
    assert_events(&app, &[&created]).await;
}

async fn wrong_types_are_named_with_their_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (body, path) in [
        (json!({"programName": 5}), "programName"),
        (json!({"programName": null}), "programName"),
        (
            json!({"programName": "x", "bindingEvents": "yes"}),
            "bindingEvents",
        ),
        (
            json!({"programName": "x", "targets": {"type": "GROUP"}}),
            "targets",
        ),
        (
            json!({"programName": "x", "targets": [{"type": "GROUP", "values": "g1"}]}),
            "targets[0].values",
        ),
        (
            json!({"programName": "x", "programDescriptions": [{"URL": 1}]}),
            "programDescriptions[0].URL",
        ),
    ] {
        let detail = rejected(&app, "/programs", body.clone()).await;
        assert!(
            detail.starts_with(&format!("{path}: invalid type")),
            "{body}: {detail}"
        );
    }
    assert_no_programs(&app).await;

    let (program_id, event) = program_and_event(&app).await;
    let mut bad_id = event.clone();
    bad_id["intervals"][0]["id"] = json!("x");
    let detail = rejected(&app, "/events", bad_id).await;
    assert!(
        detail.starts_with("intervals[0].id: invalid type: string \"x\""),
        "{detail}"
    );

    let mut fractional_id = event.clone();
    fractional_id["intervals"][1]["id"] = json!(1.5);
    let detail = rejected(&app, "/events", fractional_id).await;
    assert!(
        detail.starts_with("intervals[1].id: invalid type"),
        "{detail}"
    );

    let mut numeric_program = event.clone();
    numeric_program["programID"] = json!(7);
    let detail = rejected(&app, "/events", numeric_program).await;
    assert!(detail.starts_with("programID: invalid type"), "{detail}");

    let mut bad_program_id = event.clone();
    bad_program_id["programID"] = json!("no spaces allowed");
    let detail = rejected(&app, "/events", bad_program_id).await;
    assert!(
        detail.starts_with("programID: 'no spaces allowed' must match"),
        "{detail}"
    );

    let mut unknown_program = event.clone();
    unknown_program["programID"] = json!("no-such-program");
    let detail = rejected(&app, "/events", unknown_program).await;
    assert_eq!(
        detail,
        "programID: program 'no-such-program' does not exist"
    );
    assert_events(&app, &[]).await;
    assert!(!program_id.is_empty());
}

async fn missing_required_fields_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for body in [json!({}), json!({"programLongName": "long"})] {
        let detail = rejected(&app, "/programs", body).await;
        assert!(detail.contains("missing field `programName`"), "{detail}");
    }
    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "targets": [{"values": ["a"]}]}),
    )
    .await;
    assert!(detail.starts_with("targets[0]"), "{detail}");
    assert!(detail.contains("missing field `type`"), "{detail}");
    assert_no_programs(&app).await;

    let (_, event) = program_and_event(&app).await;
    for field in ["programID", "intervals"] {
        let mut body = event.clone();
        body.as_object_mut().unwrap().remove(field);
        let detail = rejected(&app, "/events", body).await;
        assert!(
            detail.contains(&format!("missing field `{field}`")),
            "{field}: {detail}"
        );
    }
    let mut no_payloads = event.clone();
    no_payloads["intervals"][0]
        .as_object_mut()
        .unwrap()
        .remove("payloads");
    let detail = rejected(&app, "/events", no_payloads).await;
    assert!(detail.starts_with("intervals[0]"), "{detail}");
    assert!(detail.contains("missing field `payloads`"), "{detail}");

    let mut no_start = event.clone();
    no_start["intervalPeriod"]
        .as_object_mut()
        .unwrap()
        .remove("start");
    let detail = rejected(&app, "/events", no_start).await;
    assert!(detail.starts_with("intervalPeriod"), "{detail}");
    assert!(detail.contains("missing field `start`"), "{detail}");
    assert_events(&app, &[]).await;
}

async fn program_name_length_is_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let detail = rejected(&app, "/programs", json!({"programName": "n".repeat(129)})).await;
    assert_eq!(
        detail,
        "programName: length must be between 1 and 128 characters, got 129"
    );
    let detail = rejected(&app, "/programs", json!({"programName": ""})).await;
    assert_eq!(
        detail,
        "programName: length must be between 1 and 128 characters, got 0"
    );
    assert_no_programs(&app).await;

    // 128 characters are fine, counted as characters, not bytes.
    let ascii = app.create_program(&"n".repeat(128), json!([])).await;
    let accented = app.create_program(&"é".repeat(128), json!([])).await;
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([ascii, accented])
    );

    // An update is checked the same way, and leaves the program as it was.
    let id = ascii["id"].as_str().unwrap();
    let response = app
        .put(
            &format!("/programs/{id}"),
            json!({"programName": "n".repeat(129)}),
        )
        .await;
    assert!(expect_problem(response, 400)
        .await
        .starts_with("programName:"));
    assert_eq!(
        expect_json(app.get(&format!("/programs/{id}")).await, 200).await,
        ascii
    );
}

async fn bad_dates_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, event) = program_and_event(&app).await;
    for start in [
        "yesterday",
        "2024-13-01T00:00:00Z",
        "2024-01-01T00:00:00",
        "2024-01-01",
        "2024-02-30T00:00:00Z",
        "",
    ] {
        let mut body = event.clone();
        body["intervalPeriod"]["start"] = json!(start);
        let detail = rejected(&app, "/events", body).await;
        assert!(
            detail.starts_with("intervalPeriod.start: "),
            "{start}: {detail}"
        );
    }
    let mut body = event.clone();
    body["intervals"][1]["intervalPeriod"] = json!({"start": "noon"});
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervals[1].intervalPeriod.start: "),
        "{detail}"
    );

    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "intervalPeriod": {"start": 1700000000}}),
    )
    .await;
    assert!(detail.starts_with("intervalPeriod.start: "), "{detail}");
    assert_events(&app, &[]).await;

    // Control: a start with an offset other than Z is fine.
    let mut body = event.clone();
    body["intervalPeriod"]["start"] = json!("2024-01-01T00:00:00+02:00");
    let created = app.create_event(body).await;
    assert_events(&app, &[&created]).await;
}

async fn bad_durations_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, event) = program_and_event(&app).await;
    for duration in [
        "1 hour", "P", "PT", "PT1.5H", "", "1H", "PT-1H", "P1H", "pt1h",
    ] {
        let mut body = event.clone();
        body["intervalPeriod"]["duration"] = json!(duration);
        let detail = rejected(&app, "/events", body).await;
        let expected =
            format!("intervalPeriod.duration: '{duration}' is not an ISO 8601 duration such as PT1H or P1DT12H");
        assert!(detail.starts_with(&expected), "{detail}");
    }
    let mut body = event.clone();
    body["intervalPeriod"]["randomizeStart"] = json!("soon");
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervalPeriod.randomizeStart: 'soon'"),
        "{detail}"
    );

    let mut body = event.clone();
    body["intervals"][0]["intervalPeriod"] =
        json!({"start": "2024-01-01T00:00:00Z", "duration": "forever"});
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervals[0].intervalPeriod.duration: 'forever'"),
        "{detail}"
    );

    // Negative durations match the spec's pattern but would end a window before it starts.
    let mut body = event.clone();
    body["intervalPeriod"]["duration"] = json!("-PT1H");
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervalPeriod.duration: must not be negative"),
        "{detail}"
    );
    let mut body = event.clone();
    body["intervals"][0]["intervalPeriod"] =
        json!({"start": "2024-01-01T00:00:00Z", "randomizeStart": "-PT5M"});
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervals[0].intervalPeriod.randomizeStart: must not be negative"),
        "{detail}"
    );

    let mut body = event.clone();
    body["intervalPeriod"]["duration"] = json!(3600);
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervalPeriod.duration: invalid type"),
        "{detail}"
    );

    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "timeZoneOffset": "+01:00"}),
    )
    .await;
    assert!(detail.starts_with("timeZoneOffset: '+01:00'"), "{detail}");
    assert_events(&app, &[]).await;

    // Controls: the forms the pattern allows.
    let mut created = Vec::new();
    for duration in [
        "PT1H", "P1DT12H", "PT0.5S", "P2W", "P1Y2M", "P9999Y", "PT0S",
    ] {
        let mut body = event.clone();
        body["intervalPeriod"]["duration"] = json!(duration);
        let event = app.create_event(body).await;
        assert_eq!(
            event["intervalPeriod"]["duration"], duration,
            "kept as sent"
        );
        created.push(event);
    }
    assert_events(&app, &created.iter().collect::<Vec<_>>()).await;
}

async fn unsupported_target_values_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for value in [
        json!(["a"]),
        json!(null),
        json!({"x": 1}),
        json!({"x": 1, "y": 2, "z": 3}),
        json!({"x": "1", "y": 2}),
    ] {
        let body =
            json!({"programName": "x", "targets": [{"type": "GROUP", "values": ["ok", value]}]});
        let detail = rejected(&app, "/programs", body).await;
        assert_eq!(
            detail,
            "targets[0].values[1]: must be a number, string, boolean or {\"x\": number, \"y\": number} point",
            "{value}"
        );
    }
    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "targets": [{"type": "", "values": ["a"]}]}),
    )
    .await;
    assert!(
        detail.starts_with("targets[0].type: length must be between 1 and 128"),
        "{detail}"
    );
    assert_no_programs(&app).await;

    let (_, event) = program_and_event(&app).await;
    let mut body = event.clone();
    body["targets"] =
        json!([{"type": "GROUP", "values": ["g"]}, {"type": "RESOURCE_NAME", "values": [[1, 2]]}]);
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("targets[1].values[0]: must be"),
        "{detail}"
    );
    let mut body = event.clone();
    body["intervals"][1]["payloads"][0]["values"] = json!([{"price": 1}]);
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("intervals[1].payloads[0].values[0]: must be"),
        "{detail}"
    );
    assert_events(&app, &[]).await;

    // Control: every supported shape.
    let targets = json!([{"type": "X", "values": [1, 2.5, "s", true, {"x": 1, "y": -2.5}]}]);
    let program = app.create_program("shapes", targets.clone()).await;
    assert_eq!(program["targets"], targets);
}

async fn priority_and_object_type_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, event) = program_and_event(&app).await;
    let mut body = event.clone();
    body["priority"] = json!(-1);
    assert_eq!(
        rejected(&app, "/events", body).await,
        "priority: must be 0 or greater"
    );
    let mut body = event.clone();
    body["priority"] = json!("high");
    assert!(rejected(&app, "/events", body)
        .await
        .starts_with("priority: invalid type"));

    let mut body = event.clone();
    body["objectType"] = json!("PROGRAM");
    assert_eq!(
        rejected(&app, "/events", body).await,
        "objectType: must be EVENT"
    );
    let mut body = event.clone();
    body["objectType"] = json!("BANANA");
    let detail = rejected(&app, "/events", body).await;
    assert!(
        detail.starts_with("objectType: unknown variant `BANANA`"),
        "{detail}"
    );

    // Several violations are all reported.
    let mut body = event.clone();
    body["priority"] = json!(-5);
    body["objectType"] = json!("REPORT");
    assert_eq!(
        rejected(&app, "/events", body).await,
        "objectType: must be EVENT; priority: must be 0 or greater"
    );

    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "objectType": "EVENT"}),
    )
    .await;
    assert_eq!(detail, "objectType: must be PROGRAM");
    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "objectType": "program"}),
    )
    .await;
    assert!(
        detail.starts_with("objectType: unknown variant `program`"),
        "{detail}"
    );
    assert_events(&app, &[]).await;
    assert_eq!(
        expect_json(app.get("/programs").await, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Controls: priority 0 and the right objectType are accepted.
    let mut body = event.clone();
    body["priority"] = json!(0);
    body["objectType"] = json!("EVENT");
    let created = app.create_event(body).await;
    assert_eq!(created["priority"], 0);
    let program = expect_json(
        app.post(
            "/programs",
            json!({"programName": "y", "objectType": "PROGRAM"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(program["objectType"], "PROGRAM");
}

async fn bad_path_ids_are_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let long = "a".repeat(129);
    for (raw, shown) in [
        ("bad%20id", "bad id"),
        ("bad.id", "bad.id"),
        ("%C3%A9t%C3%A9", "été"),
        (long.as_str(), ""),
    ] {
        for (collection, name) in [("programs", "programID"), ("events", "eventID")] {
            let path = format!("/{collection}/{raw}");
            let body = if collection == "programs" {
                json!({"programName": "x"})
            } else {
                event_at("p", "2024-01-01T00:00:00Z", None, 1)
            };
            for (method, body) in [
                (Method::GET, None),
                (Method::PUT, Some(body)),
                (Method::DELETE, None),
            ] {
                let detail = expect_problem(app.call(method.clone(), &path, body).await, 400).await;
                assert!(
                    detail.starts_with(&format!("{name}: '{shown}")),
                    "{method} {path}: {detail}"
                );
                assert!(
                    detail.contains("must match ^[a-zA-Z0-9_-]{1,128}$"),
                    "{detail}"
                );
            }
        }
    }
    // Control: a valid ID of 128 characters is merely not found.
    let path = format!("/programs/{}", "a".repeat(128));
    let detail = expect_problem(app.get(&path).await, 404).await;
    assert_eq!(detail, format!("program '{}' not found", "a".repeat(128)));
    let detail = expect_problem(app.get("/events/Valid_id-1").await, 404).await;
    assert_eq!(detail, "event 'Valid_id-1' not found");
}

async fn bad_query_parameters_are_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for collection in ["/programs", "/events"] {
        for (query, expected) in [
            ("skip=-1", "skip: must be 0 or greater, got -1"),
            ("limit=51", "limit: must be between 0 and 50, got 51"),
            ("limit=-1", "limit: must be between 0 and 50, got -1"),
            ("limit=abc", "limit: 'abc' is not an integer"),
            ("skip=1.5", "skip: '1.5' is not an integer"),
            ("skip=", "skip: '' is not an integer"),
            ("skip=1&skip=2", "skip: may be given only once"),
            ("limit=5&limit=5", "limit: may be given only once"),
        ] {
            let detail = expect_problem(app.get(&format!("{collection}?{query}")).await, 400).await;
            assert_eq!(detail, expected, "{collection}?{query}");
        }
        let detail = expect_problem(app.get(&format!("{collection}?targetType=")).await, 400).await;
        assert!(
            detail.starts_with("targetType: must be 1 to 128 characters"),
            "{detail}"
        );
        let detail = expect_problem(app.get(&format!("{collection}?colour=red")).await, 400).await;
        assert!(
            detail.starts_with("unknown query parameter 'colour'; this collection accepts"),
            "{detail}"
        );
        assert!(detail.contains("skip"), "{detail}");
        // Parameter names are case-sensitive.
        let detail = expect_problem(app.get(&format!("{collection}?Limit=5")).await, 400).await;
        assert!(
            detail.starts_with("unknown query parameter 'Limit'"),
            "{detail}"
        );
    }
    // programID and x-start/x-end belong to events only.
    let detail = expect_problem(app.get("/programs?programID=abc").await, 400).await;
    assert!(
        detail.starts_with("unknown query parameter 'programID'"),
        "{detail}"
    );
    let detail = expect_problem(app.get("/events?programID=a%20b").await, 400).await;
    assert!(
        detail.starts_with("programID: 'a b' must match"),
        "{detail}"
    );
    let detail = expect_problem(app.get("/events?x-start=yesterday").await, 400).await;
    assert!(
        detail.starts_with("x-start: 'yesterday' is not an RFC 3339 date-time"),
        "{detail}"
    );
    let detail = expect_problem(
        app.get("/events?x-start=2024-01-02T00:00:00Z&x-end=2024-01-01T00:00:00Z")
            .await,
        400,
    )
    .await;
    assert_eq!(detail, "x-start: must not be later than x-end");

    // Controls: the limits themselves are fine.
    for query in [
        "limit=50",
        "limit=0",
        "skip=0",
        "skip=1000000",
        "targetType=GROUP&targetValues=a&targetValues=b",
    ] {
        assert_eq!(
            expect_json(app.get(&format!("/events?{query}")).await, 200).await,
            json!([]),
            "{query}"
        );
        assert_eq!(
            expect_json(app.get(&format!("/programs?{query}")).await, 200).await,
            json!([]),
            "{query}"
        );
    }
}

async fn body_over_the_limit_is_413(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| args.max_body_bytes = 1024).await;
    let big = json!({"programName": "big", "programLongName": "x".repeat(2048)});
    let detail = expect_problem(app.post("/programs", big.clone()).await, 413).await;
    assert_eq!(detail, "request body exceeds 1024 bytes");
    assert_no_programs(&app).await;

    // Control: just under the limit is accepted.
    let fits = json!({"programName": "fits", "programLongName": "x".repeat(900)});
    assert!(serde_json::to_vec(&fits).unwrap().len() <= 1024);
    let program = expect_json(app.post("/programs", fits).await, 201).await;

    // An update is limited too, and leaves the program unchanged.
    let id = program["id"].as_str().unwrap();
    let detail = expect_problem(app.put(&format!("/programs/{id}"), big).await, 413).await;
    assert_eq!(detail, "request body exceeds 1024 bytes");
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([program])
    );

    let (_, mut event) = program_and_event(&app).await;
    event["eventName"] = json!("e".repeat(2048));
    assert_eq!(
        expect_problem(app.post("/events", event).await, 413).await,
        "request body exceeds 1024 bytes"
    );
    assert_events(&app, &[]).await;

    // The token endpoint is limited too, and answers with a problem like the rest.
    let form = format!(
        "grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}&x={}",
        "y".repeat(2048)
    );
    let response = app
        .http
        .post(format!("{}/auth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let detail = expect_problem(response, 413).await;
    assert_eq!(detail, "request body exceeds 1024 bytes");
}

async fn non_json_content_type_is_415(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = r#"{"programName": "x"}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "json",
    ] {
        let response = send_raw(&app, Method::POST, "/programs", Some(content_type), body).await;
        let detail = expect_problem(response, 415).await;
        assert_eq!(
            detail,
            format!("Content-Type must be application/json, got '{content_type}'")
        );
    }
    assert_no_programs(&app).await;
    let (_, event) = program_and_event(&app).await;
    let response = send_raw(
        &app,
        Method::POST,
        "/events",
        Some("text/plain"),
        &event.to_string(),
    )
    .await;
    expect_problem(response, 415).await;
    assert_events(&app, &[]).await;

    // Controls: parameters and letter case do not matter.
    for (content_type, name) in [
        ("application/json; charset=utf-8", "a"),
        ("Application/JSON", "b"),
    ] {
        let response = send_raw(
            &app,
            Method::POST,
            "/programs",
            Some(content_type),
            &json!({"programName": name}).to_string(),
        )
        .await;
        expect_json(response, 201).await;
    }
}

async fn unsupported_methods_are_405(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = app.create_program("p", json!([])).await;
    let id = program["id"].as_str().unwrap();
    for (method, path, allow) in [
        (Method::PATCH, "/programs".to_owned(), "GET, POST"),
        (Method::PUT, "/programs".to_owned(), "GET, POST"),
        (Method::DELETE, "/programs".to_owned(), "GET, POST"),
        (Method::PATCH, format!("/programs/{id}"), "GET, PUT, DELETE"),
        (Method::POST, format!("/programs/{id}"), "GET, PUT, DELETE"),
        (Method::PATCH, "/events".to_owned(), "GET, POST"),
        (Method::POST, "/events/x".to_owned(), "GET, PUT, DELETE"),
        (Method::GET, "/auth/token".to_owned(), "POST"),
        (Method::POST, "/auth/server".to_owned(), "GET"),
        (Method::GET, "/admin/keys/rotate".to_owned(), "POST"),
        (Method::PUT, "/admin/tenants".to_owned(), "GET, POST"),
    ] {
        let response = app
            .call(method.clone(), &path, Some(json!({"programName": "q"})))
            .await;
        let allowed = response
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allowed.as_deref(), Some(allow), "Allow of {method} {path}");
        let detail = expect_problem(response, 405).await;
        assert_eq!(
            detail, "this method is not allowed on this resource",
            "{method} {path}"
        );
    }
    // Nothing was changed by them.
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([program])
    );
}

async fn unknown_paths_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for url in [
        format!("{}/nothing-here", app.base),
        format!("{}/reports/a/b", app.base),
        format!("{}/programs/a/b", app.base),
        format!("{}/nothing-here", app.root),
        format!("{}/api/openadr/v2/programs", app.root),
    ] {
        // With or without a token.
        for token in [Some(app.token.as_str()), None] {
            let mut request = app.http.get(&url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let detail = expect_problem(request.send().await.unwrap(), 404).await;
            assert!(detail.contains("no such resource"), "{url}: {detail}");
        }
    }
}

async fn request_id_is_echoed_or_generated(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // Echoed on success and on every kind of error.
    for (path, status) in [
        ("/programs", 200),
        ("/programs/bad.id", 400),
        ("/programs/nope", 404),
    ] {
        let response = app
            .request(Method::GET, path, Some(&app.token))
            .header("x-request-id", "client-req-42")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            header(&response, "x-request-id").as_deref(),
            Some("client-req-42"),
            "{path}"
        );
    }
    let response = app
        .request(Method::GET, "/programs", None)
        .header("x-request-id", "no-token-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("no-token-1")
    );
    let response = app
        .request(Method::POST, "/programs", Some(&app.token))
        .header("x-request-id", "create-1")
        .json(&json!({"programName": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        header(&response, "x-request-id").as_deref(),
        Some("create-1")
    );

    // Generated when absent, different each time.
    let mut generated = Vec::new();
    for _ in 0..2 {
        let response = app.get("/programs").await;
        let id = header(&response, "x-request-id").expect("a generated X-Request-Id");
        uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("not a UUID ({e}): {id}"));
        generated.push(id);
    }
    assert_ne!(generated[0], generated[1]);

    // Replaced when unusable (too long), rather than echoed.
    let long = "r".repeat(200);
    let response = app
        .request(Method::GET, "/programs", Some(&app.token))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    let id = header(&response, "x-request-id").expect("X-Request-Id");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

async fn objects_given_as_arrays_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // serde could read these positionally, in field declaration order.
    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "targets": [["GROUP", ["g1"]]]}),
    )
    .await;
    assert_eq!(detail, "targets[0]: expected a JSON object, not an array");
    let detail = rejected(
        &app,
        "/programs",
        json!({"programName": "x", "programDescriptions": [["https://x"]]}),
    )
    .await;
    assert_eq!(
        detail,
        "programDescriptions[0]: expected a JSON object, not an array"
    );
    assert_no_programs(&app).await;

    let (program_id, event) = program_and_event(&app).await;
    let mut body = event.clone();
    body["intervalPeriod"] = json!(["2024-01-01T00:00:00Z", "PT1H"]);
    assert_eq!(
        rejected(&app, "/events", body).await,
        "intervalPeriod: expected a JSON object, not an array"
    );
    let mut body = event.clone();
    body["intervals"][1] = json!([1, null, [{"type": "SIMPLE", "values": [1]}]]);
    assert_eq!(
        rejected(&app, "/events", body).await,
        "intervals[1]: expected a JSON object, not an array"
    );
    let mut body = event.clone();
    body["intervals"][0]["payloads"] = json!([["SIMPLE", [1]]]);
    assert_eq!(
        rejected(&app, "/events", body).await,
        "intervals[0].payloads[0]: expected a JSON object, not an array"
    );
    let body = json!({"programID": program_id, "intervalPeriod": ["2024-01-01T00:00:00Z", "PT1H"],
                      "intervals": [[0, null, [["SIMPLE", [1]]]]]});
    assert!(rejected(&app, "/events", body)
        .await
        .ends_with("expected a JSON object, not an array"));
    assert_events(&app, &[]).await;

    // Arrays where the schema has arrays are still fine, including arrays among target values'
    // neighbours and payload values.
    let mut body = event.clone();
    body["targets"] = json!([{"type": "GROUP", "values": ["g1", "g2"]}]);
    body["intervals"][0]["payloads"] = json!([{"type": "PRICE", "values": [0.1, 0.2]}]);
    let created = app.create_event(body).await;
    assert_events(&app, &[&created]).await;
}

backend_tests!(
    malformed_json_is_400,
    objects_given_as_arrays_are_refused,
    empty_body_is_400,
    unknown_fields_are_named_with_their_path,
    wrong_types_are_named_with_their_path,
    missing_required_fields_are_named,
    program_name_length_is_checked,
    bad_dates_are_named,
    bad_durations_are_named,
    unsupported_target_values_are_refused,
    priority_and_object_type_are_checked,
    bad_path_ids_are_400,
    bad_query_parameters_are_400,
    body_over_the_limit_is_413,
    non_json_content_type_is_415,
    unsupported_methods_are_405,
    unknown_paths_are_404,
    request_id_is_echoed_or_generated,
);
