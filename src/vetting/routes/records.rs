//! What is recorded on a person: checks (the bureau), signed commitments
//! and training (the school admin).

use crate::auth::{Admin, BureauOfficer};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use crate::vetting::dto::*;
use crate::vetting::service;
use actix_web::{post, web, HttpResponse};

/// Lift a suspension that a case's `suspend_staff` measure put on the
/// person (bureau officers only): access is again what the checks,
/// commitment and training give.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = PersonnelDetail),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/personnel/{id}/suspension-lift")]
pub(in crate::vetting) async fn lift_suspension(
    state: State,
    officer: BureauOfficer,
    id: web::Path<String>,
) -> AppResult<web::Json<PersonnelDetail>> {
    let (now, id) = (state.now(), id.into_inner());
    let months = state.settings.vetting.valid_months;
    let out = state
        .db
        .write(move |conn| service::lift_suspension(conn, now, &officer.0, months, &id))
        .await?;
    Ok(web::Json(out))
}

/// Record a check of the person's record (bureau officers only). Only the
/// result, the authority and the reference are kept, never an offence's
/// details. A `hit` bars the person at once: their sessions end, they leave
/// every mailbox, they go on the district's watch list, and the principal
/// and the bureau are alerted.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewCheck,
    responses(
        (status = 201, body = PersonnelDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/personnel/{id}/checks")]
pub(in crate::vetting) async fn record_check(
    state: State,
    officer: BureauOfficer,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewCheck>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, now_db) = (state.now(), state.now_db());
    let months = state.settings.vetting.valid_months;
    let caller = officer.0;
    Idempotent::new(&state.db, now_db, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::record_check(conn, now, &caller, months, &id, b))
        .await
}

/// Record a signed code of conduct (承诺书).
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewCommitment,
    responses(
        (status = 201, body = PersonnelDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/personnel/{id}/commitments")]
pub(in crate::vetting) async fn record_commitment(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewCommitment>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, now_db) = (state.now(), state.now_db());
    let months = state.settings.vetting.valid_months;
    let caller = admin.0;
    Idempotent::new(&state.db, now_db, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::record_commitment(conn, now, &caller, months, &id, b))
        .await
}

/// Record completed prevention training.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewTraining,
    responses(
        (status = 201, body = PersonnelDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/personnel/{id}/trainings")]
pub(in crate::vetting) async fn record_training(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewTraining>,
) -> AppResult<HttpResponse> {
    let (digest, b, id) = (body.digest, body.into_inner(), id.into_inner());
    let (now, now_db) = (state.now(), state.now_db());
    let months = state.settings.vetting.valid_months;
    let caller = admin.0;
    Idempotent::new(&state.db, now_db, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::record_training(conn, now, &caller, months, &id, b))
        .await
}
