//! Concerns' use cases: any adult raises one, attendance raises the absence
//! pattern, the principal and the counsellors they name (the school's
//! designated handlers) are told at once and triage each. What a concern says is seen
//! by its author and the handlers only; reading it is audited. A triage into
//! a case is finished by `cases`, which opens the case and links it here.

use super::dto::*;
use super::model::ConcernRow;
/// Of the given pupils, those of the school, with their class's head
/// teacher: the one query cases and concerns both check pupils with.
pub use super::repo::pupils_of_school;
use super::repo::{self, Scope};
use super::rules::{self, TriageRefusal};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::dates::LocalDate;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::http::Page;
use crate::notify::{self, Category, Template};
use crate::org::{family, leads};
use chrono::NaiveDateTime;
use std::collections::{BTreeSet, HashMap};

fn not_found() -> ApiError {
    ApiError::not_found("no such concern")
}

/// A member of staff writes down what they saw. The principal and the
/// named counsellors are alerted at once, with the concern's id and the school
/// only.
pub fn raise(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    body: AppResult<NewConcern>,
) -> AppResult<Concern> {
    let b = body?;
    let school_id = caller.school_id.clone().ok_or_else(|| {
        ApiError::forbidden(
            Code::ForbiddenRole,
            "concerns are raised by a school's staff",
        )
    })?;
    let ids: Vec<String> = b
        .student_ids
        .into_iter()
        .map(|s| s.into_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() || ids.len() > 20 {
        return Err(ApiError::invalid("student_ids", "one to 20 pupils"));
    }
    if repo::pupils_of_school(conn, &school_id, &ids)?.len() != ids.len() {
        return Err(ApiError::invalid(
            "student_ids",
            "every pupil must be of your school",
        ));
    }
    if b.happened_at.naive_utc() > now {
        return Err(ApiError::invalid(
            "when",
            "a concern is about something that happened",
        ));
    }
    let row = ConcernRow {
        id: new_id(now),
        school_id: school_id.clone(),
        kind: ConcernKind::Observation.as_str().to_string(),
        student_id: ids[0].clone(),
        window_start: None,
        window_end: None,
        absence_days: None,
        category: b.category.map(|c| c.as_str().to_string()),
        author_id: Some(caller.user_id.clone()),
        what_happened: Some(b.what_happened.into_string()),
        location: Some(b.location.into_string()),
        happened_at: Some(b.happened_at.naive_utc()),
        child_words: b.child_words.map(|t| t.into_string()),
        action_taken: b.action_taken.map(|t| t.into_string()),
        status: ConcernStatus::Open.as_str().to_string(),
        triage_note: None,
        triaged_by: None,
        triaged_at: None,
        case_id: None,
        created_at: now,
    };
    repo::insert(conn, &row, &ids)?;
    let mut to = leads::of_school(conn, &school_id)?;
    to.retain(|u| u != &caller.user_id);
    let school = repo::school_name(conn, &school_id)?.unwrap_or_default();
    notify::send(
        conn,
        now,
        &to,
        Template::ConcernLogged,
        serde_json::json!({"concern_id": row.id, "school": school}),
        Category::Urgent,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "concern.raise", "concern", Some(&row.id)),
    )?;
    Ok(dtos(conn, vec![row])?.remove(0))
}

/// What attendance found: a pupil's unexcused absences within a window.
pub struct AbsencePattern<'a> {
    pub student_id: &'a str,
    pub student_name: &'a str,
    pub school_id: &'a str,
    pub class_id: &'a str,
    pub window_start: LocalDate,
    pub window_end: LocalDate,
    pub absence_days: i32,
    pub window_days: i64,
}

/// Whether an absence-pattern concern about the pupil has a window ending
/// on or after `start` (one concern per window).
pub fn absence_concern_since(
    conn: &mut AnyConnection,
    student_id: &str,
    start: LocalDate,
) -> AppResult<bool> {
    repo::absence_concern_since(conn, student_id, start)
}

/// Attendance raises a confidential concern into the same queue. Told only
/// to the head teacher and the school's handlers (admins, named
/// counsellors); never to
/// the family or other staff.
pub fn raise_absence_pattern(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    p: AbsencePattern,
) -> AppResult<()> {
    let row = ConcernRow {
        id: new_id(now),
        school_id: p.school_id.to_string(),
        kind: ConcernKind::AbsencePattern.as_str().to_string(),
        student_id: p.student_id.to_string(),
        window_start: Some(p.window_start),
        window_end: Some(p.window_end),
        absence_days: Some(p.absence_days),
        category: None,
        author_id: None,
        what_happened: None,
        location: None,
        happened_at: None,
        child_words: None,
        action_taken: None,
        status: ConcernStatus::Open.as_str().to_string(),
        triage_note: None,
        triaged_by: None,
        triaged_at: None,
        case_id: None,
        created_at: now,
    };
    repo::insert(conn, &row, &[p.student_id.to_string()])?;
    let mut to: Vec<String> = family::head_teacher_of(conn, p.class_id)?
        .into_iter()
        .collect();
    to.extend(leads::of_school(conn, p.school_id)?);
    to.sort();
    to.dedup();
    notify::send(
        conn,
        now,
        &to,
        Template::ConcernRaised,
        serde_json::json!({"student": p.student_name, "student_id": p.student_id,
                           "concern_id": row.id, "count": p.absence_days,
                           "days": p.window_days}),
        Category::Attendance,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::system("concern.raise", "concern", Some(&row.id)).in_school(Some(p.school_id)),
    )
}

/// The scope of the caller's concerns: the school's handlers (the principal
/// and the counsellors the principal named) see the school's, a teacher the
/// absence patterns of their classes and their own, any other staff their
/// own.
fn scope_of<'a>(conn: &mut AnyConnection, caller: &'a Caller) -> AppResult<Scope<'a>> {
    if leads::is_lead(conn, caller)? {
        return Ok(Scope::School);
    }
    Ok(match caller.role {
        Role::Teacher => Scope::HeadTeacher(&caller.user_id),
        _ => Scope::Author(&caller.user_id),
    })
}

/// One page of the concerns the caller sees, newest first. Audited.
pub fn list(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    q: ConcernQuery,
) -> AppResult<Page<Concern>> {
    let page = q.page();
    let limit = page.limit()?;
    let cursor = page.cursor()?;
    let school = caller.school_id.clone().unwrap_or_default();
    let scope = scope_of(conn, caller)?;
    let rows = repo::page(
        conn,
        &school,
        scope,
        q.status.map(|s| s.as_str()),
        limit,
        cursor,
    )?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone());
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "concern.list", "concern", None).in_school(Some(&school)),
    )?;
    Ok(Page {
        items: dtos(conn, page.items)?,
        next_cursor: page.next_cursor,
    })
}

/// A concern the caller may see, or 404: its author, the school's
/// handlers, and a head teacher for an absence pattern of their pupil.
fn visible(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<ConcernRow> {
    let row = repo::get(conn, id)?.ok_or_else(not_found)?;
    if caller.school_id.as_deref() != Some(row.school_id.as_str()) {
        return Err(not_found());
    }
    let sees = match scope_of(conn, caller)? {
        Scope::School => true,
        Scope::Author(me) => row.author_id.as_deref() == Some(me),
        Scope::HeadTeacher(me) => {
            row.author_id.as_deref() == Some(me)
                || (row.kind == ConcernKind::AbsencePattern.as_str()
                    && repo::pupils_of(conn, std::slice::from_ref(&row.id))?
                        .iter()
                        .any(|p| p.head_teacher_id.as_deref() == Some(me)))
        }
    };
    if sees {
        Ok(row)
    } else {
        Err(not_found())
    }
}

/// One concern. Audited.
pub fn get(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<Concern> {
    let row = visible(conn, caller, id)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "concern.read", "concern", Some(&row.id)),
    )?;
    audit::record_pupil_read(
        conn,
        now,
        caller,
        audit::PupilRecord::Concern,
        &row.student_id,
        &row.school_id,
    )?;
    Ok(dtos(conn, vec![row])?.remove(0))
}

/// Whether the caller may triage the concern: the school's principal or a
/// counsellor the principal named; 404 for anyone else.
pub fn triager_sees(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<()> {
    visible(conn, caller, id)?;
    if leads::is_lead(conn, caller)? {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// A concern the caller may triage (the school's principal or a named
/// counsellor), checked against the triage's rules; 404 for anyone else.
pub fn to_triage(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
    t: &Triage,
) -> AppResult<(ConcernRow, Option<CaseCategory>)> {
    let row = visible(conn, caller, id)?;
    if !leads::is_lead(conn, caller)? {
        return Err(not_found());
    }
    let category = t
        .category
        .or_else(|| row.category.as_deref().and_then(CaseCategory::parse));
    let status = ConcernStatus::parse(&row.status).unwrap_or(ConcernStatus::Open);
    match rules::check_triage(status, t.decision, category) {
        Ok(()) => Ok((row, category)),
        Err(TriageRefusal::Settled) => Err(ApiError::conflict(
            Code::ConcernSettled,
            "this concern was triaged already",
        )),
        Err(TriageRefusal::MandatoryNoAction) => Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            Code::ConcernMandatory,
            "a concern in a category the police must hear of cannot be triaged as no_action",
        )
        .with_field("decision")),
        Err(TriageRefusal::CategoryNeeded) => Err(ApiError::invalid(
            "category",
            "opening a case needs the category",
        )),
    }
}

/// Records a triage. Audited. A triage into a case records the decision
/// first; opening the case then links it.
pub fn record_triage(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    row: &ConcernRow,
    t: &Triage,
    category: Option<CaseCategory>,
) -> AppResult<()> {
    let status = rules::status_after(t.decision);
    let n = repo::set_triage(
        conn,
        &row.id,
        status.as_str(),
        category.map(|c| c.as_str()),
        &t.note,
        &caller.user_id,
        now,
    )?;
    if n != 1 {
        return Err(ApiError::conflict(
            Code::ConcernSettled,
            "this concern was triaged already",
        ));
    }
    let action = format!("concern.triage.{}", t.decision.as_str());
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, &action, "concern", Some(&row.id)),
    )
}

/// A concern as it stands, for the caller who just changed it.
pub fn view(conn: &mut AnyConnection, id: &str) -> AppResult<Concern> {
    let row = repo::get(conn, id)?.ok_or_else(not_found)?;
    Ok(dtos(conn, vec![row])?.remove(0))
}

/// A concern of the school, for a case that names it as its source: its
/// pupils, or 404.
pub fn source_pupils(
    conn: &mut AnyConnection,
    school_id: &str,
    id: &str,
) -> AppResult<Vec<String>> {
    match repo::get(conn, id)? {
        Some(row) if row.school_id == school_id => Ok(repo::pupils_of(conn, &[row.id])?
            .into_iter()
            .map(|p| p.id)
            .collect()),
        _ => Err(ApiError::not_found("no such concern at the school").with_field("source.ref_id")),
    }
}

/// Links a concern to the case opened from it.
pub fn link_case(conn: &mut AnyConnection, id: &str, case_id: &str) -> AppResult<()> {
    repo::link_case(conn, id, case_id)
}

/// The cases that grew from a tip-line report or a handover, for that
/// record's view: the source links both ways.
pub fn cases_from(
    conn: &mut AnyConnection,
    source_kind: &str,
    source_ref: &str,
) -> AppResult<Vec<LinkedCase>> {
    Ok(repo::cases_from(conn, source_kind, source_ref)?
        .into_iter()
        .map(|(case_id, number)| LinkedCase { case_id, number })
        .collect())
}

/// Every concern about a pupil, oldest first (for the chronology).
pub fn about(conn: &mut AnyConnection, student_id: &str) -> AppResult<Vec<Concern>> {
    let rows = repo::about(conn, student_id)?;
    dtos(conn, rows)
}

fn dtos(conn: &mut AnyConnection, rows: Vec<ConcernRow>) -> AppResult<Vec<Concern>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut pupils: HashMap<String, Vec<ConcernStudent>> = HashMap::new();
    for p in repo::pupils_of(conn, &ids)? {
        pupils
            .entry(p.concern_id)
            .or_default()
            .push(ConcernStudent {
                id: p.id,
                name: p.name,
                class_id: p.class_id,
            });
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut students = pupils.remove(&r.id).unwrap_or_default();
            // The first pupil leads, as stored.
            if let Some(i) = students.iter().position(|s| s.id == r.student_id) {
                let first = students.remove(i);
                students.insert(0, first);
            }
            let (student_name, class_id) = students
                .first()
                .map(|s| (s.name.clone(), s.class_id.clone()))
                .unwrap_or_default();
            let triage = match (
                ConcernStatus::parse(&r.status),
                r.triaged_by.clone(),
                r.triaged_at,
            ) {
                (Some(s), Some(by), Some(at)) => Some(ConcernTriage {
                    decision: match s {
                        ConcernStatus::CaseOpened => TriageDecision::OpenCase,
                        ConcernStatus::NoAction => TriageDecision::NoAction,
                        _ => TriageDecision::Monitor,
                    },
                    note: r.triage_note.clone().unwrap_or_default(),
                    by,
                    at: to_utc(at),
                }),
                _ => None,
            };
            Concern {
                kind: ConcernKind::parse(&r.kind).unwrap_or(ConcernKind::Observation),
                status: ConcernStatus::parse(&r.status).unwrap_or(ConcernStatus::Open),
                category: r.category.as_deref().and_then(CaseCategory::parse),
                window_start: r.window_start.map(|d| d.date()),
                window_end: r.window_end.map(|d| d.date()),
                happened_at: r.happened_at.map(to_utc),
                created_at: to_utc(r.created_at),
                student_id: r.student_id,
                student_name,
                class_id,
                students,
                id: r.id,
                school_id: r.school_id,
                absence_days: r.absence_days,
                author_id: r.author_id,
                what_happened: r.what_happened,
                location: r.location,
                child_words: r.child_words,
                action_taken: r.action_taken,
                triage,
                case_id: r.case_id,
            }
        })
        .collect())
}
