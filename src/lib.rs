//! openadr3-vtn: an OpenADR 3.0.1 VTN.
//!
//! - `api`: HTTP handlers (thin), request extraction and the scope and role guards;
//! - `state`: what every handler shares (`AppState`); `startup` wires handlers to it;
//! - `service`: what each operation does;
//! - `domain`: wire types and their rules;
//! - `store`: storage behind one trait, SQLite and PostgreSQL;
//! - `auth`: secrets, tokens, identity providers, token rate limits;
//! - `notify`: webhook notifications (outbox fan-out, signed delivery, retries);
//! - `bridge`: the Voltus bridge (dispatches become events, usage goes back as telemetry) and its simulator;
//! - `config`: every setting, read in one place;
//! - `cli`: the administration commands of the binary;
//! - `error`: the one error type, mapped to RFC 7807 problems;
//! - `monitoring`: Prometheus metrics (served by `api::metrics`); `telemetry`: logs and request ids.
//!
//! Imports run one way, so no module depends on one that depends on it: `startup` wires `api`
//! to `state`; `api` → `service` → `store` → `domain`; `auth`, `notify` and `bridge` sit beside
//! `service` (`service` asks `auth` and `notify`; `bridge` writes events through `service`);
//! `config` reads the settings and opens the store; `error`, `monitoring` and `telemetry` import
//! none of the layers above.

pub mod api;
pub mod auth;
pub mod bridge;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod monitoring;
pub mod notify;
pub mod service;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
