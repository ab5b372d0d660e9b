//! Leave requests (请假) and their approval chain, and the overdue alerts.
//! No student leaves school without an approved leave; the exit and the
//! return (销假) are recorded at the gate (`gate`).

pub mod dto;
pub mod model;
pub mod repo;
mod routes;
pub mod service;

pub use repo::{covering_leave, leave_on_date, leaves_between, timezone};
pub use service::run_overdue_leave_worker;

use routes::{decisions, requests};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(requests::create_leave)
        .service(requests::list_leaves)
        .service(requests::get_leave)
        .service(decisions::guardian_decision)
        .service(decisions::decision)
        .service(requests::withdraw);
}
