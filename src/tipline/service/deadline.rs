//! Deadlines: a report left `new` too long, an acknowledged one not
//! investigated within its school days, or one under investigation without a
//! progress note, escalates to the bureau (once per deadline).

use super::*;
use crate::audit::{self, AuditEvent};
use crate::error::AppResult;
use crate::notify::Template;
use crate::state::AppState;
use crate::tipline::dto::*;
use crate::tipline::pow;
use chrono::Duration;

/// Escalates open reports past their state's deadline: the bureau and the
/// school's recipients are told (the bureau only for a report about staff).
/// Each report escalates once; safe when several instances run it.
pub fn run_deadline_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let t = state.settings.tipline.clone();
    state.db.write_blocking(|conn| {
        pow::purge_expired(conn, now)?;
        let urgent_before = now - Duration::minutes(t.urgent_deadline_mins);
        let normal_before = now - Duration::minutes(t.normal_deadline_mins);
        let due = repo::overdue_reports(conn, now, normal_before, urgent_before)?;
        let mut escalated = 0;
        for report in due {
            if !repo::claim_escalation(conn, &report.id, now)? {
                continue;
            }
            let template = if report.status() == Status::New {
                Template::TiplineOverdue
            } else {
                Template::TiplineStalled
            };
            notify_readers(conn, now, &report, template)?;
            event(
                conn,
                now,
                &report.id,
                None,
                "escalated",
                report.status(),
                None,
            )?;
            audit::record(
                conn,
                now,
                AuditEvent::system("tipline.report.escalate", "tip_report", Some(&report.id))
                    .in_school(Some(&report.school_id)),
            )?;
            escalated += 1;
        }
        Ok(escalated)
    })
}
