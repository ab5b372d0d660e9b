//! Concerns (issue 15): any adult at a school writes down in a minute what
//! they saw, and the absence patterns that attendance finds join the same
//! queue. The principal and the counsellors they name are told at once and triage
//! each concern: open a case, monitor, or no action (never for a category
//! the police must hear of). A triage into a case is finished by `cases`,
//! which sits above and links the two both ways.
//!
//! It sits above org, notify and audit, and below attendance and cases.

pub mod dto;
mod model;
mod repo;
mod routes;
pub mod rules;
pub mod service;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::raise_concern)
        .service(routes::list_concerns)
        .service(routes::get_concern);
}
