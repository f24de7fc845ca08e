//! Someone guessing a client's secret cannot lock the real client out, and guessing stays
//! bounded (issue 16, item 3). Failures count apart from successes: per client id and per
//! address. The addresses are told by `X-Forwarded-For`, as a proxy would.

use crate::backend_tests;
use crate::helpers::*;
use serde_json::Value;

const REAL: &str = "203.0.113.1";
const ATTACKER: &str = "198.51.100.9";

async fn spawn_behind_proxy(backend: Backend) -> TestApp {
    // The server's defaults, except that the proxy's header is trusted.
    TestApp::spawn_with(backend, |args| {
        args.token_rate_per_client = 60;
        args.token_rate_per_address = 300;
        args.token_failures_per_client = 10;
        args.token_failures_per_address = 30;
        args.trust_forwarded_for = true;
    })
    .await
}

/// The status of one token request for `client_id` from `address`; a 429 carries Retry-After.
async fn attempt(app: &TestApp, address: &str, client_id: &str, secret: &str) -> u16 {
    let response = app
        .http
        .post(format!("{}/auth/token", app.base))
        .header("x-forwarded-for", address)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 429 {
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "rate_limited");
    }
    status
}

async fn thirty_wrong_secrets_do_not_lock_out_the_right_one(backend: Backend) {
    let app = spawn_behind_proxy(backend).await;
    let client = app.create_client("default", "read_all").await;
    let id = client.client_id.as_str();
    assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);

    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(attempt(&app, ATTACKER, id, "guess").await);
    }
    let guesses = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        guesses <= 8 && statuses.iter().all(|s| [401, 429].contains(s)),
        "guessing is bounded: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");

    // The real client, from where it got tokens before, goes on getting them.
    for _ in 0..3 {
        assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);
    }

    // Guessing from many addresses is bounded by the client id's budget.
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(attempt(&app, &format!("192.0.2.{i}"), id, "guess").await);
    }
    let guesses = statuses.iter().filter(|s| **s == 401).count();
    assert!(guesses <= 3, "guessing is bounded: {statuses:?}");
    assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);

    // The real client on a new address gets in through the slow lane (one attempt every two
    // seconds while the client id is locked), and that address is known-good from then on.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        attempt(&app, "203.0.113.2", id, &client.client_secret).await,
        200
    );
    assert_eq!(
        attempt(&app, "203.0.113.2", id, &client.client_secret).await,
        200
    );

    // Another client id is not locked by the first one's guesses.
    let other = app.create_client("default", "read_all").await;
    assert_eq!(
        attempt(&app, "192.0.2.200", &other.client_id, &other.client_secret).await,
        200
    );
}

/// Guessing many client ids from one address locks that address for every client id it has
/// not got a token for, so spraying one password over the client ids stays bounded too.
async fn an_address_that_keeps_failing_is_locked_for_strangers(backend: Backend) {
    let app = spawn_behind_proxy(backend).await;
    let client = app.create_client("default", "read_all").await;
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(attempt(&app, ATTACKER, &format!("guess-{i}"), "spray").await);
    }
    let guesses = statuses.iter().filter(|s| **s == 401).count();
    assert!(guesses <= 10, "spraying is bounded: {statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Other addresses are not affected.
    assert_eq!(
        attempt(&app, REAL, &client.client_id, &client.client_secret).await,
        200
    );
}

backend_tests!(
    thirty_wrong_secrets_do_not_lock_out_the_right_one,
    an_address_that_keeps_failing_is_locked_for_strangers,
);
