//! Background work driven by the database, safe to run in several instances.
//! Each job is a plain function of the state, so tests run it directly with
//! a set clock; here they run one after another every `WORKER_INTERVAL`.

use crate::error::AppResult;
use crate::state::AppState;
use actix_web::web;
use std::time::Duration;

/// How long background workers wait between rounds.
pub const WORKER_INTERVAL: Duration = Duration::from_secs(30);

/// A round's job slower than this is logged: it may hold SQLite's write
/// lock, and every request that writes waits for it.
const SLOW_JOB: Duration = Duration::from_millis(500);

/// One round of housekeeping: forget idempotency keys, login failures and
/// login devices that are past their time, and escalate tip-line reports past deadline.
pub fn housekeeping(state: &AppState) -> AppResult<()> {
    let now = state.now_db();
    state.db.write_blocking(|conn| {
        crate::http::purge_expired_keys(conn, now)?;
        crate::account::throttle::purge(conn, now)?;
        Ok(())
    })?;
    crate::tipline::run_deadline_worker(state)?;
    Ok(())
}

/// Releases the tip line's ended windows: their reports and reporter
/// messages reach staff, in one batch per window, in random order.
fn tipline_windows(state: &AppState) -> AppResult<()> {
    crate::tipline::run_window_worker(state).map(|_| ())
}

/// Removes attachment files a crash left without their row, once a day.
fn tipline_blob_sweep(state: &AppState) -> AppResult<()> {
    crate::tipline::run_blob_sweep_daily(state)
}

fn vetting_reminders(state: &AppState) -> AppResult<()> {
    crate::vetting::run_reminder_worker(state).map(|_| ())
}

fn late_pickup(state: &AppState) -> AppResult<()> {
    crate::pickup::run_late_pickup_worker(state).map(|_| ())
}

fn gate_timers(state: &AppState) -> AppResult<()> {
    crate::gate::run_gate_worker(state).map(|_| ())
}

fn staff_departures(state: &AppState) -> AppResult<()> {
    crate::org::run_departures_worker(state).map(|_| ())
}

fn data_requests_due(state: &AppState) -> AppResult<()> {
    crate::privacy::run_due_worker(state).map(|_| ())
}

fn case_timers(state: &AppState) -> AppResult<()> {
    crate::cases::run_timer_worker(state).map(|_| ())
}

type Job = fn(&AppState) -> AppResult<()>;

const JOBS: &[(&str, Job)] = &[
    ("tip-line windows", tipline_windows),
    ("housekeeping", housekeeping),
    ("late pickup", late_pickup),
    ("vetting reminders", vetting_reminders),
    ("staff departures", staff_departures),
    ("case timers", case_timers),
    ("data requests due", data_requests_due),
    ("retention", crate::privacy::run_retention_daily),
    ("tip-line attachment sweep", tipline_blob_sweep),
    ("gate timers", gate_timers),
    ("notification delivery", crate::notify::run_workers),
];

pub fn spawn(state: web::Data<AppState>) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(WORKER_INTERVAL);
        loop {
            tick.tick().await;
            for (name, job) in JOBS {
                let s = state.clone();
                let started = std::time::Instant::now();
                let outcome = web::block(move || job(&s)).await;
                let took = started.elapsed();
                if took > SLOW_JOB {
                    tracing::warn!(
                        job = name,
                        ms = took.as_millis() as u64,
                        "slow background job"
                    );
                }
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(job = name, error = %e, "background job failed; will retry")
                    }
                    Err(e) => tracing::warn!(job = name, error = %e, "background job did not run"),
                }
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
