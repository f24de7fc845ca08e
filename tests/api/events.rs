//! `/events`: create, read, replace, delete, and the list with its program, target and time
//! window (`x-start` / `x-end`) filters.

use crate::backend_tests;
use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

/// [`event_at`] with an `eventName`, so list assertions can say which event is which.
pub(crate) fn named(
    name: &str,
    program_id: &str,
    start: &str,
    duration: Option<&str>,
    count: usize,
) -> Value {
    let mut event = event_at(program_id, start, duration, count);
    event["eventName"] = json!(name);
    event
}

/// The `eventName`s `GET /events?{query}` lists, in order.
pub(crate) async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let list = expect_json(app.get(&format!("/events?{query}")).await, 200).await;
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|e| {
            e["eventName"]
                .as_str()
                .unwrap_or_else(|| panic!("unnamed event: {e}"))
                .to_owned()
        })
        .collect()
}

/// The ids `GET /events?{query}` lists, in order.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    ids(&expect_json(app.get(&format!("/events?{query}")).await, 200).await)
}

pub(crate) async fn program(app: &TestApp, name: &str) -> String {
    id_of(&app.create_program(name, json!(null)).await)
}

async fn full_event_round_trips(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program_id = program(&app, "p").await;
    let sent = json!({
        "programID": program_id,
        "eventName": "price event 11-18-2022",
        "priority": 0,
        "targets": [{"type": "GROUP", "values": ["g1", "g2"]}, {"type": "PRICE", "values": [0.17]}],
        "reportDescriptors": [{
            "payloadType": "USAGE",
            "readingType": "DIRECT_READ",
            "units": "KWH",
            "targets": [{"type": "RESOURCE_NAME", "values": ["meter-1"]}],
            "aggregate": false,
            "startInterval": -1,
            "numIntervals": -1,
            "historical": true,
            "frequency": -1,
            "repeat": 1
        }],
        "payloadDescriptors": [
            {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "PRICE", "units": "KWH", "currency": "USD"}
        ],
        "intervalPeriod": {"start": "2024-06-01T14:00:00+02:00", "duration": "PT1H", "randomizeStart": "PT5M"},
        "intervals": [
            {"id": 0, "payloads": [{"type": "PRICE", "values": [0.17]}]},
            {"id": 1, "intervalPeriod": {"start": "2024-06-01T15:00:00+02:00", "duration": "PT2H"},
             "payloads": [{"type": "PRICE", "values": [0.22, -1, 3]}, {"type": "SIMPLE", "values": ["a", true]}]},
            {"id": 7, "payloads": [{"type": "CURVE", "values": [{"x": 1.5, "y": -2.25}]}]}
        ]
    });
    let event = app.create_event(sent.clone()).await;

    assert_eq!(
        without_server_fields(&event),
        sent,
        "everything the client sent comes back unchanged"
    );
    assert_eq!(event["objectType"], "EVENT");
    assert_eq!(
        date_time(&event, "createdDateTime"),
        date_time(&event, "modificationDateTime")
    );
    let path = format!("/events/{}", id_of(&event));
    assert_eq!(expect_json(app.get(&path).await, 200).await, event);
    let list = expect_json(
        app.get(&format!("/events?programID={program_id}")).await,
        200,
    )
    .await;
    assert_eq!(list, json!([event]));
}

async fn client_sent_server_fields_are_ignored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program_id = program(&app, "p").await;
    let mut sent = event_at(&program_id, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    sent["id"] = json!("client-id");
    sent["createdDateTime"] = json!("2001-01-01T00:00:00Z");
    sent["modificationDateTime"] = json!("2001-01-01T00:00:00Z");
    sent["objectType"] = json!("EVENT");
    let event = app.create_event(sent).await;
    assert_ne!(id_of(&event), "client-id");
    assert!(
        date_time(&event, "createdDateTime").timestamp() > 1_700_000_000,
        "the server's clock: {event}"
    );
    expect_problem(app.get("/events/client-id").await, 404).await;

    let mut wrong = event_at(&program_id, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    wrong["objectType"] = json!("PROGRAM");
    let detail = expect_problem(app.post("/events", wrong).await, 400).await;
    assert!(detail.contains("objectType"), "{detail}");
}

async fn interval_period_start_keeps_its_offset(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program_id = program(&app, "p").await;
    for start in [
        "2024-01-01T02:00:00+02:00",
        "2023-12-31T18:30:00-05:30",
        "2024-01-01T00:00:00Z",
    ] {
        let mut sent = event_at(&program_id, start, Some("PT1H"), 1);
        sent["intervals"][0]["intervalPeriod"] = json!({"start": start, "duration": "PT30M"});
        let event = app.create_event(sent).await;
        assert_eq!(event["intervalPeriod"]["start"], start);
        assert_eq!(event["intervals"][0]["intervalPeriod"]["start"], start);
        let stored = expect_json(app.get(&format!("/events/{}", id_of(&event))).await, 200).await;
        assert_eq!(stored["intervalPeriod"]["start"], start);
    }
}

async fn unknown_program_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    program(&app, "real").await;
    let response = app
        .post(
            "/events",
            event_at("no-such-program", "2024-01-01T00:00:00Z", Some("PT1H"), 1),
        )
        .await;
    let detail = expect_problem(response, 400).await;
    assert!(
        detail.contains("programID"),
        "detail names programID: {detail}"
    );
    assert!(listed(&app, "").await.is_empty(), "nothing was created");
}

async fn unknown_event_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program_id = program(&app, "p").await;
    app.create_event(event_at(
        &program_id,
        "2024-01-01T00:00:00Z",
        Some("PT1H"),
        1,
    ))
    .await;
    let detail = expect_problem(app.get("/events/no-such-event").await, 404).await;
    assert!(
        detail.contains("no-such-event"),
        "detail names the id: {detail}"
    );
    let body = event_at(&program_id, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    expect_problem(app.put("/events/no-such-event", body).await, 404).await;
    expect_problem(app.delete("/events/no-such-event").await, 404).await;
    assert_eq!(listed(&app, "").await.len(), 1, "PUT did not create");
}

async fn put_replaces_and_keeps_identity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = program(&app, "first").await;
    let second = program(&app, "second").await;
    let mut original = named("before", &first, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    original["priority"] = json!(3);
    original["targets"] = json!([{"type": "GROUP", "values": ["old"]}]);
    let original = app.create_event(original).await;
    let id = id_of(&original);
    tokio::time::sleep(Duration::from_millis(20)).await;

    let mut replacement = event_at(&second, "2025-06-01T00:00:00+01:00", Some("PT15M"), 2);
    replacement["targets"] = json!([{"type": "GROUP", "values": ["new"]}]);
    let mut sent = replacement.clone();
    sent["id"] = json!("client-id");
    sent["createdDateTime"] = json!("2001-01-01T00:00:00Z");
    let updated = expect_json(app.put(&format!("/events/{id}"), sent).await, 200).await;

    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["objectType"], "EVENT");
    assert_eq!(updated["createdDateTime"], original["createdDateTime"]);
    let modified = date_time(&updated, "modificationDateTime");
    assert!(
        modified > date_time(&updated, "createdDateTime"),
        "modificationDateTime is renewed: {updated}"
    );
    assert_eq!(
        without_server_fields(&updated),
        replacement,
        "PUT replaces: eventName and priority are gone"
    );
    assert_eq!(
        expect_json(app.get(&format!("/events/{id}")).await, 200).await,
        updated
    );

    // Every list filter sees the new version.
    assert!(listed(&app, &format!("programID={first}")).await.is_empty());
    assert_eq!(
        listed(&app, &format!("programID={second}")).await,
        vec![id.clone()]
    );
    assert!(listed(&app, "targetType=GROUP&targetValues=old")
        .await
        .is_empty());
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=new").await,
        vec![id.clone()]
    );
    assert!(listed(
        &app,
        "x-start=2024-01-01T00:00:00Z&x-end=2024-01-02T00:00:00Z"
    )
    .await
    .is_empty());
    // 2025-06-01T00:00+01:00 plus two 15-minute intervals ends at 2025-05-31T23:30Z.
    assert_eq!(
        listed(&app, "x-start=2025-05-31T23:29:00Z").await,
        vec![id.clone()]
    );
    assert!(listed(&app, "x-start=2025-05-31T23:30:00Z")
        .await
        .is_empty());
}

async fn put_to_unknown_program_is_400_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program_id = program(&app, "p").await;
    let event = app
        .create_event(event_at(
            &program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    let path = format!("/events/{}", id_of(&event));
    let moved = event_at("no-such-program", "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    let detail = expect_problem(app.put(&path, moved).await, 400).await;
    assert!(
        detail.contains("programID"),
        "detail names programID: {detail}"
    );
    assert_eq!(expect_json(app.get(&path).await, 200).await, event);
}

async fn delete_returns_the_event_then_it_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program_id = program(&app, "p").await;
    let keep = app
        .create_event(event_at(
            &program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    let mut doomed = event_at(&program_id, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
    doomed["targets"] = json!([{"type": "GROUP", "values": ["g"]}]);
    let doomed = app.create_event(doomed).await;
    let path = format!("/events/{}", id_of(&doomed));

    assert_eq!(expect_json(app.delete(&path).await, 200).await, doomed);
    expect_problem(app.get(&path).await, 404).await;
    expect_problem(app.delete(&path).await, 404).await;
    assert_eq!(listed(&app, "").await, vec![id_of(&keep)]);
    assert!(listed(&app, "targetValues=g").await.is_empty());
}

async fn list_filters_by_program_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = program(&app, "a").await;
    let b = program(&app, "b").await;
    let empty = program(&app, "empty").await;
    for (name, program_id) in [("a1", &a), ("b1", &b), ("a2", &a), ("b2", &b), ("a3", &a)] {
        app.create_event(named(
            name,
            program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    }
    assert_eq!(
        names(&app, &format!("programID={a}")).await,
        ["a1", "a2", "a3"]
    );
    assert_eq!(names(&app, &format!("programID={b}")).await, ["b1", "b2"]);
    assert!(names(&app, &format!("programID={empty}")).await.is_empty());
    assert!(names(&app, "programID=no-such-program").await.is_empty());
    assert_eq!(
        names(&app, &format!("programID={a}&skip=1&limit=1")).await,
        ["a2"]
    );
    let detail = expect_problem(app.get("/events?programID=not%20an%20id").await, 400).await;
    assert!(detail.contains("programID"), "{detail}");
}

async fn list_filters_by_targets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let targeted = |name: &str, targets: Value| {
        let mut event = named(name, &p, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
        event["targets"] = targets;
        event
    };
    app.create_event(targeted(
        "a",
        json!([{"type": "GROUP", "values": ["g1", "g2"]}]),
    ))
    .await;
    app.create_event(targeted(
        "b",
        json!([{"type": "GROUP", "values": ["g3"]}, {"type": "VEN_NAME", "values": ["v1"]}]),
    ))
    .await;
    app.create_event(targeted(
        "c",
        json!([{"type": "VEN_NAME", "values": ["g1"]}]),
    ))
    .await;
    app.create_event(named("d", &p, "2024-01-01T00:00:00Z", Some("PT1H"), 1))
        .await;

    assert_eq!(names(&app, "targetType=GROUP&targetValues=g1").await, ["a"]);
    assert_eq!(
        names(&app, "targetType=GROUP&targetValues=g3&targetValues=g2").await,
        ["a", "b"]
    );
    assert!(
        names(&app, "targetType=GROUP&targetValues=v1")
            .await
            .is_empty(),
        "v1 is a VEN_NAME, not a GROUP"
    );
    assert_eq!(
        names(&app, "targetType=VEN_NAME&targetValues=g1").await,
        ["c"]
    );
    assert_eq!(names(&app, "targetType=VEN_NAME").await, ["b", "c"]);
    assert_eq!(names(&app, "targetValues=g1").await, ["a", "c"]);
    assert_eq!(names(&app, "").await, ["a", "b", "c", "d"]);
}

async fn numeric_target_values_can_be_filtered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let targeted = |name: &str, targets: Value| {
        let mut event = named(name, &p, "2024-01-01T00:00:00Z", Some("PT1H"), 1);
        event["targets"] = targets;
        event
    };
    app.create_event(targeted(
        "cheap",
        json!([{"type": "PRICE", "values": [0.17]}]),
    ))
    .await;
    app.create_event(targeted(
        "dear",
        json!([{"type": "PRICE", "values": [0.2, 17]}]),
    ))
    .await;
    app.create_event(targeted(
        "text",
        json!([{"type": "GROUP", "values": ["0.17"]}]),
    ))
    .await;
    app.create_event(targeted(
        "flag",
        json!([{"type": "ENABLED", "values": [true]}]),
    ))
    .await;

    assert_eq!(
        names(&app, "targetType=PRICE&targetValues=0.17").await,
        ["cheap"]
    );
    assert_eq!(
        names(&app, "targetType=PRICE&targetValues=17").await,
        ["dear"]
    );
    assert_eq!(
        names(&app, "targetType=PRICE&targetValues=0.2").await,
        ["dear"]
    );
    assert_eq!(names(&app, "targetValues=0.17").await, ["cheap", "text"]);
    assert_eq!(
        names(&app, "targetType=ENABLED&targetValues=true").await,
        ["flag"]
    );
    // Stored as sent: the number stays a number.
    let cheap = expect_json(
        app.get("/events?targetType=PRICE&targetValues=0.17").await,
        200,
    )
    .await;
    assert_eq!(
        cheap[0]["targets"],
        json!([{"type": "PRICE", "values": [0.17]}])
    );
}

async fn list_pages_in_creation_order_stably(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = program(&app, "a").await;
    let b = program(&app, "b").await;
    // Later-created events start earlier, and ids are random: only creation order gives this order.
    let mut created = Vec::new();
    for i in 0..6u32 {
        let program_id = if i % 2 == 0 { &a } else { &b };
        let start = format!("2024-01-{:02}T00:00:00Z", 20 - i);
        created.push(id_of(
            &app.create_event(event_at(program_id, &start, Some("PT1H"), 1))
                .await,
        ));
    }
    assert_eq!(listed(&app, "").await, created);
    assert_eq!(listed(&app, "skip=2&limit=2").await, created[2..4]);
    assert_eq!(listed(&app, "skip=4&limit=50").await, created[4..]);
    assert!(listed(&app, "limit=0").await.is_empty());
    assert!(listed(&app, "skip=6").await.is_empty());
    assert_eq!(
        listed(&app, &format!("programID={b}&skip=1")).await,
        [created[3].clone(), created[5].clone()]
    );

    // Replacing an event does not move it.
    let moved = event_at(&b, "2030-01-01T00:00:00Z", Some("PT1H"), 1);
    expect_json(
        app.put(&format!("/events/{}", created[0]), moved).await,
        200,
    )
    .await;
    assert_eq!(listed(&app, "").await, created);
    // Deleting one closes the gap without reordering the rest.
    expect_json(app.delete(&format!("/events/{}", created[2])).await, 200).await;
    created.remove(2);
    assert_eq!(listed(&app, "").await, created);
    assert_eq!(listed(&app, "skip=2&limit=2").await, created[2..4]);
    // Pages of the same query repeat.
    assert_eq!(
        listed(&app, "skip=1&limit=3").await,
        listed(&app, "skip=1&limit=3").await
    );
}

async fn list_default_limit_is_50(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let mut created = Vec::new();
    for _ in 0..52 {
        created.push(id_of(
            &app.create_event(event_at(&p, "2024-01-01T00:00:00Z", Some("PT1H"), 1))
                .await,
        ));
    }
    assert_eq!(listed(&app, "").await, created[..50]);
    assert_eq!(listed(&app, "skip=50").await, created[50..]);
    for (query, field) in [("limit=51", "limit"), ("skip=-1", "skip")] {
        let detail = expect_problem(app.get(&format!("/events?{query}")).await, 400).await;
        assert!(detail.contains(field), "{query}: {detail}");
    }
}

backend_tests!(
    full_event_round_trips,
    client_sent_server_fields_are_ignored,
    interval_period_start_keeps_its_offset,
    unknown_program_is_400,
    unknown_event_is_404,
    put_replaces_and_keeps_identity,
    put_to_unknown_program_is_400_and_changes_nothing,
    delete_returns_the_event_then_it_is_gone,
    list_filters_by_program_id,
    list_filters_by_targets,
    numeric_target_values_can_be_filtered,
    list_pages_in_creation_order_stably,
    list_default_limit_is_50,
);
