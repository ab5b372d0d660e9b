//! Notices and the feed as people use them: teacher and school messages
//! with read and acknowledgement tracking, each user's feed and its live
//! stream, delivery preferences, and the admin's view of the outbox. Built
//! on notify's sending core (`routes` → `service` → `repo`).

mod dto;
mod model;
mod repo;
mod routes;
mod service;

pub use dto::*;
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
