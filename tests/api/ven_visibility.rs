//! What a VEN client may see of programs and events: what targets it (its VEN name, its
//! resources' names, its VEN's targets) or has no targets. Everything else is absent from its
//! lists and 404 by id; a business-logic client still sees everything.

use crate::backend_tests;
use crate::helpers::*;
use crate::vens::{call_as, create_resource, create_ven, ven_token};
use reqwest::Method;
use serde_json::{json, Value};

/// VEN `ven-a` (targets GROUP g1 and ZONE 7, resource `meter-1` whose own targets are GROUP
/// g-res) and VEN `ven-b` (resource `meter-b`, target GROUP g2).
async fn two_vens(app: &TestApp) -> (String, String) {
    let a = id_of(
        &create_ven(
            app,
            json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g1"]}, {"type": "ZONE", "values": [7]}]}),
        )
        .await,
    );
    create_resource(
        app,
        &a,
        json!({"resourceName": "meter-1", "targets": [{"type": "GROUP", "values": ["g-res"]}]}),
    )
    .await;
    let b = id_of(
        &create_ven(
            app,
            json!({"venName": "ven-b", "targets": [{"type": "GROUP", "values": ["g2"]}]}),
        )
        .await,
    );
    create_resource(app, &b, json!({"resourceName": "meter-b"})).await;
    (a, b)
}

/// `(name, targets, visible to ven-a)`.
fn matrix() -> Vec<(&'static str, Value, bool)> {
    vec![
        ("untargeted", Value::Null, true),
        ("empty-targets", json!([]), true),
        (
            "by-ven-name",
            json!([{"type": "VEN_NAME", "values": ["ven-x", "ven-a"]}]),
            true,
        ),
        (
            "by-resource-name",
            json!([{"type": "RESOURCE_NAME", "values": ["meter-1"]}]),
            true,
        ),
        (
            "by-ven-group",
            json!([{"type": "GROUP", "values": ["g1"]}]),
            true,
        ),
        (
            "by-ven-number",
            json!([{"type": "ZONE", "values": [7]}]),
            true,
        ),
        (
            "any-target-matches",
            json!([{"type": "GROUP", "values": ["g2"]}, {"type": "VEN_NAME", "values": ["ven-a"]}]),
            true,
        ),
        (
            "other-ven-name",
            json!([{"type": "VEN_NAME", "values": ["ven-b"]}]),
            false,
        ),
        (
            "other-resource",
            json!([{"type": "RESOURCE_NAME", "values": ["meter-b"]}]),
            false,
        ),
        (
            "other-group",
            json!([{"type": "GROUP", "values": ["g2"]}]),
            false,
        ),
        (
            "same-value-other-type",
            json!([{"type": "ZONE", "values": ["g1"]}]),
            false,
        ),
        (
            "ven-name-as-group",
            json!([{"type": "GROUP", "values": ["ven-a"]}]),
            false,
        ),
        (
            "resource-own-targets",
            json!([{"type": "GROUP", "values": ["g-res"]}]),
            false,
        ),
    ]
}

async fn list_as(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    ids(&expect_json(call_as(app, token, Method::GET, path, None).await, 200).await)
}

async fn programs_a_ven_may_see(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    two_vens(&app).await;
    let mut all = Vec::new();
    let mut visible = Vec::new();
    let mut hidden = Vec::new();
    for (name, targets, shown) in matrix() {
        let id = id_of(&app.create_program(name, targets).await);
        all.push(id.clone());
        if shown {
            visible.push(id)
        } else {
            hidden.push(id)
        }
    }
    for scopes in [
        "read_all",
        "read_targets",
        "read_all,read_targets,write_vens",
    ] {
        let ven = ven_token(&app, "default", "ven-a", scopes).await;
        assert_eq!(
            list_as(&app, &ven, "/programs").await,
            visible,
            "scopes {scopes}"
        );
        for id in &visible {
            let response = call_as(&app, &ven, Method::GET, &format!("/programs/{id}"), None).await;
            assert_eq!(&id_of(&expect_json(response, 200).await), id);
        }
        for id in &hidden {
            let response = call_as(&app, &ven, Method::GET, &format!("/programs/{id}"), None).await;
            let detail = expect_problem(response, 404).await;
            assert_eq!(
                detail,
                format!("program '{id}' not found"),
                "as if it did not exist"
            );
        }
    }
    // The business-logic client sees them all.
    assert_eq!(
        ids(&expect_json(app.get("/programs").await, 200).await),
        all
    );
    // ven-b sees its own share: the untargeted ones, and those naming it or its resource or group.
    let ven_b = ven_token(&app, "default", "ven-b", "read_all").await;
    let names: Vec<String> = expect_json(
        call_as(&app, &ven_b, Method::GET, "/programs", None).await,
        200,
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|p| p["programName"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(
        names,
        [
            "untargeted",
            "empty-targets",
            "any-target-matches",
            "other-ven-name",
            "other-resource",
            "other-group"
        ]
    );
}

async fn events_a_ven_may_see(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    two_vens(&app).await;
    let program = id_of(&app.create_program("open", Value::Null).await);
    let mut all = Vec::new();
    let mut visible = Vec::new();
    let mut hidden = Vec::new();
    for (name, targets, shown) in matrix() {
        let mut event = event_at(&program, "2026-01-01T00:00:00Z", Some("PT1H"), 1);
        event["eventName"] = json!(name);
        event["targets"] = targets;
        let id = id_of(&app.create_event(event).await);
        all.push(id.clone());
        if shown {
            visible.push(id)
        } else {
            hidden.push(id)
        }
    }
    for scopes in ["read_all", "read_targets"] {
        let ven = ven_token(&app, "default", "ven-a", scopes).await;
        assert_eq!(
            list_as(&app, &ven, "/events").await,
            visible,
            "scopes {scopes}"
        );
        assert_eq!(
            list_as(&app, &ven, &format!("/events?programID={program}")).await,
            visible
        );
        for id in &visible {
            let response = call_as(&app, &ven, Method::GET, &format!("/events/{id}"), None).await;
            assert_eq!(&id_of(&expect_json(response, 200).await), id);
        }
        for id in &hidden {
            let response = call_as(&app, &ven, Method::GET, &format!("/events/{id}"), None).await;
            let detail = expect_problem(response, 404).await;
            assert_eq!(detail, format!("event '{id}' not found"));
        }
    }
    assert_eq!(ids(&expect_json(app.get("/events").await, 200).await), all);
}

async fn an_untargeted_event_follows_its_program(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    two_vens(&app).await;
    let theirs = id_of(
        &app.create_program("for-b", json!([{"type": "VEN_NAME", "values": ["ven-b"]}]))
            .await,
    );
    let ours = id_of(
        &app.create_program("for-a", json!([{"type": "GROUP", "values": ["g1"]}]))
            .await,
    );
    let mut untargeted_theirs = event_at(&theirs, "2026-01-01T00:00:00Z", Some("PT1H"), 1);
    untargeted_theirs["targets"] = json!([]);
    let untargeted_theirs = id_of(&app.create_event(untargeted_theirs).await);
    let mut aimed_at_a = event_at(&theirs, "2026-01-01T00:00:00Z", Some("PT1H"), 1);
    aimed_at_a["targets"] = json!([{"type": "RESOURCE_NAME", "values": ["meter-1"]}]);
    let aimed_at_a = id_of(&app.create_event(aimed_at_a).await);
    let untargeted_ours = id_of(
        &app.create_event(event_at(&ours, "2026-01-01T00:00:00Z", Some("PT1H"), 1))
            .await,
    );

    let ven = ven_token(&app, "default", "ven-a", "read_all").await;
    assert_eq!(list_as(&app, &ven, "/programs").await, vec![ours.clone()]);
    // An event without targets is meant for whoever its program addresses; an event that
    // targets the VEN is visible even in a program that does not.
    assert_eq!(
        list_as(&app, &ven, "/events").await,
        vec![aimed_at_a, untargeted_ours]
    );
    let response = call_as(
        &app,
        &ven,
        Method::GET,
        &format!("/events/{untargeted_theirs}"),
        None,
    )
    .await;
    expect_problem(response, 404).await;
    let ven_b = ven_token(&app, "default", "ven-b", "read_all").await;
    assert_eq!(
        list_as(&app, &ven_b, "/events").await,
        vec![untargeted_theirs]
    );
}

async fn filters_and_pages_apply_within_what_a_ven_sees(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    two_vens(&app).await;
    let p1 = id_of(
        &app.create_program("p1", json!([{"type": "VEN_NAME", "values": ["ven-a"]}]))
            .await,
    );
    app.create_program("p2", json!([{"type": "GROUP", "values": ["g2"]}]))
        .await;
    let p3 = id_of(&app.create_program("p3", Value::Null).await);
    let p4 = id_of(
        &app.create_program("p4", json!([{"type": "GROUP", "values": ["g1"]}]))
            .await,
    );
    let ven = ven_token(&app, "default", "ven-a", "read_all").await;
    assert_eq!(
        list_as(&app, &ven, "/programs").await,
        vec![p1.clone(), p3.clone(), p4.clone()]
    );
    assert_eq!(
        list_as(&app, &ven, "/programs?skip=1&limit=1").await,
        vec![p3.clone()]
    );
    assert_eq!(
        list_as(&app, &ven, "/programs?skip=2").await,
        vec![p4.clone()]
    );
    assert_eq!(
        list_as(&app, &ven, "/programs?targetType=GROUP").await,
        vec![p4.clone()]
    );
    assert!(list_as(&app, &ven, "/programs?targetValues=g2")
        .await
        .is_empty());
    let e1 = id_of(
        &app.create_event(event_at(&p3, "2026-01-01T00:00:00Z", Some("PT1H"), 1))
            .await,
    );
    let e2 = id_of(
        &app.create_event(event_at(&p3, "2026-01-02T00:00:00Z", Some("PT1H"), 1))
            .await,
    );
    assert_eq!(
        list_as(&app, &ven, "/events?x-start=2026-01-01T12:00:00Z").await,
        vec![e2]
    );
    assert_eq!(list_as(&app, &ven, "/events?limit=1").await, vec![e1]);
}

async fn visibility_follows_the_ven_and_its_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // No VEN object yet: only its name and untargeted objects count.
    let ven = ven_token(&app, "default", "ven-a", "read_all,write_vens").await;
    let by_name = id_of(
        &app.create_program(
            "by-name",
            json!([{"type": "VEN_NAME", "values": ["ven-a"]}]),
        )
        .await,
    );
    let by_resource = id_of(
        &app.create_program(
            "by-resource",
            json!([{"type": "RESOURCE_NAME", "values": ["meter-1"]}]),
        )
        .await,
    );
    let by_group = id_of(
        &app.create_program("by-group", json!([{"type": "GROUP", "values": ["g1"]}]))
            .await,
    );
    assert_eq!(
        list_as(&app, &ven, "/programs").await,
        vec![by_name.clone()]
    );

    // The VEN registers itself and adds a resource: neither widens what it sees, since only
    // business logic writes a VEN's targets and approves a resource's name.
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-a"})),
    )
    .await;
    let ven_id = id_of(&expect_json(response, 201).await);
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        &format!("/vens/{ven_id}/resources"),
        Some(json!({"resourceName": "meter-1"})),
    )
    .await;
    let resource = id_of(&expect_json(response, 201).await);
    assert_eq!(
        list_as(&app, &ven, "/programs").await,
        vec![by_name.clone()]
    );

    // Business logic gives the VEN a group and approves the resource: both now count.
    expect_json(
        app.put(
            &format!("/vens/{ven_id}"),
            json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g1"]}]}),
        )
        .await,
        200,
    )
    .await;
    expect_json(
        app.put(
            &format!("/vens/{ven_id}/resources/{resource}"),
            json!({"resourceName": "meter-1"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        list_as(&app, &ven, "/programs").await,
        vec![by_name.clone(), by_resource.clone(), by_group.clone()]
    );

    // Dropping the group (business logic) and the resource (the VEN) takes them away again.
    expect_json(
        app.put(&format!("/vens/{ven_id}"), json!({"venName": "ven-a"}))
            .await,
        200,
    )
    .await;
    let response = call_as(
        &app,
        &ven,
        Method::DELETE,
        &format!("/vens/{ven_id}/resources/{resource}"),
        None,
    )
    .await;
    expect_json(response, 200).await;
    assert_eq!(list_as(&app, &ven, "/programs").await, vec![by_name]);
    let response = call_as(
        &app,
        &ven,
        Method::GET,
        &format!("/programs/{by_group}"),
        None,
    )
    .await;
    expect_problem(response, 404).await;
}

async fn another_tenants_vens_grant_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let grouped = id_of(
        &app.create_program("grouped", json!([{"type": "GROUP", "values": ["g9"]}]))
            .await,
    );
    let by_resource = id_of(
        &app.create_program(
            "by-resource",
            json!([{"type": "RESOURCE_NAME", "values": ["meter-9"]}]),
        )
        .await,
    );
    // In tenant acme, a VEN of the same name has that group and resource.
    let acme = app
        .tenant_token("acme", "read_all,write_vens,write_programs")
        .await;
    let response = call_as(
        &app,
        &acme,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g9"]}]})),
    )
    .await;
    let acme_ven = id_of(&expect_json(response, 201).await);
    let response = call_as(
        &app,
        &acme,
        Method::POST,
        &format!("/vens/{acme_ven}/resources"),
        Some(json!({"resourceName": "meter-9"})),
    )
    .await;
    expect_json(response, 201).await;
    let response = call_as(
        &app,
        &acme,
        Method::POST,
        "/programs",
        Some(json!({"programName": "acme-open"})),
    )
    .await;
    let acme_open = id_of(&expect_json(response, 201).await);

    let ven = ven_token(&app, "default", "ven-a", "read_all").await;
    assert!(list_as(&app, &ven, "/programs").await.is_empty());
    for id in [&grouped, &by_resource, &acme_open] {
        let response = call_as(&app, &ven, Method::GET, &format!("/programs/{id}"), None).await;
        expect_problem(response, 404).await;
    }
    let acme_ven_client = ven_token(&app, "acme", "ven-a", "read_all").await;
    assert_eq!(
        list_as(&app, &acme_ven_client, "/programs").await,
        vec![acme_open]
    );
}

async fn ven_clients_cannot_write_programs_or_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("open", Value::Null).await);
    let ven = ven_token(&app, "default", "ven-a", "read_all,read_targets,write_vens").await;
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        "/programs",
        Some(json!({"programName": "mine"})),
    )
    .await;
    assert!(expect_problem(response, 403)
        .await
        .contains("write_programs"));
    let response = call_as(
        &app,
        &ven,
        Method::PUT,
        &format!("/programs/{program}"),
        Some(json!({"programName": "mine"})),
    )
    .await;
    expect_problem(response, 403).await;
    let event = event_at(&program, "2026-01-01T00:00:00Z", None, 1);
    let response = call_as(&app, &ven, Method::POST, "/events", Some(event)).await;
    assert!(expect_problem(response, 403).await.contains("write_events"));
    // A VEN client without read scopes for programs and events reads nothing.
    let no_read = ven_token(&app, "default", "ven-a", "read_ven_objects,write_vens").await;
    let response = call_as(&app, &no_read, Method::GET, "/programs", None).await;
    assert!(expect_problem(response, 403).await.contains("read_all"));
    // A business-logic client needs read_all: read_targets is for VEN clients.
    let bl = app.tenant_token("default", "read_targets").await;
    let response = call_as(&app, &bl, Method::GET, "/events", None).await;
    expect_problem(response, 403).await;
}

backend_tests!(
    programs_a_ven_may_see,
    events_a_ven_may_see,
    an_untargeted_event_follows_its_program,
    filters_and_pages_apply_within_what_a_ven_sees,
    visibility_follows_the_ven_and_its_resources,
    another_tenants_vens_grant_nothing,
    ven_clients_cannot_write_programs_or_events,
);
