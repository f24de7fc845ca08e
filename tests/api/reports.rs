//! `/reports`: create, read, replace, delete, the filtered, paged list, and who sees what.

use crate::backend_tests;
use crate::helpers::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// A token of a new VEN client of `tenant` bound to `ven_name`, made with the CLI.
pub async fn ven_token(app: &TestApp, tenant: &str, ven_name: &str, scopes: &str) -> String {
    let output = vtn_binary()
        .args(["client", "create", "--tenant", tenant, "--role", "ven"])
        .args(["--ven-name", ven_name, "--scopes", scopes])
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
    app.token_for(
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
        None,
    )
    .await
}

pub const VEN_SCOPES: &str = "read_all,write_reports,write_subscriptions";

/// `method path` with `token` and an optional JSON body.
pub async fn call_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut builder = app.request(method, path, Some(token));
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    builder.send().await.expect("request sent")
}

async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    ids(&expect_json(app.get(&format!("/reports?{query}")).await, 200).await)
}

async fn listed_as(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let response = call_as(app, token, Method::GET, &format!("/reports?{query}"), None).await;
    ids(&expect_json(response, 200).await)
}

/// A program and one event of it; returns (program id, event id).
async fn program_with_event(app: &TestApp, name: &str) -> (String, String) {
    let program = id_of(&app.create_program(name, json!(null)).await);
    let event = app
        .create_event(event_at(&program, "2026-12-01T17:00:00Z", Some("PT1H"), 1))
        .await;
    (program, id_of(&event))
}

fn minimal_report(program: &str, event: &str, client: &str) -> Value {
    json!({"programID": program, "eventID": event, "clientName": client, "resources": []})
}

/// A report with every 3.0.1 field.
fn full_report(program: &str, event: &str) -> Value {
    json!({
        "programID": program,
        "eventID": event,
        "clientName": "VEN-999",
        "reportName": "Battery_usage_04112023",
        "payloadDescriptors": [
            {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "readingType": "DIRECT_READ",
             "units": "KWH", "accuracy": 0.5, "confidence": 90},
            {"payloadType": "STORAGE_CHARGE_LEVEL", "units": "PERCENT"}
        ],
        "resources": [
            {"resourceName": "RESOURCE-999",
             "intervalPeriod": {"start": "2026-12-01T17:00:00+01:00", "duration": "PT15M", "randomizeStart": "PT1M"},
             "intervals": [
                 {"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]},
                 {"id": 1, "intervalPeriod": {"start": "2026-12-01T17:15:00Z", "duration": "PT15M"},
                  "payloads": [{"type": "USAGE", "values": [2]}, {"type": "STORAGE_CHARGE_LEVEL", "values": [55, "x", true]}]}
             ]},
            {"resourceName": "AGGREGATED_REPORT", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [3.5]}]}]}
        ]
    })
}

async fn crud_round_trips_the_full_object(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (program, event) = program_with_event(&app, "p").await;
    let sent = full_report(&program, &event);
    let mut with_server_fields = sent.clone();
    with_server_fields["id"] = json!("client-id");
    with_server_fields["objectType"] = json!("REPORT");
    with_server_fields["createdDateTime"] = json!("2001-01-01T00:00:00Z");
    let report = expect_json(app.post("/reports", with_server_fields).await, 201).await;
    assert_eq!(
        without_server_fields(&report),
        sent,
        "the report round-trips"
    );
    assert_eq!(report["objectType"], "REPORT");
    let id = id_of(&report);
    assert_ne!(id, "client-id");
    assert_eq!(
        date_time(&report, "createdDateTime"),
        date_time(&report, "modificationDateTime")
    );
    assert_eq!(
        expect_json(app.get(&format!("/reports/{id}")).await, 200).await,
        report
    );
    assert_eq!(listed(&app, "").await, vec![id.clone()]);

    // PUT replaces: fields left out disappear, id and createdDateTime stay.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let replacement = json!({"programID": program, "eventID": event, "clientName": "VEN-1",
        "resources": [{"resourceName": "r", "intervals": []}]});
    let updated = expect_json(
        app.put(&format!("/reports/{id}"), replacement.clone())
            .await,
        200,
    )
    .await;
    assert_eq!(without_server_fields(&updated), replacement);
    assert_eq!(updated["id"], report["id"]);
    assert_eq!(updated["createdDateTime"], report["createdDateTime"]);
    assert!(
        date_time(&updated, "modificationDateTime") > date_time(&report, "modificationDateTime")
    );
    assert_eq!(
        expect_json(app.get(&format!("/reports/{id}")).await, 200).await,
        updated
    );

    // DELETE returns what was deleted; then it is gone.
    assert_eq!(
        expect_json(app.delete(&format!("/reports/{id}")).await, 200).await,
        updated
    );
    let detail = expect_problem(app.get(&format!("/reports/{id}")).await, 404).await;
    assert_eq!(detail, format!("report '{id}' not found"));
    expect_problem(app.put(&format!("/reports/{id}"), replacement).await, 404).await;
    expect_problem(app.delete(&format!("/reports/{id}")).await, 404).await;
    assert!(listed(&app, "").await.is_empty());

    // Null optional fields are accepted and not echoed.
    let mut nulls = minimal_report(&program, &event, "c");
    for field in [
        "id",
        "createdDateTime",
        "modificationDateTime",
        "objectType",
        "reportName",
        "payloadDescriptors",
    ] {
        nulls[field] = Value::Null;
    }
    let report = expect_json(app.post("/reports", nulls).await, 201).await;
    let mut fields: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "clientName",
            "createdDateTime",
            "eventID",
            "id",
            "modificationDateTime",
            "objectType",
            "programID",
            "resources"
        ]
    );
}

async fn filters_combine_and_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (p1, e1) = program_with_event(&app, "p1").await;
    let e2 = id_of(
        &app.create_event(event_at(&p1, "2026-12-02T17:00:00Z", Some("PT1H"), 1))
            .await,
    );
    let (p2, e3) = program_with_event(&app, "p2").await;
    let mut made = Vec::new();
    for (program, event, client) in [
        (&p1, &e1, "a"),
        (&p1, &e1, "b"),
        (&p1, &e2, "a"),
        (&p2, &e3, "a"),
        (&p2, &e3, "b"),
    ] {
        let r = expect_json(
            app.post("/reports", minimal_report(program, event, client))
                .await,
            201,
        )
        .await;
        made.push(id_of(&r));
    }
    let pick = |indexes: &[usize]| indexes.iter().map(|&i| made[i].clone()).collect::<Vec<_>>();
    assert_eq!(listed(&app, "").await, made);
    assert_eq!(
        listed(&app, &format!("programID={p1}")).await,
        pick(&[0, 1, 2])
    );
    assert_eq!(
        listed(&app, &format!("programID={p2}")).await,
        pick(&[3, 4])
    );
    assert_eq!(listed(&app, &format!("eventID={e1}")).await, pick(&[0, 1]));
    assert_eq!(listed(&app, &format!("eventID={e3}")).await, pick(&[3, 4]));
    assert_eq!(listed(&app, "clientName=a").await, pick(&[0, 2, 3]));
    assert_eq!(listed(&app, "clientName=b").await, pick(&[1, 4]));
    assert_eq!(
        listed(&app, &format!("programID={p1}&clientName=a")).await,
        pick(&[0, 2])
    );
    assert_eq!(
        listed(&app, &format!("eventID={e1}&clientName=b")).await,
        pick(&[1])
    );
    assert_eq!(
        listed(&app, &format!("programID={p1}&eventID={e2}&clientName=a")).await,
        pick(&[2])
    );
    assert!(listed(&app, &format!("programID={p2}&eventID={e1}"))
        .await
        .is_empty());
    assert!(listed(&app, "clientName=nobody").await.is_empty());
    assert!(listed(&app, "programID=missing").await.is_empty());
    // Pages in creation order.
    assert_eq!(listed(&app, "limit=2").await, pick(&[0, 1]));
    assert_eq!(listed(&app, "skip=2&limit=2").await, pick(&[2, 3]));
    assert_eq!(listed(&app, "skip=4&limit=2").await, pick(&[4]));
    assert!(listed(&app, "skip=5").await.is_empty());
    assert!(listed(&app, "limit=0").await.is_empty());
    assert_eq!(
        listed(&app, "clientName=a&skip=1&limit=1").await,
        pick(&[2])
    );
}

async fn bad_input_is_a_400_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (p1, e1) = program_with_event(&app, "p1").await;
    let (p2, _e2) = program_with_event(&app, "p2").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"programID": "no-such-program", "eventID": e1, "clientName": "c", "resources": []}),
            "programID: program 'no-such-program' does not exist",
        ),
        (
            json!({"programID": p1, "eventID": "no-such-event", "clientName": "c", "resources": []}),
            "eventID: event 'no-such-event' does not exist",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [], "colour": "red"}),
            "unknown field `colour`",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c"}),
            "missing field `resources`",
        ),
        (
            json!({"programID": p1, "eventID": e1, "resources": []}),
            "missing field `clientName`",
        ),
        (
            json!({"programID": "a b", "eventID": e1, "clientName": "c", "resources": []}),
            "programID:",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "", "resources": []}),
            "clientName: length",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [], "objectType": "EVENT"}),
            "objectType: must be REPORT",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [{"resourceName": "", "intervals": []}]}),
            "resources[0].resourceName: length",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [{"resourceName": "r", "intervals": [{"id": "x", "payloads": []}]}]}),
            "resources[0].intervals[0].id",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [{"resourceName": "r", "intervals": [], "extra": 1}]}),
            "resources[0].extra: unknown field `extra`",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [], "payloadDescriptors": [{"payloadType": "USAGE", "currency": "USD"}]}),
            "payloadDescriptors[0].currency: is not a field of a report payload descriptor",
        ),
        (
            json!({"programID": p1, "eventID": e1, "clientName": "c", "resources": [], "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE"}]}),
            "payloadDescriptors[0].objectType: must be one of REPORT_PAYLOAD_DESCRIPTOR",
        ),
    ];
    for (body, expected) in cases {
        let detail = expect_problem(app.post("/reports", body.clone()).await, 400).await;
        assert!(
            detail.contains(expected),
            "for {body}: expected {expected:?} in {detail:?}"
        );
    }
    let other_program = json!({"programID": p2, "eventID": e1, "clientName": "c", "resources": []});
    assert_eq!(
        expect_problem(app.post("/reports", other_program).await, 400).await,
        format!("eventID: event '{e1}' belongs to program '{p1}', not to programID '{p2}'")
    );
    assert!(listed(&app, "").await.is_empty(), "nothing was created");

    // The same checks apply to PUT.
    let id = id_of(
        &expect_json(
            app.post("/reports", minimal_report(&p1, &e1, "c")).await,
            201,
        )
        .await,
    );
    let detail = expect_problem(
        app.put(&format!("/reports/{id}"), minimal_report(&p2, &e1, "c"))
            .await,
        400,
    )
    .await;
    assert!(detail.starts_with("eventID:"), "{detail}");
    let detail = expect_problem(
        app.put(&format!("/reports/{id}"), minimal_report(&p1, "nope", "c"))
            .await,
        400,
    )
    .await;
    assert_eq!(detail, "eventID: event 'nope' does not exist");

    // Bad ids in the path and bad query parameters.
    for path in ["/reports/a%20b", "/reports/%C3%A9"] {
        let detail = expect_problem(app.get(path).await, 400).await;
        assert!(detail.starts_with("reportID:"), "{detail}");
        expect_problem(app.delete(path).await, 400).await;
    }
    for (query, expected) in [
        ("eventID=a%20b", "eventID:"),
        ("programID=a%20b", "programID:"),
        ("clientName=", "clientName:"),
        (
            "clientName=a&clientName=b",
            "clientName: may be given only once",
        ),
        ("eventID=a&eventID=b", "eventID: may be given only once"),
        ("targetType=GROUP", "unknown query parameter 'targetType'"),
        ("objects=EVENT", "unknown query parameter 'objects'"),
        ("limit=51", "limit:"),
        ("skip=-1", "skip:"),
    ] {
        let detail = expect_problem(app.get(&format!("/reports?{query}")).await, 400).await;
        assert!(
            detail.contains(expected),
            "for {query}: expected {expected:?} in {detail:?}"
        );
    }
    let response = app.call(Method::PATCH, "/reports", None).await;
    assert_eq!(response.headers()["allow"], "GET, POST");
    expect_problem(response, 405).await;
}

async fn events_and_programs_with_reports_are_not_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (program, event) = program_with_event(&app, "p").await;
    let report = expect_json(
        app.post("/reports", minimal_report(&program, &event, "c"))
            .await,
        201,
    )
    .await;
    let detail = expect_problem(app.delete(&format!("/events/{event}")).await, 409).await;
    assert_eq!(
        detail,
        format!("event '{event}' still has reports; delete its reports first")
    );
    expect_problem(app.delete(&format!("/programs/{program}")).await, 409).await;
    expect_json(app.get(&format!("/events/{event}")).await, 200).await;

    expect_json(
        app.delete(&format!("/reports/{}", id_of(&report))).await,
        200,
    )
    .await;
    expect_json(app.delete(&format!("/events/{event}")).await, 200).await;
    expect_json(app.delete(&format!("/programs/{program}")).await, 200).await;
}

async fn a_ven_client_sees_and_writes_only_its_own_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (program, event) = program_with_event(&app, "p").await;
    let ven_a = ven_token(&app, "default", "ven-a", VEN_SCOPES).await;
    let ven_b = ven_token(&app, "default", "ven-b", VEN_SCOPES).await;

    // A VEN reports under its own name only.
    let own = call_as(
        &app,
        &ven_a,
        Method::POST,
        "/reports",
        Some(minimal_report(&program, &event, "ven-a")),
    )
    .await;
    let own = expect_json(own, 201).await;
    let id = id_of(&own);
    let other_name = call_as(
        &app,
        &ven_a,
        Method::POST,
        "/reports",
        Some(minimal_report(&program, &event, "ven-b")),
    )
    .await;
    assert_eq!(
        expect_problem(other_name, 400).await,
        "clientName: must be 'ven-a', the VEN name this client is bound to"
    );
    let of_b = expect_json(
        call_as(
            &app,
            &ven_b,
            Method::POST,
            "/reports",
            Some(minimal_report(&program, &event, "ven-b")),
        )
        .await,
        201,
    )
    .await;
    // Business logic may write under any name; its reports belong to no VEN.
    let of_bl = expect_json(
        app.post("/reports", minimal_report(&program, &event, "ven-a"))
            .await,
        201,
    )
    .await;

    // Business logic sees everything; each VEN only its own.
    assert_eq!(
        listed(&app, "").await,
        vec![id.clone(), id_of(&of_b), id_of(&of_bl)]
    );
    assert_eq!(listed_as(&app, &ven_a, "").await, vec![id.clone()]);
    assert_eq!(
        listed_as(&app, &ven_a, "clientName=ven-a").await,
        vec![id.clone()]
    );
    assert!(listed_as(&app, &ven_a, "clientName=ven-b").await.is_empty());
    assert_eq!(listed_as(&app, &ven_b, "").await, vec![id_of(&of_b)]);
    let path = format!("/reports/{id}");
    assert_eq!(
        expect_json(call_as(&app, &ven_a, Method::GET, &path, None).await, 200).await,
        own
    );
    let bl_path = format!("/reports/{}", id_of(&of_bl));
    expect_problem(
        call_as(&app, &ven_a, Method::GET, &bl_path, None).await,
        404,
    )
    .await;

    // Another VEN's report is not found, whatever the method.
    let detail = expect_problem(call_as(&app, &ven_b, Method::GET, &path, None).await, 404).await;
    assert_eq!(detail, format!("report '{id}' not found"));
    let put = call_as(
        &app,
        &ven_b,
        Method::PUT,
        &path,
        Some(minimal_report(&program, &event, "ven-b")),
    )
    .await;
    expect_problem(put, 404).await;
    expect_problem(
        call_as(&app, &ven_b, Method::DELETE, &path, None).await,
        404,
    )
    .await;

    // The owner may not rename its report to another VEN; business logic may edit it, and the
    // VEN keeps owning it.
    let put = call_as(
        &app,
        &ven_a,
        Method::PUT,
        &path,
        Some(minimal_report(&program, &event, "ven-b")),
    )
    .await;
    expect_problem(put, 400).await;
    let mut edited = minimal_report(&program, &event, "ven-a");
    edited["reportName"] = json!("checked by BL");
    expect_json(app.put(&path, edited).await, 200).await;
    let seen = expect_json(call_as(&app, &ven_a, Method::GET, &path, None).await, 200).await;
    assert_eq!(seen["reportName"], "checked by BL");
    expect_json(
        call_as(&app, &ven_a, Method::DELETE, &path, None).await,
        200,
    )
    .await;
    assert!(listed_as(&app, &ven_a, "").await.is_empty());
}

async fn a_ven_reports_only_on_programs_and_events_it_may_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ven_a = ven_token(&app, "default", "ven-a", VEN_SCOPES).await;
    let for_b = json!([{"type": "VEN_NAME", "values": ["ven-b"]}]);
    // A program that targets another VEN, with an untargeted event.
    let hidden = id_of(&app.create_program("for-b", for_b.clone()).await);
    let mut event = event_at(&hidden, "2026-12-01T17:00:00Z", Some("PT1H"), 1);
    let in_hidden = id_of(&app.create_event(event.clone()).await);
    // An untargeted program with an event that targets another VEN.
    let open = id_of(&app.create_program("open", json!(null)).await);
    event["programID"] = json!(open);
    event["targets"] = for_b;
    let hidden_event = id_of(&app.create_event(event).await);

    // An event aimed at ven-a in that same hidden program.
    let mut for_a = event_at(&hidden, "2026-12-01T17:00:00Z", Some("PT1H"), 1);
    for_a["targets"] = json!([{"type": "VEN_NAME", "values": ["ven-a"]}]);
    let for_a = id_of(&app.create_event(for_a).await);

    let post = |body: Value| call_as(&app, &ven_a, Method::POST, "/reports", Some(body));
    assert_eq!(
        expect_problem(
            post(minimal_report(&hidden, &in_hidden, "ven-a")).await,
            400
        )
        .await,
        format!("eventID: event '{in_hidden}' does not exist")
    );
    // The event is what asks for the report: one that ven-a may read can be reported on, even
    // though its program is hidden from ven-a.
    let own = id_of(&expect_json(post(minimal_report(&hidden, &for_a, "ven-a")).await, 201).await);
    assert_eq!(
        expect_problem(
            post(minimal_report(&open, &hidden_event, "ven-a")).await,
            400
        )
        .await,
        format!("eventID: event '{hidden_event}' does not exist")
    );
    // Business logic reports on anything.
    expect_json(
        app.post("/reports", minimal_report(&open, &hidden_event, "ven-a"))
            .await,
        201,
    )
    .await;
    // ven-a lists its own report only, not the one business logic wrote for it.
    assert_eq!(listed_as(&app, &ven_a, "").await, vec![own]);
}

async fn scopes_decide_who_reads_and_writes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (program, event) = program_with_event(&app, "p").await;
    let report = minimal_report(&program, &event, "ven-a");
    let reader = app.tenant_token("default", "read_all").await;
    let detail = expect_problem(
        call_as(
            &app,
            &reader,
            Method::POST,
            "/reports",
            Some(report.clone()),
        )
        .await,
        403,
    )
    .await;
    assert!(detail.contains("write_reports"), "{detail}");
    // A VEN client holding only the 3.1 read_ven_objects scope reads its own reports.
    let writer = ven_token(&app, "default", "ven-a", "write_reports,read_ven_objects").await;
    let created = expect_json(
        call_as(&app, &writer, Method::POST, "/reports", Some(report)).await,
        201,
    )
    .await;
    assert_eq!(listed_as(&app, &writer, "").await, vec![id_of(&created)]);
    let no_read = ven_token(&app, "default", "ven-a", "write_reports").await;
    expect_problem(
        call_as(&app, &no_read, Method::GET, "/reports", None).await,
        403,
    )
    .await;
    expect_problem(
        app.request(Method::GET, "/reports", None)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

async fn tenants_do_not_see_each_others_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (program, event) = program_with_event(&app, "p").await;
    let report = expect_json(
        app.post("/reports", minimal_report(&program, &event, "c"))
            .await,
        201,
    )
    .await;
    let other = app
        .tenant_token("acme", "read_all,write_programs,write_events,write_reports")
        .await;
    let path = format!("/reports/{}", id_of(&report));
    assert_eq!(listed_as(&app, &other, "").await, Vec::<String>::new());
    expect_problem(call_as(&app, &other, Method::GET, &path, None).await, 404).await;
    expect_problem(
        call_as(
            &app,
            &other,
            Method::PUT,
            &path,
            Some(minimal_report(&program, &event, "c")),
        )
        .await,
        404,
    )
    .await;
    expect_problem(
        call_as(&app, &other, Method::DELETE, &path, None).await,
        404,
    )
    .await;
    // Another tenant's program and event do not exist for it.
    let detail = expect_problem(
        call_as(
            &app,
            &other,
            Method::POST,
            "/reports",
            Some(minimal_report(&program, &event, "c")),
        )
        .await,
        400,
    )
    .await;
    assert!(detail.starts_with("programID:"), "{detail}");
    expect_json(app.get(&path).await, 200).await;
}

async fn deleting_a_tenant_deletes_its_reports_and_subscriptions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = app
        .tenant_token(
            "acme",
            "read_all,write_programs,write_events,write_reports,write_subscriptions",
        )
        .await;
    let post =
        |path: &'static str, body: Value| call_as(&app, &acme, Method::POST, path, Some(body));
    let program =
        id_of(&expect_json(post("/programs", json!({"programName": "p"})).await, 201).await);
    let event = event_at(&program, "2026-12-01T17:00:00Z", Some("PT1H"), 1);
    let event = id_of(&expect_json(post("/events", event).await, 201).await);
    expect_json(
        post("/reports", minimal_report(&program, &event, "c")).await,
        201,
    )
    .await;
    let subscription = json!({"programID": program, "clientName": "c", "objectOperations": [
        {"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": crate::receiver::callback_url()}]});
    expect_json(post("/subscriptions", subscription).await, 201).await;

    let output = vtn_binary()
        .args(["tenant", "delete", "acme"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("run openadr3-vtn tenant delete");
    assert!(
        output.status.success(),
        "tenant delete failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The tenant can be created again, empty.
    let fresh = app.tenant_token("acme", "read_all").await;
    assert!(listed_as(&app, &fresh, "").await.is_empty());
}

backend_tests!(
    crud_round_trips_the_full_object,
    filters_combine_and_page,
    bad_input_is_a_400_naming_the_field,
    events_and_programs_with_reports_are_not_deleted,
    a_ven_client_sees_and_writes_only_its_own_reports,
    a_ven_reports_only_on_programs_and_events_it_may_read,
    scopes_decide_who_reads_and_writes,
    tenants_do_not_see_each_others_reports,
    deleting_a_tenant_deletes_its_reports_and_subscriptions,
);
