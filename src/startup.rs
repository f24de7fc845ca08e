//! Building the application from configuration, then running it. Tests use the same path with
//! port 0, so they exercise exactly what production runs.

use crate::api::metrics::{self, MetricsToken};
use crate::api::{self, extract::BodyLimit, limits::RequestTimeout};
use crate::auth::clients::{bootstrap, CreatedClient};
use crate::auth::external::ExternalProviders;
use crate::auth::rate_limit::{TokenRateLimits, TokenRates};
use crate::auth::TokenService;
use crate::bridge::voltus::{self as voltus, Bridge};
use crate::config::ServeArgs;
use crate::error::ApiError;
use crate::monitoring;
use crate::notify::{self, Webhooks};
use crate::state::AppState;
use crate::telemetry::{self, VtnRootSpan};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpServer, ResponseError};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tracing_actix_web::TracingLogger;

pub struct Application {
    port: u16,
    server: Server,
    /// Stops the webhook delivery worker (when this process runs one).
    stop_worker: tokio::sync::watch::Sender<bool>,
    worker: Option<tokio::task::JoinHandle<()>>,
    /// The Voltus bridge's poller (when this process runs one); stops with the worker.
    bridge: Option<tokio::task::JoinHandle<()>>,
    /// The client created on a fresh database, to show its secret once.
    pub bootstrap_client: Option<CreatedClient>,
}

impl Application {
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let store = args.database.connect().await?;
        let bootstrap_client = bootstrap(
            &store,
            &args.bootstrap_client_id,
            args.bootstrap_client_secret.clone(),
        )
        .await
        .context("creating the bootstrap client failed")?;
        if let Some(secret) = &args.jwt_secret {
            anyhow::ensure!(
                secret.len() >= 32,
                "VTN_JWT_SECRET must be at least 32 bytes"
            );
        }
        let external = ExternalProviders::new(
            store.clone(),
            Duration::from_secs(args.jwks_refresh_seconds),
            Duration::from_secs(args.jwks_timeout_seconds.max(1)),
        )?;
        let tokens = TokenService::new(
            store.clone(),
            args.jwt_secret.as_deref().map(str::as_bytes),
            args.token_ttl(),
            external,
        )
        .await
        .context("loading the token signing keys failed")?;
        let own_hosts = args
            .public_url
            .as_deref()
            .and_then(|u| reqwest::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .into_iter()
            .collect();
        let webhooks = Arc::new(Webhooks::new(&args.webhooks, own_hosts)?);
        let (stop_worker, stop) = tokio::sync::watch::channel(false);
        let voltus = Bridge::new(store.clone(), &args.voltus)?;
        let bridge = args
            .voltus
            .voltus_bridge
            .then(|| voltus::start(&voltus, stop.clone()));
        let worker = if args.webhooks.webhook_delivery {
            Some(notify::start_worker(
                store.clone(),
                &webhooks,
                &args.webhooks,
                stop,
            )?)
        } else {
            None
        };
        let state = web::Data::new(AppState {
            webhooks,
            voltus,
            store,
            tokens,
            token_limits: TokenRateLimits::new(TokenRates {
                per_client: args.token_rate_per_client,
                per_address: args.token_rate_per_address,
                failures_per_client: args.token_failures_per_client,
                failures_per_address: args.token_failures_per_address,
            }),
            public_url: args.public_url.clone(),
            trust_forwarded_for: args.trust_forwarded_for,
        });

        let max_body = args.max_body_bytes;
        let content_limits = args.limits.content();
        let request_timeout = RequestTimeout(args.limits.request_timeout());
        let metrics_enabled = args.metrics;
        if metrics_enabled {
            // Installed before the first request, so every request is counted.
            let _ = monitoring::handle();
        }
        let metrics_token = MetricsToken(args.metrics_token.clone().filter(|t| !t.is_empty()));
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(BodyLimit(max_body))
                .app_data(content_limits)
                .app_data(request_timeout)
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|err, _| ApiError::bad_request(err.to_string()).into()),
                )
                .app_data(metrics_token.clone())
                .configure(api::configure)
                .configure(|cfg| {
                    if metrics_enabled {
                        cfg.route("/metrics", web::get().to(metrics::metrics_endpoint));
                    }
                })
                .default_service(web::to(api::not_found))
                .wrap(from_fn(crate::api::guard::authenticate))
                // Outside authentication, which reads the database too.
                .wrap(from_fn(api::limits::bound_request_time))
                .wrap(ErrorHandlers::new().default_handler(problem_backstop))
                .wrap(from_fn(telemetry::echo_request_id))
                .wrap(from_fn(monitoring::record_http))
                .wrap(TracingLogger::<VtnRootSpan>::new())
        })
        // Slow clients: a bounded time to send the head, idle connections closed, a bound on
        // connections per worker (the rest wait in the backlog).
        .client_request_timeout(args.limits.client_header_timeout())
        .keep_alive(args.limits.keep_alive())
        .max_connections(args.limits.max_connections.max(1))
        .backlog(args.limits.backlog.max(1))
        .bind(&args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
        let port = server
            .addrs()
            .first()
            .map(|addr| addr.port())
            .context("the server listens on no address")?;
        if let Some(workers) = args.workers {
            server = server.workers(workers.max(1));
        }
        Ok(Self {
            port,
            server: server.run(),
            stop_worker,
            worker,
            bridge,
            bootstrap_client,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then stops accepting and lets in-flight requests finish;
    /// then the delivery worker finishes its sends in flight and releases its leases.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let _ = self.stop_worker.send(true);
        if let Some(worker) = self.worker {
            let _ = worker.await;
        }
        if let Some(bridge) = self.bridge {
            let _ = bridge.await;
        }
        served
    }
}

/// Any error response that is not already a problem (or an OAuth2 error) — for instance one
/// produced by actix itself for a malformed request — becomes a problem+json, so clients see
/// one error format.
fn problem_backstop<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/problem+json") || ct.starts_with("application/json")
        });
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        413 => ApiError::PayloadTooLarge {
            limit: res.request().app_data::<BodyLimit>().map_or(0, |l| l.0),
        },
        400..=499 => ApiError::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_owned(),
        ),
        503 => ApiError::ServiceUnavailable("service unavailable".into()),
        _ => ApiError::internal(anyhow::anyhow!(
            "unhandled error response with status {status}"
        )),
    };
    let mut problem = error.error_response();
    *problem.status_mut() = status;
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, problem).map_into_right_body(),
    ))
}
