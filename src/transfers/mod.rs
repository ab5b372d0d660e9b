//! Transfers (issue 17): a pupil moves to another school of the district,
//! as the plan also asks when a victim asks to change school.
//!
//! The new school gets a new record: a new number, the same guardians, no
//! history. The old record stays with the old school, readable by it and
//! marked as left: it loses its guardians (the family moves), its account,
//! its pickup persons, passes, dormitory place and open leave, and leaves
//! every list of current pupils. Never-release entries move with the pupil.
//! The bureau transfers at once; a school admin's request waits for an admin
//! of the receiving school. It sits above pickup, leave and dorms, whose
//! endings it calls; none of them imports it.

pub mod dto;
mod repo;
mod routes;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::request_transfer)
        .service(routes::list_transfers)
        .service(routes::accept_transfer)
        .service(routes::decline_transfer);
}
