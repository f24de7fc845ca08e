//! Seeds a database for the benchmark (`bench/run.py`): programs and events written in bulk
//! through the store (not HTTP), spread over programs, targets and time, the way a utility's
//! fleet would fill it. Prints what the load generator needs as one JSON object.

use anyhow::Context;
use clap::Parser;
use openadr3_vtn::config::SecretKeyArgs;
use openadr3_vtn::domain::{Event, Program, TenantId};
use openadr3_vtn::service::{events, programs};
use openadr3_vtn::store::{connect, PoolSettings};
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The server's secret keys (VTN_SECRET_KEYS…): the seeded database is served afterwards.
    #[command(flatten)]
    secrets: SecretKeyArgs,
    /// How many events to write.
    #[arg(long)]
    events: usize,
    /// Programs the events are spread over, round-robin.
    #[arg(long, default_value_t = 10)]
    programs: usize,
    /// `GROUP` target values (`g0`…): each event targets one.
    #[arg(long, default_value_t = 100)]
    groups: usize,
    /// One event in this many also targets `VEN_NAME` = `ven-bench`.
    #[arg(long, default_value_t = 1000)]
    ven_every: usize,
}

/// Event `i`: one hour of one price interval, hour `i % 10_000` after the base time, so a
/// one-day window holds 24 of every 10,000 events.
fn event(i: usize, program_id: &str, args: &Args) -> serde_json::Value {
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap()
        + chrono::TimeDelta::hours((i % 10_000) as i64);
    let mut targets = vec![json!({"type": "GROUP", "values": [format!("g{}", i % args.groups)]})];
    if i.is_multiple_of(args.ven_every) {
        targets.push(json!({"type": "VEN_NAME", "values": ["ven-bench"]}));
    }
    json!({
        "programID": program_id,
        "eventName": format!("bench-{i}"),
        "targets": targets,
        "payloadDescriptors": [{"payloadType": "PRICE", "units": "KWH", "currency": "USD"}],
        "intervalPeriod": {"start": start.to_rfc3339(), "duration": "PT1H"},
        "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.25 + (i % 7) as f64 / 100.0]}]}],
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let store = connect(
        &args.database_url,
        &PoolSettings {
            max_connections: 4,
            acquire_timeout: Duration::from_secs(30),
        },
        args.secrets.cipher(&args.database_url)?,
    )
    .await?;
    let tenant = TenantId("default".into());
    store.ensure_tenant(&tenant).await?;
    let mut program_ids = Vec::new();
    for p in 0..args.programs {
        let program: Program =
            serde_json::from_value(json!({"programName": format!("bench-{p}")}))?;
        let body = programs::create(&store, &tenant, program)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))
            .context("creating a program")?;
        let created: serde_json::Value = serde_json::from_str(&body)?;
        program_ids.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    let started = Instant::now();
    let mut sample = Vec::new();
    const BATCH: usize = 20_000;
    for first in (0..args.events).step_by(BATCH) {
        let batch: Vec<Event> = (first..(first + BATCH).min(args.events))
            .map(|i| serde_json::from_value(event(i, &program_ids[i % args.programs], &args)))
            .collect::<Result<_, _>>()?;
        let ids = events::import(&store, &tenant, batch)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // Ids spread over the whole table, for the get-by-id scenario.
        sample.extend(
            ids.iter()
                .step_by((ids.len() / 10).max(1))
                .map(|id| id.to_string()),
        );
    }
    eprintln!(
        "seeded {} events over {} programs in {:.1} s",
        args.events,
        args.programs,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{}",
        json!({"programs": program_ids, "eventIds": sample, "eventsPerProgram": args.events / args.programs.max(1)})
    );
    Ok(())
}
