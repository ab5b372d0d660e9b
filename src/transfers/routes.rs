//! Transfers' routes.

use super::dto::*;
use super::service;
use crate::auth::{Principal, Transferer};
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Transfer a pupil to another school of the district. The bureau's
/// transfer is carried out at once (with `student_number`); a school
/// admin's request waits for an admin of the receiving school (202). The
/// guardians move with the pupil; the old school keeps the old record and
/// its history, and its pickup persons, passes, open leave and dormitory
/// place end.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewTransfer,
    responses(
        (status = 200, body = Transfer, description = "carried out"),
        (status = 202, body = Transfer, description = "waiting for the receiving school"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/transfer")]
pub(super) async fn request_transfer(
    state: State,
    who: Transferer,
    id: web::Path<String>,
    body: JsonBody<NewTransfer>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = who.0;
    let t = state
        .db
        .write(move |conn| service::request(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(match t.status {
        TransferStatus::Pending => HttpResponse::Accepted().json(t),
        _ => HttpResponse::Ok().json(t),
    })
}

/// The transfers of the caller's school (leaving or coming) or, for the
/// bureau, of the district; newest first.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Transfer>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/transfers")]
pub(super) async fn list_transfers(
    state: State,
    who: Transferer,
) -> AppResult<web::Json<Vec<Transfer>>> {
    let caller = who.0;
    let list = state
        .db
        .read(move |conn| service::list(conn, &caller))
        .await?;
    Ok(web::Json(list))
}

/// The receiving school's admin accepts a transfer, giving the pupil's new
/// number (409 `student_exists` if the school has it already).
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AcceptTransfer,
    responses(
        (status = 200, body = Transfer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/transfers/{id}/accept")]
pub(super) async fn accept_transfer(
    state: State,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody<AcceptTransfer>,
) -> AppResult<web::Json<Transfer>> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = principal.0;
    let t = state
        .db
        .write(move |conn| service::accept(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(web::Json(t))
}

/// The receiving school's admin (or the bureau) declines a transfer; the
/// pupil stays where they are.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Transfer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/transfers/{id}/decline")]
pub(super) async fn decline_transfer(
    state: State,
    who: Transferer,
    id: web::Path<String>,
) -> AppResult<web::Json<Transfer>> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = who.0;
    let t = state
        .db
        .write(move |conn| service::decline(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(t))
}
