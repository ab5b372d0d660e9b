//! Closing a case: a handler proposes, with an outcome; only the bureau
//! confirms. A mandatory case never closes without a police report.

use super::{append, detail_of, visible};
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::cases::dto::*;
use crate::cases::model::CaseRow;
use crate::cases::{repo, rules};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use chrono::NaiveDateTime;

fn police_on_record(row: &CaseRow) -> AppResult<()> {
    if !rules::may_close(row.mandatory, row.police_reported_at.is_some()) {
        return Err(ApiError::conflict(
            Code::PoliceReportRequired,
            "a case of this category closes only with a police report on record",
        ));
    }
    Ok(())
}

/// A handler proposes to close the case with an outcome.
pub fn propose_close(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<CloseProposal>,
) -> AppResult<CaseDetail> {
    let row = visible(conn, caller, id)?;
    if !repo::is_handler(conn, caller, &row)? {
        return Err(super::not_found());
    }
    let b = body?;
    if row.status == CaseStatus::Closed.as_str() {
        return Err(ApiError::conflict(
            Code::AlreadyClosed,
            "the case is closed",
        ));
    }
    police_on_record(&row)?;
    repo::set_closing(conn, &row.id, b.outcome.as_str(), &caller.user_id, now)?;
    let text = format!("Proposed to close: {}. {}", b.outcome, b.note.as_str());
    append(
        conn,
        now,
        &row.id,
        EntryKind::CloseProposed,
        Some(&caller.user_id),
        text,
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "case.close_proposed", "case", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    let row = visible(conn, caller, id)?;
    detail_of(conn, now, row)
}

/// The bureau confirms a proposed closure.
pub fn confirm_close(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<CaseDetail> {
    let row = visible(conn, caller, id)?;
    if row.status == CaseStatus::Closed.as_str() {
        return Err(ApiError::conflict(
            Code::AlreadyClosed,
            "the case is closed",
        ));
    }
    if row.status != CaseStatus::Closing.as_str() {
        return Err(ApiError::conflict(
            Code::NoCloseRequest,
            "no handler has proposed to close the case",
        ));
    }
    police_on_record(&row)?;
    repo::set_closed(conn, &row.id, &caller.user_id, now)?;
    let text = format!(
        "The bureau confirmed the closure ({})",
        row.outcome.as_deref().unwrap_or("")
    );
    append(
        conn,
        now,
        &row.id,
        EntryKind::Closed,
        Some(&caller.user_id),
        text,
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "case.closed", "case", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    let row = visible(conn, caller, id)?;
    detail_of(conn, now, row)
}
