//! The tip line (举报信箱): an anonymous, end-to-end encrypted report mailbox
//! with receipt follow-up, routed to the school's designated recipients and
//! always to the district bureau, so that no school can bury a report.

pub mod budget;
pub mod cli;
pub mod dto;
pub mod pow;
pub mod protocol;
pub mod receipt;
pub mod repo;
mod routes;
pub mod rules;
pub mod service;
pub mod texts;

pub use service::{run_blob_sweep_daily, run_deadline_worker, run_window_worker};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // Fixed paths before `/reports/{id}…`, which would match them too.
    cfg.service(routes::keys::put_encryption_key)
        .service(routes::keys::get_encryption_key)
        .service(routes::keys::read_key_backup)
        .service(routes::mailboxes::propose_recipients)
        .service(routes::mailboxes::list_recipient_changes)
        .service(routes::mailboxes::approve_recipient_change)
        .service(routes::mailboxes::get_mailbox)
        .service(routes::reporting::challenge)
        .service(routes::reporting::submit_report)
        .service(routes::reporting::followup)
        .service(routes::reporting::reporter_message)
        .service(routes::reporting::reporter_attachment)
        .service(routes::reports::list_reports)
        .service(routes::reports::overdue_reports)
        .service(routes::reports::get_report)
        .service(routes::reports::staff_reply)
        .service(routes::reports::undecryptable)
        .service(routes::reports::change_status)
        .service(routes::reports::confirm_close)
        .service(routes::reports::recuse)
        .service(routes::reports::classify)
        .service(routes::reports::report_history)
        .service(routes::reports::add_keys);
}
