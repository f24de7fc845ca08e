//! Tenants are isolated: a client sees, changes and references only its own tenant's objects.

use crate::backend_tests;
use crate::helpers::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

const TENANT_B_SCOPES: &str = "read_all,write_programs,write_events";

/// What tenant `default` (the admin token) owns before tenant B acts.
struct TenantA {
    programs: Vec<Value>,
    events: Vec<Value>,
}

impl TenantA {
    fn program_id(&self, i: usize) -> &str {
        self.programs[i]["id"].as_str().unwrap()
    }
    fn event_id(&self, i: usize) -> &str {
        self.events[i]["id"].as_str().unwrap()
    }
}

/// Two programs (targets GROUP g1 and g2) and three events in tenant `default`.
async fn seed_tenant_a(app: &TestApp) -> TenantA {
    let p1 = app
        .create_program("shared-name", json!([{"type": "GROUP", "values": ["g1"]}]))
        .await;
    let p2 = app
        .create_program("a-only", json!([{"type": "GROUP", "values": ["g2"]}]))
        .await;
    let mut events = Vec::new();
    for (program, start) in [
        (&p1, "2024-01-01T00:00:00Z"),
        (&p1, "2024-01-02T00:00:00Z"),
        (&p2, "2024-01-03T00:00:00Z"),
    ] {
        let mut event = event_at(program["id"].as_str().unwrap(), start, Some("PT1H"), 1);
        event["targets"] = json!([{"type": "GROUP", "values": ["g1"]}]);
        events.push(app.create_event(event).await);
    }
    TenantA {
        programs: vec![p1, p2],
        events,
    }
}

/// `method path` with `token` and an optional JSON body.
async fn call_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> Value {
    expect_json(call_as(app, token, Method::GET, path, None).await, 200).await
}

/// Asserts tenant A's objects are exactly as seeded, by list and by id.
async fn assert_tenant_a_unchanged(app: &TestApp, a: &TenantA) {
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!(a.programs),
        "tenant A's programs"
    );
    assert_eq!(
        expect_json(app.get("/events").await, 200).await,
        json!(a.events),
        "tenant A's events"
    );
    for program in &a.programs {
        let id = program["id"].as_str().unwrap();
        assert_eq!(
            &expect_json(app.get(&format!("/programs/{id}")).await, 200).await,
            program
        );
    }
    for event in &a.events {
        let id = event["id"].as_str().unwrap();
        assert_eq!(
            &expect_json(app.get(&format!("/events/{id}")).await, 200).await,
            event
        );
    }
}

// ---------------------------------------------------------------------------------------------

async fn lists_show_nothing_of_another_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = seed_tenant_a(&app).await;
    let b = app.tenant_token("tenant-b", TENANT_B_SCOPES).await;

    let p1 = a.program_id(0);
    for path in [
        "/programs".to_owned(),
        "/programs?targetType=GROUP&targetValues=g1".to_owned(),
        "/programs?targetType=GROUP".to_owned(),
        "/programs?targetValues=g1&targetValues=g2".to_owned(),
        "/programs?skip=0&limit=50".to_owned(),
        "/programs?skip=1&limit=1".to_owned(),
        "/events".to_owned(),
        format!("/events?programID={p1}"),
        "/events?targetType=GROUP&targetValues=g1".to_owned(),
        "/events?x-start=2023-01-01T00:00:00Z&x-end=2025-01-01T00:00:00Z".to_owned(),
        "/events?skip=0&limit=50".to_owned(),
        "/events?skip=2&limit=1".to_owned(),
    ] {
        assert_eq!(
            get_as(&app, &b, &path).await,
            json!([]),
            "tenant B: GET {path}"
        );
    }

    // The same queries do find tenant A's objects for tenant A (so the emptiness above is
    // isolation, not a query that matches nothing).
    assert_eq!(
        ids(&expect_json(
            app.get("/programs?targetType=GROUP&targetValues=g1").await,
            200
        )
        .await),
        vec![p1]
    );
    assert_eq!(
        ids(&expect_json(app.get("/programs?skip=1&limit=1").await, 200).await),
        vec![a.program_id(1)]
    );
    assert_eq!(
        ids(&expect_json(app.get(&format!("/events?programID={p1}")).await, 200).await),
        vec![a.event_id(0), a.event_id(1)]
    );
    assert_eq!(
        ids(&expect_json(app.get("/events?skip=2&limit=1").await, 200).await),
        vec![a.event_id(2)]
    );

    // Once tenant B has objects of its own, pages hold only those.
    let mut b_programs = Vec::new();
    for name in ["b1", "b2", "b3"] {
        let body = json!({"programName": name, "targets": [{"type": "GROUP", "values": ["g1"]}]});
        let program = expect_json(
            call_as(&app, &b, Method::POST, "/programs", Some(body)).await,
            201,
        )
        .await;
        b_programs.push(program["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids(&get_as(&app, &b, "/programs").await), b_programs);
    assert_eq!(
        ids(&get_as(&app, &b, "/programs?skip=2&limit=2").await),
        b_programs[2..]
    );
    assert_eq!(
        ids(&get_as(&app, &b, "/programs?targetType=GROUP&targetValues=g1").await),
        b_programs
    );
    let b_event = event_at(&b_programs[0], "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    let b_event = expect_json(
        call_as(&app, &b, Method::POST, "/events", Some(b_event)).await,
        201,
    )
    .await;
    assert_eq!(get_as(&app, &b, "/events").await, json!([b_event]));
    assert_eq!(
        get_as(&app, &b, &format!("/events?programID={p1}")).await,
        json!([])
    );

    // And tenant A sees none of tenant B's.
    assert_tenant_a_unchanged(&app, &a).await;
    let detail = expect_problem(app.get(&format!("/programs/{}", b_programs[0])).await, 404).await;
    assert_eq!(detail, format!("program '{}' not found", b_programs[0]));
}

async fn objects_of_another_tenant_are_not_found_by_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = seed_tenant_a(&app).await;
    let b = app.tenant_token("tenant-b", TENANT_B_SCOPES).await;

    for i in 0..a.programs.len() {
        let id = a.program_id(i);
        let path = format!("/programs/{id}");
        let replacement = json!({"programName": "hijacked"});
        for (method, body) in [
            (Method::GET, None),
            (Method::PUT, Some(replacement)),
            (Method::DELETE, None),
        ] {
            let detail =
                expect_problem(call_as(&app, &b, method.clone(), &path, body).await, 404).await;
            assert_eq!(
                detail,
                format!("program '{id}' not found"),
                "{method} {path}"
            );
        }
    }
    for i in 0..a.events.len() {
        let id = a.event_id(i);
        let path = format!("/events/{id}");
        // A body that would be valid in tenant A: it names tenant A's program.
        let replacement = event_at(a.program_id(0), "2030-01-01T00:00:00Z", Some("PT5M"), 1);
        for (method, body) in [
            (Method::GET, None),
            (Method::PUT, Some(replacement)),
            (Method::DELETE, None),
        ] {
            let detail =
                expect_problem(call_as(&app, &b, method.clone(), &path, body).await, 404).await;
            assert_eq!(detail, format!("event '{id}' not found"), "{method} {path}");
        }
    }
    assert_tenant_a_unchanged(&app, &a).await;
    assert_eq!(
        get_as(&app, &b, "/programs").await,
        json!([]),
        "tenant B's PUT created nothing"
    );
    assert_eq!(get_as(&app, &b, "/events").await, json!([]));
}

async fn events_cannot_reference_another_tenants_program(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = seed_tenant_a(&app).await;
    let b = app.tenant_token("tenant-b", TENANT_B_SCOPES).await;
    let p1 = a.program_id(0);

    let event = event_at(p1, "2024-01-05T00:00:00Z", Some("PT1H"), 1);
    let detail = expect_problem(
        call_as(&app, &b, Method::POST, "/events", Some(event)).await,
        400,
    )
    .await;
    assert_eq!(detail, format!("programID: program '{p1}' does not exist"));
    assert_eq!(get_as(&app, &b, "/events").await, json!([]));

    // Nor can tenant B move one of its own events into tenant A's program.
    let own = expect_json(
        call_as(
            &app,
            &b,
            Method::POST,
            "/programs",
            Some(json!({"programName": "b-program"})),
        )
        .await,
        201,
    )
    .await;
    let own_id = own["id"].as_str().unwrap();
    let b_event = event_at(own_id, "2024-01-05T00:00:00Z", Some("PT1H"), 1);
    let b_event = expect_json(
        call_as(&app, &b, Method::POST, "/events", Some(b_event)).await,
        201,
    )
    .await;
    let b_event_id = b_event["id"].as_str().unwrap();
    let moved = event_at(p1, "2024-01-05T00:00:00Z", Some("PT1H"), 1);
    let detail = expect_problem(
        call_as(
            &app,
            &b,
            Method::PUT,
            &format!("/events/{b_event_id}"),
            Some(moved),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(detail, format!("programID: program '{p1}' does not exist"));
    assert_eq!(
        get_as(&app, &b, &format!("/events/{b_event_id}")).await,
        b_event,
        "the event is unchanged"
    );

    // The other way round too: tenant A cannot use tenant B's program.
    let event = event_at(own_id, "2024-01-05T00:00:00Z", None, 1);
    let detail = expect_problem(app.post("/events", event).await, 400).await;
    assert_eq!(
        detail,
        format!("programID: program '{own_id}' does not exist")
    );

    assert_tenant_a_unchanged(&app, &a).await;
    assert_eq!(get_as(&app, &b, "/events").await, json!([b_event]));
}

async fn program_names_are_unique_per_tenant_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = seed_tenant_a(&app).await;
    let b = app.tenant_token("tenant-b", TENANT_B_SCOPES).await;
    let name = a.programs[0]["programName"].as_str().unwrap();

    // Within tenant A the name is taken...
    let detail = expect_problem(
        app.post("/programs", json!({"programName": name})).await,
        409,
    )
    .await;
    assert_eq!(
        detail,
        format!("programName: a program named '{name}' already exists")
    );

    // ...but tenant B may use it.
    let body = json!({"programName": name, "targets": [{"type": "GROUP", "values": ["g1"]}]});
    let b_program = expect_json(
        call_as(&app, &b, Method::POST, "/programs", Some(body)).await,
        201,
    )
    .await;
    assert_eq!(b_program["programName"], name);
    assert_ne!(b_program["id"], a.programs[0]["id"]);
    assert_eq!(get_as(&app, &b, "/programs").await, json!([b_program]));

    // Within tenant B the name is now taken as well.
    let detail = expect_problem(
        call_as(
            &app,
            &b,
            Method::POST,
            "/programs",
            Some(json!({"programName": name})),
        )
        .await,
        409,
    )
    .await;
    assert!(detail.contains(name), "{detail}");

    // Renaming into a name only tenant A uses is fine for tenant B.
    let other = expect_json(
        call_as(
            &app,
            &b,
            Method::POST,
            "/programs",
            Some(json!({"programName": "b-other"})),
        )
        .await,
        201,
    )
    .await;
    let other_id = other["id"].as_str().unwrap();
    let renamed = expect_json(
        call_as(
            &app,
            &b,
            Method::PUT,
            &format!("/programs/{other_id}"),
            Some(json!({"programName": "a-only"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["programName"], "a-only");
    assert_eq!(renamed["id"], other["id"]);

    // Deleting tenant B's same-named program leaves tenant A's in place.
    let b_id = b_program["id"].as_str().unwrap();
    let deleted = expect_json(
        call_as(&app, &b, Method::DELETE, &format!("/programs/{b_id}"), None).await,
        200,
    )
    .await;
    assert_eq!(deleted, b_program);
    assert_eq!(ids(&get_as(&app, &b, "/programs").await), vec![other_id]);
    assert_tenant_a_unchanged(&app, &a).await;
}

backend_tests!(
    lists_show_nothing_of_another_tenant,
    objects_of_another_tenant_are_not_found_by_id,
    events_cannot_reference_another_tenants_program,
    program_names_are_unique_per_tenant_only,
);
