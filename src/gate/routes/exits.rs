//! The gate: a leave's pass, the exit, the scanned exit and the return.

use crate::auth::{Caller, GateStaff};
use crate::error::{AppResult, Problem};
use crate::gate::dto::{ExitBody, GateExit};
use crate::gate::service;
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::leave::dto::{Leave, LeavePass};
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};

/// Issue the gate pass of an approved leave that leaves campus (the
/// student, a guardian or the head teacher). The code and QR token are
/// shown once and stored only as hashes; issuing again replaces them.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 201, body = LeavePass),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/pass")]
pub(in crate::gate) async fn issue_pass(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let pass = state
        .db
        .write(move |conn| service::issue_pass(conn, now, &caller, &id))
        .await?;
    Ok(HttpResponse::Created().json(pass))
}

/// The gate lets a student out on an approved leave. A student who needs
/// handover leaves only with an authorised adult (the pickup rules).
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    request_body = ExitBody,
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/exit")]
pub(in crate::gate) async fn exit(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<ExitBody>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let digest = body.digest;
    let b = body.into_inner();
    let caller = gate.0;
    let now_utc = state.now();
    let scope = caller.idempotency_scope();
    Idempotent::new(&state.db, state.now_db(), scope, key, digest)
        .status(StatusCode::OK)
        .run_keeping_refusals(move |conn| service::exit(conn, now_utc, &caller, &id, b))
        .await
}

/// The guard scans a leave pass (its code or QR token) and lets the student out.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    request_body = GateExit,
    responses(
        (status = 200, body = Leave),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/gate/leave-exit")]
pub(in crate::gate) async fn gate_exit(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    body: JsonBody<GateExit>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner();
    let caller: Caller = gate.0;
    let now_utc = state.now();
    let scope = caller.idempotency_scope();
    Idempotent::new(&state.db, state.now_db(), scope, key, digest)
        .status(StatusCode::OK)
        .run_keeping_refusals(move |conn| service::gate_exit(conn, now_utc, &caller, b))
        .await
}

/// The student is back (销假): the guard, the head teacher or the school
/// admin records it; guardians and the head teacher are told.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/return")]
pub(in crate::gate) async fn record_return(
    state: State,
    gate: GateStaff,
    key: IdempotencyKey,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let caller = gate.0;
    let (now, now_utc) = (state.now_db(), state.now());
    let scope = caller.idempotency_scope();
    // No body: every return of the key is the same request.
    let digest = crate::crypto::sha256(b"");
    Idempotent::new(&state.db, now, scope, key, digest)
        .status(StatusCode::OK)
        .run(move |conn| service::record_return(conn, now_utc, now, &caller, &id))
        .await
}
