//! Windows against a timing trail: a report or a reporter's message is
//! announced only when its window ends, with everything else sent in that
//! window, in random order. The announcement (the report's `submitted`
//! event, its audit event, every reader's notification and its outbox rows)
//! is written by this worker in one transaction, so neither the rows nor
//! their order in the audit chain tell the moment within the window.

use super::*;
use crate::audit::{self, AuditEvent};
use crate::error::AppResult;
use crate::notify::Template;
use crate::state::AppState;
use crate::tipline::dto::Status;
use chrono::NaiveDateTime;

/// Announces a report to its readers: at once for danger-now, else when its
/// window is released. The `submitted` step keeps the report's own time (the
/// window's start); the audit event and the alerts carry `now`.
pub(super) fn announce_report(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
) -> AppResult<()> {
    event(
        conn,
        report.created_at,
        &report.id,
        None,
        "submitted",
        Status::New,
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::system("tipline.report.submit", "tip_report", Some(&report.id))
            .in_school(Some(&report.school_id)),
    )?;
    notify_readers(conn, now, report, Template::TiplineNewReport)
}

enum Held {
    Report(Box<ReportRow>),
    Message { id: String, report_id: String },
}

/// Releases every window that has ended: each window's reports and
/// reporter messages, in random order, in one transaction. Safe when
/// several instances run it (each item is claimed once).
pub fn run_window_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    state.db.write_blocking(|conn| release_due(conn, now))
}

pub fn release_due(conn: &mut AnyConnection, now: NaiveDateTime) -> AppResult<usize> {
    let mut batch: Vec<(NaiveDateTime, u64, Held)> = Vec::new();
    let shuffle = || {
        let mut b = [0u8; 8];
        b.copy_from_slice(&crate::crypto::random_bytes(8));
        u64::from_le_bytes(b)
    };
    for (report, end) in repo::held_reports_due(conn, now)? {
        batch.push((end, shuffle(), Held::Report(Box::new(report))));
    }
    for (id, report_id, end) in repo::held_messages_due(conn, now)? {
        batch.push((end, shuffle(), Held::Message { id, report_id }));
    }
    // Windows in order; within a window, a random order.
    batch.sort_by_key(|(end, key, _)| (*end, *key));
    let mut released = 0;
    for (_, _, item) in batch {
        match item {
            Held::Report(report) => {
                if repo::release_report(conn, &report.id)? {
                    announce_report(conn, now, &report)?;
                    released += 1;
                }
            }
            Held::Message { id, report_id } => {
                if repo::release_message(conn, &id, &report_id, now)? {
                    let report = repo::report_by_id(conn, &report_id)?;
                    notify_readers(conn, now, &report, Template::TiplineReporterMessage)?;
                    released += 1;
                }
            }
        }
    }
    if released > 0 {
        tracing::info!(released, "tip line: windows released");
    }
    Ok(released)
}
