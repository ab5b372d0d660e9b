//! The API, black box over HTTP: one test binary, one module per domain,
//! the harness and shared helpers in `support`.
//!
//! Every `on_both_databases!` scenario runs on SQLite, and on PostgreSQL
//! when SAFECAMPUS_TEST_POSTGRES_URL is set.

#[macro_use]
mod support;

mod audit;
mod auth;
mod cases;
mod check_order;
mod cli;
mod concerns;
mod custody;
mod data_requests;
mod dorms;
mod durability;
mod faults;
mod gate;
mod group_commit;
mod hostile;
mod house;
mod leave;
mod login_devices;
mod notices;
mod notifications;
mod openapi;
mod org;
mod pickup;
mod privacy;
mod records;
mod security;
mod tipline;
mod tipline_budget;
mod tipline_flood;
mod tipline_insider;
mod tipline_timing;
mod tipline_v2;
mod transfers;
mod vetting;
