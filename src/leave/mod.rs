//! Leave and return (请假/销假) and gate exits. No student leaves school
//! without an approved leave; leave and return are both recorded.

pub mod dto;
pub mod model;
pub mod repo;
mod routes;
pub mod service;

pub use repo::{covering_leave, leave_on_date, leaves_between, timezone};
pub use service::run_overdue_leave_worker;

use routes::{decisions, gate, requests};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(requests::create_leave)
        .service(requests::list_leaves)
        .service(requests::get_leave)
        .service(decisions::guardian_decision)
        .service(decisions::decision)
        .service(requests::withdraw)
        .service(gate::issue_pass)
        .service(gate::exit)
        .service(gate::gate_exit)
        .service(gate::record_return);
}
