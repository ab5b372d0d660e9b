//! Concerns' HTTP surface: raising one, the queue, one concern. The triage
//! is in `cases`, which opens the case a triage asks for.

use super::dto::*;
use super::service;
use crate::auth::ConcernRaiser;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Raise a concern (any member of a school's staff, guards and dorm
/// managers included): what you saw or heard about one or more pupils of
/// your school. The principal and the counsellors they named are alerted at once and
/// triage it; you see your own concerns.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    request_body = NewConcern,
    responses(
        (status = 201, body = Concern),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/concerns")]
pub(super) async fn raise_concern(
    state: State,
    raiser: ConcernRaiser,
    key: IdempotencyKey,
    body: JsonBody<NewConcern>,
) -> AppResult<HttpResponse> {
    let (digest, b) = (body.digest, body.into_inner());
    let now = state.now_db();
    let caller = raiser.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::raise(conn, now, &caller, b))
        .await
}

/// The concerns you see, newest first: the principal and the named counsellors
/// the school's whole queue (observations and the absence patterns that
/// attendance raises), a head teacher the absence patterns of their classes
/// and their own, any other staff their own. Reading is audited.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(ConcernQuery),
    responses((status = 200, body = Page<Concern>))
)]
#[get("/concerns")]
pub(super) async fn list_concerns(
    state: State,
    raiser: ConcernRaiser,
    q: web::Query<ConcernQuery>,
) -> AppResult<web::Json<Page<Concern>>> {
    let q = q.into_inner();
    let now = state.now_db();
    let page = state
        .db
        .write(move |conn| service::list(conn, now, &raiser.0, q))
        .await?;
    Ok(web::Json(page))
}

/// One concern, to its author and the school's handlers (a head teacher:
/// an absence pattern of their pupil). 404 for anyone else. Audited.
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Concern),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/concerns/{id}")]
pub(super) async fn get_concern(
    state: State,
    raiser: ConcernRaiser,
    id: web::Path<String>,
) -> AppResult<web::Json<Concern>> {
    let (id, now) = (id.into_inner(), state.now_db());
    let out = state
        .db
        .write(move |conn| service::get(conn, now, &raiser.0, &id))
        .await?;
    Ok(web::Json(out))
}
