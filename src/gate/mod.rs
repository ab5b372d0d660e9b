//! The school gate: a leave's pass, the exit (with an adult the release rule
//! allows, when the student needs one) and the return (销假); visitors and
//! vehicles, checked against the watch list. It sits above leave, pickup's
//! release rule, attendance and vetting, and none of them imports it.

pub mod dto;
pub mod model;
pub mod repo;
mod routes;
pub mod rules;
pub mod service;

pub use service::alerts::run_gate_worker;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::exits::issue_pass)
        .service(routes::exits::exit)
        .service(routes::exits::gate_exit)
        .service(routes::exits::record_return)
        .service(routes::visits::create_visit)
        .service(routes::visits::gate_check_in)
        .service(routes::visits::approve_visit)
        .service(routes::visits::refuse_visit)
        .service(routes::visits::check_out_visit)
        .service(routes::visits::list_visits)
        .service(routes::visits::link_visit_case)
        .service(routes::watch::list_watch_list)
        .service(routes::watch::add_watch_entry)
        .service(routes::watch::lift_watch_entry);
}
