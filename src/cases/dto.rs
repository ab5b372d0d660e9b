//! Request and response types of cases. Lists carry no pupil names
//! (Art. 103): only the detail, for handlers and the bureau, names pupils.

use crate::http::Text;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The situations of the mandatory-reporting opinion (concerns share them).
pub use crate::concerns::dto::CaseCategory;
use crate::concerns::dto::TriageDecision;

crate::text_enum!(
    pub enum CaseStatus {
        Open = "open",
        /// A handler proposed to close it; the bureau confirms.
        Closing = "closing",
        Closed = "closed",
    }
);

crate::text_enum!(
    /// Where the suspicion came from.
    pub enum SourceKind {
        TipReport = "tip_report",
        Concern = "concern",
        Handover = "handover",
        Observation = "observation",
    }
);

crate::text_enum!(
    pub enum SuspectKind {
        Staff = "staff",
        Student = "student",
        Family = "family",
        Outsider = "outsider",
        Unknown = "unknown",
    }
);

crate::text_enum!(
    pub enum PoliceChannel {
        /// Called 110.
        Phone = "phone",
        InPerson = "in_person",
        Online = "online",
        Written = "written",
    }
);

crate::text_enum!(
    pub enum SupportKind {
        Counselling = "counselling",
        FamilyContact = "family_contact",
        Referral = "referral",
        Medical = "medical",
        LegalAid = "legal_aid",
        Transfer = "transfer",
    }
);

crate::text_enum!(
    pub enum MeasureKind {
        /// Takes a staff suspect's access to pupils at once.
        SuspendStaff = "suspend_staff",
        NeverRelease = "never_release",
        SeparateStudents = "separate_students",
        Other = "other",
    }
);

crate::text_enum!(
    pub enum Outcome {
        Substantiated = "substantiated",
        Unsubstantiated = "unsubstantiated",
        Referred = "referred",
        Transferred = "transferred",
    }
);

crate::text_enum!(
    /// What an entry of the timeline records.
    pub enum EntryKind {
        Opened = "opened",
        Note = "note",
        PoliceReport = "police_report",
        Acknowledged = "acknowledged",
        Support = "support",
        Measure = "measure",
        CloseProposed = "close_proposed",
        Closed = "closed",
    }
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSource {
    pub kind: SourceKind,
    /// The tip-line report, concern or handover it came from.
    pub ref_id: Option<Text<64>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuspect {
    pub kind: SuspectKind,
    /// The suspect's account, if they have one: they never see the case.
    pub user_id: Option<Text<64>>,
    /// A staff suspect's personnel record.
    pub personnel_id: Option<Text<64>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    pub school_id: Text<64>,
    /// 1 to 20 pupils of the school.
    pub student_ids: Vec<Text<64>>,
    pub category: CaseCategory,
    pub source: NewSource,
    pub summary: Text<4000>,
    pub suspect: NewSuspect,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Only cases past a deadline: no police report in time (mandatory
    /// categories), or not acknowledged by the bureau in time.
    pub overdue: Option<bool>,
    pub status: Option<CaseStatus>,
}

/// A case as lists show it: no pupil names, no suspect, no summary.
#[derive(Serialize, ToSchema)]
pub struct CaseItem {
    pub id: String,
    pub number: String,
    pub school_id: String,
    pub school_name: String,
    pub category: CaseCategory,
    /// Must be reported to the police.
    pub mandatory: bool,
    pub status: CaseStatus,
    pub opened_at: DateTime<Utc>,
    pub police_report_due_at: Option<DateTime<Utc>>,
    pub police_reported_at: Option<DateTime<Utc>>,
    pub acknowledgement_due_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// A deadline has passed with nothing on record.
    pub overdue: bool,
    pub outcome: Option<Outcome>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseItem>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseStudent {
    pub id: String,
    pub name: String,
    pub class_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct Source {
    pub kind: SourceKind,
    pub ref_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Suspect {
    pub kind: SuspectKind,
    pub user_id: Option<String>,
    pub personnel_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PoliceReport {
    pub id: String,
    pub reported_at: DateTime<Utc>,
    pub station: String,
    pub reference: String,
    pub channel: PoliceChannel,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Support {
    pub id: String,
    pub kind: SupportKind,
    pub partner: Option<String>,
    pub on: NaiveDate,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Measure {
    pub id: String,
    pub kind: MeasureKind,
    pub target: Option<String>,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// One line of a case's history.
#[derive(Serialize, ToSchema)]
pub struct Entry {
    pub id: String,
    /// 1, 2, 3…: the order things were recorded in.
    pub seq: i32,
    pub kind: EntryKind,
    pub author_id: Option<String>,
    pub text: String,
    /// The older entry this one corrects.
    pub corrects: Option<String>,
    pub at: DateTime<Utc>,
}

/// The whole case, for its handlers and the bureau.
#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseItem,
    pub summary: String,
    pub source: Source,
    pub suspect: Suspect,
    pub students: Vec<CaseStudent>,
    pub handler_ids: Vec<String>,
    pub opened_by: String,
    pub police_reports: Vec<PoliceReport>,
    pub support: Vec<Support>,
    pub measures: Vec<Measure>,
    pub entries: Vec<Entry>,
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub case_id: String,
    pub number: String,
    pub entries: Vec<Entry>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPoliceReport {
    pub reported_at: DateTime<Utc>,
    pub station: Text<128>,
    /// The police's receipt or case reference (回执).
    pub reference: Text<128>,
    pub channel: PoliceChannel,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    pub text: Text<4000>,
    /// An older entry of this case that this one corrects.
    pub corrects: Option<Text<64>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupport {
    pub kind: SupportKind,
    pub partner: Option<Text<128>>,
    pub on: NaiveDate,
    pub note: Text<2000>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeasure {
    pub kind: MeasureKind,
    /// `suspend_staff`: the personnel record (the case's staff suspect by
    /// default); `never_release`: the person's name (the suspect's by default).
    pub target: Option<Text<64>>,
    pub note: Text<2000>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseProposal {
    pub outcome: Outcome,
    pub note: Text<2000>,
}

/// One cell of the district's statistics. A count under 5 is suppressed
/// (`count` null) so that no pupil can be told from it.
#[derive(Serialize, ToSchema, PartialEq, Debug)]
pub struct SummaryCell {
    pub school_id: String,
    pub category: CaseCategory,
    pub status: CaseStatus,
    pub count: Option<i64>,
    pub suppressed: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CaseSummary {
    pub cells: Vec<SummaryCell>,
}

/// A concern's triage by the principal or a counsellor.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcernTriageRequest {
    pub decision: TriageDecision,
    pub note: Text<2000>,
    /// Sets (or corrects) the concern's category; needed to open a case
    /// when the concern has none. A mandatory category cannot be triaged as
    /// `no_action` (422 `concern_mandatory`).
    pub category: Option<CaseCategory>,
    /// `open_case`: who is suspected (default unknown). A suspect with an
    /// account never sees the case.
    pub suspect: Option<NewSuspect>,
}

crate::text_enum!(
    /// What a line of a pupil's chronology records.
    pub enum ChronologyKind {
        Concern = "concern",
        CaseOpened = "case_opened",
        CaseEntry = "case_entry",
        /// A case that came from a tip-line report.
        TipReportLink = "tip_report_link",
        UnexcusedAbsence = "unexcused_absence",
        DisputedHandover = "disputed_handover",
        RefusedPickup = "refused_pickup",
    }
);

#[derive(Serialize, ToSchema)]
pub struct ChronologyItem {
    pub at: DateTime<Utc>,
    pub kind: ChronologyKind,
    /// The concern, case, absence, handover or audit event it is about.
    pub ref_id: String,
    /// The case, for lines of a case.
    pub case_number: Option<String>,
    pub text: String,
}

/// Everything about one pupil that safeguarding needs, in one ordered line.
#[derive(Serialize, ToSchema)]
pub struct Chronology {
    pub student_id: String,
    pub items: Vec<ChronologyItem>,
}
