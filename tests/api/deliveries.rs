//! Deliveries that cannot be turned against their subscribers: retries follow a subscription's
//! current callback and token, one subscriber or tenant cannot hold the sending slots, callback
//! URLs per subscription are bounded, and a program's deletion reaches its subscribers.

use crate::backend_tests;
use crate::helpers::*;
use crate::receiver::Receiver;
use crate::reports::{call_as, ven_token, VEN_SCOPES};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn entry(objects: Value, operations: Value, url: &str, token: Option<&str>) -> Value {
    json!({"objects": objects, "operations": operations, "callbackUrl": url, "bearerToken": token})
}

fn subscription(program: &str, client: &str, entries: Vec<Value>) -> Value {
    json!({"programID": program, "clientName": client, "objectOperations": entries})
}

fn event(program: &str, name: &str) -> Value {
    json!({"programID": program, "eventName": name,
           "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]})
}

async fn subscribe(app: &TestApp, token: &str, body: Value) -> Value {
    expect_json(
        call_as(app, token, Method::POST, "/subscriptions", Some(body)).await,
        201,
    )
    .await
}

async fn deliveries(app: &TestApp, token: &str, subscription: &str) -> Vec<Value> {
    let path = format!("/subscriptions/{subscription}/deliveries");
    expect_json(call_as(app, token, Method::GET, &path, None).await, 200)
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// A receiver keeps failing; its owner moves the subscription to a new callback with a new
/// token. The pending notification goes there at once, with the new token, and never again to
/// the old URL; the old delivery is listed as superseded. A token-only change is used by the
/// next retry to the same URL.
async fn retries_follow_the_current_callback_and_token(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        // Long enough that only the update can explain a quick delivery.
        args.webhooks.webhook_retry_schedule = vec![30.0, 30.0];
    })
    .await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let old = Receiver::new();
    let new = Receiver::new();
    old.answer(500);
    let objects = json!(["EVENT"]);
    let operations = json!(["POST"]);
    let body = |url: &str, token: &str| {
        subscription(
            &program,
            "bl",
            vec![entry(objects.clone(), operations.clone(), url, Some(token))],
        )
    };
    let sub = id_of(&subscribe(&app, &app.token, body(&old.url(), "old-token")).await);
    let created = app.create_event(event(&program, "e1")).await;
    assert_eq!(old.wait_for(1, Duration::from_secs(5)).await.len(), 1);
    let path = format!("/subscriptions/{sub}");

    // Same URL, new token: the retry (made due by the update) carries the new token.
    expect_json(app.put(&path, body(&old.url(), "newer-token")).await, 200).await;
    let retried = old.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(
        retried.len(),
        2,
        "the update makes the pending retry due now"
    );
    assert_eq!(
        retried[1].header("authorization"),
        Some("Bearer newer-token")
    );

    // New URL and token: the notification moves to the new callback.
    let moved_at = Instant::now();
    expect_json(app.put(&path, body(&new.url(), "new-token")).await, 200).await;
    let arrived = new.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(arrived.len(), 1, "delivered to the new callback");
    assert!(moved_at.elapsed() < Duration::from_secs(5));
    assert_eq!(arrived[0].header("authorization"), Some("Bearer new-token"));
    assert_eq!(arrived[0].body["object"]["id"], id_of(&created));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(old.received().len(), 2, "nothing more went to the old URL");

    let mut states: Vec<(String, String)> = deliveries(&app, &app.token, &sub)
        .await
        .iter()
        .map(|d| {
            (
                d["state"].as_str().unwrap().to_owned(),
                d["callbackUrl"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    states.sort();
    assert_eq!(
        states,
        vec![
            ("delivered".to_owned(), new.url()),
            ("superseded".to_owned(), old.url()),
        ]
    );

    // A newer notification of the same object no longer waits behind the failed one.
    let mut changed = without_server_fields(&created);
    changed["eventName"] = json!("e1-changed");
    let put_operations = json!(["POST", "PUT"]);
    expect_json(
        app.put(
            &path,
            subscription(
                &program,
                "bl",
                vec![entry(
                    objects.clone(),
                    put_operations,
                    &new.url(),
                    Some("new-token"),
                )],
            ),
        )
        .await,
        200,
    )
    .await;
    expect_json(
        app.put(&format!("/events/{}", id_of(&created)), changed)
            .await,
        200,
    )
    .await;
    let arrived = new.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(arrived.len(), 2);
    assert_eq!(arrived[1].body["operation"], "PUT");
}

/// Tenant A's subscriber has a receiver that hangs, and a backlog of notifications for it.
/// Another tenant's notification, and another subscriber's in tenant A, still arrive at once.
async fn a_hanging_receiver_delays_no_other_subscriber_or_tenant(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        args.webhooks.webhook_timeout_seconds = 6.0;
        args.webhooks.webhook_lease_seconds = 20.0;
    })
    .await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let hanging = Receiver::new();
    let every_event = |url: &str| {
        subscription(
            &program,
            "bl",
            vec![entry(json!(["EVENT"]), json!(["POST"]), url, None)],
        )
    };
    subscribe(&app, &app.token, every_event(&hanging.url())).await;
    // Many callback URLs of the same subscriber do not buy it more slots either.
    for _ in 0..3 {
        let extra = Receiver::new();
        extra.hang(true);
        subscribe(&app, &app.token, every_event(&extra.url())).await;
    }
    hanging.hang(true);
    for n in 0..24 {
        app.create_event(event(&program, &format!("backlog-{n}")))
            .await;
    }
    hanging.wait_for(1, Duration::from_secs(5)).await;

    // Another subscriber of tenant A (a VEN client).
    let ven = ven_token(&app, "default", "ven-1", VEN_SCOPES).await;
    let ven_receiver = Receiver::new();
    subscribe(
        &app,
        &ven,
        subscription(
            &program,
            "ven-1",
            vec![entry(
                json!(["EVENT"]),
                json!(["POST"]),
                &ven_receiver.url(),
                None,
            )],
        ),
    )
    .await;
    // Tenant B.
    let other = app
        .tenant_token(
            "other",
            "read_all,write_programs,write_events,write_subscriptions",
        )
        .await;
    let other_program = id_of(
        &expect_json(
            call_as(
                &app,
                &other,
                Method::POST,
                "/programs",
                Some(json!({"programName": "q"})),
            )
            .await,
            201,
        )
        .await,
    );
    let other_receiver = Receiver::new();
    subscribe(
        &app,
        &other,
        subscription(
            &other_program,
            "bl-b",
            vec![entry(
                json!(["EVENT"]),
                json!(["POST"]),
                &other_receiver.url(),
                None,
            )],
        ),
    )
    .await;

    let started = Instant::now();
    expect_json(
        call_as(
            &app,
            &other,
            Method::POST,
            "/events",
            Some(event(&other_program, "b1")),
        )
        .await,
        201,
    )
    .await;
    app.create_event(event(&program, "for-everyone")).await;
    // Without shares, the backlog holds every slot for a 6 s timeout after another.
    let bound = Duration::from_millis(2500);
    assert_eq!(other_receiver.wait_for(1, bound).await.len(), 1);
    assert!(started.elapsed() < bound, "{:?}", started.elapsed());
    let to_ven = ven_receiver.wait_for(1, bound).await;
    assert!(
        to_ven
            .iter()
            .any(|n| n.body["object"]["eventName"] == "for-everyone"),
        "the VEN's notification arrived within {bound:?}"
    );
}

async fn a_subscription_names_a_bounded_number_of_callbacks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let entries: Vec<Value> = (0..9)
        .map(|_| {
            entry(
                json!(["EVENT"]),
                json!(["POST"]),
                &Receiver::new().url(),
                None,
            )
        })
        .collect();
    let detail = expect_problem(
        app.post(
            "/subscriptions",
            subscription(&program, "bl", entries.clone()),
        )
        .await,
        400,
    )
    .await;
    assert!(
        detail.starts_with("objectOperations:") && detail.contains("VTN_WEBHOOK_MAX_CALLBACKS"),
        "{detail}"
    );
    // The same URL in several entries counts once.
    let url = Receiver::new().url();
    let same: Vec<Value> = (0..9)
        .map(|_| entry(json!(["EVENT"]), json!(["POST"]), &url, None))
        .collect();
    expect_json(
        app.post("/subscriptions", subscription(&program, "bl", same))
            .await,
        201,
    )
    .await;
    assert_eq!(
        expect_json(app.get("/subscriptions").await, 200)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Deleting a program notifies the subscribers of PROGRAM DELETE (business logic, and a VEN
/// that may read the program), then its subscriptions are gone.
async fn a_program_deletion_reaches_its_subscribers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(
        &app.create_program("p", json!([{"type": "VEN_NAME", "values": ["ven-1"]}]))
            .await,
    );
    let bl_receiver = Receiver::new();
    let ven_receiver = Receiver::new();
    let outsider_receiver = Receiver::new();
    let bl_sub = id_of(
        &subscribe(
            &app,
            &app.token,
            subscription(
                &program,
                "bl",
                vec![entry(
                    json!(["PROGRAM", "EVENT"]),
                    json!(["DELETE"]),
                    &bl_receiver.url(),
                    Some("bl-token"),
                )],
            ),
        )
        .await,
    );
    let ven = ven_token(&app, "default", "ven-1", VEN_SCOPES).await;
    subscribe(
        &app,
        &ven,
        subscription(
            &program,
            "ven-1",
            vec![entry(
                json!(["PROGRAM"]),
                json!(["DELETE"]),
                &ven_receiver.url(),
                None,
            )],
        ),
    )
    .await;
    // An event deleted just before the program: its subscribers hear of both, in order.
    let doomed = app.create_event(event(&program, "doomed")).await;
    expect_json(
        app.delete(&format!("/events/{}", id_of(&doomed))).await,
        200,
    )
    .await;
    let deleted = expect_json(app.delete(&format!("/programs/{program}")).await, 200).await;

    let to_bl = bl_receiver.wait_for(2, Duration::from_secs(5)).await;
    let kinds: Vec<(String, String)> = to_bl
        .iter()
        .map(|n| {
            (
                n.body["objectType"].as_str().unwrap().to_owned(),
                n.body["operation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("EVENT".into(), "DELETE".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("PROGRAM".into(), "DELETE".into())),
        "{kinds:?}"
    );
    let program_note = to_bl
        .iter()
        .find(|n| n.body["objectType"] == "PROGRAM")
        .unwrap();
    assert_eq!(program_note.body["object"], deleted);
    assert_eq!(
        program_note.header("authorization"),
        Some("Bearer bl-token")
    );
    let to_ven = ven_receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(to_ven.len(), 1);
    assert_eq!(to_ven[0].body["object"]["id"], program);
    assert!(outsider_receiver.received().is_empty());

    // The subscriptions went with the program.
    expect_problem(app.get(&format!("/subscriptions/{bl_sub}")).await, 404).await;
    assert_eq!(
        expect_json(app.get("/subscriptions").await, 200).await,
        json!([])
    );
    let detail = expect_problem(
        app.put(
            &format!("/subscriptions/{bl_sub}"),
            subscription(
                &program,
                "bl",
                vec![entry(
                    json!(["EVENT"]),
                    json!(["POST"]),
                    &bl_receiver.url(),
                    None,
                )],
            ),
        )
        .await,
        404,
    )
    .await;
    assert!(!detail.is_empty());
    expect_problem(app.delete(&format!("/subscriptions/{bl_sub}")).await, 404).await;
    // And a subscription to the deleted program is refused as before.
    let detail = expect_problem(
        app.post(
            "/subscriptions",
            subscription(
                &program,
                "bl",
                vec![entry(
                    json!(["EVENT"]),
                    json!(["POST"]),
                    &Receiver::new().url(),
                    None,
                )],
            ),
        )
        .await,
        400,
    )
    .await;
    assert!(detail.starts_with("programID:"), "{detail}");
}

backend_tests!(
    retries_follow_the_current_callback_and_token,
    a_hanging_receiver_delays_no_other_subscriber_or_tenant,
    a_subscription_names_a_bounded_number_of_callbacks,
    a_program_deletion_reaches_its_subscribers,
);
