//! Storage properties that a user would only notice much later.

use crate::helpers::*;
use openadr3_vtn::domain::TenantId;
use openadr3_vtn::store::{self, EventRow, PoolSettings, ProgramRow};
use std::time::Duration;

/// sqlx's `fetch_one` on a write keeps SQLite from ever checkpointing its WAL, which then grows
/// without bound. Thousands of writes must leave the WAL near SQLite's 1,000-page checkpoint size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_many_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
    };
    let url = format!("sqlite://{}", path.display());
    let secrets = test_secret_keys().cipher(&url).unwrap();
    let store = store::connect(&url, &settings, secrets).await.unwrap();
    let tenant = TenantId("t".into());
    store.ensure_tenant(&tenant).await.unwrap();
    let program = ProgramRow {
        id: "p".into(),
        program_name: "p".into(),
        targets: vec![],
        body: "{}".into(),
    };
    store.insert_program(&tenant, &program).await.unwrap();
    let body = format!("{{\"padding\":\"{}\"}}", "x".repeat(1500));
    for i in 0..4000 {
        let event = EventRow {
            id: format!("e{i}"),
            program_id: "p".into(),
            start_ms: Some(i),
            end_ms: None,
            targets: vec![("GROUP".into(), format!("g{}", i % 10))],
            body: body.clone(),
        };
        store.insert_event(&tenant, &event).await.unwrap();
    }
    let wal = std::fs::metadata(dir.path().join("wal.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        wal < 8 * 1024 * 1024,
        "WAL grew to {wal} bytes after 4,000 inserts"
    );
}

/// `/health` answers while the process runs; `/ready` while the database answers too.
async fn readiness_reports_a_reachable_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ready = app
        .http
        .get(format!("{}/ready", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let health = app
        .http
        .get(format!("{}/health", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// A bulk import (the benchmark's seeding path) writes events exactly as `POST /events` would
/// store them: listed in order, filtered by target and window, and fetched by id through the
/// API; chunks of a large import keep each event's own targets.
async fn imported_events_are_served_like_created_ones(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("bulk", serde_json::Value::Null).await);
    let store = store::connect(
        &app.database_url,
        &PoolSettings {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(5),
        },
        test_secret_keys().cipher(&app.database_url).unwrap(),
    )
    .await
    .unwrap();
    let tenant = TenantId("default".into());
    let events: Vec<openadr3_vtn::domain::Event> = (0..2500)
        .map(|i| {
            let mut event = event_at(&program, "2026-12-01T00:00:00Z", Some("PT1H"), 1);
            event["intervalPeriod"]["start"] =
                serde_json::json!(format!("2026-12-01T{:02}:00:00Z", i % 24));
            event["targets"] =
                serde_json::json!([{"type": "GROUP", "values": [format!("g{}", i % 5)]}]);
            serde_json::from_value(event).unwrap()
        })
        .collect();
    let imported = openadr3_vtn::service::events::import(&store, &tenant, events)
        .await
        .unwrap();
    assert_eq!(imported.len(), 2500);

    let page = expect_json(
        app.get(&format!("/events?programID={program}&limit=50"))
            .await,
        200,
    )
    .await;
    let first: Vec<String> = imported.iter().take(50).map(|id| id.to_string()).collect();
    assert_eq!(ids(&page), first);
    // Event 2,499 is in the last chunk: g4, 03:00.
    let last = expect_json(app.get(&format!("/events/{}", imported[2499])).await, 200).await;
    assert_eq!(last["targets"][0]["values"][0], "g4");
    assert_eq!(last["intervalPeriod"]["start"], "2026-12-01T03:00:00Z");
    let g4 = expect_json(
        app.get("/events?targetType=GROUP&targetValues=g4&skip=450&limit=50")
            .await,
        200,
    )
    .await;
    let g4 = g4.as_array().unwrap();
    assert_eq!(g4.len(), 50);
    assert!(g4.iter().all(|e| e["targets"][0]["values"][0] == "g4"));
    // Hour 5 holds events 5, 29, …: 104 of the 2,500, so the page after 100 has 4.
    let window = expect_json(
        app.get(
            "/events?x-start=2026-12-01T05:00:00Z&x-end=2026-12-01T06:00:00Z&skip=100&limit=50",
        )
        .await,
        200,
    )
    .await;
    assert_eq!(window.as_array().unwrap().len(), 4);
}

crate::backend_tests!(
    readiness_reports_a_reachable_database,
    imported_events_are_served_like_created_ones
);
