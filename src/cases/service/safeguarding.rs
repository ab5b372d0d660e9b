//! Where concerns meet cases: a concern's triage (into a case, linked both
//! ways) and a pupil's chronology, every concern, case line, unexcused
//! absence, disputed handover and refused pickup about the pupil in one
//! ordered line.

use super::{open_case, reason_of, Opening};
use crate::attendance;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::cases::dto::*;
use crate::cases::repo;
use crate::clock::to_utc;
use crate::concerns::dto::{Concern, ConcernKind, Triage, TriageDecision};
use crate::concerns::service as concerns;
use crate::config::CaseSettings;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult};
use crate::org::leads;
use crate::pickup;
use chrono::NaiveDateTime;

/// Triage a concern: the school's principal or a counsellor decides. A
/// case opened from it names the concern as its source, and the concern
/// shows the case.
pub fn triage_concern(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    settings: &CaseSettings,
    id: &str,
    body: AppResult<ConcernTriageRequest>,
) -> AppResult<Concern> {
    // Whose concern it is comes before what the body says.
    concerns::triager_sees(conn, caller, id)?;
    let b = body?;
    let t = Triage {
        decision: b.decision,
        note: b.note.into_string(),
        category: b.category,
    };
    let (row, category) = concerns::to_triage(conn, caller, id, &t)?;
    concerns::record_triage(conn, now, caller, &row, &t, category)?;
    if let (TriageDecision::OpenCase, Some(category)) = (t.decision, category) {
        let what = match ConcernKind::parse(&row.kind) {
            Some(ConcernKind::AbsencePattern) => format!(
                "Unexcused absences on {} school days from {} to {}.",
                row.absence_days.unwrap_or_default(),
                row.window_start.map(|d| d.to_string()).unwrap_or_default(),
                row.window_end.map(|d| d.to_string()).unwrap_or_default(),
            ),
            _ => row.what_happened.clone().unwrap_or_default(),
        };
        let student_ids = concerns::source_pupils(conn, &row.school_id, &row.id)?;
        open_case(
            conn,
            now,
            caller,
            settings,
            Opening {
                school_id: row.school_id.clone(),
                student_ids,
                category,
                source_kind: SourceKind::Concern,
                source_ref: Some(row.id.clone()),
                summary: format!("{what}\n\nTriage: {}", t.note),
                suspect: b.suspect.unwrap_or(NewSuspect {
                    kind: SuspectKind::Unknown,
                    user_id: None,
                    personnel_id: None,
                }),
            },
        )?;
    }
    concerns::view(conn, &row.id)
}

/// A pupil's chronology, for the school's principal, the counsellors they
/// named, and the bureau, with a reason (428 without); audited with it. Anyone else, and
/// anyone suspected in a case about the pupil, gets 404.
pub fn chronology(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student_id: &str,
    reason: Option<String>,
) -> AppResult<Chronology> {
    let not_found = || ApiError::not_found("no such student");
    let (school_id, district_id) = repo::pupil_school(conn, student_id)?.ok_or_else(not_found)?;
    let sees = match caller.role {
        Role::BureauOfficer => district_id == caller.district_id,
        Role::SchoolAdmin | Role::Counselor => leads::is_lead_of(conn, caller, &school_id)?,
        _ => false,
    };
    if !sees || repo::suspected_about(conn, &caller.user_id, student_id)? {
        return Err(not_found());
    }
    let reason = reason_of(reason)?;
    let action = format!("chronology.read reason={reason}");
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, &action, "student", Some(student_id)).in_school(Some(&school_id)),
    )?;

    let mut items: Vec<ChronologyItem> = Vec::new();
    for c in concerns::about(conn, student_id)? {
        let text = match c.kind {
            ConcernKind::AbsencePattern => format!(
                "Absence pattern: unexcused absences on {} school days from {} to {} ({}).",
                c.absence_days.unwrap_or_default(),
                c.window_start.map(|d| d.to_string()).unwrap_or_default(),
                c.window_end.map(|d| d.to_string()).unwrap_or_default(),
                c.status
            ),
            ConcernKind::Observation => format!(
                "Concern ({}): {}",
                c.status,
                c.what_happened.clone().unwrap_or_default()
            ),
        };
        items.push(ChronologyItem {
            at: c.created_at,
            kind: ChronologyKind::Concern,
            ref_id: c.id,
            case_number: None,
            text,
        });
    }
    for case in repo::cases_of_pupil(conn, caller, student_id)? {
        if case.source_kind == SourceKind::TipReport.as_str() {
            items.push(ChronologyItem {
                at: to_utc(case.opened_at),
                kind: ChronologyKind::TipReportLink,
                ref_id: case.source_ref.clone().unwrap_or_default(),
                case_number: Some(case.number.clone()),
                text: format!("Case {} came from a tip-line report.", case.number),
            });
        }
        for e in repo::entries_of(conn, &case.id)? {
            let kind = if e.kind == EntryKind::Opened.as_str() {
                ChronologyKind::CaseOpened
            } else {
                ChronologyKind::CaseEntry
            };
            items.push(ChronologyItem {
                at: to_utc(e.created_at),
                kind,
                ref_id: case.id.clone(),
                case_number: Some(case.number.clone()),
                text: format!("{}: {}", e.kind, e.body),
            });
        }
    }
    for (id, date, period, at) in attendance::repo::unexcused_of(conn, student_id)? {
        items.push(ChronologyItem {
            at: to_utc(at),
            kind: ChronologyKind::UnexcusedAbsence,
            ref_id: id,
            case_number: None,
            text: format!("Absent without leave on {date}, period {period}."),
        });
    }
    for (id, at, adult) in pickup::repo::disputed_of(conn, student_id)? {
        items.push(ChronologyItem {
            at: to_utc(at),
            kind: ChronologyKind::DisputedHandover,
            ref_id: id,
            case_number: None,
            text: format!("A guardian disputed the handover to {adult}."),
        });
    }
    let refusals = [
        "pickup.refused",
        "pickup.blocked_attempt",
        "pickup.held_attempt",
    ];
    for (id, action, at) in audit::actions_on(conn, "student", student_id, &refusals)? {
        let text = match action.as_str() {
            "pickup.blocked_attempt" => {
                "An adult on the never-release list tried to pick the pupil up."
            }
            "pickup.held_attempt" => {
                "A pickup was held for the principal (a block awaiting confirmation)."
            }
            _ => "A pickup was refused at the gate.",
        };
        items.push(ChronologyItem {
            at: to_utc(at),
            kind: ChronologyKind::RefusedPickup,
            ref_id: id,
            case_number: None,
            text: text.to_string(),
        });
    }
    // In time order; at the same moment, in the order things follow.
    items.sort_by_key(|i| (i.at, rank(i.kind)));
    Ok(Chronology {
        student_id: student_id.to_string(),
        items,
    })
}

fn rank(k: ChronologyKind) -> usize {
    ChronologyKind::ALL
        .iter()
        .position(|x| *x == k)
        .unwrap_or(0)
}
