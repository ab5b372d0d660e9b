//! Dormitories: opening one, its residents and staff, a man's entry into a
//! girls' dormitory, and the nightly roll call.

use crate::auth::{Admin, DormKeeper, DormRecorder};
use crate::dorms::dto::*;
use crate::dorms::service;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};

/// Open a dormitory of the school (`girls` or `boys`).
#[utoipa::path(
    tag = "dorms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = NewDorm,
    responses(
        (status = 201, body = Dorm),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools/{id}/dorms")]
pub(in crate::dorms) async fn create_dorm(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewDorm>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let (b, school_id, now) = (body.into_inner(), id.into_inner(), state.now_db());
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create(conn, now, &caller, &school_id, b))
        .await
}

/// Pupils move in: only a girl (sex recorded as female) into a girls'
/// dormitory, only a boy into a boys' (422 `dorm_resident_sex`).
#[utoipa::path(
    tag = "dorms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "dormitory id")),
    request_body = NewResidents,
    responses(
        (status = 200, body = Dorm),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dorms/{id}/residents")]
pub(in crate::dorms) async fn add_dorm_residents(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewResidents>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let (b, id, now) = (body.into_inner(), id.into_inner(), state.now_db());
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .status(StatusCode::OK)
        .run(move |conn| service::add_residents(conn, now, &caller, &id, b))
        .await
}

/// Assign a member of staff to the dormitory: only female staff to a girls'
/// dormitory (422 `dorm_staff_sex`).
#[utoipa::path(
    tag = "dorms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "dormitory id")),
    request_body = NewDormStaff,
    responses(
        (status = 200, body = Dorm),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dorms/{id}/staff")]
pub(in crate::dorms) async fn add_dorm_staff(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewDormStaff>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let (b, id, now) = (body.into_inner(), id.into_inner(), state.now_db());
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .status(StatusCode::OK)
        .run(move |conn| service::add_staff(conn, now, &caller, &id, b))
        .await
}

/// Record a man entering a girls' dormitory. Recorded beforehand by the
/// school admin or the dormitory's staff with a reason, it is approved;
/// otherwise it is an incident and the principal is alerted at once.
#[utoipa::path(
    tag = "dorms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "dormitory id")),
    request_body = NewDormEntry,
    responses(
        (status = 201, body = DormEntry),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dorms/{id}/entries")]
pub(in crate::dorms) async fn record_dorm_entry(
    state: State,
    recorder: DormRecorder,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewDormEntry>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let (b, id, now) = (body.into_inner(), id.into_inner(), state.now());
    let caller = recorder.0;
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .run(move |conn| service::record_entry(conn, now, &caller, &id, b))
    .await
}

/// The nightly roll call (the school admin or the dormitory's staff): a
/// pupil absent without approved leave alerts the dormitory's staff, the
/// head teacher and every guardian at once.
#[utoipa::path(
    tag = "dorms",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "dormitory id")),
    request_body = NewDormRollCall,
    responses(
        (status = 201, body = DormRollCall),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/dorms/{id}/roll-calls")]
pub(in crate::dorms) async fn take_dorm_roll_call(
    state: State,
    keeper: DormKeeper,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewDormRollCall>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let (b, id, now) = (body.into_inner(), id.into_inner(), state.now());
    let caller = keeper.0;
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .run(move |conn| service::take_roll_call(conn, now, &caller, &id, b))
    .await
}
