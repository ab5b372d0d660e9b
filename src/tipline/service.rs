//! The tip line's use cases that span tables: submission, follow-up by
//! receipt, status changes with two-person closing, and deadlines.

use super::dto::*;
use super::pow;
use super::receipt::Receipt;
use super::repo::{self, ReportRow, ReporterKey};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::crypto::envelope::{self, Envelope, KeyWrap};
use crate::crypto::{b64u, b64u_decode, hpke};
use crate::db::schema::{
    districts, schools, tip_messages as tm, tip_receipt_failures as rf, tip_report_events as te,
    tip_reports as tr,
};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category as NotifyCategory, Template};
use crate::state::AppState;
use actix_web::http::StatusCode;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

const MAX_REPORT_CIPHERTEXT: usize = 256 * 1024;

pub fn suite_info() -> SuiteInfo {
    SuiteInfo {
        name: hpke::SUITE,
        mode: 0,
        kem_id: 0x0020,
        kdf_id: 0x0001,
        aead_id: 0x0003,
        content_key_info: "safecampus/v1/content-key",
        reporter_key_salt: "safecampus/v1/reporter-key",
        padding_bucket: envelope::PAD_BUCKET,
    }
}

/// (school id, district id, school name, the district's crisis line).
pub fn school_by_code(
    conn: &mut AnyConnection,
    code: &str,
) -> AppResult<(String, String, String, String)> {
    schools::table
        .inner_join(districts::table)
        .filter(schools::code.eq(code))
        .select((
            schools::id,
            schools::district_id,
            schools::name,
            districts::crisis_line,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found("mailbox"))
}

pub fn event(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report_id: &str,
    actor: Option<&str>,
    action: &str,
    status: Status,
    note: Option<&str>,
) -> AppResult<()> {
    diesel::insert_into(te::table)
        .values((
            te::id.eq(new_id(now)),
            te::report_id.eq(report_id),
            te::actor_id.eq(actor),
            te::action.eq(action),
            te::status.eq(status.as_str()),
            te::note.eq(note),
            te::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

fn notify_data(conn: &mut AnyConnection, report: &ReportRow) -> AppResult<serde_json::Value> {
    let school: String = schools::table
        .find(&report.school_id)
        .select(schools::name)
        .first(conn)?;
    Ok(serde_json::json!({
        "school": school,
        "category": report.category,
        "urgency": report.urgency,
        "report_id": report.id,
    }))
}

/// Who is told about a report: the bureau, and the school's recipients
/// unless the report concerns staff.
fn notify_readers(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
    template: Template,
) -> AppResult<()> {
    let readers = repo::readers(conn, report)?;
    let data = notify_data(conn, report)?;
    notify::send(conn, now, &readers, template, data, NotifyCategory::Tipline)
}

/// A new report's receipt with what is stored of it, made before the
/// write: the key derivation and the MAC need no database.
pub struct NewReceipt {
    pub receipt: Receipt,
    mac: String,
    reporter_public_key: String,
}

impl NewReceipt {
    pub fn generate(pepper: &[u8]) -> NewReceipt {
        let receipt = Receipt::generate();
        NewReceipt {
            mac: receipt.mac(pepper),
            reporter_public_key: b64u(&hpke::public_key_bytes(&receipt.reporter_public_key())),
            receipt,
        }
    }
}

pub fn submit(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    made: NewReceipt,
    b: NewReport,
) -> AppResult<Receipt> {
    let (school_id, district_id, _, _) = school_by_code(conn, b.school_code.as_str())?;
    let (all, district) = repo::mailbox_keys(conn, &school_id, &district_id)?;
    // The district must always be able to read a report: without a bureau
    // key the mailbox is not ready, whatever the school has registered.
    if district.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::MailboxNotReady,
            "this mailbox has no district recipient key yet; call the crisis line if someone is in danger",
        ));
    }
    let required = if b.concerns_staff { district } else { all };
    let envelope = match (b.envelope, b.plaintext) {
        (Some(env), None) => {
            repo::check_envelope(
                &env,
                &required,
                ReporterKey::Forbidden,
                true,
                MAX_REPORT_CIPHERTEXT,
            )?;
            env
        }
        (None, Some(plain)) => seal_plain(&required, plain.text.as_str())?,
        _ => {
            return Err(ApiError::invalid(
                "envelope",
                "send exactly one of envelope and plaintext",
            ))
        }
    };
    pow::spend(conn, now, b.pow.as_ref())?;
    let NewReceipt {
        receipt,
        mac,
        reporter_public_key,
    } = made;
    let report = ReportRow {
        id: repo::anonymous_id(now),
        district_id,
        school_id,
        category: b.category.as_str().to_string(),
        urgency: b.urgency.as_str().to_string(),
        concerns_staff: b.concerns_staff,
        status: Status::New.as_str().to_string(),
        reporter_public_key,
        envelope: repo::envelope_text(&envelope),
        created_at: now,
        last_activity_at: now,
        escalated_at: None,
        outcome: None,
        close_requested_by: None,
        close_outcome: None,
        close_note: None,
    };
    diesel::insert_into(tr::table)
        .values((
            tr::id.eq(&report.id),
            tr::district_id.eq(&report.district_id),
            tr::school_id.eq(&report.school_id),
            tr::category.eq(&report.category),
            tr::urgency.eq(&report.urgency),
            tr::concerns_staff.eq(report.concerns_staff),
            tr::status.eq(&report.status),
            tr::receipt_mac.eq(mac),
            tr::reporter_public_key.eq(&report.reporter_public_key),
            tr::envelope.eq(&report.envelope),
            tr::created_at.eq(now),
            tr::last_activity_at.eq(now),
        ))
        .execute(conn)?;
    event(conn, now, &report.id, None, "submitted", Status::New, None)?;
    audit::record(
        conn,
        now,
        AuditEvent::system("tipline.report.submit", "tip_report", Some(&report.id))
            .in_school(Some(&report.school_id)),
    )?;
    notify_readers(conn, now, &report, Template::TiplineNewReport)?;
    Ok(receipt)
}

/// The report a receipt opens. A wrong receipt is a plain 404, and counts
/// toward a global pause on follow-up (no per-sender tracking).
pub async fn report_by_receipt(state: &AppState, receipt: &str) -> AppResult<ReportRow> {
    let now = state.now_db();
    let limit = state.settings.tipline.receipt_failures_per_minute;
    let mac = Receipt::parse(receipt).map(|r| r.mac(&state.settings.receipt_pepper));
    let found = state
        .db
        .write(move |conn| {
            // The lookup is by an HMAC over a fixed-length value, the same
            // work for a right and a wrong receipt. A right receipt always
            // gets through: a flood of wrong ones must not lock reporters out.
            let mac = mac.unwrap_or_else(|| "0".repeat(64));
            let row = tr::table
                .filter(tr::receipt_mac.eq(&mac))
                .select(ReportRow::as_select())
                .first(conn)
                .optional()?;
            if row.is_none() {
                let recent: i64 = rf::table
                    .filter(rf::at.gt(now - Duration::minutes(1)))
                    .count()
                    .get_result(conn)?;
                if recent >= limit {
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        Code::ReceiptThrottled,
                        "too many wrong receipts were tried; wait a minute and try again",
                    )
                    .with_retry_after(60));
                }
                diesel::insert_into(rf::table)
                    .values((rf::id.eq(new_id(now)), rf::at.eq(now)))
                    .execute(conn)?;
            }
            Ok(row)
        })
        .await?;
    found.ok_or_else(|| ApiError::not_found("report"))
}

pub fn followup(
    conn: &mut AnyConnection,
    report: &ReportRow,
    open_with: Option<&Receipt>,
) -> AppResult<Followup> {
    let sk = open_with.map(Receipt::reporter_private_key);
    let crisis_line: String = districts::table
        .find(&report.district_id)
        .select(districts::crisis_line)
        .first(conn)?;
    let mut messages = Vec::new();
    let mut attachments = Vec::new();
    for m in repo::messages(conn, &report.id)? {
        let env = repo::parse_envelope(&m.envelope)?;
        let from = Sender::parse(&m.sender).unwrap_or(Sender::School);
        let plaintext = match (&sk, from, m.is_attachment) {
            (Some(sk), Sender::School, false) => env.open(sk).ok().map(|bytes| {
                serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    serde_json::Value::String(
                        String::from_utf8_lossy(&bytes).trim_end().to_string(),
                    )
                })
            }),
            _ => None,
        };
        let item = FollowupMessage {
            id: m.id,
            seq: m.seq,
            from,
            envelope: env,
            sent_on: m.created_at.date(),
            plaintext,
        };
        if m.is_attachment {
            attachments.push(item);
        } else {
            messages.push(item);
        }
    }
    Ok(Followup {
        status: report.status().progress(),
        created_on: report.created_at.date(),
        messages,
        attachments,
        crisis_line,
    })
}

/// Seals a plain text (from a client that cannot seal) to the given keys.
fn seal_plain(keys: &[repo::KeyHolder], text: &str) -> AppResult<Envelope> {
    let mut recipients = Vec::with_capacity(keys.len());
    for k in keys {
        let pk = b64u_decode(&k.public_key)
            .and_then(|b| hpke::public_key_from_bytes(&b).ok())
            .ok_or_else(|| ApiError::internal("a stored recipient key is invalid"))?;
        recipients.push((k.key_id.clone(), pk));
    }
    let padded = envelope::padded_json(&serde_json::json!({ "text": text }));
    envelope::seal(&recipients, &padded).map_err(|_| {
        ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            Code::MailboxNotReady,
            "a recipient key of this mailbox cannot be sealed to; call the crisis line if someone is in danger",
        )
    })
}

/// The envelope of a reporter's message: theirs, or sealed now from plain text.
pub fn reporter_envelope(
    conn: &mut AnyConnection,
    report: &ReportRow,
    envelope: Option<Envelope>,
    plaintext: Option<PlainReport>,
) -> AppResult<Envelope> {
    match (envelope, plaintext) {
        (Some(env), None) => Ok(env),
        (None, Some(plain)) => seal_plain(&repo::report_keys(conn, report)?, plain.text.as_str()),
        _ => Err(ApiError::invalid(
            "envelope",
            "send exactly one of envelope and plaintext",
        )),
    }
}

/// Messages and attachments a reporter may add to one report in an hour.
pub const REPORTER_MESSAGES_PER_HOUR: i64 = 12;

pub fn reporter_adds(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    report: &ReportRow,
    env: &Envelope,
    attachment: bool,
) -> AppResult<MessageCreated> {
    // Each message alerts every reader: a flood from one receipt (or one
    // stolen receipt) must not page a school all night. Concurrent messages
    // to one report queue on its row so the count holds.
    repo::lock_report(conn, &report.id)?;
    let recent: i64 = tm::table
        .filter(tm::report_id.eq(&report.id))
        .filter(tm::author_id.is_null())
        .filter(tm::created_at.gt(now - Duration::hours(1)))
        .count()
        .get_result(conn)?;
    if recent >= REPORTER_MESSAGES_PER_HOUR {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::ReportMessagesThrottled,
            "this report has had many messages in the last hour; wait a while and send again",
        )
        .with_retry_after(600));
    }
    let keys = repo::report_keys(conn, report)?;
    if attachment {
        let count: i64 = tm::table
            .filter(tm::report_id.eq(&report.id))
            .filter(tm::is_attachment.eq(true))
            .count()
            .get_result(conn)?;
        if count >= super::handlers::ATTACHMENTS_PER_REPORT {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::TooManyAttachments,
                format!(
                    "a report holds at most {} attachments",
                    super::handlers::ATTACHMENTS_PER_REPORT
                ),
            )
            .with_field("envelope"));
        }
        let max = super::handlers::ATTACHMENT_MAX_BYTES + hpke::TAG_LEN;
        repo::check_envelope(env, &keys, ReporterKey::Allowed, false, max).map_err(|mut e| {
            if e.code == Code::ContentTooLarge {
                e.code = Code::AttachmentTooLarge;
                e.detail = "an attachment must be at most 10 MiB".into();
            }
            e
        })?;
    } else {
        repo::check_envelope(
            env,
            &keys,
            ReporterKey::Allowed,
            true,
            MAX_REPORT_CIPHERTEXT,
        )?;
    }
    let id = repo::insert_message(
        conn,
        &report.id,
        Sender::Reporter,
        None,
        attachment,
        env,
        now,
    )?;
    notify_readers(conn, now, report, Template::TiplineReporterMessage)?;
    Ok(MessageCreated {
        id,
        sent_on: now.date(),
    })
}

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
    let history = te::table
        .filter(te::report_id.eq(&report.id))
        .order((te::created_at, te::id))
        .select((
            te::action,
            te::status,
            te::actor_id,
            te::note,
            te::created_at,
        ))
        .load::<(
            String,
            String,
            Option<String>,
            Option<String>,
            NaiveDateTime,
        )>(conn)?
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
    b: StatusChange,
) -> AppResult<ReportSummary> {
    let report = repo::visible_report(conn, caller, id)?;
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
        diesel::update(tr::table.find(&report.id))
            .set((
                tr::close_requested_by.eq(&caller.user_id),
                tr::close_outcome.eq(outcome.as_str()),
                tr::close_note.eq(&note),
                tr::last_activity_at.eq(now),
            ))
            .execute(conn)?;
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
    diesel::update(tr::table.find(id))
        .set((
            tr::status.eq(status.as_str()),
            tr::outcome.eq(outcome),
            tr::close_requested_by.eq(None::<String>),
            tr::close_outcome.eq(None::<String>),
            tr::close_note.eq(None::<String>),
            tr::last_activity_at.eq(now),
        ))
        .execute(conn)?;
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
        tm::table
            .filter(tm::id.eq(object_id))
            .filter(tm::report_id.eq(&report.id))
            .select(tm::envelope)
            .first(conn)
            .optional()?
            .ok_or_else(|| {
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
        diesel::update(tr::table.find(&report.id))
            .set(tr::envelope.eq(text))
            .execute(conn)?;
    } else {
        diesel::update(tm::table.find(object_id))
            .set(tm::envelope.eq(text))
            .execute(conn)?;
    }
    Ok(true)
}

/// Escalates reports still `new` past their deadline: the bureau and the
/// school's recipients are told (the bureau only for a report about staff).
/// Each report escalates once; safe when several instances run it.
pub fn run_deadline_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    let t = state.settings.tipline.clone();
    state.db.write_blocking(|conn| {
        pow::purge_expired(conn, now)?;
        diesel::delete(rf::table.filter(rf::at.lt(now - Duration::hours(1)))).execute(conn)?;
        let urgent_before = now - Duration::minutes(t.urgent_deadline_mins);
        let normal_before = now - Duration::minutes(t.normal_deadline_mins);
        let due: Vec<ReportRow> = tr::table
            .filter(tr::status.eq(Status::New.as_str()))
            .filter(tr::escalated_at.is_null())
            .filter(
                tr::urgency
                    .eq(Urgency::Normal.as_str())
                    .and(tr::created_at.lt(normal_before))
                    .or(tr::urgency
                        .ne(Urgency::Normal.as_str())
                        .and(tr::created_at.lt(urgent_before))),
            )
            .select(ReportRow::as_select())
            .load(conn)?;
        let mut escalated = 0;
        for report in due {
            let won = diesel::update(
                tr::table
                    .find(&report.id)
                    .filter(tr::escalated_at.is_null()),
            )
            .set(tr::escalated_at.eq(now))
            .execute(conn)?;
            if won != 1 {
                continue;
            }
            notify_readers(conn, now, &report, Template::TiplineOverdue)?;
            event(conn, now, &report.id, None, "escalated", Status::New, None)?;
            audit::record(
                conn,
                now,
                AuditEvent::system("tipline.report.escalate", "tip_report", Some(&report.id))
                    .in_school(Some(&report.school_id)),
            )?;
            escalated += 1;
        }
        Ok(escalated)
    })
}
