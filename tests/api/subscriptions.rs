//! `/subscriptions`: create, read, replace, delete, the filtered, paged list, and who sees what
//! (including the owner's bearer token). Webhook delivery is tested elsewhere.

use crate::backend_tests;
use crate::helpers::*;
use crate::receiver::callback_url;
use crate::reports::{call_as, ven_token, VEN_SCOPES};
use reqwest::Method;
use serde_json::{json, Value};

async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    ids(&expect_json(app.get(&format!("/subscriptions?{query}")).await, 200).await)
}

async fn listed_as(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let response = call_as(
        app,
        token,
        Method::GET,
        &format!("/subscriptions?{query}"),
        None,
    )
    .await;
    ids(&expect_json(response, 200).await)
}

async fn program(app: &TestApp, name: &str) -> String {
    id_of(&app.create_program(name, json!(null)).await)
}

fn subscription(program: &str, client: &str, objects: Value) -> Value {
    json!({
        "programID": program, "clientName": client,
        "objectOperations": [{"objects": objects, "operations": ["POST"], "callbackUrl": callback_url()}]
    })
}

/// A subscription with every 3.0.1 field, and both spellings of operations.
fn full_subscription(program: &str) -> Value {
    json!({
        "clientName": "VEN-999",
        "programID": program,
        "objectOperations": [
            {"objects": ["PROGRAM", "EVENT"], "operations": ["GET", "POST", "PUT", "DELETE"],
             "callbackUrl": format!("{}?x=1", callback_url()), "bearerToken": "NCEJGI9E8ER9802UT9HUG"},
            {"objects": ["REPORT", "SUBSCRIPTION", "VEN", "RESOURCE"], "operations": ["READ", "CREATE", "UPDATE", "DELETE"],
             "callbackUrl": callback_url()}
        ],
        "targets": [{"type": "GROUP", "values": ["g1", "g2"]}, {"type": "VEN_NAME", "values": ["VEN-999"]}]
    })
}

async fn crud_round_trips_the_full_object(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = program(&app, "p").await;
    let sent = full_subscription(&program);
    let mut with_server_fields = sent.clone();
    with_server_fields["id"] = json!("mine");
    with_server_fields["objectType"] = json!("SUBSCRIPTION");
    with_server_fields["modificationDateTime"] = json!(null);
    let created = expect_json(app.post("/subscriptions", with_server_fields).await, 201).await;
    assert_eq!(
        without_server_fields(&created),
        sent,
        "round-trips, operations as sent"
    );
    assert_eq!(created["objectType"], "SUBSCRIPTION");
    let id = id_of(&created);
    assert_ne!(id, "mine");
    assert_eq!(
        date_time(&created, "createdDateTime"),
        date_time(&created, "modificationDateTime")
    );
    let path = format!("/subscriptions/{id}");
    assert_eq!(expect_json(app.get(&path).await, 200).await, created);
    assert_eq!(listed(&app, "").await, vec![id.clone()]);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let expected = subscription(&program, "VEN-1", json!(["EVENT"]));
    let mut replacement = expected.clone();
    replacement["objectOperations"][0]["bearerToken"] = Value::Null;
    let updated = expect_json(app.put(&path, replacement).await, 200).await;
    assert_eq!(
        without_server_fields(&updated),
        expected,
        "a null bearerToken is not echoed"
    );
    assert_eq!(updated["createdDateTime"], created["createdDateTime"]);
    assert!(
        date_time(&updated, "modificationDateTime") > date_time(&created, "modificationDateTime")
    );
    assert_eq!(expect_json(app.get(&path).await, 200).await, updated);
    // The side tables followed the update: the old object types no longer match.
    assert!(listed(&app, "objects=PROGRAM").await.is_empty());
    assert!(listed(&app, "targetType=GROUP").await.is_empty());
    assert_eq!(listed(&app, "objects=EVENT").await, vec![id.clone()]);

    assert_eq!(expect_json(app.delete(&path).await, 200).await, updated);
    assert_eq!(
        expect_problem(app.get(&path).await, 404).await,
        format!("subscription '{id}' not found")
    );
    expect_problem(
        app.put(&path, subscription(&program, "c", json!(["EVENT"])))
            .await,
        404,
    )
    .await;
    expect_problem(app.delete(&path).await, 404).await;
    assert!(listed(&app, "").await.is_empty());
}

async fn filters_combine_and_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p1 = program(&app, "p1").await;
    let p2 = program(&app, "p2").await;
    let with_targets = |program: &str, client: &str, objects: Value, targets: Value| {
        let mut s = subscription(program, client, objects);
        s["targets"] = targets;
        s
    };
    let bodies = [
        with_targets(
            &p1,
            "a",
            json!(["EVENT"]),
            json!([{"type": "GROUP", "values": ["g1"]}]),
        ),
        with_targets(
            &p1,
            "b",
            json!(["PROGRAM", "EVENT"]),
            json!([{"type": "GROUP", "values": ["g2"]}]),
        ),
        with_targets(&p2, "a", json!(["REPORT"]), json!(null)),
        with_targets(
            &p2,
            "b",
            json!(["VEN", "RESOURCE"]),
            json!([{"type": "VEN_NAME", "values": ["g1"]}]),
        ),
    ];
    let mut made = Vec::new();
    for body in bodies {
        made.push(id_of(
            &expect_json(app.post("/subscriptions", body).await, 201).await,
        ));
    }
    // A second objectOperations entry counts too.
    let mut two_entries = subscription(&p1, "c", json!(["SUBSCRIPTION"]));
    two_entries["objectOperations"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"objects": ["REPORT"], "operations": ["CREATE"], "callbackUrl": callback_url()}),
        );
    made.push(id_of(
        &expect_json(app.post("/subscriptions", two_entries).await, 201).await,
    ));
    let pick = |indexes: &[usize]| indexes.iter().map(|&i| made[i].clone()).collect::<Vec<_>>();

    assert_eq!(listed(&app, "").await, made);
    assert_eq!(
        listed(&app, &format!("programID={p1}")).await,
        pick(&[0, 1, 4])
    );
    assert_eq!(
        listed(&app, &format!("programID={p2}")).await,
        pick(&[2, 3])
    );
    assert_eq!(listed(&app, "clientName=a").await, pick(&[0, 2]));
    assert_eq!(listed(&app, "clientName=c").await, pick(&[4]));
    assert_eq!(listed(&app, "objects=EVENT").await, pick(&[0, 1]));
    assert_eq!(listed(&app, "objects=REPORT").await, pick(&[2, 4]));
    assert_eq!(
        listed(&app, "objects=PROGRAM&objects=VEN").await,
        pick(&[1, 3])
    );
    assert_eq!(listed(&app, "targetType=GROUP").await, pick(&[0, 1]));
    assert_eq!(listed(&app, "targetValues=g1").await, pick(&[0, 3]));
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=g1").await,
        pick(&[0])
    );
    assert_eq!(
        listed(&app, "targetType=GROUP&targetValues=g1&targetValues=g2").await,
        pick(&[0, 1])
    );
    assert_eq!(
        listed(
            &app,
            &format!(
                "programID={p1}&clientName=b&objects=PROGRAM&targetType=GROUP&targetValues=g2"
            )
        )
        .await,
        pick(&[1])
    );
    assert!(listed(&app, &format!("programID={p2}&objects=EVENT"))
        .await
        .is_empty());
    assert!(listed(&app, "clientName=a&objects=VEN").await.is_empty());
    assert!(listed(
        &app,
        "objects=SUBSCRIPTION&objects=SUBSCRIPTION&clientName=a"
    )
    .await
    .is_empty());
    assert_eq!(listed(&app, "limit=2").await, pick(&[0, 1]));
    assert_eq!(listed(&app, "skip=3&limit=2").await, pick(&[3, 4]));
    assert_eq!(
        listed(&app, "objects=EVENT&objects=REPORT&skip=1&limit=2").await,
        pick(&[1, 2])
    );
    assert!(listed(&app, "skip=5").await.is_empty());
    assert!(listed(&app, "limit=0").await.is_empty());
}

async fn bad_input_is_a_400_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let with_op = |op: Value| json!({"programID": p, "clientName": "c", "objectOperations": [op]});
    let cases: Vec<(Value, &str)> = vec![
        (
            subscription("no-such-program", "c", json!(["EVENT"])),
            "programID: program 'no-such-program' does not exist",
        ),
        (subscription("a b", "c", json!(["EVENT"])), "programID:"),
        (subscription(&p, "", json!(["EVENT"])), "clientName: length"),
        (
            subscription(&p, "c", json!(["BANANA"])),
            "objectOperations[0].objects[0]: unknown variant `BANANA`",
        ),
        (
            subscription(&p, "c", json!([])),
            "objectOperations[0].objects: must list at least one object type",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": ["FETCH"], "callbackUrl": "https://e.com"}),
            ),
            "objectOperations[0].operations[0]: unknown variant `FETCH`",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": ["post"], "callbackUrl": "https://e.com"}),
            ),
            "objectOperations[0].operations[0]: unknown variant `post`",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": [], "callbackUrl": "https://e.com"}),
            ),
            "objectOperations[0].operations: must list at least one operation",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": "ftp://e.com/x"}),
            ),
            "objectOperations[0].callbackUrl: 'ftp://e.com/x' must be an http or https URL",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": "/relative"}),
            ),
            "objectOperations[0].callbackUrl: '/relative' must be an absolute http or https URL",
        ),
        (
            with_op(json!({"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": ""})),
            "objectOperations[0].callbackUrl:",
        ),
        (
            with_op(json!({"objects": ["EVENT"], "operations": ["POST"]})),
            "objectOperations[0]: missing field `callbackUrl`",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": "https://e.com", "secret": 1}),
            ),
            "objectOperations[0].secret: unknown field `secret`",
        ),
        (
            with_op(
                json!({"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": "https://e.com", "bearerToken": 5}),
            ),
            "objectOperations[0].bearerToken: invalid type",
        ),
        (
            json!({"programID": p, "clientName": "c", "objectOperations": []}),
            "objectOperations: must have at least one entry",
        ),
        (
            json!({"programID": p, "clientName": "c"}),
            "missing field `objectOperations`",
        ),
        (
            json!({"clientName": "c", "objectOperations": []}),
            "missing field `programID`",
        ),
        (
            json!({"programID": p, "clientName": "c", "objectOperations": [], "objectType": "EVENT"}),
            "objectType: must be SUBSCRIPTION",
        ),
        (
            json!({"programID": p, "clientName": "c", "objectOperations": [], "colour": 1}),
            "unknown field `colour`",
        ),
        (
            json!({"programID": p, "clientName": "c", "objectOperations": [], "targets": [{"type": "GROUP", "values": [null]}]}),
            "targets[0].values[0]",
        ),
    ];
    for (body, expected) in cases {
        let detail = expect_problem(app.post("/subscriptions", body.clone()).await, 400).await;
        assert!(
            detail.contains(expected),
            "for {body}: expected {expected:?} in {detail:?}"
        );
    }
    assert!(listed(&app, "").await.is_empty(), "nothing was created");

    let id = id_of(
        &expect_json(
            app.post("/subscriptions", subscription(&p, "c", json!(["EVENT"])))
                .await,
            201,
        )
        .await,
    );
    let detail = expect_problem(
        app.put(
            &format!("/subscriptions/{id}"),
            subscription("gone", "c", json!(["EVENT"])),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(detail, "programID: program 'gone' does not exist");

    let detail = expect_problem(app.get("/subscriptions/a%20b").await, 400).await;
    assert!(detail.starts_with("subscriptionID:"), "{detail}");
    for (query, expected) in [
        ("objects=BANANA", "objects: 'BANANA' is not one of"),
        ("objects=event", "objects:"),
        ("programID=a%20b", "programID:"),
        ("clientName=", "clientName:"),
        (
            "clientName=a&clientName=b",
            "clientName: may be given only once",
        ),
        ("targetType=", "targetType:"),
        ("eventID=x", "unknown query parameter 'eventID'"),
        ("limit=51", "limit:"),
        ("skip=x", "skip:"),
    ] {
        let detail = expect_problem(app.get(&format!("/subscriptions?{query}")).await, 400).await;
        assert!(
            detail.contains(expected),
            "for {query}: expected {expected:?} in {detail:?}"
        );
    }
    let response = app
        .call(Method::PATCH, &format!("/subscriptions/{id}"), None)
        .await;
    assert_eq!(response.headers()["allow"], "GET, PUT, DELETE");
    expect_problem(response, 405).await;
}

async fn deleting_a_program_deletes_its_subscriptions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p1 = program(&app, "p1").await;
    let p2 = program(&app, "p2").await;
    let gone = expect_json(
        app.post("/subscriptions", subscription(&p1, "c", json!(["EVENT"])))
            .await,
        201,
    )
    .await;
    let kept = expect_json(
        app.post("/subscriptions", subscription(&p2, "c", json!(["EVENT"])))
            .await,
        201,
    )
    .await;
    expect_json(app.delete(&format!("/programs/{p1}")).await, 200).await;
    expect_problem(
        app.get(&format!("/subscriptions/{}", id_of(&gone))).await,
        404,
    )
    .await;
    assert_eq!(listed(&app, "").await, vec![id_of(&kept)]);
    assert_eq!(listed(&app, "objects=EVENT").await, vec![id_of(&kept)]);
}

async fn a_ven_client_sees_and_writes_only_its_own_subscriptions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let ven_a = ven_token(&app, "default", "ven-a", VEN_SCOPES).await;
    let ven_b = ven_token(&app, "default", "ven-b", VEN_SCOPES).await;
    let mut body = subscription(&p, "ven-a", json!(["EVENT"]));
    body["objectOperations"][0]["bearerToken"] = json!("secret-of-a");
    let own = expect_json(
        call_as(&app, &ven_a, Method::POST, "/subscriptions", Some(body)).await,
        201,
    )
    .await;
    let id = id_of(&own);
    let path = format!("/subscriptions/{id}");
    let wrong = call_as(
        &app,
        &ven_a,
        Method::POST,
        "/subscriptions",
        Some(subscription(&p, "ven-b", json!(["EVENT"]))),
    )
    .await;
    assert_eq!(
        expect_problem(wrong, 400).await,
        "clientName: must be 'ven-a', the VEN name this client is bound to"
    );
    let of_b = expect_json(
        call_as(
            &app,
            &ven_b,
            Method::POST,
            "/subscriptions",
            Some(subscription(&p, "ven-b", json!(["EVENT"]))),
        )
        .await,
        201,
    )
    .await;
    let of_bl = expect_json(
        app.post("/subscriptions", subscription(&p, "bl", json!(["REPORT"])))
            .await,
        201,
    )
    .await;

    // The owner and business logic read the bearer token; nobody else reads the subscription.
    let as_owner = expect_json(call_as(&app, &ven_a, Method::GET, &path, None).await, 200).await;
    assert_eq!(as_owner, own);
    assert_eq!(
        as_owner["objectOperations"][0]["bearerToken"],
        "secret-of-a"
    );
    let as_bl = expect_json(app.get(&path).await, 200).await;
    assert_eq!(as_bl["objectOperations"][0]["bearerToken"], "secret-of-a");
    let detail = expect_problem(call_as(&app, &ven_b, Method::GET, &path, None).await, 404).await;
    assert_eq!(detail, format!("subscription '{id}' not found"));
    assert!(!detail.contains("secret-of-a"));
    let listed_b = expect_json(
        call_as(&app, &ven_b, Method::GET, "/subscriptions", None).await,
        200,
    )
    .await;
    assert_eq!(ids(&listed_b), vec![id_of(&of_b)]);
    assert!(!listed_b.to_string().contains("secret-of-a"));

    assert_eq!(
        listed(&app, "").await,
        vec![id.clone(), id_of(&of_b), id_of(&of_bl)]
    );
    assert_eq!(listed_as(&app, &ven_a, "").await, vec![id.clone()]);
    assert!(
        listed_as(&app, &ven_a, "objects=REPORT").await.is_empty(),
        "BL's is invisible"
    );
    assert!(listed_as(&app, &ven_a, "clientName=ven-b").await.is_empty());
    let bl_path = format!("/subscriptions/{}", id_of(&of_bl));
    expect_problem(
        call_as(&app, &ven_a, Method::GET, &bl_path, None).await,
        404,
    )
    .await;

    let put = call_as(
        &app,
        &ven_b,
        Method::PUT,
        &path,
        Some(subscription(&p, "ven-b", json!(["EVENT"]))),
    )
    .await;
    expect_problem(put, 404).await;
    expect_problem(
        call_as(&app, &ven_b, Method::DELETE, &path, None).await,
        404,
    )
    .await;
    expect_json(app.get(&path).await, 200).await;

    // Business logic may change it; the VEN keeps owning it.
    expect_json(
        app.put(&path, subscription(&p, "ven-a", json!(["PROGRAM"])))
            .await,
        200,
    )
    .await;
    assert_eq!(
        listed_as(&app, &ven_a, "objects=PROGRAM").await,
        vec![id.clone()]
    );
    let put = call_as(
        &app,
        &ven_a,
        Method::PUT,
        &path,
        Some(subscription(&p, "ven-a", json!(["RESOURCE"]))),
    )
    .await;
    expect_json(put, 200).await;
    expect_json(
        call_as(&app, &ven_a, Method::DELETE, &path, None).await,
        200,
    )
    .await;
    assert!(listed_as(&app, &ven_a, "").await.is_empty());
}

async fn scopes_and_tenants_are_respected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let p = program(&app, "p").await;
    let body = subscription(&p, "c", json!(["EVENT"]));
    let reader = app.tenant_token("default", "read_all").await;
    let detail = expect_problem(
        call_as(
            &app,
            &reader,
            Method::POST,
            "/subscriptions",
            Some(body.clone()),
        )
        .await,
        403,
    )
    .await;
    assert!(detail.contains("write_subscriptions"), "{detail}");
    let no_read = ven_token(&app, "default", "ven-a", "write_subscriptions").await;
    expect_problem(
        call_as(&app, &no_read, Method::GET, "/subscriptions", None).await,
        403,
    )
    .await;
    let ven_objects = ven_token(
        &app,
        "default",
        "ven-a",
        "write_subscriptions,read_ven_objects",
    )
    .await;
    let own = expect_json(
        call_as(
            &app,
            &ven_objects,
            Method::POST,
            "/subscriptions",
            Some(subscription(&p, "ven-a", json!(["EVENT"]))),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(listed_as(&app, &ven_objects, "").await, vec![id_of(&own)]);

    // A VEN subscribes only to programs it may read; others do not exist for it.
    let hidden = id_of(
        &app.create_program("for-b", json!([{"type": "VEN_NAME", "values": ["ven-b"]}]))
            .await,
    );
    let refused = call_as(
        &app,
        &ven_objects,
        Method::POST,
        "/subscriptions",
        Some(subscription(&hidden, "ven-a", json!(["EVENT"]))),
    )
    .await;
    assert_eq!(
        expect_problem(refused, 400).await,
        format!("programID: program '{hidden}' does not exist")
    );

    let created = expect_json(app.post("/subscriptions", body.clone()).await, 201).await;
    let path = format!("/subscriptions/{}", id_of(&created));
    let other = app
        .tenant_token("acme", "read_all,write_subscriptions")
        .await;
    assert!(listed_as(&app, &other, "").await.is_empty());
    expect_problem(call_as(&app, &other, Method::GET, &path, None).await, 404).await;
    expect_problem(
        call_as(&app, &other, Method::PUT, &path, Some(body.clone())).await,
        404,
    )
    .await;
    expect_problem(
        call_as(&app, &other, Method::DELETE, &path, None).await,
        404,
    )
    .await;
    let detail = expect_problem(
        call_as(&app, &other, Method::POST, "/subscriptions", Some(body)).await,
        400,
    )
    .await;
    assert!(detail.starts_with("programID:"), "{detail}");
    expect_json(app.get(&path).await, 200).await;
}

backend_tests!(
    crud_round_trips_the_full_object,
    filters_combine_and_page,
    bad_input_is_a_400_naming_the_field,
    deleting_a_program_deletes_its_subscriptions,
    a_ven_client_sees_and_writes_only_its_own_subscriptions,
    scopes_and_tenants_are_respected,
);
