//! Attendance's use cases: taking (or correcting) a roll call and alerting
//! families, the confidential concern pattern, a guardian's explanation, a
//! student's record, and where a pupil is (`presence`), which pickup asks.
//! Leave answers what covers a moment; every statement lives in `repo`.

use super::dto::*;
use super::model::{AbsenceRow, NewAbsenceRow, NewRollCallRow};
use super::repo;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, school_local_to_utc};
use crate::concerns::{self, service::AbsencePattern};
use crate::config::LeavePolicy;
use crate::dates::LocalDate;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::leave;
use crate::notify::{self, Category, Template};
use crate::org::family;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use std::collections::BTreeSet;

const MAX_ABSENT: usize = 200;
/// How far back a roll call may be taken or corrected.
const ROLL_CALL_MAX_DAYS_BACK: i64 = 7;

/// The body's own limits: a lesson of the day, at most 200 absent.
fn check_roll_call(b: &NewRollCall) -> AppResult<()> {
    if !(1..=12).contains(&b.period) {
        return Err(ApiError::invalid("period", "period must be from 1 to 12"));
    }
    if b.absent.len() > MAX_ABSENT {
        return Err(ApiError::invalid("absent", "at most 200 students"));
    }
    Ok(())
}

/// A roll call is taken for today or corrected up to 7 days later.
fn check_roll_call_date(date: NaiveDate, today: NaiveDate) -> AppResult<()> {
    if date > today {
        return Err(ApiError::invalid(
            "date",
            "a roll call cannot be taken for a future date",
        ));
    }
    if date < today - chrono::Duration::days(ROLL_CALL_MAX_DAYS_BACK) {
        return Err(ApiError::invalid(
            "date",
            "a roll call may be taken or corrected up to 7 days later",
        ));
    }
    Ok(())
}

/// The instants a school date runs between, at the school.
fn day_bounds(date: NaiveDate, tz: &str) -> (NaiveDateTime, NaiveDateTime) {
    let next = date.succ_opt().unwrap_or(date);
    (
        school_local_to_utc(date.and_time(NaiveTime::MIN), tz),
        school_local_to_utc(next.and_time(NaiveTime::MIN), tz),
    )
}

/// Takes (or corrects) the roll call of one lesson: the class first (404),
/// then the body. Unexcused absences alert the guardians at once; students
/// no longer absent have their alerts withdrawn.
pub fn take_roll_call(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    now: NaiveDateTime,
    policy: &LeavePolicy,
    caller: &Caller,
    class_id: &str,
    body: Result<NewRollCall, ApiError>,
) -> AppResult<RollCall> {
    if !matches!(caller.role, Role::Teacher | Role::SchoolAdmin) {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "a teacher of the school takes the roll call",
        ));
    }
    let class = crate::org::repo::class(conn, caller, class_id)?;
    let b = body?;
    check_roll_call(&b)?;
    let tz = leave::timezone(conn, &class.school_id)?;
    let today = school_local(now_utc, &tz).date();
    check_roll_call_date(b.date, today)?;
    let members = repo::class_members(conn, &class.id)?;
    let mut absent = BTreeSet::new();
    for (i, s) in b.absent.iter().enumerate() {
        if !members.contains(s.as_str()) {
            return Err(ApiError::invalid(
                format!("absent[{i}]"),
                "not a student of this class",
            ));
        }
        absent.insert(s.as_str().to_string());
    }
    let date = LocalDate(b.date);
    let existing = repo::roll_call_of(conn, &class.id, date, b.period)?;
    let corrected = existing.is_some();
    let roll_call_id = match existing {
        Some(id) => {
            repo::record_correction(conn, &id, &caller.user_id, now)?;
            id
        }
        None => {
            let id = new_id(now);
            repo::insert_roll_call(
                conn,
                &NewRollCallRow {
                    id: &id,
                    class_id: &class.id,
                    school_id: &class.school_id,
                    local_date: date,
                    period: b.period,
                    taken_by: &caller.user_id,
                    taken_at: now,
                },
            )?;
            id
        }
    };
    let lesson = Lesson {
        roll_call_id: &roll_call_id,
        school_id: &class.school_id,
        date,
        period: b.period,
        names: repo::names(conn, &members.iter().cloned().collect::<Vec<_>>())?,
    };
    let before = repo::absences_of(conn, &roll_call_id)?;
    let withdrawn = withdraw_alerts(conn, now, &lesson, &before, &absent)?;
    let already: BTreeSet<String> = before.iter().map(|a| a.student_id.clone()).collect();
    let new: Vec<&String> = absent.iter().filter(|s| !already.contains(*s)).collect();
    // The moment the roll call is about: now for today's lesson; for an
    // earlier day, any leave that day covers it.
    let at = if b.date == today {
        At::Now(now)
    } else {
        let (start, end) = day_bounds(b.date, &tz);
        At::Day(start, end)
    };
    for student_id in new {
        record_absence(conn, now, policy, &lesson, student_id, at)?;
    }
    let action = if corrected {
        "roll_call.correct"
    } else {
        "roll_call.take"
    };
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, action, "roll_call", Some(&roll_call_id))
            .in_school(Some(&class.school_id)),
    )?;
    let rows = repo::absences_of_by_student(conn, &roll_call_id)?;
    Ok(RollCall {
        id: roll_call_id.clone(),
        class_id: class.id,
        date: b.date,
        period: b.period,
        corrected,
        absences: repo::absence_views(conn, caller, rows)?,
        withdrawn_student_ids: withdrawn,
    })
}

/// The lesson a roll call is about.
struct Lesson<'a> {
    roll_call_id: &'a str,
    school_id: &'a str,
    date: LocalDate,
    period: i32,
    names: std::collections::HashMap<String, String>,
}

impl Lesson<'_> {
    fn data_for(&self, student_id: &str) -> serde_json::Value {
        serde_json::json!({
            "student": self.names.get(student_id).cloned().unwrap_or_default(),
            "student_id": student_id,
            "date": self.date,
            "period": self.period,
        })
    }
}

/// Which leave may excuse an absence: one covering this moment, or one
/// touching that day.
#[derive(Clone, Copy)]
enum At {
    Now(NaiveDateTime),
    Day(NaiveDateTime, NaiveDateTime),
}

/// Students of the earlier roll call no longer absent: the alert was wrong.
fn withdraw_alerts(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    lesson: &Lesson,
    before: &[AbsenceRow],
    absent: &BTreeSet<String>,
) -> AppResult<Vec<String>> {
    let mut withdrawn = Vec::new();
    for a in before.iter().filter(|a| !absent.contains(&a.student_id)) {
        repo::withdraw_absence(conn, &a.id, now)?;
        if !a.excused {
            let guardians = family::guardians(conn, &a.student_id)?;
            notify::send(
                conn,
                now,
                &guardians,
                Template::AbsenceWithdrawn,
                lesson.data_for(&a.student_id),
                Category::Attendance,
            )?;
        }
        withdrawn.push(a.student_id.clone());
    }
    Ok(withdrawn)
}

/// Records one absence, excused when a leave covers it; otherwise alerts
/// the guardians and looks for the concern pattern.
fn record_absence(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    policy: &LeavePolicy,
    lesson: &Lesson,
    student_id: &str,
    at: At,
) -> AppResult<()> {
    let leave = match at {
        At::Now(now) => leave::covering_leave(conn, student_id, now)?,
        At::Day(start, end) => leave::leave_on_date(conn, student_id, start, end)?,
    };
    repo::insert_absence(
        conn,
        &NewAbsenceRow {
            id: &new_id(now),
            roll_call_id: lesson.roll_call_id,
            student_id,
            school_id: lesson.school_id,
            local_date: lesson.date,
            period: lesson.period,
            excused: leave.is_some(),
            leave_id: leave.as_deref(),
            created_at: now,
        },
    )?;
    if leave.is_none() {
        let guardians = family::guardians(conn, student_id)?;
        notify::send(
            conn,
            now,
            &guardians,
            Template::AbsenceUnexcused,
            lesson.data_for(student_id),
            Category::Attendance,
        )?;
        raise_concern_if_pattern(conn, now, policy, student_id, lesson.date.date())?;
    }
    Ok(())
}

/// Raises one confidential concern when the student's unexcused absences
/// reach the threshold within the window ending on `date`, unless a concern
/// of an overlapping window exists. Told only to the head teacher, the
/// school's counsellors and its admins; never to the family or other staff.
fn raise_concern_if_pattern(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    policy: &LeavePolicy,
    student_id: &str,
    date: NaiveDate,
) -> AppResult<()> {
    let start = LocalDate(date - chrono::Duration::days(policy.concern_window_days - 1));
    let days = repo::unexcused_dates(conn, student_id, start, LocalDate(date))?;
    if (days.len() as i64) < policy.concern_absences {
        return Ok(());
    }
    if concerns::service::absence_concern_since(conn, student_id, start)? {
        return Ok(());
    }
    let (school_id, class_id, name) = repo::pupil(conn, student_id)?;
    concerns::service::raise_absence_pattern(
        conn,
        now,
        AbsencePattern {
            student_id,
            student_name: &name,
            school_id: &school_id,
            class_id: &class_id,
            window_start: start,
            window_end: LocalDate(date),
            absence_days: days.len() as i32,
            window_days: policy.concern_window_days,
        },
    )
}

/// A guardian answers an absence alert: the absence first (404), then
/// whether the caller is a guardian (403), then the body.
pub fn explain(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: Result<Explain, ApiError>,
) -> AppResult<Absence> {
    let row = repo::absence(conn, id)?.ok_or_else(|| ApiError::not_found("absence"))?;
    let (student, rel) = family::student_for_family_or_school(conn, caller, &row.student_id)
        .map_err(|_| ApiError::not_found("absence"))?;
    if !rel.guardian {
        return Err(ApiError::forbidden(
            Code::GuardianRequired,
            "only a guardian of the student explains an absence",
        ));
    }
    let note = body?.note;
    if row.withdrawn_at.is_some() {
        return Err(ApiError::conflict(
            Code::AbsenceWithdrawn,
            "this absence was withdrawn by a correction",
        ));
    }
    repo::record_explanation(conn, &row.id, note.as_str(), &caller.user_id, now)?;
    let to: Vec<String> = family::head_teacher_of(conn, &student.class_id)?
        .into_iter()
        .collect();
    notify::send(
        conn,
        now,
        &to,
        Template::AbsenceExplained,
        serde_json::json!({"student": student.name, "student_id": student.id,
                           "absence_id": row.id, "date": row.local_date, "period": row.period}),
        Category::Attendance,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "absence.explain", "absence", Some(&row.id))
            .in_school(Some(&student.school_id)),
    )?;
    let row = repo::absence(conn, &row.id)?.ok_or_else(|| ApiError::not_found("absence"))?;
    // The guardian who wrote it reads it back.
    Ok(row.into_dto(student.name, true))
}

/// A student's absences and leaves over a range of school dates.
pub fn attendance(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    q: AttendanceQuery,
) -> AppResult<Attendance> {
    let (student, _) = family::student_for_family_or_school(conn, caller, id)?;
    let tz = leave::timezone(conn, &student.school_id)?;
    let to = q.to.unwrap_or_else(|| school_local(now_utc, &tz).date());
    // Dates far outside any school year are bad input, not arithmetic overflow.
    let plausible = |d: NaiveDate| (2000..=2100).contains(&d.year());
    if !plausible(to) || q.from.is_some_and(|f| !plausible(f)) {
        return Err(ApiError::invalid(
            "to",
            "dates must be between the years 2000 and 2100",
        ));
    }
    let from = q.from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        return Err(ApiError::invalid("from", "from must not be after to"));
    }
    if to - from > chrono::Duration::days(366) {
        return Err(ApiError::invalid("from", "at most 366 days at once"));
    }
    audit::record_pupil_read(
        conn,
        now,
        caller,
        audit::PupilRecord::Attendance,
        &student.id,
        &student.school_id,
    )?;
    let rows = repo::absences_between(conn, &student.id, LocalDate(from), LocalDate(to))?;
    let unexcused_days = rows
        .iter()
        .filter(|r| !r.excused && r.withdrawn_at.is_none())
        .map(|r| r.local_date)
        .collect::<BTreeSet<_>>()
        .len() as i64;
    let (start, _) = day_bounds(from, &tz);
    let (_, end) = day_bounds(to, &tz);
    Ok(Attendance {
        student_id: student.id.clone(),
        from,
        to,
        absences: repo::absence_views(conn, caller, rows)?,
        leaves: leave::leaves_between(conn, caller, &student.id, start, end)?,
        unexcused_days,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Where a student is, for the pickup handover and the dismissal board.
pub enum Presence {
    Present,
    /// Marked absent at a roll call that school day (and not on leave).
    Absent,
    /// An approved leave covers the moment, or the student left through
    /// the gate on leave and has not come back.
    OnLeave,
}

/// Where `student_id` is at `at_utc`: on leave first; else absent when the
/// latest roll call of that school day so far (not withdrawn) marked them
/// absent — a pupil who came late and was present at a later period is
/// here; else present.
pub fn presence(
    conn: &mut AnyConnection,
    student_id: &str,
    at_utc: DateTime<Utc>,
) -> AppResult<Presence> {
    let (school_id, class_id, _) = repo::pupil(conn, student_id)?;
    let tz = leave::timezone(conn, &school_id)?;
    presence_in_class(conn, student_id, &class_id, &tz, at_utc)
}

/// `presence`, for a caller that has read the pupil's class and the
/// school's time zone already.
pub fn presence_in_class(
    conn: &mut AnyConnection,
    student_id: &str,
    class_id: &str,
    timezone: &str,
    at_utc: DateTime<Utc>,
) -> AppResult<Presence> {
    let at = at_utc.naive_utc();
    if leave::covering_leave(conn, student_id, at)?.is_some() {
        return Ok(Presence::OnLeave);
    }
    let today = LocalDate(school_local(at_utc, timezone).date());
    let Some(roll_call_id) = repo::latest_roll_call(conn, class_id, today, at)? else {
        return Ok(Presence::Present);
    };
    Ok(if repo::is_absent_at(conn, student_id, &roll_call_id)? {
        Presence::Absent
    } else {
        Presence::Present
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    #[test]
    fn a_roll_call_is_taken_today_or_corrected_up_to_a_week_later() {
        assert!(check_roll_call_date(d(20), d(20)).is_ok());
        assert!(check_roll_call_date(d(13), d(20)).is_ok());
        assert_eq!(
            check_roll_call_date(d(12), d(20))
                .unwrap_err()
                .field
                .as_deref(),
            Some("date")
        );
        assert!(check_roll_call_date(d(21), d(20)).is_err());
    }

    #[test]
    fn a_school_day_runs_from_local_midnight_to_the_next() {
        let (start, end) = day_bounds(d(20), "Asia/Shanghai");
        assert_eq!(start, d(19).and_hms_opt(16, 0, 0).unwrap());
        assert_eq!(end, d(20).and_hms_opt(16, 0, 0).unwrap());
    }
}
