//! Accounts' credentials and sessions: login, refresh rotation, logout,
//! password change; the `Caller` extractor and role guards.

pub mod dto;
pub mod extract;
mod model;
pub mod repo;
pub mod role;
mod routes;
mod service;

pub use extract::{
    Admin, BureauOfficer, Caller, DistrictAdmin, GateStaff, Parent, Staff, TiplineKeyHolder,
};
pub use role::Role;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::sessions::login)
        .service(routes::sessions::refresh)
        .service(routes::sessions::logout)
        .service(routes::sessions::logout_all)
        .service(routes::password::change_password);
}
