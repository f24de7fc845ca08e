//! Identity providers and the audit log through the admin API.

use super::{bl, Operator};
use crate::backend_tests;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

async fn the_audit_log_records_who_did_what(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    let (id, first_secret) = op.client(bl("acme")).await;
    let rotated = op
        .act(&format!("/admin/clients/{id}/rotate-secret"), 200)
        .await;
    op.act(&format!("/admin/clients/{id}/disable"), 200).await;
    op.act(&format!("/admin/clients/{id}/enable"), 200).await;
    op.act("/admin/tenants/acme/disable", 200).await;
    op.act("/admin/tenants/acme/enable", 200).await;
    let idp = json!({"tenant": "acme", "issuer": "https://idp.acme.example", "audience": "vtn", "jwksUrl": "https://idp.acme.example/jwks", "role": "bl"});
    let idp_id = op.post("/admin/identity-providers", idp, 201).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    op.delete(&format!("/admin/identity-providers/{idp_id}"), 200)
        .await;
    op.delete(&format!("/admin/clients/{id}"), 200).await;
    op.delete("/admin/tenants/acme", 200).await;

    let entries = op.get("/admin/audit?tenant=acme").await;
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "tenant.delete",
            "client.delete",
            "identity_provider.delete",
            "identity_provider.create",
            "tenant.enable",
            "tenant.disable",
            "client.enable",
            "client.disable",
            "client.rotate_secret",
            "client.create",
            "tenant.create",
        ],
        "newest first"
    );
    for entry in entries.as_array().unwrap() {
        assert_eq!(entry["actor"], op.client_id.as_str(), "{entry}");
        assert_eq!(entry["tenant"], "acme");
        assert!(
            chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().unwrap()).is_ok(),
            "{entry}"
        );
        assert!(entry["detail"].is_object(), "{entry}");
    }
    assert_eq!(entries[9]["target"], id.as_str());
    assert_eq!(entries[9]["detail"]["role"], "bl");
    assert_eq!(entries[3]["target"], idp_id.as_str());
    let seqs: Vec<i64> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    let text = entries.to_string();
    assert!(
        !text.contains(&first_secret) && !text.contains(rotated["clientSecret"].as_str().unwrap())
    );

    // The operator's own client was created by the CLI, in tenant `operator`.
    let cli = op.get("/admin/audit?tenant=operator").await;
    let cli_actions: Vec<(&str, &str)> = cli
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        cli_actions,
        [("client.create", "cli"), ("tenant.create", "cli")]
    );

    // Paging, newest first.
    assert_eq!(
        op.get("/admin/audit?limit=2")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        op.get("/admin/audit?skip=1&limit=1").await[0]["action"],
        "client.delete"
    );
    assert_eq!(op.get("/admin/audit?limit=0").await, json!([]));
    for bad in [
        "limit=51",
        "skip=-1",
        "limit=x",
        "tenant=A",
        "limit=1&limit=2",
        "since=2024",
    ] {
        op.problem(Method::GET, &format!("/admin/audit?{bad}"), None, 400)
            .await;
    }
}

async fn identity_providers_are_registered_per_issuer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let op = Operator::new(&app).await;
    op.post("/admin/tenants", json!({"id": "acme"}), 201).await;
    let body = json!({
        "tenant": "acme", "issuer": "https://login.acme.example/", "audience": "openadr3-vtn",
        "jwksUrl": "https://login.acme.example/jwks", "rolesClaim": "roles",
        "roleScopes": {"dr-operator": ["read_all", "write_programs"]}, "venClaim": "ven",
        "role": "ven",
    });
    let created = op
        .post("/admin/identity-providers", body.clone(), 201)
        .await;
    assert_eq!(created["scopeClaim"], "scope", "the default scope claim");
    assert_eq!(
        created["roleScopes"],
        json!({"dr-operator": ["read_all", "write_programs"]})
    );
    assert_eq!(
        (created["tenant"].as_str(), created["venClaim"].as_str()),
        (Some("acme"), Some("ven"))
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let detail = op
        .problem(
            Method::POST,
            "/admin/identity-providers",
            Some(body.clone()),
            409,
        )
        .await;
    assert!(detail.contains("issuer"), "{detail}");
    let mut elsewhere = body.clone();
    elsewhere["tenant"] = json!("default");
    elsewhere["issuer"] = json!("https://login.other.example/");
    elsewhere["scopeClaim"] = json!("scp");
    op.post("/admin/identity-providers", elsewhere, 201).await;

    let mut unknown_tenant = body.clone();
    unknown_tenant["tenant"] = json!("nowhere");
    unknown_tenant["issuer"] = json!("https://x.example/");
    op.problem(
        Method::POST,
        "/admin/identity-providers",
        Some(unknown_tenant),
        404,
    )
    .await;
    for (field, value, named) in [
        (
            "jwksUrl",
            json!("ftp://login.acme.example/jwks"),
            "jwksUrl:",
        ),
        ("jwksUrl", json!("/jwks"), "jwksUrl:"),
        (
            "roleScopes",
            json!({"op": ["read_all", "fly"]}),
            "roleScopes.op[1]:",
        ),
        ("roleScopes", json!({"op": ["admin"]}), "roleScopes.op[0]:"),
        ("roleScopes", json!({"op": "read_all"}), "roleScopes"),
        ("audience", json!(""), "audience:"),
        ("tenant", json!("Acme"), "tenant:"),
        ("claims", json!({}), "unknown field"),
    ] {
        let mut bad = body.clone();
        bad[field] = value;
        bad["issuer"] = json!("https://bad.example/");
        let detail = op
            .problem(Method::POST, "/admin/identity-providers", Some(bad), 400)
            .await;
        assert!(detail.contains(named), "{field}: {detail}");
    }

    assert_eq!(
        op.get("/admin/identity-providers")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let acme = op.get("/admin/identity-providers?tenant=acme").await;
    assert_eq!(acme, json!([created]));
    assert_eq!(
        op.delete(&format!("/admin/identity-providers/{id}"), 200)
            .await["id"],
        id.as_str()
    );
    op.problem(
        Method::DELETE,
        &format!("/admin/identity-providers/{id}"),
        None,
        404,
    )
    .await;
    assert_eq!(
        op.get("/admin/identity-providers?tenant=acme").await,
        json!([])
    );
    // The issuer is free again.
    op.post("/admin/identity-providers", body, 201).await;
}

backend_tests!(
    the_audit_log_records_who_did_what,
    identity_providers_are_registered_per_issuer,
);
