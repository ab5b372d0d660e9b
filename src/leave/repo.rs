//! Leave rows and the rules that read them: who sees a leave, what covers a
//! moment, how long a leave is in school days, and where a student is.

use super::dto::*;
use crate::auth::{Caller, Role};
use crate::clock::{school_local, to_utc};
use crate::crypto::sha256_hex;
use crate::db::schema::{leave_requests, schools, students};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::org::family;
use crate::org::repo::StudentRow;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};
use diesel::prelude::*;

pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// How early before its start a leave's exit is accepted at the gate.
pub const EXIT_EARLY_MINUTES: i64 = 30;

pub fn date_key(d: NaiveDate) -> String {
    d.format(DATE_FORMAT).to_string()
}

pub fn parse_date_key(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, DATE_FORMAT).unwrap_or_default()
}

pub fn pass_code_hash(code: &str) -> String {
    sha256_hex(format!("safecampus/leave-pass-code/v1\n{code}").as_bytes())
}

pub fn qr_token_hash(token: &str) -> String {
    sha256_hex(format!("safecampus/leave-qr/v1\n{token}").as_bytes())
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = leave_requests)]
pub struct LeaveRow {
    pub id: String,
    pub student_id: String,
    pub school_id: String,
    pub class_id: String,
    pub kind: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: String,
    pub leaves_campus: bool,
    pub pickup_person_id: Option<String>,
    pub requested_by: String,
    pub requester_role: String,
    pub status: String,
    pub needs_school: bool,
    pub guardian_decided_by: Option<String>,
    pub guardian_note: Option<String>,
    pub teacher_decided_by: Option<String>,
    pub teacher_note: Option<String>,
    pub school_decided_by: Option<String>,
    pub school_note: Option<String>,
    pub code_hash: Option<String>,
    pub left_at: Option<NaiveDateTime>,
    pub exit_by: Option<String>,
    pub exit_adult_kind: Option<String>,
    pub exit_adult_name: Option<String>,
    pub returned_at: Option<NaiveDateTime>,
    pub overdue_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl LeaveRow {
    pub fn status(&self) -> LeaveStatus {
        LeaveStatus::parse(&self.status).unwrap_or(LeaveStatus::Rejected)
    }

    /// `show_reason`: see `reason_visible`.
    pub fn into_dto(self, student_name: String, show_reason: bool) -> Leave {
        let status = self.status();
        // Who decided each step, and how: a step decided with a later step
        // reached was an approval; the step that ended in `rejected`, a rejection.
        let rejected = status == LeaveStatus::Rejected;
        let last_decider = self
            .school_decided_by
            .as_ref()
            .or(self.teacher_decided_by.as_ref())
            .or(self.guardian_decided_by.as_ref())
            .cloned();
        let approval = |by: Option<String>, note: Option<String>| {
            by.map(|by| Approval {
                approve: !(rejected && Some(&by) == last_decider.as_ref()),
                by,
                note,
            })
        };
        Leave {
            guardian_decision: approval(self.guardian_decided_by, self.guardian_note),
            teacher_decision: approval(self.teacher_decided_by, self.teacher_note),
            school_decision: approval(self.school_decided_by, self.school_note),
            kind: LeaveKind::parse(&self.kind).unwrap_or(LeaveKind::Other),
            id: self.id,
            student_id: self.student_id,
            student_name,
            class_id: self.class_id,
            school_id: self.school_id,
            starts_at: to_utc(self.starts_at),
            ends_at: to_utc(self.ends_at),
            reason: show_reason.then_some(self.reason),
            leaves_campus: self.leaves_campus,
            pickup_person_id: self.pickup_person_id,
            requested_by: self.requested_by,
            status,
            needs_school_approval: self.needs_school,
            has_pass: self.code_hash.is_some(),
            exit: match (self.left_at, self.exit_by) {
                (Some(at), Some(by)) => Some(ExitRecord {
                    at: to_utc(at),
                    by,
                    adult_kind: self.exit_adult_kind.unwrap_or_else(|| "none".into()),
                    adult_name: self.exit_adult_name,
                }),
                _ => None,
            },
            returned_at: self.returned_at.map(to_utc),
            overdue_since: self.overdue_at.map(to_utc),
            created_at: to_utc(self.created_at),
        }
    }
}

pub fn leave_row(conn: &mut AnyConnection, id: &str) -> AppResult<LeaveRow> {
    leave_requests::table
        .find(id)
        .select(LeaveRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("leave request"))
}

/// A leave whose student the caller may see (the student, their guardians,
/// their school's staff, the district); anyone else gets 404.
pub fn visible_leave(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> AppResult<(LeaveRow, StudentRow)> {
    let row = leave_row(conn, id)?;
    let student = crate::org::repo::student(conn, caller, &row.student_id)
        .map_err(|_| ApiError::not_found("leave request"))?;
    if caller.role == Role::Parent && !family::is_guardian(conn, &caller.user_id, &student.id)? {
        return Err(ApiError::not_found("leave request"));
    }
    Ok((row, student))
}

/// Whether the caller reads why the student is away (it may be about their
/// health): the family, the head teacher and the school admin; not the
/// gate, other staff or the district.
pub fn reason_visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    row: &LeaveRow,
) -> AppResult<bool> {
    family::family_words_visible(conn, caller, &row.school_id, &row.class_id)
}

pub fn view(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Leave> {
    let row = leave_row(conn, id)?;
    Ok(views(conn, caller, vec![row])?.remove(0))
}

pub fn views(
    conn: &mut AnyConnection,
    caller: &Caller,
    rows: Vec<LeaveRow>,
) -> AppResult<Vec<Leave>> {
    let ids: Vec<String> = rows.iter().map(|r| r.student_id.clone()).collect();
    let names: std::collections::HashMap<String, String> = students::table
        .filter(students::id.eq_any(&ids))
        .select((students::id, students::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name = names.get(&r.student_id).cloned().unwrap_or_default();
        let show = reason_visible(conn, caller, &r)?;
        out.push(r.into_dto(name, show));
    }
    Ok(out)
}

pub fn timezone(conn: &mut AnyConnection, school_id: &str) -> AppResult<String> {
    Ok(schools::table
        .find(school_id)
        .select(schools::timezone)
        .first(conn)?)
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

/// The approved leave that keeps the student away at instant `at` (UTC), if
/// any: approved and covering it, or out through the gate and not back.
pub fn covering_leave(
    conn: &mut AnyConnection,
    student_id: &str,
    at: NaiveDateTime,
) -> AppResult<Option<String>> {
    let rows: Vec<LeaveRow> = leave_requests::table
        .filter(leave_requests::student_id.eq(student_id))
        .filter(leave_requests::status.eq_any([
            LeaveStatus::Approved.as_str(),
            LeaveStatus::Out.as_str(),
            LeaveStatus::Overdue.as_str(),
            LeaveStatus::Returned.as_str(),
        ]))
        .filter(leave_requests::starts_at.le(at + chrono::Duration::minutes(EXIT_EARLY_MINUTES)))
        .select(LeaveRow::as_select())
        .order(leave_requests::id)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .find(|r| {
            let back = r.returned_at.is_some_and(|t| t <= at);
            let out = r.left_at.is_some_and(|t| t <= at) && !back;
            let covers = r.starts_at <= at && at <= r.ends_at && !back;
            out || covers
        })
        .map(|r| r.id))
}

/// An approved leave overlapping a school date (any part of it).
pub fn leave_on_date(
    conn: &mut AnyConnection,
    student_id: &str,
    day_start: NaiveDateTime,
    day_end: NaiveDateTime,
) -> AppResult<Option<String>> {
    Ok(leave_requests::table
        .filter(leave_requests::student_id.eq(student_id))
        .filter(leave_requests::status.eq_any([
            LeaveStatus::Approved.as_str(),
            LeaveStatus::Out.as_str(),
            LeaveStatus::Overdue.as_str(),
            LeaveStatus::Returned.as_str(),
        ]))
        .filter(leave_requests::starts_at.lt(day_end))
        .filter(leave_requests::ends_at.gt(day_start))
        .select(leave_requests::id)
        .order(leave_requests::id)
        .first(conn)
        .optional()?)
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
