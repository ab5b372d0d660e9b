//! The never-release list.

use crate::db::schema::pickup_blocks;
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::pickup::model::{BlockRow, NewBlockRow};
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub(in crate::pickup) fn block(conn: &mut AnyConnection, id: &str) -> AppResult<Option<BlockRow>> {
    Ok(pickup_blocks::table
        .find(id)
        .select(BlockRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every entry of the pupil's list, lifted ones included.
pub(in crate::pickup) fn blocks_of(
    conn: &mut AnyConnection,
    student_id: &str,
) -> AppResult<Vec<BlockRow>> {
    Ok(pickup_blocks::table
        .filter(pickup_blocks::student_id.eq(student_id))
        .select(BlockRow::as_select())
        .order(pickup_blocks::id)
        .load(conn)?)
}

pub(in crate::pickup) fn insert_block(
    conn: &mut AnyConnection,
    b: NewBlockRow<'_>,
) -> AppResult<()> {
    diesel::insert_into(pickup_blocks::table)
        .values((
            pickup_blocks::id.eq(b.id),
            pickup_blocks::student_id.eq(b.student_id),
            pickup_blocks::name.eq(b.name),
            pickup_blocks::name_norm.eq(b.name_norm),
            pickup_blocks::phone.eq(b.phone),
            pickup_blocks::id_last4.eq(b.id_last4),
            pickup_blocks::note.eq(b.note),
            pickup_blocks::court_order.eq(b.court_order),
            pickup_blocks::created_by.eq(b.created_by),
            pickup_blocks::created_at.eq(b.created_at),
            pickup_blocks::status.eq(b.status),
            pickup_blocks::court_order_ref.eq(b.court_order_ref),
            pickup_blocks::confirmed_by.eq(b.confirmed_by),
            pickup_blocks::confirmed_at.eq(b.confirmed_by.map(|_| b.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Confirms a pending entry: it comes into force. False when it was no
/// longer pending (a concurrent decision came first).
pub(in crate::pickup) fn confirm_block(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    by: &str,
    court_order_ref: &str,
) -> AppResult<bool> {
    let n = diesel::update(
        pickup_blocks::table
            .find(id)
            .filter(pickup_blocks::status.eq("pending"))
            .filter(pickup_blocks::lifted_at.is_null()),
    )
    .set((
        pickup_blocks::status.eq("active"),
        pickup_blocks::confirmed_by.eq(by),
        pickup_blocks::confirmed_at.eq(now),
        pickup_blocks::court_order_ref.eq(court_order_ref),
        pickup_blocks::court_order.eq(true),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Rejects a pending entry: it ends, as a lift ends one. False when it was
/// no longer pending.
pub(in crate::pickup) fn reject_block(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    by: &str,
    note: &str,
) -> AppResult<bool> {
    let n = diesel::update(
        pickup_blocks::table
            .find(id)
            .filter(pickup_blocks::status.eq("pending"))
            .filter(pickup_blocks::lifted_at.is_null()),
    )
    .set((
        pickup_blocks::status.eq("rejected"),
        pickup_blocks::lifted_at.eq(now),
        pickup_blocks::lifted_by.eq(by),
        pickup_blocks::lift_note.eq(note),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub(in crate::pickup) fn lift_block(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
    by: &str,
    note: &str,
) -> AppResult<()> {
    diesel::update(pickup_blocks::table.find(id))
        .set((
            pickup_blocks::lifted_at.eq(now),
            pickup_blocks::lifted_by.eq(by),
            pickup_blocks::lift_note.eq(note),
        ))
        .execute(conn)?;
    Ok(())
}
