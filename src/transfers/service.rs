//! Transfers' use cases: request, accept, decline, list. Scope first, then
//! the body: a pupil the caller cannot see is 404 before anything is read.

use super::dto::*;
use super::repo::{self, TransferRow};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::to_utc;
use crate::db::{conflict_on_unique, new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code};
use crate::org::dto::SchoolKind;
use crate::org::model::StudentRow;
use crate::org::repo as org;
use crate::{dorms, leave, pickup};
use chrono::NaiveDateTime;
use std::collections::HashMap;

fn not_found() -> ApiError {
    ApiError::not_found("no such transfer")
}

/// What a transfer needs of the receiving school: the pupil's grade there
/// and whether pickup handover is required at that grade.
struct Destination {
    grade: i32,
    handover_required: bool,
}

fn destination(
    conn: &mut AnyConnection,
    caller: &Caller,
    student: &StudentRow,
    school_id: &str,
    class_id: &str,
) -> AppResult<Destination> {
    let kind = repo::school_kind(conn, &caller.district_id, school_id)?
        .ok_or_else(|| ApiError::invalid("school_id", "no such school in this district"))?;
    if school_id == student.school_id {
        return Err(ApiError::invalid(
            "school_id",
            "the pupil is at this school already: change the class with PATCH /students/{id}",
        ));
    }
    let grade = repo::class_grade(conn, school_id, class_id)?
        .ok_or_else(|| ApiError::invalid("class_id", "no such class at the receiving school"))?;
    let kind = SchoolKind::parse(&kind).unwrap_or(SchoolKind::Primary);
    Ok(Destination {
        grade,
        handover_required: kind.handover_required_by_default(grade),
    })
}

/// Asks for a pupil's transfer. The bureau's is carried out at once (it
/// needs the new number); a school admin's waits for an admin of the
/// receiving school. 409 `student_left` for a pupil who left already, 409
/// `transfer_pending` while another request waits. Audited.
pub fn request(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    student_id: &str,
    body: AppResult<NewTransfer>,
) -> AppResult<Transfer> {
    let student = org::student(conn, caller, student_id)?;
    let b = body?;
    if student.left_at.is_some() {
        return Err(ApiError::conflict(
            Code::StudentLeft,
            "this pupil has left the school already",
        ));
    }
    if repo::pending_for(conn, &student.id)? {
        return Err(ApiError::conflict(
            Code::TransferPending,
            "a transfer of this pupil is waiting for the receiving school",
        ));
    }
    destination(
        conn,
        caller,
        &student,
        b.school_id.as_str(),
        b.class_id.as_str(),
    )?;
    let at_once = caller.role == Role::BureauOfficer;
    let number = match (&b.student_number, at_once) {
        (Some(n), _) => Some(n.as_str().to_string()),
        (None, true) => {
            return Err(ApiError::invalid(
                "student_number",
                "the pupil's number at the receiving school is needed",
            ))
        }
        (None, false) => None,
    };
    let row = TransferRow {
        id: new_id(now),
        district_id: caller.district_id.clone(),
        student_id: student.id.clone(),
        from_school_id: student.school_id.clone(),
        to_school_id: b.school_id.as_str().to_string(),
        to_class_id: b.class_id.as_str().to_string(),
        status: TransferStatus::Pending.as_str().to_string(),
        requested_by: caller.user_id.clone(),
        requested_at: now,
        decided_by: None,
        decided_at: None,
        new_student_id: None,
    };
    repo::insert(conn, &row)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "student.transfer_requested",
            "student",
            Some(&student.id),
        )
        .in_school(Some(&student.school_id)),
    )?;
    let row = match (at_once, number) {
        (true, Some(n)) => carry_out(conn, now, caller, row, &student, &n)?,
        _ => row,
    };
    view(conn, caller, row)
}

/// A transfer an admin of the receiving school (or the bureau) may decide:
/// visible and pending; 404 for the sending school's admin and anyone else.
fn to_decide(conn: &mut AnyConnection, caller: &Caller, id: &str) -> AppResult<TransferRow> {
    let row = repo::visible(conn, caller, id)?.ok_or_else(not_found)?;
    let receiving = caller.school_id.as_deref() == Some(row.to_school_id.as_str());
    if !(receiving || caller.role == Role::BureauOfficer) {
        return Err(not_found());
    }
    if row.status != TransferStatus::Pending.as_str() {
        return Err(ApiError::conflict(
            Code::TransferDecided,
            "this transfer was decided already",
        ));
    }
    Ok(row)
}

/// The receiving school accepts, giving the pupil's new number.
pub fn accept(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
    body: AppResult<AcceptTransfer>,
) -> AppResult<Transfer> {
    let row = to_decide(conn, caller, id)?;
    let b = body?;
    let student = org::student_by_id(conn, &row.student_id)?.ok_or_else(not_found)?;
    let row = carry_out(conn, now, caller, row, &student, b.student_number.as_str())?;
    view(conn, caller, row)
}

/// The receiving school (or the bureau) declines; the pupil stays.
pub fn decline(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<Transfer> {
    let mut row = to_decide(conn, caller, id)?;
    let status = TransferStatus::Declined.as_str();
    repo::decide(conn, &row.id, status, &caller.user_id, now, None)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(
            caller,
            "student.transfer_declined",
            "student",
            Some(&row.student_id),
        )
        .in_school(Some(&row.from_school_id)),
    )?;
    row.status = status.to_string();
    row.decided_at = Some(now);
    view(conn, caller, row)
}

/// Moves the pupil: a new record at the receiving school with the family,
/// the old record left behind with its history; the old school's pickup
/// persons, passes, open leave and dormitory place end; never-release
/// entries follow the child.
fn carry_out(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    mut row: TransferRow,
    old: &StudentRow,
    number: &str,
) -> AppResult<TransferRow> {
    let to = destination(conn, caller, old, &row.to_school_id, &row.to_class_id)?;
    let new = StudentRow {
        id: new_id(now),
        school_id: row.to_school_id.clone(),
        class_id: row.to_class_id.clone(),
        name: old.name.clone(),
        student_no: number.to_string(),
        grade: to.grade,
        handover_required: to.handover_required,
        user_id: old.user_id.clone(),
        sex: old.sex.clone(),
        left_at: None,
    };
    org::move_pupil(conn, old, &new, now).map_err(conflict_on_unique(
        Code::StudentExists,
        "student_number",
        "the receiving school has a pupil with this number",
    ))?;
    pickup::end_for_transfer(conn, &old.id, &new.id, now, &caller.user_id)?;
    leave::repo::withdraw_all_active(conn, &old.id, now)?;
    dorms::repo::remove_resident_everywhere(conn, &old.id)?;
    let status = TransferStatus::Done.as_str();
    repo::decide(conn, &row.id, status, &caller.user_id, now, Some(&new.id))?;
    for (school, student) in [(&old.school_id, &old.id), (&new.school_id, &new.id)] {
        audit::record(
            conn,
            now,
            AuditEvent::by(caller, "student.transferred", "student", Some(student))
                .in_school(Some(school)),
        )?;
    }
    row.status = status.to_string();
    row.decided_by = Some(caller.user_id.clone());
    row.decided_at = Some(now);
    row.new_student_id = Some(new.id);
    Ok(row)
}

fn view(conn: &mut AnyConnection, caller: &Caller, row: TransferRow) -> AppResult<Transfer> {
    Ok(views(conn, caller, vec![row])?.remove(0))
}

fn views(
    conn: &mut AnyConnection,
    caller: &Caller,
    rows: Vec<TransferRow>,
) -> AppResult<Vec<Transfer>> {
    let names: HashMap<String, String> =
        repo::names(conn, rows.iter().map(|r| r.student_id.clone()).collect())?
            .into_iter()
            .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            // The sending school keeps the history, not the pupil's new place.
            let sees_new = caller.role == Role::BureauOfficer
                || caller.school_id.as_deref() == Some(r.to_school_id.as_str());
            Transfer {
                student_name: names.get(&r.student_id).cloned().unwrap_or_default(),
                status: TransferStatus::parse(&r.status).unwrap_or(TransferStatus::Pending),
                requested_at: to_utc(r.requested_at),
                decided_at: r.decided_at.map(to_utc),
                new_student_id: r.new_student_id.filter(|_| sees_new),
                id: r.id,
                student_id: r.student_id,
                from_school_id: r.from_school_id,
                to_school_id: r.to_school_id,
                to_class_id: r.to_class_id,
                requested_by: r.requested_by,
            }
        })
        .collect())
}

/// The transfers the caller sees, newest first (at most 200).
pub fn list(conn: &mut AnyConnection, caller: &Caller) -> AppResult<Vec<Transfer>> {
    let rows = repo::list(conn, caller)?;
    views(conn, caller, rows)
}
