//! Appending to the chain and checking it.

use super::chain::{chain_hash, GENESIS};
use super::dto::Verification;
use super::{repo, AuditEvent};
use crate::db::{new_id, AnyConnection};
use crate::error::AppResult;
use chrono::NaiveDateTime;

/// Appends an event in the caller's transaction.
pub fn record(conn: &mut AnyConnection, now: NaiveDateTime, ev: AuditEvent<'_>) -> AppResult<()> {
    let (seq, prev_hash) = repo::advance_head(conn)?;
    let id = new_id(now);
    let hash = chain_hash(
        &prev_hash,
        seq,
        &id,
        now,
        [
            ev.actor_id,
            ev.actor_role,
            Some(ev.action),
            Some(ev.target_type),
            ev.target_id,
            ev.school_id,
        ],
    );
    repo::insert(conn, &id, seq, now, &ev, &prev_hash, &hash)?;
    repo::set_head_hash(conn, &hash)
}

pub fn verify(conn: &mut AnyConnection) -> AppResult<Verification> {
    const BATCH: i64 = 1000;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut events = 0i64;
    loop {
        let rows = repo::events_from(conn, expected_seq, BATCH)?;
        let done = (rows.len() as i64) < BATCH;
        for r in rows {
            let recomputed = chain_hash(
                &r.prev_hash,
                r.seq,
                &r.id,
                r.at,
                [
                    r.actor_id.as_deref(),
                    r.actor_role.as_deref(),
                    Some(&r.action),
                    Some(&r.target_type),
                    r.target_id.as_deref(),
                    r.school_id.as_deref(),
                ],
            );
            if r.seq != expected_seq || r.prev_hash != expected_prev || recomputed != r.hash {
                return Ok(Verification {
                    ok: false,
                    events,
                    first_bad_id: Some(r.id),
                });
            }
            events += 1;
            expected_seq += 1;
            expected_prev = r.hash;
        }
        if done {
            break;
        }
    }
    // A removed tail leaves the head pointing past the last event.
    let (head_seq, head_hash) = repo::head(conn)?;
    Ok(Verification {
        ok: head_seq == events && head_hash == expected_prev,
        events,
        first_bad_id: None,
    })
}
