//! The school structure: districts, schools, classes, accounts, students
//! and their guardians, and the scoped queries every domain uses to decide
//! what a caller may see.

pub mod dto;
pub mod family;
mod handlers;
pub mod repo;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::create_school)
        .service(handlers::list_schools)
        .service(handlers::get_school)
        .service(handlers::create_class)
        .service(handlers::list_classes)
        .service(handlers::create_user)
        .service(handlers::get_user)
        .service(handlers::disable_user)
        .service(handlers::create_student)
        .service(handlers::get_student)
        .service(handlers::list_class_students)
        .service(handlers::add_guardian)
        .service(handlers::me)
        .service(handlers::my_children);
}
