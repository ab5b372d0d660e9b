//! Leave and return (请假/销假) and gate exits. No student leaves school
//! without an approved leave; leave and return are both recorded.

pub mod dto;
mod handlers;
mod overdue;
pub mod repo;

pub use overdue::run_overdue_leave_worker;

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
        .service(handlers::record_return);
}
