//! SafeCampus: the backend of a district programme that keeps students safe
//! from sexual abuse. `app::build` makes the HTTP application that the binary
//! serves and the tests drive.

pub mod account;
pub mod app;
pub mod attendance;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod cases;
pub mod clock;
pub mod concerns;
pub mod config;
pub mod crypto;
pub mod dates;
pub mod db;
pub mod demo;
pub mod dorms;
pub mod error;
pub mod gate;
pub mod http;
pub mod i18n;
pub mod leave;
pub mod limits;
pub mod notices;
pub mod notify;
pub mod org;
pub mod pickup;
pub mod privacy;
pub mod server;
pub mod sessions;
pub mod state;
pub mod text;
pub mod tipline;
pub mod transfers;
pub mod vetting;
pub mod workers;
