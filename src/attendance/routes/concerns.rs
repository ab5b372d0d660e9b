//! Confidential attendance concerns.

use crate::attendance::dto::Concern;
use crate::attendance::service;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::http::{Page, PageQuery};
use crate::state::State;
use actix_web::{get, web};

/// Confidential concerns: a head teacher sees their classes', the school's
/// counsellors and admins see the school's. No one else, and never a family.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Concern>),
    )
)]
#[get("/concerns")]
pub(in crate::attendance) async fn list_concerns(
    state: State,
    caller: Caller,
    q: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Concern>>> {
    let q = q.into_inner();
    let now = state.now_db();
    let page = state
        .db
        .write(move |conn| service::list_concerns(conn, now, &caller, q))
        .await?;
    Ok(web::Json(page))
}
