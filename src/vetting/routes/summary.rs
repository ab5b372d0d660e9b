//! The district's (or a school's) vetting at a glance.

use crate::auth::VettingReader;
use crate::error::AppResult;
use crate::state::State;
use crate::vetting::dto::VettingSummary;
use crate::vetting::service;
use actix_web::{get, web};

/// Per school: cleared, in grace, pending, expiring within 30 days,
/// expired, barred (the bureau every school; a school admin their own).
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    responses((status = 200, body = VettingSummary))
)]
#[get("/vetting/summary")]
pub(in crate::vetting) async fn vetting_summary(
    state: State,
    reader: VettingReader,
) -> AppResult<web::Json<VettingSummary>> {
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let summary = state
        .db
        .read(move |conn| service::summary(conn, now, &reader.0, months))
        .await?;
    Ok(web::Json(summary))
}
