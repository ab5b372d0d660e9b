//! The school gate: a leave's pass, the exit (with an adult the release rule
//! allows, when the student needs one) and the return (销假). It sits above
//! leave, pickup's release rule and attendance, and none of them imports it.

pub mod dto;
pub mod repo;
mod routes;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::exits::issue_pass)
        .service(routes::exits::exit)
        .service(routes::exits::gate_exit)
        .service(routes::exits::record_return);
}
