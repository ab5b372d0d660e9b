//! The district's case statistics.

use crate::auth::BureauOfficer;
use crate::cases::dto::CaseSummary;
use crate::cases::service;
use crate::error::AppResult;
use crate::state::State;
use actix_web::{get, web};

/// Counts per school, category and status (the bureau). A cell under 5 is
/// suppressed: `count` null, `suppressed` true.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    responses((status = 200, body = CaseSummary))
)]
#[get("/cases/summary")]
pub(in crate::cases) async fn case_summary(
    state: State,
    officer: BureauOfficer,
) -> AppResult<web::Json<CaseSummary>> {
    let out = state
        .db
        .read(move |conn| service::summary(conn, &officer.0))
        .await?;
    Ok(web::Json(out))
}
