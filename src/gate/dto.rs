//! Request and response types of the gate.

pub use crate::gate::rules::{VisitStatus, WatchSource};
use crate::http::Text;
use crate::org::dto::{Id, Phone};
use crate::pickup::dto::{IdLast4, Presented};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// Who is visiting. The ID number is optional; it is kept only as its last
/// 4 characters and a keyed hash, never whole.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Visitor {
    pub name: Text<64>,
    pub phone: Phone,
    pub id_number: Option<Text<32>>,
}

/// When the visitor may come in.
#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct VisitWindow {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// A host pre-registers a visitor (at most 7 days' window).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVisit {
    pub school_id: Id,
    pub visitor: Visitor,
    pub purpose: Text<200>,
    pub window: VisitWindow,
    pub vehicle_plate: Option<Text<16>>,
}

/// The guard checks a visitor in: `code` alone for a pre-registered visit,
/// or a walk-in (`school_id`, `visitor`, `purpose`, `host_user_id`), who
/// waits at the gate until the host approves.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    pub code: Option<Text<8>>,
    pub school_id: Option<Id>,
    pub visitor: Option<Visitor>,
    pub purpose: Option<Text<200>>,
    pub host_user_id: Option<Id>,
    pub vehicle_plate: Option<Text<16>>,
}

/// The visitor as the log shows them (never the whole ID number).
#[derive(Serialize, ToSchema)]
pub struct VisitorView {
    pub name: String,
    pub phone: String,
    pub id_last4: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Visit {
    pub id: String,
    pub school_id: String,
    pub host_user_id: String,
    pub visitor: VisitorView,
    pub purpose: String,
    pub vehicle_plate: Option<String>,
    pub window: VisitWindow,
    pub walk_in: bool,
    pub status: VisitStatus,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A pre-registered visit with its code: shown once, stored only hashed.
#[derive(Serialize, ToSchema)]
pub struct VisitRegistered {
    pub visit: Visit,
    /// 8 digits the visitor gives the guard, inside the window, once.
    pub code: String,
    /// What the visitor's QR code carries (the school and the code).
    pub qr: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VisitsQuery {
    /// The school date (its time zone); today when left out.
    pub on: Option<NaiveDate>,
    /// Only who is still inside.
    pub on_site: Option<bool>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A school admin bans a person from the school: a name and at least one
/// of phone, ID (the whole number, or its last 4) or plate helps the gate.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWatchEntry {
    pub name: Text<64>,
    pub phone: Option<Phone>,
    pub id_number: Option<Text<32>>,
    pub id_last4: Option<IdLast4>,
    pub vehicle_plate: Option<Text<16>>,
    pub note: Text<500>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftWatchEntry {
    pub note: Text<500>,
}

/// One person the school's gate must not let in, whatever put them there.
#[derive(Serialize, ToSchema)]
pub struct WatchListEntry {
    /// The entry (a ban or a vetting bar), the personnel record (a
    /// suspension) or the never-release entry (lifted through pickup).
    pub id: String,
    pub source: WatchSource,
    pub school_id: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub id_last4: Option<String>,
    pub vehicle_plate: Option<String>,
    /// A ban's note (other sources keep theirs where they were made).
    pub note: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub lifted_at: Option<DateTime<Utc>>,
}

/// A case the visit matters to: the visit is kept as long as the case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseLink {
    pub case_id: Id,
}
