//! Webhook notifications, as a subscriber sees them: what arrives at a real local receiver, how
//! fast, signed how, for whom, in which order, and after failures, restarts and with replicas.

use crate::backend_tests;
use crate::helpers::*;
use crate::receiver::{Echo, Received, Receiver};
use crate::reports::{call_as, ven_token, VEN_SCOPES};
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(5);

fn subscription(
    program: &str,
    client: &str,
    objects: Value,
    operations: Value,
    url: &str,
) -> Value {
    json!({
        "programID": program, "clientName": client,
        "objectOperations": [{"objects": objects, "operations": operations, "callbackUrl": url,
                              "bearerToken": "receiver-token"}]
    })
}

async fn subscribe(app: &TestApp, token: &str, body: Value) -> Value {
    expect_json(
        call_as(app, token, Method::POST, "/subscriptions", Some(body)).await,
        201,
    )
    .await
}

fn event(program: &str, name: &str, targets: Value) -> Value {
    json!({"programID": program, "eventName": name, "targets": targets,
           "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]})
}

fn operations(received: &[Received]) -> Vec<(String, String)> {
    received
        .iter()
        .map(|r| {
            (
                r.body["operation"].as_str().unwrap_or_default().to_owned(),
                r.body["object"]["eventName"]
                    .as_str()
                    .or(r.body["object"]["id"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// The subscription's deliveries once none is pending (or after 10 s).
async fn settled_deliveries(app: &TestApp, subscription: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = expect_json(
            app.get(&format!("/subscriptions/{subscription}/deliveries"))
                .await,
            200,
        )
        .await;
        if list
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] != "pending")
            || Instant::now() > deadline
        {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hmac_b64(key: &[u8], message: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, message).as_ref())
}

async fn a_change_is_notified_within_a_second_signed_and_authenticated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    let sub = subscribe(
        &app,
        &app.token,
        subscription(
            &program,
            "bl",
            json!(["EVENT"]),
            json!(["POST"]),
            &receiver.url(),
        ),
    )
    .await;
    assert_eq!(
        receiver.echo_requests(),
        1,
        "the callback was verified once"
    );

    let before = Instant::now();
    let created = app.create_event(event(&program, "e1", json!(null))).await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1, "one notification");
    let elapsed = received[0].at.duration_since(before);
    assert!(
        elapsed < Duration::from_secs(1),
        "arrived after {elapsed:?}"
    );

    let note = &received[0];
    assert_eq!(note.body["objectType"], "EVENT");
    assert_eq!(note.body["operation"], "POST");
    assert_eq!(
        note.body["object"], created,
        "the object as the API returned it"
    );
    assert_eq!(note.header("authorization"), Some("Bearer receiver-token"));
    assert_eq!(note.header("content-type"), Some("application/json"));

    // Signed with the subscription's secret, both ways.
    let sub_id = id_of(&sub);
    let secret = expect_json(
        app.get(&format!("/subscriptions/{sub_id}/secret")).await,
        200,
    )
    .await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = note.header("webhook-id").expect("webhook-id");
    let timestamp = note.header("webhook-timestamp").expect("webhook-timestamp");
    let key = base64::engine::general_purpose::STANDARD
        .decode(&secret["whsec_".len()..])
        .unwrap();
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", &note.raw].concat();
    assert_eq!(
        note.header("webhook-signature"),
        Some(format!("v1,{}", hmac_b64(&key, &signed)).as_str())
    );
    assert_eq!(
        note.header("x-payload-signature"),
        Some(hmac_b64(secret.as_bytes(), &note.raw).as_str())
    );
    let age = chrono::Utc::now().timestamp() - timestamp.parse::<i64>().unwrap();
    assert!((0..5).contains(&age), "timestamp is now");

    // The owner sees the delivery.
    let deliveries = settled_deliveries(&app, &sub_id).await;
    assert_eq!(deliveries.as_array().unwrap().len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery["id"], id);
    assert_eq!(delivery["state"], "delivered");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["lastStatus"], 200);
    assert_eq!(delivery["objectID"], created["id"]);
    assert!(delivery.get("bearerToken").is_none());
}

async fn create_update_delete_arrive_in_order_and_only_as_subscribed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let other = id_of(&app.create_program("other", json!(null)).await);
    let all = Receiver::new();
    let updates_only = Receiver::new();
    let programs_only = Receiver::new();
    let crud = json!(["POST", "PUT", "DELETE"]);
    subscribe(
        &app,
        &app.token,
        subscription(&program, "bl", json!(["EVENT"]), crud.clone(), &all.url()),
    )
    .await;
    // The 3.1 spelling of the operation.
    subscribe(
        &app,
        &app.token,
        subscription(
            &program,
            "bl",
            json!(["EVENT"]),
            json!(["UPDATE"]),
            &updates_only.url(),
        ),
    )
    .await;
    subscribe(
        &app,
        &app.token,
        subscription(
            &program,
            "bl",
            json!(["PROGRAM"]),
            crud,
            &programs_only.url(),
        ),
    )
    .await;

    let e = app.create_event(event(&program, "e", json!(null))).await;
    let id = id_of(&e);
    let mut changed = without_server_fields(&e);
    changed["eventName"] = json!("e2");
    expect_json(app.put(&format!("/events/{id}"), changed).await, 200).await;
    expect_json(app.delete(&format!("/events/{id}")).await, 200).await;
    // Another program's events are not this subscription's business.
    app.create_event(event(&other, "elsewhere", json!(null)))
        .await;

    let received = all.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        operations(&all.received()),
        [
            ("POST".into(), "e".into()),
            ("PUT".into(), "e2".into()),
            ("DELETE".into(), "e2".into())
        ],
    );
    let ids: HashSet<_> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "one id per notification");
    assert_eq!(
        operations(&updates_only.received()),
        [("PUT".into(), "e2".into())]
    );
    assert!(
        programs_only.received().is_empty(),
        "no event reached a program subscription"
    );

    let mut renamed = without_server_fields(
        &app.get(&format!("/programs/{program}"))
            .await
            .json::<Value>()
            .await
            .unwrap(),
    );
    renamed["programName"] = json!("p2");
    expect_json(app.put(&format!("/programs/{program}"), renamed).await, 200).await;
    let received = programs_only.wait_for(1, WAIT).await;
    assert_eq!(received[0].body["objectType"], "PROGRAM");
    assert_eq!(received[0].body["object"]["programName"], "p2");
}

async fn subscription_targets_filter_what_arrives(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    let mut body = subscription(
        &program,
        "bl",
        json!(["EVENT"]),
        json!(["POST"]),
        &receiver.url(),
    );
    body["targets"] = json!([{"type": "GROUP", "values": ["north"]}]);
    subscribe(&app, &app.token, body).await;

    app.create_event(event(
        &program,
        "north",
        json!([{"type": "GROUP", "values": ["north", "x"]}]),
    ))
    .await;
    app.create_event(event(
        &program,
        "south",
        json!([{"type": "GROUP", "values": ["south"]}]),
    ))
    .await;
    app.create_event(event(&program, "everyone", json!(null)))
        .await;
    receiver.wait_for(2, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let names: Vec<_> = operations(&receiver.received())
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    assert_eq!(names, ["north", "everyone"]);
}

/// A VEN's subscription delivers exactly what that VEN could GET.
async fn a_ven_receives_only_what_it_may_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let ven1 = ven_token(&app, "default", "ven-1", VEN_SCOPES).await;
    let ven2 = ven_token(&app, "default", "ven-2", VEN_SCOPES).await;
    let r1 = Receiver::new();
    let r2 = Receiver::new();
    let objects = json!(["EVENT", "REPORT", "SUBSCRIPTION"]);
    subscribe(
        &app,
        &ven1,
        subscription(
            &program,
            "ven-1",
            objects.clone(),
            json!(["POST"]),
            &r1.url(),
        ),
    )
    .await;
    subscribe(
        &app,
        &ven2,
        subscription(&program, "ven-2", objects, json!(["POST"]), &r2.url()),
    )
    .await;

    let to_ven1 = app
        .create_event(event(
            &program,
            "to-ven-1",
            json!([{"type": "VEN_NAME", "values": ["ven-1"]}]),
        ))
        .await;
    app.create_event(event(
        &program,
        "to-ven-2",
        json!([{"type": "VEN_NAME", "values": ["ven-2"]}]),
    ))
    .await;
    app.create_event(event(&program, "to-all", json!(null)))
        .await;
    let report = json!({"programID": program, "eventID": id_of(&to_ven1), "clientName": "ven-1",
        "resources": [{"resourceName": "r", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}]}]});
    expect_json(
        call_as(&app, &ven1, Method::POST, "/reports", Some(report)).await,
        201,
    )
    .await;

    r1.wait_for(4, WAIT).await;
    r2.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Notifications of different objects may arrive in any order.
    let kinds = |r: &Receiver| -> Vec<String> {
        let mut kinds: Vec<String> = r
            .received()
            .iter()
            .map(|n| {
                format!(
                    "{} {}",
                    n.body["objectType"].as_str().unwrap(),
                    n.body["object"]["eventName"]
                        .as_str()
                        .or(n.body["object"]["clientName"].as_str())
                        .unwrap()
                )
            })
            .collect();
        kinds.sort();
        kinds
    };
    // Each hears of its own subscription (it may read it), never of the other's.
    assert_eq!(
        kinds(&r1),
        [
            "EVENT to-all",
            "EVENT to-ven-1",
            "REPORT ven-1",
            "SUBSCRIPTION ven-1"
        ]
    );
    assert_eq!(
        kinds(&r2),
        ["EVENT to-all", "EVENT to-ven-2", "SUBSCRIPTION ven-2"],
        "ven-2 hears of neither ven-1's event, report nor subscription"
    );

    // The same as what each VEN can list.
    for (token, receiver) in [(&ven1, &r1), (&ven2, &r2)] {
        let listed = expect_json(
            call_as(&app, token, Method::GET, "/events", None).await,
            200,
        )
        .await;
        let mut notified: Vec<_> = receiver
            .received()
            .iter()
            .filter(|n| n.body["objectType"] == "EVENT")
            .map(|n| n.body["object"]["id"].as_str().unwrap().to_owned())
            .collect();
        let mut listed = ids(&listed);
        notified.sort();
        listed.sort();
        assert_eq!(listed, notified);
    }
}

/// The receiver is down for a while: notifications wait, are retried, and all arrive once it is
/// back, each under its stable id; the owner can follow the attempts.
async fn a_receiver_that_was_down_gets_everything_after_it_recovers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    let sub = id_of(
        &subscribe(
            &app,
            &app.token,
            subscription(
                &program,
                "bl",
                json!(["EVENT"]),
                json!(["POST", "PUT"]),
                &receiver.url(),
            ),
        )
        .await,
    );
    receiver.answer(503);
    let first = app.create_event(event(&program, "a", json!(null))).await;
    let mut changed = without_server_fields(&first);
    changed["eventName"] = json!("a2");
    expect_json(
        app.put(&format!("/events/{}", id_of(&first)), changed)
            .await,
        200,
    )
    .await;
    app.create_event(event(&program, "b", json!(null))).await;

    receiver.wait_for(3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pending = expect_json(
        app.get(&format!("/subscriptions/{sub}/deliveries")).await,
        200,
    )
    .await;
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 3);
    for delivery in pending {
        assert_eq!(delivery["state"], "pending", "{delivery}");
        assert!(delivery["nextAttemptDateTime"].is_string(), "{delivery}");
        if delivery["operation"] == "PUT" {
            // a2 waits for a: one object's notifications arrive in order, so it was not tried.
            assert_eq!(delivery["attempts"], 0, "{delivery}");
        } else {
            assert_eq!(
                delivery["lastError"], "callback answered HTTP 503",
                "{delivery}"
            );
            assert_eq!(delivery["lastStatus"], 503);
        }
    }

    receiver.answer(200);
    let delivered = settled_deliveries(&app, &sub).await;
    for delivery in delivered.as_array().unwrap() {
        assert_eq!(delivery["state"], "delivered", "{delivery}");
        assert_eq!(delivery["lastStatus"], 200);
    }
    // Everything arrived; repeats carry the same id, so the receiver keeps each once.
    let received = receiver.received();
    let ids: HashSet<_> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        3,
        "three notifications, however often each was tried"
    );
    let order: Vec<_> = operations(&received);
    let last_post_a = order
        .iter()
        .rposition(|o| *o == ("POST".to_string(), "a".to_string()))
        .unwrap();
    let first_put = order.iter().position(|o| o.0 == "PUT").unwrap();
    assert!(
        last_post_a < first_put,
        "a's creation was delivered before its update: {order:?}"
    );
}

async fn attempts_end_after_the_schedule_or_at_410(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        args.webhooks.webhook_retry_schedule = vec![0.1, 0.1];
    })
    .await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let failing = Receiver::new();
    let gone = Receiver::new();
    let s1 = id_of(
        &subscribe(
            &app,
            &app.token,
            subscription(
                &program,
                "bl",
                json!(["EVENT"]),
                json!(["POST"]),
                &failing.url(),
            ),
        )
        .await,
    );
    let s2 = id_of(
        &subscribe(
            &app,
            &app.token,
            subscription(
                &program,
                "bl",
                json!(["EVENT"]),
                json!(["POST"]),
                &gone.url(),
            ),
        )
        .await,
    );
    failing.answer(500);
    gone.answer(410);
    app.create_event(event(&program, "e", json!(null))).await;
    failing.wait_for(3, WAIT).await;
    gone.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(failing.received().len(), 3, "1 attempt + 2 retries");
    assert_eq!(gone.received().len(), 1, "410 Gone is not retried");
    for (sub, attempts, status) in [(s1, 3, 500), (s2, 1, 410)] {
        let list = settled_deliveries(&app, &sub).await;
        assert_eq!(list[0]["state"], "failed");
        assert_eq!(list[0]["attempts"], attempts);
        assert_eq!(list[0]["lastStatus"], status);
        assert!(list[0]["nextAttemptDateTime"].is_null());
    }
}

async fn callbacks_are_verified_when_created_or_changed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    let body = |url: &str| subscription(&program, "bl", json!(["EVENT"]), json!(["POST"]), url);

    receiver.echo(Echo::Wrong);
    let detail = expect_problem(app.post("/subscriptions", body(&receiver.url())).await, 400).await;
    assert!(
        detail.contains("objectOperations[0].callbackUrl: verification failed")
            && detail.contains("instead of the echo value"),
        "{detail}"
    );
    receiver.echo(Echo::Status(500));
    let detail = expect_problem(app.post("/subscriptions", body(&receiver.url())).await, 400).await;
    assert!(detail.contains("500"), "{detail}");
    let detail = expect_problem(
        app.post("/subscriptions", body("http://127.0.0.1:1/nothing-listens"))
            .await,
        400,
    )
    .await;
    assert!(detail.contains("verification failed"), "{detail}");
    assert_eq!(
        ids(&expect_json(app.get("/subscriptions").await, 200).await).len(),
        0,
        "nothing stored"
    );

    receiver.echo(Echo::Correct);
    let created = expect_json(app.post("/subscriptions", body(&receiver.url())).await, 201).await;
    let checks = receiver.echo_requests();
    // An update that keeps the callback does not check it again; a new callback is checked.
    let id = id_of(&created);
    let mut same = without_server_fields(&created);
    same["clientName"] = json!("renamed");
    expect_json(
        app.put(&format!("/subscriptions/{id}"), same.clone()).await,
        200,
    )
    .await;
    assert_eq!(receiver.echo_requests(), checks);
    let moved = Receiver::new();
    moved.echo(Echo::Wrong);
    same["objectOperations"][0]["callbackUrl"] = json!(moved.url());
    let detail = expect_problem(app.put(&format!("/subscriptions/{id}"), same).await, 400).await;
    assert!(detail.contains("verification failed"), "{detail}");
    assert_eq!(
        expect_json(app.get(&format!("/subscriptions/{id}")).await, 200).await["clientName"],
        "renamed",
        "the refused update changed nothing"
    );
}

async fn plain_http_and_private_addresses_are_refused_by_default(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        args.webhooks.webhook_allow_http = false;
        args.webhooks.webhook_allow_private = false;
    })
    .await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    let body = |url: &str| subscription(&program, "bl", json!(["EVENT"]), json!(["POST"]), url);
    let detail = expect_problem(app.post("/subscriptions", body(&receiver.url())).await, 400).await;
    assert!(detail.contains("https"), "{detail}");
    assert_eq!(receiver.echo_requests(), 0, "the server never called it");
    for private in [
        "https://127.0.0.1/cb",
        "https://10.0.0.1/cb",
        "https://169.254.169.254/latest",
        "https://[::1]/cb",
        "https://localhost/cb",
    ] {
        let detail = expect_problem(app.post("/subscriptions", body(private)).await, 400).await;
        assert!(detail.contains("callbackUrl"), "{private}: {detail}");
    }
}

/// Two server processes on one database: each notification is delivered once.
async fn two_replicas_deliver_each_notification_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let replica = app.replica(|_| {}).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    subscribe(
        &app,
        &app.token,
        subscription(
            &program,
            "bl",
            json!(["EVENT"]),
            json!(["POST"]),
            &receiver.url(),
        ),
    )
    .await;
    for i in 0..20 {
        let target = if i % 2 == 0 { &app } else { &replica };
        expect_json(
            target
                .post("/events", event(&program, &format!("e{i}"), json!(null)))
                .await,
            201,
        )
        .await;
    }
    receiver.wait_for(20, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let received = receiver.received();
    let ids: HashSet<_> = received
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(ids.len(), 20, "every notification arrived");
    assert_eq!(received.len(), 20, "and none twice");
}

/// The real binary, delivering for `app`'s database, with a lease short enough for a test.
fn start_delivering_server(app: &TestApp) -> tokio::process::Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    vtn_binary()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &app.database_url)
        .env("VTN_JWT_SECRET", JWT_SECRET)
        .env("VTN_WEBHOOK_ALLOW_HTTP", "true")
        .env("VTN_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("VTN_WEBHOOK_TIMEOUT_SECONDS", "5")
        .env("VTN_WEBHOOK_LEASE_SECONDS", "6")
        .env("VTN_WEBHOOK_POLL_MS", "100")
        .env("VTN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server")
}

/// A server killed (SIGKILL) while a notification is in flight sends it again after it
/// restarts, under the same id: acknowledged changes never lose their notifications.
async fn a_delivery_cut_by_a_crash_is_sent_again_after_restart(backend: Backend) {
    // This process serves the API only; the binary delivers.
    let app = TestApp::spawn_with(backend, |args| args.webhooks.webhook_delivery = false).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let receiver = Receiver::new();
    subscribe(
        &app,
        &app.token,
        subscription(
            &program,
            "bl",
            json!(["EVENT"]),
            json!(["POST"]),
            &receiver.url(),
        ),
    )
    .await;
    receiver.hang(true);
    let mut server = start_delivering_server(&app);
    app.create_event(event(&program, "e", json!(null))).await;
    let first = receiver.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(first.len(), 1, "the notification was in flight");
    server.start_kill().unwrap();
    server.wait().await.unwrap();

    receiver.hang(false);
    let _restarted = start_delivering_server(&app);
    let all = receiver.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(all.len(), 2, "sent again after the restart");
    assert_eq!(all[0].header("webhook-id"), all[1].header("webhook-id"));
    assert_eq!(all[0].body, all[1].body);
}

backend_tests!(
    a_delivery_cut_by_a_crash_is_sent_again_after_restart,
    a_change_is_notified_within_a_second_signed_and_authenticated,
    create_update_delete_arrive_in_order_and_only_as_subscribed,
    subscription_targets_filter_what_arrives,
    a_ven_receives_only_what_it_may_read,
    a_receiver_that_was_down_gets_everything_after_it_recovers,
    attempts_end_after_the_schedule_or_at_410,
    callbacks_are_verified_when_created_or_changed,
    plain_http_and_private_addresses_are_refused_by_default,
    two_replicas_deliver_each_notification_once,
);
