use anyhow::Context;
use clap::Parser;
use openadr3_vtn::config::{Cli, Command};
use openadr3_vtn::startup::Application;
use openadr3_vtn::{api, cli, telemetry};
use std::process::ExitCode;

fn main() -> ExitCode {
    return_large_allocations_to_the_os();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async_main())
}

async fn async_main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            telemetry::init(args.log_format, &args.log);
            let app = Application::build(&args).await?;
            if let Some(client) = &app.bootstrap_client {
                print_bootstrap_instructions(client, app.port(), &args.bind);
            }
            tracing::info!(port = app.port(), database = %redact_url(&args.database.database_url), "VTN listening");
            app.run_until_stopped()
                .await
                .context("the HTTP server failed")?;
        }
        Command::Migrate(db) => {
            db.connect().await?;
            eprintln!("migrations applied to {}", redact_url(&db.database_url));
        }
        Command::Tenant(command) => cli::tenant(command).await?,
        Command::Client(command) => cli::client(command).await?,
        Command::Idp(command) => cli::idp(command).await?,
        Command::Audit(command) => cli::audit(command).await?,
        Command::Keys(command) => cli::keys(command).await?,
        Command::Secrets(command) => cli::secrets(command).await?,
        Command::Openapi => print!("{}", api::openapi::openapi_json()),
        Command::Voltus(command) => cli::voltus(command).await?,
        Command::VoltusSimulator(args) => {
            telemetry::init(openadr3_vtn::config::LogFormat::Text, "info");
            openadr3_vtn::bridge::voltus::simulator::run(args).await?
        }
    }
    Ok(())
}

/// Shown once, on the console (not in the logs), when a fresh database gets its first client.
fn print_bootstrap_instructions(
    client: &openadr3_vtn::auth::clients::CreatedClient,
    port: u16,
    bind: &str,
) {
    let host = bind.rsplit_once(':').map_or("127.0.0.1", |(host, _)| host);
    let host = if host == "0.0.0.0" || host == "[::]" {
        "127.0.0.1"
    } else {
        host
    };
    println!(
        "\nCreated tenant '{tenant}' with business-logic client '{id}'.\n\
         Its secret is shown only this once:\n\n    client_id:     {id}\n    client_secret: {secret}\n\n\
         Get a token:\n\n    curl -s -u '{id}:{secret}' -d grant_type=client_credentials http://{host}:{port}/api/openadr/v1/auth/token\n",
        tenant = client.tenant,
        id = client.client_id,
        secret = client.client_secret,
    );
}

/// Database URLs may carry a password; logs get them without it.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Every argon2 hash (token requests) allocates 19 MiB. glibc raises its mmap threshold after
/// the first such block is freed, so later ones come from per-thread heaps that are never
/// trimmed: RSS grew to 650 MB under a stream of token requests. A fixed threshold keeps large
/// blocks mmapped, so each is returned to the OS when freed.
fn return_large_allocations_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
