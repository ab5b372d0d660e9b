//! A school's designated safeguarding handlers, named by the principal.

use crate::auth::{Principal, Staff};
use crate::error::{AppResult, Problem};
use crate::org::dto::SafeguardingLead;
use crate::org::leads;
use crate::state::State;
use actix_web::{delete, get, put, web, HttpResponse};

/// The school's safeguarding handlers: the principal and the counsellors
/// the principal named. They are alerted of every concern, triage it, handle
/// the school's cases and read a pupil's chronology. Any staff of the school
/// (and the district) may see who they are, so they know whom to tell.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Vec<SafeguardingLead>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schools/{id}/safeguarding-leads")]
pub(in crate::org) async fn list_leads(
    state: State,
    staff: Staff,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<SafeguardingLead>>> {
    let id = id.into_inner();
    let caller = staff.0;
    let list = state
        .db
        .read(move |conn| leads::list(conn, &caller, &id))
        .await?;
    Ok(web::Json(list))
}

/// The principal names a counsellor of the school a safeguarding handler
/// (their vetting must let them reach pupils: 422 `vetting_required`).
/// Naming twice changes nothing. Answers the handlers.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 200, body = Vec<SafeguardingLead>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/schools/{id}/safeguarding-leads/{user_id}")]
pub(in crate::org) async fn name_lead(
    state: State,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<Vec<SafeguardingLead>>> {
    let (school_id, user_id) = path.into_inner();
    let now = state.now_db();
    let caller = principal.0;
    let list = state
        .db
        .write(move |conn| leads::name(conn, now, &caller, &school_id, &user_id))
        .await?;
    Ok(web::Json(list))
}

/// The principal withdraws a counsellor's designation: at once they see
/// only their own concerns and the cases they opened.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path)),
    responses(
        (status = 204, description = "no longer a handler"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/schools/{id}/safeguarding-leads/{user_id}")]
pub(in crate::org) async fn withdraw_lead(
    state: State,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (school_id, user_id) = path.into_inner();
    let now = state.now_db();
    let caller = principal.0;
    state
        .db
        .write(move |conn| leads::withdraw(conn, now, &caller, &school_id, &user_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
