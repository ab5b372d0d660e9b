//! A concern's triage and a pupil's chronology.

use super::access_reason;
use crate::auth::SafeguardingLead;
use crate::cases::dto::*;
use crate::cases::service;
use crate::concerns::dto::Concern;
use crate::error::{AppResult, Problem};
use crate::http::JsonBody;
use crate::state::State;
use actix_web::{get, post, web, HttpRequest};

/// Triage a concern (the school's principal or a counsellor): open a case
/// (with the category; the case names the concern as its source and the
/// concern shows the case), monitor, or no action. A concern in a category
/// the police must hear of cannot be triaged as `no_action` (422
/// `concern_mandatory`); a triaged concern stays triaged (409
/// `concern_settled`, except that a monitored one may still be decided).
#[utoipa::path(
    tag = "concerns",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = ConcernTriageRequest,
    responses(
        (status = 200, body = Concern),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/concerns/{id}/triage")]
pub(in crate::cases) async fn triage_concern(
    state: State,
    lead: SafeguardingLead,
    id: web::Path<String>,
    body: JsonBody<ConcernTriageRequest>,
) -> AppResult<web::Json<Concern>> {
    let (id, b, now) = (id.into_inner(), body.into_inner(), state.now_db());
    let settings = state.settings.cases.clone();
    let out = state
        .db
        .write(move |conn| service::triage_concern(conn, now, &lead.0, &settings, &id, b))
        .await?;
    Ok(web::Json(out))
}

/// A pupil's chronology: every concern, case line, unexcused absence,
/// disputed handover, refused pickup and tip-line link about the pupil, in
/// one ordered line. For the school's principal and counsellors and the
/// bureau; needs `X-Access-Reason` (428 `access_reason_required`) and every
/// read is audited with it. A suspect in a case about the pupil gets 404.
#[utoipa::path(
    tag = "cases",
    security(("bearer" = [])),
    params(("id" = String, Path), ("X-Access-Reason" = String, Header, description = "Why the chronology is read; audited.")),
    responses(
        (status = 200, body = Chronology),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/students/{id}/chronology")]
pub(in crate::cases) async fn student_chronology(
    state: State,
    lead: SafeguardingLead,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<web::Json<Chronology>> {
    let (id, reason, now) = (id.into_inner(), access_reason(&req), state.now_db());
    let out = state
        .db
        .write(move |conn| service::chronology(conn, now, &lead.0, &id, reason))
        .await?;
    Ok(web::Json(out))
}
