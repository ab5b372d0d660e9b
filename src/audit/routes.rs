//! `/audit/verify`: the district admin checks the chain.

use super::dto::Verification;
use super::service::verify;
use crate::auth::DistrictAdmin;
use crate::error::{AppResult, Problem};
use crate::state::State;
use actix_web::{get, web};

/// Check the whole audit chain.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    responses((status = 200, body = Verification), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/audit/verify")]
pub(crate) async fn verify_chain(
    state: State,
    _admin: DistrictAdmin,
) -> AppResult<web::Json<Verification>> {
    Ok(web::Json(state.db.read(verify).await?))
}
