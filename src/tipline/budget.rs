//! The anonymous budget at the tip line's door: an extractor that comes
//! first in every anonymous handler, so a request the budget cannot pay
//! for is turned away before its body is read, before any database read,
//! proof-of-work check, HMAC or JSON parsing (`limits::Budget`).
//!
//! A request costs 1 unit plus 1 per MiB its `Content-Length` declares
//! (rounded up); a body of unknown length costs as much as the largest the
//! tip line reads. Submissions and follow-ups (`Reporter`) may spend the
//! whole budget; challenges, attachments and mailbox lookups (`Anonymous`)
//! only what is above the reserve, so a flood of them never takes the last
//! of it from a child submitting or following up.

use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::tipline::service::ATTACHMENT_BODY_LIMIT;
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};

const MIB: u64 = 1024 * 1024;

/// An anonymous request paid for from the budget above its reserve:
/// challenges, attachments, mailbox lookups.
pub struct Anonymous;

/// An anonymous request paid for from the whole budget, its reserve
/// included: a submission, a follow-up read or message.
pub struct Reporter;

impl FromRequest for Anonymous {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admit(req, false).map(|()| Anonymous))
    }
}

impl FromRequest for Reporter {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(admit(req, true).map(|()| Reporter))
    }
}

/// Units a request costs: 1, plus 1 per MiB of its declared body.
pub fn cost(req: &HttpRequest) -> u32 {
    let headers = req.headers();
    let declared = match headers.get(header::CONTENT_LENGTH) {
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(ATTACHMENT_BODY_LIMIT as u64),
        None if headers.contains_key(header::TRANSFER_ENCODING) => ATTACHMENT_BODY_LIMIT as u64,
        None => 0,
    };
    // No body the tip line reads is larger; a larger one is refused unread.
    let declared = declared.min(ATTACHMENT_BODY_LIMIT as u64);
    1 + declared.div_ceil(MIB) as u32
}

fn admit(req: &HttpRequest, reserved: bool) -> Result<(), ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal("no app state"))?;
    state
        .anonymous
        .budget
        .take(cost(req), reserved)
        .map_err(|wait| busy(wait.as_secs_f64().ceil().max(1.0) as u64))
}

/// The refusal: nothing was done, nothing is logged (see `error`).
fn busy(retry_after_secs: u64) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        Code::TiplineBusy,
        "the report mailbox is very busy; try again in a moment, and call the crisis line if someone is in danger",
    )
    .with_retry_after(retry_after_secs)
}
