use super::*;
use LeaveStatus::*;

const NOT_PENDING: [LeaveStatus; 6] = [Approved, Rejected, Withdrawn, Out, Overdue, Returned];

fn at(h: u32, m: u32) -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
        .unwrap()
        .and_hms_opt(h, m, 0)
        .unwrap()
}

fn who(guardian: bool, head_teacher: bool, school_admin: bool) -> Deciders {
    Deciders {
        guardian,
        head_teacher,
        school_admin,
    }
}

#[test]
fn a_students_own_leave_waits_for_a_guardian_and_a_familys_for_the_head_teacher() {
    assert_eq!(first_status(Role::Student, false), Ok(PendingGuardian));
    assert_eq!(first_status(Role::Parent, false), Ok(PendingTeacher));
    assert_eq!(first_status(Role::Teacher, true), Ok(PendingTeacher));
    assert_eq!(
        first_status(Role::Teacher, false),
        Err(Refusal::NotHeadTeacherFiling)
    );
    for role in [
        Role::SchoolAdmin,
        Role::Guard,
        Role::Counselor,
        Role::DistrictAdmin,
    ] {
        assert_eq!(first_status(role, true), Err(Refusal::NotRequester));
        assert_eq!(may_file(role), Err(Refusal::NotRequester));
    }
    for role in [Role::Student, Role::Parent, Role::Teacher] {
        assert_eq!(may_file(role), Ok(()));
    }
}

#[test]
fn the_school_admin_decides_only_leaves_longer_than_the_threshold() {
    assert!(!needs_school(3, 3));
    assert!(needs_school(4, 3));
    assert!(!needs_school(0, 3));
}

#[test]
fn only_a_guardian_co_signs_and_only_a_leave_waiting_for_one() {
    assert_eq!(guardian_seat(who(true, false, false)), Ok(Seat::Guardian));
    assert_eq!(
        guardian_seat(who(false, true, true)),
        Err(Refusal::GuardianRequired)
    );
    assert_eq!(
        decide(PendingGuardian, false, Seat::Guardian, true),
        Ok(PendingTeacher)
    );
    // The school's threshold does not skip the head teacher.
    assert_eq!(
        decide(PendingGuardian, true, Seat::Guardian, true),
        Ok(PendingTeacher)
    );
    assert_eq!(
        decide(PendingGuardian, true, Seat::Guardian, false),
        Ok(Rejected)
    );
    for s in [PendingTeacher, PendingSchool]
        .into_iter()
        .chain(NOT_PENDING)
    {
        assert_eq!(
            decide(s, false, Seat::Guardian, true),
            Err(Refusal::NotAwaitingGuardian)
        );
    }
}

#[test]
fn the_head_teacher_decides_first_and_a_long_leave_goes_on_to_the_school_admin() {
    let head = Seat::HeadTeacher;
    assert_eq!(decide(PendingTeacher, false, head, true), Ok(Approved));
    assert_eq!(decide(PendingTeacher, true, head, true), Ok(PendingSchool));
    assert_eq!(decide(PendingTeacher, true, head, false), Ok(Rejected));
    assert_eq!(decide(PendingTeacher, false, head, false), Ok(Rejected));
    assert_eq!(
        decide(PendingSchool, true, head, true),
        Err(Refusal::WaitsForSchoolAdmin)
    );
    let admin = Seat::SchoolAdmin;
    assert_eq!(decide(PendingSchool, true, admin, true), Ok(Approved));
    assert_eq!(decide(PendingSchool, true, admin, false), Ok(Rejected));
    assert_eq!(
        decide(PendingTeacher, true, admin, true),
        Err(Refusal::WaitsForHeadTeacher)
    );
    for seat in [head, admin] {
        assert_eq!(
            decide(PendingGuardian, false, seat, true),
            Err(Refusal::AwaitsGuardian)
        );
        for s in NOT_PENDING {
            assert_eq!(decide(s, true, seat, true), Err(Refusal::AlreadyDecided));
        }
    }
}

#[test]
fn the_school_seat_is_the_head_teachers_or_the_admins_as_the_leave_waits() {
    assert_eq!(
        school_approver(who(true, false, false)),
        Err(Refusal::NotApprover)
    );
    assert_eq!(school_approver(who(false, true, false)), Ok(()));
    assert_eq!(school_approver(who(false, false, true)), Ok(()));
    assert_eq!(
        school_seat(PendingTeacher, who(true, false, false)),
        Err(Refusal::NotApprover)
    );
    assert_eq!(
        school_seat(PendingTeacher, who(false, false, true)),
        Err(Refusal::WaitsForHeadTeacher)
    );
    assert_eq!(
        school_seat(PendingSchool, who(false, true, false)),
        Err(Refusal::WaitsForSchoolAdmin)
    );
    assert_eq!(
        school_seat(PendingTeacher, who(false, true, true)),
        Ok(Seat::HeadTeacher)
    );
    assert_eq!(
        school_seat(PendingSchool, who(false, true, true)),
        Ok(Seat::SchoolAdmin)
    );
    // Elsewhere the seat is refused by `decide` (409), not here.
    assert_eq!(
        school_seat(Approved, who(false, true, false)),
        Ok(Seat::HeadTeacher)
    );
    assert_eq!(
        school_seat(PendingGuardian, who(false, false, true)),
        Ok(Seat::SchoolAdmin)
    );
}

#[test]
fn each_decision_has_its_audit_action() {
    assert_eq!(
        decision_action(Seat::Guardian, true),
        "leave.guardian_approve"
    );
    assert_eq!(
        decision_action(Seat::Guardian, false),
        "leave.guardian_reject"
    );
    assert_eq!(
        decision_action(Seat::HeadTeacher, true),
        "leave.teacher_approve"
    );
    assert_eq!(
        decision_action(Seat::HeadTeacher, false),
        "leave.teacher_reject"
    );
    assert_eq!(
        decision_action(Seat::SchoolAdmin, true),
        "leave.school_approve"
    );
    assert_eq!(
        decision_action(Seat::SchoolAdmin, false),
        "leave.school_reject"
    );
}

#[test]
fn a_leave_is_withdrawn_only_before_it_starts_and_while_pending_or_approved() {
    for s in [PendingGuardian, PendingTeacher, PendingSchool, Approved] {
        assert_eq!(withdraw(s, at(10, 0), at(9, 0)), Ok(Withdrawn));
        assert_eq!(withdraw(s, at(10, 0), at(10, 0)), Err(Refusal::Started));
    }
    for s in [Rejected, Withdrawn, Out, Overdue, Returned] {
        assert_eq!(
            withdraw(s, at(10, 0), at(9, 0)),
            Err(Refusal::NotWithdrawable)
        );
    }
}

#[test]
fn a_pass_exists_only_for_an_approved_leave_that_leaves_campus() {
    assert!(has_pass(Approved, true));
    assert!(!has_pass(Approved, false));
    assert!(!has_pass(Out, true));
    assert!(!has_pass(PendingTeacher, true));
}

#[test]
fn the_gate_lets_out_an_approved_leave_from_half_an_hour_before_its_start_to_its_end() {
    let (start, end) = (at(10, 0), at(12, 0));
    assert_eq!(exit(Approved, true, start, end, at(9, 30)), Ok(Out));
    assert_eq!(exit(Approved, true, start, end, at(12, 0)), Ok(Out));
    assert_eq!(
        exit(Approved, true, start, end, at(9, 29)),
        Err(Refusal::NotOpen)
    );
    assert_eq!(
        exit(Approved, true, start, end, at(12, 1)),
        Err(Refusal::NotOpen)
    );
    assert_eq!(
        exit(Approved, false, start, end, at(11, 0)),
        Err(Refusal::StaysOnCampus)
    );
    for s in [Out, Overdue, Returned] {
        assert_eq!(
            exit(s, true, start, end, at(11, 0)),
            Err(Refusal::AlreadyLeft)
        );
    }
    for s in [PendingGuardian, PendingTeacher, PendingSchool] {
        assert_eq!(
            exit(s, true, start, end, at(11, 0)),
            Err(Refusal::NotApproved)
        );
    }
    for s in [Rejected, Withdrawn] {
        assert_eq!(exit(s, true, start, end, at(11, 0)), Err(Refusal::Closed));
    }
}

#[test]
fn a_return_follows_an_exit_or_an_approved_leave_on_campus() {
    assert_eq!(return_from(Out, true), Ok(Returned));
    assert_eq!(return_from(Overdue, true), Ok(Returned));
    assert_eq!(return_from(Approved, false), Ok(Returned));
    assert_eq!(return_from(Approved, true), Err(Refusal::NotLeft));
    assert_eq!(return_from(Returned, true), Err(Refusal::AlreadyReturned));
    for s in [
        PendingGuardian,
        PendingTeacher,
        PendingSchool,
        Rejected,
        Withdrawn,
    ] {
        assert_eq!(return_from(s, true), Err(Refusal::NotApproved));
    }
}

#[test]
fn a_leave_out_past_its_end_is_overdue_and_escalates_after_the_delay() {
    assert!(overdue(Out, at(12, 0), at(12, 0)));
    assert!(overdue(Overdue, at(12, 0), at(13, 0)));
    assert!(!overdue(Out, at(12, 0), at(11, 59)));
    for s in [Approved, Returned, Withdrawn, PendingTeacher] {
        assert!(!overdue(s, at(12, 0), at(13, 0)));
    }
    let delay = Duration::minutes(120);
    assert!(!escalate(at(12, 0), delay, at(13, 59)));
    assert!(escalate(at(12, 0), delay, at(14, 0)));
}

#[test]
fn every_refusal_has_its_status_and_code() {
    let e = ApiError::from(Refusal::NotApprover);
    assert_eq!((e.status.as_u16(), e.code), (403, Code::NotApprover));
    let e = ApiError::from(Refusal::AlreadyDecided);
    assert_eq!((e.status.as_u16(), e.code), (409, Code::LeaveNotPending));
    let e = ApiError::from(Refusal::NotOpen);
    assert_eq!((e.status.as_u16(), e.code), (409, Code::LeaveNotActive));
    let e = ApiError::from(Refusal::Started);
    assert_eq!((e.status.as_u16(), e.code), (409, Code::LeaveStarted));
    assert_eq!(overlaps().code, Code::LeaveOverlaps);
}
