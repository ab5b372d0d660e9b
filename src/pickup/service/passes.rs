//! One-time pickup passes: issued by a guardian for a day, shown once,
//! cancelled while unused.

use super::{forbidden, local_now, Now};
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::clock::{school_local_to_utc, to_utc};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::org::dto::Id;
use crate::org::family;
use crate::pickup::dto::{NewPickupPass, PickupPass, PickupPassIssued};
use crate::pickup::model::{NewPassRow, PassRow};
use crate::pickup::repo::{self, pass_code_hash, qr_token_hash};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The UTC end of a school day at the school.
fn end_of_day_utc(date: NaiveDate, timezone: &str) -> NaiveDateTime {
    let next = date.succ_opt().unwrap_or(date).and_time(NaiveTime::MIN);
    school_local_to_utc(next, timezone)
}

/// A pass's code and QR token: shown once, stored only as hashes.
fn pass_secrets() -> AppResult<(String, String)> {
    let code = format!(
        "{:08}",
        u64::from_be_bytes(
            crate::crypto::random_bytes(8)
                .try_into()
                .map_err(|_| ApiError::internal("random bytes"))?
        ) % 100_000_000
    );
    Ok((code, crate::crypto::random_token()))
}

/// Issues a pass: the pupil in scope (404), a guardian (403), then the
/// body; a pass naming nobody takes a primary guardian.
pub fn issue(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    student_id: &str,
    body: AppResult<NewPickupPass>,
) -> AppResult<PickupPassIssued> {
    let (student, rel) = family::student_for_family_or_school(conn, caller, student_id)?;
    if !rel.guardian {
        return Err(forbidden(
            Code::GuardianRequired,
            "only a guardian may issue a pickup pass",
        ));
    }
    let b = body?;
    // A pass naming nobody lets any holder take the child: only a
    // primary guardian may give such trust, like naming a pickup person.
    if b.pickup_person_id.is_none() && !rel.primary_guardian {
        return Err(forbidden(
            Code::PrimaryGuardianRequired,
            "only a primary guardian may issue a pass that names no pickup person",
        ));
    }
    let (local, timezone) = local_now(conn, &student.school_id, now.utc)?;
    let today = local.date();
    if b.date < today || b.date > today + chrono::Duration::days(31) {
        return Err(ApiError::invalid(
            "date",
            "a pass is for a school day from today to 31 days ahead",
        ));
    }
    let (_, cutoff) = repo::settings(conn, &student.school_id)?;
    if let Some(cutoff) = cutoff {
        if b.date == today && local.format("%H:%M").to_string() >= cutoff {
            return Err(ApiError::conflict(
                Code::AfterCutoff,
                format!("passes for today close at {cutoff}; call the head teacher instead"),
            ));
        }
    }
    let person_id = b.pickup_person_id.map(Id::into_string);
    if let Some(pid) = &person_id {
        let ok = repo::person(conn, pid)?
            .filter(|p| p.student_id == student.id && p.revoked_at.is_none());
        if ok.is_none() {
            return Err(ApiError::invalid(
                "pickup_person_id",
                "not an authorised pickup person of this pupil",
            ));
        }
    }
    let (code, qr_token) = pass_secrets()?;
    let pass_id = new_id(now.db);
    let expires_at = end_of_day_utc(b.date, &timezone);
    repo::insert_pass(
        conn,
        NewPassRow {
            id: &pass_id,
            student_id: &student.id,
            pickup_person_id: person_id.as_deref(),
            valid_on: b.date,
            code_hash: pass_code_hash(&code),
            qr_token_hash: qr_token_hash(&qr_token),
            expires_at,
            issued_by: &caller.user_id,
            created_at: now.db,
        },
    )?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup_pass.issue", "pickup_pass", Some(&pass_id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(PickupPassIssued {
        pass_id,
        code,
        qr_token,
        valid_on: b.date,
        expires_at: to_utc(expires_at),
        pickup_person_id: person_id,
    })
}

/// What the idempotency record keeps of an issued pass: never the code or QR token.
pub fn redact(issued: &PickupPassIssued) -> serde_json::Value {
    serde_json::json!({ "pass_id": issued.pass_id })
}

/// A replayed pass request: its first answer was lost with the code in it,
/// and the server kept no copy, so the still-open pass gets a fresh code
/// and QR token (the lost ones stop working).
pub fn reissue(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    record: serde_json::Value,
) -> AppResult<PickupPassIssued> {
    let pass_id = record["pass_id"]
        .as_str()
        .ok_or_else(|| ApiError::internal("idempotency record without a pass id"))?
        .to_string();
    let row = repo::pass(conn, &pass_id)?.ok_or_else(|| ApiError::not_found("pickup pass"))?;
    if row.used_at.is_some() || row.cancelled_at.is_some() || row.expires_at <= now.db {
        return Err(ApiError::conflict(
            Code::PassNotActive,
            "this pass was used, cancelled or has expired; issue a new one",
        ));
    }
    let (code, qr_token) = pass_secrets()?;
    repo::set_pass_secrets(
        conn,
        &pass_id,
        &pass_code_hash(&code),
        &qr_token_hash(&qr_token),
    )?;
    let school = repo::school_of_student(conn, &row.student_id)?;
    audit::record(
        conn,
        now.db,
        AuditEvent::by(caller, "pickup_pass.reissue", "pickup_pass", Some(&pass_id))
            .in_school(Some(&school)),
    )?;
    Ok(PickupPassIssued {
        pass_id,
        code,
        qr_token,
        valid_on: row.valid_on.date(),
        expires_at: to_utc(row.expires_at),
        pickup_person_id: row.pickup_person_id,
    })
}

/// The pupil's passes (family and the school's staff), without their codes.
pub fn list(
    conn: &mut AnyConnection,
    caller: &Caller,
    student_id: &str,
) -> AppResult<Vec<PickupPass>> {
    let (student, _) = family::student_for_family_or_school(conn, caller, student_id)?;
    let rows = repo::passes_of(conn, &student.id)?;
    Ok(rows.into_iter().map(PassRow::into_dto).collect())
}

/// Cancels an unused pass (a guardian); cancelling twice is no error.
pub fn cancel(
    conn: &mut AnyConnection,
    now: Now,
    caller: &Caller,
    pass_id: &str,
) -> AppResult<PickupPass> {
    let pass = repo::pass(conn, pass_id)?.ok_or_else(|| ApiError::not_found("pickup pass"))?;
    let (student, rel) = family::student_for_family_or_school(conn, caller, &pass.student_id)
        .map_err(|_| ApiError::not_found("pickup pass"))?;
    if !rel.guardian {
        return Err(forbidden(
            Code::GuardianRequired,
            "only a guardian may cancel a pass",
        ));
    }
    if pass.used_at.is_some() {
        return Err(ApiError::conflict(
            Code::PassUsed,
            "this pass was already used",
        ));
    }
    if pass.cancelled_at.is_none() {
        repo::cancel_pass(conn, &pass.id, now.db)?;
        audit::record(
            conn,
            now.db,
            AuditEvent::by(caller, "pickup_pass.cancel", "pickup_pass", Some(&pass.id))
                .in_school(Some(&student.school_id)),
        )?;
    }
    let row = repo::pass(conn, &pass.id)?.ok_or_else(|| ApiError::not_found("pickup pass"))?;
    Ok(row.into_dto())
}
