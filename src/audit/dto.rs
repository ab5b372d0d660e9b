//! The audit log's response types.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema, Debug)]
pub struct Verification {
    pub ok: bool,
    pub events: i64,
    /// The first event whose content or place in the chain is wrong.
    pub first_bad_id: Option<String>,
    /// With `against`: whether the chain still runs through that earlier
    /// head (false when history before it was rewritten or cut).
    pub extends: Option<bool>,
}

/// The chain's head, signed with the audit key. Keep `token` outside the
/// system; `GET /audit/verify?against=<token>` later proves the chain still
/// extends it.
#[derive(Serialize, ToSchema, Debug)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub signature: String,
    pub token: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// A head token from `GET /audit/head`.
    pub against: Option<String>,
}
