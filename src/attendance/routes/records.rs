//! A student's attendance record.

use crate::attendance::dto::{Attendance, AttendanceQuery};
use crate::attendance::service;
use crate::auth::RecordReader;
use crate::error::AppResult;
use crate::state::State;
use actix_web::{get, web};

/// A student's absences and leaves over a range of school dates (guardians
/// and the school's staff other than guards, who see pupils only through
/// the gate). A read by staff is audited.
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), AttendanceQuery),
    responses(
        (status = 200, body = Attendance),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/students/{id}/attendance")]
pub(in crate::attendance) async fn attendance(
    state: State,
    RecordReader(caller): RecordReader,
    id: web::Path<String>,
    q: web::Query<AttendanceQuery>,
) -> AppResult<web::Json<Attendance>> {
    let id = id.into_inner();
    let q = q.into_inner();
    let (now_utc, now) = (state.now(), state.now_db());
    let view = state
        .db
        .write(move |conn| service::attendance(conn, now_utc, now, &caller, &id, q))
        .await?;
    Ok(web::Json(view))
}
