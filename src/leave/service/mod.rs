//! Leave's use cases: filing and the approval chain (`requests`,
//! `decisions`), the overdue worker (`overdue`); the
//! state machines they follow are pure functions in `chain`. The rules,
//! notifications and audit live here; every statement lives in `repo`.

pub mod chain;
mod decisions;
mod overdue;
mod requests;

pub use decisions::{decision, guardian_decision};
pub use overdue::run_overdue_leave_worker;
pub use requests::{create_leave, get_leave, list_leaves, withdraw};

use super::dto::LeaveStatus;
use super::model::LeaveRow;
use super::repo;
use crate::auth::Role;
use crate::clock::{school_local, to_utc};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::org::model::StudentRow;
use chrono::{Datelike, NaiveDateTime, Weekday};

/// A time as the school reads it, for notification texts.
fn local_text(t: NaiveDateTime, timezone: &str) -> String {
    school_local(to_utc(t), timezone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The data every leave notification carries.
pub fn leave_data(
    conn: &mut AnyConnection,
    row: &LeaveRow,
    student: &str,
) -> AppResult<serde_json::Value> {
    let tz = repo::timezone(conn, &row.school_id)?;
    Ok(serde_json::json!({
        "student": student,
        "student_id": row.student_id,
        "leave_id": row.id,
        "kind": row.kind,
        "starts": local_text(row.starts_at, &tz),
        "ends": local_text(row.ends_at, &tz),
    }))
}

/// Moves the leave on; a concurrent step that moved it first wins.
pub fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: LeaveStatus,
    to: LeaveStatus,
    now: NaiveDateTime,
) -> AppResult<()> {
    if !repo::set_status(conn, id, from, to, now)? {
        return Err(ApiError::conflict(
            Code::LeaveNotPending,
            "this leave request changed meanwhile; reload it",
        ));
    }
    Ok(())
}

/// Tells whoever decides next that a leave waits for them.
fn notify_next_approver(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    row: &LeaveRow,
    student: &StudentRow,
) -> AppResult<()> {
    let to = match row.status() {
        LeaveStatus::PendingGuardian => family::guardians(conn, &row.student_id)?,
        LeaveStatus::PendingTeacher => family::head_teacher_of(conn, &row.class_id)?
            .into_iter()
            .collect(),
        LeaveStatus::PendingSchool => {
            family::users_with_role(conn, &row.school_id, Role::SchoolAdmin)?
        }
        _ => Vec::new(),
    };
    let data = leave_data(conn, row, &student.name)?;
    notify::send(
        conn,
        now,
        &to,
        Template::LeaveAwaitingDecision,
        data,
        Category::Leave,
    )
}

/// Tells the student and the guardians how the chain ended.
fn notify_family(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    row: &LeaveRow,
    student: &StudentRow,
    template: Template,
) -> AppResult<()> {
    let mut to = family::guardians(conn, &row.student_id)?;
    to.extend(family::student_account(student));
    let data = leave_data(conn, row, &student.name)?;
    notify::send(conn, now, &to, template, data, Category::Leave)
}

/// School days (Monday to Friday at the school) that a leave touches.
pub fn school_days(starts: NaiveDateTime, ends: NaiveDateTime, timezone: &str) -> i64 {
    let first = school_local(to_utc(starts), timezone).date();
    let end_local = school_local(to_utc(ends), timezone);
    // A leave ending at midnight does not touch the day that starts then.
    let last = if end_local.time() == chrono::NaiveTime::MIN && end_local.date() > first {
        end_local.date().pred_opt().unwrap_or(first)
    } else {
        end_local.date()
    };
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        // UTC instants; Shanghai is UTC+8.
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn school_days_count_weekdays_at_the_school() {
        let tz = "Asia/Shanghai";
        // Mon 30 Nov 08:00 to 16:00 local: one day.
        assert_eq!(school_days(at(30, 0), at(30, 8), tz), 1);
        // Fri 27 Nov 08:00 local to Mon 30 Nov 16:00 local: Fri and Mon.
        assert_eq!(school_days(at(27, 0), at(30, 8), tz), 2);
        // Mon 00:00 local to Fri 00:00 local (midnight end): Mon-Thu.
        assert_eq!(
            school_days(
                at(29, 16),
                NaiveDate::from_ymd_opt(2026, 12, 3)
                    .unwrap()
                    .and_hms_opt(16, 0, 0)
                    .unwrap(),
                tz
            ),
            4
        );
    }
}
