//! Leave and return (请假/销假), gate exits, roll call and absence alerts.
//! No student leaves school without an approved leave; leave and return
//! are both recorded; an unexplained absence reaches the family at once,
//! and a pattern of them raises a confidential concern for screening.
//!
//! `presence` tells the pickup handover where a student is.

mod attendance;
pub mod dto;
mod handlers;
mod overdue;
pub mod repo;

pub use overdue::run_overdue_leave_worker;
pub use repo::{presence, Presence};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::create_leave)
        .service(handlers::list_leaves)
        .service(handlers::get_leave)
        .service(handlers::guardian_decision)
        .service(handlers::decision)
        .service(handlers::withdraw)
        .service(handlers::issue_pass)
        .service(handlers::exit)
        .service(handlers::gate_exit)
        .service(handlers::record_return)
        .service(attendance::take_roll_call)
        .service(attendance::explain)
        .service(attendance::list_concerns)
        .service(attendance::attendance);
}
