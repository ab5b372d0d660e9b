//! Request and response types of concerns. What a concern says (what
//! happened, the child's words) is shown only to its author and the
//! school's designated handlers; alerts carry the concern's id and school.

use crate::http::Text;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

crate::text_enum!(
    /// The situations of the mandatory-reporting opinion. Every category but
    /// `other_violence` must be reported to the police.
    pub enum CaseCategory {
        SexualAbuse = "sexual_abuse",
        SexualHarassment = "sexual_harassment",
        IndecentExposure = "indecent_exposure",
        GroomingOnline = "grooming_online",
        PregnancyOrAbortionUnder14 = "pregnancy_or_abortion_under_14",
        UnexplainedInjury = "unexplained_injury",
        NeglectOrAbandonment = "neglect_or_abandonment",
        TraffickingOrAbduction = "trafficking_or_abduction",
        OtherViolence = "other_violence",
    }
);

crate::text_enum!(
    pub enum ConcernKind {
        /// Raised by attendance: unexcused absences reached the pattern.
        AbsencePattern = "absence_pattern",
        /// Written by a member of staff: what they saw or heard.
        Observation = "observation",
    }
);

crate::text_enum!(
    pub enum ConcernStatus {
        /// Waiting for the principal or a counsellor.
        Open = "open",
        /// Watched: may still become a case.
        Monitor = "monitor",
        NoAction = "no_action",
        /// Became a case (`case_id`).
        CaseOpened = "case_opened",
    }
);

crate::text_enum!(
    pub enum TriageDecision {
        OpenCase = "open_case",
        Monitor = "monitor",
        NoAction = "no_action",
    }
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConcern {
    /// 1 to 20 pupils of the author's school.
    pub student_ids: Vec<Text<64>>,
    pub what_happened: Text<4000>,
    #[serde(rename = "where")]
    pub location: Text<200>,
    #[serde(rename = "when")]
    pub happened_at: DateTime<Utc>,
    /// The child's own words, as said.
    pub child_words: Option<Text<4000>>,
    /// What the author already did.
    pub action_taken: Option<Text<2000>>,
    /// What it looks like, if the author can tell. A concern in a mandatory
    /// category cannot be triaged as `no_action`.
    pub category: Option<CaseCategory>,
}

#[derive(Serialize, ToSchema)]
pub struct ConcernStudent {
    pub id: String,
    pub name: String,
    pub class_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConcernTriage {
    pub decision: TriageDecision,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Concern {
    pub id: String,
    pub kind: ConcernKind,
    pub school_id: String,
    pub status: ConcernStatus,
    /// The first (for an absence pattern, the only) pupil; all are in `students`.
    pub student_id: String,
    pub student_name: String,
    pub class_id: String,
    pub students: Vec<ConcernStudent>,
    pub category: Option<CaseCategory>,
    /// Absence pattern: the window of school days and how many had an
    /// unexcused absence.
    pub window_start: Option<NaiveDate>,
    pub window_end: Option<NaiveDate>,
    pub absence_days: Option<i32>,
    /// Observation: who wrote it and what they saw.
    pub author_id: Option<String>,
    pub what_happened: Option<String>,
    #[serde(rename = "where")]
    pub location: Option<String>,
    #[serde(rename = "when")]
    pub happened_at: Option<DateTime<Utc>>,
    pub child_words: Option<String>,
    pub action_taken: Option<String>,
    pub triage: Option<ConcernTriage>,
    /// The case it became, for those who may see it.
    pub case_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConcernQuery {
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only concerns in this state (the queue: `open`).
    pub status: Option<ConcernStatus>,
}

impl ConcernQuery {
    pub fn page(&self) -> crate::http::PageQuery {
        crate::http::PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

/// A triage's decision, as `cases` hands it over (its route's body also
/// names a suspect for the case).
pub struct Triage {
    pub decision: TriageDecision,
    pub note: String,
    /// Sets (or corrects) the concern's category; needed to open a case
    /// when the concern has none.
    pub category: Option<CaseCategory>,
}

/// A case that grew from a record (a tip-line report, a handover), shown on
/// that record to those who may see it and handle cases. The case itself
/// still answers 404 to anyone who is not its handler.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedCase {
    pub case_id: String,
    pub number: String,
}
