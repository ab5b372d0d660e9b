//! What is recorded on a case: the police report, the bureau's
//! acknowledgement, notes and corrections, support, and protective measures
//! (which act: a staff suspect loses access to pupils at once).

use super::{alert_data, append, detail_of, told, visible};
use crate::account;
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::cases::dto::*;
use crate::cases::model::{CaseRow, MeasureRow, PoliceReportRow, SupportRow};
use crate::cases::repo;
use crate::dates::LocalDate;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::notify::{self, Category, Template};
use chrono::NaiveDateTime;

/// A case its handlers may act on: visible, handled by the caller, not closed.
fn handled(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<CaseRow> {
    let row = visible(conn, caller, id)?;
    if !repo::is_handler(conn, caller, &row)? {
        return Err(super::not_found());
    }
    Ok(row)
}

fn open_only(row: &CaseRow) -> AppResult<()> {
    if row.status == CaseStatus::Closed.as_str() {
        return Err(ApiError::conflict(
            Code::AlreadyClosed,
            "the case is closed",
        ));
    }
    Ok(())
}

fn audited(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    action: &str,
    row: &CaseRow,
) -> AppResult<()> {
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, action, "case", Some(&row.id)).in_school(Some(&row.school_id)),
    )
}

/// A handler records that the police were told.
pub fn record_police_report(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<NewPoliceReport>,
) -> AppResult<CaseDetail> {
    let row = handled(conn, caller, id)?;
    let b = body?;
    let reported_at = b.reported_at.naive_utc();
    if reported_at > now {
        return Err(ApiError::invalid(
            "reported_at",
            "must not be in the future",
        ));
    }
    let r = PoliceReportRow {
        id: new_id(now),
        case_id: row.id.clone(),
        reported_at,
        station: b.station.into_string(),
        reference: b.reference.into_string(),
        channel: b.channel.as_str().to_string(),
        recorded_by: caller.user_id.clone(),
        created_at: now,
    };
    let text = format!(
        "Reported to {} ({}) at {}, reference {}",
        r.station,
        r.channel,
        b.reported_at.to_rfc3339(),
        r.reference
    );
    repo::insert_police_report(conn, &r)?;
    append(
        conn,
        now,
        &row.id,
        EntryKind::PoliceReport,
        Some(&caller.user_id),
        text,
        None,
    )?;
    audited(conn, now, caller, "case.police_report", &row)?;
    let row = visible(conn, caller, id)?;
    detail_of(conn, now, row)
}

/// The bureau takes note of a case (once).
pub fn acknowledge(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<CaseDetail> {
    let row = visible(conn, caller, id)?;
    if row.acknowledged_at.is_none() {
        repo::set_acknowledged(conn, &row.id, &caller.user_id, now)?;
        append(
            conn,
            now,
            &row.id,
            EntryKind::Acknowledged,
            Some(&caller.user_id),
            "The bureau acknowledged the case".into(),
            None,
        )?;
        audited(conn, now, caller, "case.acknowledged", &row)?;
    }
    let row = visible(conn, caller, id)?;
    detail_of(conn, now, row)
}

/// A handler or the bureau appends a note; a correction names the older
/// entry it corrects (which stays as it was).
pub fn add_entry(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<NewEntry>,
) -> AppResult<Entry> {
    let row = visible(conn, caller, id)?;
    if caller.role != Role::BureauOfficer && !repo::is_handler(conn, caller, &row)? {
        return Err(super::not_found());
    }
    let b = body?;
    let corrects = b.corrects.map(|c| c.into_string());
    if let Some(c) = &corrects {
        if !repo::entry_of(conn, &row.id, c)? {
            return Err(ApiError::invalid("corrects", "no such entry of this case"));
        }
    }
    append(
        conn,
        now,
        &row.id,
        EntryKind::Note,
        Some(&caller.user_id),
        b.text.into_string(),
        corrects,
    )?;
    audited(conn, now, caller, "case.entry_added", &row)?;
    let last = repo::entries_of(conn, &row.id)?
        .pop()
        .ok_or_else(super::not_found)?;
    Ok(Entry {
        kind: EntryKind::Note,
        at: crate::clock::to_utc(last.created_at),
        id: last.id,
        seq: last.seq,
        author_id: last.author_id,
        text: last.body,
        corrects: last.corrects,
    })
}

/// A handler records support given to the child.
pub fn add_support(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<NewSupport>,
) -> AppResult<CaseDetail> {
    let row = handled(conn, caller, id)?;
    let b = body?;
    open_only(&row)?;
    let s = SupportRow {
        id: new_id(now),
        case_id: row.id.clone(),
        kind: b.kind.as_str().to_string(),
        partner: b.partner.map(|p| p.into_string()),
        given_on: LocalDate(b.on),
        note: b.note.into_string(),
        recorded_by: caller.user_id.clone(),
        created_at: now,
    };
    let text = format!("{} on {}: {}", s.kind, b.on, s.note);
    repo::insert_support(conn, &s)?;
    append(
        conn,
        now,
        &row.id,
        EntryKind::Support,
        Some(&caller.user_id),
        text,
        None,
    )?;
    audited(conn, now, caller, "case.support", &row)?;
    let row = visible(conn, caller, id)?;
    detail_of(conn, now, row)
}

/// The school admin or the bureau takes a protective measure. `suspend_staff`
/// acts at once on the staff suspect: no more access to pupils (until the
/// bureau lifts it) and every session ended.
pub fn add_measure(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<NewMeasure>,
) -> AppResult<CaseDetail> {
    let row = visible(conn, caller, id)?;
    if caller.role != Role::BureauOfficer && !repo::is_handler(conn, caller, &row)? {
        return Err(super::not_found());
    }
    let b = body?;
    open_only(&row)?;
    let target = b.target.map(|t| t.into_string());
    let note = b.note.into_string();
    match b.kind {
        MeasureKind::SuspendStaff => suspend(conn, now, caller, &row, target.as_deref())?,
        MeasureKind::NeverRelease => {
            let Some(name) = target.as_deref() else {
                return Err(ApiError::invalid(
                    "target",
                    "never_release needs the person's name",
                ));
            };
            for (student, _, _) in repo::pupils_of(conn, &row.id)? {
                crate::pickup::block_for_case(conn, now, caller, &student, name, &note)?;
            }
        }
        MeasureKind::SeparateStudents | MeasureKind::Other => {}
    }
    let m = MeasureRow {
        id: new_id(now),
        case_id: row.id.clone(),
        kind: b.kind.as_str().to_string(),
        target,
        note,
        recorded_by: caller.user_id.clone(),
        created_at: now,
    };
    let text = format!("{}: {}", m.kind, m.note);
    repo::insert_measure(conn, &m)?;
    append(
        conn,
        now,
        &row.id,
        EntryKind::Measure,
        Some(&caller.user_id),
        text,
        None,
    )?;
    audited(conn, now, caller, "case.measure", &row)?;
    let to = told(conn, &row)?;
    let mut data = alert_data(conn, &row)?;
    data["measure"] = serde_json::json!(m.kind);
    notify::send(
        conn,
        now,
        &to,
        Template::CaseMeasure,
        data,
        Category::Urgent,
    )?;
    let row = visible(conn, caller, id)?;
    detail_of(conn, now, row)
}

/// Suspends the staff suspect (or the named personnel record of the
/// district): vetting stops their access, and their sessions end.
fn suspend(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    row: &CaseRow,
    target: Option<&str>,
) -> AppResult<()> {
    let Some(personnel) = target.or(row.suspect_personnel_id.as_deref()) else {
        return Err(ApiError::invalid(
            "target",
            "suspend_staff needs the staff suspect's personnel record",
        ));
    };
    let user = crate::vetting::suspend(conn, now, &caller.district_id, personnel)
        .map_err(|_| ApiError::invalid("target", "no such personnel record in the district"))?;
    if let Some(u) = user {
        account::repo::end_all_sessions(conn, &u, now)?;
    }
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "vetting.suspended", "personnel", Some(personnel))
            .in_school(Some(&row.school_id)),
    )
}
