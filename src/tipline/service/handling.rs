//! What readers do with a report: read it, reply, move its status along
//! (two-person closing), and add wraps.

use super::*;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::config::TiplineSettings;
use crate::crypto::envelope::{self, KeyWrap};
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::tipline::dto::*;
use crate::tipline::repo::{self, ReportRow, ReporterKey};
use crate::tipline::rules;
use actix_web::http::StatusCode;
use chrono::NaiveDateTime;

pub fn detail(
    conn: &mut AnyConnection,
    caller: &Caller,
    report: &ReportRow,
) -> AppResult<WithBlobs<ReportDetail>> {
    let summary = repo::summaries(conn, caller, std::slice::from_ref(report))?
        .pop()
        .expect("one summary per row");
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    let mut blobs = BlobFills::of(conn, &report.id)?;
    for m in repo::messages(conn, &report.id, false)? {
        let item = StaffMessage {
            id: m.id,
            seq: m.seq,
            from: Sender::parse(&m.sender).unwrap_or(Sender::School),
            author_id: m.author_id,
            envelope: repo::parse_envelope(&m.envelope)?,
            sent_hour: repo::to_hour(m.created_at),
        };
        if m.is_attachment {
            blobs.note(&item.id, attachments.len());
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
    let history = history(conn, report)?;
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
    Ok(blobs.into_view(ReportDetail {
        summary,
        school_code: repo::school_code(conn, &report.school_id)?,
        protocol: repo::protocol_of(conn, &report.id)?.0,
        outcome: report.outcome.as_deref().and_then(Outcome::parse),
        envelope: repo::parse_envelope(&report.envelope)?,
        messages,
        attachments,
        reply_keys,
        close_request,
        history,
        cases: crate::concerns::service::cases_from(conn, "tip_report", &report.id)?,
    }))
}

/// Refuses an account made less than a week ago: it approves and confirms
/// nothing on the tip line (a disabled account has no session at all).
pub fn require_established(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
) -> AppResult<()> {
    if rules::established(repo::user_created_at(conn, &caller.user_id)?, now) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            Code::AccountTooNew,
            format!(
                "an account younger than {} days cannot approve or confirm anything on the tip line",
                rules::NEW_ACCOUNT_DAYS
            ),
        ))
    }
}

/// The deadline of `status` entered at `now` for this report's school.
fn due_for(
    conn: &mut AnyConnection,
    settings: &TiplineSettings,
    report: &ReportRow,
    status: Status,
    now: NaiveDateTime,
) -> AppResult<Option<NaiveDateTime>> {
    let tz = repo::school_timezone(conn, &report.school_id)?;
    Ok(rules::due_after(
        status,
        now,
        settings.investigation_school_days,
        settings.progress_note_days,
        &tz,
    ))
}

/// Moves a report along, notes progress, proposes a close, or (the bureau)
/// reopens one. Only the bureau confirms a close (`confirm_close`).
pub fn change_status(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    settings: &TiplineSettings,
    caller: &Caller,
    id: &str,
    body: AppResult<StatusChange>,
) -> AppResult<ReportSummary> {
    let report = repo::visible_report(conn, caller, id)?;
    let b = body?;
    let from = report.status();
    let note = b.note.as_ref().map(|n| n.as_str().to_string());
    let action = if b.status == Status::Closed {
        if from == Status::Closed {
            return Err(ApiError::conflict(
                Code::AlreadyClosed,
                "the report is already closed",
            ));
        }
        if !rules::may_propose_close(from) {
            return Err(ApiError::conflict(
                Code::InvalidTransition,
                "a new report cannot be closed: acknowledge it and look into it first",
            )
            .with_field("status"));
        }
        let Some(note) = note.clone() else {
            return Err(ApiError::invalid("note", "closing needs a note"));
        };
        let Some(outcome) = b.outcome else {
            return Err(ApiError::invalid(
                "outcome",
                "closing needs an outcome: valid, false, misuse or duplicate",
            ));
        };
        require_established(conn, now, caller)?;
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
        "close_requested"
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
        let due = due_for(conn, settings, &report, b.status, now)?;
        repo::set_status(conn, now, &report.id, b.status.as_str(), None, due)?;
        event(
            conn,
            now,
            &report.id,
            Some(&caller.user_id),
            "reopened",
            b.status,
            note.as_deref(),
        )?;
        "reopened"
    } else if rules::is_progress_note(from, b.status) {
        if note.is_none() {
            return Err(ApiError::invalid("note", "a progress note needs a note"));
        }
        let due = due_for(conn, settings, &report, from, now)?;
        repo::set_due(conn, now, &report.id, due)?;
        event(
            conn,
            now,
            &report.id,
            Some(&caller.user_id),
            "progress",
            from,
            note.as_deref(),
        )?;
        "progress"
    } else {
        if !rules::allowed_next(from, b.status) {
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
        let due = due_for(conn, settings, &report, b.status, now)?;
        repo::set_status(conn, now, &report.id, b.status.as_str(), None, due)?;
        event(
            conn,
            now,
            &report.id,
            Some(&caller.user_id),
            "status",
            b.status,
            note.as_deref(),
        )?;
        "status"
    };
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
    tell_bureau(conn, now, caller, &fresh, action)?;
    Ok(repo::summaries(conn, caller, &[fresh])?
        .pop()
        .expect("one row"))
}

/// Every step of every report reaches the bureau's feed (not the one who
/// took it): the district sees a report being buried as it happens.
fn tell_bureau(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    report: &ReportRow,
    action: &str,
) -> AppResult<()> {
    let officers: Vec<String> = repo::bureau_officer_ids(conn, &report.district_id)?
        .into_iter()
        .filter(|u| *u != caller.user_id)
        .collect();
    let mut data = notify_data(conn, report)?;
    data["status"] = serde_json::json!(report.status);
    data["action"] = serde_json::json!(action);
    notify::send(
        conn,
        now,
        &officers,
        Template::TiplineStatusChanged,
        data,
        NotifyCategory::Tipline,
    )
}

/// The bureau closes a report a reader proposed to close: never the one
/// who proposed it, never an account younger than a week.
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
    // A request left from before the rule on a report still `new`.
    if !rules::may_propose_close(report.status()) {
        return Err(ApiError::conflict(
            Code::InvalidTransition,
            "a new report cannot be closed: acknowledge it and look into it first",
        ));
    }
    if by == caller.user_id {
        return Err(ApiError::conflict(
            Code::SecondPersonRequired,
            "another bureau officer must confirm a closure you proposed",
        ));
    }
    require_established(conn, now, caller)?;
    repo::set_status(
        conn,
        now,
        &report.id,
        Status::Closed.as_str(),
        Some(&outcome),
        None,
    )?;
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
    tell_bureau(conn, now, caller, &fresh, "closed")?;
    Ok(repo::summaries(conn, caller, &[fresh])?
        .pop()
        .expect("one row"))
}

/// The bureau's late classification: the report concerns staff (school
/// readers lose it), or one named reader is concerned (they lose it). From
/// then on, messages are sealed only to those who still read it, and a
/// close proposed by someone who lost the report is dropped.
pub fn classify(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<Classification>,
) -> AppResult<ReportSummary> {
    let report = repo::visible_report(conn, caller, id)?;
    let b = body?;
    if !b.concerns_staff && report.concerns_staff {
        return Err(ApiError::invalid(
            "concerns_staff",
            "a report found to concern staff stays with the district; share it with named readers instead",
        ));
    }
    if !b.concerns_staff && b.concerned_user_id.is_none() {
        return Err(ApiError::invalid(
            "concerned_user_id",
            "mark the report as concerning staff, or name the reader it concerns",
        ));
    }
    repo::lock_report(conn, &report.id)?;
    if let Some(user) = &b.concerned_user_id {
        if !repo::may_be_shared_with(conn, user, &report.school_id)? {
            return Err(ApiError::invalid(
                "concerned_user_id",
                "name a school admin or counsellor of the report's school",
            ));
        }
        repo::add_access(conn, &report.id, user, repo::CONCERNED, now)?;
    }
    if b.concerns_staff && !report.concerns_staff {
        repo::mark_concerns_staff(conn, now, &report.id)?;
    }
    let fresh = repo::visible_report(conn, caller, id)?;
    if let Some(by) = &fresh.close_requested_by {
        if !repo::readers(conn, &fresh)?.contains(by) {
            repo::clear_close_request(conn, &fresh.id)?;
        }
    }
    event(
        conn,
        now,
        &report.id,
        Some(&caller.user_id),
        "classified",
        report.status(),
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "tipline.report.classify",
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

/// Every step of a report, with who took it and when.
pub fn history(conn: &mut AnyConnection, report: &ReportRow) -> AppResult<Vec<HistoryEntry>> {
    Ok(repo::history(conn, &report.id)?
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
        .collect())
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
    check_binding(conn, &report, &env, Sender::School, false)?;
    let msg_id = repo::insert_message(
        conn,
        &report.id,
        Sender::School,
        Some(&caller.user_id),
        false,
        &repo::envelope_text(&env),
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
