//! Every statement on attendance's tables: roll calls, absences, concerns.
//! No notifications, no audit: the service sends and records those.

use super::dto::Absence;
use super::model::{AbsenceRow, NewAbsenceRow, NewRollCallRow};
use crate::auth::Caller;
use crate::dates::LocalDate;
use crate::db::schema::{absences, roll_calls, students};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::org::family;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

pub fn class_members(conn: &mut AnyConnection, class_id: &str) -> AppResult<BTreeSet<String>> {
    Ok(students::table
        .filter(students::class_id.eq(class_id))
        .filter(students::left_at.is_null())
        .select(students::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

pub fn names(conn: &mut AnyConnection, ids: &[String]) -> AppResult<HashMap<String, String>> {
    Ok(students::table
        .filter(students::id.eq_any(ids))
        .select((students::id, students::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The pupil's school, class and name.
pub fn pupil(conn: &mut AnyConnection, student_id: &str) -> AppResult<(String, String, String)> {
    Ok(students::table
        .find(student_id)
        .select((students::school_id, students::class_id, students::name))
        .first(conn)?)
}

/// The roll call of one lesson, if taken.
pub fn roll_call_of(
    conn: &mut AnyConnection,
    class_id: &str,
    date: LocalDate,
    period: i32,
) -> AppResult<Option<String>> {
    Ok(roll_calls::table
        .filter(roll_calls::class_id.eq(class_id))
        .filter(roll_calls::local_date.eq(date))
        .filter(roll_calls::period.eq(period))
        .select(roll_calls::id)
        .first(conn)
        .optional()?)
}

pub fn record_correction(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(roll_calls::table.find(id))
        .set((
            roll_calls::taken_by.eq(by),
            roll_calls::corrected_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_roll_call(conn: &mut AnyConnection, row: &NewRollCallRow) -> AppResult<()> {
    diesel::insert_into(roll_calls::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The latest roll call of the class that school day taken by `at`.
pub fn latest_roll_call(
    conn: &mut AnyConnection,
    class_id: &str,
    date: LocalDate,
    at: NaiveDateTime,
) -> AppResult<Option<String>> {
    Ok(roll_calls::table
        .filter(roll_calls::class_id.eq(class_id))
        .filter(roll_calls::local_date.eq(date))
        .filter(roll_calls::taken_at.le(at))
        .order(roll_calls::period.desc())
        .select(roll_calls::id)
        .first(conn)
        .optional()?)
}

/// The absences a roll call holds (not withdrawn), in stored order.
pub fn absences_of(conn: &mut AnyConnection, roll_call_id: &str) -> AppResult<Vec<AbsenceRow>> {
    Ok(absences::table
        .filter(absences::roll_call_id.eq(roll_call_id))
        .filter(absences::withdrawn_at.is_null())
        .select(AbsenceRow::as_select())
        .load(conn)?)
}

/// The same, by student.
pub fn absences_of_by_student(
    conn: &mut AnyConnection,
    roll_call_id: &str,
) -> AppResult<Vec<AbsenceRow>> {
    Ok(absences::table
        .filter(absences::roll_call_id.eq(roll_call_id))
        .filter(absences::withdrawn_at.is_null())
        .select(AbsenceRow::as_select())
        .order(absences::student_id)
        .load(conn)?)
}

/// Whether the roll call marked the student absent (not withdrawn).
pub fn is_absent_at(
    conn: &mut AnyConnection,
    student_id: &str,
    roll_call_id: &str,
) -> AppResult<bool> {
    let n: i64 = absences::table
        .filter(absences::student_id.eq(student_id))
        .filter(absences::roll_call_id.eq(roll_call_id))
        .filter(absences::withdrawn_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn withdraw_absence(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> AppResult<()> {
    diesel::update(absences::table.find(id))
        .set(absences::withdrawn_at.eq(now))
        .execute(conn)?;
    Ok(())
}

pub fn insert_absence(conn: &mut AnyConnection, row: &NewAbsenceRow) -> AppResult<()> {
    diesel::insert_into(absences::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn absence(conn: &mut AnyConnection, id: &str) -> AppResult<Option<AbsenceRow>> {
    Ok(absences::table
        .find(id)
        .select(AbsenceRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn record_explanation(
    conn: &mut AnyConnection,
    id: &str,
    note: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(absences::table.find(id))
        .set((
            absences::explanation.eq(note),
            absences::explained_by.eq(by),
            absences::explained_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A student's absences from `from` to `to`, by date and period.
pub fn absences_between(
    conn: &mut AnyConnection,
    student_id: &str,
    from: LocalDate,
    to: LocalDate,
) -> AppResult<Vec<AbsenceRow>> {
    Ok(absences::table
        .filter(absences::student_id.eq(student_id))
        .filter(absences::local_date.ge(from))
        .filter(absences::local_date.le(to))
        .select(AbsenceRow::as_select())
        .order((absences::local_date, absences::period))
        .load(conn)?)
}

/// The school dates with an unexcused absence from `from` to `to`.
pub fn unexcused_dates(
    conn: &mut AnyConnection,
    student_id: &str,
    from: LocalDate,
    to: LocalDate,
) -> AppResult<Vec<LocalDate>> {
    Ok(absences::table
        .filter(absences::student_id.eq(student_id))
        .filter(absences::excused.eq(false))
        .filter(absences::withdrawn_at.is_null())
        .filter(absences::local_date.ge(from))
        .filter(absences::local_date.le(to))
        .select(absences::local_date)
        .distinct()
        .load(conn)?)
}

/// Absences as `caller` may see them: the family's explanation only where
/// `family::family_words_visible` allows.
pub fn absence_views(
    conn: &mut AnyConnection,
    caller: &Caller,
    rows: Vec<AbsenceRow>,
) -> AppResult<Vec<Absence>> {
    let ids: Vec<String> = rows.iter().map(|r| r.student_id.clone()).collect();
    let pupils: HashMap<String, (String, String, String)> = students::table
        .filter(students::id.eq_any(&ids))
        .select((
            students::id,
            students::name,
            students::school_id,
            students::class_id,
        ))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, school, class)| (id, (name, school, class)))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (name, show) = match pupils.get(&r.student_id) {
            Some((name, school, class)) => (
                name.clone(),
                family::family_words_visible(conn, caller, school, class)?,
            ),
            None => (String::new(), false),
        };
        out.push(r.into_dto(name, show));
    }
    Ok(out)
}

/// A pupil's unexcused absences still standing, oldest first: (id, school
/// date, period, recorded at). For the safeguarding chronology.
pub fn unexcused_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<(String, LocalDate, i32, NaiveDateTime)>> {
    Ok(absences::table
        .filter(absences::student_id.eq(student_id))
        .filter(absences::excused.eq(false))
        .filter(absences::withdrawn_at.is_null())
        .select((
            absences::id,
            absences::local_date,
            absences::period,
            absences::created_at,
        ))
        .order(absences::id.asc())
        .load(conn)?)
}
