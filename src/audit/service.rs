//! Appending to the chain, checking it, signing its head, and sealing a
//! chain written before the key existed.

use super::chain::{chain_hash, chain_mac, head_signature, GENESIS};
use super::dto::{AuditHead, Verification};
use super::model::Row;
use super::{repo, AuditEvent};
use crate::crypto::constant_time_eq;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use chrono::NaiveDateTime;
use std::sync::{Arc, RwLock};

/// The chain's key, one per process: the service, its workers and its
/// command-line tools all write to one chain. Set from the settings before
/// anything is recorded (`use_key`); nothing is recorded without it.
static KEY: RwLock<Option<Arc<[u8]>>> = RwLock::new(None);

pub fn use_key(key: &[u8]) {
    *KEY.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::from(key));
}

fn key() -> AppResult<Arc<[u8]>> {
    KEY.read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(|| ApiError::internal("the audit key is not set"))
}

fn fields(r: &Row) -> [Option<&str>; 6] {
    [
        r.actor_id.as_deref(),
        r.actor_role.as_deref(),
        Some(&r.action),
        Some(&r.target_type),
        r.target_id.as_deref(),
        r.school_id.as_deref(),
    ]
}

/// Appends an event in the caller's transaction.
pub fn record(conn: &mut AnyConnection, now: NaiveDateTime, ev: AuditEvent<'_>) -> AppResult<()> {
    append(conn, now, ev, None)
}

/// Appends an event for an edit, with the fields it changed as they were
/// (`before`) and as they became (`after`), in the caller's transaction.
pub fn record_change(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    ev: AuditEvent<'_>,
    before: &serde_json::Value,
    after: &serde_json::Value,
) -> AppResult<()> {
    append(conn, now, ev, Some((before.to_string(), after.to_string())))
}

/// An event owned, so that linking it can wait for the end of a batch.
struct Pending {
    id: String,
    at: NaiveDateTime,
    actor_id: Option<String>,
    actor_role: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    school_id: Option<String>,
    /// An edit's fields (before, after), kept beside the event.
    change: Option<(String, String)>,
}

impl Pending {
    fn event(&self) -> AuditEvent<'_> {
        AuditEvent {
            actor_id: self.actor_id.as_deref(),
            actor_role: self.actor_role.as_deref(),
            action: &self.action,
            target_type: &self.target_type,
            target_id: self.target_id.as_deref(),
            school_id: self.school_id.as_deref(),
        }
    }
}

/// Appends an event. In a grouped write it is linked at the end of the
/// batch (`db::group::last_in_batch`), so the audit head is the last lock a
/// batch takes; its id and time are the request's all the same.
fn append(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    ev: AuditEvent<'_>,
    change: Option<(String, String)>,
) -> AppResult<()> {
    let key = key()?;
    let pending = Pending {
        id: new_id(now),
        at: now,
        actor_id: ev.actor_id.map(str::to_string),
        actor_role: ev.actor_role.map(str::to_string),
        action: ev.action.to_string(),
        target_type: ev.target_type.to_string(),
        target_id: ev.target_id.map(str::to_string),
        school_id: ev.school_id.map(str::to_string),
        change,
    };
    crate::db::group::last_in_batch(conn, move |conn| link(conn, &key, pending))
}

/// Links an event to the head of the chain and moves the head on to it.
fn link(conn: &mut AnyConnection, key: &[u8], p: Pending) -> AppResult<()> {
    let (seq, prev_hash) = repo::advance_head(conn)?;
    let ev = p.event();
    let hash = chain_mac(
        key,
        &prev_hash,
        seq,
        &p.id,
        p.at,
        [
            ev.actor_id,
            ev.actor_role,
            Some(ev.action),
            Some(ev.target_type),
            ev.target_id,
            ev.school_id,
        ],
    );
    repo::insert(conn, &p.id, seq, p.at, &ev, &prev_hash, &hash)?;
    if let Some((before, after)) = &p.change {
        repo::insert_change(conn, &p.id, before, after)?;
    }
    repo::set_head_hash(conn, &hash)
}

/// Walks the chain from the start with `link`, calling `seen` on each good
/// event; returns (events, the last link, the first bad event).
fn walk(
    conn: &mut AnyConnection,
    link: &dyn Fn(&Row) -> String,
    seen: &mut dyn FnMut(&Row),
) -> AppResult<(i64, String, Option<String>)> {
    const BATCH: i64 = 1000;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    loop {
        let rows = repo::events_from(conn, expected_seq, BATCH)?;
        let done = (rows.len() as i64) < BATCH;
        for r in rows {
            if r.seq != expected_seq || r.prev_hash != expected_prev || link(&r) != r.hash {
                return Ok((expected_seq - 1, expected_prev, Some(r.id)));
            }
            seen(&r);
            expected_seq += 1;
            expected_prev = r.hash;
        }
        if done {
            return Ok((expected_seq - 1, expected_prev, None));
        }
    }
}

fn keyed_link(key: &[u8]) -> impl Fn(&Row) -> String + '_ {
    move |r| chain_mac(key, &r.prev_hash, r.seq, &r.id, r.at, fields(r))
}

/// Checks the whole chain; with `against` (a head signed earlier, see
/// `head`), also that the chain still runs through that head.
pub fn verify(conn: &mut AnyConnection, against: Option<&str>) -> AppResult<Verification> {
    let key = key()?;
    let earlier = against.map(|t| parse_head(&key, t)).transpose()?;
    let mut at_earlier: Option<String> = None;
    let (events, last, bad) = walk(conn, &keyed_link(&key), &mut |r| {
        if earlier.as_ref().is_some_and(|(seq, _)| *seq == r.seq) {
            at_earlier = Some(r.hash.clone());
        }
    })?;
    let extends = earlier.map(|(seq, hash)| {
        seq == 0 && hash == GENESIS || at_earlier.as_deref() == Some(hash.as_str())
    });
    if bad.is_some() {
        return Ok(Verification {
            ok: false,
            events,
            first_bad_id: bad,
            extends,
        });
    }
    // A removed tail leaves the head pointing past the last event.
    let (head_seq, head_hash) = repo::head(conn)?;
    Ok(Verification {
        ok: head_seq == events && head_hash == last,
        events,
        first_bad_id: None,
        extends,
    })
}

/// The chain's head now, signed, for the bureau to keep outside.
pub fn head(conn: &mut AnyConnection) -> AppResult<AuditHead> {
    let key = key()?;
    let (seq, hash) = repo::head(conn)?;
    let signature = head_signature(&key, seq, &hash);
    Ok(AuditHead {
        token: format!("{seq}.{hash}.{signature}"),
        seq,
        hash,
        signature,
    })
}

/// A signed head token `seq.hash.signature`, checked against the key.
fn parse_head(key: &[u8], token: &str) -> AppResult<(i64, String)> {
    let bad = || {
        ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            Code::InvalidQuery,
            "against is not a head this service signed",
        )
        .with_field("against")
    };
    let mut parts = token.trim().split('.');
    let (Some(seq), Some(hash), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let seq: i64 = seq.parse().map_err(|_| bad())?;
    let expected = head_signature(key, seq, hash);
    if !constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
        return Err(bad());
    }
    Ok((seq, hash.to_string()))
}

/// Seals a chain written before the audit key existed: checks it as it was
/// (plain SHA-256) and re-links every event with the key, in the caller's
/// transaction. A chain that does not check out is not sealed: that is an
/// incident to investigate, and the service refuses to start.
pub fn seal_with_key(conn: &mut AnyConnection) -> AppResult<usize> {
    if repo::keyed(conn)? {
        return Ok(0);
    }
    let key = key()?;
    let plain = |r: &Row| chain_hash(&r.prev_hash, r.seq, &r.id, r.at, fields(r));
    // The keyed links, worked out as the walk checks the plain ones.
    let mut relinked: Vec<(String, String, String)> = Vec::new();
    let mut prev = GENESIS.to_string();
    let (_, last, bad) = walk(conn, &plain, &mut |r| {
        let hash = chain_mac(&key, &prev, r.seq, &r.id, r.at, fields(r));
        relinked.push((
            r.id.clone(),
            std::mem::replace(&mut prev, hash.clone()),
            hash,
        ));
    })?;
    let (head_seq, head_hash) = repo::head(conn)?;
    if bad.is_some() || head_seq != relinked.len() as i64 || head_hash != last {
        return Err(ApiError::internal(
            "the audit chain does not verify; it was not sealed with the key",
        ));
    }
    for (id, prev_hash, hash) in &relinked {
        repo::relink(conn, id, prev_hash, hash)?;
    }
    repo::set_head_hash(conn, &prev)?;
    repo::set_keyed(conn)?;
    Ok(relinked.len())
}
