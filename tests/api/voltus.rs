//! The Voltus bridge end to end, through the Voltus simulator on a random port: dispatches become
//! events a site's VEN lists and hears of; updates, cancellations, test dispatches, restarts and
//! replicas, inbound webhooks, Voltus failures, telemetry, and the bridge's configuration.

use crate::backend_tests;
use crate::helpers::*;
use crate::receiver::{Received, Receiver};
use crate::vens::{call_as, create_resource, create_ven, ven_token};
use openadr3_vtn::bridge::voltus::simulator::{Fault, Simulator};
use openadr3_vtn::domain::TenantId;
use openadr3_vtn::store::{self, DispatchState, PoolSettings, ReportRow};
use reqwest::Method;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};

const SIM_KEY: &str = "sim-key-0123456789abcdef";
const POLLS: &str = "GET /2022-04-15/dispatches";
const PROGRAM: &str = "voltus-dr";

/// Polls `check` until it returns `Some`, for at most 10 s.
async fn eventually<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    check: impl FnMut() -> Fut,
) -> T {
    within(what, Duration::from_secs(10), check).await
}

fn simulator() -> Simulator {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    Simulator::start(listener, SIM_KEY).unwrap()
}

struct Bridge {
    app: TestApp,
    sim: Simulator,
    operator: String,
}

impl Bridge {
    /// An app, a simulator, an operator token, and program `voltus-dr` created by business logic.
    async fn new(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let sim = simulator();
        let client = app.create_client("operator", "admin").await;
        let operator = app
            .token_for(&client.client_id, &client.client_secret, None)
            .await;
        app.create_program(PROGRAM, json!(null)).await;
        Self { app, sim, operator }
    }

    fn config(&self, extra: Value) -> Value {
        let mut body = json!({"baseUrl": self.sim.base_url, "apiKey": SIM_KEY, "programName": PROGRAM,
                              "pollIntervalSeconds": 0.2});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    }

    async fn put_config(&self, body: Value) -> reqwest::Response {
        call_as(
            &self.app,
            &self.operator,
            Method::PUT,
            "/admin/tenants/default/voltus",
            Some(body),
        )
        .await
    }

    /// Configures tenant `default`'s bridge with `extra` settings; returns the answer.
    async fn configure(&self, extra: Value) -> Value {
        expect_json(self.put_config(self.config(extra)).await, 200).await
    }

    async fn status(&self) -> Value {
        expect_json(self.app.get("/bridge/voltus/status").await, 200).await
    }

    /// The status once `check` holds (counters are recorded when a pass ends).
    async fn status_where(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        eventually(what, || async {
            let status = self.status().await;
            check(&status).then_some(status)
        })
        .await
    }

    /// Events of the tenant as business logic lists them.
    async fn events(&self) -> Vec<Value> {
        expect_json(self.app.get("/events").await, 200)
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    async fn event_named(&self, name: &str) -> Value {
        eventually(&format!("event {name}"), || async {
            self.events()
                .await
                .into_iter()
                .find(|e| e["eventName"] == name)
        })
        .await
    }

    /// Waits until the simulator has been polled `count` times in all.
    async fn polled(&self, count: u64) {
        eventually("the polls", || async {
            (self.sim.requests(POLLS) >= count).then_some(())
        })
        .await;
    }

    /// Waits until the bridge has polled `more` more times.
    async fn polls(&self, more: u64) {
        let target = self.sim.requests(POLLS) + more;
        eventually("more polls", || async {
            (self.sim.requests(POLLS) >= target).then_some(())
        })
        .await;
    }
}

fn site(id: &str, cli: &str, commitment: Value) -> Value {
    json!({"id": id, "name": format!("site {id}"), "customer_location_id": cli, "commitment": commitment, "drop_by": commitment})
}

/// A VEN `ven-a` with resource `site101` and its token.
async fn ven_of_site101(app: &TestApp) -> String {
    let ven = id_of(&create_ven(app, json!({"venName": "ven-a"})).await);
    create_resource(app, &ven, json!({"resourceName": "site101"})).await;
    ven_token(
        app,
        "default",
        "ven-a",
        "read_all,write_reports,write_subscriptions",
    )
    .await
}

async fn subscribe(app: &TestApp, token: &str, client: &str, receiver: &Receiver) {
    let program = expect_json(app.get("/programs?limit=50").await, 200).await;
    let program = program
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["programName"] == PROGRAM)
        .unwrap()
        .clone();
    let body = json!({"programID": id_of(&program), "clientName": client,
        "objectOperations": [{"objects": ["EVENT"], "operations": ["POST", "PUT", "DELETE"], "callbackUrl": receiver.url()}]});
    expect_json(
        call_as(app, token, Method::POST, "/subscriptions", Some(body)).await,
        201,
    )
    .await;
}

fn operations(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.body["operation"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn a_dispatch_becomes_an_event_per_site_that_the_sites_ven_lists_and_hears_of(
    backend: Backend,
) {
    let b = Bridge::new(backend).await;
    let ven = ven_of_site101(&b.app).await;
    let receiver = Receiver::new();
    subscribe(&b.app, &ven, "ven-a", &receiver).await;
    b.configure(json!({})).await;

    let dispatch = b.sim.add_dispatch(json!({
        "id": "d1", "start_time": "2030-06-01T14:00:00Z", "end_time": "2030-06-01T15:30:00Z",
        "sites": [site("xv1w4", "site101", json!(12)), site("40wl", "", Value::Null)],
    }));
    assert_eq!(dispatch["id"], "d1");

    // The VEN of site101 lists exactly its site's event.
    let listed = eventually("the VEN's event", || async {
        let list = expect_json(
            call_as(&b.app, &ven, Method::GET, "/events", None).await,
            200,
        )
        .await;
        let list = list.as_array().unwrap().clone();
        (!list.is_empty()).then_some(list)
    })
    .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let event = &listed[0];
    assert_eq!(event["eventName"], "voltus:CAISO:1:d1:xv1w4");
    assert_eq!(
        event["targets"],
        json!([{"type": "RESOURCE_NAME", "values": ["site101"]}])
    );
    assert_eq!(
        event["intervalPeriod"],
        json!({"start": "2030-06-01T14:00:00Z", "duration": "PT1H30M"})
    );
    assert_eq!(
        event["intervals"],
        json!([{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}, {"type": "DISPATCH_SETPOINT_RELATIVE", "values": [12.0]}]}])
    );
    assert!(event["payloadDescriptors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["payloadType"] == "DISPATCH_SETPOINT_RELATIVE" && d["units"] == "KW"));

    // Business logic sees both sites' events; the site without customer_location_id is targeted by its id.
    let all = eventually("both events", || async {
        let all = b.events().await;
        (all.len() >= 2).then_some(all)
    })
    .await;
    assert_eq!(all.len(), 2);
    let other = all
        .iter()
        .find(|e| e["eventName"] == "voltus:CAISO:1:d1:40wl")
        .unwrap();
    assert_eq!(other["targets"][0]["values"], json!(["40wl"]));
    assert_eq!(
        other["intervals"][0]["payloads"],
        json!([{"type": "SIMPLE", "values": [1]}])
    );

    // The VEN heard of its event by webhook, and only of its event.
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(operations(&received), ["POST"]);
    assert_eq!(received[0].body["object"]["id"], event["id"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);

    let status = b
        .status_where("two events counted", |s| s["eventsCreated"] == 2)
        .await;
    assert_eq!(status["dispatches"], 1);
    assert!(status["lastSuccessAt"].is_string(), "{status}");
    assert_eq!(status["consecutiveFailures"], 0);
}

async fn end_time_added_and_start_moved_update_the_same_event(backend: Backend) {
    let b = Bridge::new(backend).await;
    let receiver = Receiver::new();
    subscribe(&b.app, &b.app.token.clone(), "bl", &receiver).await;
    b.configure(json!({})).await;
    b.sim.add_dispatch(
        json!({"id": "as1", "start_time": "2030-06-01T14:00:00Z", "end_time": null,
                              "sites": [site("xv1w4", "site101", json!(5))]}),
    );
    let name = "voltus:CAISO:1:as1:xv1w4";
    let created = b.event_named(name).await;
    assert_eq!(
        created["intervalPeriod"]["duration"], "P9999Y",
        "open-ended until Voltus gives an end"
    );

    b.sim
        .update_dispatch("as1", json!({"end_time": "2030-06-01T16:00:00Z"}));
    let updated = eventually("the end time", || async {
        let e = b.event_named(name).await;
        (e["intervalPeriod"]["duration"] == "PT2H").then_some(e)
    })
    .await;
    assert_eq!(updated["id"], created["id"], "the same event");
    assert!(
        date_time(&updated, "modificationDateTime") > date_time(&created, "modificationDateTime")
    );

    b.sim
        .update_dispatch("as1", json!({"start_time": "2030-06-01T15:00:00Z"}));
    let moved = eventually("the new start", || async {
        let e = b.event_named(name).await;
        (e["intervalPeriod"]["start"] == "2030-06-01T15:00:00Z").then_some(e)
    })
    .await;
    assert_eq!(moved["id"], created["id"]);
    assert_eq!(moved["intervalPeriod"]["duration"], "PT1H");
    assert_eq!(b.events().await.len(), 1);

    // A stale version (lower modification_number) changes nothing.
    b.sim.update_dispatch(
        "as1",
        json!({"start_time": "2030-06-01T10:00:00Z", "modification_number": 1}),
    );
    b.polls(3).await;
    assert_eq!(
        b.event_named(name).await["intervalPeriod"]["start"],
        "2030-06-01T15:00:00Z"
    );
    b.status_where("a stale version", |s| {
        s["dispatchesStale"].as_i64().unwrap() >= 1
    })
    .await;

    let received = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(operations(&received), ["POST", "PUT", "PUT"]);
    assert_eq!(
        received[1].body["object"]["intervalPeriod"]["duration"],
        "PT2H"
    );
}

async fn cancellation_is_a_zero_window_or_a_delete_by_configuration(backend: Backend) {
    let b = Bridge::new(backend).await;
    b.configure(json!({})).await;
    b.sim
        .add_dispatch(json!({"id": "c1", "sites": [site("xv1w4", "site101", json!(5))]}));
    let event = b.event_named("voltus:CAISO:1:c1:xv1w4").await;
    b.sim.update_dispatch("c1", json!({"authorized": false}));
    let cancelled = eventually("the cancellation", || async {
        let e = b.event_named("voltus:CAISO:1:c1:xv1w4").await;
        (e["intervalPeriod"]["duration"] == "PT0S").then_some(e)
    })
    .await;
    assert_eq!(cancelled["id"], event["id"]);
    assert_eq!(
        cancelled["intervalPeriod"],
        json!({"start": "0001-01-01T00:00:00Z", "duration": "PT0S"})
    );
    assert_eq!(
        cancelled["intervals"],
        json!([{"id": 0, "payloads": [{"type": "SIMPLE", "values": [0]}]}])
    );
    // A cancelled event is over: a VEN asking for what is active from now on does not get it.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let active = expect_json(
        b.app
            .get(&format!("/events?x-start={}", now.replace('+', "%2B")))
            .await,
        200,
    )
    .await;
    assert!(ids(&active)
        .iter()
        .all(|id| id != event["id"].as_str().unwrap()));

    // A site dropped from a dispatch has its event cancelled; the other site's event stays.
    b.sim.add_dispatch(json!({"id": "c3", "sites": [site("xv1w4", "site101", json!(5)), site("yd4g", "site102", json!(6))]}));
    let kept = b.event_named("voltus:CAISO:1:c3:xv1w4").await;
    b.event_named("voltus:CAISO:1:c3:yd4g").await;
    b.sim
        .update_dispatch("c3", json!({"sites": [site("xv1w4", "site101", json!(5))]}));
    eventually("the dropped site's cancellation", || async {
        (b.event_named("voltus:CAISO:1:c3:yd4g").await["intervalPeriod"]["duration"] == "PT0S")
            .then_some(())
    })
    .await;
    assert_eq!(
        b.event_named("voltus:CAISO:1:c3:xv1w4").await["intervalPeriod"],
        kept["intervalPeriod"]
    );

    // With cancellation: delete, the event goes.
    b.configure(json!({"cancellation": "delete"})).await;
    b.sim
        .add_dispatch(json!({"id": "c2", "sites": [site("xv1w4", "site101", json!(5))]}));
    let second = b.event_named("voltus:CAISO:1:c2:xv1w4").await;
    b.sim.update_dispatch("c2", json!({"authorized": false}));
    let path = format!("/events/{}", id_of(&second));
    eventually("the deletion", || async {
        (b.app.get(&path).await.status() == 404).then_some(())
    })
    .await;
    b.status_where("three cancellations counted", |s| s["eventsCancelled"] == 3)
        .await;
}

async fn repeated_polls_duplicates_restarts_and_replicas_create_no_second_event(backend: Backend) {
    let b = Bridge::new(backend).await;
    b.configure(json!({})).await;
    let d = b.sim.add_dispatch(json!({"id": "r1", "sites": [site("xv1w4", "site101", json!(5)), site("yd4g", "site102", json!(7))]}));
    b.event_named("voltus:CAISO:1:r1:yd4g").await;
    b.polls(5).await;
    assert_eq!(b.events().await.len(), 2);

    // The same id twice in one answer, the newer version last: applied once, as the newer one.
    let mut newer = d.clone();
    newer["modification_number"] = json!(3);
    newer["end_time"] = json!("2099-01-01T00:00:00Z");
    b.sim.push_raw(newer);
    // A malformed dispatch is skipped; the rest goes on.
    b.sim
        .push_raw(json!({"id": "broken", "authorized": "perhaps"}));
    eventually("the newer version", || async {
        let e = b.event_named("voltus:CAISO:1:r1:yd4g").await;
        e["intervalPeriod"]["duration"]
            .as_str()
            .is_some_and(|d| d != "PT1H")
            .then_some(())
    })
    .await;

    // A second replica on the same database, polling too; then the first one's bridge is reconfigured.
    let replica = b.app.replica(|_| {}).await;
    b.polls(10).await;
    b.configure(json!({"pollIntervalSeconds": 0.1})).await;
    b.polls(5).await;
    let events = b.events().await;
    assert_eq!(events.len(), 2, "{events:?}");
    let status = b.status().await;
    assert_eq!(status["eventsCreated"], 2, "{status}");
    assert!(
        status["dispatchesMalformed"].as_i64().unwrap() >= 1,
        "{status}"
    );
    assert_eq!(status["dispatches"], 1);

    // A disabled tenant's bridge stops polling, on every replica.
    let disabled = call_as(
        &b.app,
        &b.operator,
        Method::POST,
        "/admin/tenants/default/disable",
        None,
    )
    .await;
    assert_eq!(disabled.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped_at = b.sim.requests(POLLS);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(b.sim.requests(POLLS), stopped_at);
    drop(replica);
}

async fn an_inbound_webhook_fetches_the_dispatch_it_names(backend: Backend) {
    let b = Bridge::new(backend).await;
    let config = b.configure(json!({"pollIntervalSeconds": 3600})).await;
    let path = config["webhookPath"].as_str().unwrap().to_owned();
    b.polled(1).await;

    // Registering the webhook with Voltus sends the empty test payload first.
    let url = format!("{}{path}", b.app.root);
    let registered = b.sim_post("/2022-04-15/webhooks", json!({"url": url, "events": [{"name": "dispatch.create"}, {"name": "dispatch.update"}]})).await;
    assert_eq!(registered.status(), 200, "{:?}", registered.text().await);

    b.sim
        .add_dispatch(json!({"id": "w1", "sites": [site("xv1w4", "site101", json!(5))]}));
    let event = b.event_named("voltus:CAISO:1:w1:xv1w4").await;
    assert_eq!(
        b.sim.requests(POLLS),
        1,
        "created by the webhook, not by a poll"
    );
    assert!(b.sim.requests("GET /2022-04-15/dispatches/w1") >= 1);
    b.sim
        .update_dispatch("w1", json!({"end_time": "2099-01-01T00:00:00Z"}));
    eventually("the webhook's update", || async {
        let e = b.event_named("voltus:CAISO:1:w1:xv1w4").await;
        (e["id"] == event["id"]
            && e["intervalPeriod"]["duration"] != event["intervalPeriod"]["duration"])
            .then_some(())
    })
    .await;
    b.status_where("two webhooks", |s| {
        s["webhooksReceived"].as_i64().unwrap() >= 2
    })
    .await;

    // What is not a skinny payload naming a dispatch is a 400; the wrong secret or tenant a 404.
    let post = |path: String, body: Value| {
        let http = b.app.http.clone();
        let url = format!("{}{path}", b.app.root);
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    for bad in [
        json!({"event": {"name": "dispatch.create"}, "resource": "https://evil.example/2022-04-15/dispatches/x"}),
        json!({"event": {"name": "dispatch.create"}, "resource": "/2022-04-15/dispatches/../sites"}),
        json!({"event": {"name": "dispatch.delete"}, "resource": "/2022-04-15/dispatches/w1"}),
        json!({"resource": "/2022-04-15/dispatches/w1"}),
    ] {
        expect_problem(post(path.clone(), bad).await, 400).await;
    }
    let ping = post(path.clone(), json!({"event": {"name": ""}, "resource": ""})).await;
    assert_eq!(ping.status(), 200);
    let skinny =
        json!({"event": {"name": "dispatch.create"}, "resource": "/2022-04-15/dispatches/w1"});
    let wrong_secret = path.rsplit_once('/').unwrap().0.to_owned() + "/wrong-secret-0123456789";
    expect_problem(post(wrong_secret, skinny.clone()).await, 404).await;
    expect_problem(
        post(path.replace("/default/", "/nobody/"), skinny).await,
        404,
    )
    .await;
}

impl Bridge {
    async fn sim_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.app
            .http
            .post(format!("{}{path}", self.sim.base_url))
            .header("X-Voltus-API-Key", SIM_KEY)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

async fn voltus_failures_back_off_the_vtn_keeps_serving_and_the_bridge_catches_up(
    backend: Backend,
) {
    let b = Bridge::new(backend).await;
    // Unreachable first: a port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    b.configure(json!({"baseUrl": dead})).await;
    let status = eventually("an unreachable error", || async {
        let s = b.status().await;
        s["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("unreachable"))
            .then_some(s)
    })
    .await;
    assert!(status["consecutiveFailures"].as_i64().unwrap() >= 1);
    expect_json(b.app.get("/programs").await, 200).await;

    // Then Voltus, first refusing: 429 with Retry-After 1, a 500, a garbage answer.
    b.sim.inject(
        Fault::Status {
            status: 429,
            retry_after: Some(1),
        },
        1,
        Some("/2022-04-15/dispatches"),
    );
    b.sim.inject(
        Fault::Status {
            status: 500,
            retry_after: None,
        },
        1,
        Some("/2022-04-15/dispatches"),
    );
    b.sim
        .inject(Fault::Garbage, 1, Some("/2022-04-15/dispatches"));
    b.sim
        .add_dispatch(json!({"id": "f1", "sites": [site("xv1w4", "site101", json!(5))]}));
    b.configure(json!({})).await;
    b.polled(1).await;
    let first = Instant::now();
    b.polled(2).await;
    assert!(
        first.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured: {:?}",
        first.elapsed()
    );
    expect_json(b.app.get("/events").await, 200).await;

    b.event_named("voltus:CAISO:1:f1:xv1w4").await;
    let status = b
        .status_where("the recovery", |s| s["consecutiveFailures"] == 0)
        .await;
    assert!(status["pollFailures"].as_i64().unwrap() >= 4, "{status}");
    assert!(
        status["lastError"].as_str().unwrap().contains("unexpected"),
        "the garbage answer: {status}"
    );
    assert!(status["lastSuccessAt"].is_string());
    // The operator sees the same in /metrics (the recorder is per process: counts only grow).
    let metrics = b
        .app
        .http
        .get(format!("{}/metrics", b.app.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        r#"vtn_bridge_polls_total{bridge="voltus",result="error"}"#,
        r#"vtn_bridge_polls_total{bridge="voltus",result="ok"}"#,
        r#"vtn_bridge_last_success_timestamp_seconds{bridge="voltus"}"#,
        r#"vtn_bridge_poll_duration_seconds_count{bridge="voltus"}"#,
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics");
    }
}

async fn test_dispatches_are_published_apart_or_skipped_per_configuration(backend: Backend) {
    let b = Bridge::new(backend).await;
    b.configure(json!({"programName": null})).await;
    let start = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let window = |offset: i64| {
        json!({"start_time": (start + chrono::TimeDelta::hours(offset)).to_rfc3339(),
               "end_time": (start + chrono::TimeDelta::hours(offset + 1)).to_rfc3339()})
    };
    let created = b.sim_post("/2022-04-15/dispatches", window(0)).await;
    let test = expect_json(created, 200).await;
    assert_eq!(test["test"], true);
    let name = format!("TEST:voltus:-:700:{}:xv1w4", test["id"].as_str().unwrap());
    let event = b.event_named(&name).await;
    let program = expect_json(
        b.app
            .get(&format!(
                "/programs/{}",
                event["programID"].as_str().unwrap()
            ))
            .await,
        200,
    )
    .await;
    assert_eq!(program["programName"], "voltus-700-test");
    assert_eq!(
        program["programLongName"],
        "Voltus Communications Test (test dispatches)"
    );
    assert_eq!(
        event["intervals"][0]["payloads"][1],
        json!({"type": "DISPATCH_SETPOINT_RELATIVE", "values": [0.0]})
    );

    // Past the 72-hour limit: refused as Voltus does.
    let refused = b.sim_post("/2022-04-15/dispatches", window(100)).await;
    assert_eq!(refused.status(), 400);

    // A test dispatch names every site: three events.
    eventually("the test dispatch's three events", || async {
        (b.events().await.len() == 3).then_some(())
    })
    .await;
    b.configure(json!({"programName": null, "testDispatches": "skip"}))
        .await;
    let before = b.events().await.len();
    let skipped = expect_json(b.sim_post("/2022-04-15/dispatches", window(2)).await, 200).await;
    b.sim
        .add_dispatch(json!({"id": "real", "sites": [site("xv1w4", "site101", json!(5))]}));
    b.event_named("voltus:CAISO:1:real:xv1w4").await;
    b.polls(2).await;
    let events = b.events().await;
    assert_eq!(events.len(), before + 1, "{events:?}");
    assert!(events.iter().all(|e| !e["eventName"]
        .as_str()
        .unwrap()
        .contains(skipped["id"].as_str().unwrap())));
    b.status_where("the skipped test dispatch", |s| {
        s["testDispatchesSkipped"] == 1
    })
    .await;
}

async fn usage_reports_of_bridged_events_go_to_voltus_once_retried_until_accepted(
    backend: Backend,
) {
    let b = Bridge::new(backend).await;
    let ven = ven_of_site101(&b.app).await;
    b.configure(json!({})).await;
    b.sim
        .add_dispatch(json!({"id": "t1", "sites": [site("xv1w4", "site101", json!(5))]}));
    let event = b.event_named("voltus:CAISO:1:t1:xv1w4").await;
    assert_eq!(event["reportDescriptors"][0]["payloadType"], "USAGE");

    b.sim.inject(
        Fault::Status {
            status: 503,
            retry_after: None,
        },
        1,
        Some("/2022-04-15/telemetry"),
    );
    let report = json!({
        "programID": event["programID"], "eventID": event["id"], "clientName": "ven-a",
        "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"}],
        "resources": [{"resourceName": "site101", "intervals": [
            {"id": 0, "intervalPeriod": {"start": "2030-06-01T14:00:00Z", "duration": "PT5M"}, "payloads": [{"type": "USAGE", "values": [0.5]}]},
            {"id": 1, "intervalPeriod": {"start": "2030-06-01T14:05:00Z", "duration": "PT5M"}, "payloads": [{"type": "USAGE", "values": [0.25]}]}
        ]}]
    });
    expect_json(
        call_as(&b.app, &ven, Method::POST, "/reports", Some(report)).await,
        201,
    )
    .await;

    let points = eventually("telemetry at Voltus", || async {
        let points = b.sim.telemetry();
        (points.len() == 2).then_some(points)
    })
    .await;
    assert_eq!(
        points,
        vec![
            json!({"site_id": "xv1w4", "timestamp": "2030-06-01T14:05:00Z", "interval_seconds": 300, "units": "kW", "value": 6.0}),
            json!({"site_id": "xv1w4", "timestamp": "2030-06-01T14:10:00Z", "interval_seconds": 300, "units": "kW", "value": 3.0}),
        ]
    );
    assert_eq!(
        b.sim.requests("POST /2022-04-15/telemetry"),
        2,
        "one refused by the fault, one accepted"
    );
    b.polls(5).await;
    assert_eq!(
        b.sim.requests("POST /2022-04-15/telemetry"),
        2,
        "never sent twice"
    );
    b.status_where("two points sent", |s| {
        s["telemetrySent"] == 2 && s["telemetryPending"] == 0
    })
    .await;
}

async fn configuration_is_validated_and_the_api_key_never_shown(backend: Backend) {
    let b = Bridge::new(backend).await;
    for (change, field) in [
        (json!({"baseUrl": "ftp://example.com"}), "baseUrl"),
        (json!({"baseUrl": "not a url"}), "baseUrl"),
        (json!({"baseUrl": "https://example.com/?x=1"}), "baseUrl"),
        (json!({"pollIntervalSeconds": 0.001}), "pollIntervalSeconds"),
        (json!({"pollIntervalSeconds": 7200}), "pollIntervalSeconds"),
        (json!({"apiKey": null}), "apiKey"),
        (json!({"webhookSecret": "short"}), "webhookSecret"),
        (json!({"testDispatches": "sometimes"}), "testDispatches"),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let mut body = b.config(json!({}));
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let detail = expect_problem(b.put_config(body).await, 400).await;
        assert!(detail.contains(field), "{field}: {detail}");
    }
    let missing = call_as(
        &b.app,
        &b.operator,
        Method::PUT,
        "/admin/tenants/nobody/voltus",
        Some(b.config(json!({}))),
    )
    .await;
    expect_problem(missing, 404).await;
    // A malformed tenant id is a 400 for each method, as the document says (schemathesis found
    // DELETE's 400 undocumented).
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let body = (method == Method::PUT).then(|| b.config(json!({})));
        let bad = call_as(
            &b.app,
            &b.operator,
            method,
            "/admin/tenants/Not%20Valid/voltus",
            body,
        );
        let detail = expect_problem(bad.await, 400).await;
        assert!(detail.contains("tenantId"), "{detail}");
    }
    // Business logic may not configure; a VEN may not read the status.
    expect_problem(
        b.app
            .put("/admin/tenants/default/voltus", b.config(json!({})))
            .await,
        403,
    )
    .await;
    let ven = ven_of_site101(&b.app).await;
    expect_problem(
        call_as(&b.app, &ven, Method::GET, "/bridge/voltus/status", None).await,
        403,
    )
    .await;
    expect_problem(b.app.get("/bridge/voltus/status").await, 404).await;

    let configured = b
        .configure(json!({"webhookSecret": "s3cret-path-0123456789"}))
        .await;
    assert_eq!(
        configured["apiKeyHint"],
        format!("…{}", &SIM_KEY[SIM_KEY.len() - 4..])
    );
    assert_eq!(
        configured["webhookPath"],
        "/api/openadr/v1/bridge/voltus/default/webhook/s3cret-path-0123456789"
    );
    assert_eq!(configured["pollIntervalSeconds"], 0.2);
    assert_eq!(configured["siteTarget"], "customer_location_id");
    assert_eq!(configured["testDispatches"], "test_program");
    assert_eq!(configured["cancellation"], "zero_window");
    let read = expect_json(
        call_as(
            &b.app,
            &b.operator,
            Method::GET,
            "/admin/tenants/default/voltus",
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(read.get("webhookPath").is_none());
    let audit = expect_json(
        call_as(
            &b.app,
            &b.operator,
            Method::GET,
            "/admin/audit?tenant=default",
            None,
        )
        .await,
        200,
    )
    .await;
    assert!(audit
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "voltus.configure"));
    for shown in [&configured, &read, &audit] {
        assert!(
            !shown.to_string().contains(SIM_KEY),
            "the API key leaked: {shown}"
        );
    }
    // Omitting the key keeps it: the bridge still polls with it.
    let mut body = b.config(json!({}));
    body.as_object_mut().unwrap().remove("apiKey");
    expect_json(b.put_config(body).await, 200).await;
    b.polls(2).await;
    assert_eq!(b.status().await["consecutiveFailures"], 0);

    // The CLI applies the server's URL policy (https only, unless VTN_VOLTUS_ALLOW_HTTP).
    let cli = |extra_env: &[(&str, &str)]| {
        let mut command = vtn_binary();
        command
            .args([
                "voltus",
                "set",
                "--tenant",
                "default",
                "--base-url",
                &b.sim.base_url,
                "--poll-interval-seconds",
                "30",
            ])
            .env("DATABASE_URL", &b.app.database_url)
            .env("VOLTUS_API_KEY", SIM_KEY);
        for (k, v) in extra_env {
            command.env(k, v);
        }
        command.output()
    };
    let refused = cli(&[]).await.unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("https"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let allowed = cli(&[
        ("VTN_VOLTUS_ALLOW_HTTP", "true"),
        ("VTN_VOLTUS_ALLOW_PRIVATE", "true"),
    ])
    .await
    .unwrap();
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let printed: Value = serde_json::from_slice(&allowed.stdout).unwrap();
    assert_eq!(printed["pollIntervalSeconds"], 30.0);
    assert!(!String::from_utf8_lossy(&allowed.stdout).contains(SIM_KEY));
}

async fn the_sandbox_scenarios_play_out(backend: Backend) {
    let b = Bridge::new(backend).await;
    b.configure(json!({})).await;
    let started = b
        .sim_post(
            "/2022-04-15/scenarios",
            json!({"scenario": "ancillary_services", "update_after_seconds": 2}),
        )
        .await;
    let started = expect_json(started, 200).await;
    let id = started["dispatches"][0]["id"].as_str().unwrap().to_owned();
    let name = format!("voltus:CAISO:1:{id}:xv1w4");
    let open = b.event_named(&name).await;
    assert_eq!(open["intervalPeriod"]["duration"], "P9999Y");
    eventually("the end time announced later", || async {
        (b.event_named(&name).await["intervalPeriod"]["duration"] == "PT1H").then_some(())
    })
    .await;

    let started = expect_json(
        b.sim_post(
            "/2022-04-15/scenarios",
            json!({"scenario": "cancelled", "update_after_seconds": 2}),
        )
        .await,
        200,
    )
    .await;
    let id = started["dispatches"][0]["id"].as_str().unwrap().to_owned();
    let name = format!("voltus:CAISO:1:{id}:xv1w4");
    b.event_named(&name).await;
    eventually("the cancellation", || async {
        (b.event_named(&name).await["intervalPeriod"]["duration"] == "PT0S").then_some(())
    })
    .await;

    let started = expect_json(
        b.sim_post(
            "/2022-04-15/scenarios",
            json!({"scenario": "two_dispatches"}),
        )
        .await,
        200,
    )
    .await;
    for d in started["dispatches"].as_array().unwrap() {
        b.event_named(&format!(
            "voltus:CAISO:1:{}:yd4g",
            d["id"].as_str().unwrap()
        ))
        .await;
    }
    // Dispatches gone from Voltus's list (a scenario replaces them) keep their events.
    assert_eq!(b.events().await.len(), 2 + 2 + 3 * 2);
    let unknown = b
        .sim_post("/2022-04-15/scenarios", json!({"scenario": "nope"}))
        .await;
    assert_eq!(unknown.status(), 400);
    let unauthorized = b
        .app
        .http
        .get(format!("{}/2022-04-15/dispatches", b.sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(
        unauthorized.json::<Value>().await.unwrap(),
        json!({"message": "Permission denied", "type": "Unauthorized"})
    );
}

/// A USAGE report (kWh per five minutes from 2030-06-01T14:00Z) on `event`, by `client`.
fn usage_report(event: &Value, client: &str, kwh: &[f64]) -> Value {
    let intervals: Vec<Value> = kwh
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let start = chrono::DateTime::parse_from_rfc3339("2030-06-01T14:00:00Z").unwrap()
                + chrono::TimeDelta::minutes(5 * i as i64);
            json!({"id": i, "intervalPeriod": {"start": start.to_rfc3339(), "duration": "PT5M"},
                   "payloads": [{"type": "USAGE", "values": [v]}]})
        })
        .collect();
    json!({"programID": event["programID"], "eventID": event["id"], "clientName": client,
           "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "KWH"}],
           "resources": [{"resourceName": "site101", "intervals": intervals}]})
}

fn values(points: &[Value]) -> Vec<f64> {
    points
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect()
}

/// The store of the app's database, opened beside it.
async fn open_store(app: &TestApp) -> openadr3_vtn::store::DynStore {
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
    };
    let cipher =
        openadr3_vtn::store::sealed::SecretCipher::parse(TEST_SECRET_KEYS, "test").unwrap();
    store::connect(&app.database_url, &settings, cipher)
        .await
        .unwrap()
}

/// Issue 16: a report counts for a site only when the VEN bound to the site wrote it (or
/// business logic). A VEN that once held the site and reported first does not win over the
/// rightful VEN, and the bound VEN's later report replaces a value not yet sent.
async fn only_the_ven_bound_to_the_site_feeds_its_telemetry(backend: Backend) {
    let b = Bridge::new(backend).await;
    let ven_a = id_of(&create_ven(&b.app, json!({"venName": "ven-a"})).await);
    let ven_b = id_of(&create_ven(&b.app, json!({"venName": "ven-b"})).await);
    // Business logic gives site101 to ven-b first.
    let held = create_resource(&b.app, &ven_b, json!({"resourceName": "site101"})).await;
    let token_a = ven_token(&b.app, "default", "ven-a", "read_all,write_reports").await;
    let token_b = ven_token(&b.app, "default", "ven-b", "read_all,write_reports").await;
    // One poll now, the next in an hour, unless configured again: reports wait unforwarded.
    b.sim
        .add_dispatch(json!({"id": "t2", "sites": [site("xv1w4", "site101", json!(5))]}));
    b.configure(json!({"pollIntervalSeconds": 3600})).await;
    let event = b.event_named("voltus:CAISO:1:t2:xv1w4").await;
    let post = |token: &str, body: Value| {
        let (app, token) = (&b.app, token.to_owned());
        async move { call_as(app, &token, Method::POST, "/reports", Some(body)).await }
    };
    // ven-b reports first, while it holds the site ...
    expect_json(
        post(&token_b, usage_report(&event, "ven-b", &[9.0, 9.0])).await,
        201,
    )
    .await;
    // ... then business logic moves the site to ven-a, which reports, and corrects its first
    // interval before anything was sent.
    let path = format!("/vens/{ven_b}/resources/{}", id_of(&held));
    assert_eq!(b.app.delete(&path).await.status(), 200);
    create_resource(&b.app, &ven_a, json!({"resourceName": "site101"})).await;
    for kwh in [[0.5, 0.25], [1.0, 0.25]] {
        expect_json(
            post(&token_a, usage_report(&event, "ven-a", &kwh)).await,
            201,
        )
        .await;
    }
    b.configure(json!({"pollIntervalSeconds": 3600})).await;
    let points = eventually("ven-a's telemetry", || async {
        let points = b.sim.telemetry();
        (points.len() >= 2).then_some(points)
    })
    .await;
    assert_eq!(
        values(&points),
        [12.0, 3.0],
        "ven-a's latest values, none of ven-b's: {points:?}"
    );
    let status = b
        .status_where("two points sent", |s| s["telemetrySent"] == 2)
        .await;
    assert_eq!(status["telemetryPending"], 0, "{status}");
    assert_eq!(status["telemetryFailed"], 0, "{status}");

    // A report after the points were sent changes nothing at Voltus (sent points are kept).
    let uploads = b.sim.requests("POST /2022-04-15/telemetry");
    expect_json(
        post(&token_a, usage_report(&event, "ven-a", &[2.0, 2.0])).await,
        201,
    )
    .await;
    let polls = b.status().await["polls"].as_i64().unwrap();
    b.configure(json!({"pollIntervalSeconds": 3600})).await;
    b.status_where("another pass", |s| s["polls"].as_i64().unwrap() > polls)
        .await;
    assert_eq!(b.sim.requests("POST /2022-04-15/telemetry"), uploads);
    assert_eq!(values(&b.sim.telemetry()), [12.0, 3.0]);
}

/// Issue 16: a USAGE or DEMAND value beyond 10^15 (which the kW conversion could turn into
/// infinity) is refused when the report is written, naming the value; other types keep theirs.
async fn report_readings_that_could_overflow_are_refused_when_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = app.create_program("p", json!(null)).await;
    let event = app
        .create_event(event_at(
            &id_of(&program),
            "2030-06-01T14:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    let mut report = usage_report(&event, "bl", &[1e303]);
    let detail = expect_problem(app.post("/reports", report.clone()).await, 400).await;
    assert!(
        detail.contains("resources[0].intervals[0].payloads[0].values[0]"),
        "{detail}"
    );
    report["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({"resourceName": "r2", "intervals": [
            {"id": 0, "payloads": [{"type": "PRICE", "values": [1e303]}, {"type": "DEMAND", "values": [1, -2e15]}]}]}));
    report["resources"][0]["intervals"][0]["payloads"][0]["values"] = json!([1e15]);
    let detail = expect_problem(app.post("/reports", report.clone()).await, 400).await;
    assert!(
        detail.contains("resources[1].intervals[0].payloads[1].values[1]"),
        "{detail}"
    );
    assert!(!detail.contains("resources[0]"), "{detail}");
    report["resources"][1]["intervals"][0]["payloads"][1]["values"] = json!([1, -1e15]);
    let created = expect_json(app.post("/reports", report.clone()).await, 201).await;
    // An update is held to the same rule.
    report["resources"][0]["intervals"][0]["payloads"][0]["values"] = json!([f64::MAX]);
    let path = format!("/reports/{}", id_of(&created));
    let detail = expect_problem(app.put(&path, report).await, 400).await;
    assert!(
        detail.contains("resources[0].intervals[0].payloads[0].values[0]"),
        "{detail}"
    );
}

/// Issue 16: points are sent per site, and an upload Voltus refuses is split until only the
/// refused point fails: the site's other points and the other site's are sent. A report stored
/// before values were bounded (infinite in kW) is dropped and fails nothing either.
async fn one_refused_point_fails_alone_and_the_other_points_and_sites_are_sent(backend: Backend) {
    let b = Bridge::new(backend).await;
    b.sim.add_dispatch(
        json!({"id": "t3", "sites": [site("xv1w4", "site101", json!(5)),
                                                   site("yd4g", "site102", json!(6))]}),
    );
    b.configure(json!({"pollIntervalSeconds": 3600})).await;
    let first = b.event_named("voltus:CAISO:1:t3:xv1w4").await;
    let second = b.event_named("voltus:CAISO:1:t3:yd4g").await;
    // Voltus refuses any upload holding a 13 kW point.
    b.sim.refuse_telemetry(json!({"value": 13.0}));
    expect_json(
        b.app
            .post(
                "/reports",
                usage_report(&first, "bl", &[0.5, 0.25, 1.0, 2.0]),
            )
            .await,
        201,
    )
    .await;
    let mut demand = usage_report(&second, "bl", &[7.0, 13.0, 8.0]);
    demand["payloadDescriptors"] = json!([{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "DEMAND", "units": "KW"}]);
    for interval in demand["resources"][0]["intervals"].as_array_mut().unwrap() {
        interval["payloads"][0]["type"] = json!("DEMAND");
    }
    expect_json(b.app.post("/reports", demand).await, 201).await;
    // Stored before reports were validated: 10^305 MWh in 30 s is no finite number of kW.
    let poisoned = json!({"id": "poisoned", "programID": first["programID"], "eventID": first["id"],
        "clientName": "bl", "payloadDescriptors": [{"objectType": "REPORT_PAYLOAD_DESCRIPTOR", "payloadType": "USAGE", "units": "MWH"}],
        "resources": [{"resourceName": "site101", "intervals": [
            {"id": 0, "intervalPeriod": {"start": "2030-06-01T15:00:00Z", "duration": "PT30S"},
             "payloads": [{"type": "USAGE", "values": [1e305]}]}]}]});
    let store = open_store(&b.app).await;
    let row = ReportRow {
        id: "poisoned".into(),
        program_id: first["programID"].as_str().unwrap().into(),
        event_id: id_of(&first),
        client_name: "bl".into(),
        owner: None,
        body: poisoned.to_string(),
    };
    // A second SQLite pool beside the app's may find the database busy: try again.
    within("the old report stored", Duration::from_secs(10), || async {
        store
            .insert_report(&TenantId("default".into()), &row)
            .await
            .ok()
    })
    .await;

    b.configure(json!({"pollIntervalSeconds": 3600})).await;
    let status = b
        .status_where("the points sent and the refused one failed", |s| {
            s["telemetryPending"] == 0 && s["telemetryFailed"].as_i64() > Some(0)
        })
        .await;
    assert_eq!(status["telemetrySent"], 6, "{status}");
    assert_eq!(status["telemetryFailed"], 1, "{status}");
    let mut sent: Vec<(String, f64)> = b
        .sim
        .telemetry()
        .iter()
        .map(|p| {
            (
                p["site_id"].as_str().unwrap().to_owned(),
                p["value"].as_f64().unwrap(),
            )
        })
        .collect();
    sent.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let expected: Vec<(String, f64)> = [
        ("xv1w4", 3.0),
        ("xv1w4", 6.0),
        ("xv1w4", 12.0),
        ("xv1w4", 24.0),
        ("yd4g", 7.0),
        ("yd4g", 8.0),
    ]
    .iter()
    .map(|(s, v)| (s.to_string(), *v))
    .collect();
    assert_eq!(sent, expected);
    for upload in b.sim.uploads() {
        assert!(
            upload.iter().all(|p| p["site_id"] == upload[0]["site_id"]),
            "one site per upload: {upload:?}"
        );
    }
}

/// Issue 16: a webhook on one replica and a slow poll on another cannot undo each other. The
/// dispatch has no modification_number, so only the order of fetches tells its versions
/// apart: the poll asked first, was answered last, and must not win.
async fn a_webhook_and_a_slow_poll_on_two_replicas_end_at_the_newest_version(backend: Backend) {
    let b = Bridge::new(backend).await;
    // This replica takes webhooks and polls nothing; the first one polls.
    let other = b
        .app
        .replica(|args| args.voltus.voltus_bridge = false)
        .await;
    b.sim
        .add_dispatch(json!({"id": "v1", "modification_number": null,
        "start_time": "2030-06-01T14:00:00Z", "end_time": "2030-06-01T15:00:00Z",
        "sites": [site("xv1w4", "site101", json!(5))]}));
    let config = b.configure(json!({"pollIntervalSeconds": 3600})).await;
    let name = "voltus:CAISO:1:v1:xv1w4";
    assert_eq!(
        b.event_named(name).await["intervalPeriod"]["duration"],
        "PT1H"
    );
    let url = format!("{}{}", other.root, config["webhookPath"].as_str().unwrap());
    let registered = b
        .sim_post(
            "/2022-04-15/webhooks",
            json!({"url": url, "events": [{"name": "dispatch.update"}]}),
        )
        .await;
    assert_eq!(registered.status(), 200);

    // The next poll is answered 1.5 s late, with what Voltus had when it asked.
    b.sim
        .inject(Fault::Delay { ms: 1500 }, 1, Some("/2022-04-15/dispatches"));
    let polled = b.sim.requests(POLLS);
    b.configure(json!({"pollIntervalSeconds": 3600})).await;
    b.polled(polled + 1).await;
    // Meanwhile the dispatch gets its new end, and Voltus tells the other replica.
    b.sim.update_dispatch(
        "v1",
        json!({"end_time": "2030-06-01T16:00:00Z", "modification_number": null}),
    );
    eventually("the webhook's version", || async {
        (b.event_named(name).await["intervalPeriod"]["duration"] == "PT2H").then_some(())
    })
    .await;
    b.status_where("the slow poll ended", |s| {
        s["polls"].as_i64() >= Some(2) && s["webhooksReceived"].as_i64() >= Some(1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let event = b.event_named(name).await;
    assert_eq!(
        event["intervalPeriod"]["duration"], "PT2H",
        "the older answer of the slow poll undid the newer version: {event}"
    );
    drop(other);
}

/// Issue 16: the store never lets an older dispatch version replace a newer one: a lower
/// modification_number loses whatever its fetch time; without numbers, the earlier fetch loses.
async fn the_store_refuses_an_older_dispatch_version(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = open_store(&app).await;
    let tenant = TenantId("default".into());
    let version = |number: Option<i64>, fetched_at_ms: i64, fingerprint: &str| DispatchState {
        dispatch_id: "d".into(),
        modification_number: number,
        fingerprint: fingerprint.into(),
        authorized: true,
        test: false,
        raw: "{}".into(),
        fetched_at_ms,
        applied: false,
    };
    let stored = || async {
        store
            .get_voltus_dispatch(&tenant, "d")
            .await
            .unwrap()
            .unwrap()
            .fingerprint
    };
    for (number, fetched, fingerprint, wins) in [
        (Some(5), 100, "5", true),
        (Some(4), 200, "4 fetched later", false),
        (Some(5), 150, "5 fetched again", true),
        (None, 120, "no number, fetched earlier", false),
        (None, 300, "no number, fetched later", true),
        (Some(6), 250, "6 fetched before the unnumbered one", false),
        (Some(6), 400, "6", true),
        (Some(7), 10, "7 with an old clock", true),
        (Some(6), 900, "6 again", false),
    ] {
        let saved = store
            .save_voltus_dispatch(&tenant, &version(number, fetched, fingerprint), 1)
            .await
            .unwrap();
        assert_eq!(saved, wins, "{fingerprint}");
        if wins {
            assert_eq!(stored().await, fingerprint);
        }
    }
    assert_eq!(stored().await, "7 with an old clock");
    // Marked applied only while it is still the stored version.
    let applied = || async {
        store
            .get_voltus_dispatch(&tenant, "d")
            .await
            .unwrap()
            .unwrap()
            .applied
    };
    assert!(!store
        .mark_voltus_dispatch_applied(&tenant, "d", "6", 400)
        .await
        .unwrap());
    assert!(!applied().await);
    assert!(store
        .mark_voltus_dispatch_applied(&tenant, "d", "7 with an old clock", 10)
        .await
        .unwrap());
    assert!(applied().await);
    // A writer that lost the race hands the version back for another application.
    store.reapply_voltus_dispatch(&tenant, "d").await.unwrap();
    assert!(!applied().await);
}

/// Issue 16: the webhook secret in the inbound path never reaches the logs (the request span's
/// `http.target` shows it redacted) nor `/metrics` (route patterns only). The real binary, JSON
/// logs at debug level, beside the test's app on one database.
async fn the_webhook_secret_never_appears_in_logs_or_metrics(backend: Backend) {
    let b = Bridge::new(backend).await;
    let secret = "webhook-secret-to-look-for-0123";
    let config = b
        .configure(json!({"webhookSecret": secret, "pollIntervalSeconds": 3600}))
        .await;
    let path = config["webhookPath"].as_str().unwrap().to_owned();
    assert!(path.ends_with(secret));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_openadr3-vtn"))
        .arg("serve")
        .env("DATABASE_URL", &b.app.database_url)
        .env("VTN_SECRET_KEYS", TEST_SECRET_KEYS)
        .env("VTN_BIND", format!("127.0.0.1:{port}"))
        .env("VTN_JWT_SECRET", JWT_SECRET)
        .env("VTN_BOOTSTRAP_CLIENT_SECRET", ADMIN_SECRET)
        .env("VTN_LOG", "debug")
        .env("VTN_LOG_FORMAT", "json")
        .env("VTN_VOLTUS_BRIDGE", "false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = drain_output(&mut server);
    let root = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    within("the server to start", Duration::from_secs(30), || async {
        let health = http.get(format!("{root}/health")).send().await;
        health.ok().filter(|r| r.status().is_success())
    })
    .await;
    let post = |path: String, body: Value| {
        let http = http.clone();
        let url = format!("{root}{path}");
        async move { http.post(url).json(&body).send().await.unwrap().status() }
    };
    let skinny =
        json!({"event": {"name": "dispatch.update"}, "resource": "/2022-04-15/dispatches/x1"});
    assert_eq!(
        post(path.clone(), json!({"event": {"name": ""}, "resource": ""})).await,
        200
    );
    assert_eq!(post(path.clone(), skinny.clone()).await, 202);
    assert_eq!(post(path.clone(), json!({"event": "nope"})).await, 400);
    assert_eq!(post(format!("{path}/"), skinny).await, 404);
    let metrics = http
        .get(format!("{root}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("/bridge/voltus/{tenantId}/webhook/{secret}"),
        "the webhook calls were counted: {metrics}"
    );
    assert!(!metrics.contains(secret), "/metrics holds the secret");

    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let logs = output.await.unwrap();
    assert!(
        logs.contains("/webhook/<redacted>"),
        "the webhook requests were logged, redacted: {logs}"
    );
    assert!(!logs.contains(secret), "the logs hold the webhook secret");
}

backend_tests!(
    a_dispatch_becomes_an_event_per_site_that_the_sites_ven_lists_and_hears_of,
    end_time_added_and_start_moved_update_the_same_event,
    cancellation_is_a_zero_window_or_a_delete_by_configuration,
    repeated_polls_duplicates_restarts_and_replicas_create_no_second_event,
    an_inbound_webhook_fetches_the_dispatch_it_names,
    voltus_failures_back_off_the_vtn_keeps_serving_and_the_bridge_catches_up,
    test_dispatches_are_published_apart_or_skipped_per_configuration,
    usage_reports_of_bridged_events_go_to_voltus_once_retried_until_accepted,
    configuration_is_validated_and_the_api_key_never_shown,
    the_sandbox_scenarios_play_out,
    only_the_ven_bound_to_the_site_feeds_its_telemetry,
    report_readings_that_could_overflow_are_refused_when_written,
    one_refused_point_fails_alone_and_the_other_points_and_sites_are_sent,
    a_webhook_and_a_slow_poll_on_two_replicas_end_at_the_newest_version,
    the_store_refuses_an_older_dispatch_version,
    the_webhook_secret_never_appears_in_logs_or_metrics,
);
