//! The token endpoint (RFC 6749 client credentials), `/auth/server`, bearer-token checks
//! (RFC 6750 challenges), scopes, and the `client create` CLI.

use crate::backend_tests;
use crate::helpers::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::{Method, Response};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The six 3.0.1 scopes the bootstrap client holds.
const BUSINESS_LOGIC_SCOPES: [&str; 6] = [
    "read_all",
    "write_programs",
    "write_events",
    "write_reports",
    "write_subscriptions",
    "write_vens",
];

fn token_url(app: &TestApp) -> String {
    format!("{}/auth/token", app.base)
}

/// `POST /auth/token` with a raw form body and optional `Authorization` header value.
async fn post_token(app: &TestApp, form: &str, authorization: Option<&str>) -> Response {
    let mut request = app
        .http
        .post(token_url(app))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("token request")
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded, joined by ':', then base64.
fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn set_of(scopes: &[&str]) -> BTreeSet<String> {
    scopes.iter().map(|s| s.to_string()).collect()
}

/// Asserts a successful token response (fields and headers) and returns its body.
async fn expect_token(response: Response) -> Value {
    let cache_control = header(&response, "cache-control");
    let pragma = header(&response, "pragma");
    let content_type = header(&response, "content-type");
    let body = expect_json(response, 200).await;
    assert_eq!(
        cache_control.as_deref(),
        Some("no-store"),
        "Cache-Control of a token response"
    );
    assert_eq!(
        pragma.as_deref(),
        Some("no-cache"),
        "Pragma of a token response"
    );
    assert!(content_type
        .unwrap_or_default()
        .starts_with("application/json"));
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "a JWT: {body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1800);
    assert!(body["scope"].is_string(), "scope: {body}");
    body
}

/// Asserts an RFC 6749 §5.2 error (`{error, error_description}`, not a problem) and returns the
/// description.
async fn expect_oauth_error(response: Response, status: u16, error: &str) -> String {
    let cache_control = header(&response, "cache-control");
    let content_type = header(&response, "content-type");
    let challenge = header(&response, "www-authenticate");
    let body = expect_json(response, status).await;
    assert_eq!(body["error"], error, "error code: {body}");
    let description = body["error_description"]
        .as_str()
        .expect("error_description")
        .to_owned();
    assert!(!description.is_empty());
    assert_eq!(
        cache_control.as_deref(),
        Some("no-store"),
        "Cache-Control of a token error"
    );
    assert!(content_type
        .unwrap_or_default()
        .starts_with("application/json"));
    if status == 401 {
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Basic realm="openadr3-vtn""#),
            "challenge of a 401"
        );
    } else {
        assert_eq!(challenge, None, "no challenge on a {status}");
    }
    description
}

/// The JSON payload of a JWT, decoded without verification.
fn claims(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload"))
        .expect("JSON payload")
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign a token")
}

/// The claims of a token the server issued to the bootstrap client, made valid from `iat` to
/// `exp` (Unix seconds): sub, tenant, scope, iss and whatever else the server puts in.
fn admin_claims(app: &TestApp, iat: i64, exp: i64) -> Value {
    let mut claims = claims(&app.token);
    assert_eq!(claims["sub"], ADMIN_ID);
    assert_eq!(claims["tenant"], "default");
    assert_eq!(claims["iss"], "openadr3-vtn");
    claims["iat"] = json!(iat);
    claims["exp"] = json!(exp);
    claims
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn get_programs_with(app: &TestApp, authorization: Option<&str>) -> Response {
    let mut request = app.http.get(format!("{}/programs", app.base));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("request sent")
}

/// Asserts a 401 problem carrying an `invalid_token` challenge; returns (challenge, detail).
async fn expect_invalid_token(response: Response) -> (String, String) {
    let challenge = header(&response, "www-authenticate").expect("a 401 carries WWW-Authenticate");
    let detail = expect_problem(response, 401).await;
    assert!(
        challenge.starts_with(
            r#"Bearer realm="openadr3-vtn", error="invalid_token", error_description=""#
        ),
        "challenge: {challenge}"
    );
    assert!(detail.starts_with("invalid token: "), "detail: {detail}");
    (challenge, detail)
}

/// Asserts a 403 problem with an `insufficient_scope` challenge naming `scope`.
async fn expect_insufficient_scope(response: Response, scope: &str) {
    let challenge = header(&response, "www-authenticate");
    let detail = expect_problem(response, 403).await;
    assert_eq!(
        challenge.as_deref(),
        Some(
            format!(r#"Bearer realm="openadr3-vtn", error="insufficient_scope", scope="{scope}""#)
                .as_str()
        )
    );
    assert_eq!(
        detail,
        format!("this operation requires the scope '{scope}'")
    );
}

/// Runs the CLI against the app's database with `args` after `client create`.
async fn client_create(app: &TestApp, args: &[&str]) -> std::process::Output {
    vtn_binary()
        .args(["client", "create"])
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .expect("run openadr3-vtn client create")
}

fn program_body(name: &str) -> Value {
    json!({"programName": name})
}

// ---------------------------------------------------------------------------------------------

async fn token_by_form_body(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form =
        format!("grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}");
    let body = expect_token(post_token(&app, &form, None).await).await;
    assert_eq!(
        scope_set(body["scope"].as_str().unwrap()),
        set_of(&BUSINESS_LOGIC_SCOPES)
    );

    // The token works.
    let token = body["access_token"].as_str().unwrap();
    let list = expect_json(
        app.request(Method::GET, "/programs", Some(token))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list, json!([]));
}

async fn token_by_http_basic_with_percent_encoded_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Characters that mean something in form encoding or in the Basic "id:secret" syntax.
    let id = "ven one+ä/%";
    let secret = "p@ss:w%rd+ 1/=&x";
    let output = client_create(
        &app,
        &[
            "--tenant",
            "default",
            "--scopes",
            "read_all",
            "--client-id",
            id,
            "--client-secret",
            secret,
        ],
    )
    .await;
    assert!(
        output.status.success(),
        "client create: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let body = expect_token(
        post_token(
            &app,
            "grant_type=client_credentials",
            Some(&basic(id, secret)),
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "read_all");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["sub"], id);
    let list = expect_json(
        app.request(Method::GET, "/programs", Some(token))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list, json!([]));

    // The plain bootstrap credentials by Basic as reqwest encodes them (nothing to escape).
    let response = app
        .http
        .post(token_url(&app))
        .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body = expect_token(response).await;
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["sub"],
        ADMIN_ID
    );

    // The secret sent without form-encoding is a different secret ('+' means a space).
    let raw = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", "ven%20one%2B%C3%A4%2F%25", secret))
    );
    expect_oauth_error(
        post_token(&app, "grant_type=client_credentials", Some(&raw)).await,
        401,
        "invalid_client",
    )
    .await;
}

async fn credentials_both_by_basic_and_in_body_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auth = basic(ADMIN_ID, ADMIN_SECRET);
    for form in [
        format!("grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}"),
        format!("grant_type=client_credentials&client_id={ADMIN_ID}"),
        format!("grant_type=client_credentials&client_secret={ADMIN_SECRET}"),
    ] {
        let description = expect_oauth_error(
            post_token(&app, &form, Some(&auth)).await,
            400,
            "invalid_request",
        )
        .await;
        assert!(description.contains("not both"), "{form}: {description}");
    }
}

async fn malformed_token_requests_are_invalid_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let creds = format!("client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}");

    let description =
        expect_oauth_error(post_token(&app, &creds, None).await, 400, "invalid_request").await;
    assert!(description.contains("grant_type"), "{description}");

    // No credentials at all, or only half of them.
    for form in [
        "grant_type=client_credentials",
        &format!("grant_type=client_credentials&client_id={ADMIN_ID}"),
    ] {
        let description =
            expect_oauth_error(post_token(&app, form, None).await, 400, "invalid_request").await;
        assert!(
            description.contains("client_id and client_secret"),
            "{form}: {description}"
        );
    }

    let repeated = format!("grant_type=client_credentials&{creds}&client_id={ADMIN_ID}");
    let description = expect_oauth_error(
        post_token(&app, &repeated, None).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(description.contains("client_id"), "{description}");

    // A JSON body, as some clients wrongly send.
    let response = app
        .http
        .post(token_url(&app))
        .json(&json!({"grant_type": "client_credentials", "client_id": ADMIN_ID, "client_secret": ADMIN_SECRET}))
        .send()
        .await
        .unwrap();
    let description = expect_oauth_error(response, 400, "invalid_request").await;
    assert!(
        description.contains("application/x-www-form-urlencoded"),
        "{description}"
    );
}

async fn other_grant_types_are_unsupported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for grant in ["password", "authorization_code", "refresh_token", ""] {
        let form = format!("grant_type={grant}&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}&username=u&password=p");
        let description = expect_oauth_error(
            post_token(&app, &form, None).await,
            400,
            "unsupported_grant_type",
        )
        .await;
        assert!(
            description.contains("client_credentials"),
            "{grant}: {description}"
        );
    }
}

async fn wrong_secret_and_unknown_client_are_invalid_client(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let wrong_secret =
        format!("grant_type=client_credentials&client_id={ADMIN_ID}&client_secret=not-the-secret");
    let unknown = "grant_type=client_credentials&client_id=nobody&client_secret=whatever-secret";
    let by_body_wrong = expect_oauth_error(
        post_token(&app, &wrong_secret, None).await,
        401,
        "invalid_client",
    )
    .await;
    let by_body_unknown =
        expect_oauth_error(post_token(&app, unknown, None).await, 401, "invalid_client").await;
    // The answer does not reveal which client ids exist.
    assert_eq!(by_body_wrong, by_body_unknown);

    for auth in [
        basic(ADMIN_ID, "not-the-secret"),
        basic("nobody", ADMIN_SECRET),
    ] {
        expect_oauth_error(
            post_token(&app, "grant_type=client_credentials", Some(&auth)).await,
            401,
            "invalid_client",
        )
        .await;
    }
    // Basic credentials that are not base64, or lack the ':'.
    for auth in [
        "Basic !!!not-base64!!!".to_owned(),
        format!("Basic {}", STANDARD.encode("no-colon")),
    ] {
        expect_oauth_error(
            post_token(&app, "grant_type=client_credentials", Some(&auth)).await,
            401,
            "invalid_client",
        )
        .await;
    }
}

async fn scope_parameter_grants_a_subset(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let form = format!(
        "grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}&scope=write_events+read_all"
    );
    let body = expect_token(post_token(&app, &form, None).await).await;
    assert_eq!(
        scope_set(body["scope"].as_str().unwrap()),
        set_of(&["read_all", "write_events"])
    );
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        scope_set(claims(token)["scope"].as_str().unwrap()),
        set_of(&["read_all", "write_events"])
    );

    // It can read...
    let list = expect_json(
        app.request(Method::GET, "/programs", Some(token))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(list, json!([]));
    // ...but not write programs, which the client could have asked for.
    let response = app
        .request(Method::POST, "/programs", Some(token))
        .json(&program_body("p"))
        .send()
        .await
        .unwrap();
    expect_insufficient_scope(response, "write_programs").await;
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([]),
        "nothing was created"
    );

    // An empty scope parameter means all of the client's scopes.
    let form = format!(
        "grant_type=client_credentials&client_id={ADMIN_ID}&client_secret={ADMIN_SECRET}&scope="
    );
    let body = expect_token(post_token(&app, &form, None).await).await;
    assert_eq!(
        scope_set(body["scope"].as_str().unwrap()),
        set_of(&BUSINESS_LOGIC_SCOPES)
    );
}

async fn scope_beyond_the_client_or_unknown_is_invalid_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.create_client("default", "read_all").await;
    let form = |scope: &str| {
        format!(
            "grant_type=client_credentials&client_id={}&client_secret={}&scope={scope}",
            client.client_id, client.client_secret
        )
    };
    let description = expect_oauth_error(
        post_token(&app, &form("read_all+write_programs"), None).await,
        400,
        "invalid_scope",
    )
    .await;
    assert!(
        description.contains("read_all"),
        "names what the client may request: {description}"
    );
    expect_oauth_error(
        post_token(&app, &form("write_vens"), None).await,
        400,
        "invalid_scope",
    )
    .await;

    let description = expect_oauth_error(
        post_token(&app, &form("read_everything"), None).await,
        400,
        "invalid_scope",
    )
    .await;
    assert!(
        description.contains("unknown scope 'read_everything'"),
        "{description}"
    );

    // The client's own scope is fine.
    let body = expect_token(post_token(&app, &form("read_all"), None).await).await;
    assert_eq!(body["scope"], "read_all");
}

async fn token_claims_carry_client_tenant_scope_and_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = now();
    let token = app.token_for(ADMIN_ID, ADMIN_SECRET, None).await;
    let after = now();
    let claims = claims(&token);
    assert_eq!(claims["sub"], ADMIN_ID);
    assert_eq!(claims["tenant"], "default");
    assert_eq!(claims["iss"], "openadr3-vtn");
    assert_eq!(
        scope_set(claims["scope"].as_str().unwrap()),
        set_of(&BUSINESS_LOGIC_SCOPES)
    );
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert!(
        (before..=after).contains(&iat),
        "iat {iat} not within [{before}, {after}]"
    );
    assert_eq!(exp - iat, 1800);

    // A client of another tenant gets its own tenant and scopes.
    let client = app.create_client("tenant-b", "read_all,write_events").await;
    let token = app
        .token_for(&client.client_id, &client.client_secret, None)
        .await;
    let claims = self::claims(&token);
    assert_eq!(claims["sub"], client.client_id.as_str());
    assert_eq!(claims["tenant"], "tenant-b");
    assert_eq!(
        scope_set(claims["scope"].as_str().unwrap()),
        set_of(&["read_all", "write_events"])
    );
}

async fn auth_server_names_the_token_url(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .http
        .get(format!("{}/auth/server", app.base))
        .send()
        .await
        .unwrap();
    let body = expect_json(response, 200).await;
    let token_url = body["tokenURL"].as_str().expect("tokenURL");
    assert!(
        token_url.ends_with("/api/openadr/v1/auth/token"),
        "{token_url}"
    );
    assert_eq!(token_url, self::token_url(&app));

    // The URL given is the one that issues tokens.
    let response = app
        .http
        .post(token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
        ])
        .send()
        .await
        .unwrap();
    expect_token(response).await;

    // With a configured public URL, that one is advertised.
    let app = TestApp::spawn_with(backend, |args| {
        args.public_url = Some("https://vtn.example.com/".into())
    })
    .await;
    let body = expect_json(
        app.http
            .get(format!("{}/auth/server", app.base))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        body["tokenURL"],
        "https://vtn.example.com/api/openadr/v1/auth/token"
    );
}

async fn missing_authorization_gets_a_bare_bearer_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (method, path) in [
        (Method::GET, "/programs"),
        (Method::POST, "/programs"),
        (Method::GET, "/events/x"),
    ] {
        let mut request = app.request(method.clone(), path, None);
        if method == Method::POST {
            request = request.json(&program_body("p"));
        }
        let response = request.send().await.unwrap();
        let challenge = header(&response, "www-authenticate");
        let detail = expect_problem(response, 401).await;
        assert_eq!(
            challenge.as_deref(),
            Some(r#"Bearer realm="openadr3-vtn""#),
            "{method} {path}"
        );
        assert!(detail.contains("bearer token is required"), "{detail}");
    }
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([]),
        "nothing was created"
    );
}

async fn malformed_or_garbage_tokens_are_invalid_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let basic_admin = basic(ADMIN_ID, ADMIN_SECRET);
    for value in [
        "Basic x",
        basic_admin.as_str(),
        "Bearer",
        "Token abc",
        "bearer-abc",
    ] {
        let (_, detail) = expect_invalid_token(get_programs_with(&app, Some(value)).await).await;
        assert!(detail.contains("Bearer <token>"), "{value}: {detail}");
    }
    for value in ["Bearer garbage", "Bearer a.b.c", "Bearer not-a-jwt-at-all"] {
        let (challenge, detail) =
            expect_invalid_token(get_programs_with(&app, Some(value)).await).await;
        assert!(detail.contains("malformed"), "{value}: {detail}");
        assert!(challenge.contains("malformed"), "{value}: {challenge}");
    }
    // The scheme is case-insensitive (RFC 7235 §2.1): a good token is accepted as "bearer".
    let lower = format!("bearer {}", app.token);
    assert_eq!(
        expect_json(get_programs_with(&app, Some(&lower)).await, 200).await,
        json!([])
    );
}

async fn expired_and_foreign_tokens_are_rejected(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = now();

    // Control: a token signed like the server's own is accepted, so what follows fails for the
    // reason given, not because of the way it was made.
    let valid = sign(&admin_claims(&app, now, now + 600), JWT_SECRET);
    assert_eq!(
        expect_json(
            get_programs_with(&app, Some(&format!("Bearer {valid}"))).await,
            200
        )
        .await,
        json!([])
    );

    let expired = sign(&admin_claims(&app, now - 3600, now - 120), JWT_SECRET);
    let (challenge, detail) =
        expect_invalid_token(get_programs_with(&app, Some(&format!("Bearer {expired}"))).await)
            .await;
    assert!(detail.contains("expired"), "{detail}");
    assert!(challenge.contains("expired"), "{challenge}");

    let foreign = sign(
        &admin_claims(&app, now, now + 600),
        "another-secret-that-is-also-32-bytes-long!",
    );
    let (_, detail) =
        expect_invalid_token(get_programs_with(&app, Some(&format!("Bearer {foreign}"))).await)
            .await;
    assert!(detail.contains("signature"), "{detail}");

    let mut other_issuer = admin_claims(&app, now, now + 600);
    other_issuer["iss"] = json!("someone-else");
    let token = sign(&other_issuer, JWT_SECRET);
    expect_invalid_token(get_programs_with(&app, Some(&format!("Bearer {token}"))).await).await;

    // A token of the server, with its signature tampered with by changing the claims.
    let parts: Vec<&str> = app.token.split('.').collect();
    let mut forged_claims = claims(&app.token);
    forged_claims["tenant"] = json!("tenant-b");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    let (_, detail) =
        expect_invalid_token(get_programs_with(&app, Some(&format!("Bearer {forged}"))).await)
            .await;
    assert!(detail.contains("signature"), "{detail}");
}

async fn token_without_the_scope_gets_403_insufficient_scope(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reader = app
        .token_for(ADMIN_ID, ADMIN_SECRET, Some("read_all"))
        .await;
    let program = app.create_program("p", json!([])).await;
    let program_id = program["id"].as_str().unwrap();
    let event = app
        .create_event(event_at(
            program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    let event_id = event["id"].as_str().unwrap();

    let cases = [
        (
            Method::POST,
            "/programs".to_owned(),
            Some(program_body("q")),
            "write_programs",
        ),
        (
            Method::PUT,
            format!("/programs/{program_id}"),
            Some(program_body("renamed")),
            "write_programs",
        ),
        (
            Method::DELETE,
            format!("/programs/{program_id}"),
            None,
            "write_programs",
        ),
        (
            Method::POST,
            "/events".to_owned(),
            Some(event_at(program_id, "2024-01-02T00:00:00Z", None, 1)),
            "write_events",
        ),
        (
            Method::DELETE,
            format!("/events/{event_id}"),
            None,
            "write_events",
        ),
    ];
    for (method, path, body, scope) in cases {
        let mut request = app.request(method, &path, Some(&reader));
        if let Some(body) = body {
            request = request.json(&body);
        }
        expect_insufficient_scope(request.send().await.unwrap(), scope).await;
    }
    // Nothing changed.
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([program])
    );
    assert_eq!(
        expect_json(app.get("/events").await, 200).await,
        json!([event])
    );

    // A writer without read_all cannot read.
    let writer = app
        .token_for(ADMIN_ID, ADMIN_SECRET, Some("write_programs"))
        .await;
    let response = app
        .request(
            Method::GET,
            &format!("/programs/{program_id}"),
            Some(&writer),
        )
        .send()
        .await
        .unwrap();
    expect_insufficient_scope(response, "read_all").await;
}

async fn ven_scopes_neither_write_nor_read_all(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = app.create_program("p", json!([])).await;
    let program_id = program["id"].as_str().unwrap();
    let event = app
        .create_event(event_at(
            program_id,
            "2024-01-01T00:00:00Z",
            Some("PT1H"),
            1,
        ))
        .await;
    let event_id = event["id"].as_str().unwrap();

    let client = app
        .create_client("default", "read_targets,read_ven_objects")
        .await;
    let response = app
        .http
        .post(token_url(&app))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
            ("client_secret", &client.client_secret),
        ])
        .send()
        .await
        .unwrap();
    let body = expect_token(response).await;
    assert_eq!(
        scope_set(body["scope"].as_str().unwrap()),
        set_of(&["read_targets", "read_ven_objects"])
    );
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        scope_set(claims(&token)["scope"].as_str().unwrap()),
        set_of(&["read_targets", "read_ven_objects"])
    );

    let response = app
        .request(Method::POST, "/programs", Some(&token))
        .json(&program_body("q"))
        .send()
        .await
        .unwrap();
    expect_insufficient_scope(response, "write_programs").await;
    let new_event = event_at(program_id, "2024-01-02T00:00:00Z", None, 1);
    let response = app
        .request(Method::POST, "/events", Some(&token))
        .json(&new_event)
        .send()
        .await
        .unwrap();
    expect_insufficient_scope(response, "write_events").await;
    for path in [
        "/programs".to_owned(),
        format!("/programs/{program_id}"),
        "/events".to_owned(),
        format!("/events/{event_id}"),
    ] {
        let response = app
            .request(Method::GET, &path, Some(&token))
            .send()
            .await
            .unwrap();
        expect_insufficient_scope(response, "read_all").await;
    }
    assert_eq!(
        expect_json(app.get("/programs").await, 200).await,
        json!([program])
    );
    assert_eq!(
        expect_json(app.get("/events").await, 200).await,
        json!([event])
    );
}

async fn cli_client_create_prints_the_client_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // Generated id and secret.
    let created = app.create_client("tenant-x", "write_events,read_all").await;
    let fields: BTreeSet<&str> = created
        .json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["client_id", "client_secret", "tenant", "scopes"])
    );
    assert!(created.client_id.starts_with("client-"), "{}", created.json);
    assert_eq!(
        created.client_secret.len(),
        43,
        "32 random bytes, base64url: {}",
        created.json
    );
    assert_eq!(created.json["tenant"], "tenant-x");
    assert_eq!(created.json["scopes"], json!(["read_all", "write_events"]));
    let other = app.create_client("tenant-x", "read_all").await;
    assert_ne!(other.client_id, created.client_id);
    assert_ne!(other.client_secret, created.client_secret);

    // Given id and secret.
    let args = [
        "--tenant",
        "t1",
        "--scopes",
        "read_all",
        "--client-id",
        "my-client",
        "--client-secret",
        "first-secret",
    ];
    let output = client_create(&app, &args).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(
        printed,
        json!({"client_id": "my-client", "client_secret": "first-secret", "tenant": "t1", "scopes": ["read_all"]})
    );

    // The same id again fails, and does not replace the first client.
    let args = [
        "--tenant",
        "t2",
        "--scopes",
        "read_all,write_programs",
        "--client-id",
        "my-client",
        "--client-secret",
        "second-secret",
    ];
    let output = client_create(&app, &args).await;
    assert!(!output.status.success(), "a duplicate client id must fail");
    assert!(
        output.stdout.is_empty(),
        "nothing printed on stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'my-client' already exists"), "{stderr}");

    let token = app.token_for("my-client", "first-secret", None).await;
    assert_eq!(claims(&token)["tenant"], "t1");
    assert_eq!(claims(&token)["scope"], "read_all");
    let form = "grant_type=client_credentials&client_id=my-client&client_secret=second-secret";
    expect_oauth_error(post_token(&app, form, None).await, 401, "invalid_client").await;

    // Unknown scopes and ':' in a client id are refused.
    let output = client_create(&app, &["--tenant", "t1", "--scopes", "read_all,bogus"]).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown scope 'bogus'"));
    let output = client_create(
        &app,
        &[
            "--tenant",
            "t1",
            "--scopes",
            "read_all",
            "--client-id",
            "a:b",
        ],
    )
    .await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("':'"));
}

/// Authorization is decided before the body is read: a caller without a valid token learns
/// nothing about what the body should look like.
async fn authorization_comes_before_body_validation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reader = app.tenant_token("default", "read_all").await;
    for _ in 0..20 {
        let no_token = app
            .request(Method::POST, "/programs", None)
            .header("content-type", "application/json")
            .body("{");
        expect_problem(no_token.send().await.unwrap(), 401).await;
        let garbage = app
            .request(Method::POST, "/events", Some("not-a-jwt"))
            .json(&json!({"bogus": 1}));
        expect_problem(garbage.send().await.unwrap(), 401).await;
        let no_scope = app
            .request(Method::POST, "/programs", Some(&reader))
            .json(&json!({"programName": 5}));
        expect_problem(no_scope.send().await.unwrap(), 403).await;
    }
}

backend_tests!(
    authorization_comes_before_body_validation,
    token_by_form_body,
    token_by_http_basic_with_percent_encoded_credentials,
    credentials_both_by_basic_and_in_body_are_refused,
    malformed_token_requests_are_invalid_request,
    other_grant_types_are_unsupported,
    wrong_secret_and_unknown_client_are_invalid_client,
    scope_parameter_grants_a_subset,
    scope_beyond_the_client_or_unknown_is_invalid_scope,
    token_claims_carry_client_tenant_scope_and_expiry,
    auth_server_names_the_token_url,
    missing_authorization_gets_a_bare_bearer_challenge,
    malformed_or_garbage_tokens_are_invalid_token,
    expired_and_foreign_tokens_are_rejected,
    token_without_the_scope_gets_403_insufficient_scope,
    ven_scopes_neither_write_nor_read_all,
    cli_client_create_prints_the_client_once,
);
