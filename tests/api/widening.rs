//! A VEN client cannot widen what it receives by writing its own objects: targets of VENs and
//! resources are business logic's (a VEN client's attempt is a 403 and changes nothing), and a
//! resource a VEN client names like another VEN's resource addresses nobody until business logic
//! approves it — in lists, by id, in reports and in webhooks.

use crate::backend_tests;
use crate::energy_assets::{meter, post_as};
use crate::helpers::*;
use crate::receiver::Receiver;
use crate::vens::{call_as, create_resource, create_ven, ven_token};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const SCOPES: &str = "read_all,write_vens,write_reports,write_subscriptions";

async fn listed_events(app: &TestApp, token: &str) -> Vec<String> {
    ids(&expect_json(call_as(app, token, Method::GET, "/events", None).await, 200).await)
}

fn event(program: &str, name: &str, targets: Value) -> Value {
    json!({"programID": program, "eventName": name, "targets": targets,
           "intervals": [{"id": 0, "payloads": [{"type": "SIMPLE", "values": [1]}]}]})
}

/// `ven-a` (a VEN client's own VEN, created by business logic with GROUP g-a) and `ven-b`
/// (GROUP g-b, METER_POINT_ID mp-b, resource `site-101` created by business logic), and one
/// event aimed at ven-b by each of its names. Returns (ven-a's id, the events aimed at ven-b).
async fn setup(app: &TestApp) -> (String, Vec<String>) {
    let a = id_of(
        &create_ven(
            app,
            json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g-a"]}]}),
        )
        .await,
    );
    let b = id_of(
        &create_ven(
            app,
            json!({"venName": "ven-b", "targets": [{"type": "GROUP", "values": ["g-b"]},
                                                  {"type": "METER_POINT_ID", "values": ["mp-b"]}]}),
        )
        .await,
    );
    create_resource(app, &b, json!({"resourceName": "site-101"})).await;
    let program = id_of(&app.create_program("p", json!(null)).await);
    let mut aimed_at_b = Vec::new();
    for (name, targets) in [
        (
            "by-name",
            json!([{"type": "VEN_NAME", "values": ["ven-b"]}]),
        ),
        ("by-group", json!([{"type": "GROUP", "values": ["g-b"]}])),
        (
            "by-meter",
            json!([{"type": "METER_POINT_ID", "values": ["mp-b"]}]),
        ),
        (
            "by-site",
            json!([{"type": "RESOURCE_NAME", "values": ["site-101"]}]),
        ),
    ] {
        aimed_at_b.push(id_of(
            &app.create_event(event(&program, name, targets)).await,
        ));
    }
    (a, aimed_at_b)
}

async fn a_ven_client_cannot_write_the_targets_of_its_ven(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, aimed_at_b) = setup(&app).await;
    let ven = ven_token(&app, "default", "ven-a", SCOPES).await;
    let path = format!("/vens/{a}");
    let before = expect_json(call_as(&app, &ven, Method::GET, &path, None).await, 200).await;
    assert_eq!(listed_events(&app, &ven).await, Vec::<String>::new());

    for targets in [
        json!([{"type": "VEN_NAME", "values": ["ven-b"]}]),
        json!([{"type": "GROUP", "values": ["g-a", "g-b"]}]),
        json!([{"type": "METER_POINT_ID", "values": ["mp-b"]}]),
        json!([{"type": "GROUP", "values": ["g-a"]}, {"type": "METER_POINT_ID", "values": ["mp-b"]}]),
        json!([]),
        json!(null),
    ] {
        let body = json!({"venName": "ven-a", "targets": targets});
        let response = call_as(&app, &ven, Method::PUT, &path, Some(body)).await;
        let detail = expect_problem(response, 403).await;
        assert!(detail.starts_with("targets:"), "{targets}: {detail}");
    }
    // Nothing changed, and it still sees none of ven-b's events, in lists or by id.
    let after = expect_json(call_as(&app, &ven, Method::GET, &path, None).await, 200).await;
    assert_eq!(after, before);
    assert_eq!(listed_events(&app, &ven).await, Vec::<String>::new());
    for id in &aimed_at_b {
        let response = call_as(&app, &ven, Method::GET, &format!("/events/{id}"), None).await;
        expect_problem(response, 404).await;
    }

    // Sending back what it read (targets unchanged, in any order) is a normal update.
    let mut edited = without_server_fields(&before);
    edited["attributes"] = json!([{"type": "firmware", "values": ["2.1"]}]);
    let updated = expect_json(
        call_as(&app, &ven, Method::PUT, &path, Some(edited)).await,
        200,
    )
    .await;
    assert_eq!(updated["targets"], before["targets"]);
    assert_eq!(updated["attributes"][0]["values"][0], "2.1");

    // A VEN client creating its own VEN may not give it targets either.
    let other = ven_token(&app, "default", "ven-c", SCOPES).await;
    let detail = expect_problem(
        call_as(
            &app,
            &other,
            Method::POST,
            "/vens",
            Some(json!({"venName": "ven-c", "targets": [{"type": "GROUP", "values": ["g-b"]}]})),
        )
        .await,
        403,
    )
    .await;
    assert!(detail.starts_with("targets:"), "{detail}");
    let vens = expect_json(app.get("/vens?venName=ven-c").await, 200).await;
    assert_eq!(vens, json!([]), "the refused create wrote nothing");
    expect_json(
        call_as(
            &app,
            &other,
            Method::POST,
            "/vens",
            Some(json!({"venName": "ven-c", "targets": null})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(listed_events(&app, &other).await, Vec::<String>::new());

    // Business logic still writes them.
    expect_json(
        app.put(
            &path,
            json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g-b"]}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed_events(&app, &ven).await, vec![aimed_at_b[1].clone()]);
}

async fn a_ven_client_cannot_write_the_targets_of_its_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, _) = setup(&app).await;
    let ven = ven_token(&app, "default", "ven-a", SCOPES).await;
    let resources = format!("/vens/{a}/resources");
    let detail = expect_problem(
        call_as(
            &app,
            &ven,
            Method::POST,
            &resources,
            Some(json!({"resourceName": "r1", "targets": [{"type": "GROUP", "values": ["g-b"]}]})),
        )
        .await,
        403,
    )
    .await;
    assert!(detail.starts_with("targets:"), "{detail}");
    assert_eq!(
        expect_json(app.get(&resources).await, 200).await,
        json!([]),
        "the refused create wrote nothing"
    );
    let resource = expect_json(
        call_as(
            &app,
            &ven,
            Method::POST,
            &resources,
            Some(json!({"resourceName": "r1"})),
        )
        .await,
        201,
    )
    .await;
    let path = format!("{resources}/{}", id_of(&resource));
    let detail = expect_problem(
        call_as(
            &app,
            &ven,
            Method::PUT,
            &path,
            Some(json!({"resourceName": "r1", "targets": [{"type": "GROUP", "values": ["g-b"]}]})),
        )
        .await,
        403,
    )
    .await;
    assert!(detail.starts_with("targets:"), "{detail}");
    let stored = expect_json(app.get(&path).await, 200).await;
    assert!(stored.get("targets").is_none(), "{stored}");
}

/// A VEN client names its resource like ven-b's business-logic resource `site-101`: events aimed
/// at that site stay ven-b's, in lists, by id, for reports and in webhooks, until business logic
/// approves the resource; a rename by the VEN client withdraws the approval.
async fn a_resource_named_by_a_ven_client_addresses_nobody_until_approved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (a, aimed_at_b) = setup(&app).await;
    let by_site = aimed_at_b[3].clone();
    let ven = ven_token(&app, "default", "ven-a", SCOPES).await;
    let program = id_of(&expect_json(app.get("/programs").await, 200).await[0]);
    let receiver = Receiver::new();
    expect_json(
        call_as(
            &app,
            &ven,
            Method::POST,
            "/subscriptions",
            Some(json!({"programID": program, "clientName": "ven-a",
                "objectOperations": [{"objects": ["EVENT"], "operations": ["POST", "PUT"],
                                      "callbackUrl": receiver.url()}]})),
        )
        .await,
        201,
    )
    .await;
    let squatted = expect_json(
        call_as(
            &app,
            &ven,
            Method::POST,
            &format!("/vens/{a}/resources"),
            Some(json!({"resourceName": "site-101"})),
        )
        .await,
        201,
    )
    .await;
    let squatted_path = format!("/vens/{a}/resources/{}", id_of(&squatted));

    // A new event for the site, and an update of the old one: neither reaches ven-a.
    let new_for_site = id_of(
        &app.create_event(event(
            &program,
            "site-again",
            json!([{"type": "RESOURCE_NAME", "values": ["site-101"]}]),
        ))
        .await,
    );
    assert_eq!(listed_events(&app, &ven).await, Vec::<String>::new());
    for id in [&by_site, &new_for_site] {
        let response = call_as(&app, &ven, Method::GET, &format!("/events/{id}"), None).await;
        expect_problem(response, 404).await;
    }
    let report = json!({"programID": program, "eventID": new_for_site, "clientName": "ven-a",
        "resources": [{"resourceName": "site-101",
                       "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.0]}]}]}]});
    let detail = expect_problem(
        call_as(&app, &ven, Method::POST, "/reports", Some(report.clone())).await,
        400,
    )
    .await;
    assert!(detail.starts_with("eventID:"), "{detail}");
    // The webhook hears of nothing either (an untargeted event proves the pipe works).
    let open = id_of(
        &app.create_event(event(&program, "to-all", json!(null)))
            .await,
    );
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let notified: Vec<String> = receiver
        .received()
        .iter()
        .map(|n| {
            n.body["object"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(!received.is_empty());
    assert_eq!(notified, vec![open.clone()]);

    // Business logic approves the resource by writing it: now the site's events are ven-a's too.
    expect_json(
        app.put(&squatted_path, json!({"resourceName": "site-101"}))
            .await,
        200,
    )
    .await;
    let mut visible = listed_events(&app, &ven).await;
    visible.sort();
    let mut expected = vec![by_site.clone(), new_for_site.clone(), open.clone()];
    expected.sort();
    assert_eq!(visible, expected);
    expect_json(
        call_as(&app, &ven, Method::POST, "/reports", Some(report)).await,
        201,
    )
    .await;

    // Renaming it withdraws the approval; renaming it back does not restore it.
    for name in ["site-102", "site-101"] {
        expect_json(
            call_as(
                &app,
                &ven,
                Method::PUT,
                &squatted_path,
                Some(json!({"resourceName": name})),
            )
            .await,
            200,
        )
        .await;
    }
    assert_eq!(listed_events(&app, &ven).await, vec![open]);
    // Keeping the name keeps an approval: business logic approves again, the VEN edits attributes.
    expect_json(
        app.put(&squatted_path, json!({"resourceName": "site-101"}))
            .await,
        200,
    )
    .await;
    expect_json(
        call_as(
            &app,
            &ven,
            Method::PUT,
            &squatted_path,
            Some(json!({"resourceName": "site-101", "attributes": [{"type": "a", "values": [1]}]})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(listed_events(&app, &ven).await.len(), 3);
}

/// The targets derived from a service provider's Energy Coordination meters survive a
/// business-logic PUT of its VEN, which still sets the other targets.
async fn a_business_logic_put_keeps_the_meter_targets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp-1", "read_all,write_vens,write_reports").await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp, "/users/u1/meters", meter("MP-1")).await,
        201,
    )
    .await;
    let vens = expect_json(app.get("/vens?venName=sp-1").await, 200).await;
    let id = id_of(&vens[0]);
    let program = id_of(&app.create_program("p", json!(null)).await);
    let by_meter = id_of(
        &app.create_event(event(
            &program,
            "by-meter",
            json!([{"type": "METER_POINT_ID", "values": ["MP-1"]}]),
        ))
        .await,
    );
    let updated = expect_json(
        app.put(
            &format!("/vens/{id}"),
            json!({"venName": "sp-1", "targets": [{"type": "GROUP", "values": ["g1"]}]}),
        )
        .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = updated["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"GROUP"), "{updated}");
    assert!(kinds.contains(&"METER_POINT_ID"), "{updated}");
    assert_eq!(
        expect_json(app.get(&format!("/vens/{id}")).await, 200).await,
        updated
    );
    assert_eq!(listed_events(&app, &sp).await, vec![by_meter]);
}

backend_tests!(
    a_ven_client_cannot_write_the_targets_of_its_ven,
    a_ven_client_cannot_write_the_targets_of_its_resources,
    a_resource_named_by_a_ven_client_addresses_nobody_until_approved,
    a_business_logic_put_keeps_the_meter_targets,
);
