//! A student's attendance record.

use crate::attendance::dto::{Attendance, AttendanceQuery};
use crate::attendance::service;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::state::State;
use actix_web::{get, web};

/// A student's absences and leaves over a range of school dates (guardians
/// and the school's staff).
#[utoipa::path(
    tag = "attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "student id"), AttendanceQuery),
    responses(
        (status = 200, body = Attendance),
    )
)]
#[get("/students/{id}/attendance")]
pub(in crate::attendance) async fn attendance(
    state: State,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<AttendanceQuery>,
) -> AppResult<web::Json<Attendance>> {
    let id = id.into_inner();
    let q = q.into_inner();
    let now_utc = state.now();
    let view = state
        .db
        .read(move |conn| service::attendance(conn, now_utc, &caller, &id, q))
        .await?;
    Ok(web::Json(view))
}
