use crate::auth::Role;
use crate::http::{Patch, Text};
use crate::i18n::Language;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Declares a string newtype parsed at the edge, with its OpenAPI schema.
macro_rules! parsed_string {
    ($(#[$doc:meta])* $name:ident, max = $max:expr, pattern = $pattern:expr, parse = $parse:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, String> {
                let f: fn(&str) -> Result<String, String> = $parse;
                f(s).map($name)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .max_length(Some($max))
                    .pattern(Some($pattern))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

parsed_string!(
    /// A school's short code for posters and QR codes: 3 to 16 of A–Z, 0–9 and '-'.
    SchoolCode, max = 16, pattern = "^[A-Za-z0-9-]{3,16}$",
    parse = |s| {
        let up = s.trim().to_ascii_uppercase();
        if (3..=16).contains(&up.len()) && up.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Ok(up)
        } else {
            Err("must be 3 to 16 letters, digits or '-'".into())
        }
    }
);

parsed_string!(
    /// A login name: 3 to 64 of a–z, 0–9, '.', '_' and '-' (stored lower-case).
    Username, max = 64, pattern = "^[A-Za-z0-9._-]{3,64}$",
    parse = |s| {
        let low = s.trim().to_ascii_lowercase();
        if (3..=64).contains(&low.len())
            && low.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            Ok(low)
        } else {
            Err("must be 3 to 64 letters, digits, '.', '_' or '-'".into())
        }
    }
);

parsed_string!(
    /// A phone number: digits with an optional leading '+', spaces and dashes.
    Phone, max = 20, pattern = "^\\+?[0-9 -]{5,19}$",
    parse = |s| {
        let t = s.trim();
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        let ok_chars = t
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b' ' || b == b'-' || (i == 0 && b == b'+'));
        if ok_chars && (5..=15).contains(&digits) && t.len() <= 20 {
            Ok(t.to_string())
        } else {
            Err("must be a phone number of 5 to 15 digits".into())
        }
    }
);

parsed_string!(
    /// An email address.
    Email, max = 254, pattern = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
    parse = |s| {
        let t = s.trim();
        let valid = t.len() <= 254
            && !t.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(t.split_once('@'), Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
                    && !domain.ends_with('.') && !domain.contains('@'));
        if valid { Ok(t.to_string()) } else { Err("must be an email address".into()) }
    }
);

parsed_string!(
    /// An IANA time zone, e.g. Asia/Shanghai.
    TimeZone, max = 64, pattern = "^[A-Za-z_+-]+(/[A-Za-z0-9_+-]+)*$",
    parse = |s| s.trim().parse::<chrono_tz::Tz>().map(|tz| tz.name().to_string())
        .map_err(|_| "must be an IANA time zone such as Asia/Shanghai".to_string())
);

parsed_string!(
    /// A time of day, HH:MM (24 h), in the school's time zone.
    ClockTime, max = 5, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$",
    parse = |s| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map(|t| t.format("%H:%M").to_string())
        .map_err(|_| "must be a time of day as HH:MM".to_string())
);

parsed_string!(
    /// An id made by this service (a UUID).
    Id, max = 36, pattern = "^[0-9a-f-]{36}$",
    parse = |s| uuid::Uuid::parse_str(s.trim()).map(|u| u.to_string())
        .map_err(|_| "must be an id given by this service".to_string())
);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchoolKind {
    Kindergarten,
    Primary,
    Middle,
    High,
    Training,
}

impl SchoolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SchoolKind::Kindergarten => "kindergarten",
            SchoolKind::Primary => "primary",
            SchoolKind::Middle => "middle",
            SchoolKind::High => "high",
            SchoolKind::Training => "training",
        }
    }

    pub fn parse(s: &str) -> Option<SchoolKind> {
        [
            SchoolKind::Kindergarten,
            SchoolKind::Primary,
            SchoolKind::Middle,
            SchoolKind::High,
            SchoolKind::Training,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The plan: young pupils go home only through a handover to an
    /// authorised adult — kindergarten, and primary grades 1 to 3.
    pub fn handover_required_by_default(self, grade: i32) -> bool {
        match self {
            SchoolKind::Kindergarten => true,
            SchoolKind::Primary => grade <= 3,
            _ => false,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchool {
    pub name: Text<100>,
    pub code: SchoolCode,
    pub kind: SchoolKind,
    /// Default Asia/Shanghai.
    pub timezone: Option<TimeZone>,
    /// Default 16:30.
    pub dismissal_time: Option<ClockTime>,
}

#[derive(Serialize, ToSchema)]
pub struct School {
    pub id: String,
    pub district_id: String,
    pub name: String,
    pub code: String,
    pub kind: SchoolKind,
    pub timezone: String,
    pub dismissal_time: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClass {
    /// 0 to 12 (kindergarten years count 1 to 3).
    #[schema(minimum = 0, maximum = 12)]
    pub grade: i32,
    pub name: Text<50>,
    pub head_teacher_id: Option<Id>,
}

#[derive(Serialize, ToSchema)]
pub struct Class {
    pub id: String,
    pub school_id: String,
    pub grade: i32,
    pub name: String,
    pub head_teacher_id: Option<String>,
}

crate::text_enum!(
    /// A person's sex, kept only where a rule needs it (who may work in or
    /// live in a girls' dormitory).
    pub enum Sex {
        Female = "female",
        Male = "male",
    }
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub role: Role,
    pub username: Username,
    pub display_name: Text<100>,
    /// Leave out to let the account set its own with an activation code
    /// (sent by email or SMS when known, otherwise answered once for the
    /// admin to print). A password given here must be changed at first
    /// login.
    pub password: Option<Text<128>>,
    /// Required for school roles; optional for parents.
    pub school_id: Option<Id>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub language: Option<Language>,
    /// Needed only where a rule asks for it (staff of a girls' dormitory).
    pub sex: Option<Sex>,
}

#[derive(Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub role: Role,
    pub username: String,
    pub display_name: String,
    pub district_id: String,
    pub school_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub language: Language,
    pub disabled: bool,
    pub sex: Option<Sex>,
    /// School staff: their personnel record (see staff vetting).
    pub personnel_id: Option<String>,
    /// School staff: where their vetting stands, and whether they may reach
    /// pupils now.
    pub vetting: Option<crate::vetting::dto::Vetting>,
    /// Only in the answer that made an account without a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<crate::account::dto::Activation>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStudent {
    pub school_id: Id,
    pub class_id: Id,
    pub name: Text<100>,
    pub student_no: Text<32>,
    #[schema(minimum = 0, maximum = 12)]
    pub grade: i32,
    /// Default: true in kindergarten and primary grades 1–3.
    pub handover_required: Option<bool>,
    /// The student's own app account, if they have one.
    pub user_id: Option<Id>,
    /// Needed only where a rule asks for it (a girls' dormitory).
    pub sex: Option<Sex>,
}

#[derive(Serialize, ToSchema)]
pub struct Student {
    pub id: String,
    pub school_id: String,
    pub class_id: String,
    pub name: String,
    pub student_no: String,
    pub grade: i32,
    pub handover_required: bool,
    pub sex: Option<Sex>,
    /// When the pupil transferred to another school. This record stays with
    /// this school for its history; the new school has a record of its own.
    pub left_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGuardian {
    pub user_id: Id,
    /// e.g. mother, father, grandmother.
    pub relation: Text<32>,
    pub primary: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Guardian {
    pub id: String,
    pub student_id: String,
    pub user_id: String,
    pub relation: String,
    pub primary: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Child {
    #[serde(flatten)]
    pub student: Student,
    pub school_name: String,
    pub class_name: String,
    pub relation: String,
    pub primary: bool,
}

/// A merge patch (RFC 7396) of a pupil's record: members left out stay as
/// they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub name: Patch<Text<100>>,
    #[serde(default)]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 12)]
    pub grade: Patch<i32>,
    /// Another class of the pupil's school (a move to another school is a
    /// transfer).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub class_id: Patch<Id>,
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 32)]
    pub student_no: Patch<Text<32>>,
}

/// A merge patch of an account: `null` removes the email or the phone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub display_name: Patch<Text<100>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<Email>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<Phone>,
    #[serde(default)]
    #[schema(value_type = Option<Language>)]
    pub language: Patch<Language>,
}

/// A merge patch of a class: `null` leaves it without a head teacher.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 50)]
    pub name: Patch<Text<50>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub head_teacher_id: Patch<Id>,
}

/// A merge patch of a school.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub name: Patch<Text<100>>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub dismissal_time: Patch<ClockTime>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<TimeZone>,
}

/// `DELETE /students/{id}/guardians/{user_id}`: who becomes the primary
/// guardian when the one removed was the last.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EndGuardianship {
    /// Another guardian of the pupil, made primary.
    pub new_primary_id: Option<String>,
}

/// `GET /users`: the staff of the schools the caller oversees.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaffQuery {
    /// One school (default: every school the caller oversees).
    pub school_id: Option<String>,
    /// One staff role.
    pub role: Option<Role>,
    /// Part of the display name or username.
    pub q: Option<String>,
    /// 1 to 100, default 20.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// `POST /users/{id}/offboard`: the day a staff member leaves.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeparture {
    /// Today or later, at the school.
    #[schema(value_type = String, format = Date)]
    pub effective_on: crate::dates::LocalDate,
}

#[derive(Serialize, ToSchema)]
pub struct Departure {
    pub user_id: String,
    #[schema(value_type = String, format = Date)]
    pub effective_on: crate::dates::LocalDate,
    /// When it was carried out; null while the day has not come.
    pub done_at: Option<DateTime<Utc>>,
    /// The classes left without a head teacher, when carried out now.
    pub released_classes: Vec<String>,
}

/// One of a school's designated safeguarding handlers: the principal (the
/// school's admin) or a counsellor the principal named.
#[derive(Serialize, ToSchema)]
pub struct SafeguardingLead {
    pub user_id: String,
    pub display_name: String,
    /// `school_admin` (the principal) or `counselor`.
    pub role: String,
    /// When the principal named this counsellor (for counsellors already
    /// at the school when designation arrived, their account's creation);
    /// none for the principal.
    pub named_at: Option<DateTime<Utc>>,
}

/// A guardian gives or withdraws consent to one use of the pupil's data.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsent {
    pub purpose: crate::org::consent::Purpose,
    /// `true` gives consent, `false` withdraws it.
    pub given: bool,
    /// The version of the privacy policy the guardian was shown, e.g. `2026-09`.
    pub policy_version: Text<32>,
    pub channel: crate::org::consent::ConsentChannel,
}

/// Where one purpose stands for a pupil.
#[derive(Serialize, ToSchema)]
pub struct ConsentState {
    pub purpose: crate::org::consent::Purpose,
    /// Whether the use may go on now: always for a pupil of 14 or more, else
    /// only with a guardian's consent in force.
    pub allowed: bool,
    /// The decision in force, if any guardian made one.
    pub given: Option<bool>,
    pub decided_by: Option<String>,
    pub policy_version: Option<String>,
    pub channel: Option<crate::org::consent::ConsentChannel>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// A pupil's consents, every purpose.
#[derive(Serialize, ToSchema)]
pub struct Consents {
    pub student_id: String,
    /// Whether the pupil is taken as under 14 (by grade: no date of birth is
    /// kept), so that their guardians decide.
    pub guardian_consent_needed: bool,
    pub purposes: Vec<ConsentState>,
}
