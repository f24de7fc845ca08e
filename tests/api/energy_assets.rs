//! Energy Coordination API: users, vehicles, meters and resources of a service provider (a VEN
//! client), their validation, duplicates, deletes, and who sees them.

use crate::backend_tests;
use crate::helpers::*;
use crate::vens::{call_as, ven_token};
use reqwest::Method;
use serde_json::{json, Value};

pub const SP_SCOPES: &str = "read_all,write_vens,write_reports";

pub async fn post_as(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    call_as(app, token, Method::POST, path, Some(body)).await
}

pub async fn get_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    call_as(app, token, Method::GET, path, None).await
}

pub fn vehicle(id: &str, vin: &str) -> Value {
    json!({"vehicleId": id, "metadata": {"resourceType": "Vehicle", "brand": "Tesla",
           "model": "Model 3", "year": 2022, "vin": vin}})
}

pub fn meter(meter_point: &str) -> Value {
    json!({"address": {"street": "Storgata 1", "city": "Trondheim", "zipCode": "7010"},
           "location": {"latitude": 63.1, "longitude": 10.7},
           "meterPointId": meter_point, "meterNumber": "M-1", "locationType": "Residential"})
}

pub fn tank(id: &str) -> Value {
    json!({"resourceId": id, "metadata": {"resourceType": "HotWaterTank", "brand": "Oso",
           "model": "SuperTank", "capacity": 500, "heatingElements": [1750, 1250]}})
}

/// The OpenADR VEN named `ven` and its resources, as business logic sees them.
pub async fn openadr_view(app: &TestApp, ven: &str) -> (Value, Vec<Value>) {
    let vens = expect_json(app.get(&format!("/vens?venName={ven}")).await, 200).await;
    let ven = vens[0].clone();
    let resources = expect_json(
        app.get(&format!("/vens/{}/resources", id_of(&ven))).await,
        200,
    )
    .await;
    (ven, resources.as_array().unwrap().clone())
}

fn target_values(object: &Value, kind: &str) -> Vec<Value> {
    object["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == kind)
        .flat_map(|t| t["values"].as_array().unwrap().clone())
        .collect()
}

fn attribute(object: &Value, kind: &str) -> Value {
    object["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == kind)
        .map(|a| a["values"].clone())
        .unwrap_or(Value::Null)
}

async fn users_crud_paging_and_bad_input(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    for id in ["u1", "u2", "u3"] {
        let user = expect_json(
            post_as(&app, &sp, "/users", json!({"userId": id})).await,
            201,
        )
        .await;
        assert_eq!(user, json!({"userId": id}));
    }
    let all = expect_json(get_as(&app, &sp, "/users").await, 200).await;
    assert_eq!(
        all,
        json!([{"userId": "u1"}, {"userId": "u2"}, {"userId": "u3"}])
    );
    let page = expect_json(get_as(&app, &sp, "/users?skip=1&limit=1").await, 200).await;
    assert_eq!(page, json!([{"userId": "u2"}]));
    for (query, field) in [
        ("limit=51", "limit"),
        ("skip=-1", "skip"),
        ("colour=red", "colour"),
    ] {
        let detail = expect_problem(get_as(&app, &sp, &format!("/users?{query}")).await, 400).await;
        assert!(detail.contains(field), "{query}: {detail}");
    }
    let detail = expect_problem(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        409,
    )
    .await;
    assert!(detail.contains("'u1'"), "{detail}");
    for (body, field) in [
        (json!({"userId": "u 9"}), "userId"),
        (json!({"userId": 7}), "userId"),
        (json!({"userId": "u9", "name": "x"}), "name"),
        (json!({}), "userId"),
    ] {
        let detail = expect_problem(post_as(&app, &sp, "/users", body.clone()).await, 400).await;
        assert!(detail.contains(field), "{body}: {detail}");
    }
    assert_eq!(
        expect_json(get_as(&app, &sp, "/users/u2").await, 200).await,
        json!({"userId": "u2"})
    );
    expect_problem(get_as(&app, &sp, "/users/nobody").await, 404).await;
    let detail = expect_problem(get_as(&app, &sp, "/users/a%20b").await, 400).await;
    assert!(detail.starts_with("userId:"), "{detail}");
    let put = |body: Value| call_as(&app, &sp, Method::PUT, "/users/u2", Some(body));
    expect_json(put(json!({"userId": "u2"})).await, 200).await;
    let detail = expect_problem(put(json!({"userId": "u7"})).await, 400).await;
    assert!(detail.contains("cannot be renamed"), "{detail}");
    let deleted = call_as(&app, &sp, Method::DELETE, "/users/u2", None).await;
    assert_eq!(expect_json(deleted, 200).await, json!({"userId": "u2"}));
    expect_problem(get_as(&app, &sp, "/users/u2").await, 404).await;
    expect_problem(
        call_as(&app, &sp, Method::DELETE, "/users/u2", None).await,
        404,
    )
    .await;
    let detail = expect_problem(
        call_as(&app, &sp, Method::PATCH, "/users/u1", None).await,
        405,
    )
    .await;
    assert!(!detail.is_empty());
}

async fn only_service_providers_call_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Business logic: 403 naming the rule, reads and writes alike.
    let detail = expect_problem(app.get("/users").await, 403).await;
    assert!(detail.contains("VEN clients"), "{detail}");
    expect_problem(app.post("/users", json!({"userId": "u1"})).await, 403).await;
    // Without a token: 401; a VEN client without write_vens may read but not write.
    expect_problem(
        app.request(Method::GET, "/users", None)
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let reader = ven_token(&app, "default", "sp1", "read_all").await;
    expect_json(get_as(&app, &reader, "/users").await, 200).await;
    expect_problem(
        post_as(&app, &reader, "/users", json!({"userId": "u1"})).await,
        403,
    )
    .await;
}

async fn one_provider_never_sees_anothers_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp1 = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    let sp2 = ven_token(&app, "default", "sp2", SP_SCOPES).await;
    app.create_client("acme", "read_all").await;
    let other_tenant = ven_token(&app, "acme", "sp1", SP_SCOPES).await;
    expect_json(
        post_as(&app, &sp1, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp1, "/users/u1/meters", meter("MP-1")).await,
        201,
    )
    .await;
    expect_json(
        post_as(
            &app,
            &sp1,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    for token in [&sp2, &other_tenant] {
        assert_eq!(
            expect_json(get_as(&app, token, "/users").await, 200).await,
            json!([])
        );
        expect_problem(get_as(&app, token, "/users/u1").await, 404).await;
        expect_problem(get_as(&app, token, "/users/u1/vehicles").await, 404).await;
        expect_problem(get_as(&app, token, "/users/u1/vehicles/car-1").await, 404).await;
        expect_problem(
            post_as(&app, token, "/users/u1/meters", meter("MP-2")).await,
            404,
        )
        .await;
        expect_problem(
            call_as(&app, token, Method::DELETE, "/users/u1", None).await,
            404,
        )
        .await;
        // The same user id is free for them.
        expect_json(
            post_as(&app, token, "/users", json!({"userId": "u1"})).await,
            201,
        )
        .await;
        assert_eq!(
            expect_json(get_as(&app, token, "/users/u1/meters").await, 200).await,
            json!([])
        );
    }
    // A meter point or vehicle of the tenant is registered once, without revealing whose it is.
    let detail = expect_problem(
        post_as(&app, &sp2, "/users/u1/meters", meter("MP-1")).await,
        409,
    )
    .await;
    assert!(detail.contains("another service provider"), "{detail}");
    let detail = expect_problem(
        post_as(
            &app,
            &sp2,
            "/users/u1/vehicles",
            vehicle("car-9", "5YJ3E1EA7KF317000"),
        )
        .await,
        409,
    )
    .await;
    assert!(detail.contains("another service provider"), "{detail}");
    // Another tenant may register the same meter point and vehicle.
    expect_json(
        post_as(&app, &other_tenant, "/users/u1/meters", meter("MP-1")).await,
        201,
    )
    .await;
    expect_json(
        post_as(
            &app,
            &other_tenant,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    // sp2 sees nothing of sp1 through OpenADR either.
    let vens = expect_json(get_as(&app, &sp2, "/vens").await, 200).await;
    assert!(
        vens.as_array()
            .unwrap()
            .iter()
            .all(|v| v["venName"] == "sp2"),
        "{vens}"
    );
}

async fn vehicles_validated_mapped_and_unique(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    let sent = vehicle("car-1", "5YJ3E1EA7KF317000");
    let car = expect_json(
        post_as(&app, &sp, "/users/u1/vehicles", sent.clone()).await,
        201,
    )
    .await;
    assert_eq!(car, sent);
    assert_eq!(
        expect_json(get_as(&app, &sp, "/users/u1/vehicles/car-1").await, 200).await,
        sent
    );
    assert_eq!(
        expect_json(get_as(&app, &sp, "/users/u1/vehicles").await, 200).await,
        json!([sent])
    );
    // One model: an OpenADR resource of the VEN (registered on first use).
    let (ven, resources) = openadr_view(&app, "sp1").await;
    assert_eq!(ven["venName"], "sp1");
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0]["resourceName"], "car-1");
    assert_eq!(attribute(&resources[0], "userId"), json!(["u1"]));
    assert_eq!(
        attribute(&resources[0], "vin"),
        json!(["5YJ3E1EA7KF317000"])
    );
    assert_eq!(attribute(&resources[0], "resourceType"), json!(["Vehicle"]));

    let bad = |field: &str, value: Value| {
        let mut body = vehicle("car-2", "5YJ3E1EA7KF317001");
        body["metadata"][field] = value;
        body
    };
    for (body, expected) in [
        (
            bad("vin", json!("5YJ3E1EA7KF31700")),
            "metadata.vin: must be 17 characters",
        ),
        (bad("vin", json!("5YJ3E1EA7KF3170I0")), "metadata.vin:"),
        (bad("vin", json!("5YJ3E1EA7KF3170Q0")), "metadata.vin:"),
        (bad("year", json!(1850)), "metadata.year:"),
        (bad("year", json!(3000)), "metadata.year:"),
        (bad("year", json!("2020")), "metadata.year"),
        (
            bad("resourceType", json!("HotWaterTank")),
            "metadata.resourceType: must be Vehicle",
        ),
        (
            bad("resourceType", json!("Toaster")),
            "metadata.resourceType",
        ),
        (bad("colour", json!("red")), "colour"),
        (
            json!({"vehicleId": "car 2", "metadata": {"resourceType": "Vehicle"}}),
            "vehicleId",
        ),
    ] {
        let detail = expect_problem(
            post_as(&app, &sp, "/users/u1/vehicles", body.clone()).await,
            400,
        )
        .await;
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    // Duplicates: same id, or same VIN under another id: 409 naming the existing vehicle.
    let detail = expect_problem(
        post_as(&app, &sp, "/users/u1/vehicles", sent.clone()).await,
        409,
    )
    .await;
    assert!(detail.contains("vehicle 'car-1'"), "{detail}");
    let detail = expect_problem(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-2", "5YJ3E1EA7KF317000"),
        )
        .await,
        409,
    )
    .await;
    assert!(
        detail.contains("metadata.vin") && detail.contains("'car-1'"),
        "{detail}"
    );
    expect_problem(
        post_as(
            &app,
            &sp,
            "/users/nobody/vehicles",
            vehicle("car-3", "5YJ3E1EA7KF317003"),
        )
        .await,
        404,
    )
    .await;
    // Nothing half-written by the refusals.
    assert_eq!(openadr_view(&app, "sp1").await.1.len(), 1);

    // PUT replaces the metadata, and the resource's attributes follow.
    let mut changed = vehicle("car-1", "5YJ3E1EA7KF317009");
    changed["metadata"]["model"] = json!("Model Y");
    let put = call_as(
        &app,
        &sp,
        Method::PUT,
        "/users/u1/vehicles/car-1",
        Some(changed.clone()),
    )
    .await;
    assert_eq!(expect_json(put, 200).await, changed);
    let (_, resources) = openadr_view(&app, "sp1").await;
    assert_eq!(attribute(&resources[0], "model"), json!(["Model Y"]));
    let wrong_id = call_as(
        &app,
        &sp,
        Method::PUT,
        "/users/u1/vehicles/car-1",
        Some(vehicle("car-5", "5YJ3E1EA7KF317009")),
    )
    .await;
    assert!(expect_problem(wrong_id, 400)
        .await
        .starts_with("vehicleId:"));
    // The old VIN is free again.
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-2", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    let taken = call_as(
        &app,
        &sp,
        Method::PUT,
        "/users/u1/vehicles/car-1",
        Some(vehicle("car-1", "5YJ3E1EA7KF317000")),
    )
    .await;
    assert!(expect_problem(taken, 409).await.contains("'car-2'"));

    // DELETE removes the OpenADR resource too.
    let deleted = call_as(&app, &sp, Method::DELETE, "/users/u1/vehicles/car-1", None).await;
    assert_eq!(expect_json(deleted, 200).await, changed);
    expect_problem(get_as(&app, &sp, "/users/u1/vehicles/car-1").await, 404).await;
    let names: Vec<Value> = openadr_view(&app, "sp1")
        .await
        .1
        .iter()
        .map(|r| r["resourceName"].clone())
        .collect();
    assert_eq!(names, vec![json!("car-2")]);
}

async fn meters_validated_unique_and_targeted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp, "/users/u1/resources", tank("tank-1")).await,
        201,
    )
    .await;
    let created = expect_json(
        post_as(&app, &sp, "/users/u1/meters", meter("MP-1")).await,
        201,
    )
    .await;
    let meter_id = created["meterId"].as_str().unwrap().to_owned();
    let mut expected = meter("MP-1");
    expected["meterId"] = json!(meter_id);
    assert_eq!(created, expected);
    let path = format!("/users/u1/meters/{meter_id}");
    assert_eq!(
        expect_json(get_as(&app, &sp, &path).await, 200).await,
        expected
    );
    assert_eq!(
        expect_json(get_as(&app, &sp, "/users/u1/meters").await, 200).await,
        json!([expected])
    );
    // The meter's point and id are targets of the user's resources and of the VEN.
    let (ven, resources) = openadr_view(&app, "sp1").await;
    assert_eq!(target_values(&ven, "METER_POINT_ID"), vec![json!("MP-1")]);
    assert_eq!(target_values(&ven, "LOCATION_ID"), vec![json!(meter_id)]);
    assert_eq!(
        target_values(&resources[0], "METER_POINT_ID"),
        vec![json!("MP-1")]
    );

    let bad = |field: &str, value: Value| {
        let mut body = meter("MP-2");
        body[field] = value;
        body
    };
    for (body, expected) in [
        (
            bad("location", json!({"latitude": 90.5, "longitude": 0})),
            "location.latitude",
        ),
        (
            bad("location", json!({"latitude": 0, "longitude": -180.5})),
            "location.longitude",
        ),
        (
            bad("location", json!({"latitude": "north", "longitude": 0})),
            "location.latitude",
        ),
        (bad("locationType", json!("Garage")), "locationType"),
        (bad("meterPointId", json!("")), "meterPointId"),
        (bad("address", json!({"road": "x"})), "address.road"),
        (bad("extra", json!(1)), "extra"),
    ] {
        let detail = expect_problem(
            post_as(&app, &sp, "/users/u1/meters", body.clone()).await,
            400,
        )
        .await;
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    let detail = expect_problem(
        post_as(&app, &sp, "/users/u1/meters", meter("MP-1")).await,
        409,
    )
    .await;
    assert!(detail.contains(&meter_id), "{detail}");

    // PUT moves the meter point: targets follow.
    let put = call_as(&app, &sp, Method::PUT, &path, Some(meter("MP-9"))).await;
    assert_eq!(expect_json(put, 200).await["meterPointId"], "MP-9");
    let (ven, resources) = openadr_view(&app, "sp1").await;
    assert_eq!(target_values(&ven, "METER_POINT_ID"), vec![json!("MP-9")]);
    assert_eq!(
        target_values(&resources[0], "METER_POINT_ID"),
        vec![json!("MP-9")]
    );
    let mut wrong = meter("MP-9");
    wrong["meterId"] = json!("other");
    let detail = expect_problem(
        call_as(&app, &sp, Method::PUT, &path, Some(wrong)).await,
        400,
    )
    .await;
    assert!(detail.starts_with("meterId:"), "{detail}");
    // DELETE removes the targets.
    expect_json(call_as(&app, &sp, Method::DELETE, &path, None).await, 200).await;
    expect_problem(get_as(&app, &sp, &path).await, 404).await;
    let (ven, resources) = openadr_view(&app, "sp1").await;
    assert!(target_values(&ven, "METER_POINT_ID").is_empty(), "{ven}");
    assert!(resources[0].get("targets").is_none(), "{}", resources[0]);
}

async fn resources_validated_and_other_metadata_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    let mut sent = tank("tank-1");
    sent["metadata"]["colour"] = json!("white");
    let created = expect_json(
        post_as(&app, &sp, "/users/u1/resources", sent.clone()).await,
        201,
    )
    .await;
    assert_eq!(created, sent);
    assert_eq!(
        expect_json(get_as(&app, &sp, "/users/u1/resources/tank-1").await, 200).await,
        sent
    );
    let (_, resources) = openadr_view(&app, "sp1").await;
    assert_eq!(
        attribute(&resources[0], "heatingElements"),
        json!([1750, 1250])
    );
    assert_eq!(attribute(&resources[0], "colour"), json!(["white"]));
    for kind in ["Generic", "Vehicle", "Charger", "HVAC", "SolarInverter"] {
        let body = json!({"resourceId": format!("r-{kind}"), "metadata": {"resourceType": kind}});
        expect_json(post_as(&app, &sp, "/users/u1/resources", body).await, 201).await;
    }
    let bad = |field: &str, value: Value| {
        let mut body = tank("tank-2");
        body["metadata"][field] = value;
        body
    };
    for (body, expected) in [
        (
            bad("resourceType", json!("Toaster")),
            "metadata.resourceType",
        ),
        (bad("capacity", json!(-1)), "metadata.capacity"),
        (
            bad("heatingElements", json!([1000, "x"])),
            "metadata.heatingElements",
        ),
        (bad("nested", json!({"a": 1})), "metadata.nested"),
        (
            json!({"resourceId": "tank-2", "metadata": {"brand": "Oso"}}),
            "resourceType",
        ),
        (json!({"resourceId": "tank-2"}), "metadata"),
    ] {
        let detail = expect_problem(
            post_as(&app, &sp, "/users/u1/resources", body.clone()).await,
            400,
        )
        .await;
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    // A resource id is unique in the tenant, among vehicles too.
    let detail = expect_problem(
        post_as(&app, &sp, "/users/u1/resources", tank("tank-1")).await,
        409,
    )
    .await;
    assert!(detail.contains("resource 'tank-1'"), "{detail}");
    let detail = expect_problem(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("tank-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        409,
    )
    .await;
    assert!(detail.contains("'tank-1'"), "{detail}");
    // A vehicle is not a resource of /resources and vice versa.
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    expect_problem(get_as(&app, &sp, "/users/u1/resources/car-1").await, 404).await;
    expect_problem(get_as(&app, &sp, "/users/u1/vehicles/tank-1").await, 404).await;
    let list = expect_json(get_as(&app, &sp, "/users/u1/resources?limit=2").await, 200).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let mut changed = tank("tank-1");
    changed["metadata"]["capacity"] = json!(300);
    let put = call_as(
        &app,
        &sp,
        Method::PUT,
        "/users/u1/resources/tank-1",
        Some(changed.clone()),
    )
    .await;
    assert_eq!(expect_json(put, 200).await, changed);
    let deleted = call_as(
        &app,
        &sp,
        Method::DELETE,
        "/users/u1/resources/tank-1",
        None,
    )
    .await;
    assert_eq!(expect_json(deleted, 200).await, changed);
    expect_problem(get_as(&app, &sp, "/users/u1/resources/tank-1").await, 404).await;
}

async fn deleting_a_user_leaves_no_orphans(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    for user in ["u1", "u2"] {
        expect_json(
            post_as(&app, &sp, "/users", json!({"userId": user})).await,
            201,
        )
        .await;
        expect_json(
            post_as(
                &app,
                &sp,
                &format!("/users/{user}/meters"),
                meter(&format!("MP-{user}")),
            )
            .await,
            201,
        )
        .await;
        expect_json(
            post_as(
                &app,
                &sp,
                &format!("/users/{user}/resources"),
                tank(&format!("tank-{user}")),
            )
            .await,
            201,
        )
        .await;
    }
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(openadr_view(&app, "sp1").await.1.len(), 3);
    expect_json(
        call_as(&app, &sp, Method::DELETE, "/users/u1", None).await,
        200,
    )
    .await;
    let (ven, resources) = openadr_view(&app, "sp1").await;
    let names: Vec<Value> = resources
        .iter()
        .map(|r| r["resourceName"].clone())
        .collect();
    assert_eq!(names, vec![json!("tank-u2")]);
    assert_eq!(target_values(&ven, "METER_POINT_ID"), vec![json!("MP-u2")]);
    // Its ids, VIN and meter point are free again.
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp, "/users/u1/meters", meter("MP-u1")).await,
        201,
    )
    .await;
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    // A resource deleted through /vens takes its vehicle with it.
    let car = resources_named(&app, "car-1").await;
    let (ven, _) = openadr_view(&app, "sp1").await;
    expect_json(
        app.delete(&format!("/vens/{}/resources/{}", id_of(&ven), id_of(&car)))
            .await,
        200,
    )
    .await;
    expect_problem(get_as(&app, &sp, "/users/u1/vehicles/car-1").await, 404).await;
}

/// Meter writes of one VEN from several requests at once, on two servers sharing the database:
/// no write undoes another's targets. Each asset ends with all of its user's meter points, and
/// the VEN with all of them.
async fn concurrent_meter_writes_keep_every_target(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let other = app.replica(|_| {}).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    for user in ["u1", "u2"] {
        expect_json(
            post_as(&app, &sp, "/users", json!({"userId": user})).await,
            201,
        )
        .await;
    }
    expect_json(
        post_as(
            &app,
            &sp,
            "/users/u1/vehicles",
            vehicle("car-1", "5YJ3E1EA7KF317000"),
        )
        .await,
        201,
    )
    .await;
    expect_json(
        post_as(&app, &sp, "/users/u2/resources", tank("tank-1")).await,
        201,
    )
    .await;
    let writes = (0..16).map(|i| {
        let server = if i % 2 == 0 { &app } else { &other };
        let (user, sp) = (if i % 4 < 2 { "u1" } else { "u2" }, sp.clone());
        async move {
            post_as(
                server,
                &sp,
                &format!("/users/{user}/meters"),
                meter(&format!("MP-{i:02}")),
            )
            .await
        }
    });
    for response in futures_util::future::join_all(writes).await {
        expect_json(response, 201).await;
    }
    let (ven, _) = openadr_view(&app, "sp1").await;
    let mut points = target_values(&ven, "METER_POINT_ID");
    points.sort_by_key(|v| v.to_string());
    let all: Vec<Value> = (0..16).map(|i| json!(format!("MP-{i:02}"))).collect();
    assert_eq!(points, all);
    for (name, user_of) in [("car-1", 0), ("tank-1", 2)] {
        let mut points = target_values(&resources_named(&app, name).await, "METER_POINT_ID");
        points.sort_by_key(|v| v.to_string());
        let expected: Vec<Value> = (0..16)
            .filter(|i| i % 4 / 2 == user_of / 2)
            .map(|i| json!(format!("MP-{i:02}")))
            .collect();
        assert_eq!(points, expected, "{name}");
    }
    // Events aimed at any of them are visible to the provider.
    let program = app.create_program("p", Value::Null).await;
    let event = app
        .create_event(json!({"programID": id_of(&program), "intervals": [],
                              "targets": [{"type": "METER_POINT_ID", "values": ["MP-15"]}]}))
        .await;
    let listed = expect_json(get_as(&app, &sp, "/events").await, 200).await;
    assert_eq!(ids(&listed), vec![id_of(&event)]);
}

/// The same vehicle registered by two requests at once: one 201, one 409 naming it, and exactly
/// one OpenADR resource for it (no half-written registration is left behind).
async fn racing_registrations_leave_one_asset(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sp = ven_token(&app, "default", "sp1", SP_SCOPES).await;
    expect_json(
        post_as(&app, &sp, "/users", json!({"userId": "u1"})).await,
        201,
    )
    .await;
    for round in 0..4 {
        let id = format!("car-{round}");
        let vin = format!("5YJ3E1EA7KF31700{round}");
        let (a, b) = tokio::join!(
            post_as(&app, &sp, "/users/u1/vehicles", vehicle(&id, &vin)),
            post_as(&app, &sp, "/users/u1/vehicles", vehicle(&id, &vin)),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{id}");
        let (_, resources) = openadr_view(&app, "sp1").await;
        let named = resources
            .iter()
            .filter(|r| r["resourceName"] == id.as_str())
            .count();
        assert_eq!(named, 1, "{id}");
    }
    let vehicles = expect_json(get_as(&app, &sp, "/users/u1/vehicles").await, 200).await;
    assert_eq!(vehicles.as_array().unwrap().len(), 4);
}

async fn resources_named(app: &TestApp, name: &str) -> Value {
    let (_, resources) = openadr_view(app, "sp1").await;
    resources
        .into_iter()
        .find(|r| r["resourceName"] == name)
        .unwrap()
}

backend_tests!(
    users_crud_paging_and_bad_input,
    only_service_providers_call_it,
    one_provider_never_sees_anothers_users,
    vehicles_validated_mapped_and_unique,
    meters_validated_unique_and_targeted,
    resources_validated_and_other_metadata_kept,
    deleting_a_user_leaves_no_orphans,
    concurrent_meter_writes_keep_every_target,
    racing_registrations_leave_one_asset,
);
