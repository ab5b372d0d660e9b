//! Visitors: pre-registration, the gate's check-in and check-out, the
//! host's decision on a walk-in, and the day's log.

use crate::auth::{CaseMeasurer, Guard, VisitHost, VisitLogReader};
use crate::error::{AppResult, Problem};
use crate::gate::dto::{CaseLink, CheckIn, NewVisit, Visit, VisitRegistered, VisitsQuery};
use crate::gate::service::visits as service;
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page, PageQuery};
use crate::state::State;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};

/// A member of staff pre-registers their visitor. The 8-digit `code` (and
/// the `qr` that carries it) is shown once and stored only as a keyed hash;
/// it lets the visitor in once, inside the window.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    request_body = NewVisit,
    responses(
        (status = 201, body = VisitRegistered),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/visits")]
pub(in crate::gate) async fn create_visit(
    state: State,
    host: VisitHost,
    key: IdempotencyKey,
    body: JsonBody<NewVisit>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner();
    let caller = host.0;
    let (now, id_key) = (state.now(), state.settings.vetting.id_number_key.clone());
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .run(move |conn| service::register(conn, now, &caller, &id_key, b))
    .await
}

/// The guard checks a visitor in: `{code}` of a pre-registered visit (200,
/// `on_site`), or a walk-in (200, `pending_host` until the host approves).
/// A visitor the watch list names is refused (403 `visitor_on_watch_list`,
/// saying why) and the principal and the host are alerted at once.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    request_body = CheckIn,
    responses(
        (status = 200, body = Visit),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/gate/check-in")]
pub(in crate::gate) async fn gate_check_in(
    state: State,
    guard: Guard,
    key: IdempotencyKey,
    body: JsonBody<CheckIn>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner();
    let caller = guard.0;
    let (now, id_key) = (state.now(), state.settings.vetting.id_number_key.clone());
    Idempotent::new(
        &state.db,
        state.now_db(),
        caller.idempotency_scope(),
        key,
        digest,
    )
    .status(StatusCode::OK)
    .run_keeping_refusals(move |conn| service::check_in(conn, now, &caller, &id_key, b))
    .await
}

/// The host (or the school admin) lets a waiting walk-in in; the guards are told.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "visit id")),
    responses(
        (status = 200, body = Visit),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/visits/{id}/approve")]
pub(in crate::gate) async fn approve_visit(
    state: State,
    host: VisitHost,
    id: web::Path<String>,
) -> AppResult<web::Json<Visit>> {
    let (id, now) = (id.into_inner(), state.now());
    let out = state
        .db
        .write(move |conn| service::decide(conn, now, &host.0, &id, true))
        .await?;
    Ok(web::Json(out))
}

/// The host (or the school admin) refuses a visit not yet in; the guards are told.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "visit id")),
    responses(
        (status = 200, body = Visit),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/visits/{id}/refuse")]
pub(in crate::gate) async fn refuse_visit(
    state: State,
    host: VisitHost,
    id: web::Path<String>,
) -> AppResult<web::Json<Visit>> {
    let (id, now) = (id.into_inner(), state.now());
    let out = state
        .db
        .write(move |conn| service::decide(conn, now, &host.0, &id, false))
        .await?;
    Ok(web::Json(out))
}

/// The guard checks a visitor out.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "visit id")),
    responses(
        (status = 200, body = Visit),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/visits/{id}/check-out")]
pub(in crate::gate) async fn check_out_visit(
    state: State,
    guard: Guard,
    id: web::Path<String>,
) -> AppResult<web::Json<Visit>> {
    let (id, now) = (id.into_inner(), state.now());
    let out = state
        .db
        .write(move |conn| service::check_out(conn, now, &guard.0, &id))
        .await?;
    Ok(web::Json(out))
}

/// A school's visitor log for a day (`on`, the school's date; today by
/// default), or with `on_site=true` who is still inside.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id"), VisitsQuery),
    responses(
        (status = 200, body = Page<Visit>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schools/{id}/visits")]
pub(in crate::gate) async fn list_visits(
    state: State,
    reader: VisitLogReader,
    id: web::Path<String>,
    q: web::Query<VisitsQuery>,
) -> AppResult<web::Json<Page<Visit>>> {
    let q = q.into_inner();
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let paging = (page.limit()?, page.cursor()?);
    let (id, now) = (id.into_inner(), state.now());
    let out = state
        .db
        .write(move |conn| service::log(conn, now, &reader.0, &id, q, paging))
        .await?;
    Ok(web::Json(out))
}

/// Link a visit to a case of its school (the school admin, the bureau): it
/// is then kept with the case, past the visit logs' retention period.
#[utoipa::path(
    tag = "gate",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "visit id")),
    request_body = CaseLink,
    responses(
        (status = 200, body = Visit),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/visits/{id}/case")]
pub(in crate::gate) async fn link_visit_case(
    state: State,
    measurer: CaseMeasurer,
    id: web::Path<String>,
    body: JsonBody<CaseLink>,
) -> AppResult<web::Json<Visit>> {
    let (id, now, b) = (id.into_inner(), state.now(), body.into_inner());
    let out = state
        .db
        .write(move |conn| service::link_case(conn, now, &measurer.0, &id, b))
        .await?;
    Ok(web::Json(out))
}
