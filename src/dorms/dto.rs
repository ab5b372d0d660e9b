//! Request and response types of the dormitories.

pub use crate::dorms::rules::DormKind;
use crate::http::Text;
use crate::org::dto::Id;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDorm {
    pub name: Text<64>,
    pub kind: DormKind,
}

#[derive(Serialize, ToSchema)]
pub struct Dorm {
    pub id: String,
    pub school_id: String,
    pub name: String,
    pub kind: DormKind,
    pub resident_ids: Vec<String>,
    pub staff_ids: Vec<String>,
}

/// Pupils who live in the dormitory (1 to 200 at a time).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResidents {
    pub student_ids: Vec<Id>,
}

/// A member of staff who works in the dormitory (its manager).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDormStaff {
    pub user_id: Id,
}

/// A man entering a girls' dormitory. Recorded beforehand by the school
/// admin or one of the dormitory's staff, with a reason, it is approved;
/// recorded by anyone else (a guard, a teacher who saw it), or without a
/// reason, it is an incident and the principal is alerted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDormEntry {
    pub name: Text<64>,
    /// The man's account, when he has one (staff).
    pub user_id: Option<Id>,
    pub reason: Option<Text<500>>,
}

#[derive(Serialize, ToSchema)]
pub struct DormEntry {
    pub id: String,
    pub dorm_id: String,
    pub name: String,
    pub user_id: Option<String>,
    pub reason: Option<String>,
    pub approved_by: Option<String>,
    pub incident: bool,
    pub entered_at: DateTime<Utc>,
}

/// The nightly roll call: the date (the school's) and who is absent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDormRollCall {
    pub date: NaiveDate,
    pub absent: Vec<Id>,
}

#[derive(Serialize, ToSchema)]
pub struct DormAbsence {
    pub student_id: String,
    /// The approved leave that excuses the absence, if any.
    pub excused_by_leave: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DormRollCall {
    pub id: String,
    pub dorm_id: String,
    pub date: NaiveDate,
    pub absences: Vec<DormAbsence>,
}
