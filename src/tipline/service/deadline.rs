//! Deadlines: a report left `new` too long escalates to the bureau.

use super::*;
use crate::audit::{self, AuditEvent};
use crate::db::schema::{tip_receipt_failures as rf, tip_reports as tr};
use crate::error::AppResult;
use crate::notify::Template;
use crate::state::AppState;
use crate::tipline::dto::*;
use crate::tipline::pow;
use crate::tipline::repo::ReportRow;
use chrono::Duration;
use diesel::prelude::*;

/// Escalates reports still `new` past their deadline: the bureau and the
/// school's recipients are told (the bureau only for a report about staff).
/// Each report escalates once; safe when several instances run it.
pub fn run_deadline_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let t = state.settings.tipline.clone();
    state.db.write_blocking(|conn| {
        pow::purge_expired(conn, now)?;
        diesel::delete(rf::table.filter(rf::at.lt(now - Duration::hours(1)))).execute(conn)?;
        let urgent_before = now - Duration::minutes(t.urgent_deadline_mins);
        let normal_before = now - Duration::minutes(t.normal_deadline_mins);
        let due: Vec<ReportRow> = tr::table
            .filter(tr::status.eq(Status::New.as_str()))
            .filter(tr::escalated_at.is_null())
            .filter(
                tr::urgency
                    .eq(Urgency::Normal.as_str())
                    .and(tr::created_at.lt(normal_before))
                    .or(tr::urgency
                        .ne(Urgency::Normal.as_str())
                        .and(tr::created_at.lt(urgent_before))),
            )
            .select(ReportRow::as_select())
            .load(conn)?;
        let mut escalated = 0;
        for report in due {
            let won = diesel::update(
                tr::table
                    .find(&report.id)
                    .filter(tr::escalated_at.is_null()),
            )
            .set(tr::escalated_at.eq(now))
            .execute(conn)?;
            if won != 1 {
                continue;
            }
            notify_readers(conn, now, &report, Template::TiplineOverdue)?;
            event(conn, now, &report.id, None, "escalated", Status::New, None)?;
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
