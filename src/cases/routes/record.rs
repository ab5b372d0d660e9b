//! What is recorded on a case: the police report, the bureau's
//! acknowledgement, notes, support and protective measures. Nothing is
//! edited or deleted.

use crate::auth::{BureauOfficer, CaseMeasurer, CaseWorker};
use crate::cases::dto::*;
use crate::cases::service;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use actix_web::{post, web, HttpResponse};

/// Record that the police were told (the case's handlers).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewPoliceReport,
    responses((status = 201, body = CaseDetail))
)]
#[post("/cases/{id}/police-report")]
pub(in crate::cases) async fn record_police_report(
    state: State,
    worker: CaseWorker,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPoliceReport>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, caller) = (state.now_db(), worker.0);
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::record_police_report(conn, now, &caller, &id, b))
        .await
}

/// The bureau has taken note of the case (due within 24 hours of opening).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CaseDetail))
)]
#[post("/cases/{id}/bureau-acknowledgement")]
pub(in crate::cases) async fn acknowledge_case(
    state: State,
    officer: BureauOfficer,
    id: web::Path<String>,
) -> AppResult<web::Json<CaseDetail>> {
    let (id, now) = (id.into_inner(), state.now_db());
    let out = state
        .db
        .write(move |conn| service::acknowledge(conn, now, &officer.0, &id))
        .await?;
    Ok(web::Json(out))
}

/// Append a note (handlers and the bureau). A correction is a new entry
/// naming the one it corrects in `corrects`; the old one stays.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewEntry,
    responses((status = 201, body = Entry))
)]
#[post("/cases/{id}/entries")]
pub(in crate::cases) async fn add_case_entry(
    state: State,
    worker: CaseWorker,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewEntry>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, caller) = (state.now_db(), worker.0);
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::add_entry(conn, now, &caller, &id, b))
        .await
}

/// Record support given to the child (the case's handlers).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewSupport,
    responses((status = 201, body = CaseDetail))
)]
#[post("/cases/{id}/support")]
pub(in crate::cases) async fn add_case_support(
    state: State,
    worker: CaseWorker,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewSupport>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, caller) = (state.now_db(), worker.0);
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::add_support(conn, now, &caller, &id, b))
        .await
}

/// Take a protective measure (the school admin, the bureau).
/// `suspend_staff` takes the staff suspect's access to pupils at once and
/// ends their sessions.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewMeasure,
    responses(
        (status = 201, body = CaseDetail),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/measures")]
pub(in crate::cases) async fn add_case_measure(
    state: State,
    measurer: CaseMeasurer,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewMeasure>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, caller) = (state.now_db(), measurer.0);
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::add_measure(conn, now, &caller, &id, b))
        .await
}
