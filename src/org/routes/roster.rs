//! A school's roster as a spreadsheet: import and export.

use crate::auth::Admin;
use crate::error::{ApiError, AppResult, Code, Problem};
use crate::org::roster::{self, RosterImport};
use crate::state::State;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::IntoParams;

/// A roster file may be this large (a school of 10,000 pupils fits).
const ROSTER_LIMIT: usize = 8 * 1024 * 1024;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check the file and answer what an import would do, changing nothing.
    pub dry_run: Option<bool>,
}

/// The body of an import: `text/csv`, at most 8 MiB. Its errors wait for
/// the caller's scope, as a JSON body's do.
async fn csv_body(req: &HttpRequest, mut payload: web::Payload) -> AppResult<Vec<u8>> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if essence.as_deref() != Some("text/csv") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::UnsupportedMediaType,
            "the body must be a CSV file (Content-Type: text/csv), in UTF-8 or GB18030",
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MalformedBody,
                "the body could not be read",
            )
        })?;
        if body.len() + chunk.len() > ROSTER_LIMIT {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::BodyTooLarge,
                format!("the file must be at most {ROSTER_LIMIT} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Import a school's roster (an admin): a CSV file, UTF-8 or GB18030, with
/// the columns `student_no,name,grade,class,sex,guardian1_name,
/// guardian1_phone,guardian1_relation,guardian1_primary,guardian2_name,
/// guardian2_phone,guardian2_relation,guardian2_primary`. One transaction,
/// idempotent by student number; it creates the classes and parent accounts
/// it needs (each parent is sent an activation code by SMS). A file with any
/// bad row imports nothing (422 naming the first line and column);
/// `?dry_run=true` changes nothing and lists every problem.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, body = RosterImport),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools/{id}/roster-imports")]
pub(in crate::org) async fn import_roster(
    state: State,
    admin: Admin,
    id: web::Path<String>,
    query: web::Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<web::Json<RosterImport>> {
    let bytes = csv_body(&req, payload).await;
    let (school_id, write) = (id.into_inner(), !query.dry_run.unwrap_or(false));
    let (now, caller) = (state.now_db(), admin.0);
    let run = move |conn: &mut _| roster::import(conn, now, &caller, &school_id, bytes, write);
    let out = match write {
        true => state.db.write(run).await?,
        false => state.db.read(run).await?,
    };
    Ok(web::Json(out))
}

/// Export a school's roster (an admin), in the import's columns.
#[utoipa::path(
    tag = "schools",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = String, content_type = "text/csv"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schools/{id}/roster.csv")]
pub(in crate::org) async fn export_roster(
    state: State,
    admin: Admin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (school_id, caller) = (id.into_inner(), admin.0);
    let csv = state
        .db
        .read(move |conn| roster::export(conn, &caller, &school_id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"roster.csv\"",
        ))
        .body(csv))
}
