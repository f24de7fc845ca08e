//! openadr3-vtn: an OpenADR 3.0.1 VTN.
//!
//! - `api`: HTTP handlers (thin) and request extraction;
//! - `service`: what each operation does;
//! - `domain`: wire types and their rules;
//! - `store`: storage behind one trait, SQLite and PostgreSQL;
//! - `auth`: secrets, tokens, scope guards;
//! - `notify`: webhook notifications (outbox fan-out, signed delivery, retries);
//! - `bridge`: the Voltus bridge (dispatches become events, usage goes back as telemetry) and its simulator;
//! - `config`: every setting, read in one place;
//! - `cli`: the administration commands of the binary;
//! - `error`: the one error type, mapped to RFC 7807 problems;
//! - `monitoring`: Prometheus metrics (`/metrics`); `telemetry`: logs and request ids.

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
pub mod store;
pub mod telemetry;
