//! Secrets at rest: signing keys' private halves and Voltus API keys are stored sealed, the
//! Voltus webhook secret as a digest; a database dump alone yields none of them. Covers the key
//! settings, the SQLite key file, sealing of databases from before sealing, and key rotation.

use crate::backend_tests;
use crate::helpers::*;
use crate::receiver::callback_url;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openadr3_vtn::bridge::voltus::simulator::Simulator;
use openadr3_vtn::config::{SecretKeyArgs, ServeArgs};
use openadr3_vtn::startup::Application;
use openadr3_vtn::store::sealed::{SecretCipher, SIGNING_KEY_PRIVATE, VOLTUS_API_KEY};
use openadr3_vtn::store::{self, PoolSettings};
use reqwest::Method;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use std::time::Duration;

const SIM_KEY: &str = "voltus-api-key-that-must-not-leak";
const WEBHOOK_SECRET: &str = "webhook-path-secret-that-must-not-leak";
const K0: &str = "k0:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const K1: &str = "k1:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";
const PING: &str = r#"{"event":{"name":""},"resource":""}"#;

fn simulator() -> Simulator {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    Simulator::start(listener, SIM_KEY).unwrap()
}

fn keys(text: &str) -> SecretKeyArgs {
    SecretKeyArgs {
        secret_keys: Some(text.into()),
        secret_keys_file: None,
    }
}

/// EdDSA tokens (signing keys stored in the database) with the given secret keys.
fn eddsa(secrets: SecretKeyArgs) -> impl FnOnce(&mut ServeArgs) {
    move |args| {
        args.jwt_secret = None;
        args.database.secrets = secrets;
    }
}

/// The values of one TEXT column, read straight from the database as a dump would.
async fn texts(url: &str, sql: &str) -> Vec<String> {
    if url.starts_with("sqlite:") {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    } else {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
    }
}

/// Runs a statement with text parameters `$1…` straight on the database.
async fn execute(url: &str, sql: &str, binds: &[&str]) {
    if url.starts_with("sqlite:") {
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.execute(&mut conn).await.unwrap();
    } else {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .unwrap();
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.execute(&mut conn).await.unwrap();
    }
}

/// Everything the database holds, as text: the SQLite files byte for byte (database and WAL),
/// or every row of every PostgreSQL table.
async fn dump(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let tables = texts(
        url,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .await;
    let mut out = String::new();
    for table in tables {
        let sql = format!(r#"SELECT t::text FROM "{table}" t"#);
        out.push_str(&texts(url, &sql).await.join("\n"));
    }
    out
}

/// The binary on `url` with exactly these secret keys (`None`: none set).
async fn cli(url: &str, secret_keys: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = vtn_binary();
    command.args(args).env("DATABASE_URL", url);
    match secret_keys {
        Some(keys) => command.env("VTN_SECRET_KEYS", keys),
        None => command.env_remove("VTN_SECRET_KEYS"),
    };
    command.output().await.unwrap()
}

fn success(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A token of an admin-role client created by the CLI with `secret_keys`.
async fn operator(app: &TestApp, secret_keys: &str) -> String {
    let args = [
        "client", "create", "--tenant", "default", "--scopes", "admin",
    ];
    let created = success(&cli(&app.database_url, Some(secret_keys), &args).await);
    app.token_for(
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
        None,
    )
    .await
}

/// Configures tenant `default`'s Voltus bridge against `sim`; returns the answer.
async fn configure(app: &TestApp, operator: &str, sim: &Simulator, extra: Value) -> Value {
    let mut body = json!({"baseUrl": sim.base_url, "apiKey": SIM_KEY, "pollIntervalSeconds": 0.2});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let response = app
        .request(Method::PUT, "/admin/tenants/default/voltus", Some(operator))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_json(response, 200).await
}

/// Waits until a poll of the bridge succeeded after `after` (Voltus accepted the API key).
async fn polled_successfully(app: &TestApp, after: &str) {
    within("a successful poll", Duration::from_secs(10), || async {
        let status = expect_json(app.get("/bridge/voltus/status").await, 200).await;
        let success = status["lastSuccessAt"].as_str().unwrap_or("");
        (success > after && status["consecutiveFailures"] == 0).then_some(())
    })
    .await;
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Status of Voltus's test payload on the webhook path with `secret`.
async fn webhook(app: &TestApp, secret: &str) -> u16 {
    app.http
        .post(format!(
            "{}/bridge/voltus/default/webhook/{secret}",
            app.base
        ))
        .header("content-type", "application/json")
        .body(PING)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `x` of the JWKS entry with `kid`.
async fn published_key(app: &TestApp, kid: &str) -> String {
    let jwks: Value = app
        .http
        .get(format!("{}/.well-known/jwks.json", app.root))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("{kid} not in {jwks}"));
    key["x"].as_str().unwrap().to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// A dump of the database (the SQLite files, every PostgreSQL row) holds neither the signing
/// key's private half nor the Voltus API key nor the webhook secret; the stored values open
/// with the configured key (the private key is the one whose public half the JWKS publishes),
/// and the server works with them: its tokens verify and Voltus accepts its API key.
async fn a_database_dump_holds_no_secret(backend: Backend) {
    let app = TestApp::spawn_with(backend, eddsa(test_secret_keys())).await;
    let sim = simulator();
    let operator = operator(&app, TEST_SECRET_KEYS).await;
    let before = now_text();
    configure(
        &app,
        &operator,
        &sim,
        json!({"webhookSecret": WEBHOOK_SECRET}),
    )
    .await;
    polled_successfully(&app, &before).await;
    expect_json(app.get("/programs").await, 200).await;
    assert_eq!(webhook(&app, WEBHOOK_SECRET).await, 200);

    let cipher = SecretCipher::parse(TEST_SECRET_KEYS, "test").unwrap();
    let kid = kid_of(&app.token);
    let sealed = texts(
        &app.database_url,
        "SELECT private_key FROM signing_keys ORDER BY kid",
    )
    .await;
    assert_eq!(sealed.len(), 1);
    assert!(sealed[0].starts_with("sealed:v1:test-1:"), "{}", sealed[0]);
    let private = cipher
        .open(&SIGNING_KEY_PRIVATE.aad(&[&kid]), &sealed[0])
        .unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(&STANDARD.decode(&private).unwrap()).unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        published_key(&app, &kid).await
    );
    let api_key = texts(&app.database_url, "SELECT api_key FROM voltus_bridges").await;
    assert_eq!(
        cipher
            .open(&VOLTUS_API_KEY.aad(&["default"]), &api_key[0])
            .unwrap(),
        SIM_KEY
    );
    let digest = texts(
        &app.database_url,
        "SELECT webhook_secret FROM voltus_bridges",
    )
    .await;
    assert!(digest[0].starts_with("sha256:"), "{}", digest[0]);

    let dump = dump(&app.database_url).await;
    for secret in [private.as_str(), SIM_KEY, WEBHOOK_SECRET] {
        assert!(!dump.contains(secret), "the dump holds a secret");
    }
    assert!(dump.contains("sealed:v1:test-1:"), "the dump was read");
}

/// Only a digest of the webhook secret is kept: a replace that omits `webhookSecret` keeps the
/// secret working without showing it again, and a new secret replaces the old one.
async fn the_webhook_secret_is_kept_as_a_digest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sim = simulator();
    let operator = operator(&app, TEST_SECRET_KEYS).await;
    let first = configure(
        &app,
        &operator,
        &sim,
        json!({"webhookSecret": WEBHOOK_SECRET}),
    )
    .await;
    assert_eq!(
        first["webhookPath"],
        format!("/api/openadr/v1/bridge/voltus/default/webhook/{WEBHOOK_SECRET}")
    );
    let kept = configure(&app, &operator, &sim, json!({"enabled": true})).await;
    assert!(kept.get("webhookPath").is_none(), "{kept}");
    assert_eq!(webhook(&app, WEBHOOK_SECRET).await, 200);
    assert_eq!(
        webhook(&app, "webhook-path-secret-that-must-not-lea").await,
        404
    );
    let stored = texts(
        &app.database_url,
        "SELECT webhook_secret FROM voltus_bridges",
    )
    .await;
    assert!(
        stored[0].starts_with("sha256:") && !stored[0].contains(WEBHOOK_SECRET),
        "{}",
        stored[0]
    );
    let replaced = configure(
        &app,
        &operator,
        &sim,
        json!({"webhookSecret": "another-path-secret-0123"}),
    )
    .await;
    assert!(replaced["webhookPath"]
        .as_str()
        .unwrap()
        .ends_with("/another-path-secret-0123"));
    assert_eq!(webhook(&app, WEBHOOK_SECRET).await, 404);
    assert_eq!(webhook(&app, "another-path-secret-0123").await, 200);
}

/// A database from before sealing, its secrets written in plaintext: the first start seals them
/// (the webhook secret becomes a digest), and everything works as before: the old signing key
/// still signs and its tokens verify, Voltus accepts the API key, the webhook path is accepted.
/// A second start changes nothing.
async fn plaintext_secrets_of_an_older_database_are_sealed_at_startup(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
    };
    let cipher = SecretCipher::parse(TEST_SECRET_KEYS, "test").unwrap();
    let migrated = store::connect(&db.url, &settings, cipher).await.unwrap();
    migrated
        .ensure_tenant(&openadr3_vtn::domain::TenantId("default".into()))
        .await
        .unwrap();
    drop(migrated);

    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let private = STANDARD.encode(pkcs8.as_ref());
    let public = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let created_ms = chrono::Utc::now().timestamp_millis().to_string();
    execute(
        &db.url,
        &format!(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at_ms) \
             VALUES ('legacy-kid', 'EdDSA', $1, $2, {created_ms})"
        ),
        &[&private, &public],
    )
    .await;
    let sim = simulator();
    execute(
        &db.url,
        "INSERT INTO voltus_bridges (tenant_id, base_url, api_key, site_target, target_type, \
         poll_interval_ms, test_dispatches, cancellation, webhook_secret, telemetry, enabled, \
         created_at, updated_at) VALUES ('default', $1, $2, 'customer_location_id', \
         'RESOURCE_NAME', 200, 'test_program', 'zero_window', $3, FALSE, TRUE, $4, $4)",
        &[&sim.base_url, SIM_KEY, WEBHOOK_SECRET, &now_text()],
    )
    .await;

    let before = now_text();
    let app = TestApp::on_database(&db.url, eddsa(test_secret_keys())).await;
    let stored = texts(
        &db.url,
        "SELECT private_key FROM signing_keys UNION ALL SELECT api_key FROM voltus_bridges \
         UNION ALL SELECT webhook_secret FROM voltus_bridges",
    )
    .await;
    assert_eq!(stored.len(), 3);
    assert!(stored[0].starts_with("sealed:v1:test-1:"), "{}", stored[0]);
    assert!(stored[1].starts_with("sealed:v1:test-1:"), "{}", stored[1]);
    assert!(stored[2].starts_with("sha256:"), "{}", stored[2]);
    let dump = dump(&db.url).await;
    for secret in [private.as_str(), SIM_KEY, WEBHOOK_SECRET] {
        assert!(!dump.contains(secret), "the dump still holds a secret");
    }

    // The legacy key signs the server's tokens, and they verify.
    assert_eq!(kid_of(&app.token), "legacy-kid");
    assert_eq!(published_key(&app, "legacy-kid").await, public);
    expect_json(app.get("/programs").await, 200).await;
    polled_successfully(&app, &before).await;
    assert_eq!(webhook(&app, WEBHOOK_SECRET).await, 200);
    assert_eq!(webhook(&app, "not-the-webhook-secret-0").await, 404);

    // Idempotent: a second process leaves the sealed values as they are.
    let replica = app.replica(eddsa(test_secret_keys())).await;
    let again = texts(
        &db.url,
        "SELECT private_key FROM signing_keys UNION ALL SELECT api_key FROM voltus_bridges \
         UNION ALL SELECT webhook_secret FROM voltus_bridges",
    )
    .await;
    assert_eq!(again, stored);
    let on_replica = replica
        .request(Method::GET, "/programs", Some(&app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(on_replica.status(), 200);
    drop(db);
}

/// The documented rotation: put the new key first and keep the old one, run `secrets reseal`,
/// then the new key alone opens everything: old tokens verify, the bridge authenticates to
/// Voltus. A process with only the old key then refuses to start, naming the column and key id.
async fn after_a_reseal_the_new_key_alone_opens_everything(backend: Backend) {
    let old = TestApp::spawn_with(backend, |args| {
        eddsa(keys(K0))(args);
        // The old process must not poll with a key it will no longer open.
        args.voltus.voltus_bridge = false;
    })
    .await;
    let sim = simulator();
    let operator = operator(&old, K0).await;
    configure(
        &old,
        &operator,
        &sim,
        json!({"webhookSecret": WEBHOOK_SECRET}),
    )
    .await;
    let token = old.token.clone();

    let rotated = format!("{K1},{K0}");
    let output = success(&cli(&old.database_url, Some(&rotated), &["secrets", "reseal"]).await);
    assert_eq!(output["kid"], "k1");
    let count = |column: &str| {
        output["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["column"] == column)
            .unwrap_or_else(|| panic!("{column} in {output}"))
            .clone()
    };
    assert_eq!(
        count("signing_keys.private_key"),
        json!({"column": "signing_keys.private_key", "sealed": 0, "resealed": 1})
    );
    assert_eq!(count("voltus_bridges.api_key")["resealed"], 1);
    assert_eq!(count("voltus_bridges.webhook_secret")["resealed"], 0);
    let sealed = texts(
        &old.database_url,
        "SELECT private_key FROM signing_keys UNION ALL SELECT api_key FROM voltus_bridges",
    )
    .await;
    assert!(
        sealed.iter().all(|v| v.starts_with("sealed:v1:k1:")),
        "{sealed:?}"
    );
    // Again: nothing left to do.
    let again = success(&cli(&old.database_url, Some(&rotated), &["secrets", "reseal"]).await);
    assert!(
        again["columns"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["sealed"] == 0 && c["resealed"] == 0),
        "{again}"
    );

    // The new key alone, from a file (a mounted Kubernetes Secret).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret-keys");
    std::fs::write(&file, format!("{K1}\n")).unwrap();
    let before = now_text();
    let new = old
        .replica(eddsa(SecretKeyArgs {
            secret_keys: None,
            secret_keys_file: Some(file),
        }))
        .await;
    let response = new
        .request(Method::GET, "/programs", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "a token of before the rotation");
    polled_successfully(&new, &before).await;
    assert_eq!(webhook(&new, WEBHOOK_SECRET).await, 200);

    let mut args = serve_args(&old.database_url);
    eddsa(keys(K0))(&mut args);
    let refused = Application::build(&args)
        .await
        .err()
        .expect("a process without the current key does not start");
    let message = format!("{refused:#}");
    assert!(
        message.contains("signing_keys.private_key") && message.contains("secret key id 'k1'"),
        "{message}"
    );
    assert!(!message.contains("sealed:v1:k1:"), "{message}");
    let cli_refused = cli(&old.database_url, Some(K0), &["tenant", "list"]).await;
    assert!(!cli_refused.status.success());
    assert!(String::from_utf8_lossy(&cli_refused.stderr).contains("secret key id 'k1'"));
}

/// With no key configured, SQLite keeps one in `<database>.key` (mode 0600, created on first
/// start, reused by later processes and the CLI); PostgreSQL refuses to start, server and CLI
/// alike, naming the settings.
async fn without_a_configured_key(backend: Backend) {
    let none = SecretKeyArgs::default();
    match backend {
        Backend::Sqlite => {
            let app = TestApp::spawn_with(backend, eddsa(none.clone())).await;
            let path = app.database_url.strip_prefix("sqlite://").unwrap();
            let key_file = format!("{path}.key");
            let text = std::fs::read_to_string(&key_file).expect("the key file exists");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{mode:o}");
            }
            let kid = text.split(':').next().unwrap().to_owned();
            assert!(kid.starts_with("local-"), "{kid}");
            let sealed = texts(&app.database_url, "SELECT private_key FROM signing_keys").await;
            assert!(sealed[0].starts_with(&format!("sealed:v1:{kid}:")));
            // A later process and the CLI use the same file.
            let replica = app.replica(eddsa(none)).await;
            let response = replica
                .request(Method::GET, "/programs", Some(&app.token))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            success(&cli(&app.database_url, None, &["keys", "list"]).await);
            assert_eq!(std::fs::read_to_string(&key_file).unwrap(), text);
        }
        Backend::Postgres => {
            let db = TestDatabase::create(backend).await;
            let mut args = serve_args(&db.url);
            args.database.secrets = none;
            let refused = Application::build(&args)
                .await
                .err()
                .expect("PostgreSQL without a secret key does not start");
            let expected = "VTN_SECRET_KEYS or VTN_SECRET_KEYS_FILE is required with PostgreSQL";
            assert!(format!("{refused:#}").contains(expected), "{refused:#}");
            let output = cli(&db.url, None, &["migrate"]).await;
            assert!(!output.status.success());
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains(expected), "{stderr}");
        }
    }
}

/// Bad key settings stop the binary at once with an error naming the setting.
#[tokio::test]
async fn bad_secret_key_settings_are_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    for (keys, expected) in [
        ("k1:AAEC", "VTN_SECRET_KEYS: key 'k1' is 3 bytes"),
        (
            "k1:not-base64!",
            "VTN_SECRET_KEYS: key 'k1' is not valid base64",
        ),
        (&format!("{K1},{K1}") as &str, "key id 'k1' appears twice"),
        (",", "VTN_SECRET_KEYS: no key given"),
    ] {
        let output = cli(&url, Some(keys), &["migrate"]).await;
        assert!(!output.status.success(), "{keys}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{keys}: {stderr}");
        assert!(!stderr.contains("ZmVkY2Jh"), "key material in: {stderr}");
    }
    let both = vtn_binary()
        .args(["migrate", "--database-url", &url])
        .env("VTN_SECRET_KEYS_FILE", dir.path().join("none"))
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&both.stderr).contains("not both"));
    // Nothing set, on SQLite: the key file.
    success_without_json(&cli(&url, None, &["migrate"]).await);
    assert!(dir.path().join("keys.db.key").exists());
}

fn success_without_json(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `secrets generate-key` prints an entry the server accepts.
#[tokio::test]
async fn a_generated_key_is_accepted() {
    let output = vtn_binary()
        .args(["secrets", "generate-key", "--kid", "k2026"])
        .output()
        .await
        .unwrap();
    success_without_json(&output);
    let line = String::from_utf8(output.stdout).unwrap();
    let cipher = SecretCipher::parse(line.trim(), "generated").unwrap();
    assert_eq!(cipher.current_kid(), "k2026");
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gen.db").display());
    success_without_json(&cli(&url, Some(line.trim()), &["migrate"]).await);
    let bad = vtn_binary()
        .args(["secrets", "generate-key", "--kid", "a:b"])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
}

const BEARER: &str = "bearer-token-that-must-not-leak";

/// A subscription's bearer tokens and signing secret are stored sealed (the tokens split out of
/// its body), yet its owner reads them as before; those of a database from before sealing are
/// sealed when the server starts.
async fn subscription_tokens_and_signing_secrets_are_sealed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let program = app.create_program("p", json!(null)).await;
    let body = json!({
        "clientName": "c", "programID": program["id"],
        "objectOperations": [
            {"objects": ["EVENT"], "operations": ["POST"], "callbackUrl": callback_url(), "bearerToken": BEARER},
            {"objects": ["PROGRAM"], "operations": ["PUT"], "callbackUrl": callback_url()},
        ],
    });
    let created = expect_json(app.post("/subscriptions", body).await, 201).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let read = expect_json(app.get(&format!("/subscriptions/{id}")).await, 200).await;
    assert_eq!(read, created);
    assert_eq!(read["objectOperations"][0]["bearerToken"], BEARER);
    assert!(
        read["objectOperations"][1].get("bearerToken").is_none(),
        "{read}"
    );
    let listed = expect_json(app.get("/subscriptions").await, 200).await;
    assert_eq!(listed[0], created);
    let secret = expect_json(app.get(&format!("/subscriptions/{id}/secret")).await, 200).await;
    let secret = secret["secret"].as_str().unwrap().to_owned();

    let stored = texts(
        &app.database_url,
        "SELECT bearer_tokens FROM subscriptions UNION ALL SELECT signing_secret FROM subscriptions",
    )
    .await;
    assert!(
        stored.iter().all(|v| v.starts_with("sealed:v1:test-1:")),
        "{stored:?}"
    );
    let dumped = dump(&app.database_url).await;
    assert!(!dumped.contains(BEARER), "the dump holds the bearer token");
    assert!(
        !dumped.contains(&secret),
        "the dump holds the signing secret"
    );

    // As an older server stored it: the token in the body, the signing secret in plaintext.
    let legacy = serde_json::to_string(&created).unwrap();
    execute(
        &app.database_url,
        "UPDATE subscriptions SET body = $1, bearer_tokens = NULL, signing_secret = $2",
        &[&legacy, "legacy-signing-secret-0123456789"],
    )
    .await;
    let replica = app.replica(|_| {}).await;
    let dumped = dump(&app.database_url).await;
    assert!(
        !dumped.contains(BEARER),
        "the bearer token was sealed at startup"
    );
    assert!(!dumped.contains("legacy-signing-secret-0123456789"));
    let read = replica
        .request(
            Method::GET,
            &format!("/subscriptions/{id}"),
            Some(&app.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(read, 200).await, created);
    let secret = replica
        .request(
            Method::GET,
            &format!("/subscriptions/{id}/secret"),
            Some(&app.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_json(secret, 200).await["secret"],
        "legacy-signing-secret-0123456789"
    );
    // Its deletion answers the subscription as its owner saw it.
    let deleted = replica
        .request(
            Method::DELETE,
            &format!("/subscriptions/{id}"),
            Some(&app.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(deleted, 200).await, created);
}

backend_tests!(
    subscription_tokens_and_signing_secrets_are_sealed,
    a_database_dump_holds_no_secret,
    the_webhook_secret_is_kept_as_a_digest,
    plaintext_secrets_of_an_older_database_are_sealed_at_startup,
    after_a_reseal_the_new_key_alone_opens_everything,
    without_a_configured_key,
);
