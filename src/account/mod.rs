//! Accounts: login (throttled per username and device, see `throttle`),
//! refresh rotation, logout, and changing one's password. Who is calling is
//! `auth`'s.

pub mod activation;
pub mod dto;
mod model;
pub mod repo;
mod routes;
mod service;
pub use service::recheck_password;
pub mod throttle;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::sessions::login)
        .service(routes::sessions::refresh)
        .service(routes::sessions::logout)
        .service(routes::sessions::logout_all)
        .service(routes::sessions::activate)
        .service(routes::password::change_password);
}
