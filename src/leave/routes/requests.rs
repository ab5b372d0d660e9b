//! Leave requests: filing, reading and withdrawing.

use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page};
use crate::leave::dto::{Leave, LeaveQuery, NewLeave};
use crate::leave::service;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Ask for leave: the student for themself, a guardian for their child, or
/// the head teacher on the family's behalf.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    request_body = NewLeave,
    responses(
        (status = 201, body = Leave),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests")]
pub(in crate::leave) async fn create_leave(
    state: State,
    caller: Caller,
    key: IdempotencyKey,
    body: JsonBody<NewLeave>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner();
    let now = state.now_db();
    let policy = state.settings.leave.clone();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_leave(conn, now, &policy, &caller, b))
        .await
}

/// Leave requests the caller may see: the student's own, a guardian's
/// children's, the school's for its staff. `awaiting_me=true` is the
/// caller's queue.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(LeaveQuery),
    responses(
        (status = 200, body = Page<Leave>),
    )
)]
#[get("/leave-requests")]
pub(in crate::leave) async fn list_leaves(
    state: State,
    caller: Caller,
    q: web::Query<LeaveQuery>,
) -> AppResult<web::Json<Page<Leave>>> {
    let q = q.into_inner();
    let now = state.now_db();
    let page = state
        .db
        .write(move |conn| service::list_leaves(conn, now, &caller, q))
        .await?;
    Ok(web::Json(page))
}

/// One leave request.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 200, body = Leave),
    )
)]
#[get("/leave-requests/{id}")]
pub(in crate::leave) async fn get_leave(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Leave>> {
    let id = id.into_inner();
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| service::get_leave(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(view))
}

/// The requester withdraws a leave before it starts.
#[utoipa::path(
    tag = "leave",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "leave request id")),
    responses(
        (status = 200, body = Leave),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/leave-requests/{id}/withdraw")]
pub(in crate::leave) async fn withdraw(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<web::Json<Leave>> {
    let id = id.into_inner();
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| service::withdraw(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(view))
}
