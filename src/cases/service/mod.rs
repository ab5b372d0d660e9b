//! Cases' use cases: opening (who may, who handles, who is told), the
//! views, and the reads that need a reason. What is recorded on a case is in
//! `record`, closing in `closing`, the timers and statistics in `oversight`.
//! The rules are pure functions in `rules`; statements are in `repo`.

mod closing;
mod oversight;
mod record;
mod safeguarding;

pub use closing::{confirm_close, propose_close};
pub use oversight::{run_timer_worker, summary};
pub use record::{acknowledge, add_entry, add_measure, add_support, record_police_report};
pub use safeguarding::{chronology, triage_concern};

use super::dto::*;
use super::model::{CaseRow, EntryRow};
use super::repo;
use super::rules::{self, Deadlines, OpenRefusal};
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::clock::to_utc;
use crate::concerns;
use crate::config::CaseSettings;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use crate::{pickup, tipline};
use actix_web::http::StatusCode;
use chrono::{Datelike, Duration, NaiveDateTime};
use std::collections::{BTreeSet, HashMap};

pub(super) fn not_found() -> ApiError {
    ApiError::not_found("no such case")
}

/// A case the caller may see, or 404.
pub(super) fn visible(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<CaseRow> {
    repo::visible(conn, caller, id)?.ok_or_else(not_found)
}

/// Appends a line to a case's history.
pub(super) fn append(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    case_id: &str,
    kind: EntryKind,
    author: Option<&str>,
    body: String,
    corrects: Option<String>,
) -> AppResult<()> {
    let seq = repo::next_seq(conn, case_id)?;
    repo::insert_entry(
        conn,
        &EntryRow {
            id: new_id(now),
            case_id: case_id.to_string(),
            seq,
            kind: kind.as_str().to_string(),
            author_id: author.map(str::to_string),
            body,
            corrects,
            created_at: now,
        },
    )
}

/// What alerts about a case carry: its number and school, never a pupil.
pub(super) fn alert_data(conn: &mut AnyConnection, row: &CaseRow) -> AppResult<serde_json::Value> {
    let school = repo::school_name(conn, &row.district_id, &row.school_id)?.unwrap_or_default();
    Ok(serde_json::json!({"case_id": row.id, "number": row.number, "school": school}))
}

/// Everyone told of a case: its handlers and the bureau, never the suspect.
pub(super) fn told(conn: &mut AnyConnection, row: &CaseRow) -> AppResult<Vec<String>> {
    let mut to: BTreeSet<String> = repo::handlers_of(conn, row)?.into_iter().collect();
    to.extend(repo::bureau(conn, &row.district_id)?);
    if let Some(s) = &row.suspect_user_id {
        to.remove(s);
    }
    Ok(to.into_iter().collect())
}

/// Opens a case: the bureau sees it at once and is told, with its handlers.
pub fn open(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    settings: &CaseSettings,
    body: AppResult<NewCase>,
) -> AppResult<CaseDetail> {
    let b = body?;
    let opening = Opening {
        school_id: b.school_id.into_string(),
        student_ids: b.student_ids.into_iter().map(|s| s.into_string()).collect(),
        category: b.category,
        source_kind: b.source.kind,
        source_ref: b.source.ref_id.map(|r| r.into_string()),
        summary: b.summary.into_string(),
        suspect: b.suspect,
    };
    open_case(conn, now, caller, settings, opening)
}

/// What a case is opened with, from the route or from a concern's triage.
pub(super) struct Opening {
    pub school_id: String,
    pub student_ids: Vec<String>,
    pub category: CaseCategory,
    pub source_kind: SourceKind,
    pub source_ref: Option<String>,
    pub summary: String,
    pub suspect: NewSuspect,
}

/// The source a case names must be of its school (404): a concern, a
/// tip-line report or a handover. An observation names none.
fn check_source(
    conn: &mut AnyConnection,
    school_id: &str,
    kind: SourceKind,
    ref_id: Option<&str>,
) -> AppResult<()> {
    let Some(r) = ref_id else {
        return Ok(());
    };
    let found = match kind {
        SourceKind::Observation => {
            return Err(ApiError::invalid(
                "source.ref_id",
                "an observation names no source record",
            ))
        }
        SourceKind::Concern => {
            concerns::service::source_pupils(conn, school_id, r)?;
            true
        }
        SourceKind::TipReport => {
            tipline::repo::report_school(conn, r)?.as_deref() == Some(school_id)
        }
        SourceKind::Handover => pickup::repo::handover_pupil(conn, school_id, r)?.is_some(),
    };
    if found {
        Ok(())
    } else {
        Err(ApiError::not_found("no such source record at the school").with_field("source.ref_id"))
    }
}

pub(super) fn open_case(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    settings: &CaseSettings,
    b: Opening,
) -> AppResult<CaseDetail> {
    let school_id = b.school_id;
    repo::school_name(conn, &caller.district_id, &school_id)?
        .ok_or_else(|| ApiError::not_found("no such school"))?;
    let ids: Vec<String> = b
        .student_ids
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() || ids.len() > 20 {
        return Err(ApiError::invalid("student_ids", "one to 20 pupils"));
    }
    let pupils = concerns::service::pupils_of_school(conn, &school_id, &ids)?;
    if pupils.len() != ids.len() {
        return Err(ApiError::invalid(
            "student_ids",
            "every pupil must be of the school",
        ));
    }
    let heads: Vec<String> = pupils.iter().filter_map(|(_, h)| h.clone()).collect();
    let heads_every = pupils
        .iter()
        .all(|(_, h)| h.as_deref() == Some(caller.user_id.as_str()));
    let own = caller.school_id.as_deref() == Some(school_id.as_str());
    match rules::may_open(caller.role, own, heads_every, b.source_kind, b.suspect.kind) {
        Ok(()) => {}
        Err(OpenRefusal::NotTheirSchool) => return Err(ApiError::not_found("no such school")),
        Err(OpenRefusal::NotHeadTeacher) => {
            return Err(ApiError::forbidden(Code::NotHeadTeacher, "a teacher opens cases for the pupils of their own class; tell the principal or a counsellor"))
        }
        Err(OpenRefusal::BureauOnly) => {
            return Err(ApiError::forbidden(Code::CaseBureauOnly, "a tip-line report about staff opens a case only from the bureau"))
        }
    }
    check_source(conn, &school_id, b.source_kind, b.source_ref.as_deref())?;
    let suspect_kind = b.suspect.kind;
    let (suspect_user, suspect_personnel) = suspect_of(conn, caller, b.suspect)?;
    let year = now.year();
    let number = rules::case_number(
        year,
        repo::numbers_with(conn, &caller.district_id, &format!("C-{year}-"))? + 1,
    );
    let mandatory = rules::is_mandatory(b.category);
    let row = CaseRow {
        id: new_id(now),
        district_id: caller.district_id.clone(),
        school_id: school_id.clone(),
        number,
        category: b.category.as_str().to_string(),
        mandatory,
        status: CaseStatus::Open.as_str().to_string(),
        source_kind: b.source_kind.as_str().to_string(),
        source_ref: b.source_ref,
        summary: b.summary,
        suspect_kind: suspect_kind.as_str().to_string(),
        suspect_user_id: suspect_user,
        suspect_personnel_id: suspect_personnel,
        opened_by: caller.user_id.clone(),
        opened_at: now,
        police_due_at: mandatory.then(|| now + Duration::minutes(settings.police_alert_minutes)),
        police_reported_at: None,
        ack_due_at: now + Duration::hours(settings.ack_hours),
        acknowledged_at: None,
        acknowledged_by: None,
        outcome: None,
        close_proposed_by: None,
        close_proposed_at: None,
        closed_by: None,
        closed_at: None,
    };
    // Named on the case: who opened it and the pupils' head teachers. The
    // school's designated handlers handle it through their designation.
    let mut handlers: BTreeSet<String> = heads.into_iter().collect();
    handlers.insert(caller.user_id.clone());
    if let Some(s) = &row.suspect_user_id {
        handlers.remove(s);
    }
    let handlers: Vec<String> = handlers.into_iter().collect();
    repo::insert_case(conn, &row, &ids, &handlers)?;
    if let (SourceKind::Concern, Some(concern)) = (b.source_kind, &row.source_ref) {
        concerns::service::link_case(conn, concern, &row.id)?;
    }
    append(
        conn,
        now,
        &row.id,
        EntryKind::Opened,
        Some(&caller.user_id),
        row.summary.clone(),
        None,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "case.opened", "case", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    let to = told(conn, &row)?;
    let data = alert_data(conn, &row)?;
    notify::send(conn, now, &to, Template::CaseOpened, data, Category::Urgent)?;
    detail_of(conn, now, row)
}

/// The suspect's account and personnel record, checked to be the district's.
fn suspect_of(
    conn: &mut AnyConnection,
    caller: &Caller,
    s: NewSuspect,
) -> AppResult<(Option<String>, Option<String>)> {
    let mut user = s.user_id.map(|u| u.into_string());
    let personnel = s.personnel_id.map(|p| p.into_string());
    if let Some(u) = &user {
        if !repo::user_in_district(conn, &caller.district_id, u)? {
            return Err(ApiError::invalid(
                "suspect.user_id",
                "no such account in the district",
            ));
        }
    }
    if let Some(p) = &personnel {
        let account =
            repo::personnel_in_district(conn, &caller.district_id, p)?.ok_or_else(|| {
                ApiError::invalid(
                    "suspect.personnel_id",
                    "no such personnel record in the district",
                )
            })?;
        user = user.or(account);
    }
    Ok((user, personnel))
}

pub(super) fn item_of(row: &CaseRow, school_name: String, now: NaiveDateTime) -> CaseItem {
    let status = CaseStatus::parse(&row.status).unwrap_or(CaseStatus::Open);
    let overdue = rules::overdue(
        &Deadlines {
            police_due_at: row.police_due_at,
            police_reported: row.police_reported_at.is_some(),
            ack_due_at: row.ack_due_at,
            acknowledged: row.acknowledged_at.is_some(),
            closed: status == CaseStatus::Closed,
        },
        now,
    );
    CaseItem {
        id: row.id.clone(),
        number: row.number.clone(),
        school_id: row.school_id.clone(),
        school_name,
        category: CaseCategory::parse(&row.category).unwrap_or(CaseCategory::OtherViolence),
        mandatory: row.mandatory,
        status,
        opened_at: to_utc(row.opened_at),
        police_report_due_at: row.police_due_at.map(to_utc),
        police_reported_at: row.police_reported_at.map(to_utc),
        acknowledgement_due_at: to_utc(row.ack_due_at),
        acknowledged_at: row.acknowledged_at.map(to_utc),
        overdue,
        outcome: row.outcome.as_deref().and_then(Outcome::parse),
        closed_at: row.closed_at.map(to_utc),
    }
}

/// The cases the caller handles (the bureau: the district's), newest first.
pub fn list(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    q: CaseQuery,
) -> AppResult<CaseList> {
    let rows = repo::list(conn, caller, q.status.map(|s| s.as_str()))?;
    let schools: Vec<String> = rows.iter().map(|r| r.school_id.clone()).collect();
    let names: HashMap<String, String> = repo::school_names(conn, &schools)?;
    let items = rows
        .iter()
        .map(|r| item_of(r, names.get(&r.school_id).cloned().unwrap_or_default(), now))
        .filter(|i| q.overdue.is_none_or(|o| i.overdue == o))
        .collect();
    Ok(CaseList { items })
}

/// The reason a read gives, from `X-Access-Reason`: required (428).
pub(super) fn reason_of(reason: Option<String>) -> AppResult<String> {
    let r = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    match r {
        Some(r) if r.chars().count() <= 200 && !r.chars().any(char::is_control) => Ok(r),
        _ => Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            Code::AccessReasonRequired,
            "reading a case needs the header X-Access-Reason: why you open it (up to 200 characters); every read is audited with it",
        )),
    }
}

/// Audits a read of a case with its reason.
fn audit_read(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    row: &CaseRow,
    what: &str,
    reason: &str,
) -> AppResult<()> {
    let action = format!("{what} reason={reason}");
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, &action, "case", Some(&row.id)).in_school(Some(&row.school_id)),
    )
}

/// The whole case, for a handler or the bureau, with a reason.
pub fn detail(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    reason: Option<String>,
) -> AppResult<CaseDetail> {
    let row = visible(conn, caller, id)?;
    let reason = reason_of(reason)?;
    audit_read(conn, now, caller, &row, "case.read", &reason)?;
    detail_of(conn, now, row)
}

/// The case's history in order, for the police or a court, with a reason.
pub fn timeline(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    reason: Option<String>,
) -> AppResult<Timeline> {
    let row = visible(conn, caller, id)?;
    let reason = reason_of(reason)?;
    audit_read(conn, now, caller, &row, "case.timeline_read", &reason)?;
    Ok(Timeline {
        entries: entries(conn, &row.id)?,
        case_id: row.id,
        number: row.number,
    })
}

fn entries(conn: &mut AnyConnection, case_id: &str) -> AppResult<Vec<Entry>> {
    Ok(repo::entries_of(conn, case_id)?
        .into_iter()
        .map(|e| Entry {
            kind: EntryKind::parse(&e.kind).unwrap_or(EntryKind::Note),
            at: to_utc(e.created_at),
            id: e.id,
            seq: e.seq,
            author_id: e.author_id,
            text: e.body,
            corrects: e.corrects,
        })
        .collect())
}

pub(super) fn detail_of(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    row: CaseRow,
) -> AppResult<CaseDetail> {
    let school = repo::school_name(conn, &row.district_id, &row.school_id)?.unwrap_or_default();
    let students = repo::pupils_of(conn, &row.id)?
        .into_iter()
        .map(|(id, name, class_id)| CaseStudent { id, name, class_id })
        .collect();
    let police_reports = repo::police_reports_of(conn, &row.id)?
        .into_iter()
        .map(|p| PoliceReport {
            reported_at: to_utc(p.reported_at),
            channel: PoliceChannel::parse(&p.channel).unwrap_or(PoliceChannel::Written),
            recorded_at: to_utc(p.created_at),
            id: p.id,
            station: p.station,
            reference: p.reference,
            recorded_by: p.recorded_by,
        })
        .collect();
    let support = repo::support_of(conn, &row.id)?
        .into_iter()
        .map(|s| Support {
            kind: SupportKind::parse(&s.kind).unwrap_or(SupportKind::Referral),
            on: s.given_on.date(),
            recorded_at: to_utc(s.created_at),
            id: s.id,
            partner: s.partner,
            note: s.note,
            recorded_by: s.recorded_by,
        })
        .collect();
    let measures = repo::measures_of(conn, &row.id)?
        .into_iter()
        .map(|m| Measure {
            kind: MeasureKind::parse(&m.kind).unwrap_or(MeasureKind::Other),
            recorded_at: to_utc(m.created_at),
            id: m.id,
            target: m.target,
            note: m.note,
            recorded_by: m.recorded_by,
        })
        .collect();
    Ok(CaseDetail {
        case: item_of(&row, school, now),
        handler_ids: repo::handlers_of(conn, &row)?,
        entries: entries(conn, &row.id)?,
        students,
        police_reports,
        support,
        measures,
        source: Source {
            kind: SourceKind::parse(&row.source_kind).unwrap_or(SourceKind::Observation),
            ref_id: row.source_ref,
        },
        suspect: Suspect {
            kind: SuspectKind::parse(&row.suspect_kind).unwrap_or(SuspectKind::Unknown),
            user_id: row.suspect_user_id,
            personnel_id: row.suspect_personnel_id,
        },
        summary: row.summary,
        opened_by: row.opened_by,
    })
}
