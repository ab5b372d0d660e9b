//! What every request and background job shares: the database, the
//! settings, the clock, the token keys and the password hasher. Domains take
//! it from here; `app` wires them.

use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::jwt::JwtKeys;
use crate::crypto::password::PasswordHasher;
use crate::db::Db;
use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::sync::Arc;

pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtKeys,
    pub passwords: PasswordHasher,
    /// Session checks remembered between writes (`auth::sessions`).
    pub sessions: crate::auth::sessions::SessionCache,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, clock: Arc<dyn Clock>) -> AppState {
        AppState {
            jwt: JwtKeys::new(&settings.jwt_secrets, settings.access_token_ttl_secs),
            passwords: PasswordHasher::new(settings.password_hash_concurrency),
            sessions: crate::auth::sessions::SessionCache::new(settings.session_cache),
            settings: Arc::new(settings),
            db,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn now_db(&self) -> NaiveDateTime {
        self.clock.now_db()
    }
}

pub type State = web::Data<AppState>;
