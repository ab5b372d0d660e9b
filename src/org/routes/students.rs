//! Pupils, their classes and their guardians.

use super::tagged;
use crate::auth::{Admin, Parent, RecordReader, RecordStaff};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, IfMatch, JsonBody, Page, PageQuery};
use crate::org::dto::*;
use crate::org::model::StudentRow;
use crate::org::service::Tagged;
use crate::org::{repo, service};
use crate::state::State;
use actix_web::{delete, get, patch, post, web, HttpResponse};

/// Enrol a student.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    request_body = NewStudent,
    responses(
        (status = 201, body = Student),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students")]
pub(in crate::org) async fn create_student(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    body: JsonBody<NewStudent>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let b = body.into_inner()?;
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::create_student(conn, now, &caller, b))
        .await
}

/// One student the caller may see, with the ETag an edit needs.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Student, headers(("ETag" = String, description = "the record's version, for If-Match"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/students/{id}")]
pub(in crate::org) async fn get_student(
    state: State,
    RecordReader(caller): RecordReader,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let row = state
        .db
        .write(move |conn| service::student_detail(conn, now, &caller, &id))
        .await?;
    Ok(tagged(Tagged::new(row.into_dto())))
}

/// Edit a pupil's record: a JSON merge patch (RFC 7396) of name, grade,
/// class (of the same school) and student number, under `If-Match` with
/// the ETag of the last read (428 without it, 412 when the record changed
/// since). Audited with what changed, before and after.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path), ("If-Match" = String, Header, description = "the ETag of the record as last read")),
    request_body(content = StudentPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, body = Student, headers(("ETag" = String, description = "the record's new version"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/students/{id}")]
pub(in crate::org) async fn patch_student(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<StudentPatch>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| {
            service::patch_student(conn, now, &caller, &id, &if_match, body.into_inner())
        })
        .await?;
    Ok(tagged(out))
}

/// The students of a class.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = Page<Student>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/classes/{id}/students")]
pub(in crate::org) async fn list_class_students(
    state: State,
    staff: RecordStaff,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Student>>> {
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let class_id = id.into_inner();
    let caller = staff.0;
    let rows = state
        .db
        .read(move |conn| {
            let class = repo::class(conn, &caller, &class_id)?;
            repo::class_students_page(conn, &caller, &class.id, limit, cursor)
        })
        .await?;
    Ok(web::Json(
        Page::from_rows(rows, limit, |r| r.id.clone()).map(StudentRow::into_dto),
    ))
}

/// Register a parent account as a guardian of a student. The parent is told.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NewGuardian,
    responses(
        (status = 201, body = Guardian),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/students/{id}/guardians")]
pub(in crate::org) async fn add_guardian(
    state: State,
    admin: Admin,
    key: IdempotencyKey,
    id: web::Path<String>,
    body: JsonBody<NewGuardian>,
) -> AppResult<HttpResponse> {
    let digest = body.digest;
    let student_id = id.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::add_guardian(conn, now, &caller, &student_id, body.into_inner()))
        .await
}

/// End a guardianship (the school admin). The removed guardian loses the
/// pupil at once: their access, and the pickup persons and passes they
/// named. The last primary guardian goes only with another guardian named
/// primary in their place (409 `last_primary_guardian`).
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path), ("user_id" = String, Path), EndGuardianship),
    responses(
        (status = 204, description = "the guardianship ended"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/students/{id}/guardians/{user_id}")]
pub(in crate::org) async fn end_guardianship(
    state: State,
    admin: Admin,
    path: web::Path<(String, String)>,
    query: web::Query<EndGuardianship>,
) -> AppResult<HttpResponse> {
    let (student_id, user_id) = path.into_inner();
    let new_primary = query.into_inner().new_primary_id;
    let now = state.now_db();
    let caller = admin.0;
    state
        .db
        .write(move |conn| {
            service::end_guardianship(conn, now, &caller, &student_id, &user_id, new_primary)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A parent's children.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Child>), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me/children")]
pub(in crate::org) async fn my_children(
    state: State,
    parent: Parent,
) -> AppResult<web::Json<Vec<Child>>> {
    let caller = parent.0;
    let children = state
        .db
        .read(move |conn| service::children(conn, &caller))
        .await?;
    Ok(web::Json(children))
}
