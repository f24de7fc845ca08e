use crate::backend_tests;
use crate::helpers::*;
use serde_json::json;

async fn token_program_event_and_filtered_list(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = app
        .create_program("smoke", json!([{"type": "GROUP", "values": ["g1"]}]))
        .await;
    let program_id = program["id"].as_str().unwrap();
    let event = app
        .create_event(event_at(
            program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            2,
        ))
        .await;
    let list = expect_json(
        app.get(&format!("/events?programID={program_id}")).await,
        200,
    )
    .await;
    assert_eq!(ids(&list), vec![event["id"].as_str().unwrap()]);
}

backend_tests!(token_program_event_and_filtered_list);
