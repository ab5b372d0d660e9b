//! Closing a case: a handler proposes with an outcome, the bureau confirms.

use crate::auth::{BureauOfficer, CaseWorker};
use crate::cases::dto::*;
use crate::cases::service;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{post, web};

/// Propose to close the case with an outcome (a handler). A mandatory
/// category without a police report on record is refused (409
/// `police_report_required`).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CloseProposal,
    responses(
        (status = 200, body = CaseDetail),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/close")]
pub(in crate::cases) async fn propose_case_close(
    state: State,
    worker: CaseWorker,
    id: web::Path<String>,
    body: JsonBody<CloseProposal>,
) -> AppResult<web::Json<CaseDetail>> {
    let (id, now, b) = (id.into_inner(), state.now_db(), body.into_inner());
    let out = state
        .db
        .write(move |conn| service::propose_close(conn, now, &worker.0, &id, b))
        .await?;
    Ok(web::Json(out))
}

/// Confirm a proposed closure (the bureau only).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = CaseDetail),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/close-confirmation")]
pub(in crate::cases) async fn confirm_case_close(
    state: State,
    officer: BureauOfficer,
    id: web::Path<String>,
) -> AppResult<web::Json<CaseDetail>> {
    let (id, now) = (id.into_inner(), state.now_db());
    let out = state
        .db
        .write(move |conn| service::confirm_close(conn, now, &officer.0, &id))
        .await?;
    Ok(web::Json(out))
}
