//! Attendance: roll calls, absences and their alerts to the family, the
//! confidential concern pattern, and where a pupil is (`presence`), which
//! the pickup handover asks.

pub mod dto;
pub mod model;
pub mod repo;
mod routes;
pub mod service;

pub use service::{presence, presence_in_class, Presence};

use routes::{absences, records, roll_calls};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(roll_calls::take_roll_call)
        .service(absences::explain)
        .service(records::attendance);
}
