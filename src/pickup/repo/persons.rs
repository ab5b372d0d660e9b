//! Pickup persons: the adults a family authorised.

use crate::dates::LocalDate;
use crate::db::schema::pickup_persons;
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::pickup::model::{NewPersonRow, PersonRow};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub(in crate::pickup) fn person(
    conn: &mut AnyConnection,
    id: &str,
) -> AppResult<Option<PersonRow>> {
    Ok(pickup_persons::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

/// The pupil's pickup person of this id, revoked or not.
pub(in crate::pickup) fn person_of_student(
    conn: &mut AnyConnection,
    student_id: &str,
    person_id: &str,
) -> AppResult<Option<PersonRow>> {
    Ok(pickup_persons::table
        .filter(pickup_persons::id.eq(person_id))
        .filter(pickup_persons::student_id.eq(student_id))
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every pickup person of the pupil, revoked ones included.
pub(in crate::pickup) fn persons_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<PersonRow>> {
    Ok(pickup_persons::table
        .filter(pickup_persons::student_id.eq(student_id))
        .select(PersonRow::as_select())
        .order(pickup_persons::id)
        .load(conn)?)
}

/// The pupil's pickup persons not revoked.
pub(in crate::pickup) fn active_persons_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<PersonRow>> {
    Ok(pickup_persons::table
        .filter(pickup_persons::student_id.eq(student_id))
        .filter(pickup_persons::revoked_at.is_null())
        .select(PersonRow::as_select())
        .order(pickup_persons::id)
        .load(conn)?)
}

pub(in crate::pickup) fn insert_person(
    conn: &mut AnyConnection,
    p: NewPersonRow<'_>,
) -> AppResult<()> {
    let (photo, photo_type) = match p.photo {
        Some(photo) => (Some(photo.bytes), Some(photo.content_type)),
        None => (None, None),
    };
    diesel::insert_into(pickup_persons::table)
        .values((
            pickup_persons::id.eq(p.id),
            pickup_persons::student_id.eq(p.student_id),
            pickup_persons::name.eq(p.name),
            pickup_persons::name_norm.eq(crate::org::family::normalise_name(p.name)),
            pickup_persons::relation.eq(p.relation),
            pickup_persons::phone.eq(p.phone),
            pickup_persons::id_last4.eq(p.id_last4),
            pickup_persons::photo.eq(photo),
            pickup_persons::photo_type.eq(photo_type),
            pickup_persons::valid_from.eq(LocalDate(p.valid_from)),
            pickup_persons::valid_until.eq(LocalDate(p.valid_until)),
            pickup_persons::weekdays.eq(p.weekdays),
            pickup_persons::created_by.eq(p.created_by),
            pickup_persons::created_at.eq(p.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub(in crate::pickup) fn revoke_person(
    conn: &mut AnyConnection,
    id: &str,
    now: chrono::NaiveDateTime,
    by: &str,
) -> AppResult<()> {
    diesel::update(pickup_persons::table.find(id))
        .set((
            pickup_persons::revoked_at.eq(now),
            pickup_persons::revoked_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}

/// (pupil id, photo, its content type) of a pickup person.
pub(in crate::pickup) type PhotoRow = (String, Option<Vec<u8>>, Option<String>);

pub(in crate::pickup) fn person_photo(
    conn: &mut AnyConnection,
    id: &str,
) -> AppResult<Option<PhotoRow>> {
    Ok(pickup_persons::table
        .find(id)
        .select((
            pickup_persons::student_id,
            pickup_persons::photo,
            pickup_persons::photo_type,
        ))
        .first(conn)
        .optional()?)
}

pub(in crate::pickup) fn person_has_photo(conn: &mut AnyConnection, id: &str) -> AppResult<bool> {
    Ok(pickup_persons::table
        .find(id)
        .select(pickup_persons::photo_type.is_not_null())
        .first(conn)?)
}

/// Who named this pickup person.
pub(in crate::pickup) fn person_created_by(
    conn: &mut AnyConnection,
    id: &str,
) -> AppResult<String> {
    Ok(pickup_persons::table
        .find(id)
        .select(pickup_persons::created_by)
        .first(conn)?)
}

/// Ends every pickup person and unused pass of a pupil (the pupil left the
/// school); answers how many of each.
pub(in crate::pickup) fn end_all_for(
    conn: &mut AnyConnection,
    student_id: &str,
    now: NaiveDateTime,
    by: &str,
) -> AppResult<(usize, usize)> {
    use crate::db::schema::{pickup_passes, pickup_persons};
    let persons = diesel::update(
        pickup_persons::table
            .filter(pickup_persons::student_id.eq(student_id))
            .filter(pickup_persons::revoked_at.is_null()),
    )
    .set((
        pickup_persons::revoked_at.eq(now),
        pickup_persons::revoked_by.eq(by),
    ))
    .execute(conn)?;
    let passes = diesel::update(
        pickup_passes::table
            .filter(pickup_passes::student_id.eq(student_id))
            .filter(pickup_passes::used_at.is_null())
            .filter(pickup_passes::cancelled_at.is_null()),
    )
    .set(pickup_passes::cancelled_at.eq(now))
    .execute(conn)?;
    Ok((persons, passes))
}

/// Copies a pupil's standing never-release entries to their new record
/// (a transfer): a custody order follows the child to the new school.
pub(in crate::pickup) fn copy_blocks(
    conn: &mut AnyConnection,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    use crate::db::schema::pickup_blocks as b;
    type Block = (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        bool,
        String,
        String,
        Option<String>,
        Option<NaiveDateTime>,
        Option<String>,
    );
    let rows: Vec<Block> = b::table
        .filter(b::student_id.eq(from))
        .filter(b::lifted_at.is_null())
        .select((
            b::name,
            b::name_norm,
            b::phone,
            b::id_last4,
            b::note,
            b::court_order,
            b::created_by,
            b::status,
            b::confirmed_by,
            b::confirmed_at,
            b::court_order_ref,
        ))
        .load(conn)?;
    let n = rows.len();
    for r in rows {
        diesel::insert_into(b::table)
            .values((
                b::id.eq(crate::db::new_id(now)),
                b::student_id.eq(to),
                b::name.eq(r.0),
                b::name_norm.eq(r.1),
                b::phone.eq(r.2),
                b::id_last4.eq(r.3),
                b::note.eq(r.4),
                b::court_order.eq(r.5),
                b::created_by.eq(r.6),
                b::created_at.eq(now),
                b::status.eq(r.7),
                b::confirmed_by.eq(r.8),
                b::confirmed_at.eq(r.9),
                b::court_order_ref.eq(r.10),
            ))
            .execute(conn)?;
    }
    Ok(n)
}
