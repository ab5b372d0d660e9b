//! Opening a case, the list, the whole case and its timeline.

use super::access_reason;
use crate::auth::CaseWorker;
use crate::cases::dto::*;
use crate::cases::service;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody};
use crate::state::State;
use actix_web::{get, post, web, HttpRequest, HttpResponse};

/// Open a case (school admin, counsellor, the pupils' head teacher, the
/// bureau). The bureau sees it at once and, with the case's handlers, is
/// alerted (case number and school only). A tip-line report about staff
/// opens a case only from the bureau (403 `case_bureau_only`).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    request_body = NewCase,
    responses(
        (status = 201, body = CaseDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases")]
pub(in crate::cases) async fn create_case(
    state: State,
    worker: CaseWorker,
    key: IdempotencyKey,
    body: JsonBody<NewCase>,
) -> AppResult<HttpResponse> {
    let (digest, b) = (body.digest, body.into_inner());
    let now = state.now_db();
    let settings = state.settings.cases.clone();
    let caller = worker.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::open(conn, now, &caller, &settings, b))
        .await
}

/// The cases the caller handles (the bureau: every case of the district),
/// newest first: number, school, category, status, deadlines. No pupil names.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(CaseQuery),
    responses((status = 200, body = CaseList))
)]
#[get("/cases")]
pub(in crate::cases) async fn list_cases(
    state: State,
    worker: CaseWorker,
    q: web::Query<CaseQuery>,
) -> AppResult<web::Json<CaseList>> {
    let now = state.now_db();
    let q = q.into_inner();
    let out = state
        .db
        .read(move |conn| service::list(conn, now, &worker.0, q))
        .await?;
    Ok(web::Json(out))
}

/// The whole case, pupils included, for its handlers and the bureau. Needs
/// `X-Access-Reason` (428 `access_reason_required`); every read is audited
/// with it. A suspect never sees the case (404).
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("X-Access-Reason" = String, Header, description = "Why the case is read; audited.")),
    responses(
        (status = 200, body = CaseDetail),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/cases/{id}")]
pub(in crate::cases) async fn get_case(
    state: State,
    worker: CaseWorker,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<web::Json<CaseDetail>> {
    let (id, reason, now) = (id.into_inner(), access_reason(&req), state.now_db());
    let out = state
        .db
        .write(move |conn| service::detail(conn, now, &worker.0, &id, reason))
        .await?;
    Ok(web::Json(out))
}

/// The case's whole history in order, for the police or a court. Needs
/// `X-Access-Reason`, like the case.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("X-Access-Reason" = String, Header, description = "Why the timeline is read; audited.")),
    responses(
        (status = 200, body = Timeline),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/cases/{id}/timeline")]
pub(in crate::cases) async fn case_timeline(
    state: State,
    worker: CaseWorker,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<web::Json<Timeline>> {
    let (id, reason, now) = (id.into_inner(), access_reason(&req), state.now_db());
    let out = state
        .db
        .write(move |conn| service::timeline(conn, now, &worker.0, &id, reason))
        .await?;
    Ok(web::Json(out))
}
