//! Schools and their classes.

use super::tagged;
use crate::auth::{Admin, Caller, DistrictAdmin, RecordStaff};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, IfMatch, JsonBody, Page, PageQuery};
use crate::org::dto::*;
use crate::org::model::{ClassRow, SchoolRow};
use crate::org::service::Tagged;
use crate::org::{repo, service};
use crate::state::State;
use actix_web::{get, patch, post, web, HttpResponse};

/// Create a school in the caller's district.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    request_body = NewSchool,
    responses(
        (status = 201, body = School),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools")]
pub(in crate::org) async fn create_school(
    state: State,
    admin: DistrictAdmin,
    key: IdempotencyKey,
    body: JsonBody<NewSchool>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_school(conn, now, &caller, b))
        .await
}

/// The schools the caller may see.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<School>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schools")]
pub(in crate::org) async fn list_schools(
    state: State,
    caller: Caller,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<School>>> {
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let rows = state
        .db
        .read(move |conn| repo::schools_page(conn, &caller, limit, cursor))
        .await?;
    Ok(web::Json(
        Page::from_rows(rows, limit, |r| r.id.clone()).map(SchoolRow::into_dto),
    ))
}

/// One school, with the ETag an edit needs.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = School, headers(("ETag" = String, description = "the record's version, for If-Match"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schools/{id}")]
pub(in crate::org) async fn get_school(
    state: State,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |conn| repo::school(conn, &caller, &id))
        .await?;
    Ok(tagged(Tagged::new(row.into_dto())))
}

/// Edit a school: a JSON merge patch of name, dismissal time and time
/// zone, under `If-Match` (the district admin, or the school's admin).
/// Audited with what changed, before and after.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "the ETag of the record as last read")),
    request_body(content = SchoolPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, body = School, headers(("ETag" = String, description = "the record's new version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/schools/{id}")]
pub(in crate::org) async fn patch_school(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<SchoolPatch>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| {
            service::patch_school(conn, now, &caller, &id, &if_match, body.into_inner())
        })
        .await?;
    Ok(tagged(out))
}

/// One class, with the ETag an edit needs.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Class, headers(("ETag" = String, description = "the record's version, for If-Match"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/classes/{id}")]
pub(in crate::org) async fn get_class(
    state: State,
    staff: RecordStaff,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let caller = staff.0;
    let row = state
        .db
        .read(move |conn| repo::class(conn, &caller, &id))
        .await?;
    Ok(tagged(Tagged::new(row.into_dto())))
}

/// Edit a class: a JSON merge patch of its name and head teacher (`null`
/// leaves it without one; a new one must be a vetted teacher of the
/// school), under `If-Match`. Audited with what changed, before and after.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "the ETag of the record as last read")),
    request_body(content = ClassPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, body = Class, headers(("ETag" = String, description = "the record's new version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/classes/{id}")]
pub(in crate::org) async fn patch_class(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<ClassPatch>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| {
            service::patch_class(conn, now, &caller, &id, &if_match, body.into_inner())
        })
        .await?;
    Ok(tagged(out))
}

/// Create a class in a school.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewClass,
    responses(
        (status = 201, body = Class),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools/{id}/classes")]
pub(in crate::org) async fn create_class(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewClass>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let school_id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_class(conn, now, &caller, &school_id, body.into_inner()))
        .await
}

/// The classes of a school.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Class>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schools/{id}/classes")]
pub(in crate::org) async fn list_classes(
    state: State,
    staff: RecordStaff,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Class>>> {
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let school_id = id.into_inner();
    let caller = staff.0;
    let rows = state
        .db
        .read(move |conn| {
            let school = repo::school(conn, &caller, &school_id)?;
            repo::classes_page(conn, &caller, &school.id, limit, cursor)
        })
        .await?;
    Ok(web::Json(
        Page::from_rows(rows, limit, |r| r.id.clone()).map(ClassRow::into_dto),
    ))
}
