//! Dismissal: how each pupil goes home, the class board at the gate, and
//! the principal's end-of-day summary.

use crate::auth::{Admin, Caller, GateStaff};
use crate::error::AppResult;
use crate::http::JsonBody;
use crate::pickup::dto::*;
use crate::pickup::service::{dismissal, Now};
use crate::state::State;
use actix_web::{get, put, web};

/// How a pupil goes home. Going home alone for a pupil who needs handover
/// takes the school admin's approval: only the school admin may set it.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id")),
    request_body = DismissalModeBody,
    responses(
        (status = 200, body = DismissalModeView),
    )
)]
#[put("/students/{id}/dismissal-mode")]
pub(in crate::pickup) async fn set_dismissal_mode(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<DismissalModeBody>,
) -> AppResult<web::Json<DismissalModeView>> {
    let student_id = id.into_inner();
    let body = body.into_inner();
    let now = Now::of(&state);
    let out = state
        .db
        .write(move |conn| dismissal::set_mode(conn, now, &caller, &student_id, body))
        .await?;
    Ok(web::Json(out))
}

/// The dismissal board of a class: each pupil's state and who may take them.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "class id"), DateQuery),
    responses(
        (status = 200, body = DismissalBoard),
    )
)]
#[get("/classes/{id}/dismissal")]
pub(in crate::pickup) async fn dismissal_board(
    state: State,
    gate: GateStaff,
    id: web::Path<String>,
    query: web::Query<DateQuery>,
) -> AppResult<web::Json<DismissalBoard>> {
    let class_id = id.into_inner();
    let caller = gate.0;
    let date = query.into_inner().date;
    let now = Now::of(&state);
    let out = state
        .db
        .read(move |conn| dismissal::board(conn, now, &caller, &class_id, date))
        .await?;
    Ok(web::Json(out))
}

/// End of day for the principal: per class, how every pupil went home, and who is unresolved.
#[utoipa::path(
    tag = "pickup",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id"), DateQuery),
    responses(
        (status = 200, body = DismissalSummary),
    )
)]
#[get("/schools/{id}/dismissal-summary")]
pub(in crate::pickup) async fn dismissal_summary(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    query: web::Query<DateQuery>,
) -> AppResult<web::Json<DismissalSummary>> {
    let school_id = id.into_inner();
    let caller = admin.0;
    let date = query.into_inner().date;
    let now = Now::of(&state);
    let out = state
        .db
        .read(move |conn| dismissal::summary(conn, now, &caller, &school_id, date))
        .await?;
    Ok(web::Json(out))
}
