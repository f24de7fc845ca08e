//! `/programs`: create, read, replace, delete, and the filtered, paged list.

use crate::backend_tests;
use crate::helpers::*;
use chrono::{TimeDelta, Utc};
use serde_json::{json, Value};
use std::time::Duration;

/// The ids `GET /programs?{query}` lists, in order.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    ids(&expect_json(app.get(&format!("/programs?{query}")).await, 200).await)
}

async fn create_sets_server_fields_and_ignores_client_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = Utc::now() - TimeDelta::seconds(1);
    let response = app
        .post(
            "/programs",
            json!({
                "id": "client-chosen-id",
                "createdDateTime": "2001-02-03T04:05:06Z",
                "modificationDateTime": "2001-02-03T04:05:06Z",
                "objectType": "PROGRAM",
                "programName": "ResTOU",
            }),
        )
        .await;
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let program = expect_json(response, 201).await;
    let after = Utc::now() + TimeDelta::seconds(1);

    assert_eq!(content_type.as_deref(), Some("application/json"));
    let id = id_of(&program);
    assert_ne!(id, "client-chosen-id", "the server assigns the id");
    assert!(!id.is_empty() && id.len() <= 128, "id length: {id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "id is URL safe: {id}"
    );
    assert_eq!(program["objectType"], "PROGRAM");
    assert_eq!(program["programName"], "ResTOU");
    let created = date_time(&program, "createdDateTime");
    let modified = date_time(&program, "modificationDateTime");
    assert!(
        before <= created && created <= after,
        "createdDateTime {created} is the server's time, not the client's"
    );
    assert_eq!(
        created, modified,
        "a new program was last modified when it was created"
    );

    // What the create returned is what is stored.
    assert_eq!(
        expect_json(app.get(&format!("/programs/{id}")).await, 200).await,
        program
    );

    // A second program gets a different id even when the client sends the same one.
    let other = expect_json(
        app.post("/programs", json!({"id": id, "programName": "other"}))
            .await,
        201,
    )
    .await;
    assert_ne!(id_of(&other), id);
    assert_eq!(listed(&app, "").await, vec![id, id_of(&other)]);
}

async fn object_type_other_than_program_is_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for object_type in ["EVENT", "VEN", "program", "BANANA"] {
        let response = app
            .post(
                "/programs",
                json!({"programName": "p", "objectType": object_type}),
            )
            .await;
        let detail = expect_problem(response, 400).await;
        assert!(
            detail.contains("objectType"),
            "detail for objectType {object_type} names the field: {detail}"
        );
    }
    assert!(listed(&app, "").await.is_empty(), "nothing was created");
}

async fn optional_fields_sent_as_null_are_accepted_and_not_echoed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let optional = [
        "id",
        "createdDateTime",
        "modificationDateTime",
        "objectType",
        "programLongName",
        "retailerName",
        "retailerLongName",
        "programType",
        "country",
        "principalSubdivision",
        "timeZoneOffset",
        "intervalPeriod",
        "programDescriptions",
        "bindingEvents",
        "localPrice",
        "payloadDescriptors",
        "targets",
    ];
    let mut body = json!({"programName": "nulls"});
    for field in optional {
        body[field] = Value::Null;
    }
    let program = expect_json(app.post("/programs", body).await, 201).await;
    let fields: Vec<&String> = program.as_object().unwrap().keys().collect();
    assert!(
        program.as_object().unwrap().values().all(|v| !v.is_null()),
        "no field is echoed as null: {program}"
    );
    let mut fields: Vec<&str> = fields.iter().map(|s| s.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "createdDateTime",
            "id",
            "modificationDateTime",
            "objectType",
            "programName"
        ]
    );
    let stored = expect_json(
        app.get(&format!("/programs/{}", id_of(&program))).await,
        200,
    )
    .await;
    assert_eq!(stored, program);
}

async fn full_program_round_trips(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sent = json!({
        "programName": "ResTOU",
        "programLongName": "Residential Time of Use",
        "retailerName": "ACME",
        "retailerLongName": "ACME Electric Utility",
        "programType": "PRICING_TARIFF",
        "country": "US",
        "principalSubdivision": "CA",
        "timeZoneOffset": "-PT8H",
        "intervalPeriod": {"start": "2024-03-10T00:00:00-08:00", "duration": "P1D", "randomizeStart": "PT5M"},
        "programDescriptions": [{"URL": "https://example.com/program"}],
        "bindingEvents": true,
        "localPrice": false,
        "payloadDescriptors": [
            {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "units": "KWH", "currency": "USD"},
            {"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "readingType": "DIRECT_READ",
             "units": "KWH", "accuracy": 0.5, "confidence": 90}
        ],
        "targets": [{"type": "GROUP", "values": ["g1", "g2"]}, {"type": "PRICE", "values": [0.17]}],
    });
    let program = expect_json(app.post("/programs", sent.clone()).await, 201).await;
    assert_eq!(without_server_fields(&program), sent);
    assert_eq!(
        program["intervalPeriod"]["start"], "2024-03-10T00:00:00-08:00",
        "the offset is kept"
    );
    let stored = expect_json(
        app.get(&format!("/programs/{}", id_of(&program))).await,
        200,
    )
    .await;
    assert_eq!(stored, program);
}

async fn unknown_program_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_program("exists", json!(null)).await;
    let detail = expect_problem(app.get("/programs/no-such-program").await, 404).await;
    assert!(
        detail.contains("no-such-program"),
        "detail names the id: {detail}"
    );
}

async fn put_replaces_and_keeps_identity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let original = expect_json(
        app.post(
            "/programs",
            json!({"programName": "before", "programLongName": "Before", "country": "US",
                   "targets": [{"type": "GROUP", "values": ["old"]}]}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&original);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let replacement = json!({
        "id": "client-id",
        "createdDateTime": "2001-01-01T00:00:00Z",
        "programName": "after",
        "retailerName": "ACME",
        "targets": [{"type": "GROUP", "values": ["new"]}],
    });
    let updated = expect_json(app.put(&format!("/programs/{id}"), replacement).await, 200).await;

    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["objectType"], "PROGRAM");
    assert_eq!(updated["createdDateTime"], original["createdDateTime"]);
    let created = date_time(&updated, "createdDateTime");
    let modified = date_time(&updated, "modificationDateTime");
    assert!(
        modified > created,
        "modificationDateTime {modified} is renewed (created {created})"
    );
    assert_eq!(
        without_server_fields(&updated),
        json!({"programName": "after", "retailerName": "ACME", "targets": [{"type": "GROUP", "values": ["new"]}]}),
        "PUT replaces: fields left out are gone"
    );
    assert_eq!(
        expect_json(app.get(&format!("/programs/{id}")).await, 200).await,
        updated
    );

    // The targets used by list filters were replaced too.
    assert!(listed(&app, "targetType=GROUP&targetValues=old")
        .await
        .is_empty());
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=new").await,
        vec![id.clone()]
    );

    // The same name can be kept on a later PUT (no conflict with itself).
    let again = expect_json(
        app.put(&format!("/programs/{id}"), json!({"programName": "after"}))
            .await,
        200,
    )
    .await;
    assert_eq!(again["programName"], "after");
    assert!(date_time(&again, "modificationDateTime") >= modified);
}

async fn put_unknown_program_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let detail = expect_problem(
        app.put("/programs/missing", json!({"programName": "x"}))
            .await,
        404,
    )
    .await;
    assert!(detail.contains("missing"), "detail names the id: {detail}");
    assert!(listed(&app, "").await.is_empty(), "PUT does not create");
}

async fn duplicate_program_name_is_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.create_program("taken", json!(null)).await;
    let second = app.create_program("free", json!(null)).await;

    let detail = expect_problem(
        app.post("/programs", json!({"programName": "taken"})).await,
        409,
    )
    .await;
    assert!(
        detail.contains("programName"),
        "detail names the field: {detail}"
    );

    let detail = expect_problem(
        app.put(
            &format!("/programs/{}", id_of(&second)),
            json!({"programName": "taken"}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        detail.contains("programName"),
        "detail names the field: {detail}"
    );

    // Neither refused write changed anything.
    assert_eq!(listed(&app, "").await, vec![id_of(&first), id_of(&second)]);
    assert_eq!(
        expect_json(app.get(&format!("/programs/{}", id_of(&second))).await, 200).await,
        second
    );
}

async fn delete_returns_the_program_then_it_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let keep = app.create_program("keep", json!(null)).await;
    let program = app
        .create_program("doomed", json!([{"type": "GROUP", "values": ["g"]}]))
        .await;
    let path = format!("/programs/{}", id_of(&program));

    assert_eq!(expect_json(app.delete(&path).await, 200).await, program);
    expect_problem(app.get(&path).await, 404).await;
    expect_problem(app.delete(&path).await, 404).await;
    assert_eq!(listed(&app, "").await, vec![id_of(&keep)]);
    assert!(listed(&app, "targetType=GROUP&targetValues=g")
        .await
        .is_empty());
    // The name is free again.
    app.create_program("doomed", json!(null)).await;
}

async fn delete_of_program_with_events_is_409_until_they_are_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = app.create_program("busy", json!(null)).await;
    let program_id = id_of(&program);
    let event = app
        .create_event(event_at(
            &program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    let path = format!("/programs/{program_id}");

    let detail = expect_problem(app.delete(&path).await, 409).await;
    assert!(
        detail.contains("event"),
        "detail explains the events: {detail}"
    );
    assert_eq!(
        expect_json(app.get(&path).await, 200).await,
        program,
        "the program is still there"
    );
    assert_eq!(
        ids(&expect_json(app.get("/events").await, 200).await),
        vec![id_of(&event)],
        "its event too"
    );

    expect_json(app.delete(&format!("/events/{}", id_of(&event))).await, 200).await;
    assert_eq!(expect_json(app.delete(&path).await, 200).await, program);
    expect_problem(app.get(&path).await, 404).await;
}

async fn list_filters_by_targets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(
        &app.create_program("a", json!([{"type": "GROUP", "values": ["g1", "g2"]}]))
            .await,
    );
    let b = id_of(
        &app.create_program("b", json!([{"type": "GROUP", "values": ["g3"]}, {"type": "RESOURCE_NAME", "values": ["r1"]}]))
            .await,
    );
    let c = id_of(
        &app.create_program("c", json!([{"type": "RESOURCE_NAME", "values": ["g1"]}]))
            .await,
    );
    let d = id_of(&app.create_program("d", json!(null)).await);
    let e = id_of(
        &app.create_program("e", json!([{"type": "GROUP", "values": ["north zone"]}]))
            .await,
    );

    assert_eq!(
        listed(&app, "").await,
        vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone()]
    );
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=g1").await,
        vec![a.clone()]
    );
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=g2").await,
        vec![a.clone()]
    );
    // targetValues repeats; any one of them matches.
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=g3&targetValues=g1").await,
        vec![a.clone(), b.clone()]
    );
    // The value must belong to a target of that type: b has r1, but as a RESOURCE_NAME.
    assert!(listed(&app, "targetType=GROUP&targetValues=r1")
        .await
        .is_empty());
    assert_eq!(
        listed(&app, "targetType=RESOURCE_NAME&targetValues=g1").await,
        vec![c.clone()]
    );
    // targetType alone: any target of that type.
    assert_eq!(
        listed(&app, "targetType=GROUP").await,
        vec![a.clone(), b.clone(), e.clone()]
    );
    assert_eq!(
        listed(&app, "targetType=RESOURCE_NAME").await,
        vec![b.clone(), c.clone()]
    );
    assert!(listed(&app, "targetType=PRICE").await.is_empty());
    // targetValues alone: that value under any type.
    assert_eq!(
        listed(&app, "targetValues=g1").await,
        vec![a.clone(), c.clone()]
    );
    assert_eq!(
        listed(&app, "targetValues=r1&targetValues=g2").await,
        vec![a.clone(), b.clone()]
    );
    assert!(listed(&app, "targetValues=nope").await.is_empty());
    // Values are matched exactly, after percent-decoding.
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=north%20zone").await,
        vec![e.clone()]
    );
    assert!(
        listed(&app, "targetType=GROUP&targetValues=G1")
            .await
            .is_empty(),
        "matching is case-sensitive"
    );

    // The list returns whole programs, not just ids.
    let list = expect_json(
        app.get("/programs?targetType=GROUP&targetValues=g1").await,
        200,
    )
    .await;
    assert_eq!(
        list,
        json!([expect_json(app.get(&format!("/programs/{a}")).await, 200).await])
    );
}

async fn list_pages_in_creation_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Names sort the other way round, and ids are random: only creation order gives this order.
    let mut created = Vec::new();
    for i in 0..55 {
        created.push(id_of(
            &app.create_program(&format!("program-{:02}", 99 - i), json!(null))
                .await,
        ));
    }

    let first_page = listed(&app, "").await;
    assert_eq!(first_page, created[..50], "default limit is 50");
    assert_eq!(listed(&app, "skip=50").await, created[50..]);
    assert_eq!(listed(&app, "skip=10&limit=5").await, created[10..15]);
    assert_eq!(listed(&app, "limit=50&skip=5").await, created[5..55]);
    assert_eq!(listed(&app, "skip=54").await, created[54..]);
    assert!(listed(&app, "limit=0").await.is_empty());
    assert!(listed(&app, "skip=55").await.is_empty());
    assert!(listed(&app, "skip=1000&limit=10").await.is_empty());

    // Paging composes with filters.
    let tagged = id_of(
        &app.create_program("tagged", json!([{"type": "GROUP", "values": ["t"]}]))
            .await,
    );
    assert_eq!(
        listed(&app, "targetType=GROUP&skip=0&limit=1").await,
        vec![tagged]
    );
    assert!(listed(&app, "targetType=GROUP&skip=1").await.is_empty());
}

async fn list_rejects_out_of_range_paging(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_program("p", json!(null)).await;
    for (query, field) in [
        ("limit=51", "limit"),
        ("skip=-1", "skip"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
    ] {
        let detail = expect_problem(app.get(&format!("/programs?{query}")).await, 400).await;
        assert!(
            detail.contains(field),
            "{query}: detail names {field}: {detail}"
        );
    }
}

backend_tests!(
    create_sets_server_fields_and_ignores_client_ones,
    object_type_other_than_program_is_rejected,
    optional_fields_sent_as_null_are_accepted_and_not_echoed,
    full_program_round_trips,
    unknown_program_is_404,
    put_replaces_and_keeps_identity,
    put_unknown_program_is_404,
    duplicate_program_name_is_409,
    delete_returns_the_program_then_it_is_gone,
    delete_of_program_with_events_is_409_until_they_are_deleted,
    list_filters_by_targets,
    list_pages_in_creation_order,
    list_rejects_out_of_range_paging,
);
