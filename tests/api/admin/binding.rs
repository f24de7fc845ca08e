//! A token is bound to the client record that minted it: deleting a client id and creating it
//! again does not revive the old record's tokens (issue 16, item 4).

use super::{status_of, Operator};
use crate::backend_tests;
use crate::helpers::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

/// Asserts `token` is refused with 401 and an `invalid_token` challenge; returns the detail.
async fn refused(app: &TestApp, token: &str) -> String {
    let response = app
        .request(Method::GET, "/programs", Some(token))
        .send()
        .await
        .unwrap();
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    expect_problem(response, 401).await
}

async fn programs_of(app: &TestApp, token: &str) -> Value {
    let response = app
        .request(Method::GET, "/programs", Some(token))
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

async fn a_client_id_created_again_in_another_tenant_does_not_revive_its_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "other"}), 201).await;
    app.create_program("default-only", json!(null)).await;
    let first =
        json!({"tenant": "default", "role": "bl", "scopes": ["read_all"], "clientId": "reused"});
    let (_, secret) = op.client(first).await;
    let old_token = app.token_for("reused", &secret, None).await;
    assert_eq!(
        programs_of(&app, &old_token)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    op.delete("/admin/clients/reused", 200).await;
    let again =
        json!({"tenant": "other", "role": "bl", "scopes": ["read_all"], "clientId": "reused"});
    let (_, new_secret) = op.client(again).await;
    // Today the old token reads tenant `default`'s programs again.
    let detail = refused(&app, &old_token).await;
    assert!(detail.contains("no longer exists"), "{detail}");
    let new_token = app.token_for("reused", &new_secret, None).await;
    assert_eq!(
        programs_of(&app, &new_token).await,
        json!([]),
        "tenant other has none"
    );
}

async fn a_client_id_created_again_with_another_role_or_alike_does_not_revive_its_tokens(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    let bl =
        json!({"tenant": "default", "role": "bl", "scopes": ["read_all"], "clientId": "reused"});
    let (_, secret) = op.client(bl.clone()).await;
    let bl_token = app.token_for("reused", &secret, None).await;
    op.delete("/admin/clients/reused", 200).await;
    let ven = json!({"tenant": "default", "role": "ven", "scopes": ["read_all"], "venName": "ven-1",
                     "clientId": "reused"});
    let (_, ven_secret) = op.client(ven).await;
    refused(&app, &bl_token).await;
    let ven_token = app.token_for("reused", &ven_secret, None).await;
    assert_eq!(status_of(&app, &ven_token, "/programs").await, 200);

    // Even created again exactly alike, it is another record: the VEN token dies with its own.
    op.delete("/admin/clients/reused", 200).await;
    let (_, last_secret) = op.client(bl).await;
    refused(&app, &ven_token).await;
    refused(&app, &bl_token).await;
    let token = app.token_for("reused", &last_secret, None).await;
    assert_eq!(status_of(&app, &token, "/programs").await, 200);
}

/// The claims of `token`, decoded without verification.
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

/// Tokens signed by the server but without the record's instance id (issued before it existed)
/// or with another one are refused; the same claims as issued verify (the control).
async fn tokens_must_name_the_client_record(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let issued = claims(&app.token);
    assert!(
        issued["instance"].as_str().is_some_and(|i| !i.is_empty()),
        "{issued}"
    );
    assert_eq!(status_of(&app, &sign(&issued), "/programs").await, 200);

    let mut without = issued.clone();
    without.as_object_mut().unwrap().remove("instance");
    let detail = refused(&app, &sign(&without)).await;
    assert!(detail.contains("fetch a new one"), "{detail}");
    for other in [json!(""), json!("0123456789abcdef0123456789abcdef")] {
        let mut forged = issued.clone();
        forged["instance"] = other;
        refused(&app, &sign(&forged)).await;
    }
    // A token naming another tenant or role than the record has is refused too.
    for (claim, value) in [("tenant", "other"), ("role", "ven")] {
        let mut forged = issued.clone();
        forged[claim] = json!(value);
        refused(&app, &sign(&forged)).await;
    }
}

backend_tests!(
    a_client_id_created_again_in_another_tenant_does_not_revive_its_tokens,
    a_client_id_created_again_with_another_role_or_alike_does_not_revive_its_tokens,
    tokens_must_name_the_client_record,
);
