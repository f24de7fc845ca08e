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

/// The statuses of `n` token requests sent at once, the `i`-th from `address(i)`.
async fn at_once(
    app: &TestApp,
    n: usize,
    address: impl Fn(usize) -> String,
    client_id: impl Fn(usize) -> String,
    secret: &str,
) -> Vec<u16> {
    let requests = (0..n).map(|i| {
        let (address, client_id) = (address(i), client_id(i));
        async move { attempt(app, &address, &client_id, secret).await }
    });
    futures_util::future::join_all(requests).await
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn thirty_wrong_secrets_do_not_lock_out_the_right_one(backend: Backend) {
    let app = spawn_behind_proxy(backend).await;
    let client = app.create_client("default", "read_all").await;
    let id = client.client_id.as_str();
    assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);

    // Thirty guesses at once from one address: a handful are checked, the rest wait for the
    // slow lane and give up with 429.
    let statuses = at_once(&app, 30, |_| ATTACKER.into(), |_| id.into(), "guess").await;
    assert!(
        count(&statuses, 401) <= 10 && count(&statuses, 401) + count(&statuses, 429) == 30,
        "guessing is bounded: {statuses:?}"
    );

    // The real client, from where it got tokens before, goes on getting them.
    for _ in 0..3 {
        assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);
    }

    // Guessing from thirty addresses is bounded by the client id's lock.
    let statuses = at_once(&app, 30, |i| format!("192.0.2.{i}"), |_| id.into(), "guess").await;
    assert!(
        count(&statuses, 401) <= 4,
        "guessing is bounded: {statuses:?}"
    );
    assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);

    // The real client on a new address waits its turn in the slow lane and gets in; that
    // address is known-good from then on.
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

/// Guesses from the real client's own address (one proxy, one NAT): the address stops being
/// known-good at its first failure, so the guesses are bounded, and the real client still gets
/// in through the slow lane.
async fn guesses_from_the_real_clients_own_address_do_not_lock_it_out(backend: Backend) {
    let app = spawn_behind_proxy(backend).await;
    let client = app.create_client("default", "read_all").await;
    let id = client.client_id.as_str();
    assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(attempt(&app, REAL, id, "guess").await);
    }
    assert_eq!(statuses, vec![401; 8], "one at a time, each is answered");
    let statuses = at_once(&app, 20, |_| REAL.into(), |_| id.into(), "guess").await;
    assert!(
        count(&statuses, 401) <= 4,
        "guessing is bounded: {statuses:?}"
    );
    assert_eq!(attempt(&app, REAL, id, &client.client_secret).await, 200);
}

/// Guessing many client ids from one address locks that address for every client id it has
/// not got a token for, so spraying one password over the client ids stays bounded too.
async fn an_address_that_keeps_failing_is_locked_for_strangers(backend: Backend) {
    let app = spawn_behind_proxy(backend).await;
    let client = app.create_client("default", "read_all").await;
    let statuses = at_once(
        &app,
        30,
        |_| ATTACKER.into(),
        |i| format!("guess-{i}"),
        "spray",
    )
    .await;
    assert!(
        count(&statuses, 401) <= 12,
        "spraying is bounded: {statuses:?}"
    );
    assert!(count(&statuses, 429) >= 10, "{statuses:?}");
    // Other addresses are not affected.
    assert_eq!(
        attempt(&app, REAL, &client.client_id, &client.client_secret).await,
        200
    );
}

backend_tests!(
    thirty_wrong_secrets_do_not_lock_out_the_right_one,
    guesses_from_the_real_clients_own_address_do_not_lock_it_out,
    an_address_that_keeps_failing_is_locked_for_strangers,
);
