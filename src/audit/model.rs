//! The audit log's rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Queryable)]
pub struct Row {
    pub id: String,
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub school_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}
