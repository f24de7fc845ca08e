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
    let store = store::connect(&format!("sqlite://{}", path.display()), &settings)
        .await
        .unwrap();
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

crate::backend_tests!(readiness_reports_a_reachable_database);
