//! The overdue worker: a leave that left campus and whose end passed
//! without a return is marked overdue; guardians and the head teacher are
//! alerted at once, the school admins after the configured delay. What it
//! sent is recorded (`leave_overdue_alerts`), so a second run sends nothing.

use super::dto::LeaveStatus;
use super::repo::{self, LeaveRow};
use crate::audit::{self, AuditEvent};
use crate::auth::Role;
use crate::db::schema::{leave_overdue_alerts, leave_requests, students};
use crate::db::{new_id, AnyConnection};
use crate::error::{AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::state::AppState;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One round. Returns how many alerts (leave × level) it sent. Blocking:
/// call it from a worker thread or `web::block`.
pub fn run_overdue_leave_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let delay = chrono::Duration::minutes(state.settings.leave.overdue_escalation_minutes);
    let due: Vec<String> = state.db.write_blocking(|conn| {
        Ok(leave_requests::table
            .filter(leave_requests::leaves_campus.eq(true))
            .filter(
                leave_requests::status
                    .eq_any([LeaveStatus::Out.as_str(), LeaveStatus::Overdue.as_str()]),
            )
            .filter(leave_requests::ends_at.le(now))
            // Fully escalated leaves wait for their return in silence.
            .filter(
                leave_requests::id.ne_all(
                    leave_overdue_alerts::table
                        .filter(leave_overdue_alerts::level.eq(2))
                        .select(leave_overdue_alerts::leave_id),
                ),
            )
            .select(leave_requests::id)
            .order(leave_requests::id)
            .load(conn)?)
    })?;
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

fn already_sent(conn: &mut AnyConnection, leave_id: &str, level: i32) -> AppResult<bool> {
    Ok(leave_overdue_alerts::table
        .filter(leave_overdue_alerts::leave_id.eq(leave_id))
        .filter(leave_overdue_alerts::level.eq(level))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

fn overdue_one(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    delay: chrono::Duration,
) -> AppResult<usize> {
    let row: LeaveRow = repo::leave_row(conn, id)?;
    // Re-read inside the transaction: a return may have just been recorded.
    if !matches!(row.status(), LeaveStatus::Out | LeaveStatus::Overdue) || row.ends_at > now {
        return Ok(0);
    }
    let name = students::table
        .find(&row.student_id)
        .select(students::name)
        .first::<String>(conn)?;
    let tz = repo::timezone(conn, &row.school_id)?;
    let ends = crate::clock::school_local(crate::clock::to_utc(row.ends_at), &tz)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let mut sent = 0;
    if !already_sent(conn, &row.id, 1)? {
        diesel::update(leave_requests::table.find(&row.id))
            .set((
                leave_requests::status.eq(LeaveStatus::Overdue.as_str()),
                leave_requests::overdue_at.eq(now),
                leave_requests::updated_at.eq(now),
            ))
            .execute(conn)?;
        record_alert(conn, &row.id, 1, now)?;
        let mut to = crate::org::family::guardians(conn, &row.student_id)?;
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
    let alerted_at = leave_overdue_alerts::table
        .filter(leave_overdue_alerts::leave_id.eq(&row.id))
        .filter(leave_overdue_alerts::level.eq(1))
        .select(leave_overdue_alerts::created_at)
        .first::<NaiveDateTime>(conn)?;
    if alerted_at + delay <= now && !already_sent(conn, &row.id, 2)? {
        record_alert(conn, &row.id, 2, now)?;
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

fn record_alert(
    conn: &mut AnyConnection,
    leave_id: &str,
    level: i32,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(leave_overdue_alerts::table)
        .values((
            leave_overdue_alerts::id.eq(new_id(now)),
            leave_overdue_alerts::leave_id.eq(leave_id),
            leave_overdue_alerts::level.eq(level),
            leave_overdue_alerts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
