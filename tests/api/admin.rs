//! The administration API (`/admin/…`): tenants, clients and their roles, secrets, disabling,
//! and who may call it. Identity providers and the audit log are in `admin/records.rs`, the CLI
//! mirror in `admin/cli.rs`, tokens bound to their client record in `admin/binding.rs`, and the
//! checks of path ids in `admin/path_ids.rs`.

mod binding;
mod cli;
mod path_ids;
mod records;

use crate::backend_tests;
use crate::helpers::*;
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// An operator: an `admin` client of tenant `operator`, created with the CLI as in the README.
pub struct Operator<'a> {
    pub app: &'a TestApp,
    pub client_id: String,
    pub token: String,
}

impl<'a> Operator<'a> {
    pub async fn new(app: &'a TestApp) -> Self {
        let client = app.create_client("operator", "admin").await;
        let token = app
            .token_for(&client.client_id, &client.client_secret, None)
            .await;
        Self {
            app,
            client_id: client.client_id,
            token,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.app.request(method, path, Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Value {
        expect_json(self.call(Method::GET, path, None).await, 200).await
    }

    /// POST with a body, expecting `status`; returns the body.
    pub async fn post(&self, path: &str, body: Value, status: u16) -> Value {
        expect_json(self.call(Method::POST, path, Some(body)).await, status).await
    }

    /// POST without a body (disable, enable, rotate-secret), expecting `status`.
    pub async fn act(&self, path: &str, status: u16) -> Value {
        expect_json(self.call(Method::POST, path, None).await, status).await
    }

    pub async fn delete(&self, path: &str, status: u16) -> Value {
        expect_json(self.call(Method::DELETE, path, None).await, status).await
    }

    pub async fn problem(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> String {
        expect_problem(self.call(method, path, body).await, status).await
    }

    /// Creates a client through the API; returns (client id, secret).
    pub async fn client(&self, body: Value) -> (String, String) {
        let created = self.post("/admin/clients", body, 201).await;
        let id = created["clientId"].as_str().unwrap().to_owned();
        (id, created["clientSecret"].as_str().unwrap().to_owned())
    }
}

/// The token endpoint's answer to `id`/`secret`: status and body.
pub async fn token_attempt(app: &TestApp, id: &str, secret: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
    ];
    let response = app
        .http
        .post(format!("{}/auth/token", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub async fn assert_invalid_client(app: &TestApp, id: &str, secret: &str) {
    let (status, body) = token_attempt(app, id, secret).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
}

pub async fn status_of(app: &TestApp, token: &str, path: &str) -> u16 {
    app.request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub fn bl(tenant: &str) -> Value {
    json!({"tenant": tenant, "role": "bl", "scopes": ["read_all", "write_programs", "write_events"]})
}

async fn tenant_lifecycle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;

    let created = op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    assert_eq!(
        (created["id"].as_str(), created["enabled"].as_bool()),
        (Some("acme"), Some(true))
    );
    assert!(created["createdAt"].is_string(), "{created}");
    let detail = op
        .problem(
            Method::POST,
            "/admin/tenants",
            Some(json!({"id": "acme"})),
            409,
        )
        .await;
    assert!(detail.contains("'acme' already exists"), "{detail}");
    for bad in [
        json!({"id": "Acme"}),
        json!({"id": ""}),
        json!({"id": "x".repeat(65)}),
        json!({"id": "a b"}),
    ] {
        let detail = op
            .problem(Method::POST, "/admin/tenants", Some(bad), 400)
            .await;
        assert!(detail.starts_with("id:"), "{detail}");
    }
    op.problem(
        Method::POST,
        "/admin/tenants",
        Some(json!({"id": "x", "colour": 1})),
        400,
    )
    .await;
    op.problem(Method::POST, "/admin/tenants", Some(json!({})), 400)
        .await;

    let ids: Vec<Value> = op
        .get("/admin/tenants")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!("acme"), json!("default"), json!("operator")]
    );
    op.problem(Method::GET, "/admin/tenants?skip=1", None, 400)
        .await;

    assert_eq!(
        op.act("/admin/tenants/acme/disable", 200).await["enabled"],
        false
    );
    assert_eq!(op.get("/admin/tenants").await[0]["enabled"], false);
    assert_eq!(
        op.act("/admin/tenants/acme/enable", 200).await["enabled"],
        true
    );
    for path in ["/admin/tenants/nope/disable", "/admin/tenants/nope/enable"] {
        op.problem(Method::POST, path, None, 404).await;
    }
    op.problem(Method::DELETE, "/admin/tenants/nope", None, 404)
        .await;
    let detail = op
        .problem(
            Method::POST,
            "/admin/tenants/Not%20Valid/disable",
            None,
            400,
        )
        .await;
    assert!(detail.starts_with("tenantId:"), "{detail}");

    // An operator cannot lock itself out through the API.
    op.problem(Method::POST, "/admin/tenants/operator/disable", None, 409)
        .await;
    op.problem(Method::DELETE, "/admin/tenants/operator", None, 409)
        .await;
    op.problem(
        Method::DELETE,
        &format!("/admin/clients/{}", op.client_id),
        None,
        409,
    )
    .await;
    op.problem(
        Method::POST,
        &format!("/admin/clients/{}/disable", op.client_id),
        None,
        409,
    )
    .await;

    assert_eq!(op.delete("/admin/tenants/acme", 200).await["id"], "acme");
    op.problem(Method::DELETE, "/admin/tenants/acme", None, 404)
        .await;
    assert_eq!(op.get("/admin/tenants").await.as_array().unwrap().len(), 2);
    op.problem(Method::PUT, "/admin/tenants", Some(json!({"id": "x"})), 405)
        .await;
}

async fn clients_are_limited_by_their_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;

    let six = [
        "read_all",
        "write_programs",
        "write_events",
        "write_reports",
        "write_subscriptions",
        "write_vens",
    ];
    let created = op
        .post(
            "/admin/clients",
            json!({"tenant": "acme", "role": "bl", "scopes": six}),
            201,
        )
        .await;
    assert_eq!(created["role"], "bl");
    assert_eq!(created["tenant"], "acme");
    assert_eq!(created["enabled"], true);
    assert_eq!(
        created["clientSecret"].as_str().unwrap().len(),
        43,
        "{created}"
    );
    let bl_token = app
        .token_for(
            created["clientId"].as_str().unwrap(),
            created["clientSecret"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(status_of(&app, &bl_token, "/programs").await, 200);
    assert_eq!(status_of(&app, &bl_token, "/admin/tenants").await, 403);

    let ven = json!({"tenant": "acme", "role": "ven", "venName": "ven-1", "scopes": ["read_all", "write_reports"], "clientId": "ven-1-client"});
    let created = op.post("/admin/clients", ven, 201).await;
    assert_eq!(
        (created["clientId"].as_str(), created["venName"].as_str()),
        (Some("ven-1-client"), Some("ven-1"))
    );
    let (status, token) = token_attempt(
        &app,
        "ven-1-client",
        created["clientSecret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (status, token["scope"].as_str()),
        (200, Some("read_all write_reports")),
        "{token}"
    );

    let refused = [
        (
            json!({"tenant": "acme", "role": "ven", "venName": "v", "scopes": ["read_all", "write_events"]}),
            "scopes[1]:",
        ),
        (
            json!({"tenant": "acme", "role": "bl", "scopes": ["read_all", "admin"]}),
            "scopes[1]:",
        ),
        (
            json!({"tenant": "acme", "role": "ven", "scopes": ["read_all"]}),
            "venName:",
        ),
        (
            json!({"tenant": "acme", "role": "bl", "venName": "v", "scopes": ["read_all"]}),
            "venName:",
        ),
        (
            json!({"tenant": "acme", "role": "admin", "scopes": ["read_all"]}),
            "scopes[0]:",
        ),
        (
            json!({"tenant": "acme", "role": "bl", "scopes": []}),
            "scopes:",
        ),
        (
            json!({"tenant": "acme", "role": "bl", "scopes": ["read_everything"]}),
            "scopes[0]: unknown scope",
        ),
        (
            json!({"tenant": "acme", "role": "root", "scopes": ["read_all"]}),
            "role:",
        ),
        (
            json!({"tenant": "acme", "role": "bl", "scopes": ["read_all"], "clientId": "a:b"}),
            "clientId:",
        ),
        (
            json!({"tenant": "acme", "role": "bl", "scopes": ["read_all"], "secret": "mine"}),
            "unknown field",
        ),
        (
            json!({"tenant": "ACME", "role": "bl", "scopes": ["read_all"]}),
            "tenant:",
        ),
    ];
    for (body, field) in refused {
        let detail = op
            .problem(Method::POST, "/admin/clients", Some(body.clone()), 400)
            .await;
        assert!(detail.contains(field), "{body} -> {detail}");
    }
    let detail = op
        .problem(Method::POST, "/admin/clients", Some(bl("nowhere")), 404)
        .await;
    assert!(detail.contains("tenant 'nowhere'"), "{detail}");
    let duplicate =
        json!({"tenant": "acme", "role": "bl", "scopes": ["read_all"], "clientId": "ven-1-client"});
    op.problem(Method::POST, "/admin/clients", Some(duplicate), 409)
        .await;

    // An admin client created through the API administers.
    let (id, secret) = op
        .client(json!({"tenant": "operator", "role": "admin", "scopes": ["admin"]}))
        .await;
    let second = app.token_for(&id, &secret, None).await;
    assert_eq!(status_of(&app, &second, "/admin/clients").await, 200);
    assert_eq!(
        status_of(&app, &second, "/programs").await,
        403,
        "admin tokens see no tenant objects"
    );

    let listed = op.get("/admin/clients?tenant=acme").await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["clientId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"ven-1-client"));
    for client in listed.as_array().unwrap() {
        let keys: Vec<&String> = client.as_object().unwrap().keys().collect();
        assert!(
            keys.iter()
                .all(|k| !k.to_lowercase().contains("secret") && !k.contains("hash")),
            "{client}"
        );
    }
    assert!(!listed.to_string().contains("argon2"), "{listed}");
    assert!(op.get("/admin/clients").await.as_array().unwrap().len() >= 5);
    op.problem(Method::GET, "/admin/clients?tenant=Bad!", None, 400)
        .await;
    op.problem(Method::GET, "/admin/clients?colour=red", None, 400)
        .await;
}

async fn rotating_a_secret_replaces_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    let (id, old_secret) = op.client(bl("default")).await;
    let issued_before = app.token_for(&id, &old_secret, None).await;

    let rotated = op
        .act(&format!("/admin/clients/{id}/rotate-secret"), 200)
        .await;
    assert_eq!(rotated["clientId"], id.as_str());
    let new_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, old_secret);
    assert_invalid_client(&app, &id, &old_secret).await;
    let (status, _) = token_attempt(&app, &id, &new_secret).await;
    assert_eq!(status, 200);
    assert_eq!(
        status_of(&app, &issued_before, "/programs").await,
        200,
        "issued tokens live until they expire"
    );

    op.problem(
        Method::POST,
        "/admin/clients/nobody/rotate-secret",
        None,
        404,
    )
    .await;
    let audit = op.get("/admin/audit").await;
    assert_eq!(audit[0]["action"], "client.rotate_secret");
    assert_eq!(audit[0]["target"], id.as_str());
    assert_eq!(audit[0]["actor"], op.client_id.as_str());
    let text = audit.to_string();
    assert!(
        !text.contains(&new_secret) && !text.contains(&old_secret),
        "no secret in the audit log"
    );
}

async fn disabled_clients_and_tenants_get_no_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    let (id, secret) = op.client(bl("acme")).await;

    assert_eq!(
        op.act(&format!("/admin/clients/{id}/disable"), 200).await["enabled"],
        false
    );
    assert_invalid_client(&app, &id, &secret).await;
    assert_eq!(
        op.act(&format!("/admin/clients/{id}/enable"), 200).await["enabled"],
        true
    );
    app.token_for(&id, &secret, None).await;
    op.problem(Method::POST, "/admin/clients/nobody/disable", None, 404)
        .await;
    op.problem(Method::POST, "/admin/clients/nobody/enable", None, 404)
        .await;

    op.act("/admin/tenants/acme/disable", 200).await;
    assert_invalid_client(&app, &id, &secret).await;
    let listed = op.get("/admin/clients?tenant=acme").await;
    assert_eq!(
        listed[0]["enabled"], false,
        "a disabled tenant's clients show as disabled"
    );
    op.act("/admin/tenants/acme/enable", 200).await;
    app.token_for(&id, &secret, None).await;

    assert_eq!(
        op.delete(&format!("/admin/clients/{id}"), 200).await["clientId"],
        id.as_str()
    );
    assert_invalid_client(&app, &id, &secret).await;
    op.problem(Method::DELETE, &format!("/admin/clients/{id}"), None, 404)
        .await;
}

/// Tokens are checked against the database on every request: disabling acts at once.
async fn issued_tokens_stop_working_when_the_client_or_tenant_is_disabled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    let (id, secret) = op.client(bl("acme")).await;
    let token = app.token_for(&id, &secret, None).await;
    assert_eq!(status_of(&app, &token, "/programs").await, 200);
    op.act(&format!("/admin/clients/{id}/disable"), 200).await;
    let response = app
        .request(Method::GET, "/programs", Some(&token))
        .send()
        .await
        .unwrap();
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    expect_problem(response, 401).await;

    let (other, other_secret) = op.client(bl("acme")).await;
    let other_token = app.token_for(&other, &other_secret, None).await;
    assert_eq!(status_of(&app, &other_token, "/programs").await, 200);
    op.act("/admin/tenants/acme/disable", 200).await;
    assert_eq!(status_of(&app, &other_token, "/programs").await, 401);

    let (admin_id, admin_secret) = op
        .client(json!({"tenant": "operator", "role": "admin", "scopes": ["admin"]}))
        .await;
    let admin_token = app.token_for(&admin_id, &admin_secret, None).await;
    op.delete(&format!("/admin/clients/{admin_id}"), 200).await;
    assert_eq!(
        status_of(&app, &admin_token, "/admin/tenants").await,
        401,
        "a deleted client's token"
    );
}

async fn deleting_a_tenant_deletes_its_objects(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    let (id, secret) = op.client(bl("acme")).await;
    let token = app.token_for(&id, &secret, None).await;
    let created = app
        .request(Method::POST, "/programs", Some(&token))
        .json(&json!({"programName": "p1"}))
        .send()
        .await
        .unwrap();
    let program = expect_json(created, 201).await;
    let event = event_at(
        program["id"].as_str().unwrap(),
        "2026-12-01T17:00:00Z",
        Some("PT1H"),
        2,
    );
    let response = app
        .request(Method::POST, "/events", Some(&token))
        .json(&event)
        .send()
        .await
        .unwrap();
    expect_json(response, 201).await;

    op.delete("/admin/tenants/acme", 200).await;
    assert_eq!(
        status_of(&app, &token, "/programs").await,
        401,
        "its clients went with it"
    );
    assert!(op
        .get("/admin/clients?tenant=acme")
        .await
        .as_array()
        .unwrap()
        .is_empty());

    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    let (id, secret) = op.client(bl("acme")).await;
    let token = app.token_for(&id, &secret, None).await;
    for path in ["/programs", "/events"] {
        let list = expect_json(
            app.request(Method::GET, path, Some(&token))
                .send()
                .await
                .unwrap(),
            200,
        )
        .await;
        assert_eq!(list, json!([]), "{path} of the re-created tenant");
    }
    // The bootstrap tenant's objects are untouched.
    assert_eq!(app.get("/programs").await.status(), 200);
}

/// Every admin route, with a body where it takes one.
fn admin_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::POST, "/admin/tenants", Some(json!({"id": "x"}))),
        (Method::GET, "/admin/tenants", None),
        (Method::DELETE, "/admin/tenants/default", None),
        (Method::POST, "/admin/tenants/default/disable", None),
        (Method::POST, "/admin/tenants/default/enable", None),
        (Method::POST, "/admin/clients", Some(bl("default"))),
        (Method::GET, "/admin/clients?tenant=default", None),
        (Method::DELETE, "/admin/clients/admin", None),
        (Method::POST, "/admin/clients/admin/rotate-secret", None),
        (Method::POST, "/admin/clients/admin/disable", None),
        (Method::POST, "/admin/clients/admin/enable", None),
        (Method::POST, "/admin/identity-providers", Some(json!({}))),
        (Method::GET, "/admin/identity-providers", None),
        (Method::DELETE, "/admin/identity-providers/x", None),
        (Method::GET, "/admin/audit", None),
    ]
}

async fn only_admin_tokens_may_administer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (method, path, body) in admin_routes() {
        // The bootstrap client: business logic, all six 3.0.1 scopes, no `admin`.
        let response = app.call(method.clone(), path, body.clone()).await;
        let challenge = match response.headers().get("www-authenticate") {
            Some(value) => value.to_str().unwrap().to_owned(),
            None => panic!("{method} {path}: {}", response.text().await.unwrap()),
        };
        assert!(
            challenge.contains("insufficient_scope") && challenge.contains("admin"),
            "{challenge}"
        );
        expect_problem(response, 403).await;

        let mut anonymous = app.request(method.clone(), path, None);
        if let Some(body) = body {
            anonymous = anonymous.json(&body);
        }
        expect_problem(anonymous.send().await.unwrap(), 401).await;
    }
    // Nothing happened.
    let (status, _) = token_attempt(&app, ADMIN_ID, ADMIN_SECRET).await;
    assert_eq!(status, 200);
}

backend_tests!(
    tenant_lifecycle,
    clients_are_limited_by_their_role,
    rotating_a_secret_replaces_it,
    disabled_clients_and_tenants_get_no_tokens,
    issued_tokens_stop_working_when_the_client_or_tenant_is_disabled,
    deleting_a_tenant_deletes_its_objects,
    only_admin_tokens_may_administer,
);
