//! Attendance: roll calls, absences and their alerts to the family, the
//! confidential concern pattern, and where a pupil is (`presence`), which
//! the pickup handover asks.

mod handlers;
mod presence;

pub use presence::{presence, Presence};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::take_roll_call)
        .service(handlers::explain)
        .service(handlers::list_concerns)
        .service(handlers::attendance);
}
