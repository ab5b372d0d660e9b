//! `/audit/verify` and `/audit/head`: checking the chain, and a signed head
//! to keep outside the system.

use super::dto::{AuditHead, Verification, VerifyQuery};
use super::service;
use crate::auth::{AuditReader, DistrictAdmin};
use crate::error::{AppResult, Problem};
use crate::state::State;
use actix_web::{get, web};

/// Check the whole audit chain; with `against`, also that it still extends
/// a head signed earlier.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(VerifyQuery),
    responses((status = 200, body = Verification), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/audit/verify")]
pub(crate) async fn verify_chain(
    state: State,
    _admin: DistrictAdmin,
    q: web::Query<VerifyQuery>,
) -> AppResult<web::Json<Verification>> {
    let against = q.into_inner().against;
    let v = state
        .db
        .read(move |conn| service::verify(conn, against.as_deref()))
        .await?;
    Ok(web::Json(v))
}

/// The chain's head now, signed with the audit key, for the bureau to keep
/// outside the system (the district admin and bureau officers).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, body = AuditHead), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/audit/head")]
pub(crate) async fn audit_head(state: State, _who: AuditReader) -> AppResult<web::Json<AuditHead>> {
    Ok(web::Json(state.db.read(service::head).await?))
}
