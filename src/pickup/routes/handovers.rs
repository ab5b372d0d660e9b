//! Handovers: a pupil released at the gate, and the family's answer.

use crate::auth::{Caller, GateStaff};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::pickup::dto::*;
use crate::pickup::service::{handovers, Now};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Release a pupil at the gate to an authorised adult (a teacher, guard or the school admin).
///
/// Refusals (403 `pickup_blocked`, `pickup_not_authorized`) release nothing,
/// alert the family and the head teacher (and the school admin for a
/// blocked adult), and are audited; with an `Idempotency-Key` a retry gets
/// the first answer and sends nothing again.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    request_body = NewHandover,
    responses(
        (status = 201, body = Handover),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handovers")]
pub(in crate::pickup) async fn create_handover(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    body: JsonBody<NewHandover>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let body = body.into_inner();
    let caller = gate.0;
    let now = Now::of(&state);
    Idempotent::new(&state.db, now.db, caller.idempotency_scope(), key, digest)
        .run_keeping_refusals(move |conn| handovers::release(conn, now, &caller, body))
        .await
}

/// A guardian confirms the pupil reached them.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "handover id")),
    responses(
        (status = 200, body = Handover),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handovers/{id}/confirm")]
pub(in crate::pickup) async fn confirm_handover(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Handover>> {
    let id = id.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| handovers::confirm(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(out))
}

/// A guardian disputes a handover: the head teacher and the school admin are alerted at once.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "handover id")),
    request_body = DisputeBody,
    responses(
        (status = 200, body = Handover),
    )
)]
#[post("/handovers/{id}/dispute")]
pub(in crate::pickup) async fn dispute_handover(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<DisputeBody>,
) -> AppResult<web::Json<Handover>> {
    let id = id.into_inner();
    let body = body.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| handovers::dispute(conn, now, &caller, &id, body))
        .await?;
    Ok(web::Json(out))
}

/// A pupil's handovers between two school days, newest first (family and the school's staff).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), HistoryQuery),
    responses(
        (status = 200, body = Vec<Handover>),
    )
)]
#[get("/students/{id}/handovers")]
pub(in crate::pickup) async fn student_handovers(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> AppResult<web::Json<Vec<Handover>>> {
    let student_id = id.into_inner();
    let q = query.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| handovers::history(conn, now, &caller, &student_id, q))
        .await?;
    Ok(web::Json(out))
}
