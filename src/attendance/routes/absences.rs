//! Absences: a guardian's explanation.

use crate::attendance::dto::{Absence, Explain};
use crate::attendance::service;
use crate::auth::Caller;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{post, web};

/// A guardian answers an absence alert.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "absence id")),
    request_body = Explain,
    responses(
        (status = 200, body = Absence),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/absences/{id}/explain")]
pub(in crate::attendance) async fn explain(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    body: JsonBody<Explain>,
) -> AppResult<web::Json<Absence>> {
    let id = id.into_inner();
    let b = body.into_inner();
    let now = state.now_db();
    let view = state
        .db
        .write(move |conn| service::explain(conn, now, &caller, &id, b))
        .await?;
    Ok(web::Json(view))
}
