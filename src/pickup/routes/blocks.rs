//! The never-release list: who must never take a pupil.

use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::pickup::dto::*;
use crate::pickup::service::{blocks, Now};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Record someone who must never take the pupil (a primary guardian or the
/// school admin; 403 `primary_guardian_required` for another guardian). An
/// entry naming one of the pupil's guardians is `pending` until the school
/// admin confirms it against a court order: that guardian keeps the child's
/// file and alerts, but a release to them is held. The school admin's own
/// entry naming a guardian needs `court_order_ref` (422) and is in force at once.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewPickupBlock,
    responses(
        (status = 201, body = PickupBlock),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/pickup-blocks")]
pub(in crate::pickup) async fn add_pickup_block(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPickupBlock>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let body = body.into_inner();
    let student_id = id.into_inner();
    let now = Now::of(&state);
    Idempotent::new(&state.db, now.db, caller.idempotency_scope(), key, digest)
        .run(move |conn| blocks::add(conn, now, &caller, &student_id, body))
        .await
}

/// The pupil's never-release list, lifted entries included (family and the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Vec<PickupBlock>),
    )
)]
#[get("/students/{id}/pickup-blocks")]
pub(in crate::pickup) async fn list_pickup_blocks(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<PickupBlock>>> {
    let student_id = id.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| blocks::list(conn, now, &caller, &student_id))
        .await?;
    Ok(web::Json(out))
}

/// Lift a never-release entry, with a note (the school admin only); all guardians are told.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "block id")),
    request_body = LiftBlock,
    responses(
        (status = 200, body = PickupBlock),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-blocks/{id}/lift")]
pub(in crate::pickup) async fn lift_pickup_block(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<LiftBlock>,
) -> AppResult<web::Json<PickupBlock>> {
    let block_id = id.into_inner();
    let body = body.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| blocks::lift(conn, now, &caller, &block_id, body))
        .await?;
    Ok(web::Json(out))
}

/// Confirm a pending entry against a court or protective order (the school
/// admin only): it comes into force and the guardian it names is cut off.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "block id")),
    request_body = ConfirmBlock,
    responses(
        (status = 200, body = PickupBlock),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-blocks/{id}/confirm")]
pub(in crate::pickup) async fn confirm_pickup_block(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<ConfirmBlock>,
) -> AppResult<web::Json<PickupBlock>> {
    let block_id = id.into_inner();
    let body = body.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| blocks::confirm(conn, now, &caller, &block_id, body))
        .await?;
    Ok(web::Json(out))
}

/// Reject a pending entry, with a note (the school admin only): it ends and
/// the guardian it named is no longer held.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "block id")),
    request_body = RejectBlock,
    responses(
        (status = 200, body = PickupBlock),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-blocks/{id}/reject")]
pub(in crate::pickup) async fn reject_pickup_block(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<RejectBlock>,
) -> AppResult<web::Json<PickupBlock>> {
    let block_id = id.into_inner();
    let body = body.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| blocks::reject(conn, now, &caller, &block_id, body))
        .await?;
    Ok(web::Json(out))
}
