//! Personnel records: workers without an account, lists and one record.

use crate::auth::{Admin, VettingReader};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page};
use crate::state::State;
use crate::vetting::dto::*;
use crate::vetting::service;
use actix_web::{get, post, web, HttpResponse};

/// Register a worker without an account (temporary or outsourced staff,
/// drivers, volunteers, tutors). The ID number is kept only as its last 4
/// characters and a keyed hash.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    request_body = NewPersonnel,
    responses(
        (status = 201, body = Personnel),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/personnel")]
pub(in crate::vetting) async fn create_personnel(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    body: JsonBody<NewPersonnel>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner();
    let (now, now_db) = (state.now(), state.now_db());
    let caller = admin.0;
    let settings = state.settings.vetting.clone();
    Idempotent::new(&state.db, now_db, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_personnel(conn, now, &caller, &settings, b))
        .await
}

/// A school's personnel with their vetting status (a school admin their
/// own school; the bureau any school of the district).
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(PersonnelQuery),
    responses(
        (status = 200, body = Page<Personnel>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/personnel")]
pub(in crate::vetting) async fn list_personnel(
    state: State,
    reader: VettingReader,
    q: web::Query<PersonnelQuery>,
) -> AppResult<web::Json<Page<Personnel>>> {
    let q = q.into_inner();
    let limit = crate::http::PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let (limit, _) = (limit.limit()?, limit.cursor()?);
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let page = state
        .db
        .read(move |conn| service::list(conn, now, &reader.0, months, q, limit))
        .await?;
    Ok(web::Json(page))
}

/// One record with its checks, commitments and trainings.
#[utoipa::path(
    tag = "vetting",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = PersonnelDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/personnel/{id}")]
pub(in crate::vetting) async fn get_personnel(
    state: State,
    reader: VettingReader,
    id: web::Path<String>,
) -> AppResult<web::Json<PersonnelDetail>> {
    let id = id.into_inner();
    let (now, months) = (state.now(), state.settings.vetting.valid_months);
    let detail = state
        .db
        .read(move |conn| service::detail(conn, now, &reader.0, months, &id))
        .await?;
    Ok(web::Json(detail))
}
