//! One-time pickup passes.

use crate::auth::Caller;
use crate::db::AnyConnection;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::pickup::dto::*;
use crate::pickup::service::{passes, Now};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Issue a one-time pickup pass for a day (a guardian). The code and QR token are shown once.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = NewPickupPass,
    responses(
        (status = 201, body = PickupPassIssued),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/pickup-passes")]
pub(in crate::pickup) async fn issue_pickup_pass(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewPickupPass>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let body = body.into_inner();
    let student_id = id.into_inner();
    let now = Now::of(&state);
    let replay_caller = caller.clone();
    Idempotent::new(&state.db, now.db, caller.idempotency_scope(), key, digest)
        .run_secret(
            move |conn| passes::issue(conn, now, &caller, &student_id, body),
            passes::redact,
            move |conn: &mut AnyConnection, record| {
                passes::reissue(conn, now, &replay_caller, record)
            },
        )
        .await
}

/// A pupil's pickup passes (family and the school's staff); codes are never shown again.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    responses(
        (status = 200, body = Vec<PickupPass>),
    )
)]
#[get("/students/{id}/pickup-passes")]
pub(in crate::pickup) async fn list_pickup_passes(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<PickupPass>>> {
    let student_id = id.into_inner();
    let out = state
        .db
        .read(move |conn| passes::list(conn, &caller, &student_id))
        .await?;
    Ok(web::Json(out))
}

/// Cancel an unused pass (a guardian).
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "pass id")),
    responses(
        (status = 200, body = PickupPass),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pickup-passes/{id}/cancel")]
pub(in crate::pickup) async fn cancel_pickup_pass(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<PickupPass>> {
    let pass_id = id.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| passes::cancel(conn, now, &caller, &pass_id))
        .await?;
    Ok(web::Json(out))
}
