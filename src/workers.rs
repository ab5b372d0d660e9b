//! Background work driven by the database, safe to run in several instances.

use crate::app::AppState;
use crate::error::AppResult;
use actix_web::web;

/// One round of housekeeping: forget idempotency keys and login failures
/// that are past their time.
pub fn housekeeping(state: &AppState) -> AppResult<()> {
    let now = state.now_db();
    state.db.write_blocking(|conn| {
        crate::http::purge_expired_keys(conn, now)?;
        crate::auth::repo::purge_failures(conn, now)?;
        Ok(())
    })
}

pub fn spawn(state: web::Data<AppState>) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(crate::server::WORKER_INTERVAL);
        loop {
            tick.tick().await;
            let s = state.clone();
            match web::block(move || housekeeping(&s)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "housekeeping failed; will retry"),
                Err(e) => tracing::warn!(error = %e, "housekeeping did not run"),
            }
            let s = state.clone();
            match web::block(move || crate::pickup::run_late_pickup_worker(&s)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "late-pickup worker failed; will retry"),
                Err(e) => tracing::warn!(error = %e, "late-pickup worker did not run"),
            }
            let s = state.clone();
            match web::block(move || crate::leave::run_overdue_leave_worker(&s)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "overdue-leave worker failed; will retry"),
                Err(e) => tracing::warn!(error = %e, "overdue-leave worker did not run"),
            }
        }
    })
}
