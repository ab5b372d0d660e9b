//! Accounts' credentials and sessions: login, refresh rotation, logout,
//! password change; the `Caller` extractor and role guards.

pub mod dto;
pub mod extract;
mod handlers;
pub mod repo;
pub mod role;

pub use extract::{
    Admin, BureauOfficer, Caller, DistrictAdmin, GateStaff, Parent, Staff, TiplineKeyHolder,
};
pub use role::Role;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(handlers::login)
        .service(handlers::refresh)
        .service(handlers::logout)
        .service(handlers::logout_all)
        .service(handlers::change_password);
}
