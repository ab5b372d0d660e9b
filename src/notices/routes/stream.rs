//! `/me/notifications/stream`: live updates while the app is open.

use crate::auth::SignedIn;
use crate::error::{AppResult, Problem};
use crate::notices::service::stream as service;
use crate::state::State;
use actix_web::{get, HttpResponse};

/// Server-Sent Events while the app is open: `unread` (the unread count,
/// first at once and whenever it changes) and `notification` (each new feed
/// item). At most three open streams per user.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", description = "events: unread, notification"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/notifications/stream")]
pub(crate) async fn stream(state: State, SignedIn(caller): SignedIn) -> AppResult<HttpResponse> {
    let body = service::open(state, caller)?;
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}
