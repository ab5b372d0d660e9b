//! The audit log's response types.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema, Debug)]
pub struct Verification {
    pub ok: bool,
    pub events: i64,
    /// The first event whose content or place in the chain is wrong.
    pub first_bad_id: Option<String>,
}
