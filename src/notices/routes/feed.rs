//! `/me/notifications`: the caller's feed, read and acknowledgement marks.

use crate::auth::SignedIn;
use crate::error::{AppResult, Problem};
use crate::http::PageQuery;
use crate::notices::dto::Feed;
use crate::notices::service::feed as service;
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

/// The caller's notifications (system alerts and notices, one feed for all
/// their children), newest first, with the unread count.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Feed), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me/notifications")]
pub(crate) async fn feed(
    state: State,
    SignedIn(caller): SignedIn,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Feed>> {
    let feed = service::feed(&state, caller, page.into_inner()).await?;
    Ok(web::Json(feed))
}

/// Mark one of the caller's notifications read.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/me/notifications/{id}/read")]
pub(crate) async fn mark_read(
    state: State,
    SignedIn(caller): SignedIn,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.now_db();
    let id = id.into_inner();
    state
        .db
        .write(move |conn| service::mark_read(conn, now, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Acknowledge one of the caller's notifications that asks for it (it is
/// read too). Acknowledging twice is harmless.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/notifications/{id}/ack")]
pub(crate) async fn ack(
    state: State,
    SignedIn(caller): SignedIn,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let now = state.now_db();
    let id = id.into_inner();
    state
        .db
        .write(move |conn| service::ack(conn, now, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
