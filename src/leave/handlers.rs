//! Leave requests: filing, the approval chain, withdrawal, the gate pass,
//! the exit at the gate and the return (销假).

use super::dto::*;
use super::repo::{self, LeaveRow};
use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, GateStaff, Role};
use crate::clock::{school_local, to_utc};
use crate::db::schema::{leave_requests, pickup_persons, schools, students};
use crate::db::{new_id, AnyConnection};
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page};
use crate::notify::{self, Category, Template};
use crate::org::family;
use crate::org::family::Identity;
use crate::org::repo::StudentRow;
use crate::pickup::AdultRef;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;

fn not_pending(detail: &str) -> ApiError {
    ApiError::conflict(Code::LeaveNotPending, detail.to_string())
}

fn not_active(detail: &str) -> ApiError {
    ApiError::conflict(Code::LeaveNotActive, detail.to_string())
}

/// A time as the school reads it, for notification texts.
fn local_text(t: NaiveDateTime, timezone: &str) -> String {
    school_local(to_utc(t), timezone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The data every leave notification carries.
fn leave_data(
    conn: &mut AnyConnection,
    row: &LeaveRow,
    student: &str,
) -> AppResult<serde_json::Value> {
    let tz = repo::timezone(conn, &row.school_id)?;
    Ok(serde_json::json!({
        "student": student,
        "student_id": row.student_id,
        "leave_id": row.id,
        "kind": row.kind,
        "starts": local_text(row.starts_at, &tz),
        "ends": local_text(row.ends_at, &tz),
    }))
}

fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: LeaveStatus,
    to: LeaveStatus,
    now: NaiveDateTime,
) -> AppResult<()> {
    // Guarded by the status read: a concurrent step makes this one lose.
    let n = diesel::update(
        leave_requests::table
            .filter(leave_requests::id.eq(id))
            .filter(leave_requests::status.eq(from.as_str())),
    )
    .set((
        leave_requests::status.eq(to.as_str()),
        leave_requests::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(not_pending(
            "this leave request changed meanwhile; reload it",
        ));
    }
    Ok(())
}

/// Ask for leave: the student for themself, a guardian for their child, or
/// the head teacher on the family's behalf.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    request_body = NewLeave,
    responses(
        (status = 201, body = Leave),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests")]
pub(super) async fn create_leave(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    body: JsonBody<NewLeave>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    let policy = state.settings.leave.clone();
    let starts = b.starts_at.naive_utc();
    let ends = b.ends_at.naive_utc();
    if ends <= starts {
        return Err(ApiError::invalid(
            "ends_at",
            "ends_at must be after starts_at",
        ));
    }
    if ends - starts > chrono::Duration::days(policy.max_days) {
        return Err(ApiError::invalid(
            "ends_at",
            format!("a leave may last at most {} days", policy.max_days),
        ));
    }
    if starts < now - chrono::Duration::days(7) {
        return Err(ApiError::invalid(
            "starts_at",
            "a leave may start at most 7 days ago",
        ));
    }
    if starts > now + chrono::Duration::days(366) {
        return Err(ApiError::invalid(
            "starts_at",
            "a leave may start at most a year from now",
        ));
    }
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| {
            let student = crate::org::repo::student(conn, &caller, b.student_id.as_str())?;
            let status = match caller.role {
                Role::Student => LeaveStatus::PendingGuardian,
                Role::Parent => LeaveStatus::PendingTeacher,
                Role::Teacher if family::is_head_teacher(conn, &caller, &student.class_id)? => {
                    LeaveStatus::PendingTeacher
                }
                Role::Teacher => {
                    return Err(ApiError::forbidden(
                        Code::NotHeadTeacher,
                        "only the head teacher files leave on a family's behalf",
                    ))
                }
                _ => {
                    return Err(ApiError::forbidden(
                        Code::ForbiddenRole,
                        "the student, a guardian or the head teacher asks for leave",
                    ))
                }
            };
            if let Some(p) = &b.pickup_person_id {
                let ok = pickup_persons::table
                    .filter(pickup_persons::id.eq(p.as_str()))
                    .filter(pickup_persons::student_id.eq(&student.id))
                    .filter(pickup_persons::revoked_at.is_null())
                    .count()
                    .get_result::<i64>(conn)?;
                if ok == 0 {
                    return Err(ApiError::invalid(
                        "pickup_person_id",
                        "not an authorised pickup person of this student",
                    ));
                }
            }
            let overlapping = leave_requests::table
                .filter(leave_requests::student_id.eq(&student.id))
                .filter(leave_requests::status.eq_any(LeaveStatus::ACTIVE.map(LeaveStatus::as_str)))
                .filter(leave_requests::starts_at.lt(ends))
                .filter(leave_requests::ends_at.gt(starts))
                .count()
                .get_result::<i64>(conn)?;
            if overlapping > 0 {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Code::LeaveOverlaps,
                    "another leave of this student covers part of this time",
                )
                .with_field("starts_at"));
            }
            let tz = repo::timezone(conn, &student.school_id)?;
            let needs_school = repo::school_days(starts, ends, &tz) > policy.school_approval_days;
            let id = new_id(now);
            diesel::insert_into(leave_requests::table)
                .values((
                    leave_requests::id.eq(&id),
                    leave_requests::student_id.eq(&student.id),
                    leave_requests::school_id.eq(&student.school_id),
                    leave_requests::class_id.eq(&student.class_id),
                    leave_requests::kind.eq(b.kind.as_str()),
                    leave_requests::starts_at.eq(starts),
                    leave_requests::ends_at.eq(ends),
                    leave_requests::reason.eq(b.reason.as_str()),
                    leave_requests::leaves_campus.eq(b.leaves_campus),
                    leave_requests::pickup_person_id
                        .eq(b.pickup_person_id.map(|p| p.into_string())),
                    leave_requests::requested_by.eq(&caller.user_id),
                    leave_requests::requester_role.eq(caller.role.as_str()),
                    leave_requests::status.eq(status.as_str()),
                    leave_requests::needs_school.eq(needs_school),
                    leave_requests::created_at.eq(now),
                    leave_requests::updated_at.eq(now),
                ))
                .execute(conn)?;
            let row = repo::leave_row(conn, &id)?;
            notify_next_approver(conn, now, &row, &student)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "leave.request", "leave_request", Some(&id))
                    .in_school(Some(&student.school_id)),
            )?;
            repo::view(conn, &caller, &id)
        })
        .await
}

/// A leave filed after an absence alert answers it: the student's
/// unexcused absences on the school days the approved leave touches become
/// excused (they no longer count toward a concern).
fn excuse_covered_absences(conn: &mut AnyConnection, row: &LeaveRow) -> AppResult<()> {
    use crate::db::schema::absences;
    let tz = repo::timezone(conn, &row.school_id)?;
    let first = repo::date_key(school_local(to_utc(row.starts_at), &tz).date());
    let last = repo::date_key(school_local(to_utc(row.ends_at), &tz).date());
    diesel::update(
        absences::table
            .filter(absences::student_id.eq(&row.student_id))
            .filter(absences::excused.eq(false))
            .filter(absences::withdrawn_at.is_null())
            .filter(absences::local_date.ge(first))
            .filter(absences::local_date.le(last)),
    )
    .set((absences::excused.eq(true), absences::leave_id.eq(&row.id)))
    .execute(conn)?;
    Ok(())
}

/// Tells whoever decides next that a leave waits for them.
fn notify_next_approver(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    row: &LeaveRow,
    student: &StudentRow,
) -> AppResult<()> {
    let to = match row.status() {
        LeaveStatus::PendingGuardian => crate::org::family::guardians(conn, &row.student_id)?,
        LeaveStatus::PendingTeacher => family::head_teacher_of(conn, &row.class_id)?
            .into_iter()
            .collect(),
        LeaveStatus::PendingSchool => {
            family::users_with_role(conn, &row.school_id, Role::SchoolAdmin)?
        }
        _ => Vec::new(),
    };
    let data = leave_data(conn, row, &student.name)?;
    notify::send(
        conn,
        now,
        &to,
        Template::LeaveAwaitingDecision,
        data,
        Category::Leave,
    )
}

/// Tells the student and the guardians how the chain ended.
fn notify_family(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    row: &LeaveRow,
    student: &StudentRow,
    template: Template,
) -> AppResult<()> {
    let mut to = crate::org::family::guardians(conn, &row.student_id)?;
    to.extend(family::student_account(student));
    let data = leave_data(conn, row, &student.name)?;
    notify::send(conn, now, &to, template, data, Category::Leave)
}

/// Leave requests the caller may see: the student's own, a guardian's
/// children's, the school's for its staff. `awaiting_me=true` is the
/// caller's queue.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(LeaveQuery),
    responses(
        (status = 200, body = Page<Leave>),
    )
)]
#[get("/leave-requests")]
pub(super) async fn list_leaves(
    state: State,
    caller: Caller,
    q: web::Query<LeaveQuery>,
) -> AppResult<web::Json<Page<Leave>>> {
    let q = q.into_inner();
    let paging = crate::http::PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = paging.limit()?;
    let cursor = paging.cursor()?;
    let page = state
        .db
        .read(move |conn| {
            let mut query = leave_requests::table
                .select(LeaveRow::as_select())
                .order(leave_requests::id.desc())
                .limit(limit + 1)
                .into_boxed();
            // The same scope as `students_in_scope`, as subqueries.
            query = match caller.role {
                r if r.is_district() => query.filter(
                    leave_requests::school_id.eq_any(
                        schools::table
                            .filter(schools::district_id.eq(caller.district_id.clone()))
                            .select(schools::id),
                    ),
                ),
                // A guardian barred from a child (a court order) no longer
                // reads the child's leave.
                Role::Parent => query.filter(
                    leave_requests::student_id.eq_any(family::unbarred_children(conn, &caller)?),
                ),
                Role::Student => query.filter(
                    leave_requests::student_id.eq_any(
                        students::table
                            .filter(students::user_id.eq(caller.user_id.clone()))
                            .select(students::id),
                    ),
                ),
                _ => query.filter(
                    leave_requests::school_id.eq(caller.school_id.clone().unwrap_or_default()),
                ),
            };
            if let Some(s) = q.status {
                query = query.filter(leave_requests::status.eq(s.as_str()));
            }
            if let Some(s) = q.student_id {
                query = query.filter(leave_requests::student_id.eq(s));
            }
            if let Some(c) = q.class_id {
                query = query.filter(leave_requests::class_id.eq(c));
            }
            if let Some(c) = cursor {
                query = query.filter(leave_requests::id.lt(c));
            }
            if q.awaiting_me == Some(true) {
                query = match caller.role {
                    Role::Parent => query
                        .filter(leave_requests::status.eq(LeaveStatus::PendingGuardian.as_str())),
                    Role::Teacher => {
                        use crate::db::schema::classes;
                        let mine: Vec<String> = classes::table
                            .filter(classes::head_teacher_id.eq(&caller.user_id))
                            .select(classes::id)
                            .load(conn)?;
                        query
                            .filter(leave_requests::status.eq(LeaveStatus::PendingTeacher.as_str()))
                            .filter(leave_requests::class_id.eq_any(mine))
                    }
                    Role::SchoolAdmin => {
                        query.filter(leave_requests::status.eq(LeaveStatus::PendingSchool.as_str()))
                    }
                    // Nothing waits for anyone else.
                    _ => query.filter(leave_requests::id.is_null()),
                };
            }
            let rows = query.load(conn)?;
            let page = Page::from_rows(rows, limit, |r: &LeaveRow| r.id.clone());
            Ok(Page {
                items: repo::views(conn, &caller, page.items)?,
                next_cursor: page.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// One leave request.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 200, body = Leave),
    )
)]
#[get("/leave-requests/{id}")]
pub(super) async fn get_leave(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Leave>> {
    let id = id.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let (row, _) = repo::visible_leave(conn, &caller, &id)?;
            repo::view(conn, &caller, &row.id)
        })
        .await?;
    Ok(web::Json(view))
}

/// A guardian co-signs (or refuses) the leave their child asked for.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    request_body = Decision,
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/guardian-decision")]
pub(super) async fn guardian_decision(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<Decision>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .status(StatusCode::OK)
        .run(move |conn| {
            let (row, student) = repo::visible_leave(conn, &caller, &id)?;
            if caller.role != Role::Parent
                || !family::is_guardian(conn, &caller.user_id, &student.id)?
            {
                return Err(ApiError::forbidden(
                    Code::GuardianRequired,
                    "only a guardian of the student co-signs a leave",
                ));
            }
            if row.status() != LeaveStatus::PendingGuardian {
                return Err(not_pending("this leave does not wait for a guardian"));
            }
            let to = if b.approve {
                LeaveStatus::PendingTeacher
            } else {
                LeaveStatus::Rejected
            };
            set_status(conn, &row.id, LeaveStatus::PendingGuardian, to, now)?;
            diesel::update(leave_requests::table.find(&row.id))
                .set((
                    leave_requests::guardian_decided_by.eq(&caller.user_id),
                    leave_requests::guardian_note.eq(b.note.map(|n| n.into_string())),
                ))
                .execute(conn)?;
            let row = repo::leave_row(conn, &row.id)?;
            if b.approve {
                notify_next_approver(conn, now, &row, &student)?;
            } else {
                notify_family(conn, now, &row, &student, Template::LeaveRejected)?;
            }
            let action = if b.approve {
                "leave.guardian_approve"
            } else {
                "leave.guardian_reject"
            };
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, action, "leave_request", Some(&row.id))
                    .in_school(Some(&student.school_id)),
            )?;
            repo::view(conn, &caller, &row.id)
        })
        .await
}

/// The head teacher decides; a leave longer than the school threshold then
/// goes to the school admin, who decides last.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    request_body = Decision,
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/decision")]
pub(super) async fn decision(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<Decision>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .status(StatusCode::OK)
        .run(move |conn| {
            let (row, student) = repo::visible_leave(conn, &caller, &id)?;
            let head = family::is_head_teacher(conn, &caller, &row.class_id)?;
            let admin = caller.role == Role::SchoolAdmin
                && caller.school_id.as_deref() == Some(row.school_id.as_str());
            if !head && !admin {
                return Err(ApiError::forbidden(
                    Code::NotApprover,
                    "only the head teacher, then the school admin, decide a leave",
                ));
            }
            let status = row.status();
            let note = b.note.map(|n| n.into_string());
            let to = match status {
                LeaveStatus::PendingTeacher if !head => {
                    return Err(ApiError::forbidden(
                        Code::NotHeadTeacher,
                        "this leave waits for the head teacher",
                    ))
                }
                LeaveStatus::PendingSchool if !admin => {
                    return Err(ApiError::forbidden(
                        Code::SchoolAdminRequired,
                        "this leave waits for the school admin",
                    ))
                }
                LeaveStatus::PendingTeacher => {
                    diesel::update(leave_requests::table.find(&row.id))
                        .set((
                            leave_requests::teacher_decided_by.eq(&caller.user_id),
                            leave_requests::teacher_note.eq(&note),
                        ))
                        .execute(conn)?;
                    match (b.approve, row.needs_school) {
                        (false, _) => LeaveStatus::Rejected,
                        (true, true) => LeaveStatus::PendingSchool,
                        (true, false) => LeaveStatus::Approved,
                    }
                }
                LeaveStatus::PendingSchool => {
                    diesel::update(leave_requests::table.find(&row.id))
                        .set((
                            leave_requests::school_decided_by.eq(&caller.user_id),
                            leave_requests::school_note.eq(&note),
                        ))
                        .execute(conn)?;
                    if b.approve {
                        LeaveStatus::Approved
                    } else {
                        LeaveStatus::Rejected
                    }
                }
                LeaveStatus::PendingGuardian => {
                    return Err(not_pending(
                        "this leave waits for a guardian's co-signature",
                    ))
                }
                _ => return Err(not_pending("this leave was already decided")),
            };
            set_status(conn, &row.id, status, to, now)?;
            let row = repo::leave_row(conn, &row.id)?;
            if to == LeaveStatus::Approved {
                excuse_covered_absences(conn, &row)?;
            }
            match to {
                LeaveStatus::PendingSchool => notify_next_approver(conn, now, &row, &student)?,
                LeaveStatus::Approved => {
                    notify_family(conn, now, &row, &student, Template::LeaveApproved)?
                }
                _ => notify_family(conn, now, &row, &student, Template::LeaveRejected)?,
            }
            let action = match (status, b.approve) {
                (LeaveStatus::PendingSchool, true) => "leave.school_approve",
                (LeaveStatus::PendingSchool, false) => "leave.school_reject",
                (_, true) => "leave.teacher_approve",
                (_, false) => "leave.teacher_reject",
            };
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, action, "leave_request", Some(&row.id))
                    .in_school(Some(&student.school_id)),
            )?;
            repo::view(conn, &caller, &row.id)
        })
        .await
}

/// The requester withdraws a leave before it starts.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/withdraw")]
pub(super) async fn withdraw(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Leave>> {
    let id = id.into_inner();
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| {
            let (row, student) = repo::visible_leave(conn, &caller, &id)?;
            if row.requested_by != caller.user_id {
                return Err(ApiError::forbidden(
                    Code::RequesterRequired,
                    "only whoever asked for the leave withdraws it",
                ));
            }
            let status = row.status();
            if !(status.is_pending() || status == LeaveStatus::Approved) {
                return Err(not_pending("this leave can no longer be withdrawn"));
            }
            if row.starts_at <= now {
                return Err(ApiError::conflict(
                    Code::LeaveStarted,
                    "a leave that has started cannot be withdrawn",
                ));
            }
            set_status(conn, &row.id, status, LeaveStatus::Withdrawn, now)?;
            diesel::update(leave_requests::table.find(&row.id))
                .set(leave_requests::withdrawn_at.eq(now))
                .execute(conn)?;
            let mut to = crate::org::family::guardians(conn, &row.student_id)?;
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
                AuditEvent::by(&caller, "leave.withdraw", "leave_request", Some(&row.id))
                    .in_school(Some(&student.school_id)),
            )?;
            repo::view(conn, &caller, &row.id)
        })
        .await?;
    Ok(web::Json(view))
}

fn random_code() -> String {
    let mut b = [0u8; 8];
    b.copy_from_slice(&crate::crypto::random_bytes(8));
    format!("{:08}", u64::from_be_bytes(b) % 100_000_000)
}

/// Issue the gate pass of an approved leave that leaves campus (the
/// student, a guardian or the head teacher). The code and QR token are
/// shown once and stored only as hashes; issuing again replaces them.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 201, body = LeavePass),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/pass")]
pub(super) async fn issue_pass(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let pass = state
        .db
        .write(move |conn| {
            let (row, student) = repo::visible_leave(conn, &caller, &id)?;
            let own = student.user_id.as_deref() == Some(caller.user_id.as_str());
            let allowed = own
                || (caller.role == Role::Parent
                    && family::is_guardian(conn, &caller.user_id, &student.id)?)
                || family::is_head_teacher(conn, &caller, &row.class_id)?;
            if !allowed {
                return Err(ApiError::forbidden(
                    Code::ForbiddenRole,
                    "the student, a guardian or the head teacher holds the pass",
                ));
            }
            if row.status() != LeaveStatus::Approved || !row.leaves_campus {
                return Err(not_active(
                    "only an approved leave that leaves campus has a pass",
                ));
            }
            // A code unique among the school's leaves waiting at the gate.
            let code = loop {
                let c = random_code();
                let taken = leave_requests::table
                    .filter(leave_requests::school_id.eq(&row.school_id))
                    .filter(leave_requests::status.eq(LeaveStatus::Approved.as_str()))
                    .filter(leave_requests::code_hash.eq(repo::pass_code_hash(&c)))
                    .count()
                    .get_result::<i64>(conn)?;
                if taken == 0 {
                    break c;
                }
            };
            let qr_token = crate::crypto::random_token();
            diesel::update(leave_requests::table.find(&row.id))
                .set((
                    leave_requests::code_hash.eq(repo::pass_code_hash(&code)),
                    leave_requests::qr_token_hash.eq(repo::qr_token_hash(&qr_token)),
                    leave_requests::updated_at.eq(now),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "leave.pass_issue", "leave_request", Some(&row.id))
                    .in_school(Some(&student.school_id)),
            )?;
            Ok(LeavePass { code, qr_token })
        })
        .await?;
    Ok(HttpResponse::Created().json(pass))
}

/// The adult a gate exit names, if any: at most one.
fn adult_of(
    guardian: Option<crate::org::dto::Id>,
    person: Option<crate::org::dto::Id>,
    presented: Option<crate::pickup::dto::Presented>,
) -> AppResult<(Option<AdultRef>, Identity)> {
    let adult = match (guardian, person) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "guardian_user_id",
                "name one adult: guardian_user_id or pickup_person_id",
            ))
        }
        (Some(g), None) => Some(AdultRef::Guardian(g.into_string())),
        (None, Some(p)) => Some(AdultRef::PickupPerson(p.into_string())),
        (None, None) => None,
    };
    let p = presented.unwrap_or_default();
    Ok((
        adult,
        Identity {
            name: p.name.map(|n| n.into_string()),
            phone: p.phone.map(|p| p.into_string()),
            id_last4: p.id_last4.map(|i| i.into_string()),
        },
    ))
}

/// Records a student's exit on leave, or refuses it. A refused adult is
/// recorded and alerted (the pickup rules), so the refusal commits.
fn exit_leave(
    conn: &mut AnyConnection,
    caller: &Caller,
    row: LeaveRow,
    student: StudentRow,
    adult: Option<AdultRef>,
    presented: Identity,
    now_utc: DateTime<Utc>,
) -> AppResult<Result<Leave, ApiError>> {
    // As stored: microseconds, like `Clock::now_db`.
    let now = now_utc.trunc_subsecs(6).naive_utc();
    match row.status() {
        LeaveStatus::Approved => {}
        LeaveStatus::Out | LeaveStatus::Overdue | LeaveStatus::Returned => {
            return Err(not_active("this student already left on this leave"))
        }
        s if s.is_pending() => return Err(not_active("this leave is not approved")),
        _ => return Err(not_active("this leave was withdrawn or rejected")),
    }
    if !row.leaves_campus {
        return Err(not_active("this leave does not leave campus"));
    }
    if now < row.starts_at - chrono::Duration::minutes(repo::EXIT_EARLY_MINUTES)
        || now > row.ends_at
    {
        return Err(not_active(
            "the leave is not open now (from 30 minutes before its start to its end)",
        ));
    }
    let tz = repo::timezone(conn, &student.school_id)?;
    let local = school_local(now_utc, &tz);
    let time = local.format("%H:%M").to_string();
    // A pupil already handed over at dismissal today has left with that adult.
    let handed_over: i64 = crate::db::schema::handovers::table
        .filter(crate::db::schema::handovers::student_id.eq(&student.id))
        .filter(
            crate::db::schema::handovers::local_date
                .eq(crate::pickup::repo::date_key(local.date())),
        )
        .count()
        .get_result(conn)?;
    if handed_over > 0 {
        return Err(ApiError::conflict(
            Code::AlreadyReleased,
            "this student was already handed over today",
        ));
    }
    let released = match adult {
        None if student.handover_required => return Err(ApiError::forbidden(
            Code::PickupNotAuthorized,
            "this student leaves only with an authorised adult: name the guardian or pickup person",
        )),
        None => None,
        Some(adult) => {
            match crate::pickup::authorise_adult(conn, &student, &adult, &presented, local)? {
                Ok(r) => Some(r),
                Err(refusal) => {
                    crate::pickup::record_refusal(conn, now, caller, &student, &refusal, &time)?;
                    return Ok(Err(refusal.error()));
                }
            }
        }
    };
    if let Some(r) = &released {
        crate::pickup::consume(conn, r, now)?;
    }
    let n = diesel::update(
        leave_requests::table
            .filter(leave_requests::id.eq(&row.id))
            .filter(leave_requests::status.eq(LeaveStatus::Approved.as_str())),
    )
    .set((
        leave_requests::status.eq(LeaveStatus::Out.as_str()),
        leave_requests::left_at.eq(now),
        leave_requests::exit_by.eq(&caller.user_id),
        leave_requests::exit_adult_kind.eq(released.as_ref().map(|r| r.kind.as_str())),
        leave_requests::exit_adult_name.eq(released.as_ref().map(|r| r.name.clone())),
        leave_requests::updated_at.eq(now),
    ))
    .execute(conn)?;
    if n != 1 {
        return Err(not_active("this student already left on this leave"));
    }
    let guardians = crate::org::family::guardians(conn, &student.id)?;
    let mut data = leave_data(conn, &row, &student.name)?;
    data["time"] = serde_json::json!(time);
    data["adult"] = serde_json::json!(released
        .as_ref()
        .map(|r| format!("{} ({})", r.name, r.relation))
        .unwrap_or_else(|| "—".into()));
    notify::send(
        conn,
        now,
        &guardians,
        Template::LeaveExited,
        data,
        Category::Leave,
    )?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "leave.exit", "leave_request", Some(&row.id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(Ok(repo::view(conn, caller, &row.id)?))
}

/// The gate lets a student out on an approved leave. A student who needs
/// handover leaves only with an authorised adult (the pickup rules).
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    request_body = ExitBody,
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/exit")]
pub(super) async fn exit(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<ExitBody>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner()?;
    let caller = gate.0;
    let (adult, presented) = adult_of(b.guardian_user_id, b.pickup_person_id, b.presented)?;
    let now_utc = state.now();
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .status(StatusCode::OK)
    .run_keeping_refusals(move |conn| {
        let (row, student) = repo::visible_leave(conn, &caller, &id)?;
        exit_leave(conn, &caller, row, student, adult, presented, now_utc)
    })
    .await
}

/// The guard scans a leave pass (its code or QR token) and lets the student out.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    request_body = GateExit,
    responses(
        (status = 200, body = Leave),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/gate/leave-exit")]
pub(super) async fn gate_exit(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    body: JsonBody<GateExit>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let caller = gate.0;
    let hash = match (&b.code, &b.qr_token) {
        (Some(c), None) => {
            if c.as_str().len() != 8 || !c.as_str().bytes().all(|x| x.is_ascii_digit()) {
                return Err(ApiError::invalid("code", "code is 8 digits"));
            }
            (true, repo::pass_code_hash(c.as_str()))
        }
        (None, Some(t)) => (false, repo::qr_token_hash(t.as_str())),
        _ => {
            return Err(ApiError::invalid(
                "code",
                "give exactly one of code or qr_token",
            ))
        }
    };
    let (adult, presented) = adult_of(b.guardian_user_id, b.pickup_person_id, b.presented)?;
    let now_utc = state.now();
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .status(StatusCode::OK)
    .run_keeping_refusals(move |conn| {
        let school = caller.own_school()?.to_string();
        // A pass waiting at the gate first; else the latest that held
        // this code (so a second scan answers "already left").
        let mut found = None;
        for waiting in [true, false] {
            let mut q = leave_requests::table
                .filter(leave_requests::school_id.eq(&school))
                .select(leave_requests::id)
                .order(leave_requests::id.desc())
                .into_boxed();
            q = if hash.0 {
                q.filter(leave_requests::code_hash.eq(&hash.1))
            } else {
                q.filter(leave_requests::qr_token_hash.eq(&hash.1))
            };
            if waiting {
                q = q.filter(leave_requests::status.eq(LeaveStatus::Approved.as_str()));
            }
            found = q.first::<String>(conn).optional()?;
            if found.is_some() {
                break;
            }
        }
        let id = found.ok_or_else(|| ApiError::not_found("leave pass"))?;
        let (row, student) = repo::visible_leave(conn, &caller, &id)?;
        exit_leave(conn, &caller, row, student, adult, presented, now_utc)
    })
    .await
}

/// The student is back (销假): the guard, the head teacher or the school
/// admin records it; guardians and the head teacher are told.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/return")]
pub(super) async fn record_return(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let caller = gate.0;
    let now = state.now_db();
    let now_utc = state.now();
    Idempotent::new(
        &state.db,
        now,
        caller.idempotency_scope(),
        key,
        crate::crypto::sha256(b""),
    )
    .status(StatusCode::OK)
    .run(move |conn| {
        let (row, student) = repo::visible_leave(conn, &caller, &id)?;
        if caller.role == Role::Teacher && !family::is_head_teacher(conn, &caller, &row.class_id)? {
            return Err(ApiError::forbidden(
                Code::NotHeadTeacher,
                "the guard or the head teacher records a return",
            ));
        }
        let status = row.status();
        let back_from = match status {
            LeaveStatus::Out | LeaveStatus::Overdue => status,
            LeaveStatus::Approved if !row.leaves_campus => status,
            LeaveStatus::Approved => {
                return Err(not_active("this student has not left on this leave"))
            }
            LeaveStatus::Returned => return Err(not_active("this return is already recorded")),
            _ => return Err(not_active("this leave is not approved")),
        };
        set_status(conn, &row.id, back_from, LeaveStatus::Returned, now)?;
        diesel::update(leave_requests::table.find(&row.id))
            .set((
                leave_requests::returned_at.eq(now),
                leave_requests::returned_by.eq(&caller.user_id),
            ))
            .execute(conn)?;
        let mut to = crate::org::family::guardians(conn, &student.id)?;
        to.extend(family::head_teacher_of(conn, &row.class_id)?);
        to.sort();
        to.dedup();
        let tz = repo::timezone(conn, &student.school_id)?;
        let mut data = leave_data(conn, &row, &student.name)?;
        data["time"] = serde_json::json!(school_local(now_utc, &tz).format("%H:%M").to_string());
        notify::send(
            conn,
            now,
            &to,
            Template::LeaveReturned,
            data,
            Category::Leave,
        )?;
        audit::record(
            conn,
            now,
            AuditEvent::by(&caller, "leave.return", "leave_request", Some(&row.id))
                .in_school(Some(&student.school_id)),
        )?;
        repo::view(conn, &caller, &row.id)
    })
    .await
}
