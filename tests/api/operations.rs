//! Operations endpoints: `/metrics`, `/ready` when the database is not as it should be, and the
//! docs page with its embedded assets.

use crate::backend_tests;
use crate::helpers::*;
use reqwest::Method;

/// The value of the sample `name{labels}` in a Prometheus text exposition, if present. Labels
/// are matched as given (the exporter writes them in the order they were recorded).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| {
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|(_, value)| value.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let response = app
        .http
        .get(format!("{}/metrics", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// Requests are counted by route pattern (never the raw path with its ids) and status, with a
/// latency histogram; pool, outbox and delivery figures are there too.
async fn metrics_count_requests_by_route_pattern_and_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The recorder is shared by every server in this test process: compare before and after.
    let route = "/api/openadr/v1/programs/{programID}";
    let before = scrape(&app).await;
    let count = |text: &str, status: &str| {
        sample(
            text,
            "vtn_http_requests_total",
            &[("method", "GET"), ("route", route), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    for id in ["metrics-a", "metrics-b", "metrics-c"] {
        assert_eq!(app.get(&format!("/programs/{id}")).await.status(), 404);
    }
    let program = app.create_program("metrics", serde_json::json!([])).await;
    let id = id_of(&program);
    assert_eq!(app.get(&format!("/programs/{id}")).await.status(), 200);
    let unmatched = app
        .http
        .get(format!("{}/no/such/path/42", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(unmatched.status(), 404);

    let after = scrape(&app).await;
    assert!(
        count(&after, "404") - count(&before, "404") >= 3.0,
        "{after}"
    );
    assert!(
        count(&after, "200") - count(&before, "200") >= 1.0,
        "{after}"
    );
    assert!(
        !after.contains("metrics-a") && !after.contains(&id) && !after.contains("/no/such/path"),
        "raw paths leaked into labels"
    );
    assert!(
        sample(
            &after,
            "vtn_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        )
        .is_some(),
        "unmatched paths share one label"
    );
    assert!(
        sample(
            &after,
            "vtn_http_request_duration_seconds_bucket",
            &[("method", "GET"), ("route", route), ("le", "+Inf")]
        )
        .is_some_and(|n| n >= 4.0),
        "latency histogram: {after}"
    );
    assert!(after.contains("# TYPE vtn_http_request_duration_seconds histogram"));
    let pools: &[&str] = match backend {
        Backend::Sqlite => &["read", "write"],
        Backend::Postgres => &["main"],
    };
    for pool in pools {
        for metric in [
            "vtn_db_pool_connections",
            "vtn_db_pool_idle_connections",
            "vtn_db_pool_max_connections",
        ] {
            assert!(
                sample(&after, metric, &[("pool", pool)]).is_some(),
                "{metric}{{pool={pool}}} missing: {after}"
            );
        }
    }
    for metric in [
        "vtn_outbox_changes_pending",
        "vtn_outbox_deliveries_pending",
        "vtn_outbox_deliveries_failed",
    ] {
        assert!(sample(&after, metric, &[]).is_some(), "{metric} missing");
    }
    assert!(sample(&after, "vtn_build_info", &[]) == Some(1.0));
}

/// Webhook delivery attempts are counted by outcome.
async fn metrics_count_webhook_deliveries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let receiver = crate::receiver::Receiver::new();
    let before = scrape(&app).await;
    let delivered = |text: &str| {
        sample(
            text,
            "vtn_webhook_delivery_attempts_total",
            &[("outcome", "delivered")],
        )
        .unwrap_or(0.0)
    };
    let program = id_of(
        &app.create_program("metrics-webhook", serde_json::json!(null))
            .await,
    );
    let subscription = serde_json::json!({
        "programID": program, "clientName": "metrics",
        "objectOperations": [{"objects": ["EVENT"], "operations": ["POST"],
                              "callbackUrl": receiver.url(), "bearerToken": "receiver-token"}]
    });
    expect_json(app.post("/subscriptions", subscription).await, 201).await;
    app.create_event(event_at(&program, "2024-01-01T00:00:00Z", Some("PT1H"), 1))
        .await;
    receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    // The attempt is counted after the receiver answered: give the worker a moment.
    let mut after = String::new();
    for _ in 0..50 {
        after = scrape(&app).await;
        if delivered(&after) > delivered(&before) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(delivered(&after) > delivered(&before), "{after}");
}

/// `VTN_METRICS_TOKEN` makes `/metrics` require that bearer token; `VTN_METRICS=false` removes
/// the endpoint.
async fn metrics_can_require_a_token_or_be_off(backend: Backend) {
    let app = TestApp::spawn_with(backend, |args| {
        args.metrics_token = Some("scrape-secret".into())
    })
    .await;
    let url = format!("{}/metrics", app.root);
    let refused = app.http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));
    let wrong = app.http.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    // An API token is not the metrics token.
    let api = app
        .http
        .get(&url)
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let ok = app
        .http
        .get(&url)
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let off = app.replica(|args| args.metrics = false).await;
    let response = off
        .http
        .get(format!("{}/metrics", off.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// `/ready` is 503 when a migration of this build is missing from the database (restored from
/// an older backup, say), and, on PostgreSQL, when the database is gone.
async fn ready_is_503_without_current_migrations_or_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ready = |app: &TestApp| {
        let request = app.http.get(format!("{}/ready", app.root));
        async move { request.send().await.unwrap() }
    };
    assert_eq!(ready(&app).await.status(), 200);
    let latest =
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)";
    match backend {
        Backend::Sqlite => {
            let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(latest).execute(&mut conn).await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(latest).execute(&mut conn).await.unwrap();
        }
    }
    expect_problem(ready(&app).await, 503).await;
    // Liveness does not depend on the database.
    let health = app
        .http
        .get(format!("{}/health", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    if backend == Backend::Postgres {
        let other = TestApp::spawn(backend).await;
        assert_eq!(ready(&other).await.status(), 200);
        let name = other.database_url.rsplit('/').next().unwrap().to_owned();
        let server = postgres_server_url().unwrap();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&server)
            .await
            .unwrap();
        sqlx::query(&format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
            .execute(&mut conn)
            .await
            .unwrap();
        expect_problem(ready(&other).await, 503).await;
    }
}

/// The docs page and its assets come from the server, with a strict CSP and long caching.
async fn docs_page_is_served_with_its_assets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let page = app
        .request(Method::GET, "/docs", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    let csp = header(&page, "content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("http"), "no other origin in the CSP: {csp}");
    let html = page.text().await.unwrap();
    for asset in [
        "docs/swagger-ui-bundle.js?v=",
        "docs/swagger-ui.css?v=",
        "docs/init.js?v=",
    ] {
        assert!(html.contains(asset), "{asset} in {html}");
    }
    assert!(
        !html.contains("://"),
        "the page names no other origin: {html}"
    );

    for (asset, content_type) in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("init.js", "text/javascript"),
        ("favicon-32x32.png", "image/png"),
        ("LICENSE", "text/plain"),
    ] {
        let response = app
            .request(Method::GET, &format!("/docs/{asset}"), None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(
            header(&response, "content-type").starts_with(content_type),
            "{asset}"
        );
        assert!(
            header(&response, "cache-control").contains("max-age=31536000"),
            "{asset}"
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    // Compressed for clients that accept it (the bundle is 1.7 MB).
    let gzip = app
        .request(Method::GET, "/docs/swagger-ui-bundle.js", None)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&gzip, "content-encoding"), "gzip");
    expect_problem(
        app.request(Method::GET, "/docs/secret.txt", None)
            .send()
            .await
            .unwrap(),
        404,
    )
    .await;
    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(header(&redirect, "location"), "../docs");
}

backend_tests!(
    metrics_count_requests_by_route_pattern_and_status,
    metrics_count_webhook_deliveries,
    metrics_can_require_a_token_or_be_off,
    ready_is_503_without_current_migrations_or_database,
    docs_page_is_served_with_its_assets,
);
