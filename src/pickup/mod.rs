//! Pickup at dismissal: pupils go only to their guardians or adults the
//! guardians authorised, never to anyone on the pupil's never-release list;
//! every release and every refusal is told to the family at once, and a
//! worker escalates pupils still waiting after dismissal.
//!
//! `authorise_adult` is the one rule for "may this adult take this pupil
//! today"; the gate uses it for a leave's exit too. Nothing else of
//! pickup is for other domains.

pub mod dto;
mod late;
mod model;
mod photo;
pub mod repo;
mod routes;
mod service;

pub use late::run_late_pickup_worker;
pub use service::blocks::add_for_case as block_for_case;
pub use service::end_for_transfer;
pub use service::release::{
    authorise_adult, consume, record_refusal, AdultRef, Refusal, ReleasedTo,
};

use routes::{blocks, dismissal, handovers, passes, persons, settings};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(persons::add_pickup_person)
        .service(persons::list_pickup_persons)
        .service(persons::revoke_pickup_person)
        .service(persons::pickup_person_photo)
        .service(blocks::add_pickup_block)
        .service(blocks::list_pickup_blocks)
        .service(blocks::lift_pickup_block)
        .service(blocks::confirm_pickup_block)
        .service(blocks::reject_pickup_block)
        .service(passes::issue_pickup_pass)
        .service(passes::list_pickup_passes)
        .service(passes::cancel_pickup_pass)
        .service(handovers::create_handover)
        .service(handovers::confirm_handover)
        .service(handovers::dispute_handover)
        .service(dismissal::set_dismissal_mode)
        .service(dismissal::dismissal_board)
        .service(dismissal::dismissal_summary)
        .service(handovers::student_handovers)
        .service(settings::get_pickup_settings)
        .service(settings::put_pickup_settings);
}
