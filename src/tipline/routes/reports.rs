//! Reports as their readers see them: lists, one report, replies, status
//! changes, stepping away, and wraps added later.

use super::reporting::CONTENT_BODY_LIMIT;
use crate::audit::{self, AuditEvent};
use crate::auth::{BureauOfficer, Caller};
use crate::error::{ApiError, AppResult, Problem};
use crate::http::{IdempotencyKey, Idempotent, JsonBody, Page};
use crate::state::State;
use crate::tipline::dto::*;
use crate::tipline::{repo, service};
use actix_web::{get, post, web, HttpResponse};
use chrono::Duration;

/// Reports the caller receives, newest first: metadata only.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(ReportListQuery),
    responses(
        (status = 200, body = Page<ReportSummary>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports")]
pub(in crate::tipline) async fn list_reports(
    state: State,
    caller: Caller,
    query: web::Query<ReportListQuery>,
) -> AppResult<web::Json<Page<ReportSummary>>> {
    let q = query.into_inner();
    let page = crate::http::PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let (limit, cursor) = (page.limit()?, page.cursor()?);
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| {
            if !repo::is_any_recipient(conn, &caller)? {
                return Err(ApiError::not_found("mailbox"));
            }
            let rows = repo::list_visible(conn, &caller, q.status, None, cursor, limit)?;
            let items = repo::summaries(conn, &caller, &rows)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "tipline.report.list", "tip_report", None),
            )?;
            Ok(Page::from_rows(items, limit, |s| s.id.clone()))
        })
        .await?;
    Ok(web::Json(out))
}

/// Open reports of the district past their state's deadline (bureau only):
/// still `new` past the urgency's deadline, acknowledged but not
/// investigated within the school days, or without a recent progress note.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(crate::http::PageQuery),
    responses(
        (status = 200, body = Page<ReportSummary>),
    )
)]
#[get("/reports/overdue")]
pub(in crate::tipline) async fn overdue_reports(
    state: State,
    officer: BureauOfficer,
    query: web::Query<crate::http::PageQuery>,
) -> AppResult<web::Json<Page<ReportSummary>>> {
    let (limit, cursor) = (query.limit()?, query.cursor()?);
    let now = state.now_db();
    let t = state.settings.tipline.clone();
    let caller = officer.0;
    let out = state
        .db
        .write(move |conn| {
            let before = (
                now,
                now - Duration::minutes(t.urgent_deadline_mins),
                now - Duration::minutes(t.normal_deadline_mins),
            );
            let rows = repo::list_visible(conn, &caller, None, Some(before), cursor, limit)?;
            let items = repo::summaries(conn, &caller, &rows)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(&caller, "tipline.report.list_overdue", "tip_report", None),
            )?;
            Ok(Page::from_rows(items, limit, |s| s.id.clone()))
        })
        .await?;
    Ok(web::Json(out))
}

/// A report with its envelope, messages, attachments and the keys a reply must be sealed to.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReportDetail),
    )
)]
#[get("/reports/{id}")]
pub(in crate::tipline) async fn get_report(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> AppResult<web::Json<ReportDetail>> {
    let id = path.into_inner();
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| {
            let report = repo::visible_report(conn, &caller, &id)?;
            let detail = service::detail(conn, &caller, &report)?;
            repo::mark_read(conn, &report.id, &caller.user_id, now)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.report.read",
                    "tip_report",
                    Some(&report.id),
                )
                .in_school(Some(&report.school_id)),
            )?;
            Ok(detail)
        })
        .await?;
    Ok(web::Json(out.read(&state.blobs).await?))
}

/// Reply to the reporter, sealed to `reporter` and every recipient key.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StaffReply,
    responses(
        (status = 201, body = MessageCreated),
    )
)]
#[post("/reports/{id}/messages")]
pub(in crate::tipline) async fn staff_reply(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: JsonBody<StaffReply, CONTENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let digest = body.digest;
    let now = state.now_db();
    Idempotent::new(&state.db, now, caller.idempotency_scope(), key, digest)
        .run(move |conn| service::staff_reply(conn, now, &caller, &id, body.into_inner()))
        .await
}

/// A reader says a wrap of the report, or of one of its messages or
/// attachments, would not open (or failed its commitment or AAD). The
/// bureau is alerted; the report's history and the audit log keep it.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = Undecryptable,
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/undecryptable")]
pub(in crate::tipline) async fn undecryptable(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody<Undecryptable>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let now = state.now_db();
    state
        .db
        .write(move |conn| service::undecryptable(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a report along: new → acknowledged → investigating → referred_to_police |
/// resolved. The same status again with a note, while a report is being
/// handled, is a progress note. `closed` (with a note and an outcome, never
/// from `new`, never by an account younger than 7 days) proposes a close
/// that only a bureau officer confirms. Only the bureau reopens.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = StatusChange,
    responses(
        (status = 200, body = ReportSummary),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/status")]
pub(in crate::tipline) async fn change_status(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody<StatusChange>,
) -> AppResult<web::Json<ReportSummary>> {
    let id = path.into_inner();
    let now = state.now_db();
    let settings = state.settings.tipline.clone();
    let out = state
        .db
        .write(move |conn| {
            service::change_status(conn, now, &settings, &caller, &id, body.into_inner())
        })
        .await?;
    Ok(web::Json(out))
}

/// Close a report whose close was proposed: a bureau officer only, not the
/// one who proposed it, and not an account younger than 7 days.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ReportSummary),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/close-confirmation")]
pub(in crate::tipline) async fn confirm_close(
    state: State,
    officer: BureauOfficer,
    path: web::Path<String>,
) -> AppResult<web::Json<ReportSummary>> {
    let id = path.into_inner();
    let now = state.now_db();
    let caller = officer.0;
    let out = state
        .db
        .write(move |conn| service::confirm_close(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(out))
}

/// Step away from a report for a conflict of interest; access ends at once.
/// The last bureau officer who can read it may not: the district always
/// receives every report.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/recuse")]
pub(in crate::tipline) async fn recuse(
    state: State,
    caller: Caller,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let now = state.now_db();
    state
        .db
        .write(move |conn| service::recuse(conn, now, &caller, &id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add content-key wraps for a recipient added later; the bureau may also
/// share a `concerns_staff` report with named school recipients.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = AddKeys,
    responses(
        (status = 200, body = KeysAdded),
    )
)]
#[post("/reports/{id}/keys")]
pub(in crate::tipline) async fn add_keys(
    state: State,
    caller: Caller,
    path: web::Path<String>,
    body: JsonBody<AddKeys, CONTENT_BODY_LIMIT>,
) -> AppResult<web::Json<KeysAdded>> {
    let id = path.into_inner();
    let now = state.now_db();
    let out = state
        .db
        .write(move |conn| service::add_keys(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(web::Json(out))
}

/// The bureau's late classification: the report concerns staff (the
/// school's readers lose it at once, 404), or one named school reader is
/// concerned (they lose it at once). Later messages are sealed only to
/// those who still read it.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = Classification,
    responses(
        (status = 200, body = ReportSummary),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{id}/classification")]
pub(in crate::tipline) async fn classify(
    state: State,
    officer: BureauOfficer,
    path: web::Path<String>,
    body: JsonBody<Classification>,
) -> AppResult<web::Json<ReportSummary>> {
    let id = path.into_inner();
    let now = state.now_db();
    let caller = officer.0;
    let out = state
        .db
        .write(move |conn| service::classify(conn, now, &caller, &id, body.into_inner()))
        .await?;
    Ok(web::Json(out))
}

/// Every step of a report (status changes, progress notes, close proposals,
/// escalations, classification), with who took it and when (bureau only).
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Vec<HistoryEntry>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports/{id}/history")]
pub(in crate::tipline) async fn report_history(
    state: State,
    officer: BureauOfficer,
    path: web::Path<String>,
) -> AppResult<web::Json<Vec<HistoryEntry>>> {
    let id = path.into_inner();
    let now = state.now_db();
    let caller = officer.0;
    let out = state
        .db
        .write(move |conn| {
            let report = repo::visible_report(conn, &caller, &id)?;
            let history = service::history(conn, &report)?;
            audit::record(
                conn,
                now,
                AuditEvent::by(
                    &caller,
                    "tipline.report.history",
                    "tip_report",
                    Some(&report.id),
                )
                .in_school(Some(&report.school_id)),
            )?;
            Ok(history)
        })
        .await?;
    Ok(web::Json(out))
}
