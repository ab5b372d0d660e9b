//! Handovers: one release of a pupil a day, answered by the family.

use crate::dates::LocalDate;
use crate::db::schema::{handovers, students};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::pickup::model::{HandoverRow, NewHandoverRow};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

pub(in crate::pickup) fn handover(
    conn: &mut AnyConnection,
    id: &str,
) -> AppResult<Option<HandoverRow>> {
    Ok(handovers::table
        .find(id)
        .select(HandoverRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes a release; a second one of the pupil the same day is a unique
/// violation, left to the caller to answer.
pub(in crate::pickup) fn insert_handover(
    conn: &mut AnyConnection,
    h: NewHandoverRow<'_>,
) -> Result<(), diesel::result::Error> {
    diesel::insert_into(handovers::table)
        .values((
            handovers::id.eq(h.id),
            handovers::student_id.eq(h.student_id),
            handovers::school_id.eq(h.school_id),
            handovers::class_id.eq(h.class_id),
            handovers::local_date.eq(LocalDate(h.local_date)),
            handovers::adult_kind.eq(h.adult_kind.as_str()),
            handovers::guardian_user_id.eq(h.guardian_user_id),
            handovers::pickup_person_id.eq(h.pickup_person_id),
            handovers::pass_id.eq(h.pass_id),
            handovers::released_name.eq(h.released_name),
            handovers::released_relation.eq(h.released_relation),
            handovers::released_by.eq(h.released_by),
            handovers::at.eq(h.at),
        ))
        .execute(conn)?;
    Ok(())
}

pub(in crate::pickup) fn confirm(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    by: &str,
) -> AppResult<()> {
    diesel::update(handovers::table.find(id))
        .set((
            handovers::confirmed_at.eq(now),
            handovers::answered_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

pub(in crate::pickup) fn dispute(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    by: &str,
    note: &str,
) -> AppResult<()> {
    diesel::update(handovers::table.find(id))
        .set((
            handovers::disputed_at.eq(now),
            handovers::dispute_note.eq(note),
            handovers::answered_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

/// The pupil's handovers from one school day to another, newest first.
pub(in crate::pickup) fn handovers_between(
    conn: &mut AnyConnection,
    student_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<HandoverRow>> {
    Ok(handovers::table
        .filter(handovers::student_id.eq(student_id))
        .filter(handovers::local_date.ge(LocalDate(from)))
        .filter(handovers::local_date.le(LocalDate(to)))
        .select(HandoverRow::as_select())
        .order(handovers::local_date.desc())
        .load(conn)?)
}

/// The handovers of these pupils on a school day (at most 500 ids a call).
pub(in crate::pickup) fn handovers_on(
    conn: &mut AnyConnection,
    student_ids: &[String],
    date: NaiveDate,
) -> AppResult<Vec<HandoverRow>> {
    Ok(handovers::table
        .filter(handovers::student_id.eq_any(student_ids))
        .filter(handovers::local_date.eq(LocalDate(date)))
        .select(HandoverRow::as_select())
        .load(conn)?)
}

pub(in crate::pickup) fn student_name(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<String> {
    Ok(students::table
        .find(student_id)
        .select(students::name)
        .first(conn)?)
}

/// A handover of the school: its pupil. For a case that names it as its
/// source.
pub fn handover_pupil(
    conn: &mut AnyConnection,
    school_id: &str,
    id: &str,
) -> AppResult<Option<String>> {
    Ok(handovers::table
        .filter(handovers::id.eq(id))
        .filter(handovers::school_id.eq(school_id))
        .select(handovers::student_id)
        .first(conn)
        .optional()?)
}

/// A pupil's disputed handovers, oldest first: (id, disputed at, the
/// adult's name). For the safeguarding chronology.
pub fn disputed_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<(String, NaiveDateTime, String)>> {
    Ok(handovers::table
        .filter(handovers::student_id.eq(student_id))
        .filter(handovers::disputed_at.is_not_null())
        .select((
            handovers::id,
            handovers::disputed_at.assume_not_null(),
            handovers::released_name,
        ))
        .order(handovers::id.asc())
        .load(conn)?)
}
