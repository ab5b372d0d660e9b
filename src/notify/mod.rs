//! Notifications: the in-app feed every domain writes to, in the same
//! transaction as the change that caused it, and the outbox rows that carry
//! it to email, push and SMS. Texts are kept as a template key and data, and
//! rendered in the reader's language. Notices (teacher and school messages
//! with read and acknowledgement tracking) build on the same rows.
//!
//! Two parts: `sending`, the small core other domains call (`send`, the
//! categories and templates, the outbox workers and channels), and the HTTP
//! side (`routes` → `service` → `repo`) for the feed, notices, preferences
//! and the admin's view of the outbox.

mod dto;
mod model;
mod repo;
mod routes;
pub mod sending;
mod service;

pub use dto::*;
pub use outbox::{run_escalation, run_outbox, run_workers};
pub use sending::templates::{Category, Template};
pub use sending::{channels, outbox, send, templates};
pub use service::notices::create_notice;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::feed::feed)
        .service(routes::stream::stream)
        .service(routes::feed::mark_read)
        .service(routes::feed::ack)
        .service(routes::preferences::get_preferences)
        .service(routes::preferences::put_preferences)
        .service(routes::notices::create_notice)
        .service(routes::notices::list_notices)
        .service(routes::notices::get_notice)
        .service(routes::notices::receipts)
        .service(routes::notices::coverage)
        .service(routes::outbox::admin_outbox)
        .service(routes::outbox::retry_outbox);
}
