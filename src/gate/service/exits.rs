//! The gate: the pass of an approved leave, the exit (with the adult the
//! pickup rules allow), and the return (销假).

use crate::audit::{self, AuditEvent};
use crate::auth::{Caller, Role};
use crate::clock::school_local;
use crate::dates::LocalDate;
use crate::db::AnyConnection;
use crate::error::{ApiError, AppResult, Code};
use crate::gate::dto::{ExitBody, GateExit};
use crate::gate::repo::{self, ExitRow, PassHash};
use crate::leave::dto::{Leave, LeavePass};
use crate::leave::repo::{self as leave, Visible};
use crate::leave::service::{chain, leave_data, set_status};
use crate::notify::{self, Category, Template};
use crate::org::dto::Id;
use crate::org::family::{self, Identity};
use crate::pickup::dto::Presented;
use crate::pickup::AdultRef;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

fn random_code() -> String {
    let mut b = [0u8; 8];
    b.copy_from_slice(&crate::crypto::random_bytes(8));
    format!("{:08}", u64::from_be_bytes(b) % 100_000_000)
}

/// Issues (or replaces) the gate pass of an approved leave that leaves
/// campus: the student, a guardian or the head teacher.
pub fn issue_pass(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<LeavePass> {
    let Visible {
        row,
        student,
        guardian,
    } = leave::visible_leave(conn, caller, id)?;
    let own = student.user_id.as_deref() == Some(caller.user_id.as_str());
    if !(own || guardian || family::is_head_teacher(conn, caller, &row.class_id)?) {
        return Err(ApiError::forbidden(
            Code::ForbiddenRole,
            "the student, a guardian or the head teacher holds the pass",
        ));
    }
    if !chain::has_pass(row.status(), row.leaves_campus) {
        return Err(ApiError::conflict(
            Code::LeaveNotActive,
            "only an approved leave that leaves campus has a pass",
        ));
    }
    // A code unique among the school's leaves waiting at the gate.
    let code = loop {
        let c = random_code();
        if !repo::pass_code_taken(conn, &row.school_id, &c)? {
            break c;
        }
    };
    let qr_token = crate::crypto::random_token();
    repo::set_pass(conn, &row.id, &code, &qr_token, now)?;
    audit::record(
        conn,
        now,
        AuditEvent::by(caller, "leave.pass_issue", "leave_request", Some(&row.id))
            .in_school(Some(&student.school_id)),
    )?;
    Ok(LeavePass { code, qr_token })
}

/// The adult a gate exit names, if any: at most one.
fn adult_of(
    guardian: Option<Id>,
    person: Option<Id>,
    presented: Option<Presented>,
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

/// The gate lets a student out on an approved leave (the leave first,
/// then the body).
pub fn exit(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    body: Result<ExitBody, ApiError>,
) -> AppResult<Result<Leave, ApiError>> {
    let v = leave::visible_leave(conn, caller, id)?;
    let b = body?;
    let (adult, presented) = adult_of(b.guardian_user_id, b.pickup_person_id, b.presented)?;
    exit_leave(conn, caller, v, adult, presented, now_utc)
}

/// The guard scans a pass (its code or its QR token) and lets the student out.
pub fn gate_exit(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    caller: &Caller,
    body: Result<GateExit, ApiError>,
) -> AppResult<Result<Leave, ApiError>> {
    let b = body?;
    let hash = match (&b.code, &b.qr_token) {
        (Some(c), None) => {
            if c.as_str().len() != 8 || !c.as_str().bytes().all(|x| x.is_ascii_digit()) {
                return Err(ApiError::invalid("code", "code is 8 digits"));
            }
            PassHash::Code(repo::pass_code_hash(c.as_str()))
        }
        (None, Some(t)) => PassHash::QrToken(repo::qr_token_hash(t.as_str())),
        _ => {
            return Err(ApiError::invalid(
                "code",
                "give exactly one of code or qr_token",
            ))
        }
    };
    let (adult, presented) = adult_of(b.guardian_user_id, b.pickup_person_id, b.presented)?;
    let school = caller.own_school()?.to_string();
    let id = repo::leave_by_pass(conn, &school, &hash)?
        .ok_or_else(|| ApiError::not_found("leave pass"))?;
    let v = leave::visible_leave(conn, caller, &id)?;
    exit_leave(conn, caller, v, adult, presented, now_utc)
}

/// Records a student's exit on leave, or refuses it. A refused adult is
/// recorded and alerted (the pickup rules), so the refusal commits.
fn exit_leave(
    conn: &mut AnyConnection,
    caller: &Caller,
    v: Visible,
    adult: Option<AdultRef>,
    presented: Identity,
    now_utc: DateTime<Utc>,
) -> AppResult<Result<Leave, ApiError>> {
    let Visible { row, student, .. } = v;
    // As stored: microseconds, like `Clock::now_db`.
    let now = now_utc.trunc_subsecs(6).naive_utc();
    chain::exit(
        row.status(),
        row.leaves_campus,
        row.starts_at,
        row.ends_at,
        now,
    )?;
    let tz = leave::timezone(conn, &student.school_id)?;
    let local = school_local(now_utc, &tz);
    let time = local.format("%H:%M").to_string();
    // A pupil already handed over at dismissal today has left with that adult.
    if repo::handed_over_on(conn, &student.id, LocalDate(local.date()))? {
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
    let exit = ExitRow {
        by: &caller.user_id,
        adult_kind: released.as_ref().map(|r| r.kind.as_str()),
        adult_name: released.as_ref().map(|r| r.name.clone()),
    };
    if !repo::mark_out(conn, &row.id, exit, now)? {
        return Err(chain::Refusal::AlreadyLeft.into());
    }
    let guardians = family::guardians(conn, &student.id)?;
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
    Ok(Ok(leave::view(conn, caller, &row.id)?))
}

/// The student is back (销假): the guard, the head teacher or the school
/// admin records it; guardians and the head teacher are told.
pub fn record_return(
    conn: &mut AnyConnection,
    now_utc: DateTime<Utc>,
    now: NaiveDateTime,
    caller: &Caller,
    id: &str,
) -> AppResult<Leave> {
    let Visible { row, student, .. } = leave::visible_leave(conn, caller, id)?;
    if caller.role == Role::Teacher && !family::is_head_teacher(conn, caller, &row.class_id)? {
        return Err(ApiError::forbidden(
            Code::NotHeadTeacher,
            "the guard or the head teacher records a return",
        ));
    }
    let from = row.status();
    let to = chain::return_from(from, row.leaves_campus)?;
    set_status(conn, &row.id, from, to, now)?;
    repo::record_return(conn, &row.id, &caller.user_id, now)?;
    let mut to = family::guardians(conn, &student.id)?;
    to.extend(family::head_teacher_of(conn, &row.class_id)?);
    to.sort();
    to.dedup();
    let tz = leave::timezone(conn, &student.school_id)?;
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
        AuditEvent::by(caller, "leave.return", "leave_request", Some(&row.id))
            .in_school(Some(&student.school_id)),
    )?;
    leave::view(conn, caller, &row.id)
}
