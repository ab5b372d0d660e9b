//! The overdue worker: a leave that left campus and whose end passed
//! without a return is marked overdue; guardians and the head teacher are
//! alerted at once, the school admins after the configured delay. What it
//! sent is recorded (`leave_overdue_alerts`), so a second run sends nothing.

use super::chain;
use crate::audit::{self, AuditEvent};
use crate::auth::Role;
use crate::db::AnyConnection;
use crate::error::{AppResult, Code};
use crate::leave::repo;
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::state::AppState;
use chrono::NaiveDateTime;

/// One round. Returns how many alerts (leave × level) it sent. Blocking:
/// call it from a worker thread or `web::block`.
pub fn run_overdue_leave_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let delay = chrono::Duration::minutes(state.settings.leave.overdue_escalation_minutes);
    let due = state
        .db
        .write_blocking(|conn| repo::due_overdue(conn, now))?;
    let mut sent = 0;
    for id in due {
        // One transaction per leave: one failure stops no other.
        match state
            .db
            .write_blocking(|conn| overdue_one(conn, &id, now, delay))
        {
            Ok(n) => sent += n,
            // Another instance alerted this leave at the same moment.
            Err(e) if e.code == Code::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

fn overdue_one(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    delay: chrono::Duration,
) -> AppResult<usize> {
    let row = repo::leave_row(conn, id)?;
    // Re-read inside the transaction: a return may have just been recorded.
    if !chain::overdue(row.status(), row.ends_at, now) {
        return Ok(0);
    }
    let name = repo::student_name(conn, &row.student_id)?;
    let tz = repo::timezone(conn, &row.school_id)?;
    let ends = crate::clock::school_local(crate::clock::to_utc(row.ends_at), &tz)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let mut sent = 0;
    if repo::alert_sent_at(conn, &row.id, 1)?.is_none() {
        repo::mark_overdue(conn, &row.id, now)?;
        repo::record_alert(conn, &row.id, 1, now)?;
        let mut to = family::guardians(conn, &row.student_id)?;
        to.extend(family::head_teacher_of(conn, &row.class_id)?);
        to.sort();
        to.dedup();
        notify::send(
            conn,
            now,
            &to,
            Template::LeaveOverdue,
            serde_json::json!({"student": name, "student_id": row.student_id,
                               "leave_id": row.id, "ends": ends}),
            Category::Leave,
        )?;
        audit::record(
            conn,
            now,
            AuditEvent::system("leave.overdue", "leave_request", Some(&row.id))
                .in_school(Some(&row.school_id)),
        )?;
        sent += 1;
    }
    let alerted_at = repo::alert_sent_at(conn, &row.id, 1)?.unwrap_or(now);
    if chain::escalate(alerted_at, delay, now) && repo::alert_sent_at(conn, &row.id, 2)?.is_none() {
        repo::record_alert(conn, &row.id, 2, now)?;
        let admins = family::users_with_role(conn, &row.school_id, Role::SchoolAdmin)?;
        let minutes = (now - row.ends_at).num_minutes();
        notify::send(
            conn,
            now,
            &admins,
            Template::LeaveOverdueEscalated,
            serde_json::json!({"student": name, "student_id": row.student_id,
                               "leave_id": row.id, "ends": ends, "minutes": minutes}),
            Category::Leave,
        )?;
        audit::record(
            conn,
            now,
            AuditEvent::system("leave.overdue_escalate", "leave_request", Some(&row.id))
                .in_school(Some(&row.school_id)),
        )?;
        sent += 1;
    }
    Ok(sent)
}
