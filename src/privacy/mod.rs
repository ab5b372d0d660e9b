//! Families' rights over their data (PIPL Art. 44–47; issue 18 §2): requests
//! to access, copy, correct or delete what is held about a pupil or a
//! guardian, answered by the school admin within 15 school days (alerted at
//! 10); a copy is a JSON export of everything held about the pupil except
//! what protects others (tip-line reports, cases, concerns). And the
//! retention schedule's daily purge (`retention`).

pub mod dto;
mod export;
mod repo;
mod retention;
mod routes;
mod service;

pub use retention::{purge_expired, run_daily as run_retention_daily, run_retention};
pub use service::run_due_worker;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::create_data_request)
        .service(routes::my_data_requests)
        .service(routes::school_data_requests)
        .service(routes::answer_data_request)
        .service(routes::data_request_export);
}
