//! Dormitories (issue 16): girls' dormitories closed to men — female staff
//! only, girls only, a man's entry approved beforehand or recorded as an
//! incident — and the nightly roll call, which excuses pupils on approved
//! leave and alerts the families of the others at once. It sits above
//! attendance, leave and notify; none of them imports it.

pub mod dto;
pub mod repo;
mod routes;
pub mod rules;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::dorms::create_dorm)
        .service(routes::dorms::add_dorm_residents)
        .service(routes::dorms::add_dorm_staff)
        .service(routes::dorms::record_dorm_entry)
        .service(routes::dorms::take_dorm_roll_call);
}
