//! The approval chain: a guardian's co-signature, then the head teacher,
//! then (for a long leave) the school admin.

use super::chain::{self, Deciders, Seat};
use super::{notify_family, notify_next_approver, set_status};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, to_utc};
use crate::dates::LocalDate;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::leave::dto::{Decision, Leave, LeaveStatus};
use crate::leave::model::LeaveRow;
use crate::leave::repo::{self, Visible};
use crate::notify::Template;
use crate::org::family;
use chrono::NaiveDateTime;

/// A guardian co-signs (or refuses) the leave their child asked for.
pub fn guardian_decision(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: Result<Decision, ApiError>,
) -> AppResult<Leave> {
    let v = repo::visible_leave(conn, caller, id)?;
    let seat = chain::guardian_seat(Deciders {
        guardian: v.guardian,
        ..Deciders::default()
    })?;
    decide(conn, now, caller, v, seat, body?)
}

/// The head teacher decides; a long leave then goes to the school admin.
pub fn decision(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: Result<Decision, ApiError>,
) -> AppResult<Leave> {
    let v = repo::visible_leave(conn, caller, id)?;
    let who = Deciders {
        guardian: false,
        head_teacher: family::is_head_teacher(conn, caller, &v.row.class_id)?,
        school_admin: caller.role == Role::SchoolAdmin
            && caller.school_id.as_deref() == Some(v.row.school_id.as_str()),
    };
    chain::school_approver(who)?;
    let b = body?;
    let seat = chain::school_seat(v.row.status(), who)?;
    decide(conn, now, caller, v, seat, b)
}

/// Records a decision in its seat, moves the chain on, and tells whoever
/// decides next, or the family how it ended.
fn decide(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    v: Visible,
    seat: Seat,
    b: Decision,
) -> AppResult<Leave> {
    let Visible { row, student, .. } = v;
    let from = row.status();
    let to = chain::decide(from, row.needs_school, seat, b.approve)?;
    let note = b.note.as_ref().map(|n| n.as_str());
    match seat {
        Seat::Guardian => repo::record_guardian_decision(conn, &row.id, &caller.user_id, note)?,
        Seat::HeadTeacher => repo::record_teacher_decision(conn, &row.id, &caller.user_id, note)?,
        Seat::SchoolAdmin => repo::record_school_decision(conn, &row.id, &caller.user_id, note)?,
    }
    set_status(conn, &row.id, from, to, now)?;
    let row = repo::leave_row(conn, &row.id)?;
    if to == LeaveStatus::Approved {
        excuse_covered_absences(conn, &row)?;
    }
    match to {
        LeaveStatus::PendingTeacher | LeaveStatus::PendingSchool => {
            notify_next_approver(conn, now, &row, &student)?
        }
        LeaveStatus::Approved => notify_family(conn, now, &row, &student, Template::LeaveApproved)?,
        _ => notify_family(conn, now, &row, &student, Template::LeaveRejected)?,
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            chain::decision_action(seat, b.approve),
            "leave_request",
            Some(&row.id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    repo::view(conn, caller, &row.id)
}

/// A leave filed after an absence alert answers it: the student's
/// unexcused absences on the school days the approved leave touches become
/// excused (they no longer count toward a concern).
fn excuse_covered_absences(conn: &mut AnyConnection, row: &LeaveRow) -> AppResult<()> {
    let tz = repo::timezone(conn, &row.school_id)?;
    let first = LocalDate(school_local(to_utc(row.starts_at), &tz).date());
    let last = LocalDate(school_local(to_utc(row.ends_at), &tz).date());
    repo::excuse_absences(conn, &row.student_id, &row.id, first, last)
}
