//! Pupils, their classes and their guardians.

use crate::auth::{Admin, Parent, RecordReader, RecordStaff};
use crate::error::{AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page, PageQuery};
use crate::org::dto::*;
use crate::org::model::StudentRow;
use crate::org::{repo, service};
use crate::state::State;
use actix_web::{get, post, web, HttpResponse};

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

/// One student the caller may see.
#[utoipa::path(
    tag = "students",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Student), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/students/{id}")]
pub(in crate::org) async fn get_student(
    state: State,
    RecordReader(caller): RecordReader,
    id: web::Path<String>,
) -> AppResult<web::Json<Student>> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |conn| repo::student(conn, &caller, &id))
        .await?;
    Ok(web::Json(row.into_dto()))
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
