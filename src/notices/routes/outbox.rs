//! `/admin/outbox`: external deliveries in an admin's view, and retrying a
//! dead one.

use crate::auth::Admin;
use crate::error::{AppResult, Problem};
use crate::notices::dto::{OutboxItem, OutboxPage, OutboxQuery};
use crate::notices::service::outbox as service;
use crate::state::State;
use actix_web::{get, post, web};

/// External deliveries of accounts in the admin's view (never their
/// contents); `state=dead` lists those that gave up.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(OutboxQuery),
    responses(
        (status = 200, body = OutboxPage),
    )
)]
#[get("/admin/outbox")]
pub(crate) async fn admin_outbox(
    state: State,
    admin: Admin,
    q: web::Query<OutboxQuery>,
) -> AppResult<web::Json<OutboxPage>> {
    let page = service::list(&state, admin.0, q.into_inner()).await?;
    Ok(web::Json(page))
}

/// Give a dead delivery a fresh set of attempts, starting now.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = OutboxItem),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/outbox/{id}/retry")]
pub(crate) async fn retry_outbox(
    state: State,
    admin: Admin,
    id: web::Path<String>,
) -> AppResult<web::Json<OutboxItem>> {
    let caller = admin.0;
    let id = id.into_inner();
    let now = state.now_db();
    let item = state
        .db
        .write(move |conn| service::retry(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(item))
}
