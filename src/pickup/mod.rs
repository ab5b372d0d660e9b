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
pub use repo::{authorise_adult, consume, record_refusal, AdultRef, Refusal, ReleasedTo};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::add_pickup_person)
        .service(handlers::list_pickup_persons)
        .service(handlers::revoke_pickup_person)
        .service(handlers::pickup_person_photo)
        .service(handlers::add_pickup_block)
        .service(handlers::list_pickup_blocks)
        .service(handlers::lift_pickup_block)
        .service(handlers::issue_pickup_pass)
        .service(handlers::list_pickup_passes)
        .service(handlers::cancel_pickup_pass)
        .service(handlers::create_handover)
        .service(handlers::confirm_handover)
        .service(handlers::dispute_handover)
        .service(handlers::set_dismissal_mode)
        .service(handlers::dismissal_board)
        .service(handlers::dismissal_summary)
        .service(handlers::student_handovers)
        .service(handlers::get_pickup_settings)
        .service(handlers::put_pickup_settings);
}
