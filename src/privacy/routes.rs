//! Families' data requests over HTTP.

use super::dto::*;
use super::service;
use crate::auth::{Admin, Caller, Parent};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// A guardian asks to see, copy, correct or delete what is held about
/// their child (`student_id`) or themself. The school admin is told at
/// once, answers within 15 school days and is alerted after 10.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    request_body = NewDataRequest,
    responses(
        (status = 201, body = DataRequest),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/data-requests")]
pub(super) async fn create_data_request(
    state: State,
    parent: Parent,
    key: IdempotencyKey,
    body: JsonBody<NewDataRequest>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let now = state.now_db();
    let caller = parent.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create(conn, now, &caller, body.into_inner()?))
        .await
}

/// The guardian's own data requests, newest first.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<DataRequest>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/data-requests")]
pub(super) async fn my_data_requests(
    state: State,
    parent: Parent,
) -> AppResult<web::Json<Vec<DataRequest>>> {
    let caller = parent.0;
    let out = state
        .db
        .read(move |conn| service::mine(conn, &caller))
        .await?;
    Ok(web::Json(out))
}

/// A school's data requests, newest first: its admin (and the district admin).
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id"), DataRequestQuery),
    responses(
        (status = 200, body = Vec<DataRequest>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schools/{id}/data-requests")]
pub(super) async fn school_data_requests(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    q: web::Query<DataRequestQuery>,
) -> AppResult<web::Json<Vec<DataRequest>>> {
    let (id, q, caller) = (id.into_inner(), q.into_inner(), admin.0);
    let out = state
        .db
        .read(move |conn| service::of_school(conn, &caller, &id, q))
        .await?;
    Ok(web::Json(out))
}

/// The school admin answers a request: `completed` (a copy request then
/// carries its export) or `refused` with a written `reply` (422 without one).
/// The family is told.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "data request id")),
    request_body = DataRequestAnswer,
    responses(
        (status = 200, body = DataRequest),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/data-requests/{id}/answer")]
pub(super) async fn answer_data_request(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    body: JsonBody<DataRequestAnswer>,
) -> AppResult<web::Json<DataRequest>> {
    let (id, caller, now) = (id.into_inner(), admin.0, state.now_db());
    let out = state
        .db
        .write(move |conn| service::answer(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(web::Json(out))
}

/// A completed copy request's export: everything held about the pupil as
/// JSON, except tip-line reports, cases and concerns (they protect others).
/// For whoever asked, and the school admin. Audited.
#[utoipa::path(
    tag = "privacy",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "data request id")),
    responses(
        (status = 200, description = "The export (application/json)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/data-requests/{id}/export")]
pub(super) async fn data_request_export(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (id, now) = (id.into_inner(), state.now_db());
    let body = state
        .db
        .write(move |conn| service::export_of(conn, now, &caller, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"export.json\"",
        ))
        .body(body))
}
