//! Families' data requests: made by a guardian, answered by the school
//! admin (a refusal needs a written reason), due in 15 school days with an
//! alert at 10, a copy request answered with an export. Audited.

use super::dto::*;
use super::{export, repo};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::{school_local, to_utc};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::state::AppState;
use crate::tipline::rules::add_school_days;
use chrono::NaiveDateTime;
use repo::RequestRow;

/// School days a school has to answer, and after which it is alerted.
pub const DUE_SCHOOL_DAYS: i64 = 15;
pub const ALERT_SCHOOL_DAYS: i64 = 10;

/// Sortable text of a UTC instant, for `alert_on`.
fn instant(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn timezone(conn: &mut AnyConnection, school_id: &str) -> AppResult<String> {
    use crate::db::schema::schools;
    use diesel::prelude::*;
    Ok(schools::table
        .find(school_id)
        .select(schools::timezone)
        .first(conn)?)
}

fn view(r: RequestRow) -> DataRequest {
    let kind = DataRequestKind::parse(&r.kind).unwrap_or(DataRequestKind::Access);
    let export_url = r
        .export
        .as_ref()
        .map(|_| format!("/api/v1/data-requests/{}/export", r.id));
    DataRequest {
        status: DataRequestStatus::parse(&r.status).unwrap_or(DataRequestStatus::Open),
        due_on: chrono::NaiveDate::parse_from_str(&r.due_on, "%Y-%m-%d").unwrap_or_default(),
        created_at: to_utc(r.created_at),
        answered_at: r.answered_at.map(to_utc),
        reply: r.answer,
        id: r.id,
        school_id: r.school_id,
        requester_id: r.requester_id,
        student_id: r.student_id,
        kind,
        detail: r.detail,
        export_url,
    }
}

/// A guardian asks about a pupil's data (one they still follow) or their own.
pub fn create(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    b: NewDataRequest,
) -> AppResult<DataRequest> {
    let school_id = match &b.student_id {
        Some(sid) => {
            let (student, rel) = family::student_for_family_or_school(conn, caller, sid)
                .map_err(|_| ApiError::invalid("student_id", "not a pupil of yours"))?;
            if !rel.guardian {
                return Err(ApiError::invalid("student_id", "not a pupil of yours"));
            }
            student.school_id
        }
        None => repo::first_school_of(conn, &caller.user_id)?
            .ok_or_else(|| ApiError::invalid("student_id", "no school holds data about you"))?,
    };
    let tz = timezone(conn, &school_id)?;
    let due = add_school_days(now, DUE_SCHOOL_DAYS, &tz);
    let row = RequestRow {
        id: new_id(now),
        school_id: school_id.clone(),
        requester_id: caller.user_id.clone(),
        student_id: b.student_id,
        kind: b.kind.as_str().to_string(),
        detail: b.detail.into_string(),
        status: DataRequestStatus::Open.as_str().to_string(),
        due_on: school_local(to_utc(due), &tz).date().to_string(),
        alert_on: instant(add_school_days(now, ALERT_SCHOOL_DAYS, &tz)),
        alerted_at: None,
        answer: None,
        answered_by: None,
        answered_at: None,
        export: None,
        created_at: now,
    };
    repo::insert(conn, &row)?;
    let action = format!("data_request.create kind={}", row.kind);
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, &action, "data_request", Some(&row.id)).in_school(Some(&school_id)),
    )?;
    let admins = family::school_admins(conn, &school_id)?;
    notify::send(
        conn,
        now,
        &admins,
        Template::DataRequestReceived,
        serde_json::json!({"kind": row.kind, "due": row.due_on}),
        Category::General,
    )?;
    Ok(view(row))
}

pub fn mine(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<DataRequest>> {
    Ok(repo::of_requester(conn, &caller.user_id)?
        .into_iter()
        .map(view)
        .collect())
}

/// The school's requests: its school admin (the district admin of any school of the district).
pub fn of_school(
    conn: &mut AnyConnection,
    caller: &Caller,
    school_id: &str,
    q: DataRequestQuery,
) -> AppResult<Vec<DataRequest>> {
    let school = crate::org::repo::school(conn, caller, school_id)?;
    Ok(
        repo::of_school(conn, &school.id, q.status.map(|s| s.as_str()))?
            .into_iter()
            .map(view)
            .collect(),
    )
}

/// A request the caller may answer: its school's admin; 404 for anyone else.
pub fn answerable(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<RequestRow> {
    let row = repo::one(conn, id)?;
    if caller.role == Role::SchoolAdmin && caller.school_id.as_deref() == Some(&row.school_id) {
        Ok(row)
    } else {
        Err(ApiError::not_found("data request"))
    }
}

/// The school admin answers: completed (a copy request gets its export) or
/// refused with a written reason (422 without one). Only an open request.
pub fn answer(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<DataRequestAnswer>,
) -> AppResult<DataRequest> {
    let row = answerable(conn, caller, id)?;
    let b = body?;
    if row.status != DataRequestStatus::Open.as_str() {
        return Err(ApiError::conflict(
            crate::error::Code::AlreadyClosed,
            "this request was already answered",
        ));
    }
    let reply = b.reply.map(|r| r.into_string());
    if b.outcome == DataRequestOutcome::Refused && reply.is_none() {
        return Err(ApiError::invalid(
            "reply",
            "a refusal needs a written reason",
        ));
    }
    let export = match (b.outcome, row.kind.as_str(), &row.student_id) {
        (DataRequestOutcome::Completed, "copy", Some(sid)) => {
            Some(export::of_student(conn, sid, now)?.to_string())
        }
        _ => None,
    };
    repo::answer(
        conn,
        &row.id,
        b.outcome.as_str(),
        reply.as_deref(),
        &caller.user_id,
        now,
        export.as_deref(),
    )?;
    let action = format!("data_request.{}", b.outcome);
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, &action, "data_request", Some(&row.id))
            .in_school(Some(&row.school_id)),
    )?;
    notify::send(
        conn,
        now,
        std::slice::from_ref(&row.requester_id),
        Template::DataRequestAnswered,
        serde_json::json!({"kind": row.kind, "outcome": b.outcome.as_str()}),
        Category::General,
    )?;
    Ok(view(repo::one(conn, &row.id)?))
}

/// A completed copy request's export: for whoever asked, and the school's
/// admin. Audited.
pub fn export_of(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<String> {
    let row = repo::one(conn, id)?;
    let sees = row.requester_id == caller.user_id
        || (caller.role == Role::SchoolAdmin
            && caller.school_id.as_deref() == Some(&row.school_id));
    let export = row
        .export
        .filter(|_| sees)
        .ok_or_else(|| ApiError::not_found("export"))?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "data_request.export_read",
            "data_request",
            Some(&row.id),
        )
        .in_school(Some(&row.school_id)),
    )?;
    Ok(export)
}

/// Alerts the school admins of every open request 10 school days old.
pub fn run_due_worker(state: &AppState) -> AppResult<usize> {
    let now = state.now_db();
    state.db.write_blocking(|conn| {
        let due = repo::due_for_alert(conn, &instant(now))?;
        for r in &due {
            let admins = family::school_admins(conn, &r.school_id)?;
            notify::send(
                conn,
                now,
                &admins,
                Template::DataRequestDue,
                serde_json::json!({"kind": r.kind, "due": r.due_on}),
                Category::General,
            )?;
            repo::mark_alerted(conn, &r.id, now)?;
            audit::record(
                conn,
                now,
                AuditEvent::system("data_request.due_alert", "data_request", Some(&r.id))
                    .in_school(Some(&r.school_id)),
            )?;
        }
        Ok(due.len())
    })
}
