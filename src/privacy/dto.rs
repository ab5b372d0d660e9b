use crate::http::Text;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

crate::text_enum!(
    /// What a family asks: to see what is held (`access`), a copy of it
    /// (`copy`, a JSON export), a correction, or a deletion.
    pub enum DataRequestKind {
        Access = "access",
        Copy = "copy",
        Correct = "correct",
        Delete = "delete",
    }
);

crate::text_enum!(
    pub enum DataRequestStatus {
        Open = "open",
        Completed = "completed",
        Refused = "refused",
    }
);

crate::text_enum!(
    /// The school admin's answer: done, or refused with a written reason.
    pub enum DataRequestOutcome {
        Completed = "completed",
        Refused = "refused",
    }
);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDataRequest {
    pub kind: DataRequestKind,
    /// The pupil it is about; absent, it is about the guardian's own data
    /// (answered by the school of their first child).
    pub student_id: Option<String>,
    /// What the family asks, in its own words.
    pub detail: Text<2000>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataRequestAnswer {
    pub outcome: DataRequestOutcome,
    /// What was done, or why it is refused: required for a refusal (422).
    pub reply: Option<Text<2000>>,
}

#[derive(Serialize, ToSchema)]
pub struct DataRequest {
    pub id: String,
    pub school_id: String,
    pub requester_id: String,
    pub student_id: Option<String>,
    pub kind: DataRequestKind,
    pub detail: String,
    pub status: DataRequestStatus,
    /// The school's answer is due by the end of this school day (15 school
    /// days after the request).
    pub due_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub reply: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// A completed copy request: where the family downloads the export.
    pub export_url: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct DataRequestQuery {
    /// Only requests in this state.
    pub status: Option<DataRequestStatus>,
}
