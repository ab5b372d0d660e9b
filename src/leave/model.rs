//! Leave rows, as stored.

use super::dto::{Approval, ExitRecord, Leave, LeaveKind, LeaveStatus};
use crate::clock::to_utc;
use crate::db::schema::leave_requests;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = leave_requests)]
pub struct LeaveRow {
    pub id: String,
    pub student_id: String,
    pub school_id: String,
    pub class_id: String,
    pub kind: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: String,
    pub leaves_campus: bool,
    pub pickup_person_id: Option<String>,
    pub requested_by: String,
    pub requester_role: String,
    pub status: String,
    pub needs_school: bool,
    pub guardian_decided_by: Option<String>,
    pub guardian_note: Option<String>,
    pub teacher_decided_by: Option<String>,
    pub teacher_note: Option<String>,
    pub school_decided_by: Option<String>,
    pub school_note: Option<String>,
    pub code_hash: Option<String>,
    pub left_at: Option<NaiveDateTime>,
    pub exit_by: Option<String>,
    pub exit_adult_kind: Option<String>,
    pub exit_adult_name: Option<String>,
    pub returned_at: Option<NaiveDateTime>,
    pub overdue_at: Option<NaiveDateTime>,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// A leave as filed.
#[derive(Insertable)]
#[diesel(table_name = leave_requests)]
pub struct NewLeaveRow<'a> {
    pub id: &'a str,
    pub student_id: &'a str,
    pub school_id: &'a str,
    pub class_id: &'a str,
    pub kind: &'a str,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub reason: &'a str,
    pub leaves_campus: bool,
    pub pickup_person_id: Option<&'a str>,
    pub requested_by: &'a str,
    pub requester_role: &'a str,
    pub status: &'a str,
    pub needs_school: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl LeaveRow {
    pub fn status(&self) -> LeaveStatus {
        LeaveStatus::parse(&self.status).unwrap_or(LeaveStatus::Rejected)
    }

    /// `show_reason`: see `org::family::family_words_visible`.
    pub fn into_dto(self, student_name: String, show_reason: bool) -> Leave {
        let status = self.status();
        // Who decided each step, and how: a step decided with a later step
        // reached was an approval; the step that ended in `rejected`, a rejection.
        let rejected = status == LeaveStatus::Rejected;
        let last_decider = self
            .school_decided_by
            .as_ref()
            .or(self.teacher_decided_by.as_ref())
            .or(self.guardian_decided_by.as_ref())
            .cloned();
        let approval = |by: Option<String>, note: Option<String>| {
            by.map(|by| Approval {
                approve: !(rejected && Some(&by) == last_decider.as_ref()),
                by,
                note,
            })
        };
        Leave {
            guardian_decision: approval(self.guardian_decided_by, self.guardian_note),
            teacher_decision: approval(self.teacher_decided_by, self.teacher_note),
            school_decision: approval(self.school_decided_by, self.school_note),
            kind: LeaveKind::parse(&self.kind).unwrap_or(LeaveKind::Other),
            id: self.id,
            student_id: self.student_id,
            student_name,
            class_id: self.class_id,
            school_id: self.school_id,
            starts_at: to_utc(self.starts_at),
            ends_at: to_utc(self.ends_at),
            reason: show_reason.then_some(self.reason),
            leaves_campus: self.leaves_campus,
            pickup_person_id: self.pickup_person_id,
            requested_by: self.requested_by,
            status,
            needs_school_approval: self.needs_school,
            has_pass: self.code_hash.is_some(),
            exit: match (self.left_at, self.exit_by) {
                (Some(at), Some(by)) => Some(ExitRecord {
                    at: to_utc(at),
                    by,
                    adult_kind: self.exit_adult_kind.unwrap_or_else(|| "none".into()),
                    adult_name: self.exit_adult_name,
                }),
                _ => None,
            },
            returned_at: self.returned_at.map(to_utc),
            overdue_since: self.overdue_at.map(to_utc),
            created_at: to_utc(self.created_at),
        }
    }
}
