//! Staff vetting (入职查询 / 准入查询): every adult with access to pupils has
//! a personnel record, and a staff account reaches pupils only while a clear
//! check of the sexual-offence record stands (12 months by default), with a
//! signed commitment and prevention training where the district asks for
//! them. A hit bars the person at once. The extractor (`auth`) reads the
//! stored end of access on every request; this module keeps it.
//!
//! It sits below org: org asks it to enrol a new staff account and to show
//! an account's vetting.

pub mod dto;
mod model;
mod repo;
mod routes;
pub mod rules;
pub mod service;

pub use service::{
    enrol_account, leave_mailboxes, of_user, require_cleared, run_reminder_worker, start_grace,
    suspend,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::personnel::create_personnel)
        .service(routes::personnel::list_personnel)
        .service(routes::personnel::get_personnel)
        .service(routes::records::record_check)
        .service(routes::records::record_commitment)
        .service(routes::records::record_training)
        .service(routes::records::lift_suspension)
        .service(routes::summary::vetting_summary);
}
