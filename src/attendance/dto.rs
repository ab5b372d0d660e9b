//! Request and response types of roll calls, absences, concerns and a
//! student's attendance record.

use crate::http::Text;
use crate::leave::dto::Leave;
use crate::org::dto::Id;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
