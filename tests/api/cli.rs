//! The binary as operators use it: migrations, failures, OpenAPI output.

use crate::helpers::*;
use std::process::Command;

fn vtn() -> Command {
    Command::new(env!("CARGO_BIN_EXE_openadr3-vtn"))
}

#[test]
fn migrate_creates_and_migrates_a_new_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let output = vtn()
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite://{}", path.display()),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(path.exists());
    // Running it again is a no-op, not an error.
    let again = vtn()
        .args([
            "migrate",
            "--database-url",
            &format!("sqlite://{}", path.display()),
        ])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn a_failed_migration_stops_the_server_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clash.db");
    // A table the first migration wants to create already exists: the migration fails.
    let setup = std::process::Command::new("python3")
        .args([
            "-c",
            &format!(
                "import sqlite3; sqlite3.connect('{}').execute('CREATE TABLE tenants (x INTEGER)')",
                path.display()
            ),
        ])
        .status()
        .unwrap();
    assert!(setup.success());
    let output = vtn()
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &format!("sqlite://{}", path.display()),
        ])
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "serve must exit non-zero on a failed migration"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("database migration failed"),
        "stderr: {stderr}"
    );
}

#[test]
fn an_unsupported_database_url_is_refused() {
    let output = vtn()
        .args(["migrate", "--database-url", "mysql://localhost/vtn"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported database URL"));
}

#[test]
fn client_create_rejects_unknown_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let output = vtn()
        .args([
            "client",
            "create",
            "--tenant",
            "t",
            "--scopes",
            "read_all,write_everything",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown scope 'write_everything'"));
}

/// The committed `openapi/openapi.json` is what the code generates: regenerate it with
/// `cargo run -- openapi > openapi/openapi.json` after changing the API.
#[test]
fn committed_openapi_document_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    let generated = openadr3_vtn::api::openapi::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
    let printed = vtn().arg("openapi").output().unwrap();
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), generated);
}

/// The served document is the generated one, and it covers every operation of this version.
#[tokio::test]
async fn the_openapi_document_is_served_and_lists_the_operations() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = expect_json(
        app.http
            .get(format!("{}/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    for (path, methods) in [
        ("/programs", &["get", "post"][..]),
        ("/programs/{programID}", &["get", "put", "delete"]),
        ("/events", &["get", "post"]),
        ("/events/{eventID}", &["get", "put", "delete"]),
        ("/auth/token", &["post"]),
        ("/auth/server", &["get"]),
    ] {
        for method in methods {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} missing"
            );
        }
    }
    assert_eq!(doc["servers"][0]["url"], "/api/openadr/v1");
}

/// No secret or token reaches the logs, even at debug level: run the real binary, authenticate
/// (by Basic and by form), use the token, fail on purpose, and search everything it logged.
#[tokio::test]
async fn no_secret_or_token_appears_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = "a-bootstrap-secret-to-look-for";
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_openadr3-vtn"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("logs.db").display()),
        )
        .env("VTN_BOOTSTRAP_CLIENT_SECRET", secret)
        .env("VTN_LOG", "debug")
        .env("VTN_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let logs = drain_output(&mut server);
    let base = format!("http://127.0.0.1:{port}/api/openadr/v1");
    let http = reqwest::Client::new();
    let mut token = String::new();
    for _ in 0..100 {
        if let Ok(response) = http
            .post(format!("{base}/auth/token"))
            .basic_auth("admin", Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
        {
            token = response.json::<serde_json::Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!token.is_empty(), "the server answered");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "admin"),
        ("client_secret", secret),
    ];
    assert_eq!(
        http.post(format!("{base}/auth/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let wrong = [
        ("grant_type", "client_credentials"),
        ("client_id", "admin"),
        ("client_secret", "wrong-secret-to-look-for"),
    ];
    assert_eq!(
        http.post(format!("{base}/auth/token"))
            .form(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        http.get(format!("{base}/programs"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let tampered = format!("{token}x");
    assert_eq!(
        http.get(format!("{base}/programs"))
            .bearer_auth(&tampered)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let logs = logs.await.unwrap();
    assert!(
        logs.contains("/auth/token"),
        "requests were logged at all: {logs}"
    );
    for needle in [
        secret,
        "wrong-secret-to-look-for",
        token.as_str(),
        token.split('.').nth(2).unwrap(),
    ] {
        assert!(
            !logs.contains(needle),
            "the logs contain a secret or token ({needle})"
        );
    }
}

/// Every line the real binary logs (JSON, debug level) while serving a request carries that
/// request's id, from `X-Request-Id`: its spans list holds the request span with the id.
#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_openadr3-vtn"))
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("ids.db").display()),
        )
        .env("VTN_BOOTSTRAP_CLIENT_SECRET", "request-id-secret")
        .env("VTN_LOG", "debug")
        .env("VTN_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let logs = drain_output(&mut server);
    let base = format!("http://127.0.0.1:{port}/api/openadr/v1");
    let http = reqwest::Client::new();
    let mut token = String::new();
    for _ in 0..100 {
        if let Ok(response) = http
            .post(format!("{base}/auth/token"))
            .basic_auth("admin", Some("request-id-secret"))
            .form(&[("grant_type", "client_credentials")])
            .header("x-request-id", "token-request-1")
            .send()
            .await
        {
            token = response.json::<serde_json::Value>().await.unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!token.is_empty(), "the server answered");
    let created = http
        .post(format!("{base}/programs"))
        .bearer_auth(&token)
        .header("x-request-id", "create-program-1")
        .json(&serde_json::json!({"programName": "logged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let missing = http
        .get(format!("{base}/programs/nope"))
        .bearer_auth(&token)
        .header("x-request-id", "missing-program-1")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let logs = logs.await.unwrap();
    let mut in_requests = 0;
    for line in logs.lines() {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let spans = entry["spans"].as_array().cloned().unwrap_or_default();
        let Some(request) = spans.iter().find(|s| s["name"] == "HTTP request") else {
            continue;
        };
        in_requests += 1;
        assert!(
            request["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "a log line of a request without its request id: {line}"
        );
    }
    for id in ["create-program-1", "missing-program-1"] {
        assert!(
            logs.lines()
                .any(|l| l.contains(&format!("\"request_id\":\"{id}\""))),
            "nothing logged under request id {id}: {logs}"
        );
    }
    assert!(
        in_requests >= 2,
        "lines logged inside requests: {in_requests}\n{logs}"
    );
}
