//! What every request and background job shares: the database, the
//! settings, the clock, the token keys, the password hasher, the blob
//! store and the anonymous limits. Domains take it from here; `app` wires
//! them.

use crate::blobs::BlobStore;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::jwt::JwtKeys;
use crate::crypto::password::PasswordHasher;
use crate::db::Db;
use crate::limits::{Budget, FailureWindow, Gate, MonotonicTicks, Ticks};
use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::sync::Arc;

pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: Arc<dyn Clock>,
    pub jwt: JwtKeys,
    pub passwords: PasswordHasher,
    /// Session checks remembered between writes (`sessions`).
    pub sessions: crate::sessions::SessionCache,
    pub blobs: BlobStore,
    pub anonymous: AnonymousLimits,
}

/// Limits on anonymous callers, kept in memory (see `limits`).
pub struct AnonymousLimits {
    /// Units of anonymous work a second, taken before any other work; the
    /// reserve is for submissions and follow-ups (`tipline::budget`).
    pub budget: Budget,
    /// Tip-line attachment bodies being read.
    pub attachments: Gate,
    /// Wrong tip-line receipts and lookups in the last minute.
    pub wrong_lookups: FailureWindow,
    /// The database reads of anonymous callers (challenges, follow-up
    /// lookups) queue here, without a thread, for `ANONYMOUS_READERS`
    /// places: a flood of them never takes every blocking thread from the
    /// staff at the gate.
    pub readers: Gate,
}

/// Anonymous database reads at once (see `AnonymousLimits::readers`).
pub const ANONYMOUS_READERS: usize = 2;

impl AppState {
    pub fn new(settings: Settings, db: Db, clock: Arc<dyn Clock>) -> AppState {
        AppState {
            jwt: JwtKeys::new(&settings.jwt_secrets, settings.access_token_ttl_secs),
            passwords: PasswordHasher::new(settings.password_hash_concurrency),
            sessions: crate::sessions::SessionCache::new(settings.session_cache),
            blobs: BlobStore::new(settings.blob_dir.clone()),
            anonymous: AnonymousLimits {
                budget: budget(&settings, Arc::new(MonotonicTicks::new())),
                attachments: Gate::new(settings.tipline.attachment_concurrency),
                wrong_lookups: FailureWindow::new(
                    settings.tipline.receipt_failures_per_minute,
                    chrono::Duration::minutes(1),
                ),
                readers: Gate::new(ANONYMOUS_READERS),
            },
            settings: Arc::new(settings),
            db,
            clock,
        }
    }

    /// The same state with the anonymous budget on another time source
    /// (tests refill it without sleeping).
    pub fn with_ticks(mut self, ticks: Arc<dyn Ticks>) -> AppState {
        self.anonymous.budget = budget(&self.settings, ticks);
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn now_db(&self) -> NaiveDateTime {
        self.clock.now_db()
    }
}

fn budget(settings: &Settings, ticks: Arc<dyn Ticks>) -> Budget {
    Budget::new(
        settings.tipline.anonymous_budget,
        settings.tipline.anonymous_reserve_percent,
        ticks,
    )
}

pub type State = web::Data<AppState>;
