//! Request and response types of the pickup domain.

use crate::error::ApiError;
use crate::http::Text;
use crate::org::dto::{ClockTime, Id, Phone};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use utoipa::{IntoParams, ToSchema};

/// A photo is at most this many bytes once decoded.
pub const PHOTO_MAX_BYTES: usize = 512 * 1024;
/// A body carrying a photo: base64 of 512 KiB plus the other fields.
pub const PERSON_BODY_LIMIT: usize = 720 * 1024;

/// The last four characters of an identity document (digits, or X as the
/// check character of a Chinese ID card). The full number is never taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct IdLast4(String);

impl IdLast4 {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit() || b == b'X') {
            Ok(IdLast4(t))
        } else {
            Err("must be the last 4 characters of the ID (digits or X)".into())
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl<'de> Deserialize<'de> for IdLast4 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IdLast4::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for IdLast4 {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9Xx]{4}$"))
            .into()
    }
}

impl utoipa::ToSchema for IdLast4 {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IdLast4")
    }
}

crate::text_enum!(
    pub enum Weekday {
        Mon = "mon",
        Tue = "tue",
        Wed = "wed",
        Thu = "thu",
        Fri = "fri",
        Sat = "sat",
        Sun = "sun",
    }
);

impl Weekday {
    /// 1 = Monday … 7 = Sunday (ISO 8601).
    pub fn number(self) -> i32 {
        self as i32 + 1
    }

    pub fn from_number(n: i32) -> Option<Weekday> {
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| Weekday::ALL.get(i).copied())
    }

    pub fn bit(self) -> i32 {
        1 << (self as i32)
    }

    pub fn of(date: NaiveDate) -> Weekday {
        use chrono::Datelike;
        Weekday::ALL[date.weekday().num_days_from_monday() as usize]
    }

    pub fn from_mask(mask: i32) -> Vec<Weekday> {
        Weekday::ALL
            .iter()
            .copied()
            .filter(|d| mask & d.bit() != 0)
            .collect()
    }

    /// The day as a family reads it in English: "Mon".
    fn short_name(self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self as usize]
    }

    /// The days of a mask, for a family's message: "Mon–Fri", "Mon, Wed".
    pub fn days_text(mask: i32) -> String {
        match mask {
            127 => "Mon–Sun".into(),
            31 => "Mon–Fri".into(),
            _ => Weekday::from_mask(mask)
                .iter()
                .map(|d| d.short_name())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The days of a mask in Chinese: "周一至周五", "周一、周三".
    pub fn days_text_zh(mask: i32) -> String {
        const NAMES: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
        match mask {
            127 => "每天".into(),
            31 => "周一至周五".into(),
            _ => Weekday::from_mask(mask)
                .iter()
                .map(|d| NAMES[d.number() as usize - 1])
                .collect::<Vec<_>>()
                .join("、"),
        }
    }
}

/// A pickup person's photo: a JPEG or PNG, recognised by its first bytes,
/// at most 512 KiB once decoded; kept cleaned (`photo::clean`: no EXIF, at
/// most 1024 pixels on its longest side).
pub struct Photo {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

impl Photo {
    pub fn parse(b64: &str) -> Result<Photo, ApiError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| ApiError::invalid("photo", "photo must be base64"))?;
        if bytes.len() > PHOTO_MAX_BYTES {
            return Err(ApiError::invalid("photo", "photo must be at most 512 KiB"));
        }
        let content_type = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            "image/jpeg"
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            "image/png"
        } else {
            return Err(ApiError::invalid("photo", "photo must be a JPEG or PNG"));
        };
        Ok(Photo {
            bytes: super::photo::clean(&bytes, content_type)?,
            content_type,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPickupPerson {
    pub name: Text<64>,
    /// e.g. grandmother, uncle, neighbour.
    pub relation: Text<32>,
    pub phone: Phone,
    pub id_last4: Option<IdLast4>,
    /// A JPEG or PNG of at most 512 KiB, base64 (standard alphabet).
    pub photo: Option<String>,
    pub valid_from: NaiveDate,
    /// Required: at most one year after today.
    pub valid_until: Option<NaiveDate>,
    /// Days on which this adult may pick up; every day when absent.
    pub weekdays: Option<Vec<Weekday>>,
}

#[derive(Serialize, ToSchema)]
pub struct PickupPerson {
    pub id: String,
    pub student_id: String,
    pub name: String,
    pub relation: String,
    pub phone: String,
    pub id_last4: Option<String>,
    pub photo_url: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub weekdays: Vec<Weekday>,
    pub created_at: DateTime<Utc>,
    /// Set once revoked; the entry is kept for history.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPickupBlock {
    pub name: Text<64>,
    pub id_last4: Option<IdLast4>,
    pub phone: Option<Phone>,
    /// Why (e.g. the court order's reference). Seen by the family and the school's staff.
    pub note: Text<500>,
    pub court_order: Option<bool>,
    /// The court or protective order's reference. Required when the school
    /// admin records an entry naming one of the pupil's guardians.
    pub court_order_ref: Option<Text<200>>,
}

crate::text_enum!(
    /// `pending`: the entry names a current guardian and awaits the school
    /// admin (that guardian keeps the child's file and alerts, but a release
    /// to them is held); `active`: in force; `rejected`: the admin refused it.
    pub enum BlockStatus {
        Active = "active",
        Pending = "pending",
        Rejected = "rejected",
    }
);

#[derive(Serialize, ToSchema)]
pub struct PickupBlock {
    pub id: String,
    pub student_id: String,
    pub name: String,
    pub id_last4: Option<String>,
    pub phone: Option<String>,
    pub note: String,
    pub court_order: bool,
    pub status: BlockStatus,
    pub court_order_ref: Option<String>,
    /// When the school admin confirmed an entry naming a guardian.
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set once lifted or rejected.
    pub lifted_at: Option<DateTime<Utc>>,
    pub lift_note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftBlock {
    pub note: Text<500>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBlock {
    /// The court or protective order the entry rests on.
    pub court_order_ref: Text<200>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBlock {
    pub note: Text<500>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPickupPass {
    /// The authorised adult the pass is for; absent: whoever holds the code
    /// (the gate records the name on their ID).
    pub pickup_person_id: Option<Id>,
    /// The school day the pass is for.
    pub date: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct PickupPassIssued {
    pub pass_id: String,
    /// 8 digits, shown once.
    pub code: String,
    /// For a QR code, shown once.
    pub qr_token: String,
    pub valid_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub pickup_person_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PickupPass {
    pub pass_id: String,
    pub student_id: String,
    pub pickup_person_id: Option<String>,
    pub valid_on: NaiveDate,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// What the adult at the gate showed (their ID card, their phone).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Presented {
    pub name: Option<Text<64>>,
    pub phone: Option<Phone>,
    pub id_last4: Option<IdLast4>,
}

/// Exactly one of `pass_code`, `qr_token`, `pickup_person_id`, `guardian_user_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHandover {
    pub student_id: Id,
    pub pass_code: Option<Text<8>>,
    pub qr_token: Option<Text<64>>,
    pub pickup_person_id: Option<Id>,
    pub guardian_user_id: Option<Id>,
    /// Checked against the never-release list as well; required with an
    /// anonymous pass.
    pub presented: Option<Presented>,
}

crate::text_enum!(
    pub enum AdultKind {
        Guardian = "guardian",
        PickupPerson = "pickup_person",
        Pass = "pass",
    }
);

#[derive(Serialize, ToSchema)]
pub struct ReleasedToView {
    pub kind: AdultKind,
    pub name: String,
    pub relation: String,
    pub photo_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HandoverStudent {
    pub id: String,
    pub name: String,
    pub class_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct Handover {
    pub handover_id: String,
    pub student: HandoverStudent,
    pub released_to: ReleasedToView,
    pub at: DateTime<Utc>,
    /// The school day, in the school's time zone.
    pub date: NaiveDate,
    /// Always "released": a refused attempt creates no handover.
    pub status: String,
    pub released_by: String,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub disputed_at: Option<DateTime<Utc>>,
    /// The cases opened from this handover; present only for the school's
    /// safeguarding handlers and the bureau, in a pupil's handover history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<crate::concerns::dto::LinkedCase>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeBody {
    pub note: Text<1000>,
}

crate::text_enum!(
    pub enum DismissalMode {
        Handover = "handover",
        Alone = "alone",
        Bus = "bus",
    }
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissalModeBody {
    pub mode: DismissalMode,
}

#[derive(Serialize, ToSchema)]
pub struct DismissalModeView {
    pub student_id: String,
    pub mode: DismissalMode,
    /// The school admin who approved going home alone for a pupil who needs handover.
    pub approved_by: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DateQuery {
    /// The school day (default: today at the school).
    pub date: Option<NaiveDate>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// First school day (default: 30 days before `to`).
    pub from: Option<NaiveDate>,
    /// Last school day (default: today at the school).
    pub to: Option<NaiveDate>,
}

crate::text_enum!(
    pub enum BoardState {
        Waiting = "waiting",
        Released = "released",
        Alone = "alone",
        Bus = "bus",
        /// From roll call (the leave module).
        Absent = "absent",
        /// From an approved leave (the leave module).
        OnLeave = "on_leave",
    }
);

#[derive(Serialize, ToSchema)]
pub struct AuthorisedAdult {
    pub kind: AdultKind,
    /// The guardian's user id or the pickup person's id (what the gate
    /// sends), or the id of an unused pass for the day (the adult shows its code).
    pub id: String,
    pub name: String,
    pub relation: String,
    pub photo_url: Option<String>,
    pub valid_until: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct BoardStudent {
    pub student_id: String,
    pub name: String,
    pub handover_required: bool,
    pub state: BoardState,
    pub handover: Option<Handover>,
    pub authorised_adults: Vec<AuthorisedAdult>,
}

#[derive(Serialize, ToSchema)]
pub struct DismissalBoard {
    pub class_id: String,
    pub date: NaiveDate,
    /// HH:MM in the school's time zone; null when there is no dismissal
    /// that day (a weekend without an override).
    pub dismissal_time: Option<String>,
    pub students: Vec<BoardStudent>,
}

#[derive(Serialize, ToSchema)]
pub struct ClassSummary {
    pub class_id: String,
    pub name: String,
    pub grade: i32,
    pub students: i64,
    pub needs_handover: i64,
    pub released: i64,
    pub alone: i64,
    pub bus: i64,
    pub absent: i64,
    pub on_leave: i64,
    /// Pupils who need handover and are still at school, supervised.
    pub waiting: i64,
}

#[derive(Serialize, ToSchema)]
pub struct UnresolvedStudent {
    pub student_id: String,
    pub name: String,
    pub class_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct DismissalSummary {
    pub school_id: String,
    pub date: NaiveDate,
    pub classes: Vec<ClassSummary>,
    /// Pupils who need handover and were not released.
    pub unresolved: Vec<UnresolvedStudent>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissalTime {
    /// Only on this weekday; every weekday when absent.
    pub weekday: Option<Weekday>,
    /// Only for this grade; every grade when absent.
    pub grade: Option<i32>,
    pub time: ClockTime,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickupSettingsBody {
    /// 5 to 120; default 15.
    pub late_threshold_minutes: Option<i32>,
    /// After this local time, passes for the same day are refused (409 `after_cutoff`).
    pub pass_cutoff: Option<ClockTime>,
    /// Replaces the school's overrides of its default dismissal time (at most 100).
    pub dismissal_times: Vec<DismissalTime>,
    /// Replaces the days the school is closed (holidays): no late-pickup
    /// alerts on them (at most 400).
    #[serde(default)]
    pub closed_dates: Vec<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct PickupSettings {
    pub school_id: String,
    pub late_threshold_minutes: i32,
    pub pass_cutoff: Option<String>,
    /// `schools.dismissal_time`: used when no override matches.
    pub default_dismissal_time: String,
    pub dismissal_times: Vec<DismissalTime>,
    pub closed_dates: Vec<NaiveDate>,
}
