//! Filing a leave, reading leaves, and withdrawing one.

use super::chain;
use super::{leave_data, notify_next_approver, school_days, set_status};
use crate::audit::{self, AuditEvent};
use crate::auth::Caller;
use crate::config::LeavePolicy;
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult};
use crate::http::{Page, PageQuery};
use crate::leave::dto::{Leave, LeaveQuery, NewLeave};
use crate::leave::model::{LeaveRow, NewLeaveRow};
use crate::leave::repo;
use crate::notify::{self, Category, Template};
use crate::org::family;
use chrono::{Duration, NaiveDateTime};

/// The dates a leave may have: it ends after it starts, lasts at most the
/// policy's days, starts at most 7 days ago and at most a year ahead.
fn check_dates(
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    now: NaiveDateTime,
    policy: &LeavePolicy,
) -> AppResult<()> {
    if ends <= starts {
        return Err(ApiError::invalid(
            "ends_at",
            "ends_at must be after starts_at",
        ));
    }
    if ends - starts > Duration::days(policy.max_days) {
        return Err(ApiError::invalid(
            "ends_at",
            format!("a leave may last at most {} days", policy.max_days),
        ));
    }
    if starts < now - Duration::days(7) {
        return Err(ApiError::invalid(
            "starts_at",
            "a leave may start at most 7 days ago",
        ));
    }
    if starts > now + Duration::days(366) {
        return Err(ApiError::invalid(
            "starts_at",
            "a leave may start at most a year from now",
        ));
    }
    Ok(())
}

/// Files a leave and tells whoever decides first.
pub fn create_leave(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    policy: &LeavePolicy,
    caller: &Caller,
    body: Result<NewLeave, ApiError>,
) -> AppResult<Leave> {
    chain::may_file(caller.role)?;
    let b = body?;
    let starts = b.starts_at.naive_utc();
    let ends = b.ends_at.naive_utc();
    check_dates(starts, ends, now, policy)?;
    let student = crate::org::repo::student(conn, caller, b.student_id.as_str())?;
    let head = family::is_head_teacher(conn, caller, &student.class_id)?;
    let status = chain::first_status(caller.role, head)?;
    if let Some(p) = &b.pickup_person_id {
        if !repo::is_pickup_person_of(conn, p.as_str(), &student.id)? {
            return Err(ApiError::invalid(
                "pickup_person_id",
                "not an authorised pickup person of this student",
            ));
        }
    }
    if repo::overlaps(conn, &student.id, starts, ends)? {
        return Err(chain::overlaps());
    }
    let tz = repo::timezone(conn, &student.school_id)?;
    let needs_school =
        chain::needs_school(school_days(starts, ends, &tz), policy.school_approval_days);
    let id = new_id(now);
    repo::insert(
        conn,
        &NewLeaveRow {
            id: &id,
            student_id: &student.id,
            school_id: &student.school_id,
            class_id: &student.class_id,
            kind: b.kind.as_str(),
            starts_at: starts,
            ends_at: ends,
            reason: b.reason.as_str(),
            leaves_campus: b.leaves_campus,
            pickup_person_id: b.pickup_person_id.as_ref().map(|p| p.as_str()),
            requested_by: &caller.user_id,
            requester_role: caller.role.as_str(),
            status: status.as_str(),
            needs_school,
            created_at: now,
            updated_at: now,
        },
    )?;
    let row = repo::leave_row(conn, &id)?;
    notify_next_approver(conn, now, &row, &student)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "leave.request", "leave_request", Some(&id))
            .in_school(Some(&student.school_id)),
    )?;
    repo::view(conn, caller, &id)
}

/// One page of the leaves the caller may see.
/// A page of the leaves the caller may see. Staff reading them is audited,
/// once per pupil on the page.
pub fn list_leaves(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    q: LeaveQuery,
) -> AppResult<Page<Leave>> {
    let paging = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = paging.limit()?;
    let cursor = paging.cursor()?;
    let rows = repo::list_visible(conn, caller, q, limit, cursor)?;
    let page = Page::from_rows(rows, limit, |r: &LeaveRow| r.id.clone());
    let mut pupils: Vec<(&str, &str)> = page
        .items
        .iter()
        .map(|r| (r.student_id.as_str(), r.school_id.as_str()))
        .collect();
    pupils.sort();
    pupils.dedup();
    for (student, school) in pupils {
        audit::record_pupil_read(
            conn,
            now,
            caller,
            audit::PupilRecord::Leave,
            student,
            school,
        )?;
    }
    Ok(Page {
        items: repo::views(conn, caller, page.items)?,
        next_cursor: page.next_cursor,
    })
}

/// One leave with its reason; a read by staff is audited.
pub fn get_leave(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<Leave> {
    let v = repo::visible_leave(conn, caller, id)?;
    audit::record_pupil_read(
        conn,
        now,
        caller,
        audit::PupilRecord::Leave,
        &v.row.student_id,
        &v.row.school_id,
    )?;
    repo::view(conn, caller, &v.row.id)
}

/// The requester withdraws a leave before it starts; everyone else
/// concerned is told.
pub fn withdraw(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<Leave> {
    let repo::Visible { row, student, .. } = repo::visible_leave(conn, caller, id)?;
    if row.requested_by != caller.user_id {
        return Err(ApiError::forbidden(
            crate::error::Code::RequesterRequired,
            "only whoever asked for the leave withdraws it",
        ));
    }
    let status = row.status();
    let to = chain::withdraw(status, row.starts_at, now).map_err(ApiError::from)?;
    set_status(conn, &row.id, status, to, now)?;
    repo::record_withdrawal(conn, &row.id, now)?;
    let mut to = family::guardians(conn, &row.student_id)?;
    to.extend(family::head_teacher_of(conn, &row.class_id)?);
    to.extend(family::student_account(&student));
    to.retain(|u| *u != caller.user_id);
    to.sort();
    to.dedup();
    let data = leave_data(conn, &row, &student.name)?;
    notify::send(
        conn,
        now,
        &to,
        Template::LeaveWithdrawn,
        data,
        Category::Leave,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "leave.withdraw", "leave_request", Some(&row.id))
            .in_school(Some(&student.school_id)),
    )?;
    repo::view(conn, caller, &row.id)
}
