use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use std::time::Instant;
use tracing::Instrument;

/// Routes a reporter uses without an account. The log keeps no line for
/// them: its time would tell, to the second, when a report or a reporter's
/// message was sent, which the tip line keeps to a window (issue 13).
const UNLOGGED_ROUTES: &[&str] = &[
    "/api/v1/mailboxes/{school_code}",
    "/api/v1/reports/challenge",
    "/api/v1/reports",
    "/api/v1/reports/followup",
    "/api/v1/reports/followup/messages",
    "/api/v1/reports/followup/attachments",
];

/// Whether a request to this route pattern is logged (see `UNLOGGED_ROUTES`;
/// `GET /reports`, a staff list, is logged).
pub fn is_logged(method: &actix_web::http::Method, route: &str) -> bool {
    let anonymous = UNLOGGED_ROUTES.contains(&route)
        && (route != "/api/v1/reports" || method == actix_web::http::Method::POST);
    !anonymous
}

/// One line per request, tagged with a request id that is also returned in
/// `X-Request-Id`. It records the route *pattern* (`/api/v1/students/{id}`),
/// never the concrete path, the query string, a body or the client's address:
/// a tip-line reporter must not be traceable through our logs, and the
/// reporter's own routes leave no line at all.
pub async fn access_log<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let request_id = crate::crypto::hex(&crate::crypto::random_bytes(8));
    let span = tracing::info_span!("request", id = %request_id);
    let method = req.method().clone();
    let started = Instant::now();
    // No id or name holds a NUL; PostgreSQL would refuse it as text.
    if req.path().to_ascii_lowercase().contains("%00") {
        let res = req.error_response(crate::error::ApiError::not_found("resource"));
        return Ok(res.map_into_right_body());
    }
    let mut res = next
        .call(req)
        .instrument(span.clone())
        .await?
        .map_into_left_body();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(no route)".to_string());
    if is_logged(&method, &route) {
        span.in_scope(|| {
            tracing::info!(
                method = %method,
                route = %route,
                status = res.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "served"
            )
        });
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}
