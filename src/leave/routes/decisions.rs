//! Decisions on a leave: the guardian's co-signature and the school's.

use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::leave::dto::{Decision, Leave};
use crate::leave::service;
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};

/// A guardian co-signs (or refuses) the leave their child asked for.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    request_body = Decision,
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/guardian-decision")]
pub(in crate::leave) async fn guardian_decision(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<Decision>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner();
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .status(StatusCode::OK)
        .run(move |conn| service::guardian_decision(conn, now, &caller, &id, b))
        .await
}

/// The head teacher decides; a leave longer than the school threshold then
/// goes to the school admin, who decides last.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    request_body = Decision,
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/decision")]
pub(in crate::leave) async fn decision(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<Decision>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner();
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .status(StatusCode::OK)
        .run(move |conn| service::decision(conn, now, &caller, &id, b))
        .await
}
