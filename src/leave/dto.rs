//! Request and response types of leave, gate exits and returns.

use crate::http::Text;
use crate::org::dto::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

crate::text_enum!(
    pub enum LeaveKind {
        Sick = "sick",
        Personal = "personal",
        Family = "family",
        Other = "other",
    }
);

crate::text_enum!(
    /// Where a leave stands. `out`: the student left through the gate;
    /// `overdue`: the leave ended without a return; `returned`: 销假 recorded.
    pub enum LeaveStatus {
        PendingGuardian = "pending_guardian",
        PendingTeacher = "pending_teacher",
        PendingSchool = "pending_school",
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
        Out = "out",
        Overdue = "overdue",
        Returned = "returned",
    }
);

impl LeaveStatus {
    /// Statuses that still hold the student's time: no other leave may overlap.
    pub const ACTIVE: [LeaveStatus; 6] = [
        LeaveStatus::PendingGuardian,
        LeaveStatus::PendingTeacher,
        LeaveStatus::PendingSchool,
        LeaveStatus::Approved,
        LeaveStatus::Out,
        LeaveStatus::Overdue,
    ];

    /// Statuses of a leave that was approved (and may have been used).
    pub const GRANTED: [LeaveStatus; 4] = [
        LeaveStatus::Approved,
        LeaveStatus::Out,
        LeaveStatus::Overdue,
        LeaveStatus::Returned,
    ];

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
