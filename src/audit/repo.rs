//! The audit log's statements: the head (sequence and last hash) and the
//! events.

use super::model::Row;
use super::AuditEvent;
use crate::db::schema::{audit_events, audit_head};
use crate::db::AnyConnection;
use crate::error::AppResult;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The events of a batch are linked at its end (`db::group::last_in_batch`),
/// so a read of the log from a grouped write would miss the batch's own:
/// such a read is a mistake, refused rather than answered short.
fn unseen_in_batch() -> AppResult<()> {
    if crate::db::group::in_batch() {
        return Err(crate::error::ApiError::internal(
            "the audit log is read from a grouped write",
        ));
    }
    Ok(())
}

/// Moves the head on by one and returns (its new sequence, the previous
/// hash), in one statement. Moving the head takes its row lock on
/// PostgreSQL, so concurrent transactions append one after another and the
/// chain never forks.
pub fn advance_head(conn: &mut AnyConnection) -> AppResult<(i64, String)> {
    #[derive(QueryableByName)]
    struct Head {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        seq: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        hash: String,
    }
    let head: Head =
        diesel::sql_query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .get_result(conn)?;
    Ok((head.seq, head.hash))
}

/// (sequence, hash) of the head.
pub fn head(conn: &mut AnyConnection) -> AppResult<(i64, String)> {
    Ok(audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?)
}

pub fn set_head_hash(conn: &mut AnyConnection, hash: &str) -> AppResult<()> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(hash))
        .execute(conn)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &mut AnyConnection,
    id: &str,
    seq: i64,
    now: NaiveDateTime,
    ev: &AuditEvent<'_>,
    prev_hash: &str,
    hash: &str,
) -> AppResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(id),
            audit_events::seq.eq(seq),
            audit_events::at.eq(now),
            audit_events::actor_id.eq(ev.actor_id),
            audit_events::actor_role.eq(ev.actor_role),
            audit_events::action.eq(ev.action),
            audit_events::target_type.eq(ev.target_type),
            audit_events::target_id.eq(ev.target_id),
            audit_events::school_id.eq(ev.school_id),
            audit_events::prev_hash.eq(prev_hash),
            audit_events::hash.eq(hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` events from sequence `from` on, in order.
pub fn events_from(conn: &mut AnyConnection, from: i64, limit: i64) -> AppResult<Vec<Row>> {
    Ok(audit_events::table
        .filter(audit_events::seq.ge(from))
        .order(audit_events::seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// Whether the chain's links are keyed (sealed with the audit key).
pub fn keyed(conn: &mut AnyConnection) -> AppResult<bool> {
    Ok(audit_head::table
        .find(1)
        .select(audit_head::keyed)
        .first(conn)?)
}

pub fn set_keyed(conn: &mut AnyConnection) -> AppResult<()> {
    diesel::update(audit_head::table.find(1))
        .set(audit_head::keyed.eq(true))
        .execute(conn)?;
    Ok(())
}

/// Re-links one event (sealing a chain with the key).
pub fn relink(conn: &mut AnyConnection, id: &str, prev_hash: &str, hash: &str) -> AppResult<()> {
    diesel::update(audit_events::table.find(id))
        .set((
            audit_events::prev_hash.eq(prev_hash),
            audit_events::hash.eq(hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// When each of these actions was done to an object, oldest first. For the
/// safeguarding chronology (refused pickups of a pupil).
pub fn actions_on(
    conn: &mut AnyConnection,
    target_type: &str,
    target_id: &str,
    actions: &[&str],
) -> AppResult<Vec<(String, String, NaiveDateTime)>> {
    unseen_in_batch()?;
    Ok(audit_events::table
        .filter(audit_events::target_type.eq(target_type))
        .filter(audit_events::target_id.eq(target_id))
        .filter(audit_events::action.eq_any(actions))
        .select((audit_events::id, audit_events::action, audit_events::at))
        .order(audit_events::seq.asc())
        .load(conn)?)
}

pub fn insert_change(
    conn: &mut AnyConnection,
    event_id: &str,
    before: &str,
    after: &str,
) -> AppResult<()> {
    use crate::db::schema::record_changes;
    diesel::insert_into(record_changes::table)
        .values((
            record_changes::event_id.eq(event_id),
            record_changes::before_json.eq(before),
            record_changes::after_json.eq(after),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many times `actor` did `action` since `since`: for limits that the
/// audit trail itself already counts (a key backup read).
pub fn count_by_actor_since(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    since: NaiveDateTime,
) -> AppResult<i64> {
    unseen_in_batch()?;
    Ok(audit_events::table
        .filter(audit_events::actor_id.eq(actor))
        .filter(audit_events::action.eq(action))
        .filter(audit_events::at.gt(since))
        .count()
        .get_result(conn)?)
}
