//! What readers do with a report: read it, reply, move its status along
//! (two-person closing), and add wraps.

use super::*;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::crypto::envelope::{self, KeyWrap};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::tipline::dto::*;
use crate::tipline::repo::{self, ReportRow, ReporterKey};
use actix_web::http::StatusCode;
use chrono::NaiveDateTime;

pub fn detail(
    conn: &mut AnyConnection,
    caller: &Caller,
    report: &ReportRow,
) -> AppResult<ReportDetail> {
    let summary = repo::summaries(conn, caller, std::slice::from_ref(report))?
        .pop()
        .expect("one summary per row");
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    for m in repo::messages(conn, &report.id)? {
        let item = StaffMessage {
            id: m.id,
            seq: m.seq,
            from: Sender::parse(&m.sender).unwrap_or(Sender::School),
            author_id: m.author_id,
            envelope: repo::parse_envelope(&m.envelope)?,
            sent_hour: repo::to_hour(m.created_at),
        };
        if m.is_attachment {
            attachments.push(item);
        } else {
            messages.push(item);
        }
    }
    let mut reply_keys = vec![RecipientKey {
        key_id: envelope::REPORTER_KEY_ID.to_string(),
        public_key: report.reporter_public_key.clone(),
    }];
    reply_keys.extend(repo::keys_dto(&repo::report_keys(conn, report)?));
    let history = repo::history(conn, &report.id)?
        .into_iter()
        .map(|(action, status, actor_id, note, at)| HistoryEntry {
            action,
            status: Status::parse(&status).unwrap_or(Status::New),
            // What no staff member did (the submission, an escalation) is
            // told to the hour, like the report's own time.
            at: if actor_id.is_none() {
                repo::to_hour(at)
            } else {
                to_utc(at)
            },
            actor_id,
            note,
        })
        .collect();
    let close_request = match (
        &report.close_requested_by,
        &report.close_outcome,
        &report.close_note,
    ) {
        (Some(by), Some(outcome), Some(note)) => Some(CloseRequest {
            requested_by: by.clone(),
            outcome: Outcome::parse(outcome).unwrap_or(Outcome::Valid),
            note: note.clone(),
        }),
        _ => None,
    };
    Ok(ReportDetail {
        summary,
        outcome: report.outcome.as_deref().and_then(Outcome::parse),
        envelope: repo::parse_envelope(&report.envelope)?,
        messages,
        attachments,
        reply_keys,
        close_request,
        history,
    })
}

fn allowed_next(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (New, Acknowledged)
            | (New, Investigating)
            | (Acknowledged, Investigating)
            | (Investigating, ReferredToPolice)
            | (Investigating, Resolved)
            | (ReferredToPolice, Resolved)
    )
}

pub fn change_status(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<StatusChange>,
) -> AppResult<ReportSummary> {
    let report = repo::visible_report(conn, caller, id)?;
    let b = body?;
    let from = report.status();
    let note = b.note.as_ref().map(|n| n.as_str().to_string());
    if b.status == Status::Closed {
        if from == Status::Closed {
            return Err(ApiError::conflict(
                Code::AlreadyClosed,
                "the report is already closed",
            ));
        }
        let Some(note) = note else {
            return Err(ApiError::invalid("note", "closing needs a note"));
        };
        let Some(outcome) = b.outcome else {
            return Err(ApiError::invalid(
                "outcome",
                "closing needs an outcome: valid, false, misuse or duplicate",
            ));
        };
        repo::request_close(
            conn,
            &report.id,
            &caller.user_id,
            outcome.as_str(),
            &note,
            now,
        )?;
        event(
            conn,
            now,
            &report.id,
            Some(&caller.user_id),
            "close_requested",
            from,
            Some(&note),
        )?;
    } else if from == Status::Closed {
        if caller.role != Role::BureauOfficer {
            return Err(ApiError::forbidden(
                Code::ReopenBureauOnly,
                "only the district bureau can reopen a closed report",
            ));
        }
        if b.status == Status::New {
            return Err(ApiError::invalid(
                "status",
                "a reopened report is acknowledged or further",
            ));
        }
        set_status(conn, now, &report.id, b.status, None)?;
        event(
            conn,
            now,
            &report.id,
            Some(&caller.user_id),
            "reopened",
            b.status,
            note.as_deref(),
        )?;
    } else {
        if !allowed_next(from, b.status) {
            return Err(ApiError::conflict(
                Code::InvalidTransition,
                format!(
                    "a report cannot go from {} to {}",
                    from.as_str(),
                    b.status.as_str()
                ),
            )
            .with_field("status"));
        }
        set_status(conn, now, &report.id, b.status, None)?;
        event(
            conn,
            now,
            &report.id,
            Some(&caller.user_id),
            "status",
            b.status,
            note.as_deref(),
        )?;
    }
    // One's own change is not news to oneself.
    repo::mark_read(conn, &report.id, &caller.user_id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.status",
            "tip_report",
            Some(&report.id),
        )
        .in_school(Some(&report.school_id)),
    )?;
    let fresh = repo::visible_report(conn, caller, id)?;
    Ok(repo::summaries(conn, caller, &[fresh])?
        .pop()
        .expect("one row"))
}

fn set_status(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    id: &str,
    status: Status,
    outcome: Option<&str>,
) -> AppResult<()> {
    repo::set_status(conn, now, id, status.as_str(), outcome)?;
    Ok(())
}

pub fn confirm_close(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<ReportSummary> {
    let report = repo::visible_report(conn, caller, id)?;
    let (Some(by), Some(outcome), Some(note)) = (
        report.close_requested_by.clone(),
        report.close_outcome.clone(),
        report.close_note.clone(),
    ) else {
        return Err(ApiError::conflict(
            Code::NoCloseRequest,
            "no closure waits for confirmation",
        ));
    };
    if by == caller.user_id {
        return Err(ApiError::conflict(
            Code::SecondPersonRequired,
            "a second recipient or a bureau officer must confirm the closure",
        ));
    }
    set_status(conn, now, &report.id, Status::Closed, Some(&outcome))?;
    event(
        conn,
        now,
        &report.id,
        Some(&caller.user_id),
        "closed",
        Status::Closed,
        Some(&note),
    )?;
    repo::mark_read(conn, &report.id, &caller.user_id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.close_confirm",
            "tip_report",
            Some(&report.id),
        )
        .in_school(Some(&report.school_id)),
    )?;
    let fresh = repo::visible_report(conn, caller, id)?;
    Ok(repo::summaries(conn, caller, &[fresh])?
        .pop()
        .expect("one row"))
}

/// Appends a wrap to the report's or one of its messages' envelope; false
/// when that key already has one there.
/// Wraps one recipient key may hold for one report or message.
pub const WRAPS_PER_KEY: usize = 8;

pub fn append_wrap(
    conn: &mut AnyConnection,
    report: &ReportRow,
    object_id: &str,
    wrap: KeyWrap,
) -> AppResult<bool> {
    let is_report = object_id == report.id;
    let text: String = if is_report {
        report.envelope.clone()
    } else {
        repo::message_envelope(conn, &report.id, object_id)?.ok_or_else(|| {
            ApiError::invalid("wraps.object_id", "not this report or one of its messages")
        })?
    };
    let mut env = repo::parse_envelope(&text)?;
    // The server cannot tell a right wrap from a wrong one, so a wrap already
    // there for this key does not keep another out (clients try each); only
    // the same wrap twice is dropped, and each key holds a bounded number.
    if env
        .keys
        .iter()
        .any(|k| k.key_id == wrap.key_id && k.enc == wrap.enc && k.ct == wrap.ct)
    {
        return Ok(false);
    }
    if env.keys.iter().filter(|k| k.key_id == wrap.key_id).count() >= WRAPS_PER_KEY {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Code::TooManyWraps,
            format!("a key holds at most {WRAPS_PER_KEY} wraps of one object"),
        )
        .with_field("wraps"));
    }
    env.keys.push(wrap);
    let text = repo::envelope_text(&env);
    if is_report {
        repo::set_report_envelope(conn, &report.id, &text)?;
    } else {
        repo::set_message_envelope(conn, object_id, &text)?;
    }
    Ok(true)
}

/// A reader's reply, sealed to the reporter and every recipient.
pub fn staff_reply(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<StaffReply>,
) -> AppResult<MessageCreated> {
    let report = repo::visible_report(conn, caller, id)?;
    let env = body?.envelope;
    let keys = repo::report_keys(conn, &report)?;
    repo::check_envelope(
        &env,
        &keys,
        ReporterKey::Required,
        true,
        MAX_CONTENT_CIPHERTEXT,
    )?;
    let msg_id = repo::insert_message(
        conn,
        &report.id,
        Sender::School,
        Some(&caller.user_id),
        false,
        &env,
        now,
    )?;
    repo::mark_read(conn, &report.id, &caller.user_id, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.reply",
            "tip_report",
            Some(&report.id),
        )
        .in_school(Some(&report.school_id)),
    )?;
    Ok(MessageCreated {
        id: msg_id,
        sent_on: now.date(),
    })
}
