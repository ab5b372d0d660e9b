//! The audit log: append-only, each event hash-chained to the one before, so
//! a changed, removed or inserted row shows. It records who did what to which
//! object and when; never request bodies, tokens or network addresses.

use crate::auth::{Caller, DistrictAdmin};
use crate::crypto::{hex, sha256};
use crate::db::schema::{audit_events, audit_head};
use crate::db::{new_id, AnyConnection};
use crate::error::{AppResult, Problem};
use crate::state::State;
use actix_web::{get, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub struct AuditEvent<'a> {
    pub actor_id: Option<&'a str>,
    pub actor_role: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<&'a str>,
    pub school_id: Option<&'a str>,
}

impl<'a> AuditEvent<'a> {
    /// Something a signed-in user did.
    pub fn by(
        caller: &'a Caller,
        action: &'a str,
        target_type: &'a str,
        target_id: Option<&'a str>,
    ) -> Self {
        AuditEvent {
            actor_id: Some(&caller.user_id),
            actor_role: Some(caller.role.as_str()),
            action,
            target_type,
            target_id,
            school_id: caller.school_id.as_deref(),
        }
    }

    /// Something with no signed-in actor (an anonymous request, a worker).
    pub fn system(action: &'a str, target_type: &'a str, target_id: Option<&'a str>) -> Self {
        AuditEvent {
            actor_id: None,
            actor_role: None,
            action,
            target_type,
            target_id,
            school_id: None,
        }
    }

    pub fn in_school(mut self, school_id: Option<&'a str>) -> Self {
        self.school_id = school_id;
        self
    }
}

#[derive(Queryable)]
struct Row {
    id: String,
    seq: i64,
    at: NaiveDateTime,
    actor_id: Option<String>,
    actor_role: Option<String>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    school_id: Option<String>,
    prev_hash: String,
    hash: String,
}

/// Length-prefixed fields, so that no two different events encode alike.
fn chain_hash(
    prev_hash: &str,
    seq: i64,
    id: &str,
    at: NaiveDateTime,
    fields: [Option<&str>; 6],
) -> String {
    let mut buf = Vec::with_capacity(256);
    let mut put = |v: Option<&str>| match v {
        Some(s) => {
            buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
    };
    put(Some("safecampus/audit/v1"));
    put(Some(prev_hash));
    put(Some(&seq.to_string()));
    put(Some(id));
    put(Some(&at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()));
    for f in fields {
        put(f);
    }
    hex(&sha256(&buf))
}

/// Appends an event in the caller's transaction.
pub fn record(conn: &mut AnyConnection, now: NaiveDateTime, ev: AuditEvent<'_>) -> AppResult<()> {
    // Moving the head first takes its row lock on PostgreSQL, so concurrent
    // transactions append one after another and the chain never forks.
    diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq + 1))
        .execute(conn)?;
    let (seq, prev_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
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
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::seq.eq(seq),
            audit_events::at.eq(now),
            audit_events::actor_id.eq(ev.actor_id),
            audit_events::actor_role.eq(ev.actor_role),
            audit_events::action.eq(ev.action),
            audit_events::target_type.eq(ev.target_type),
            audit_events::target_id.eq(ev.target_id),
            audit_events::school_id.eq(ev.school_id),
            audit_events::prev_hash.eq(&prev_hash),
            audit_events::hash.eq(&hash),
        ))
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set(audit_head::hash.eq(&hash))
        .execute(conn)?;
    Ok(())
}

#[derive(Serialize, ToSchema, Debug)]
pub struct Verification {
    pub ok: bool,
    pub events: i64,
    /// The first event whose content or place in the chain is wrong.
    pub first_bad_id: Option<String>,
}

pub fn verify(conn: &mut AnyConnection) -> AppResult<Verification> {
    const BATCH: i64 = 1000;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut events = 0i64;
    loop {
        let rows: Vec<Row> = audit_events::table
            .filter(audit_events::seq.ge(expected_seq))
            .order(audit_events::seq.asc())
            .limit(BATCH)
            .load(conn)?;
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
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    Ok(Verification {
        ok: head_seq == events && head_hash == expected_prev,
        events,
        first_bad_id: None,
    })
}

/// Check the whole audit chain.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, body = Verification), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/audit/verify")]
async fn verify_chain(state: State, _admin: DistrictAdmin) -> AppResult<web::Json<Verification>> {
    Ok(web::Json(state.db.read(verify).await?))
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(verify_chain);
}
