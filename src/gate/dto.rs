//! Request types of the gate.

use crate::http::Text;
use crate::org::dto::Id;
use crate::pickup::dto::Presented;
use serde::Deserialize;
use utoipa::ToSchema;

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
