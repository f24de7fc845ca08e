//! Token issuing and verification beyond the basics: EdDSA keys published as a JWKS and
//! rotated, external identity providers, rate limits, and the `oauth2` crate as a real client.
//! How a provider's tokens get their role is in `tokens/idp_roles.rs`.

mod idp_roles;
mod lockout;

use crate::backend_tests;
use crate::helpers::*;
use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope as OAuthScope, TokenResponse, TokenUrl};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};

/// A server signing with its own EdDSA keys (no `VTN_JWT_SECRET`).
async fn spawn_with_keys(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |args| args.jwt_secret = None).await
}

fn header_of(token: &str) -> Header {
    jsonwebtoken::decode_header(token).expect("a JWT header")
}

async fn admin_token(app: &TestApp) -> String {
    app.tenant_token("operator", "admin").await
}

async fn jwks_of(app: &TestApp) -> Value {
    let response = app
        .http
        .get(format!("{}/.well-known/jwks.json", app.root))
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

async fn tokens_are_eddsa_and_verify_with_the_published_jwks(backend: Backend) {
    let app = spawn_with_keys(backend).await;
    let header = header_of(&app.token);
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("tokens name their key");

    let jwks = jwks_of(&app).await;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).expect("a JWKS");
    let jwk = set.find(&kid).expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&["openadr3-vtn"]);
    let claims = jsonwebtoken::decode::<Value>(
        &app.token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the token verifies with the published key")
    .claims;
    assert_eq!(claims["sub"], ADMIN_ID);
    assert_eq!(claims["tenant"], "default");
    assert_eq!(claims["role"], "bl");

    let response = app.get("/programs").await;
    assert_eq!(response.status(), 200);
}

async fn rotation_signs_with_the_new_key_and_old_tokens_keep_working(backend: Backend) {
    let app = spawn_with_keys(backend).await;
    let old_token = app.token.clone();
    let old_kid = header_of(&old_token).kid.unwrap();
    let admin = admin_token(&app).await;

    let rotated = app
        .request(reqwest::Method::POST, "/admin/keys/rotate", Some(&admin))
        .send()
        .await
        .unwrap();
    let new_kid = expect_json(rotated, 200).await["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_kid, old_kid);

    let new_token = app.token_for(ADMIN_ID, ADMIN_SECRET, None).await;
    assert_eq!(header_of(&new_token).kid.as_deref(), Some(new_kid.as_str()));
    for token in [&old_token, &new_token] {
        let response = app
            .request(reqwest::Method::GET, "/programs", Some(token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "tokens of both keys verify");
    }
    let kids: Vec<String> = jwks_of(&app).await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "both keys published: {kids:?}"
    );

    // Only operators rotate.
    let forbidden = app
        .request(
            reqwest::Method::POST,
            "/admin/keys/rotate",
            Some(&app.token),
        )
        .send()
        .await
        .unwrap();
    expect_problem(forbidden, 403).await;
}

async fn rotation_is_refused_when_signing_with_a_configured_secret(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(header_of(&app.token).alg, Algorithm::HS256);
    let admin = admin_token(&app).await;
    let response = app
        .request(reqwest::Method::POST, "/admin/keys/rotate", Some(&admin))
        .send()
        .await
        .unwrap();
    assert!(expect_problem(response, 409)
        .await
        .contains("VTN_JWT_SECRET"));
    assert_eq!(jwks_of(&app).await, json!({"keys": []}));
}

async fn a_token_signed_with_a_foreign_key_is_rejected(backend: Backend) {
    let app = spawn_with_keys(backend).await;
    let (key, _) = ed25519_key();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = header_of(&app.token).kid;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": ADMIN_ID, "tenant": "default", "scope": "read_all", "role": "bl",
                        "iat": now, "exp": now + 600, "iss": "openadr3-vtn"});
    let forged = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let response = app
        .request(reqwest::Method::GET, "/programs", Some(&forged))
        .send()
        .await
        .unwrap();
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    expect_problem(response, 401).await;
    assert!(challenge.contains("invalid_token"));
}

async fn the_token_endpoint_limits_requests_per_client_and_per_address(backend: Backend) {
    // Bursts of 5 (a quarter of 20 per minute is below the minimum burst of 5).
    let app = TestApp::spawn_with(backend, |args| {
        args.token_rate_per_client = 20;
        args.token_rate_per_address = 1000;
    })
    .await;
    // The harness already used one request of the bootstrap client's burst.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = app
            .http
            .post(format!("{}/auth/token", app.base))
            .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "rate_limited");
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 429, 429]);
    // Another client is not affected by the first one's limit.
    let other = app.create_client("default", "read_all").await;
    app.token_for(&other.client_id, &other.client_secret, None)
        .await;

    // Per address: guessing through many client ids is limited too.
    let app = TestApp::spawn_with(backend, |args| {
        args.token_rate_per_client = 1000;
        args.token_rate_per_address = 20;
    })
    .await;
    let mut limited = false;
    for i in 0..8 {
        let response = app
            .http
            .post(format!("{}/auth/token", app.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &format!("guess-{i}")),
                ("client_secret", "x"),
            ])
            .send()
            .await
            .unwrap();
        limited |= response.status() == 429;
    }
    assert!(
        limited,
        "many token requests from one address are rate limited"
    );
}

async fn the_oauth2_crate_gets_tokens_from_us(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token_url = TokenUrl::new(format!("{}/auth/token", app.base)).unwrap();

    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new(ADMIN_ID.into()))
            .set_client_secret(ClientSecret::new(ADMIN_SECRET.into()))
            .set_auth_type(auth_type.clone())
            .set_token_uri(token_url.clone());
        let token = client
            .exchange_client_credentials()
            .add_scope(OAuthScope::new("read_all".into()))
            .request_async(&http)
            .await
            .expect("a token");
        let scopes: Vec<String> = token
            .scopes()
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            scopes,
            vec!["read_all"],
            "scope downgraded to what was asked for ({auth_type:?})"
        );
        assert_eq!(token.expires_in().unwrap().as_secs(), 1800);
        let write = app
            .request(
                reqwest::Method::POST,
                "/programs",
                Some(token.access_token().secret()),
            )
            .json(&json!({"programName": "x"}));
        expect_problem(write.send().await.unwrap(), 403).await;
    }

    let client = BasicClient::new(ClientId::new(ADMIN_ID.into()))
        .set_client_secret(ClientSecret::new(ADMIN_SECRET.into()))
        .set_token_uri(token_url.clone());
    let refused = client
        .exchange_client_credentials()
        .add_scope(OAuthScope::new("admin".into()))
        .request_async(&http)
        .await;
    match refused {
        Err(oauth2::RequestTokenError::ServerResponse(error)) => {
            assert_eq!(
                error.error(),
                &oauth2::basic::BasicErrorResponseType::InvalidScope
            )
        }
        other => panic!("expected invalid_scope, got {other:?}"),
    }
    let wrong_secret = BasicClient::new(ClientId::new(ADMIN_ID.into()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(token_url)
        .exchange_client_credentials()
        .request_async(&http)
        .await;
    match wrong_secret {
        Err(oauth2::RequestTokenError::ServerResponse(error)) => {
            assert_eq!(
                error.error(),
                &oauth2::basic::BasicErrorResponseType::InvalidClient
            )
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

// --- External identity providers -------------------------------------------------------------

pub(crate) const ISSUER: &str = "https://idp.example.test";
pub(crate) const AUDIENCE: &str = "openadr3-vtn-tests";

fn ed25519_key() -> (EncodingKey, String) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    (
        EncodingKey::from_ed_der(pkcs8.as_ref()),
        URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    )
}

/// A stand-in identity provider: serves a JWKS with one key and signs tokens with it.
pub(crate) struct TestProvider {
    key: EncodingKey,
    pub(crate) kid: String,
    pub(crate) jwks_url: String,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TestProvider {
    pub(crate) async fn start() -> Self {
        let (key, x) = ed25519_key();
        let kid = "idp-key-1".to_owned();
        let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}]});
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = fetches.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            let jwks = jwks.clone();
            let counter = counter.clone();
            App::new().route(
                "/jwks",
                web::get().to(move || {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let jwks = jwks.clone();
                    async move { HttpResponse::Ok().json(jwks) }
                }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            key,
            kid,
            jwks_url: format!("http://127.0.0.1:{port}/jwks"),
            fetches,
        }
    }

    pub(crate) fn token(&self, kid: &str, audience: &str, extra: Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        let now = chrono::Utc::now().timestamp();
        let mut claims =
            json!({"iss": ISSUER, "aud": audience, "sub": "svc-42", "iat": now, "exp": now + 600});
        for (k, v) in extra.as_object().unwrap() {
            claims[k] = v.clone();
        }
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

async fn register_provider(app: &TestApp, admin: &str, tenant: &str, jwks_url: &str) {
    let body = json!({
        "tenant": tenant, "issuer": ISSUER, "audience": AUDIENCE, "jwksUrl": jwks_url,
        "rolesClaim": "roles", "roleScopes": {"dr-operator": ["read_all", "write_programs"]},
        "role": "bl",
    });
    let response = app
        .request(
            reqwest::Method::POST,
            "/admin/identity-providers",
            Some(admin),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 201).await;
}

async fn status_with(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn tokens_of_an_external_provider_act_in_its_tenant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    let provider = TestProvider::start().await;
    register_provider(&app, &admin, "default", &provider.jwks_url).await;
    let ours = app.create_program("ours", json!(null)).await;

    // Scopes from the `scope` claim (a string) and from roles mapped to scopes.
    let reader = provider.token(&provider.kid, AUDIENCE, json!({"scope": "read_all"}));
    let list = expect_json(
        app.request(reqwest::Method::GET, "/programs", Some(&reader))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        ids(&list),
        vec![ours["id"].as_str().unwrap()],
        "the provider's tenant is 'default'"
    );
    assert_eq!(
        status_with(
            &app,
            &reader,
            reqwest::Method::POST,
            "/programs",
            Some(json!({"programName": "p2"}))
        )
        .await,
        403
    );

    let operator = provider.token(&provider.kid, AUDIENCE, json!({"roles": ["dr-operator"]}));
    assert_eq!(
        status_with(
            &app,
            &operator,
            reqwest::Method::POST,
            "/programs",
            Some(json!({"programName": "p2"}))
        )
        .await,
        201
    );

    // A provider never grants the operator scope, even when its token claims it.
    let greedy = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"scope": ["admin", "read_all"]}),
    );
    assert_eq!(
        status_with(
            &app,
            &greedy,
            reqwest::Method::POST,
            "/admin/keys/rotate",
            None
        )
        .await,
        403
    );
    assert_eq!(
        status_with(&app, &greedy, reqwest::Method::GET, "/programs", None).await,
        200
    );

    // Wrong audience, unknown key id, expired: 401 invalid_token.
    let wrong_audience =
        provider.token(&provider.kid, "someone-else", json!({"scope": "read_all"}));
    let unknown_kid = provider.token("no-such-key", AUDIENCE, json!({"scope": "read_all"}));
    let expired = provider.token(
        &provider.kid,
        AUDIENCE,
        json!({"scope": "read_all", "exp": chrono::Utc::now().timestamp() - 600}),
    );
    for bad in [&wrong_audience, &unknown_kid, &expired] {
        let response = app
            .request(reqwest::Method::GET, "/programs", Some(bad))
            .send()
            .await
            .unwrap();
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token"));
        expect_problem(response, 401).await;
    }
    // The JWKS was fetched once: an unknown kid refetches at most once per interval (60 s here).
    for _ in 0..3 {
        assert_eq!(
            status_with(&app, &unknown_kid, reqwest::Method::GET, "/programs", None).await,
            401
        );
    }
    assert_eq!(
        provider.fetches.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "JWKS fetches"
    );

    // Disabling the tenant locks its provider's tokens out too.
    let disabled = app
        .request(
            reqwest::Method::POST,
            "/admin/tenants/default/disable",
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    assert!(disabled.status().is_success());
    assert_eq!(
        status_with(&app, &reader, reqwest::Method::GET, "/programs", None).await,
        401
    );
}

async fn an_unreachable_provider_yields_503_not_a_hang(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    register_provider(
        &app,
        &admin,
        "default",
        &format!("http://127.0.0.1:{port}/jwks"),
    )
    .await;
    let provider = TestProvider::start().await;
    let token = provider.token(&provider.kid, AUDIENCE, json!({"scope": "read_all"}));
    let started = std::time::Instant::now();
    let response = app
        .request(reqwest::Method::GET, "/programs", Some(&token))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(response, 503).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Tokens from unknown issuers are plainly invalid.
    let stranger = {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("k".into());
        let now = chrono::Utc::now().timestamp();
        let claims =
            json!({"iss": "https://unknown.example", "aud": AUDIENCE, "sub": "x", "exp": now + 60});
        jsonwebtoken::encode(&header, &claims, &provider.key).unwrap()
    };
    assert_eq!(
        status_with(&app, &stranger, reqwest::Method::GET, "/programs", None).await,
        401
    );
}

async fn a_key_rotated_by_the_cli_is_used_by_every_replica(backend: Backend) {
    let app = spawn_with_keys(backend).await;
    let old_kid = header_of(&app.token).kid.unwrap();
    let output = vtn_binary()
        .args(["keys", "rotate"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new_kid = serde_json::from_slice::<Value>(&output.stdout).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    // A second replica on the same database signs with the new key...
    let mut args = serve_args(&app.database_url);
    args.jwt_secret = None;
    let replica = openadr3_vtn::startup::Application::build(&args)
        .await
        .unwrap();
    let replica_base = format!("http://127.0.0.1:{}/api/openadr/v1", replica.port());
    tokio::spawn(replica.run_until_stopped());
    let response = app
        .http
        .post(format!("{replica_base}/auth/token"))
        .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let token = expect_json(response, 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(header_of(&token).kid.as_deref(), Some(new_kid.as_str()));
    // ...and the first replica accepts its tokens at once (an unknown kid reloads the keys),
    // while tokens of the old key keep working on both.
    assert_eq!(
        status_with(&app, &token, reqwest::Method::GET, "/programs", None).await,
        200
    );
    let old_on_replica = app
        .http
        .get(format!("{replica_base}/programs"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old_on_replica.status(),
        200,
        "old key {old_kid} still verifies"
    );

    let listed = vtn_binary()
        .args(["keys", "list"])
        .env("DATABASE_URL", &app.database_url)
        .output()
        .await
        .unwrap();
    let keys: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let text = keys.to_string();
    assert!(text.contains(&old_kid) && text.contains(&new_kid), "{text}");
    assert!(
        !text.contains("private"),
        "no private key material is printed"
    );
}

/// Behind a proxy the address is the last `X-Forwarded-For` entry, which the proxy appended:
/// what a client puts before it, or in `Forwarded`, cannot dodge the limit.
async fn behind_a_proxy_the_limit_counts_the_address_the_proxy_saw(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        args.token_rate_per_client = 1000;
        args.token_rate_per_address = 20;
        args.trust_forwarded_for = true;
    })
    .await;
    let attempt = |i: usize, proxy_saw: &'static str| {
        app.http
            .post(format!("{}/auth/token", app.base))
            .header("x-forwarded-for", format!("10.0.0.{i}, {proxy_saw}"))
            .header("forwarded", format!("for=10.1.0.{i}"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
                ("client_secret", "x"),
            ])
            .send()
    };
    let mut statuses = Vec::new();
    for i in 0..7 {
        statuses.push(attempt(i, "198.51.100.7").await.unwrap().status().as_u16());
    }
    assert_eq!(
        statuses,
        vec![401, 401, 401, 401, 401, 429, 429],
        "forged entries do not dodge the limit"
    );
    assert_eq!(
        attempt(99, "198.51.100.8").await.unwrap().status(),
        401,
        "another address has its own limit"
    );
}

/// A provider registered while the server runs is used at once, even right after the provider
/// list was loaded for another token.
async fn a_provider_registered_later_is_found_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = admin_token(&app).await;
    let provider = TestProvider::start().await;
    let token = provider.token(&provider.kid, AUDIENCE, json!({"scope": "read_all"}));
    // Unknown issuer: 401, and the provider list has just been loaded.
    assert_eq!(
        status_with(&app, &token, reqwest::Method::GET, "/programs", None).await,
        401
    );
    register_provider(&app, &admin, "default", &provider.jwks_url).await;
    assert_eq!(
        status_with(&app, &token, reqwest::Method::GET, "/programs", None).await,
        200
    );
}

backend_tests!(
    a_provider_registered_later_is_found_at_once,
    behind_a_proxy_the_limit_counts_the_address_the_proxy_saw,
    a_key_rotated_by_the_cli_is_used_by_every_replica,
    tokens_are_eddsa_and_verify_with_the_published_jwks,
    rotation_signs_with_the_new_key_and_old_tokens_keep_working,
    rotation_is_refused_when_signing_with_a_configured_secret,
    a_token_signed_with_a_foreign_key_is_rejected,
    the_token_endpoint_limits_requests_per_client_and_per_address,
    the_oauth2_crate_gets_tokens_from_us,
    tokens_of_an_external_provider_act_in_its_tenant,
    an_unreachable_provider_yields_503_not_a_hang,
);
