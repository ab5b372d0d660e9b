//! Cases and mandatory reporting (强制报告, issue 15): every suspicion of
//! abuse becomes a case that the bureau sees the moment it is opened and
//! that the police hear of in time. Nothing is deleted or edited: a case
//! grows by entries. Pupil names appear only in the detail, for handlers and
//! the bureau; lists, alerts and statistics carry the case number and school.
//!
//! It sits above org and vetting: a `suspend_staff` measure asks vetting to
//! take the suspect's access to pupils.

pub mod dto;
mod model;
mod repo;
mod routes;
pub mod rules;
pub mod service;

pub use service::run_timer_worker;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // The summary before `/cases/{id}`, which would otherwise take its path.
    cfg.service(routes::summary::case_summary)
        .service(routes::cases::create_case)
        .service(routes::cases::list_cases)
        .service(routes::cases::get_case)
        .service(routes::cases::case_timeline)
        .service(routes::record::record_police_report)
        .service(routes::record::acknowledge_case)
        .service(routes::record::add_case_entry)
        .service(routes::record::add_case_support)
        .service(routes::record::add_case_measure)
        .service(routes::closing::propose_case_close)
        .service(routes::closing::confirm_case_close)
        .service(routes::safeguarding::triage_concern)
        .service(routes::safeguarding::student_chronology);
}
