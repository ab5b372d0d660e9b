//! The anonymous side: proof-of-work challenges, submission, and follow-up
//! with the receipt. No sign-in, and a request that carries one is refused.

use crate::error::{ApiError, AppResult, Code, Problem};
use crate::http::JsonBody;
use crate::state::State;
use crate::tipline::budget::{Anonymous, Reporter};
use crate::tipline::dto::*;
use crate::tipline::receipt::Receipt;
use crate::tipline::service;
use actix_web::http::{header, StatusCode};
use actix_web::{post, web, HttpRequest, HttpResponse};

/// Reports and messages: a sealed text of up to 20,000 characters with many wraps.
pub(in crate::tipline) const CONTENT_BODY_LIMIT: usize = 512 * 1024;

fn anonymous_only(req: &HttpRequest) -> AppResult<()> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::AnonymousOnly,
            "the tip line is anonymous: send no Authorization header",
        )
        .with_field("Authorization"));
    }
    Ok(())
}

/// A one-time proof-of-work challenge for a submission. No sign-in. It is
/// signed and expiring and the server keeps nothing of it until it is
/// spent. With `school_code` it is valid for that school only and its
/// difficulty counts that school's recent reports.
#[utoipa::path(
    tag = "tipline",
    params(ChallengeQuery),
    responses(
        (status = 201, body = Challenge),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The tip line's anonymous budget is spent (`tipline_busy`, checked before anything else), or the database is unavailable; try again after Retry-After."),
    )
)]
#[post("/reports/challenge")]
pub(in crate::tipline) async fn challenge(
    _paid: Anonymous,
    state: State,
    req: HttpRequest,
    query: web::Query<ChallengeQuery>,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let c = service::new_challenge(&state, query.into_inner().school_code).await?;
    Ok(HttpResponse::Created().json(c))
}

/// Submit a report anonymously. v1 returns the receipt, once. v2 (with
/// `lookup`) returns no receipt: the phone made the code. A v2 retry with
/// the same lookup and envelope gets the first answer again
/// (`Idempotent-Replayed: true`, no proof of work asked); the same lookup
/// with another envelope is 409 `lookup_in_use`.
///
/// Not idempotent by key: a v1 answer holds the receipt, which is never
/// stored; the single-use proof of work already stops a duplicate.
#[utoipa::path(
    tag = "tipline",
    request_body = NewReport,
    responses(
        (status = 201, body = ReportReceipt),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The tip line's anonymous budget is spent (`tipline_busy`, checked before anything else), or the database is unavailable; try again after Retry-After."),
    )
)]
#[post("/reports")]
pub(in crate::tipline) async fn submit_report(
    _paid: Reporter,
    state: State,
    req: HttpRequest,
    body: JsonBody<NewReport, CONTENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let done = service::submit_once(&state, body.into_inner()?).await?;
    let mut answer = HttpResponse::Created();
    if done.replayed {
        answer.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(answer.json(ReportReceipt {
        receipt: done.receipt.map(|r| r.display()),
        status: Progress::Received,
    }))
}

/// Read a report's progress and replies with its receipt or lookup (in the
/// body, never the URL).
#[utoipa::path(
    tag = "tipline",
    request_body = FollowupRequest,
    responses(
        (status = 200, body = Followup),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The tip line's anonymous budget is spent (`tipline_busy`, checked before anything else), or the database is unavailable; try again after Retry-After."),
    )
)]
#[post("/reports/followup")]
pub(in crate::tipline) async fn followup(
    _paid: Reporter,
    state: State,
    req: HttpRequest,
    body: JsonBody<FollowupRequest>,
) -> AppResult<web::Json<Followup>> {
    anonymous_only(&req)?;
    let b = body.into_inner()?;
    if b.open && b.receipt.is_none() {
        return Err(ApiError::invalid(
            "open",
            "the server cannot open replies to a lookup: open them with the reporter key",
        ));
    }
    let report =
        service::report_by_receipt(&state, b.receipt.as_deref(), b.lookup.as_deref()).await?;
    let receipt = b.receipt.as_deref().and_then(Receipt::parse);
    let open_with = receipt.filter(|_| b.open);
    let out = state
        .db
        .read(move |conn| service::followup(conn, &report, open_with.as_ref()))
        .await?;
    Ok(web::Json(out.read(&state.blobs).await?))
}

/// Add a message to a report, sealed to its recipients, with the receipt.
#[utoipa::path(
    tag = "tipline",
    request_body = ReporterMessage,
    responses(
        (status = 201, body = MessageCreated),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The tip line's anonymous budget is spent (`tipline_busy`, checked before anything else), or the database is unavailable; try again after Retry-After."),
    )
)]
#[post("/reports/followup/messages")]
pub(in crate::tipline) async fn reporter_message(
    _paid: Reporter,
    state: State,
    req: HttpRequest,
    body: JsonBody<ReporterMessage, CONTENT_BODY_LIMIT>,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let b = body.into_inner()?;
    let report =
        service::report_by_receipt(&state, b.receipt.as_deref(), b.lookup.as_deref()).await?;
    let now = state.now_db();
    let created = state
        .db
        .write(move |conn| {
            let env = service::reporter_envelope(conn, &report, b.envelope, b.plaintext)?;
            service::reporter_adds(conn, now, &report, &env, None)
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Add an attachment (a photo, a screenshot, a voice note) sealed like a
/// message. The report is named by a header, `X-Tipline-Lookup` (v2) or
/// `X-Tipline-Receipt` (v1), checked before the body is read: a wrong one
/// is answered 404 without reading the body. A few bodies are read at
/// once (503 `attachments_busy` with Retry-After past that), and each
/// district stores a bounded number of bytes a day (507
/// `attachment_quota_full`, with Retry-After until the next day).
#[utoipa::path(
    tag = "tipline",
    params(
        ("X-Tipline-Lookup" = Option<String>, Header, description = "v2: the report's lookup token (base64url). Exactly one of this and X-Tipline-Receipt."),
        ("X-Tipline-Receipt" = Option<String>, Header, description = "v1: the report's receipt."),
    ),
    request_body = ReporterAttachment,
    responses(
        (status = 201, body = MessageCreated),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The tip line's anonymous budget is spent (`tipline_busy`, checked before anything else), enough attachment bodies are being read (`attachments_busy`), or the database is unavailable; try again after Retry-After."),
        (status = 507, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/followup/attachments")]
pub(in crate::tipline) async fn reporter_attachment(
    _paid: Anonymous,
    state: State,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    anonymous_only(&req)?;
    let created = service::add_attachment(&state, &req, payload.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}
