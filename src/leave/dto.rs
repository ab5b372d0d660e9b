//! Request and response types of leave, gate exits, roll calls and concerns.

use crate::http::Text;
use crate::org::dto::Id;
use crate::pickup::dto::Presented;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeaveKind {
    Sick,
    Personal,
    Family,
    Other,
}

impl LeaveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveKind::Sick => "sick",
            LeaveKind::Personal => "personal",
            LeaveKind::Family => "family",
            LeaveKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<LeaveKind> {
        [
            LeaveKind::Sick,
            LeaveKind::Personal,
            LeaveKind::Family,
            LeaveKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// Where a leave stands. `out`: the student left through the gate;
/// `overdue`: the leave ended without a return; `returned`: 销假 recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeaveStatus {
    PendingGuardian,
    PendingTeacher,
    PendingSchool,
    Approved,
    Rejected,
    Withdrawn,
    Out,
    Overdue,
    Returned,
}

impl LeaveStatus {
    pub const ALL: [LeaveStatus; 9] = [
        LeaveStatus::PendingGuardian,
        LeaveStatus::PendingTeacher,
        LeaveStatus::PendingSchool,
        LeaveStatus::Approved,
        LeaveStatus::Rejected,
        LeaveStatus::Withdrawn,
        LeaveStatus::Out,
        LeaveStatus::Overdue,
        LeaveStatus::Returned,
    ];

    /// Statuses that still hold the student's time: no other leave may overlap.
    pub const ACTIVE: [LeaveStatus; 6] = [
        LeaveStatus::PendingGuardian,
        LeaveStatus::PendingTeacher,
        LeaveStatus::PendingSchool,
        LeaveStatus::Approved,
        LeaveStatus::Out,
        LeaveStatus::Overdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeaveStatus::PendingGuardian => "pending_guardian",
            LeaveStatus::PendingTeacher => "pending_teacher",
            LeaveStatus::PendingSchool => "pending_school",
            LeaveStatus::Approved => "approved",
            LeaveStatus::Rejected => "rejected",
            LeaveStatus::Withdrawn => "withdrawn",
            LeaveStatus::Out => "out",
            LeaveStatus::Overdue => "overdue",
            LeaveStatus::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<LeaveStatus> {
        LeaveStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_pending(self) -> bool {
        matches!(
            self,
            LeaveStatus::PendingGuardian | LeaveStatus::PendingTeacher | LeaveStatus::PendingSchool
        )
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeave {
    pub student_id: Id,
    pub kind: LeaveKind,
    /// RFC 3339 with offset.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Text<500>,
    /// The student goes out through the gate during the leave (and must
    /// come back through it: 销假).
    pub leaves_campus: bool,
    /// An authorised pickup person of the student who will fetch them.
    pub pickup_person_id: Option<Id>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub approve: bool,
    pub note: Option<Text<500>>,
}

/// The adult who takes a student that needs handover: exactly one of
/// `guardian_user_id` or `pickup_person_id` (the pickup rules apply).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ExitBody {
    pub guardian_user_id: Option<Id>,
    pub pickup_person_id: Option<Id>,
    /// What the adult showed; checked against the never-release list too.
    pub presented: Option<Presented>,
}

/// The guard scans a leave pass: its 8-digit code or its QR token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateExit {
    pub code: Option<Text<8>>,
    pub qr_token: Option<Text<64>>,
    pub guardian_user_id: Option<Id>,
    pub pickup_person_id: Option<Id>,
    pub presented: Option<Presented>,
}

#[derive(Serialize, ToSchema)]
pub struct Approval {
    pub by: String,
    pub approve: bool,
    pub note: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExitRecord {
    pub at: DateTime<Utc>,
    pub by: String,
    /// guardian, pickup_person or none (no handover needed).
    pub adult_kind: String,
    pub adult_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Leave {
    pub id: String,
    pub student_id: String,
    pub student_name: String,
    pub class_id: String,
    pub school_id: String,
    pub kind: LeaveKind,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Shown to the family, the head teacher and the school admin only.
    pub reason: Option<String>,
    pub leaves_campus: bool,
    pub pickup_person_id: Option<String>,
    pub requested_by: String,
    pub status: LeaveStatus,
    /// Longer than the school threshold: the school admin decides last.
    pub needs_school_approval: bool,
    pub guardian_decision: Option<Approval>,
    pub teacher_decision: Option<Approval>,
    pub school_decision: Option<Approval>,
    /// Whether a gate pass exists (its code is shown only when issued).
    pub has_pass: bool,
    pub exit: Option<ExitRecord>,
    pub returned_at: Option<DateTime<Utc>>,
    pub overdue_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A gate pass, shown once: the 8-digit code and the QR token.
#[derive(Serialize, ToSchema)]
pub struct LeavePass {
    pub code: String,
    pub qr_token: String,
}

/// A decision's result; `pass` is present once, when the final approval of
/// a leave that leaves campus issued it.
#[derive(Serialize, ToSchema)]
pub struct LeaveWithPass {
    #[serde(flatten)]
    pub leave: Leave,
    pub pass: Option<LeavePass>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeaveQuery {
    pub status: Option<LeaveStatus>,
    pub student_id: Option<String>,
    pub class_id: Option<String>,
    /// Only what waits for the caller's decision (a guardian's co-signature,
    /// a head teacher's or a school admin's approval).
    pub awaiting_me: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRollCall {
    /// The school date of the lesson.
    pub date: NaiveDate,
    #[schema(minimum = 1, maximum = 12)]
    pub period: i32,
    /// Students of the class who are not there (at most 200).
    pub absent: Vec<Id>,
}

#[derive(Serialize, ToSchema)]
pub struct Absence {
    pub id: String,
    pub student_id: String,
    pub student_name: String,
    pub date: NaiveDate,
    pub period: i32,
    /// An approved leave covers it; no alert was sent.
    pub excused: bool,
    pub leave_id: Option<String>,
    /// The guardian's explanation: shown to the family, the school's admin
    /// and the class's head teacher only.
    pub explanation: Option<String>,
    pub explained_at: Option<DateTime<Utc>>,
    /// A correction of the roll call withdrew it.
    pub withdrawn: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RollCall {
    pub id: String,
    pub class_id: String,
    pub date: NaiveDate,
    pub period: i32,
    /// True when this replaced an earlier roll call of the same lesson.
    pub corrected: bool,
    pub absences: Vec<Absence>,
    /// Students of the earlier roll call who are no longer absent; their
    /// alerts were withdrawn.
    pub withdrawn_student_ids: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Explain {
    pub note: Text<500>,
}

#[derive(Serialize, ToSchema)]
pub struct Concern {
    pub id: String,
    pub student_id: String,
    pub student_name: String,
    pub class_id: String,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    /// School days with an unexcused absence inside the window.
    pub absence_days: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttendanceQuery {
    /// Default: 30 days before `to`.
    pub from: Option<NaiveDate>,
    /// Default: today at the school.
    pub to: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct Attendance {
    pub student_id: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub absences: Vec<Absence>,
    pub leaves: Vec<Leave>,
    pub unexcused_days: i64,
}
