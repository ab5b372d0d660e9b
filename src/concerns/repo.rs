//! Every statement of concerns. No rules, no notifications, no audit.

use super::model::{ConcernRow, PupilRow};
use crate::dates::LocalDate;
use crate::db::schema::{cases, classes, concern_students, concerns, students};
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn insert(conn: &mut AnyConnection, row: &ConcernRow, pupils: &[String]) -> AppResult<()> {
    diesel::insert_into(concerns::table)
        .values(row)
        .execute(conn)?;
    for s in pupils {
        diesel::insert_into(concern_students::table)
            .values((
                concern_students::concern_id.eq(&row.id),
                concern_students::student_id.eq(s),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether an absence-pattern concern about the pupil has a window ending
/// on or after `start`.
pub fn absence_concern_since(
    conn: &mut AnyConnection,
    student_id: &str,
    start: LocalDate,
) -> AppResult<bool> {
    let n: i64 = concerns::table
        .filter(concerns::student_id.eq(student_id))
        .filter(concerns::kind.eq("absence_pattern"))
        .filter(concerns::window_end.ge(start))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Of the given pupils, those of the school: (id, name, class, head teacher).
pub fn pupils_of_school(
    conn: &mut AnyConnection,
    school_id: &str,
    ids: &[String],
) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(students::table
        .inner_join(classes::table.on(classes::id.eq(students::class_id)))
        .filter(students::school_id.eq(school_id))
        .filter(students::id.eq_any(ids))
        .select((students::id, classes::head_teacher_id))
        .load(conn)?)
}

/// What a caller may list of a school's concerns.
pub enum Scope<'a> {
    /// The principal and the counsellors they named: all of the school's.
    School,
    /// A head teacher: the absence patterns of their classes' pupils, and
    /// their own.
    HeadTeacher(&'a str),
    /// Any other staff: their own.
    Author(&'a str),
}

/// One page of a school's concerns in the caller's scope, newest first.
pub fn page(
    conn: &mut AnyConnection,
    school_id: &str,
    scope: Scope,
    status: Option<&str>,
    limit: i64,
    cursor: Option<String>,
) -> AppResult<Vec<ConcernRow>> {
    let mut q = concerns::table
        .filter(concerns::school_id.eq(school_id.to_string()))
        .select(ConcernRow::as_select())
        .order(concerns::id.desc())
        .limit(limit + 1)
        .into_boxed();
    match scope {
        Scope::School => {}
        Scope::HeadTeacher(me) => {
            let led = classes::table
                .filter(classes::head_teacher_id.eq(me.to_string()))
                .select(classes::id);
            let about_my_pupils = concern_students::table
                .inner_join(students::table)
                .filter(students::class_id.eq_any(led))
                .select(concern_students::concern_id);
            q = q.filter(
                concerns::author_id.eq(me.to_string()).or(concerns::kind
                    .eq("absence_pattern")
                    .and(concerns::id.eq_any(about_my_pupils))),
            );
        }
        Scope::Author(me) => q = q.filter(concerns::author_id.eq(me.to_string())),
    }
    if let Some(s) = status {
        q = q.filter(concerns::status.eq(s.to_string()));
    }
    if let Some(c) = cursor {
        q = q.filter(concerns::id.lt(c));
    }
    Ok(q.load(conn)?)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> AppResult<Option<ConcernRow>> {
    Ok(concerns::table
        .filter(concerns::id.eq(id))
        .select(ConcernRow::as_select())
        .first(conn)
        .optional()?)
}

/// The pupils of the given concerns, in name order.
pub fn pupils_of(conn: &mut AnyConnection, ids: &[String]) -> AppResult<Vec<PupilRow>> {
    Ok(concern_students::table
        .inner_join(students::table)
        .inner_join(classes::table.on(classes::id.eq(students::class_id)))
        .filter(concern_students::concern_id.eq_any(ids))
        .select((
            concern_students::concern_id,
            students::id,
            students::name,
            students::class_id,
            classes::head_teacher_id,
        ))
        .order((concern_students::concern_id, students::name))
        .load(conn)?)
}

/// Every concern about a pupil, oldest first.
pub fn about(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<ConcernRow>> {
    Ok(concerns::table
        .filter(
            concerns::id.eq_any(
                concern_students::table
                    .filter(concern_students::student_id.eq(student_id.to_string()))
                    .select(concern_students::concern_id),
            ),
        )
        .select(ConcernRow::as_select())
        .order(concerns::id.asc())
        .load(conn)?)
}

/// Records a triage. Only an `open` or `monitor` concern is triaged: 0 rows
/// when another triage got there first.
pub fn set_triage(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    category: Option<&str>,
    note: &str,
    by: &str,
    at: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        concerns::table
            .filter(concerns::id.eq(id))
            .filter(concerns::status.eq_any(["open", "monitor"])),
    )
    .set((
        concerns::status.eq(status),
        concerns::category.eq(category),
        concerns::triage_note.eq(note),
        concerns::triaged_by.eq(by),
        concerns::triaged_at.eq(at),
    ))
    .execute(conn)?)
}

/// Links a concern to a case opened from it elsewhere (a case that names
/// the concern as its source).
pub fn link_case(conn: &mut AnyConnection, id: &str, case_id: &str) -> AppResult<()> {
    diesel::update(
        concerns::table
            .filter(concerns::id.eq(id))
            .filter(concerns::case_id.is_null()),
    )
    .set((
        concerns::case_id.eq(case_id),
        concerns::status.eq("case_opened"),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn school_name(conn: &mut AnyConnection, school_id: &str) -> AppResult<Option<String>> {
    use crate::db::schema::schools;
    Ok(schools::table
        .filter(schools::id.eq(school_id))
        .select(schools::name)
        .first(conn)
        .optional()?)
}

/// The cases whose source is this record (`tip_report`, `handover`):
/// (id, number), oldest first.
pub fn cases_from(
    conn: &mut AnyConnection,
    source_kind: &str,
    source_ref: &str,
) -> AppResult<Vec<(String, String)>> {
    Ok(cases::table
        .filter(cases::source_kind.eq(source_kind))
        .filter(cases::source_ref.eq(source_ref))
        .select((cases::id, cases::number))
        .order(cases::id.asc())
        .load(conn)?)
}
