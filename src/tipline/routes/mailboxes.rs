//! A school's mailbox: who receives it, and what an app needs to seal to it.

use crate::auth::{Admin, BureauOfficer};
use crate::error::{AppResult, Problem};
use crate::http::{JsonBody, Page};
use crate::i18n::Language;
use crate::state::State;
use crate::tipline::budget::Anonymous;
use crate::tipline::dto::*;
use crate::tipline::service;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};

/// Propose the school staff who receive the school's mailbox (the whole new
/// list). It takes effect only when a bureau officer approves it; the
/// bureau is alerted at once. A later proposal replaces a pending one.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "school id")),
    request_body = SetRecipients,
    responses(
        (status = 201, body = RecipientChange),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schools/{id}/mailbox/recipient-changes")]
pub(in crate::tipline) async fn propose_recipients(
    state: State,
    admin: Admin,
    path: web::Path<String>,
    body: JsonBody<SetRecipients>,
) -> AppResult<HttpResponse> {
    let school_id = path.into_inner();
    let now = state.now_db();
    let caller = admin.0;
    let out = state
        .db
        .write(move |conn| {
            service::propose_recipients(conn, now, &caller, &school_id, body.into_inner())
        })
        .await?;
    Ok(HttpResponse::Created().json(out))
}

/// Recipient changes of the district waiting for a bureau officer, newest first.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(crate::http::PageQuery),
    responses(
        (status = 200, body = Page<RecipientChange>),
    )
)]
#[get("/recipient-changes")]
pub(in crate::tipline) async fn list_recipient_changes(
    state: State,
    officer: BureauOfficer,
    query: web::Query<crate::http::PageQuery>,
) -> AppResult<web::Json<Page<RecipientChange>>> {
    let (limit, cursor) = (query.limit()?, query.cursor()?);
    let caller = officer.0;
    let out = state
        .db
        .read(move |conn| {
            let items = service::pending_recipient_changes(conn, &caller, cursor, limit)?;
            Ok(Page::from_rows(items, limit, |c| c.id.clone()))
        })
        .await?;
    Ok(web::Json(out))
}

/// Approve a proposed change: the school's recipients become the proposed
/// list now. A bureau officer whose account is at least 7 days old.
#[utoipa::path(
    tag = "tipline",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "recipient change id")),
    responses(
        (status = 200, body = RecipientChange),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/recipient-changes/{id}/approve")]
pub(in crate::tipline) async fn approve_recipient_change(
    state: State,
    officer: BureauOfficer,
    path: web::Path<String>,
) -> AppResult<web::Json<RecipientChange>> {
    let id = path.into_inner();
    let now = state.now_db();
    let caller = officer.0;
    let out = state
        .db
        .write(move |conn| service::approve_recipient_change(conn, now, &caller, &id))
        .await?;
    Ok(web::Json(out))
}

/// What an app needs to seal a report to a school's mailbox, and each
/// urgency's window with its trade in the reporter's language
/// (`Accept-Language`). No sign-in.
#[utoipa::path(
    tag = "tipline",
    params(
        ("school_code" = String, Path),
        ("Accept-Language" = Option<String>, Header, description = "zh-CN (default) or en: the language of `windows[].trade_off`"),
    ),
    responses(
        (status = 200, body = Mailbox),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The tip line's anonymous budget is spent (`tipline_busy`, checked before anything else), or the database is unavailable; try again after Retry-After."),
    )
)]
#[get("/mailboxes/{school_code}")]
pub(in crate::tipline) async fn get_mailbox(
    _paid: Anonymous,
    state: State,
    req: HttpRequest,
    path: web::Path<String>,
) -> AppResult<web::Json<Mailbox>> {
    let code = path.into_inner();
    let language = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Language::from_accept_language)
        .unwrap_or_default();
    let mailbox = state
        .db
        .read(move |conn| service::mailbox(conn, &code, language))
        .await?;
    Ok(web::Json(mailbox))
}
