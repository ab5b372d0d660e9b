//! Every statement on leave's tables: who sees a leave, what covers a
//! moment, the approval chain's writes, the gate's, and the overdue alerts.
//! No notifications, no audit: the service sends and records those.

use super::dto::{Leave, LeaveQuery, LeaveStatus};
use super::model::{LeaveRow, NewLeaveRow};
use super::service::chain::EXIT_EARLY_MINUTES;
use crate::auth::{Caller, Role};
use crate::dates::LocalDate;
use crate::db::schema::{
    absences, classes, leave_overdue_alerts, leave_requests, pickup_persons, schools, students,
};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult};
use crate::org::family;
use crate::org::model::StudentRow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

fn granted() -> [&'static str; 4] {
    LeaveStatus::GRANTED.map(LeaveStatus::as_str)
}

pub fn leave_row(conn: &mut AnyConnection, id: &str) -> AppResult<LeaveRow> {
    leave_requests::table
        .find(id)
        .select(LeaveRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("leave request"))
}

/// A leave in the caller's scope, its student, and whether the caller is
/// the student's guardian.
pub struct Visible {
    pub row: LeaveRow,
    pub student: StudentRow,
    pub guardian: bool,
}

/// A leave whose student the caller may see (the student, their guardians,
/// their school's staff, the district); anyone else gets 404.
pub fn visible_leave(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Visible> {
    let row = leave_row(conn, id)?;
    let student = crate::org::repo::student(conn, caller, &row.student_id)
        .map_err(|_| ApiError::not_found("leave request"))?;
    let guardian =
        caller.role == Role::Parent && family::is_guardian(conn, &caller.user_id, &student.id)?;
    if caller.role == Role::Parent && !guardian {
        return Err(ApiError::not_found("leave request"));
    }
    Ok(Visible {
        row,
        student,
        guardian,
    })
}

pub fn view(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<Leave> {
    let row = leave_row(conn, id)?;
    Ok(views(conn, caller, vec![row])?.remove(0))
}

/// Leaves as `caller` reads them: why the student is away (it may be about
/// their health) only where `family::family_words_visible` allows.
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
        let show = family::family_words_visible(conn, caller, &r.school_id, &r.class_id)?;
        out.push(r.into_dto(name, show));
    }
    Ok(out)
}

/// One page of the leaves the caller may see, newest first.
pub fn list_visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    q: LeaveQuery,
    limit: i64,
    cursor: Option<String>,
) -> AppResult<Vec<LeaveRow>> {
    let mut query = leave_requests::table
        .select(LeaveRow::as_select())
        .order(leave_requests::id.desc())
        .limit(limit + 1)
        .into_boxed();
    // The same scope as `students_in_scope`, as subqueries.
    query = match caller.role {
        r if r.is_district() => query.filter(
            leave_requests::school_id.eq_any(
                schools::table
                    .filter(schools::district_id.eq(caller.district_id.clone()))
                    .select(schools::id),
            ),
        ),
        // A guardian barred from a child (a court order) no longer
        // reads the child's leave.
        Role::Parent => query
            .filter(leave_requests::student_id.eq_any(family::unbarred_children(conn, caller)?)),
        Role::Student => query.filter(
            leave_requests::student_id.eq_any(
                students::table
                    .filter(students::user_id.eq(caller.user_id.clone()))
                    .select(students::id),
            ),
        ),
        _ => {
            query.filter(leave_requests::school_id.eq(caller.school_id.clone().unwrap_or_default()))
        }
    };
    if let Some(s) = q.status {
        query = query.filter(leave_requests::status.eq(s.as_str()));
    }
    if let Some(s) = q.student_id {
        query = query.filter(leave_requests::student_id.eq(s));
    }
    if let Some(c) = q.class_id {
        query = query.filter(leave_requests::class_id.eq(c));
    }
    if let Some(c) = cursor {
        query = query.filter(leave_requests::id.lt(c));
    }
    if q.awaiting_me == Some(true) {
        query = match caller.role {
            Role::Parent => {
                query.filter(leave_requests::status.eq(LeaveStatus::PendingGuardian.as_str()))
            }
            Role::Teacher => {
                let mine: Vec<String> = classes::table
                    .filter(classes::head_teacher_id.eq(&caller.user_id))
                    .select(classes::id)
                    .load(conn)?;
                query
                    .filter(leave_requests::status.eq(LeaveStatus::PendingTeacher.as_str()))
                    .filter(leave_requests::class_id.eq_any(mine))
            }
            Role::SchoolAdmin => {
                query.filter(leave_requests::status.eq(LeaveStatus::PendingSchool.as_str()))
            }
            // Nothing waits for anyone else.
            _ => query.filter(leave_requests::id.is_null()),
        };
    }
    Ok(query.load(conn)?)
}

pub fn timezone(conn: &mut AnyConnection, school_id: &str) -> AppResult<String> {
    Ok(schools::table
        .find(school_id)
        .select(schools::timezone)
        .first(conn)?)
}

pub fn student_name(conn: &mut AnyConnection, student_id: &str) -> AppResult<String> {
    Ok(students::table
        .find(student_id)
        .select(students::name)
        .first(conn)?)
}

/// Whether the person is an authorised (not revoked) pickup person of the student.
pub fn is_pickup_person_of(
    conn: &mut AnyConnection,
    person_id: &str,
    student_id: &str,
) -> AppResult<bool> {
    let n: i64 = pickup_persons::table
        .filter(pickup_persons::id.eq(person_id))
        .filter(pickup_persons::student_id.eq(student_id))
        .filter(pickup_persons::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether another leave still holding the student's time overlaps.
pub fn overlaps(
    conn: &mut AnyConnection,
    student_id: &str,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
) -> AppResult<bool> {
    let n: i64 = leave_requests::table
        .filter(leave_requests::student_id.eq(student_id))
        .filter(leave_requests::status.eq_any(LeaveStatus::ACTIVE.map(LeaveStatus::as_str)))
        .filter(leave_requests::starts_at.lt(ends))
        .filter(leave_requests::ends_at.gt(starts))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn insert(conn: &mut AnyConnection, row: &NewLeaveRow) -> AppResult<()> {
    diesel::insert_into(leave_requests::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Moves a leave from one status to the next. Guarded by the status read:
/// false when a concurrent step moved it first.
pub fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: LeaveStatus,
    to: LeaveStatus,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        leave_requests::table
            .filter(leave_requests::id.eq(id))
            .filter(leave_requests::status.eq(from.as_str())),
    )
    .set((
        leave_requests::status.eq(to.as_str()),
        leave_requests::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn record_guardian_decision(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    note: Option<&str>,
) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set((
            leave_requests::guardian_decided_by.eq(by),
            leave_requests::guardian_note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn record_teacher_decision(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    note: Option<&str>,
) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set((
            leave_requests::teacher_decided_by.eq(by),
            leave_requests::teacher_note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn record_school_decision(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    note: Option<&str>,
) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set((
            leave_requests::school_decided_by.eq(by),
            leave_requests::school_note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn record_withdrawal(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set(leave_requests::withdrawn_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// The student's unexcused absences from `first` to `last` become excused
/// by the leave (an approved leave answers an absence alert).
pub fn excuse_absences(
    conn: &mut AnyConnection,
    student_id: &str,
    leave_id: &str,
    first: LocalDate,
    last: LocalDate,
) -> AppResult<()> {
    diesel::update(
        absences::table
            .filter(absences::student_id.eq(student_id))
            .filter(absences::excused.eq(false))
            .filter(absences::withdrawn_at.is_null())
            .filter(absences::local_date.ge(first))
            .filter(absences::local_date.le(last)),
    )
    .set((absences::excused.eq(true), absences::leave_id.eq(leave_id)))
    .execute(conn)?;
    Ok(())
}

/// Leaves out past their end that are not fully escalated yet.
pub fn due_overdue(conn: &mut AnyConnection, now: NaiveDateTime) -> AppResult<Vec<String>> {
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
}

pub fn mark_overdue(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set((
            leave_requests::status.eq(LeaveStatus::Overdue.as_str()),
            leave_requests::overdue_at.eq(now),
            leave_requests::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// When the overdue alert of that level went out, if it did.
pub fn alert_sent_at(
    conn: &mut AnyConnection,
    leave_id: &str,
    level: i32,
) -> AppResult<Option<NaiveDateTime>> {
    Ok(leave_overdue_alerts::table
        .filter(leave_overdue_alerts::leave_id.eq(leave_id))
        .filter(leave_overdue_alerts::level.eq(level))
        .select(leave_overdue_alerts::created_at)
        .first(conn)
        .optional()?)
}

pub fn record_alert(
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

/// The approved leave that keeps the student away at instant `at` (UTC), if
/// any: approved and covering it, or out through the gate and not back.
pub fn covering_leave(
    conn: &mut AnyConnection,
    student_id: &str,
    at: NaiveDateTime,
) -> AppResult<Option<String>> {
    let rows: Vec<LeaveRow> = leave_requests::table
        .filter(leave_requests::student_id.eq(student_id))
        .filter(leave_requests::status.eq_any(granted()))
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
        .filter(leave_requests::status.eq_any(granted()))
        .filter(leave_requests::starts_at.lt(day_end))
        .filter(leave_requests::ends_at.gt(day_start))
        .select(leave_requests::id)
        .order(leave_requests::id)
        .first(conn)
        .optional()?)
}

/// A student's leaves touching `[start, end)` (UTC), as `caller` reads them.
pub fn leaves_between(
    conn: &mut AnyConnection,
    caller: &Caller,
    student_id: &str,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> AppResult<Vec<Leave>> {
    let rows: Vec<LeaveRow> = leave_requests::table
        .filter(leave_requests::student_id.eq(student_id))
        .filter(leave_requests::starts_at.lt(end))
        .filter(leave_requests::ends_at.gt(start))
        .select(LeaveRow::as_select())
        .order(leave_requests::starts_at)
        .load(conn)?;
    views(conn, caller, rows)
}

/// Withdraws every leave of a pupil still in progress (a transfer: the
/// pupil's passes at the old school end); answers how many.
pub fn withdraw_all_active(
    conn: &mut AnyConnection,
    student_id: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    let active: Vec<&str> = LeaveStatus::ACTIVE.iter().map(|s| s.as_str()).collect();
    Ok(diesel::update(
        leave_requests::table
            .filter(leave_requests::student_id.eq(student_id))
            .filter(leave_requests::status.eq_any(active)),
    )
    .set((
        leave_requests::status.eq(LeaveStatus::Withdrawn.as_str()),
        leave_requests::withdrawn_at.eq(now),
    ))
    .execute(conn)?)
}
