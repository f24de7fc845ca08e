//! `/vens` and `/vens/{venID}/resources`: create, read, replace, delete, filtered and paged lists,
//! unique names, and what a VEN client may see and change of them.

use crate::backend_tests;
use crate::helpers::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// A token of a new VEN client bound to `ven_name` in `tenant`, made with the CLI as an operator
/// would: `openadr3-vtn client create --role ven --ven-name NAME`.
pub async fn ven_token(app: &TestApp, tenant: &str, ven_name: &str, scopes: &str) -> String {
    let output = vtn_binary()
        .args([
            "client",
            "create",
            "--tenant",
            tenant,
            "--role",
            "ven",
            "--ven-name",
            ven_name,
            "--scopes",
            scopes,
        ])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("run openadr3-vtn client create");
    assert!(
        output.status.success(),
        "client create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).expect("client create prints JSON");
    app.token_for(
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
        None,
    )
    .await
}

/// `method path` with `token` and an optional JSON body.
pub async fn call_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Response {
    let mut builder = app.request(method, path, Some(token));
    if let Some(body) = body {
        builder = builder.json(&body);
    }
    builder.send().await.expect("request sent")
}

/// Creates a VEN with the admin token and returns its body (asserting 201).
pub async fn create_ven(app: &TestApp, body: Value) -> Value {
    expect_json(app.post("/vens", body).await, 201).await
}

/// Creates a resource of `ven_id` with the admin token and returns its body (asserting 201).
pub async fn create_resource(app: &TestApp, ven_id: &str, body: Value) -> Value {
    expect_json(
        app.post(&format!("/vens/{ven_id}/resources"), body).await,
        201,
    )
    .await
}

async fn listed(app: &TestApp, path: &str) -> Vec<String> {
    ids(&expect_json(app.get(path).await, 200).await)
}

const VEN_SCOPES: &str = "read_all,write_vens";

async fn ven_crud_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sent = json!({
        "venName": "VEN-999",
        "attributes": [{"type": "LOCATION", "values": [{"x": 1.5, "y": 2.5}]}],
        "targets": [{"type": "GROUP", "values": ["g1", "g2"]}],
    });
    let mut with_server_fields = sent.clone();
    with_server_fields["id"] = json!("client-chosen");
    with_server_fields["objectType"] = json!("VEN");
    with_server_fields["createdDateTime"] = json!("2001-01-01T00:00:00Z");
    with_server_fields["resources"] = Value::Null;
    let ven = create_ven(&app, with_server_fields).await;
    let id = id_of(&ven);
    assert_ne!(id, "client-chosen");
    assert_eq!(ven["objectType"], "VEN");
    assert_eq!(without_server_fields(&ven), sent, "no resources, no nulls");
    assert_eq!(
        date_time(&ven, "createdDateTime"),
        date_time(&ven, "modificationDateTime")
    );
    assert_ne!(ven["createdDateTime"], "2001-01-01T00:00:00Z");
    assert_eq!(
        expect_json(app.get(&format!("/vens/{id}")).await, 200).await,
        ven
    );
    assert_eq!(listed(&app, "/vens").await, vec![id.clone()]);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let replaced = expect_json(
        app.put(&format!("/vens/{id}"), json!({"venName": "VEN-1000"}))
            .await,
        200,
    )
    .await;
    assert_eq!(id_of(&replaced), id);
    assert_eq!(replaced["createdDateTime"], ven["createdDateTime"]);
    assert!(date_time(&replaced, "modificationDateTime") > date_time(&ven, "modificationDateTime"));
    assert_eq!(
        without_server_fields(&replaced),
        json!({"venName": "VEN-1000"}),
        "PUT replaces the whole VEN"
    );
    assert_eq!(
        expect_json(app.get(&format!("/vens/{id}")).await, 200).await,
        replaced
    );
    assert!(
        listed(&app, "/vens?targetType=GROUP").await.is_empty(),
        "the old targets are gone"
    );

    let deleted = expect_json(app.delete(&format!("/vens/{id}")).await, 200).await;
    assert_eq!(deleted, replaced);
    expect_problem(app.get(&format!("/vens/{id}")).await, 404).await;
    expect_problem(app.delete(&format!("/vens/{id}")).await, 404).await;
    assert!(listed(&app, "/vens").await.is_empty());
}

async fn resource_crud_round_trip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ven = create_ven(&app, json!({"venName": "ven-a"})).await;
    let ven_id = id_of(&ven);
    let base = format!("/vens/{ven_id}/resources");
    let sent = json!({
        "resourceName": "meter-1",
        "attributes": [{"type": "MAX_POWER_CONSUMPTION", "values": [7.5]}],
        "targets": [{"type": "GROUP", "values": ["g1"]}],
    });
    let resource = create_resource(&app, &ven_id, sent.clone()).await;
    let id = id_of(&resource);
    assert_eq!(resource["objectType"], "RESOURCE");
    assert_eq!(
        resource["venID"],
        ven_id.as_str(),
        "venID comes from the path"
    );
    let mut expected = sent.clone();
    expected["venID"] = json!(ven_id);
    assert_eq!(without_server_fields(&resource), expected);
    assert_eq!(
        expect_json(app.get(&format!("{base}/{id}")).await, 200).await,
        resource
    );
    assert_eq!(listed(&app, &base).await, vec![id.clone()]);

    // The body may repeat the VEN's id; the VEN itself is returned without its resources.
    let replaced = expect_json(
        app.put(
            &format!("{base}/{id}"),
            json!({"resourceName": "meter-2", "venID": ven_id}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(id_of(&replaced), id);
    assert_eq!(replaced["createdDateTime"], resource["createdDateTime"]);
    assert_eq!(
        without_server_fields(&replaced),
        json!({"resourceName": "meter-2", "venID": ven_id})
    );
    let ven_now = expect_json(app.get(&format!("/vens/{ven_id}")).await, 200).await;
    assert!(ven_now.get("resources").is_none(), "{ven_now}");

    let deleted = expect_json(app.delete(&format!("{base}/{id}")).await, 200).await;
    assert_eq!(deleted, replaced);
    expect_problem(app.get(&format!("{base}/{id}")).await, 404).await;
    assert!(listed(&app, &base).await.is_empty());
}

async fn deleting_a_ven_deletes_its_resources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ven_id = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    let resource = create_resource(&app, &ven_id, json!({"resourceName": "meter-1"})).await;
    expect_json(app.delete(&format!("/vens/{ven_id}")).await, 200).await;
    let detail = expect_problem(
        app.get(&format!("/vens/{ven_id}/resources/{}", id_of(&resource)))
            .await,
        404,
    )
    .await;
    assert!(detail.contains(&ven_id), "{detail}");
    // The same names can be used again, and the new VEN starts without resources.
    let again = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    assert!(listed(&app, &format!("/vens/{again}/resources"))
        .await
        .is_empty());
    create_resource(&app, &again, json!({"resourceName": "meter-1"})).await;
}

async fn ven_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(
        &create_ven(
            &app,
            json!({"venName": "a", "targets": [{"type": "GROUP", "values": ["g1"]}]}),
        )
        .await,
    );
    let b = id_of(
        &create_ven(
            &app,
            json!({"venName": "b", "targets": [{"type": "GROUP", "values": ["g2"]}, {"type": "ZONE", "values": [7]}]}),
        )
        .await,
    );
    let c = id_of(&create_ven(&app, json!({"venName": "c"})).await);
    assert_eq!(
        listed(&app, "/vens").await,
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(listed(&app, "/vens?venName=b").await, vec![b.clone()]);
    assert!(listed(&app, "/vens?venName=zzz").await.is_empty());
    assert_eq!(
        listed(&app, "/vens?targetType=GROUP").await,
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        listed(
            &app,
            "/vens?targetType=GROUP&targetValues=g2&targetValues=g1"
        )
        .await,
        vec![a.clone(), b.clone()]
    );
    assert_eq!(listed(&app, "/vens?targetValues=7").await, vec![b.clone()]);
    assert!(listed(&app, "/vens?targetType=ZONE&targetValues=g1")
        .await
        .is_empty());
    assert_eq!(
        listed(&app, "/vens?venName=a&targetValues=g1").await,
        vec![a.clone()]
    );
    assert_eq!(listed(&app, "/vens?skip=1&limit=1").await, vec![b.clone()]);
    assert_eq!(listed(&app, "/vens?skip=2").await, vec![c.clone()]);
    assert!(listed(&app, "/vens?limit=0").await.is_empty());
    for (query, field) in [
        ("limit=51", "limit"),
        ("skip=-1", "skip"),
        ("venName=", "venName"),
        ("venName=a&venName=b", "venName"),
        ("resourceName=x", "resourceName"),
        ("programID=p", "programID"),
    ] {
        let detail = expect_problem(app.get(&format!("/vens?{query}")).await, 400).await;
        assert!(detail.contains(field), "{query}: {detail}");
    }
}

async fn resource_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ven = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    let other = id_of(&create_ven(&app, json!({"venName": "ven-b"})).await);
    let base = format!("/vens/{ven}/resources");
    let r1 = id_of(
        &create_resource(
            &app,
            &ven,
            json!({"resourceName": "r1", "targets": [{"type": "GROUP", "values": ["g1"]}]}),
        )
        .await,
    );
    let r2 = id_of(&create_resource(&app, &ven, json!({"resourceName": "r2"})).await);
    let r3 = id_of(
        &create_resource(
            &app,
            &ven,
            json!({"resourceName": "r3", "targets": [{"type": "GROUP", "values": ["g2"]}]}),
        )
        .await,
    );
    // A resource of another VEN, with the same name, is not listed here.
    create_resource(
        &app,
        &other,
        json!({"resourceName": "r1", "targets": [{"type": "GROUP", "values": ["g1"]}]}),
    )
    .await;
    assert_eq!(
        listed(&app, &base).await,
        vec![r1.clone(), r2.clone(), r3.clone()]
    );
    assert_eq!(
        listed(&app, &format!("{base}?resourceName=r2")).await,
        vec![r2.clone()]
    );
    assert_eq!(
        listed(&app, &format!("{base}?targetType=GROUP")).await,
        vec![r1.clone(), r3.clone()]
    );
    assert_eq!(
        listed(&app, &format!("{base}?targetValues=g2")).await,
        vec![r3.clone()]
    );
    assert_eq!(
        listed(&app, &format!("{base}?resourceName=r1&targetValues=g2")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        listed(&app, &format!("{base}?skip=1&limit=1")).await,
        vec![r2.clone()]
    );
    for (query, field) in [
        ("limit=99", "limit"),
        ("venName=x", "venName"),
        ("resourceName=", "resourceName"),
    ] {
        let detail = expect_problem(app.get(&format!("{base}?{query}")).await, 400).await;
        assert!(detail.contains(field), "{query}: {detail}");
    }
}

async fn duplicate_names_are_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    let b = id_of(&create_ven(&app, json!({"venName": "ven-b"})).await);
    let detail = expect_problem(app.post("/vens", json!({"venName": "ven-a"})).await, 409).await;
    assert!(
        detail.starts_with("venName:") && detail.contains("ven-a"),
        "{detail}"
    );
    let detail = expect_problem(
        app.put(&format!("/vens/{b}"), json!({"venName": "ven-a"}))
            .await,
        409,
    )
    .await;
    assert!(detail.starts_with("venName:"), "{detail}");
    // Keeping one's own name is no conflict.
    expect_json(
        app.put(&format!("/vens/{b}"), json!({"venName": "ven-b"}))
            .await,
        200,
    )
    .await;

    let r1 = id_of(&create_resource(&app, &a, json!({"resourceName": "meter"})).await);
    let r2 = id_of(&create_resource(&app, &a, json!({"resourceName": "meter-2"})).await);
    let detail = expect_problem(
        app.post(
            &format!("/vens/{a}/resources"),
            json!({"resourceName": "meter"}),
        )
        .await,
        409,
    )
    .await;
    assert!(
        detail.starts_with("resourceName:") && detail.contains("meter"),
        "{detail}"
    );
    let detail = expect_problem(
        app.put(
            &format!("/vens/{a}/resources/{r2}"),
            json!({"resourceName": "meter"}),
        )
        .await,
        409,
    )
    .await;
    assert!(detail.starts_with("resourceName:"), "{detail}");
    // The same resource name in another VEN, and the same VEN name in another tenant, are fine.
    create_resource(&app, &b, json!({"resourceName": "meter"})).await;
    let other_tenant = app.tenant_token("acme", VEN_SCOPES).await;
    let response = call_as(
        &app,
        &other_tenant,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-a"})),
    )
    .await;
    expect_json(response, 201).await;
    assert_eq!(
        listed(&app, &format!("/vens/{a}/resources")).await,
        vec![r1, r2]
    );
}

async fn unknown_ids_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    let b = id_of(&create_ven(&app, json!({"venName": "ven-b"})).await);
    let r = id_of(&create_resource(&app, &a, json!({"resourceName": "meter"})).await);
    let missing = "no-such-ven";
    let detail = expect_problem(app.get(&format!("/vens/{missing}")).await, 404).await;
    assert!(detail.contains(missing), "{detail}");
    expect_problem(
        app.put(&format!("/vens/{missing}"), json!({"venName": "x"}))
            .await,
        404,
    )
    .await;
    expect_problem(app.delete(&format!("/vens/{missing}")).await, 404).await;
    for response in [
        app.get(&format!("/vens/{missing}/resources")).await,
        app.post(
            &format!("/vens/{missing}/resources"),
            json!({"resourceName": "m"}),
        )
        .await,
        app.get(&format!("/vens/{missing}/resources/{r}")).await,
        app.put(
            &format!("/vens/{missing}/resources/{r}"),
            json!({"resourceName": "m"}),
        )
        .await,
        app.delete(&format!("/vens/{missing}/resources/{r}")).await,
    ] {
        let detail = expect_problem(response, 404).await;
        assert!(detail.contains(missing), "{detail}");
    }
    // A resource is found only under its own VEN.
    for response in [
        app.get(&format!("/vens/{b}/resources/{r}")).await,
        app.put(
            &format!("/vens/{b}/resources/{r}"),
            json!({"resourceName": "m"}),
        )
        .await,
        app.delete(&format!("/vens/{b}/resources/{r}")).await,
        app.get(&format!("/vens/{a}/resources/no-such-resource"))
            .await,
    ] {
        expect_problem(response, 404).await;
    }
    // Nothing was created under the missing VEN, and the resource is intact.
    assert_eq!(
        expect_json(app.get(&format!("/vens/{a}/resources/{r}")).await, 200).await["resourceName"],
        "meter"
    );
    // Another tenant's VEN does not exist for this one.
    let other_tenant = app.tenant_token("acme", VEN_SCOPES).await;
    let response = call_as(
        &app,
        &other_tenant,
        Method::GET,
        &format!("/vens/{a}"),
        None,
    )
    .await;
    expect_problem(response, 404).await;
    let response = call_as(
        &app,
        &other_tenant,
        Method::GET,
        &format!("/vens/{a}/resources"),
        None,
    )
    .await;
    expect_problem(response, 404).await;
}

async fn bad_input_is_400(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    let r = id_of(&create_resource(&app, &a, json!({"resourceName": "meter"})).await);
    for (body, field) in [
        (json!({}), "venName"),
        (json!({"venName": ""}), "venName"),
        (json!({"venName": "x".repeat(129)}), "venName"),
        (json!({"venName": 7}), "venName"),
        (json!({"venName": "v", "colour": "red"}), "colour"),
        (
            json!({"venName": "v", "objectType": "RESOURCE"}),
            "objectType",
        ),
        (
            json!({"venName": "v", "targets": [{"type": "GROUP"}]}),
            "targets[0]",
        ),
        (
            json!({"venName": "v", "attributes": [{"type": "", "values": []}]}),
            "attributes[0].type",
        ),
        (
            json!({"venName": "v", "resources": [{"resourceName": "m"}]}),
            "resources",
        ),
        (json!({"venName": "v", "resources": []}), "resources"),
    ] {
        let detail = expect_problem(app.post("/vens", body.clone()).await, 400).await;
        assert!(detail.contains(field), "{body}: {detail}");
        let detail = expect_problem(app.put(&format!("/vens/{a}"), body.clone()).await, 400).await;
        assert!(detail.contains(field), "PUT {body}: {detail}");
    }
    let base = format!("/vens/{a}/resources");
    for (body, field) in [
        (json!({}), "resourceName"),
        (json!({"resourceName": "m", "venName": "ven-a"}), "venName"),
        (
            json!({"resourceName": "m", "objectType": "VEN"}),
            "objectType",
        ),
        (
            json!({"resourceName": "m", "venID": "some-other-ven"}),
            "venID",
        ),
        (json!({"resourceName": "m", "venID": "not an id"}), "venID"),
    ] {
        let detail = expect_problem(app.post(&base, body.clone()).await, 400).await;
        assert!(detail.contains(field), "{body}: {detail}");
        let detail = expect_problem(app.put(&format!("{base}/{r}"), body.clone()).await, 400).await;
        assert!(detail.contains(field), "PUT {body}: {detail}");
    }
    for (path, field) in [
        ("/vens/a%20b".to_owned(), "venID"),
        (format!("/vens/{}", "x".repeat(129)), "venID"),
        ("/vens/a%20b/resources".to_owned(), "venID"),
        (format!("/vens/{a}/resources/a%2Bb"), "resourceID"),
    ] {
        let detail = expect_problem(app.get(&path).await, 400).await;
        assert!(detail.starts_with(field), "{path}: {detail}");
    }
    // Nothing was changed by the refused requests.
    assert_eq!(listed(&app, "/vens").await, vec![a.clone()]);
    assert_eq!(listed(&app, &base).await, vec![r]);
    let response = app.call(Method::PATCH, &format!("/vens/{a}"), None).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PUT, DELETE");
}

async fn scopes_decide_who_reads_and_writes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(&create_ven(&app, json!({"venName": "ven-a"})).await);
    let reader = app.tenant_token("default", "read_all").await;
    expect_json(
        call_as(&app, &reader, Method::GET, "/vens", None).await,
        200,
    )
    .await;
    let response = call_as(
        &app,
        &reader,
        Method::POST,
        "/vens",
        Some(json!({"venName": "x"})),
    )
    .await;
    assert!(expect_problem(response, 403).await.contains("write_vens"));
    let response = call_as(&app, &reader, Method::DELETE, &format!("/vens/{a}"), None).await;
    expect_problem(response, 403).await;
    let writer = app.tenant_token("default", "write_vens").await;
    let response = call_as(&app, &writer, Method::GET, "/vens", None).await;
    assert!(expect_problem(response, 403).await.contains("read_all"));

    // A VEN client reads its own VEN with read_ven_objects alone; read_targets is not enough.
    let ven_objects = ven_token(&app, "default", "ven-a", "read_ven_objects").await;
    let own = call_as(&app, &ven_objects, Method::GET, &format!("/vens/{a}"), None).await;
    assert_eq!(id_of(&expect_json(own, 200).await), a);
    let listed = call_as(
        &app,
        &ven_objects,
        Method::GET,
        &format!("/vens/{a}/resources"),
        None,
    )
    .await;
    expect_json(listed, 200).await;
    let response = call_as(
        &app,
        &ven_objects,
        Method::PUT,
        &format!("/vens/{a}"),
        Some(json!({"venName": "ven-a"})),
    )
    .await;
    assert!(expect_problem(response, 403).await.contains("write_vens"));
    let targets_only = ven_token(&app, "default", "ven-a", "read_targets").await;
    let response = call_as(&app, &targets_only, Method::GET, "/vens", None).await;
    expect_problem(response, 403).await;
    // A business-logic client needs read_all: read_ven_objects is for VEN clients.
    let bl_ven_objects = app.tenant_token("default", "read_ven_objects").await;
    let response = call_as(&app, &bl_ven_objects, Method::GET, "/vens", None).await;
    expect_problem(response, 403).await;
}

async fn ven_client_sees_and_writes_only_its_own_ven(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let a = id_of(
        &create_ven(
            &app,
            json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g"]}]}),
        )
        .await,
    );
    let b = id_of(
        &create_ven(
            &app,
            json!({"venName": "ven-b", "targets": [{"type": "GROUP", "values": ["g"]}]}),
        )
        .await,
    );
    let rb = id_of(&create_resource(&app, &b, json!({"resourceName": "meter-b"})).await);
    let ven = ven_token(&app, "default", "ven-a", VEN_SCOPES).await;
    let get = |path: String| {
        let (app, ven) = (&app, ven.clone());
        async move { call_as(app, &ven, Method::GET, &path, None).await }
    };

    // Lists hold only its own VEN, whatever the filters ask for.
    assert_eq!(
        ids(&expect_json(get("/vens".into()).await, 200).await),
        vec![a.clone()]
    );
    assert_eq!(
        ids(&expect_json(get("/vens?targetType=GROUP".into()).await, 200).await),
        vec![a.clone()]
    );
    assert!(ids(&expect_json(get("/vens?venName=ven-b".into()).await, 200).await).is_empty());

    // Another VEN, and everything under it, is 404, exactly like a VEN that does not exist.
    for (method, path, body) in [
        (Method::GET, format!("/vens/{b}"), None),
        (
            Method::PUT,
            format!("/vens/{b}"),
            Some(json!({"venName": "ven-b"})),
        ),
        (Method::DELETE, format!("/vens/{b}"), None),
        (Method::GET, format!("/vens/{b}/resources"), None),
        (
            Method::POST,
            format!("/vens/{b}/resources"),
            Some(json!({"resourceName": "m"})),
        ),
        (Method::GET, format!("/vens/{b}/resources/{rb}"), None),
        (
            Method::PUT,
            format!("/vens/{b}/resources/{rb}"),
            Some(json!({"resourceName": "m"})),
        ),
        (Method::DELETE, format!("/vens/{b}/resources/{rb}"), None),
    ] {
        let response = call_as(&app, &ven, method.clone(), &path, body).await;
        let detail = expect_problem(response, 404).await;
        assert!(detail.contains(&b), "{method} {path}: {detail}");
    }
    // It may neither create another VEN nor rename its own.
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-c"})),
    )
    .await;
    let detail = expect_problem(response, 403).await;
    assert!(
        detail.starts_with("venName:") && detail.contains("ven-a"),
        "{detail}"
    );
    let response = call_as(
        &app,
        &ven,
        Method::PUT,
        &format!("/vens/{a}"),
        Some(json!({"venName": "ven-z"})),
    )
    .await;
    expect_problem(response, 403).await;
    // Its own VEN exists already: a second one of the same name is a conflict.
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-a"})),
    )
    .await;
    expect_problem(response, 409).await;

    // Its own VEN and resources: full access.
    let response = call_as(
        &app,
        &ven,
        Method::PUT,
        &format!("/vens/{a}"),
        Some(
            json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g"]}],
                   "attributes": [{"type": "X", "values": [1]}]}),
        ),
    )
    .await;
    assert_eq!(
        expect_json(response, 200).await["attributes"][0]["type"],
        "X"
    );
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        &format!("/vens/{a}/resources"),
        Some(json!({"resourceName": "meter-a"})),
    )
    .await;
    let ra = id_of(&expect_json(response, 201).await);
    assert_eq!(
        ids(&expect_json(get(format!("/vens/{a}/resources")).await, 200).await),
        vec![ra.clone()]
    );
    let response = call_as(
        &app,
        &ven,
        Method::PUT,
        &format!("/vens/{a}/resources/{ra}"),
        Some(json!({"resourceName": "meter-a2"})),
    )
    .await;
    assert_eq!(expect_json(response, 200).await["resourceName"], "meter-a2");
    let response = call_as(
        &app,
        &ven,
        Method::DELETE,
        &format!("/vens/{a}/resources/{ra}"),
        None,
    )
    .await;
    expect_json(response, 200).await;

    // The business-logic client still sees everything, untouched.
    assert_eq!(listed(&app, "/vens").await, vec![a.clone(), b.clone()]);
    assert_eq!(
        listed(&app, &format!("/vens/{b}/resources")).await,
        vec![rb]
    );

    // The VEN client may delete its own VEN, then register it again.
    let response = call_as(&app, &ven, Method::DELETE, &format!("/vens/{a}"), None).await;
    expect_json(response, 200).await;
    assert!(ids(&expect_json(get("/vens".into()).await, 200).await).is_empty());
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-a"})),
    )
    .await;
    let again = expect_json(response, 201).await;
    assert_eq!(
        ids(&expect_json(get("/vens".into()).await, 200).await),
        vec![id_of(&again)]
    );
}

async fn a_new_ven_client_registers_its_ven(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ven = ven_token(&app, "default", "ven-new", VEN_SCOPES).await;
    assert!(
        ids(&expect_json(call_as(&app, &ven, Method::GET, "/vens", None).await, 200).await)
            .is_empty()
    );
    let response = call_as(
        &app,
        &ven,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-new"})),
    )
    .await;
    let created = expect_json(response, 201).await;
    assert_eq!(created["venName"], "ven-new");
    let response = call_as(&app, &ven, Method::GET, "/vens", None).await;
    assert_eq!(
        ids(&expect_json(response, 200).await),
        vec![id_of(&created)]
    );
    assert_eq!(listed(&app, "/vens").await, vec![id_of(&created)]);
}

async fn deleting_a_tenant_deletes_its_vens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let acme = app.tenant_token("acme", VEN_SCOPES).await;
    let response = call_as(
        &app,
        &acme,
        Method::POST,
        "/vens",
        Some(json!({"venName": "ven-a", "targets": [{"type": "GROUP", "values": ["g"]}]})),
    )
    .await;
    let ven = id_of(&expect_json(response, 201).await);
    let path = format!("/vens/{ven}/resources");
    let response = call_as(
        &app,
        &acme,
        Method::POST,
        &path,
        Some(json!({"resourceName": "m", "targets": [{"type": "GROUP", "values": ["g"]}]})),
    )
    .await;
    expect_json(response, 201).await;
    let output = vtn_binary()
        .args(["tenant", "delete", "acme"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("run openadr3-vtn tenant delete");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A new tenant of the same name starts empty.
    let acme = app.tenant_token("acme", VEN_SCOPES).await;
    let listed = call_as(&app, &acme, Method::GET, "/vens", None).await;
    assert!(ids(&expect_json(listed, 200).await).is_empty());
    expect_problem(call_as(&app, &acme, Method::GET, &path, None).await, 404).await;
}

backend_tests!(
    ven_crud_round_trip,
    resource_crud_round_trip,
    deleting_a_ven_deletes_its_resources,
    ven_filters_and_pages,
    resource_filters_and_pages,
    duplicate_names_are_409,
    unknown_ids_are_404,
    bad_input_is_400,
    scopes_decide_who_reads_and_writes,
    ven_client_sees_and_writes_only_its_own_ven,
    a_new_ven_client_registers_its_ven,
    deleting_a_tenant_deletes_its_vens,
);
