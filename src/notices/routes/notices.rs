//! `/notices` and `/coverage`: sending notices, following their receipts,
//! and the reach of prevention education.

use crate::auth::extract::NoticeSender;
use crate::auth::Staff;
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, PageQuery};
use crate::notices::dto::*;
use crate::notices::service::notices as service;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// Send a notice: a teacher to their classes or pupils, a school admin to
/// their school (whole, by grade, class or pupil), a bureau officer to the
/// district's schools. Recipients are resolved now and kept.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    request_body = NewNotice,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = Notice),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notices")]
pub(crate) async fn create_notice(
    state: State,
    sender: NoticeSender,
    key: IdempotencyKey,
    body: JsonBody<NewNotice>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let req = body.into_inner()?;
    let caller = sender.0;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .alone()
        .run(move |conn| service::create_notice(conn, now, &caller, req))
        .await
}

/// Notices the caller sent (a school admin: their school's; district roles:
/// the district's), newest first.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = NoticePage),
    )
)]
#[get("/notices")]
pub(crate) async fn list_notices(
    state: State,
    staff: Staff,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<NoticePage>> {
    let page = service::list(&state, staff.0, page.into_inner()).await?;
    Ok(web::Json(page))
}

/// One notice, for its sender, the school's admin or the district.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Notice),
    )
)]
#[get("/notices/{id}")]
pub(crate) async fn get_notice(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<Notice>> {
    let caller = staff.0;
    let id = id.into_inner();
    let notice = state
        .db
        .read(move |conn| service::notice(conn, &caller, &id))
        .await?;
    Ok(web::Json(notice))
}

/// Who received, read and acknowledged a notice, class by class, and who is
/// still missing.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Receipts),
    )
)]
#[get("/notices/{id}/receipts")]
pub(crate) async fn receipts(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<Receipts>> {
    let caller = staff.0;
    let id = id.into_inner();
    let now = state.now_db();
    let receipts = state
        .db
        .write(move |conn| service::receipts(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(receipts))
}

/// The reach of prevention education: per school and class, the share of
/// students and of families who acknowledged at least one notice of the
/// category sent in the period.
#[utoipa::path(
    tag = "notices",
    security(("bearer" = [])),
    params(CoverageQuery),
    responses(
        (status = 200, body = Coverage),
    )
)]
#[get("/coverage")]
pub(crate) async fn coverage(
    state: State,
    staff: Staff,
    q: web::Query<CoverageQuery>,
) -> AppResult<web::Json<Coverage>> {
    let coverage = service::coverage(&state, staff.0, q.into_inner()).await?;
    Ok(web::Json(coverage))
}
