//! Every path parameter of the admin API is checked: an id no record can have (NUL, control
//! characters, over-long) is a 400 problem naming the parameter, never a database error (a NUL
//! was a 500 on PostgreSQL) (issue 16, item 7).

use super::Operator;
use crate::backend_tests;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

fn voltus_config() -> Value {
    json!({"baseUrl": "http://127.0.0.1:9", "apiKey": "test-api-key-1234",
           "programName": "voltus-dr", "pollIntervalSeconds": 3600})
}

async fn admin_path_ids_are_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    let long = "x".repeat(129);
    let routes: [(Method, &str, &str, Option<Value>); 11] = [
        (Method::DELETE, "/admin/tenants/{}", "tenantId", None),
        (Method::POST, "/admin/tenants/{}/disable", "tenantId", None),
        (Method::POST, "/admin/tenants/{}/enable", "tenantId", None),
        (Method::GET, "/admin/tenants/{}/voltus", "tenantId", None),
        (
            Method::PUT,
            "/admin/tenants/{}/voltus",
            "tenantId",
            Some(voltus_config()),
        ),
        (Method::DELETE, "/admin/tenants/{}/voltus", "tenantId", None),
        (Method::DELETE, "/admin/clients/{}", "clientId", None),
        (
            Method::POST,
            "/admin/clients/{}/rotate-secret",
            "clientId",
            None,
        ),
        (Method::POST, "/admin/clients/{}/disable", "clientId", None),
        (Method::POST, "/admin/clients/{}/enable", "clientId", None),
        (Method::DELETE, "/admin/identity-providers/{}", "id", None),
    ];
    for (method, template, parameter, body) in routes {
        for bad in ["%00", "a%00b", "ven%0A1", "%7F", long.as_str()] {
            let path = template.replace("{}", bad);
            let detail = op.problem(method.clone(), &path, body.clone(), 400).await;
            assert!(
                detail.starts_with(&format!("{parameter}: ")),
                "{method} {path}: {detail}"
            );
        }
    }
    // Ids that are merely unknown are still 404s.
    for (method, path) in [
        (Method::POST, "/admin/clients/nobody/disable"),
        (Method::DELETE, "/admin/identity-providers/nothing"),
        (Method::DELETE, "/admin/tenants/nowhere"),
    ] {
        op.problem(method, path, None, 404).await;
    }
    // Nothing was changed: the operator and the bootstrap client still get tokens.
    let (status, _) = super::token_attempt(&app, ADMIN_ID, ADMIN_SECRET).await;
    assert_eq!(status, 200);
}

backend_tests!(admin_path_ids_are_checked);
