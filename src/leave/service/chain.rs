//! The leave's state machines as pure functions: who files a leave and
//! where it starts, who decides next (guardian co-signature, head teacher,
//! school admin), and the gate's exit, return and overdue steps.

use crate::auth::Role;
use crate::error::{ApiError, Code};
use crate::leave::dto::LeaveStatus;
use actix_web::http::StatusCode;
use chrono::{Duration, NaiveDateTime};

/// How early before its start a leave's exit is accepted at the gate.
pub const EXIT_EARLY_MINUTES: i64 = 30;

/// Why a step of a leave is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Neither the student, a guardian nor a teacher: may not ask for leave.
    NotRequester,
    /// A teacher who is not the class's head teacher asked on a family's behalf.
    NotHeadTeacherFiling,
    GuardianRequired,
    /// Neither the head teacher nor the school admin.
    NotApprover,
    WaitsForHeadTeacher,
    WaitsForSchoolAdmin,
    NotAwaitingGuardian,
    AwaitsGuardian,
    AlreadyDecided,
    NotWithdrawable,
    Started,
    AlreadyLeft,
    NotApproved,
    Closed,
    StaysOnCampus,
    NotOpen,
    NotLeft,
    AlreadyReturned,
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        use Refusal::*;
        let pending = |d: &str| ApiError::conflict(Code::LeaveNotPending, d.to_string());
        let active = |d: &str| ApiError::conflict(Code::LeaveNotActive, d.to_string());
        match r {
            NotRequester => ApiError::forbidden(
                Code::ForbiddenRole,
                "the student, a guardian or the head teacher asks for leave",
            ),
            NotHeadTeacherFiling => ApiError::forbidden(
                Code::NotHeadTeacher,
                "only the head teacher files leave on a family's behalf",
            ),
            GuardianRequired => ApiError::forbidden(
                Code::GuardianRequired,
                "only a guardian of the student co-signs a leave",
            ),
            NotApprover => ApiError::forbidden(
                Code::NotApprover,
                "only the head teacher, then the school admin, decide a leave",
            ),
            WaitsForHeadTeacher => ApiError::forbidden(
                Code::NotHeadTeacher,
                "this leave waits for the head teacher",
            ),
            WaitsForSchoolAdmin => ApiError::forbidden(
                Code::SchoolAdminRequired,
                "this leave waits for the school admin",
            ),
            NotAwaitingGuardian => pending("this leave does not wait for a guardian"),
            AwaitsGuardian => pending("this leave waits for a guardian's co-signature"),
            AlreadyDecided => pending("this leave was already decided"),
            NotWithdrawable => pending("this leave can no longer be withdrawn"),
            Started => ApiError::conflict(
                Code::LeaveStarted,
                "a leave that has started cannot be withdrawn",
            ),
            AlreadyLeft => active("this student already left on this leave"),
            NotApproved => active("this leave is not approved"),
            Closed => active("this leave was withdrawn or rejected"),
            StaysOnCampus => active("this leave does not leave campus"),
            NotOpen => {
                active("the leave is not open now (from 30 minutes before its start to its end)")
            }
            NotLeft => active("this student has not left on this leave"),
            AlreadyReturned => active("this return is already recorded"),
        }
    }
}

/// The refusal of a leave that overlaps another of the same student.
pub fn overlaps() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        Code::LeaveOverlaps,
        "another leave of this student covers part of this time",
    )
    .with_field("starts_at")
}

/// Where a new leave starts: a student's own request waits for a guardian's
/// co-signature; a guardian's, or the head teacher's on the family's
/// behalf, goes to the head teacher.
pub fn first_status(role: Role, head_teacher: bool) -> Result<LeaveStatus, Refusal> {
    match role {
        Role::Student => Ok(LeaveStatus::PendingGuardian),
        Role::Parent => Ok(LeaveStatus::PendingTeacher),
        Role::Teacher if head_teacher => Ok(LeaveStatus::PendingTeacher),
        Role::Teacher => Err(Refusal::NotHeadTeacherFiling),
        _ => Err(Refusal::NotRequester),
    }
}

/// Whether the role may ask for leave at all (before the student is known).
pub fn may_file(role: Role) -> Result<(), Refusal> {
    match role {
        Role::Student | Role::Parent | Role::Teacher => Ok(()),
        _ => Err(Refusal::NotRequester),
    }
}

/// The policy: a leave of more school days than the threshold also needs
/// the school admin.
pub fn needs_school(school_days: i64, threshold: i64) -> bool {
    school_days > threshold
}

/// Who decides, in which seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seat {
    Guardian,
    HeadTeacher,
    SchoolAdmin,
}

/// What the caller is to the leave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deciders {
    pub guardian: bool,
    pub head_teacher: bool,
    pub school_admin: bool,
}

/// The seat a guardian's co-signature takes (before the body is read).
pub fn guardian_seat(who: Deciders) -> Result<Seat, Refusal> {
    if who.guardian {
        Ok(Seat::Guardian)
    } else {
        Err(Refusal::GuardianRequired)
    }
}

/// Whether the caller decides for the school at all: the class's head
/// teacher or the school admin. Asked before the body is read; which of
/// the two the leave waits for (`school_seat`) only after it.
pub fn school_approver(who: Deciders) -> Result<(), Refusal> {
    if !who.head_teacher && !who.school_admin {
        return Err(Refusal::NotApprover);
    }
    Ok(())
}

/// The seat a school decision takes: the head teacher's while the leave
/// waits for them, the school admin's while it waits for the school.
pub fn school_seat(status: LeaveStatus, who: Deciders) -> Result<Seat, Refusal> {
    school_approver(who)?;
    match status {
        LeaveStatus::PendingTeacher if !who.head_teacher => Err(Refusal::WaitsForHeadTeacher),
        LeaveStatus::PendingSchool if !who.school_admin => Err(Refusal::WaitsForSchoolAdmin),
        LeaveStatus::PendingSchool => Ok(Seat::SchoolAdmin),
        _ if who.head_teacher => Ok(Seat::HeadTeacher),
        _ => Ok(Seat::SchoolAdmin),
    }
}

/// The approval chain: the status after `seat` approves (or refuses) a
/// leave in `status`; `needs_school` is the policy's verdict at filing.
pub fn decide(
    status: LeaveStatus,
    needs_school: bool,
    seat: Seat,
    approve: bool,
) -> Result<LeaveStatus, Refusal> {
    use LeaveStatus::*;
    match (seat, status) {
        (Seat::Guardian, PendingGuardian) if approve => Ok(PendingTeacher),
        (Seat::Guardian, PendingGuardian) => Ok(Rejected),
        (Seat::Guardian, _) => Err(Refusal::NotAwaitingGuardian),
        (Seat::HeadTeacher, PendingTeacher) => Ok(match (approve, needs_school) {
            (false, _) => Rejected,
            (true, true) => PendingSchool,
            (true, false) => Approved,
        }),
        (Seat::SchoolAdmin, PendingTeacher) => Err(Refusal::WaitsForHeadTeacher),
        (Seat::SchoolAdmin, PendingSchool) if approve => Ok(Approved),
        (Seat::SchoolAdmin, PendingSchool) => Ok(Rejected),
        (Seat::HeadTeacher, PendingSchool) => Err(Refusal::WaitsForSchoolAdmin),
        (_, PendingGuardian) => Err(Refusal::AwaitsGuardian),
        _ => Err(Refusal::AlreadyDecided),
    }
}

/// The audit action of a decision.
pub fn decision_action(seat: Seat, approve: bool) -> &'static str {
    match (seat, approve) {
        (Seat::Guardian, true) => "leave.guardian_approve",
        (Seat::Guardian, false) => "leave.guardian_reject",
        (Seat::SchoolAdmin, true) => "leave.school_approve",
        (Seat::SchoolAdmin, false) => "leave.school_reject",
        (Seat::HeadTeacher, true) => "leave.teacher_approve",
        (Seat::HeadTeacher, false) => "leave.teacher_reject",
    }
}

/// Whether the requester may still withdraw: pending or approved, and not started.
pub fn withdraw(
    status: LeaveStatus,
    starts_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<LeaveStatus, Refusal> {
    if !(status.is_pending() || status == LeaveStatus::Approved) {
        return Err(Refusal::NotWithdrawable);
    }
    if starts_at <= now {
        return Err(Refusal::Started);
    }
    Ok(LeaveStatus::Withdrawn)
}

/// Whether a pass may be issued: an approved leave that leaves campus.
pub fn has_pass(status: LeaveStatus, leaves_campus: bool) -> bool {
    status == LeaveStatus::Approved && leaves_campus
}

/// Whether the student may go out through the gate on this leave now:
/// approved, leaving campus, and from 30 minutes before its start to its end.
pub fn exit(
    status: LeaveStatus,
    leaves_campus: bool,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<LeaveStatus, Refusal> {
    match status {
        LeaveStatus::Approved => {}
        LeaveStatus::Out | LeaveStatus::Overdue | LeaveStatus::Returned => {
            return Err(Refusal::AlreadyLeft)
        }
        s if s.is_pending() => return Err(Refusal::NotApproved),
        _ => return Err(Refusal::Closed),
    }
    if !leaves_campus {
        return Err(Refusal::StaysOnCampus);
    }
    if now < starts_at - Duration::minutes(EXIT_EARLY_MINUTES) || now > ends_at {
        return Err(Refusal::NotOpen);
    }
    Ok(LeaveStatus::Out)
}

/// The return (销假): from out or overdue, or from an approved leave that
/// stays on campus.
pub fn return_from(status: LeaveStatus, leaves_campus: bool) -> Result<LeaveStatus, Refusal> {
    match status {
        LeaveStatus::Out | LeaveStatus::Overdue => Ok(LeaveStatus::Returned),
        LeaveStatus::Approved if !leaves_campus => Ok(LeaveStatus::Returned),
        LeaveStatus::Approved => Err(Refusal::NotLeft),
        LeaveStatus::Returned => Err(Refusal::AlreadyReturned),
        _ => Err(Refusal::NotApproved),
    }
}

/// Whether a leave is overdue at `now`: out (or already overdue) and ended.
pub fn overdue(status: LeaveStatus, ends_at: NaiveDateTime, now: NaiveDateTime) -> bool {
    matches!(status, LeaveStatus::Out | LeaveStatus::Overdue) && ends_at <= now
}

/// Whether the school admins are alerted now: the first alert went out at
/// `first_alert` and the escalation delay has passed.
pub fn escalate(first_alert: NaiveDateTime, delay: Duration, now: NaiveDateTime) -> bool {
    first_alert + delay <= now
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
