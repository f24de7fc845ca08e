//! HTTP-level tests: the real server on a random port, on SQLite and on PostgreSQL.
//! Each test module lists its tests in `backend_tests!`, which runs every one on both backends.

mod helpers;
mod notifications;
mod receiver;

mod admin;
mod auth;
mod authz;
mod cli;
mod deliveries;
mod energy_assets;
mod energy_reports;
mod errors;
mod event_windows;
mod events;
mod faults;
mod interop;
mod limits;
mod operations;
mod programs;
mod reports;
mod secrets;
mod smoke;
mod spec;
mod storage;
mod subscriptions;
mod tenancy;
mod tokens;
mod ven_visibility;
mod vens;
mod voltus;
mod widening;
