//! The school structure: districts, schools, classes, accounts, students
//! and their guardians, and the scoped queries every domain uses to decide
//! what a caller may see.

pub mod consent;
pub mod dto;
pub mod family;
pub mod leads;
pub mod model;
pub mod repo;
pub mod roster;
mod routes;
pub mod service;

pub use service::run_departures_worker;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::schools::create_school)
        .service(routes::schools::list_schools)
        .service(routes::schools::get_school)
        .service(routes::schools::patch_school)
        .service(routes::schools::get_class)
        .service(routes::schools::patch_class)
        .service(routes::schools::create_class)
        .service(routes::schools::list_classes)
        .service(routes::leads::list_leads)
        .service(routes::leads::name_lead)
        .service(routes::leads::withdraw_lead)
        .service(routes::roster::import_roster)
        .service(routes::roster::export_roster)
        .service(routes::users::create_user)
        .service(routes::users::list_users)
        .service(routes::users::get_user)
        .service(routes::users::patch_user)
        .service(routes::users::disable_user)
        .service(routes::users::offboard_user)
        .service(routes::students::create_student)
        .service(routes::students::get_student)
        .service(routes::students::patch_student)
        .service(routes::students::list_class_students)
        .service(routes::students::add_guardian)
        .service(routes::students::end_guardianship)
        .service(routes::users::me)
        .service(routes::students::my_children)
        .service(routes::consents::list_consents)
        .service(routes::consents::decide_consent);
}
