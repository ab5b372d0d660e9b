//! Pickup at dismissal: pupils go only to their guardians or adults the
//! guardians authorised, never to anyone on the pupil's never-release list;
//! every release and every refusal is told to the family at once, and a
//! worker escalates pupils still waiting after dismissal.
//!
//! `repo::authorise_adult` is the one rule for "may this adult take this
//! pupil today"; the leave module uses it for gate exits too.

pub mod dto;
mod handlers;
mod late;
pub mod repo;

pub use late::run_late_pickup_worker;
pub use repo::{authorise_adult, consume, record_refusal, AdultRef, Identity, Refusal, ReleasedTo};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::add_person)
        .service(handlers::list_persons)
        .service(handlers::revoke_person)
        .service(handlers::person_photo)
        .service(handlers::add_block)
        .service(handlers::list_blocks)
        .service(handlers::lift_block)
        .service(handlers::issue_pass)
        .service(handlers::list_passes)
        .service(handlers::cancel_pass)
        .service(handlers::create_handover)
        .service(handlers::confirm_handover)
        .service(handlers::dispute_handover)
        .service(handlers::set_dismissal_mode)
        .service(handlers::dismissal_board)
        .service(handlers::dismissal_summary)
        .service(handlers::student_handovers)
        .service(handlers::get_settings)
        .service(handlers::put_settings);
}
