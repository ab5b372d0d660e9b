//! One-time pickup passes, stored with their secrets hashed.

use crate::dates::LocalDate;
use crate::db::schema::{pickup_passes, students};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::pickup::model::{NewPassRow, PassRow};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

/// How a pass's code is stored (and looked up): never the code itself.
pub fn pass_code_hash(code: &str) -> String {
    crate::crypto::sha256_hex(format!("safecampus/pickup-pass-code/v1\n{code}").as_bytes())
}

/// How a pass's QR token is stored (and looked up).
pub fn qr_token_hash(token: &str) -> String {
    crate::crypto::sha256_hex(format!("safecampus/pickup-qr/v1\n{token}").as_bytes())
}

pub(in crate::pickup) fn pass(conn: &mut AnyConnection, id: &str) -> AppResult<Option<PassRow>> {
    Ok(pickup_passes::table
        .find(id)
        .select(PassRow::as_select())
        .first(conn)
        .optional()?)
}

/// The pupil's latest 100 passes, newest first.
pub(in crate::pickup) fn passes_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<PassRow>> {
    Ok(pickup_passes::table
        .filter(pickup_passes::student_id.eq(student_id))
        .select(PassRow::as_select())
        .order(pickup_passes::id.desc())
        .limit(100)
        .load(conn)?)
}

/// (pass id, named pickup person) of the pupil's unused passes for a day.
pub(in crate::pickup) fn open_passes_on(
    conn: &mut AnyConnection,
    student_id: &str,
    date: NaiveDate,
) -> AppResult<Vec<(String, Option<String>)>> {
    Ok(pickup_passes::table
        .filter(pickup_passes::student_id.eq(student_id))
        .filter(pickup_passes::valid_on.eq(LocalDate(date)))
        .filter(pickup_passes::used_at.is_null())
        .filter(pickup_passes::cancelled_at.is_null())
        .select((pickup_passes::id, pickup_passes::pickup_person_id))
        .order(pickup_passes::id)
        .load(conn)?)
}

/// The most recent pass of the pupil with this code: an older one may share it.
pub(in crate::pickup) fn pass_by_code(
    conn: &mut AnyConnection,
    student_id: &str,
    code_hash: &str,
) -> AppResult<Option<PassRow>> {
    Ok(pickup_passes::table
        .filter(pickup_passes::code_hash.eq(code_hash))
        .filter(pickup_passes::student_id.eq(student_id))
        .select(PassRow::as_select())
        .order(pickup_passes::id.desc())
        .first(conn)
        .optional()?)
}

/// The most recent pass with this QR token, whoever's it is.
pub(in crate::pickup) fn pass_by_qr(
    conn: &mut AnyConnection,
    qr_hash: &str,
) -> AppResult<Option<PassRow>> {
    Ok(pickup_passes::table
        .filter(pickup_passes::qr_token_hash.eq(qr_hash))
        .select(PassRow::as_select())
        .order(pickup_passes::id.desc())
        .first(conn)
        .optional()?)
}

pub(in crate::pickup) fn pass_issued_by(conn: &mut AnyConnection, id: &str) -> AppResult<String> {
    Ok(pickup_passes::table
        .find(id)
        .select(pickup_passes::issued_by)
        .first(conn)?)
}

pub(in crate::pickup) fn insert_pass(conn: &mut AnyConnection, p: NewPassRow<'_>) -> AppResult<()> {
    diesel::insert_into(pickup_passes::table)
        .values((
            pickup_passes::id.eq(p.id),
            pickup_passes::student_id.eq(p.student_id),
            pickup_passes::pickup_person_id.eq(p.pickup_person_id),
            pickup_passes::valid_on.eq(LocalDate(p.valid_on)),
            pickup_passes::code_hash.eq(p.code_hash),
            pickup_passes::qr_token_hash.eq(p.qr_token_hash),
            pickup_passes::expires_at.eq(p.expires_at),
            pickup_passes::issued_by.eq(p.issued_by),
            pickup_passes::created_at.eq(p.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub(in crate::pickup) fn set_pass_secrets(
    conn: &mut AnyConnection,
    id: &str,
    code_hash: &str,
    qr_hash: &str,
) -> AppResult<()> {
    diesel::update(pickup_passes::table.find(id))
        .set((
            pickup_passes::code_hash.eq(code_hash),
            pickup_passes::qr_token_hash.eq(qr_hash),
        ))
        .execute(conn)?;
    Ok(())
}

pub(in crate::pickup) fn cancel_pass(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(pickup_passes::table.find(id))
        .set(pickup_passes::cancelled_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Marks a pass used if it is still open; how many rows changed (0 or 1).
pub(in crate::pickup) fn use_pass(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        pickup_passes::table
            .filter(pickup_passes::id.eq(id))
            .filter(pickup_passes::used_at.is_null())
            .filter(pickup_passes::cancelled_at.is_null()),
    )
    .set(pickup_passes::used_at.eq(now))
    .execute(conn)?)
}

/// The school of a pupil, by id alone (for a pass already in scope).
pub(in crate::pickup) fn school_of_student(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<String> {
    Ok(students::table
        .find(student_id)
        .select(students::school_id)
        .first(conn)?)
}
