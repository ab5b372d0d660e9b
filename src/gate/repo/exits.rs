//! The gate's statements on a leave: its pass (stored only as hashes), the
//! exit and the return. A leave's other statements are leave's.

use crate::crypto::sha256_hex;
use crate::dates::LocalDate;
use crate::db::schema::{handovers, leave_requests};
use crate::db::AnyConnection;
use crate::error::AppResult;
use crate::leave::dto::LeaveStatus;
use chrono::NaiveDateTime;
use diesel::prelude::*;

pub fn pass_code_hash(code: &str) -> String {
    sha256_hex(format!("safecampus/leave-pass-code/v1\n{code}").as_bytes())
}

pub fn qr_token_hash(token: &str) -> String {
    sha256_hex(format!("safecampus/leave-qr/v1\n{token}").as_bytes())
}

/// Whether a pass code is held by another approved leave of the school.
pub fn pass_code_taken(conn: &mut AnyConnection, school_id: &str, code: &str) -> AppResult<bool> {
    let n: i64 = leave_requests::table
        .filter(leave_requests::school_id.eq(school_id))
        .filter(leave_requests::status.eq(LeaveStatus::Approved.as_str()))
        .filter(leave_requests::code_hash.eq(pass_code_hash(code)))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn set_pass(
    conn: &mut AnyConnection,
    id: &str,
    code: &str,
    qr_token: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set((
            leave_requests::code_hash.eq(pass_code_hash(code)),
            leave_requests::qr_token_hash.eq(qr_token_hash(qr_token)),
            leave_requests::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a guard scanned: the hash of a pass code or of a QR token.
pub enum PassHash {
    Code(String),
    QrToken(String),
}

/// The leave of the school a scanned pass names: one waiting at the gate
/// first; else the latest that held it (so a second scan answers "already left").
pub fn leave_by_pass(
    conn: &mut AnyConnection,
    school_id: &str,
    hash: &PassHash,
) -> AppResult<Option<String>> {
    for waiting in [true, false] {
        let mut q = leave_requests::table
            .filter(leave_requests::school_id.eq(school_id))
            .select(leave_requests::id)
            .order(leave_requests::id.desc())
            .into_boxed();
        q = match hash {
            PassHash::Code(h) => q.filter(leave_requests::code_hash.eq(h.clone())),
            PassHash::QrToken(h) => q.filter(leave_requests::qr_token_hash.eq(h.clone())),
        };
        if waiting {
            q = q.filter(leave_requests::status.eq(LeaveStatus::Approved.as_str()));
        }
        if let Some(id) = q.first::<String>(conn).optional()? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Whether the pupil was handed over at dismissal on that school date.
pub fn handed_over_on(
    conn: &mut AnyConnection,
    student_id: &str,
    date: LocalDate,
) -> AppResult<bool> {
    let n: i64 = handovers::table
        .filter(handovers::student_id.eq(student_id))
        .filter(handovers::local_date.eq(date))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Who let the student out, and with which adult.
pub struct ExitRow<'a> {
    pub by: &'a str,
    pub adult_kind: Option<&'a str>,
    pub adult_name: Option<String>,
}

/// Marks an approved leave out; false when it is no longer approved.
pub fn mark_out(
    conn: &mut AnyConnection,
    id: &str,
    exit: ExitRow,
    now: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        leave_requests::table
            .filter(leave_requests::id.eq(id))
            .filter(leave_requests::status.eq(LeaveStatus::Approved.as_str())),
    )
    .set((
        leave_requests::status.eq(LeaveStatus::Out.as_str()),
        leave_requests::left_at.eq(now),
        leave_requests::exit_by.eq(exit.by),
        leave_requests::exit_adult_kind.eq(exit.adult_kind),
        leave_requests::exit_adult_name.eq(exit.adult_name),
        leave_requests::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn record_return(
    conn: &mut AnyConnection,
    id: &str,
    by: &str,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(leave_requests::table.find(id))
        .set((
            leave_requests::returned_at.eq(now),
            leave_requests::returned_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}
