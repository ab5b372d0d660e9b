//! The background jobs, run once by the test instead of on a timer: each
//! returns how much it did.

use super::library::{self, AppState};
use super::TestApp;
use actix_web::web;

/// One pass of the outbox (email, push) with these settings.
pub async fn run_outbox(state: &web::Data<AppState>) -> usize {
    let s = state.clone();
    web::block(move || library::run_outbox(&s))
        .await
        .unwrap()
        .unwrap()
}

/// One pass of unread-notice escalation.
pub async fn run_escalation(state: &web::Data<AppState>) -> usize {
    let s = state.clone();
    web::block(move || library::run_escalation(&s))
        .await
        .unwrap()
        .unwrap()
}

impl TestApp {
    /// One pass of the late-pickup escalation.
    pub async fn run_late_pickup(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_late_pickup_worker(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the data requests' 10-school-day alert.
    pub async fn run_data_requests_due(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_data_requests_due(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// The retention schedule's purge, now; rows removed per kind.
    pub async fn run_retention(&self) -> Vec<(&'static str, usize)> {
        let s = self.state.clone();
        web::block(move || library::run_retention(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the overdue-return check for leave.
    pub async fn run_overdue_leave(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_overdue_leave_worker(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One round of housekeeping (expired idempotency keys, login failures
    /// and login devices; tip-line deadlines).
    pub async fn run_housekeeping(&self) {
        let s = self.state.clone();
        web::block(move || library::housekeeping(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the tip line's acknowledgement deadlines.
    pub async fn run_tipline_deadlines(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_deadline_worker(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the tip line's window release: what reporters sent in
    /// windows that have ended reaches staff.
    pub async fn run_tipline_windows(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_window_worker(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the vetting reminders.
    pub async fn run_vetting_reminders(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_vetting_reminders(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the staff departures whose day has come.
    pub async fn run_departures(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_departures_worker(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One pass of the case timers (police report, acknowledgement).
    pub async fn run_case_timers(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_case_timers(&s))
            .await
            .unwrap()
            .unwrap()
    }

    /// One round of the gate's timers (overstay, closing, retention).
    pub async fn run_gate_timers(&self) -> usize {
        let s = self.state.clone();
        web::block(move || library::run_gate_worker(&s))
            .await
            .unwrap()
            .unwrap()
    }
}
