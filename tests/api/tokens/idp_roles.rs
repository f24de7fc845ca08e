//! The role of an external identity provider's token comes from the provider's explicit mapping
//! (`role`: `bl`, `ven` or `mapped`); a token that does not satisfy it is a 401 `invalid_token`,
//! never a business-logic principal (issue 16, item 2).

use super::{admin_token, TestProvider, AUDIENCE, ISSUER};
use crate::backend_tests;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Registers `provider` for tenant `default` with `mapping` (role, claims) merged in.
async fn register(app: &TestApp, provider: &TestProvider, mapping: Value) -> Value {
    let admin = admin_token(app).await;
    let mut body = json!({
        "tenant": "default", "issuer": ISSUER, "audience": AUDIENCE, "jwksUrl": provider.jwks_url,
    });
    for (k, v) in mapping.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = app
        .request(Method::POST, "/admin/identity-providers", Some(&admin))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 201).await
}

/// Two programs, one for each of two VENs: business logic sees both, VEN `ven-1` only its own.
async fn programs_for_two_vens(app: &TestApp) {
    app.create_program(
        "for-ven-1",
        json!([{"type": "VEN_NAME", "values": ["ven-1"]}]),
    )
    .await;
    app.create_program(
        "for-ven-2",
        json!([{"type": "VEN_NAME", "values": ["ven-2"]}]),
    )
    .await;
}

/// The names of the programs `token` lists.
async fn programs_seen(app: &TestApp, token: &str) -> Vec<String> {
    let response = app
        .request(Method::GET, "/programs", Some(token))
        .send()
        .await
        .unwrap();
    let list = expect_json(response, 200).await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["programName"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts `token` is refused with 401, an RFC 6750 `invalid_token` challenge and a problem
/// body; returns the problem's detail.
async fn refused(app: &TestApp, token: &str, case: &str) -> String {
    let response = app
        .request(Method::GET, "/programs", Some(token))
        .send()
        .await
        .unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{case}: no challenge, status {}", response.status()));
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{case}: {challenge}"
    );
    expect_problem(response, 401).await
}

async fn a_ven_provider_refuses_tokens_without_one_valid_ven_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let provider = TestProvider::start().await;
    let created = register(
        &app,
        &provider,
        json!({"role": "ven", "venClaim": "ven", "scopeClaim": "scope"}),
    )
    .await;
    assert_eq!(
        (created["role"].as_str(), created["venClaim"].as_str()),
        (Some("ven"), Some("ven"))
    );
    programs_for_two_vens(&app).await;

    // A good VEN token: bound to ven-1, it sees only ven-1's program.
    let good = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"scope": "read_all", "ven": "ven-1"}),
    );
    assert_eq!(programs_seen(&app, &good).await, ["for-ven-1"]);

    // Today's hole: without the claim (or with one that is not a plain name) the token acted
    // as business logic and saw every VEN's programs.
    for (case, ven) in [
        ("missing", None),
        ("null", Some(json!(null))),
        ("empty", Some(json!(""))),
        ("array", Some(json!(["ven-1"]))),
        ("two-item array", Some(json!(["ven-1", "ven-2"]))),
        ("number", Some(json!(7))),
        ("object", Some(json!({"name": "ven-1"}))),
        ("boolean", Some(json!(true))),
        ("over-long", Some(json!("v".repeat(129)))),
        ("control character", Some(json!("ven-1\u{0}"))),
        ("newline", Some(json!("ven-1\nven-2"))),
    ] {
        let mut claims = json!({"scope": "read_all"});
        if let Some(ven) = ven {
            claims["ven"] = ven;
        }
        let token = provider.token(&provider.kid, AUDIENCE, claims);
        let detail = refused(&app, &token, case).await;
        assert!(detail.contains("'ven' claim"), "{case}: {detail}");
        if case.contains("array") {
            assert!(detail.contains("exactly one VEN"), "{case}: {detail}");
        }
    }
    // 128 characters is still a name.
    let long = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"scope": "read_all", "ven": "v".repeat(128)}),
    );
    assert_eq!(programs_seen(&app, &long).await, Vec::<String>::new());
}

async fn a_mapped_provider_needs_exactly_one_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let provider = TestProvider::start().await;
    let created = register(
        &app,
        &provider,
        json!({
            "role": "mapped", "rolesClaim": "roles", "venClaim": "ven",
            "blRoles": ["operator", "planner"], "venRoles": ["ven-device"],
            "roleScopes": {"operator": ["read_all", "write_programs"], "ven-device": ["read_all"]},
        }),
    )
    .await;
    assert_eq!(created["blRoles"], json!(["operator", "planner"]));
    assert_eq!(created["venRoles"], json!(["ven-device"]));
    programs_for_two_vens(&app).await;

    // A business-logic role (an array claim) and a VEN role (a space-separated string).
    let operator = provider.token(&provider.kid, AUDIENCE, json!({"roles": ["operator"]}));
    assert_eq!(
        programs_seen(&app, &operator).await,
        ["for-ven-1", "for-ven-2"]
    );
    let write = app
        .request(Method::POST, "/programs", Some(&operator))
        .json(&json!({"programName": "by-operator", "targets": [{"type": "VEN_NAME", "values": ["ven-2"]}]}))
        .send()
        .await
        .unwrap();
    expect_json(write, 201).await;
    let device = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"roles": "viewer ven-device", "ven": "ven-1"}),
    );
    assert_eq!(programs_seen(&app, &device).await, ["for-ven-1"]);

    // Both roles, neither, no roles claim, a claim of the wrong type: refused.
    for (case, claims, says) in [
        (
            "both",
            json!({"roles": ["operator", "ven-device"], "ven": "ven-1"}),
            "both",
        ),
        (
            "both in a string",
            json!({"roles": "planner ven-device", "ven": "ven-1"}),
            "both",
        ),
        (
            "neither",
            json!({"roles": ["viewer"], "scope": "read_all"}),
            "neither",
        ),
        (
            "no roles claim",
            json!({"scope": "read_all", "ven": "ven-1"}),
            "neither",
        ),
        ("a number", json!({"roles": 5, "ven": "ven-1"}), "neither"),
        ("case differs", json!({"roles": ["Operator"]}), "neither"),
    ] {
        let token = provider.token(&provider.kid, AUDIENCE, claims);
        let detail = refused(&app, &token, case).await;
        assert!(detail.contains(says), "{case}: {detail}");
    }
    // A VEN role still needs its one VEN name.
    for ven in [json!(null), json!(["ven-1"]), json!(""), json!(3)] {
        let token = provider.token(
            &provider.kid,
            AUDIENCE,
            json!({"roles": ["ven-device"], "ven": ven}),
        );
        let detail = refused(&app, &token, &format!("ven {ven}")).await;
        assert!(detail.contains("'ven' claim"), "{detail}");
    }
}

async fn a_bl_provider_ignores_ven_claims(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let provider = TestProvider::start().await;
    register(&app, &provider, json!({"role": "bl"})).await;
    programs_for_two_vens(&app).await;
    // Business logic whatever the token says about VENs; scopes as the claims grant them.
    let token = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"scope": "read_all", "ven": "ven-1"}),
    );
    assert_eq!(
        programs_seen(&app, &token).await,
        ["for-ven-1", "for-ven-2"]
    );
}

async fn identity_provider_roles_are_checked_on_create(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    let base = json!({"tenant": "default", "issuer": ISSUER, "audience": AUDIENCE,
                      "jwksUrl": "https://idp.example.test/jwks"});
    for (case, mapping, named) in [
        ("no role", json!({}), "role"),
        ("unknown role", json!({"role": "admin"}), "role"),
        (
            "bl with a ven claim",
            json!({"role": "bl", "venClaim": "ven"}),
            "venClaim:",
        ),
        (
            "bl with roles",
            json!({"role": "bl", "rolesClaim": "r", "blRoles": ["a"]}),
            "blRoles:",
        ),
        (
            "ven without a ven claim",
            json!({"role": "ven"}),
            "venClaim:",
        ),
        (
            "ven with roles",
            json!({"role": "ven", "venClaim": "v", "venRoles": ["a"]}),
            "venRoles:",
        ),
        (
            "mapped without a roles claim",
            json!({"role": "mapped", "blRoles": ["a"]}),
            "rolesClaim:",
        ),
        (
            "mapped without roles",
            json!({"role": "mapped", "rolesClaim": "r"}),
            "blRoles:",
        ),
        (
            "mapped VEN roles without a ven claim",
            json!({"role": "mapped", "rolesClaim": "r", "venRoles": ["a"]}),
            "venClaim:",
        ),
        (
            "mapped ven claim without VEN roles",
            json!({"role": "mapped", "rolesClaim": "r", "blRoles": ["a"], "venClaim": "v"}),
            "venClaim:",
        ),
        (
            "a value in both lists",
            json!({"role": "mapped", "rolesClaim": "r", "venClaim": "v", "blRoles": ["a"], "venRoles": ["a"]}),
            "venRoles:",
        ),
        (
            "a value with a space",
            json!({"role": "mapped", "rolesClaim": "r", "blRoles": ["dr operator"]}),
            "blRoles[0]:",
        ),
        (
            "an empty value",
            json!({"role": "mapped", "rolesClaim": "r", "blRoles": [""]}),
            "blRoles[0]:",
        ),
    ] {
        let mut body = base.clone();
        for (k, v) in mapping.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = app
            .request(Method::POST, "/admin/identity-providers", Some(&admin))
            .json(&body)
            .send()
            .await
            .unwrap();
        let detail = expect_problem(response, 400).await;
        assert!(detail.contains(named), "{case}: {detail}");
    }
    let listed = app
        .request(Method::GET, "/admin/identity-providers", Some(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(listed, 200).await,
        json!([]),
        "nothing was registered"
    );
}

/// A database as the previous release left it: migrations 0001 to 0008 applied, one client (the
/// bootstrap client) and two identity providers, one with a VEN claim and one without.
async fn database_before_0009(backend: Backend) -> TestDatabase {
    let db = TestDatabase::create(backend).await;
    let dir = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let older = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0009" {
            std::fs::copy(&path, older.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(older.path()).await.unwrap();
    let hash = openadr3_vtn::auth::secrets::hash_secret_blocking(ADMIN_SECRET).unwrap();
    let now = "2025-01-01T00:00:00.000Z";
    let statements = [
        format!("INSERT INTO tenants (id, created_at) VALUES ('default', '{now}')"),
        format!(
            "INSERT INTO clients (client_id, tenant_id, secret_hash, scopes, role, created_at) \
             VALUES ('{ADMIN_ID}', 'default', '{hash}', 'read_all write_programs', 'bl', '{now}')"
        ),
        format!(
            "INSERT INTO identity_providers (id, tenant_id, issuer, audience, jwks_url, ven_claim, created_at) \
             VALUES ('with-ven', 'default', 'https://a.example', 'vtn', 'https://a.example/jwks', 'ven', '{now}'), \
                    ('without', 'default', 'https://b.example', 'vtn', 'https://b.example/jwks', NULL, '{now}')"
        ),
    ];
    match backend {
        Backend::Sqlite => {
            let options: sqlx::sqlite::SqliteConnectOptions = db.url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
                .await
                .unwrap();
            migrator.run(&pool).await.unwrap();
            for statement in &statements {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            for statement in &statements {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
    db
}

/// Migration 0009: providers with a VEN claim become `ven` (tokens without it are refused),
/// the others `bl`; existing clients get an instance id, so they get (bound) tokens at once.
async fn migration_0009_maps_existing_providers_securely(backend: Backend) {
    let db = database_before_0009(backend).await;
    // Starting the server migrates, then gets a token of the existing client (and uses it below).
    let app = TestApp::on_database(&db.url, |_| {}).await;
    assert_eq!(app.get("/programs").await.status(), 200);
    let admin = admin_token(&app).await;
    let listed = app
        .request(Method::GET, "/admin/identity-providers", Some(&admin))
        .send()
        .await
        .unwrap();
    let roles: Vec<(String, String)> = expect_json(listed, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().into(),
                p["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("with-ven".to_owned(), "ven".to_owned()),
            ("without".into(), "bl".into())
        ]
    );
}

backend_tests!(
    migration_0009_maps_existing_providers_securely,
    a_ven_provider_refuses_tokens_without_one_valid_ven_name,
    a_mapped_provider_needs_exactly_one_role,
    a_bl_provider_ignores_ven_claims,
    identity_provider_roles_are_checked_on_create,
);
