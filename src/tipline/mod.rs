//! The tip line (举报信箱): an anonymous, end-to-end encrypted report mailbox
//! with receipt follow-up, routed to the school's designated recipients and
//! always to the district bureau, so that no school can bury a report.

pub mod cli;
pub mod dto;
mod handlers;
pub mod pow;
pub mod receipt;
pub mod repo;
pub mod service;

pub use service::run_deadline_worker;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // Fixed paths before `/reports/{id}…`, which would match them too.
    cfg.service(handlers::put_encryption_key)
        .service(handlers::get_encryption_key)
        .service(handlers::set_recipients)
        .service(handlers::get_mailbox)
        .service(handlers::challenge)
        .service(handlers::submit_report)
        .service(handlers::followup)
        .service(handlers::reporter_message)
        .service(handlers::reporter_attachment)
        .service(handlers::list_reports)
        .service(handlers::overdue_reports)
        .service(handlers::get_report)
        .service(handlers::staff_reply)
        .service(handlers::change_status)
        .service(handlers::confirm_close)
        .service(handlers::recuse)
        .service(handlers::add_keys);
}
