//! Request and response types of staff vetting.

use crate::http::Text;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

crate::text_enum!(
    /// What a person does at the school: a staff account's role, or a worker
    /// without an account.
    pub enum PersonnelKind {
        SchoolAdmin = "school_admin",
        Teacher = "teacher",
        Guard = "guard",
        Counselor = "counselor",
        LegalVp = "legal_vp",
        DormManager = "dorm_manager",
        /// Temporary staff (临聘人员).
        Temporary = "temporary",
        /// Outsourced: canteen, cleaning, a security company.
        Outsourced = "outsourced",
        Driver = "driver",
        Volunteer = "volunteer",
        Tutor = "tutor",
    }
);

impl PersonnelKind {
    /// Kinds that come with a staff account (their records are made with it).
    pub fn has_account(self) -> bool {
        matches!(
            self,
            PersonnelKind::SchoolAdmin
                | PersonnelKind::Teacher
                | PersonnelKind::Guard
                | PersonnelKind::Counselor
                | PersonnelKind::LegalVp
                | PersonnelKind::DormManager
        )
    }
}

crate::text_enum!(
    /// Where a person's vetting stands.
    pub enum VettingStatus {
        /// No clear check of the sexual-offence record yet.
        Pending = "pending",
        /// An account that existed before vetting, inside its grace period.
        Grace = "grace",
        /// A clear check within its validity.
        Cleared = "cleared",
        /// The last clear check is past its validity.
        Expired = "expired",
        /// A check found a record: never to work with pupils.
        Barred = "barred",
    }
);

crate::text_enum!(
    pub enum CheckKind {
        /// The record of sexual offences against minors (性侵害违法犯罪信息查询).
        SexualOffenceRecord = "sexual_offence_record",
        CriminalRecord = "criminal_record",
    }
);

crate::text_enum!(
    pub enum CheckResult {
        Clear = "clear",
        Hit = "hit",
        Pending = "pending",
    }
);

/// A person's vetting as every view shows it.
#[derive(Serialize, ToSchema, Clone, Debug, PartialEq)]
pub struct Vetting {
    pub status: VettingStatus,
    /// The last day the clearance stands (a clear check's date + the
    /// validity, 12 months by default).
    pub valid_until: Option<NaiveDate>,
    /// Whether the account may reach pupils now: cleared (or in grace),
    /// and, where the district asks for them, with a signed commitment and
    /// prevention training on record.
    pub access_to_pupils: bool,
}

/// A worker without an account (accounts get their record when created).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonnel {
    pub school_id: Text<64>,
    pub name: Text<64>,
    pub kind: PersonnelKind,
    pub employer: Option<Text<128>>,
    /// The resident ID (or passport) number: kept only as its last 4
    /// characters and a keyed hash.
    pub id_number: Text<32>,
    pub starts_on: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct Personnel {
    pub id: String,
    pub school_id: String,
    pub user_id: Option<String>,
    pub name: String,
    pub kind: PersonnelKind,
    pub employer: Option<String>,
    pub id_last4: Option<String>,
    pub starts_on: NaiveDate,
    pub vetting: Vetting,
    pub created_at: DateTime<Utc>,
}

/// A check as a reader may see it: schools see the kind, the date and the
/// result; who ran it, the authority and the reference are the bureau's.
#[derive(Serialize, ToSchema)]
pub struct Check {
    pub id: String,
    pub kind: CheckKind,
    pub checked_on: NaiveDate,
    pub result: CheckResult,
    pub authority: Option<String>,
    pub reference: Option<String>,
    pub consent_ref: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Commitment {
    pub id: String,
    pub document_version: String,
    pub signed_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Training {
    pub id: String,
    pub course: String,
    pub hours: i32,
    pub completed_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
}

/// One record with its checks, commitments and trainings, oldest first.
#[derive(Serialize, ToSchema)]
pub struct PersonnelDetail {
    #[serde(flatten)]
    pub record: Personnel,
    pub checks: Vec<Check>,
    pub commitments: Vec<Commitment>,
    pub trainings: Vec<Training>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheck {
    pub kind: CheckKind,
    pub checked_on: NaiveDate,
    pub authority: Text<128>,
    pub reference: Text<128>,
    pub result: CheckResult,
    /// The person's written consent to the query.
    pub consent_ref: Text<128>,
}

/// A signed code of conduct (承诺书).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCommitment {
    pub document_version: Text<32>,
    pub signed_on: NaiveDate,
}

/// Prevention training completed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTraining {
    pub course: Text<128>,
    /// 1 to 200.
    pub hours: i32,
    pub completed_on: NaiveDate,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonnelQuery {
    /// One school; without it, every record the caller sees (a school
    /// admin's own school, the bureau's district).
    pub school_id: Option<String>,
    pub status: Option<VettingStatus>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Per school: how many people stand where.
#[derive(Serialize, ToSchema, Default, Clone)]
pub struct SchoolVetting {
    pub school_id: String,
    pub school_name: String,
    pub total: i64,
    pub cleared: i64,
    pub grace: i64,
    pub pending: i64,
    /// Cleared, but the clearance ends within 30 days.
    pub expiring_within_30_days: i64,
    pub expired: i64,
    pub barred: i64,
}

#[derive(Serialize, ToSchema)]
pub struct VettingSummary {
    pub schools: Vec<SchoolVetting>,
}
