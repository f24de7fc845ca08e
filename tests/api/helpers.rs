//! Test harness: the real server on a random port, on a fresh database of the chosen backend.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (a server URL; each test gets a database of its
//! own, dropped afterwards) or, when that is unset and Docker is available, from a container
//! started once through testcontainers. Without either, PostgreSQL tests are skipped with a
//! notice — unless `VTN_TEST_REQUIRE_POSTGRES=1`, which CI sets, makes them fail instead.

use chrono::{DateTime, FixedOffset};
use openadr3_vtn::config::{
    DatabaseArgs, LimitArgs, LogFormat, SecretKeyArgs, ServeArgs, VoltusArgs, VoltusPolicyArgs,
    WebhookArgs,
};
use openadr3_vtn::startup::Application;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use std::sync::OnceLock;

pub const ADMIN_ID: &str = "admin";
pub const ADMIN_SECRET: &str = "test-admin-secret";
/// Tests sign their own (e.g. expired) tokens with it.
pub const JWT_SECRET: &str = "test-jwt-secret-that-is-at-least-32-bytes-long";
/// `VTN_SECRET_KEYS` of every test server and of the binary the tests run (PostgreSQL needs
/// one; SQLite gets it too, so a server and a CLI on one database always share it).
pub const TEST_SECRET_KEYS: &str = "test-1:dGhlIHRlc3Qga2V5IHRoYXQgc2VhbHMgc2VjcmV0cyE=";

/// The binary, with the tests' secret keys (add `DATABASE_URL` and the arguments).
pub fn vtn_binary() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_openadr3-vtn"));
    command.env("VTN_SECRET_KEYS", TEST_SECRET_KEYS);
    command
}

/// The tests' secret keys as configuration.
pub fn test_secret_keys() -> SecretKeyArgs {
    SecretKeyArgs {
        secret_keys: Some(TEST_SECRET_KEYS.into()),
        secret_keys_file: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(backend: Backend)` as two tests, `sqlite::name` and
/// `postgres::name`, so one suite covers both backends.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::postgres_server_url().is_some() {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

/// The PostgreSQL server to create test databases on, or `None` to skip PostgreSQL tests.
pub fn postgres_server_url() -> Option<String> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return Some(url);
        }
        if std::path::Path::new("/var/run/docker.sock").exists() {
            return Some(start_postgres_container());
        }
        if std::env::var("VTN_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!(
                "VTN_TEST_REQUIRE_POSTGRES=1 but neither TEST_DATABASE_URL nor Docker is available"
            );
        }
        // Written past libtest's output capture, so the notice shows in a passing run too.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: PostgreSQL tests skipped (set TEST_DATABASE_URL or start Docker)"
        );
        None
    })
    .clone()
}

fn start_postgres_container() -> String {
    use testcontainers::runners::SyncRunner;
    use testcontainers_modules::postgres::Postgres;
    // Kept for the whole test run; Docker removes it when the process exits (ryuk).
    static CONTAINER: OnceLock<testcontainers::Container<Postgres>> = OnceLock::new();
    let container = CONTAINER.get_or_init(|| {
        Postgres::default()
            .start()
            .expect("start a PostgreSQL container")
    });
    let port = container.get_host_port_ipv4(5432).expect("container port");
    format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres")
}

/// A database for one test, removed when the test ends.
pub struct TestDatabase {
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("vtn.db").display());
                Self {
                    url,
                    cleanup: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let server = postgres_server_url().expect("PostgreSQL available");
                let name = format!("vtn_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let url = with_database(&server, &name);
                Self {
                    url,
                    cleanup: Some((server, name)),
                    _dir: None,
                }
            }
        }
    }
}

/// `server_url` with its database name replaced by `name`.
fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = server_url
        .split_once('?')
        .map_or((server_url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = self.cleanup.take() {
            // Drop runs inside the test's runtime; use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&server).await
                    {
                        let _ = sqlx::query(&format!(
                            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
                        ))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub root: String,
    pub http: reqwest::Client,
    pub database_url: String,
    /// Token of the bootstrap business-logic client of tenant `default` (all six 3.0.1 scopes).
    pub token: String,
    /// `None` for a replica: the first app owns (and drops) the database.
    _db: Option<TestDatabase>,
}

pub fn serve_args(database_url: &str) -> ServeArgs {
    ServeArgs {
        bind: "127.0.0.1:0".into(),
        database: DatabaseArgs {
            database_url: database_url.into(),
            db_max_connections: 4,
            db_acquire_timeout_seconds: 5,
            secrets: test_secret_keys(),
        },
        public_url: None,
        token_ttl_seconds: 1800,
        jwt_secret: Some(JWT_SECRET.into()),
        token_rate_per_client: 600,
        token_rate_per_address: 6000,
        token_failures_per_client: 600,
        token_failures_per_address: 6000,
        trust_forwarded_for: false,
        jwks_refresh_seconds: 60,
        jwks_timeout_seconds: 2,
        max_body_bytes: 64 * 1024,
        bootstrap_client_id: ADMIN_ID.into(),
        bootstrap_client_secret: Some(ADMIN_SECRET.into()),
        log_format: LogFormat::Text,
        log: "warn".into(),
        workers: Some(1),
        metrics: true,
        metrics_token: None,
        limits: default_limits(),
        webhooks: test_webhooks(),
        voltus: test_voltus(),
    }
}

/// The limits a server gets when no `VTN_*` limit is set (clap's defaults, from one place).
pub fn default_limits() -> LimitArgs {
    #[derive(clap::Parser)]
    struct Only {
        #[command(flatten)]
        limits: LimitArgs,
    }
    <Only as clap::Parser>::parse_from(["openadr3-vtn"]).limits
}

/// The Voltus bridge against a local simulator: http on loopback, fast ticks, short backoffs.
pub fn test_voltus() -> VoltusArgs {
    VoltusArgs {
        voltus_bridge: true,
        policy: VoltusPolicyArgs {
            voltus_allow_http: true,
            voltus_allow_private: true,
            voltus_min_poll_seconds: 0.05,
        },
        voltus_timeout_seconds: 2.0,
        voltus_tick_ms: 25,
        voltus_max_backoff_seconds: 2.0,
        voltus_lease_seconds: 5.0,
    }
}

/// Webhooks on loopback over plain HTTP (the test receiver), with short retries and leases.
pub fn test_webhooks() -> WebhookArgs {
    WebhookArgs {
        webhook_delivery: true,
        webhook_allow_http: true,
        webhook_allow_private: true,
        webhook_timeout_seconds: 2.0,
        webhook_retry_schedule: vec![0.2, 0.4, 0.8, 1.0, 1.0],
        webhook_concurrency: 8,
        webhook_concurrency_per_subscriber: 2,
        webhook_concurrency_per_tenant: 4,
        webhook_max_callbacks: 8,
        webhook_poll_ms: 100,
        webhook_lease_seconds: 5.0,
        webhook_retention_hours: 72,
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with configuration adjusted by `tweak` (e.g. a smaller body limit).
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut ServeArgs)) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            openadr3_vtn::telemetry::init(LogFormat::Text, "debug");
        }
        let db = TestDatabase::create(backend).await;
        let url = db.url.clone();
        Self::start(&url, Some(db), tweak).await
    }

    /// A server on a database the test manages itself (e.g. a PostgreSQL it stops and starts).
    pub async fn on_database(database_url: &str, tweak: impl FnOnce(&mut ServeArgs)) -> TestApp {
        Self::start(database_url, None, tweak).await
    }

    /// A second server process on this app's database, as another replica would be.
    pub async fn replica(&self, tweak: impl FnOnce(&mut ServeArgs)) -> TestApp {
        Self::start(&self.database_url, None, tweak).await
    }

    /// Builds and starts a server on `database_url`, and gets the bootstrap client's token.
    /// `db` is the database the app owns (dropped with it); `None` for a replica.
    async fn start(
        database_url: &str,
        db: Option<TestDatabase>,
        tweak: impl FnOnce(&mut ServeArgs),
    ) -> Self {
        let mut args = serve_args(database_url);
        tweak(&mut args);
        let app = Application::build(&args)
            .await
            .expect("the application builds");
        let root = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let mut test_app = Self {
            base: format!("{root}/api/openadr/v1"),
            root,
            http: reqwest::Client::new(),
            database_url: database_url.to_owned(),
            token: String::new(),
            _db: db,
        };
        test_app.token = test_app.token_for(ADMIN_ID, ADMIN_SECRET, None).await;
        test_app
    }

    /// A token by the form-body flavour of the client-credentials grant; panics on refusal.
    pub async fn token_for(&self, client_id: &str, secret: &str, scope: Option<&str>) -> String {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let response = self
            .http
            .post(format!("{}/auth/token", self.base))
            .form(&form)
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let body: Value = response.json().await.expect("token response is JSON");
        assert_eq!(status, 200, "token request failed: {body}");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Runs `openadr3-vtn client create` against this app's database, as an operator would.
    pub async fn create_client(&self, tenant: &str, scopes: &str) -> CreatedClient {
        let output = vtn_binary()
            .args(["client", "create", "--tenant", tenant, "--scopes", scopes])
            .env("DATABASE_URL", &self.database_url)
            .output()
            .await
            .expect("run openadr3-vtn client create");
        assert!(
            output.status.success(),
            "client create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let created: Value =
            serde_json::from_slice(&output.stdout).expect("client create prints JSON");
        CreatedClient {
            client_id: created["client_id"].as_str().unwrap().to_owned(),
            client_secret: created["client_secret"].as_str().unwrap().to_owned(),
            json: created,
        }
    }

    /// A token of a new client in `tenant` with `scopes` (comma-separated).
    pub async fn tenant_token(&self, tenant: &str, scopes: &str) -> String {
        let client = self.create_client(tenant, scopes).await;
        self.token_for(&client.client_id, &client.client_secret, None)
            .await
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// `method path` with the admin token and an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut builder = self.request(method, path, Some(&self.token));
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        builder.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Response {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a program named `name` and returns its body (asserting 201).
    pub async fn create_program(&self, name: &str, targets: Value) -> Value {
        let body = json!({"programName": name, "targets": targets});
        expect_json(self.post("/programs", body).await, 201).await
    }

    /// Creates an event and returns its body (asserting 201).
    pub async fn create_event(&self, event: Value) -> Value {
        expect_json(self.post("/events", event).await, 201).await
    }
}

pub struct CreatedClient {
    pub client_id: String,
    pub client_secret: String,
    pub json: Value,
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("response body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// Asserts an RFC 7807 problem with `status`, and returns its `detail`.
pub async fn expect_problem(response: Response, status: u16) -> String {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let problem = expect_json(response, status).await;
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "problem content type; body: {problem}"
    );
    assert_eq!(problem["status"], status, "problem status field: {problem}");
    for field in ["type", "title", "detail", "instance"] {
        assert!(
            problem[field].is_string(),
            "problem lacks {field}: {problem}"
        );
    }
    problem["detail"].as_str().unwrap().to_owned()
}

/// The `id`s of a list response, in order.
pub fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// An event of `program_id` starting at `start` (RFC 3339) with `count` intervals of `duration`.
pub fn event_at(program_id: &str, start: &str, duration: Option<&str>, count: usize) -> Value {
    let mut period = json!({"start": start});
    if let Some(d) = duration {
        period["duration"] = json!(d);
    }
    let intervals: Vec<Value> = (0..count)
        .map(|i| json!({"id": i, "payloads": [{"type": "SIMPLE", "values": [1]}]}))
        .collect();
    json!({"programID": program_id, "intervalPeriod": period, "intervals": intervals})
}

/// `object[field]` parsed as an RFC 3339 date-time (which requires an offset).
pub fn date_time(object: &Value, field: &str) -> DateTime<FixedOffset> {
    let text = object[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {object}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{field} {text:?} is not RFC 3339: {e}"))
}

/// The object without the fields the server sets.
pub fn without_server_fields(object: &Value) -> Value {
    let mut object = object.clone();
    let map = object.as_object_mut().expect("a JSON object");
    for field in [
        "id",
        "createdDateTime",
        "modificationDateTime",
        "objectType",
    ] {
        map.remove(field);
    }
    object
}

pub fn id_of(object: &Value) -> String {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {object}"))
        .to_owned()
}

/// Polls `check` until it returns `Some`, for at most `limit`; panics naming `what` after that.
pub async fn within<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: std::time::Duration,
    mut check: impl FnMut() -> Fut,
) -> T {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Reads a spawned server's stdout and stderr as they come (debug logs fill a pipe's buffer long
/// before a test ends, and a server blocked on writing a log line answers nothing); resolves to
/// both, stdout first, once it exits.
pub fn drain_output(server: &mut tokio::process::Child) -> tokio::task::JoinHandle<String> {
    async fn read_all(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut bytes).await;
        }
        bytes
    }
    let (stdout, stderr) = (server.stdout.take(), server.stderr.take());
    tokio::spawn(async move {
        let (out, err) = tokio::join!(read_all(stdout), read_all(stderr));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        )
    })
}
