//! Request and response types of transfers.

use crate::http::Text;
use crate::org::dto::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

crate::text_enum!(
    pub enum TransferStatus {
        /// Waiting for an admin of the receiving school.
        Pending = "pending",
        Done = "done",
        Declined = "declined",
    }
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    /// The receiving school, in the same district.
    pub school_id: Id,
    /// A class of the receiving school.
    pub class_id: Id,
    /// The pupil's number at the receiving school. Needed when the transfer
    /// is carried out at once (by the bureau); a school admin's request gets
    /// it from the receiving admin.
    pub student_number: Option<Text<32>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptTransfer {
    /// The pupil's number at the receiving school.
    pub student_number: Text<32>,
}

#[derive(Serialize, ToSchema)]
pub struct Transfer {
    pub id: String,
    /// The pupil's record at the school they leave.
    pub student_id: String,
    pub student_name: String,
    pub from_school_id: String,
    pub to_school_id: String,
    pub to_class_id: String,
    pub status: TransferStatus,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The pupil's new record at the receiving school, once done. Shown to
    /// the receiving school and the bureau only.
    pub new_student_id: Option<String>,
}
